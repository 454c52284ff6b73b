"""Account forms. Secret inputs are write-only: never rendered back, blank keeps the stored value."""

from __future__ import annotations

from django import forms
from django.core.exceptions import TooManyFieldsSent, ValidationError
from django.db import models
from django.http import QueryDict
from django.utils import timezone

from providers import registry

from .choices import key_label
from .filters import MomentField
from .models import AccountScope, ProviderAccount, SiteSettings, bounds
from .services import annotations as _annotations
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
            keep = "Stored encrypted; leave blank to keep the current value." if key in stored else ""
            if key in self.spec.file_secrets:
                self.fields[f"secret_{key}"] = forms.FileField(
                    label=f"{key_label(key.removesuffix('_json'))} file ({key.removesuffix('_json')}.json)",
                    required=account is None,
                    help_text=keep or "Upload the file; it is stored encrypted and never shown again.",
                )
            else:
                self.fields[f"secret_{key}"] = forms.CharField(
                    label=key_label(key), required=account is None,
                    widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
                    help_text=keep,
                )
        for key in self.spec.config_fields:
            self.fields[f"config_{key}"] = forms.CharField(
                label=key_label(key), required=False, max_length=200,
                initial=(account.config.get(key, "") if account else ""), help_text="Optional.")
        if account is None:
            self.fields["base_url"].initial = ""
        self.order_fields(["name", "base_url", *[f"secret_{k}" for k in self.spec.secret_fields]])

    def clean_base_url(self):
        try:
            return validate_base_url(self.provider, self.cleaned_data.get("base_url") or "")
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages)

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        qs = ProviderAccount.objects.filter(name=name)
        if self.account is not None:
            qs = qs.exclude(pk=self.account.pk)
        if qs.exists():
            raise forms.ValidationError("An account with this name already exists.")
        return name

    MAX_SECRET_FILE = 64 * 1024

    def clean(self):
        data = super().clean()
        values: dict[str, str] = {}
        for key in self.spec.secret_fields:
            value = data.get(f"secret_{key}")
            if key in self.spec.file_secrets and value:
                if value.size > self.MAX_SECRET_FILE:
                    self.add_error(f"secret_{key}", "File is too large for a credentials file.")
                    continue
                try:
                    value = value.read().decode("utf-8")
                except UnicodeDecodeError:
                    self.add_error(f"secret_{key}", "File is not UTF-8 text.")
                    continue
            if value:
                values[key] = value
        if values and self.spec.validate_secrets is not None and not self.errors:
            try:
                self.spec.validate_secrets(values)
            except ValueError as exc:  # messages never quote secret material (adapter contract)
                field = f"secret_{next(iter(values))}"
                self.add_error(field if field in self.fields else None, str(exc))
        self._secret_values = values
        return data

    def secrets(self) -> dict[str, str]:
        return dict(getattr(self, "_secret_values", {}))

    def config(self, current: dict | None = None) -> dict:
        config = dict(current or {})
        for key in self.spec.config_fields:
            value = (self.cleaned_data.get(f"config_{key}") or "").strip()
            if value:
                config[key] = value
            else:
                config.pop(key, None)
        return config


def _bounded_formfield(model_field, **kwargs):
    """Integer settings get the model validators' bounds as the form field's min/max, so the
    input says them and an out-of-range value is a form error."""
    lower, upper = bounds(model_field)
    if isinstance(model_field, models.IntegerField):
        kwargs.update({k: v for k, v in (("min_value", lower), ("max_value", upper)) if v is not None})
    return model_field.formfield(**kwargs)


class SiteSettingsForm(forms.ModelForm):
    """The in-app Settings page; bounds come from the model (SiteSettings validators)."""

    class Meta:
        model = SiteSettings
        fields = ["caller_id_expiry_window_days"]
        labels = {"caller_id_expiry_window_days": "Caller-ID expiry window (days)"}
        formfield_callback = _bounded_formfield


# --- Local notes and tags. Validation is the service's, so forms and writes agree. ---



def _service_clean(fn, value):
    try:
        return fn(value)
    except ValidationError as exc:
        raise forms.ValidationError(exc.messages) from None


class NumberAnnotateForm(forms.Form):
    note = forms.CharField(required=False, strip=False, label="Note",
                           widget=forms.Textarea(attrs={"rows": 4, "maxlength": _annotations.NOTE_MAX_LENGTH}),
                           help_text="Up to 4,000 characters. Empty removes the note.")
    tags = forms.CharField(required=False, max_length=2000, label="Tags",
                           help_text="Comma-separated, e.g. porting, vip. Letters, digits, spaces and - _ . : /")

    def clean_note(self):
        return _service_clean(_annotations.normalise_note, self.cleaned_data.get("note"))

    def clean_tags(self):
        return _service_clean(_annotations.parse_tags, self.cleaned_data.get("tags"))


class IdListInput(forms.HiddenInput):
    """Reads repeated values (``pk=1&pk=2``); renders one comma-separated input so a big selection
    is one POST field (Django refuses requests with more than DATA_UPLOAD_MAX_NUMBER_FIELDS)."""

    def value_from_datadict(self, data, files, name):
        return data.getlist(name) if hasattr(data, "getlist") else data.get(name)

    def format_value(self, value):
        if isinstance(value, (list, tuple)):
            return ",".join(str(v) for v in value)
        return super().format_value(value)


