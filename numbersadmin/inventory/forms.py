"""Account forms. Secret inputs are write-only: never rendered back, blank keeps the stored value."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from providers import registry

from .services.accounts import validate_base_url


class AccountForm(forms.Form):
    name = forms.CharField(max_length=100)
    base_url = forms.CharField(
        max_length=300, required=False, label="Base URL",
        help_text="Blank = the provider's official API URL. Other hosts must be listed in PROVIDER_ALLOWED_HOSTS.",
    )
    sync_interval_minutes = forms.IntegerField(min_value=5, max_value=7 * 24 * 60, initial=60,
                                               label="Sync every (minutes)")
    enabled = forms.BooleanField(required=False, initial=True, help_text="Scheduled syncs run only when enabled.")

    def __init__(self, *args, provider: str, account=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.provider = provider
        self.spec = registry.get(provider)
        self.account = account
        stored = set(account.secret_keys_set()) if account else set()
        for key in self.spec.secret_fields:
            self.fields[f"secret_{key}"] = forms.CharField(
                label=key.replace("_", " ").capitalize(), required=account is None,
                widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
                help_text="Stored encrypted; leave blank to keep the current value." if key in stored else "",
            )
        if account is None:
            self.fields["base_url"].initial = ""
        self.order_fields(["name", "base_url", *[f"secret_{k}" for k in self.spec.secret_fields]])

    def clean_base_url(self):
        try:
            return validate_base_url(self.provider, self.cleaned_data.get("base_url") or "")
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages)

    def clean_name(self):
        from .models import ProviderAccount

        name = self.cleaned_data["name"].strip()
        qs = ProviderAccount.objects.filter(name=name)
        if self.account is not None:
            qs = qs.exclude(pk=self.account.pk)
        if qs.exists():
            raise forms.ValidationError("An account with this name already exists.")
        return name

    def secrets(self) -> dict[str, str]:
        return {k: self.cleaned_data.get(f"secret_{k}") or "" for k in self.spec.secret_fields}
