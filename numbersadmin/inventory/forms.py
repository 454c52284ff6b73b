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
            keep = "Stored encrypted; leave blank to keep the current value." if key in stored else ""
            if key in self.spec.file_secrets:
                self.fields[f"secret_{key}"] = forms.FileField(
                    label=key.replace("_json", ".json").replace("_", " ").capitalize(), required=account is None,
                    help_text=keep or "Upload the file; it is stored encrypted and never shown again.",
                )
            else:
                self.fields[f"secret_{key}"] = forms.CharField(
                    label=key.replace("_", " ").capitalize(), required=account is None,
                    widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
                    help_text=keep,
                )
        for key in self.spec.config_fields:
            self.fields[f"config_{key}"] = forms.CharField(
                label=key.replace("_", " ").capitalize().replace(" id", " ID"), required=False, max_length=200,
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
        from .models import ProviderAccount

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


class SiteSettingsForm(forms.ModelForm):
    class Meta:
        from .models import SiteSettings

        model = SiteSettings
        fields = ["caller_id_expiry_window_days"]
        labels = {"caller_id_expiry_window_days": "Caller-ID expiry window (days)"}
