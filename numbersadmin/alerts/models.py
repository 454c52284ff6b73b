"""Alerts: rules (what to watch), channels (where to send), items (one open finding of a rule),
notifications (one digest to one channel, with its delivery state).

An item is announced to a channel once per *generation*: the generation grows when the item's
content changes (its fingerprint) or its snooze ends, so a digest never repeats what a recipient
was already told (``NotificationItem`` records what went where)."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone

from numbersadmin.inventory import crypto
from numbersadmin.inventory.models import ProviderAccount, SavedView


class RuleKind(models.TextChoices):
    CALLER_ID_EXPIRING = "caller_id_expiring", "Caller ID verification ends within N days (or ended)"
    CALLER_ID_NO_ATTEMPTS = "caller_id_no_attempts", "Caller ID with no verification attempts left"
    NUMBER_RENEWING = "number_renewing", "Number renews within N days"
    NUMBER_NOT_RENEWING = "number_not_renewing", "Number will not renew"
    SYNC_FAILING = "sync_failing", "Account sync failed N times in a row"
    SYNC_STALE = "sync_stale", "Account without a good sync in twice its interval"
    REMOVALS_HELD = "removals_held", "Removals held for review"
    NUMBERS_MISSING = "numbers_missing", "Numbers missing from their provider's listing"
    VIEW_ROWS = "view_rows", "Saved view has more than K rows"
    VIEW_CHANGES = "view_changes", "Saved view gains or loses rows"
    VIEW_REPORT = "view_report", "Send a saved view every day/week"


# What each kind needs besides recipients (forms and the CLI check the same table).
NEEDS_DAYS = {RuleKind.CALLER_ID_EXPIRING, RuleKind.NUMBER_RENEWING}
NEEDS_THRESHOLD = {RuleKind.SYNC_FAILING, RuleKind.VIEW_ROWS}
NEEDS_VIEW = {RuleKind.VIEW_ROWS, RuleKind.VIEW_CHANGES, RuleKind.VIEW_REPORT}
DEFAULT_DAYS = 14
DEFAULT_THRESHOLD = {RuleKind.SYNC_FAILING: 3, RuleKind.VIEW_ROWS: 0}
DAYS_MAX = 365
THRESHOLD_MAX = 1_000_000


class Cadence(models.TextChoices):
    DAILY = "daily", "Every day"
    WEEKLY = "weekly", "Every Monday"


class ReportFormat(models.TextChoices):
    CSV = "csv", "CSV"
    XLSX = "xlsx", "XLSX"


class ChannelKind(models.TextChoices):
    EMAIL = "email", "Email"
    WEBHOOK = "webhook", "Webhook (JSON, HMAC-signed)"
    SLACK = "slack", "Slack-compatible incoming webhook"


def time_zone_choices():
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


class Channel(models.Model):
    """Where digests go. Webhook secrets and Slack URLs (whose path is the credential) are stored
    encrypted and never shown again; ``address`` is what pages show."""

    kind = models.CharField(max_length=10, choices=ChannelKind.choices)
    name = models.CharField(max_length=100, blank=True)
    address = models.CharField(max_length=500, help_text="Email address, or the webhook URL (shown without its path for Slack).")
    secret_encrypted = models.TextField(blank=True, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                              related_name="alert_channels")
    # Digest time: None = as soon as something is found (every run); else once a day at this hour.
    digest_hour = models.PositiveSmallIntegerField(null=True, blank=True,
                                                   validators=[MinValueValidator(0), MaxValueValidator(23)])
    time_zone = models.CharField(max_length=64, default="UTC")
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_digest_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["kind", "address", "id"]

    def __str__(self) -> str:
        return self.name or f"{self.get_kind_display().split(' ')[0]} {self.address}"

    def get_secrets(self) -> dict[str, str]:
        return crypto.decrypt_secrets(self.secret_encrypted)

    def set_secrets(self, values: dict[str, str]) -> None:
        self.secret_encrypted = crypto.encrypt_secrets(values)


class AlertRule(models.Model):
    kind = models.CharField(max_length=30, choices=RuleKind.choices)
    name = models.CharField(max_length=100, blank=True)
    days = models.PositiveIntegerField(null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(DAYS_MAX)])
    threshold = models.PositiveIntegerField(null=True, blank=True, validators=[MaxValueValidator(THRESHOLD_MAX)])
    view = models.ForeignKey(SavedView, null=True, blank=True, on_delete=models.CASCADE, related_name="alert_rules")
    cadence = models.CharField(max_length=10, choices=Cadence.choices, blank=True)
    report_format = models.CharField(max_length=10, choices=ReportFormat.choices, blank=True)
    channels = models.ManyToManyField(Channel, blank=True, related_name="rules")
    enabled = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    last_evaluated_at = models.DateTimeField(null=True, blank=True, editable=False)
    # view_changes: the view's row ids at the last evaluation (capped; see services.rules).
    state = models.JSONField(default=dict, blank=True, editable=False)

    class Meta:
        ordering = ["kind", "id"]

    def __str__(self) -> str:
        return self.name or self.summary

    @property
    def summary(self) -> str:
        from .services.rules import describe

        return describe(self)

    def get_absolute_url(self) -> str:
        return reverse("alert_rule", args=[self.pk])


class ItemState(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    SNOOZED = "snoozed", "Snoozed"
    CLOSED = "closed", "Closed"


class AlertItem(models.Model):
    """One thing a rule found (a caller ID, a number, an account, a view), open while the cause lasts."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="items")
    key = models.CharField(max_length=100)  # "caller_id:12", "number:5", "account:3", "view:7", ...
    label = models.CharField(max_length=300)
    detail = models.JSONField(default=dict, blank=True)  # values shown in messages (never secrets)
    url = models.CharField(max_length=500, blank=True)  # the object or table behind the item
    # The provider account the item is about (scopes: who may see it); None for saved-view items,
    # which only the rule's creator and users who see every account are shown.
    account = models.ForeignKey(ProviderAccount, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    fingerprint = models.CharField(max_length=64)
    is_event = models.BooleanField(default=False)  # a one-off (a view gained rows): open until acknowledged
    generation = models.PositiveIntegerField(default=1)
    state = models.CharField(max_length=15, choices=ItemState.choices, default=ItemState.OPEN)
    first_seen = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    snoozed_until = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=300, blank=True)  # why it was snoozed / acknowledged
    acted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    acted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["rule_id", "label", "id"]
        constraints = [models.UniqueConstraint(fields=["rule", "key"], name="uniq_alert_item_key")]
        indexes = [models.Index(fields=["state", "rule"], name="alert_item_state_rule")]

    def __str__(self) -> str:
        return self.label

    def get_absolute_url(self) -> str:
        return reverse("alert_item", args=[self.pk])


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    RETRYING = "retrying", "Retrying"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class Notification(models.Model):
    """One digest for one channel (every rule's due items grouped by rule), or one view report."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="notifications")
    subject = models.CharField(max_length=300)
    body = models.JSONField(default=dict)  # the digest as data; channels render it (services.channels)
    items = models.ManyToManyField(AlertItem, through="NotificationItem", related_name="notifications")
    report_rule = models.ForeignKey(AlertRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="reports")
    state = models.CharField(max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="notification_due")]

    def __str__(self) -> str:
        return self.subject

    def get_absolute_url(self) -> str:
        return reverse("alert_notification", args=[self.pk])


class NotificationItem(models.Model):
    notification = models.ForeignKey(Notification, on_delete=models.CASCADE)
    item = models.ForeignKey(AlertItem, on_delete=models.CASCADE)
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")  # denormalised: the due query
    generation = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "item", "generation"], name="uniq_announced_once")]
