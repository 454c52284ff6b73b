"""The rule form: the web page and ``manage.py alerts rule add`` both validate through it."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from numbersadmin.inventory.models import SavedView

from .models import (DAYS_MAX, NEEDS_DAYS, NEEDS_VIEW, THRESHOLD_MAX, AlertItem, AlertRule, Cadence,
                     Channel, ReportFormat, RuleKind)
from .validators import validate_email, validate_webhook_url

MAX_RECIPIENTS = 20


def _lines(value: str) -> list[str]:
    return [v.strip() for chunk in (value or "").splitlines() for v in chunk.split(",") if v.strip()]


class RuleForm(forms.Form):
    kind = forms.ChoiceField(choices=RuleKind.choices)
    name = forms.CharField(max_length=100, required=False)
    days = forms.IntegerField(required=False, min_value=1, max_value=DAYS_MAX,
                              help_text=f"For expiry and renewal rules: 1 to {DAYS_MAX}.")
    threshold = forms.IntegerField(required=False, min_value=0, max_value=THRESHOLD_MAX,
                                   help_text="Failures in a row (sync failing, at least 1) or rows (view has more than K).")
    view = forms.ModelChoiceField(queryset=SavedView.objects.none(), required=False,
                                  help_text="For saved-view subscriptions.")
    cadence = forms.ChoiceField(choices=[("", "—")] + list(Cadence.choices), required=False)
    report_format = forms.ChoiceField(choices=[("", "—")] + list(ReportFormat.choices), required=False)
    emails = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}),
                             help_text="Email addresses, one per line or comma-separated.")
    webhooks = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}),
                               help_text="Webhook URLs (signed JSON); hosts must be in WEBHOOK_ALLOWED_HOSTS.")
    slack = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}),
                            help_text="Slack-compatible incoming-webhook URLs.")
    channels = forms.ModelMultipleChoiceField(queryset=Channel.objects.none(), required=False,
                                              help_text="Existing channels.")

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        views = SavedView.objects.all() if user is None else SavedView.objects.filter(owner=user) | SavedView.objects.filter(shared=True)
        self.fields["view"].queryset = views.order_by("list_name", "name", "id")
        self.fields["channels"].queryset = Channel.objects.filter(enabled=True)

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if not kind:
            return data
        if kind in NEEDS_DAYS and data.get("days") is None and "days" not in self.errors:
            self.add_error("days", f"Give the number of days (1 to {DAYS_MAX}).")
        if kind == RuleKind.SYNC_FAILING and data.get("threshold") == 0:
            self.add_error("threshold", "A sync must fail at least once: give 1 or more.")
        if kind in NEEDS_VIEW and not data.get("view") and "view" not in self.errors:
            self.add_error("view", "Choose a saved view (one of yours or a shared one).")
        if kind == RuleKind.VIEW_REPORT:
            data["cadence"] = data.get("cadence") or Cadence.DAILY
            data["report_format"] = data.get("report_format") or ReportFormat.CSV
        recipients = []
        for field, kind_name, check in (("emails", "email", validate_email), ("webhooks", "webhook", validate_webhook_url),
                                        ("slack", "slack", validate_webhook_url)):
            errors = []
            for value in _lines(data.get(field, "")):
                try:
                    recipients.append((kind_name, check(value)))
                except ValidationError as exc:
                    errors.extend(exc.messages)
            if errors:
                self.add_error(field, errors)
        if len(recipients) > MAX_RECIPIENTS:
            self.add_error(None, f"At most {MAX_RECIPIENTS} new recipients per rule.")
        if not recipients and not data.get("channels") and not self.errors:
            self.add_error(None, "Give at least one recipient: an email address, a webhook URL or a channel.")
        data["recipients"] = recipients
        return data


class SnoozeForm(forms.Form):
    until = forms.DateField(help_text="The snooze ends at the start of this day.",
                            widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(max_length=300)

    def clean_until(self):
        from django.utils import timezone

        until = self.cleaned_data["until"]
        if until <= timezone.localdate():
            raise ValidationError("Choose a day after today.")
        if (until - timezone.localdate()).days > 366:
            raise ValidationError("A snooze can last at most a year.")
        return until


class AcknowledgeForm(forms.Form):
    reason = forms.CharField(max_length=300, required=False)


# --- a person's own channels (the alert settings page) ---------------------------------------------

ASAP = ""
DIGEST_HOUR_CHOICES = [(ASAP, "As soon as something is found")] + [(str(h), f"Once a day at {h:02d}:00") for h in range(24)]


def _digest_hour(value: str) -> int | None:
    return None if value in (ASAP, None) else int(value)


def _time_zone_field():
    from .models import time_zone_choices

    return forms.ChoiceField(choices=time_zone_choices, initial="UTC", label="Time zone",
                             help_text="For the digest hour.")


class ChannelSettingsForm(forms.Form):
    """When a channel of yours gets its digest, whether it is on, and which rules send to it."""

    digest_hour = forms.TypedChoiceField(choices=DIGEST_HOUR_CHOICES, coerce=_digest_hour, empty_value=None,
                                         required=False, label="Digest")
    time_zone = forms.ChoiceField(choices=(), label="Time zone")
    enabled = forms.BooleanField(required=False, initial=True, label="Enabled")
    rules = forms.ModelMultipleChoiceField(queryset=AlertRule.objects.none(), required=False,
                                           widget=forms.CheckboxSelectMultiple, label="Rules that send to it")

    def __init__(self, *args, channel=None, **kwargs):
        if channel is not None:
            kwargs.setdefault("initial", {
                "digest_hour": "" if channel.digest_hour is None else str(channel.digest_hour),
                "time_zone": channel.time_zone, "enabled": channel.enabled,
                "rules": list(channel.rules.values_list("pk", flat=True))})
        super().__init__(*args, **kwargs)
        self.fields["time_zone"] = _time_zone_field()
        self.fields["rules"].queryset = AlertRule.objects.order_by("kind", "id")


class ChannelAddForm(forms.Form):
    kind = forms.ChoiceField(choices=Channel._meta.get_field("kind").choices, label="Kind")
    address = forms.CharField(max_length=500, label="Address",
                              help_text="An email address, or the webhook / Slack incoming-webhook URL "
                                        "(hosts must be in WEBHOOK_ALLOWED_HOSTS).")
    digest_hour = forms.TypedChoiceField(choices=DIGEST_HOUR_CHOICES, coerce=_digest_hour, empty_value=None,
                                         required=False, label="Digest")
    time_zone = forms.ChoiceField(choices=(), label="Time zone")
    enabled = forms.BooleanField(required=False, initial=True, label="Enabled")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"] = _time_zone_field()

    def clean(self):
        data = super().clean()
        kind, address = data.get("kind"), data.get("address")
        if kind and address:
            try:
                data["address"] = validate_email(address) if kind == "email" else validate_webhook_url(address)
            except ValidationError as exc:
                self.add_error("address", exc)
        return data


__all__ = ["RuleForm", "SnoozeForm", "AcknowledgeForm", "ChannelAddForm", "ChannelSettingsForm", "AlertItem",
           "AlertRule"]
