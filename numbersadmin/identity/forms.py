from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model, password_validation

from . import selectors

User = get_user_model()


class UserFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search",
                        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Username, name or email"}))
    active = forms.ChoiceField(required=False, label="Active", choices=[("", "Any"), ("yes", "Active"), ("no", "Deactivated")])
    group = forms.ModelChoiceField(required=False, label="Group", queryset=selectors.group_list(), empty_label="Any")
    kind = forms.ChoiceField(required=False, label="Sign-in", choices=[("", "Any"), *selectors.KINDS.items()])


class GroupsField(forms.ModelMultipleChoiceField):
    def __init__(self, **kwargs):
        super().__init__(queryset=selectors.group_list(), required=False, widget=forms.CheckboxSelectMultiple,
                         label="Groups", **kwargs)


class UserCreateForm(forms.Form):
    MODES = [("invite", "Invite: they set their own password with a one-time link"),
             ("password", "Set a password now")]
    username = forms.CharField(max_length=150, label="Username", help_text="Letters, digits and @ . + - _ only.")
    email = forms.EmailField(required=False, label="Email")
    first_name = forms.CharField(required=False, max_length=150, label="First name")
    last_name = forms.CharField(required=False, max_length=150, label="Last name")
    groups = GroupsField()
    mode = forms.ChoiceField(choices=MODES, initial="invite", widget=forms.RadioSelect, label="Password")
    password1 = forms.CharField(required=False, label="Password", strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
                                help_text=password_validation.password_validators_help_text_html())
    password2 = forms.CharField(required=False, label="Password again", strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        User.username_validator(username)
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError("A user with that username already exists.")
        return username

    def clean(self):
        data = super().clean()
        if data.get("mode") == "password":
            if not data.get("password1"):
                self.add_error("password1", "Enter a password, or choose “Invite”.")
            elif data.get("password1") != data.get("password2"):
                self.add_error("password2", "The two passwords differ.")
        return data


class UserGroupsForm(forms.Form):
    groups = GroupsField()


class SetPasswordForm(forms.Form):
    password1 = forms.CharField(label="New password", strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
                                help_text=password_validation.password_validators_help_text_html())
    password2 = forms.CharField(label="New password again", strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean(self):
        data = super().clean()
        if data.get("password1") and data.get("password1") != data.get("password2"):
            self.add_error("password2", "The two passwords differ.")
        return data