class IdListField(forms.Field):
    """Number ids, repeated and/or comma-separated."""

    widget = IdListInput

    def __init__(self, *, max_ids: int, **kwargs):
        self.max_ids = max_ids
        super().__init__(**kwargs)

    def to_python(self, value):
        values = value if isinstance(value, (list, tuple)) else ([value] if value else [])
        ids: set[int] = set()
        for part in (p.strip() for v in values for p in str(v).split(",")):
            if not part:
                continue
            if not (part.isascii() and part.isdigit() and len(part) <= 18):
                raise forms.ValidationError(f"“{part[:30]}” is not a number id.")
            ids.add(int(part))
        if len(ids) > self.max_ids:
            raise forms.ValidationError(f"{len(ids):,} rows are ticked; at most {self.max_ids:,} can be edited "
                                        "by ticking. Select all matching numbers instead.")
        return sorted(ids)


class BulkSelectionForm(forms.Form):
    """Which numbers: the list's query string, plus ticked ids or ``scope=matching``
    (which wins when both are sent)."""

    MAX_PKS = 10_000

    query = forms.CharField(required=False, max_length=4000, widget=forms.HiddenInput)
    pk = IdListField(required=False, max_ids=MAX_PKS)
    scope = forms.ChoiceField(required=False, choices=[("", "Ticked rows"), ("matching", "All matching")],
                              widget=forms.HiddenInput)

    def clean_query(self):
        query = (self.cleaned_data.get("query") or "").strip().lstrip("?")
        try:
            QueryDict(query)
        except TooManyFieldsSent:
            raise forms.ValidationError("The list's query has too many parameters.") from None
        return query

    def clean(self):
        data = super().clean()
        if not self.errors and data.get("scope") != "matching" and not data.get("pk"):
            raise forms.ValidationError("No numbers selected: tick rows in the list or select all matching numbers.")
        return data


class BulkEditForm(forms.Form):
    """What to change on the selection (BulkSelectionForm says which numbers)."""

    NOTE_MODES = [("keep", "Keep notes as they are"), ("set", "Replace notes with this text"),
                  ("append", "Append this text to notes"), ("clear", "Delete notes")]

    add_tags = forms.CharField(required=False, max_length=2000, label="Tags to add",
                               help_text="Comma-separated. New tags are created.")
    remove_tags = forms.CharField(required=False, max_length=2000, label="Tags to remove",
                                  help_text="Comma-separated.")
    note_mode = forms.ChoiceField(choices=NOTE_MODES, initial="keep", widget=forms.RadioSelect, label="Notes")
    note_text = forms.CharField(required=False, strip=False, label="Note text",
                                widget=forms.Textarea(attrs={"rows": 3, "maxlength": _annotations.NOTE_MAX_LENGTH}),
                                help_text="Used when replacing or appending; up to 4,000 characters.")

    def clean_add_tags(self):
        return _service_clean(_annotations.parse_tags, self.cleaned_data.get("add_tags"))

    def clean_remove_tags(self):
        return _service_clean(_annotations.parse_tags, self.cleaned_data.get("remove_tags"))

    def clean_note_text(self):
        return _service_clean(_annotations.normalise_note, self.cleaned_data.get("note_text"))

    def clean(self):
        data = super().clean()
        add, remove = data.get("add_tags") or [], data.get("remove_tags") or []
        mode = data.get("note_mode")
        both = sorted(set(add) & set(remove))
        if both:
            self.add_error("remove_tags", f"Cannot add and remove the same tag: {', '.join(both)}.")
        if mode in ("set", "append") and "note_text" in data and not data["note_text"]:
            self.add_error("note_text", "Write the text to set or append (choose “Delete notes” to remove them).")
        if mode == "keep" and not add and not remove and not self.errors:
            raise forms.ValidationError("Nothing to change: add or remove a tag, or choose a note action.")
        return data


class DiffForm(forms.Form):
    """The two moments of a diff; ``to`` defaults to now."""

    start = MomentField(label="From", help_text="A date (its end) or a date and time.")
    end = MomentField(label="To", required=False, help_text="Empty: now.")

    def __init__(self, data=None, **kwargs):
        if data is not None:  # the URL says from= and to=; "from" is a Python keyword
            data = {"start": data.get("from", ""), "end": data.get("to", "")}
        super().__init__(data, **kwargs)

    def clean(self):
        data = super().clean()
        if data.get("start") and not data.get("end"):
            data["end"] = timezone.now()
        if data.get("start") and data.get("end") and data["start"] >= data["end"]:
            raise forms.ValidationError("“From” must be before “To”.")
        return data


class AccountScopeForm(forms.ModelForm):
    """The in-app scope editor: which accounts, for which groups and users, and whether they manage them."""

    class Meta:
        model = AccountScope
        fields = ["name", "description", "accounts", "groups", "users", "can_manage"]
        widgets = {"accounts": forms.CheckboxSelectMultiple, "groups": forms.CheckboxSelectMultiple,
                   "users": forms.SelectMultiple(attrs={"size": 8})}
        labels = {"can_manage": "Its users manage these accounts"}
        help_texts = {"groups": "Django groups (the users page assigns people to groups).",
                      "users": "People given this scope directly. Ctrl/⌘-click to pick several."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["accounts"].queryset = ProviderAccount.objects.order_by("name")
        self.fields["users"].queryset = self.fields["users"].queryset.filter(is_active=True).order_by("username")
