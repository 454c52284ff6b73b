"""Reconciliation findings: inconsistencies across the provider accounts' inventories, computed
after every sync (services.reconcile). A finding is identified by (kind, key); it is resolved
automatically when its cause disappears and reopened when it comes back. Findings hold ids and
readable labels of the rows involved, never a secret."""

from __future__ import annotations

from django.db import models
from django.urls import reverse
from django.utils import timezone

from numbersadmin.inventory.models import ProviderAccount


class FindingKind(models.TextChoices):
    DUPLICATE_NUMBER = "duplicate_number", "Number live in two accounts"
    CALLER_ID_UNOWNED = "caller_id_unowned", "Caller ID not owned by any account"
    CALLER_ID_OWNER_INACTIVE = "caller_id_owner_inactive", "Caller ID owned by an inactive or removed number"
    WEBEX_INACTIVE_UNASSIGNED = "webex_inactive_unassigned", "Webex number inactive and unassigned"
    DIDWW_UNROUTED = "didww_unrouted", "DIDWW DID without trunk or trunk group"
    PLIVO_POOL_NOT_RENTED = "plivo_pool_not_rented", "Plivo pool number not among the account's numbers"
    DUPLICATE_ACCOUNT = "duplicate_account", "Account configured twice"


class FindingState(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    IGNORED = "ignored", "Ignored"
    RESOLVED = "resolved", "Resolved"


class Finding(models.Model):
    kind = models.CharField(max_length=40, choices=FindingKind.choices)
    key = models.CharField(max_length=200, help_text="What the finding is about, unique per kind (e.g. the E.164).")
    state = models.CharField(max_length=20, choices=FindingState.choices, default=FindingState.OPEN)
    summary = models.CharField(max_length=500)
    # The rows involved: [{"type": "number" | "caller_id" | "account", "id": pk, "label": text}, ...]
    rows = models.JSONField(default=list, blank=True)
    involved = models.TextField(blank=True, help_text="The rows' labels, one line (search, exports).")
    account_names = models.CharField(max_length=500, blank=True)
    account = models.ForeignKey(ProviderAccount, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                help_text="The first account involved.")
    accounts = models.ManyToManyField(ProviderAccount, blank=True, related_name="findings")
    reason = models.TextField(blank=True, help_text="Why it was ignored.")
    first_seen = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    state_changed_at = models.DateTimeField(null=True, blank=True)
    state_changed_by = models.CharField(max_length=150, blank=True)  # a username, or "reconcile"

    class Meta:
        ordering = ["kind", "id"]
        constraints = [models.UniqueConstraint(fields=["kind", "key"], name="uniq_finding_kind_key")]
        indexes = [models.Index(fields=["state", "kind", "id"], name="finding_state_kind_id"),
                   models.Index(fields=["kind", "id"], name="finding_kind_id")]

    def __str__(self) -> str:
        return f"Finding #{self.pk}: {self.summary}"

    def get_absolute_url(self) -> str:
        return reverse("finding_detail", args=[self.pk])

    @property
    def is_active(self) -> bool:
        return self.state != FindingState.RESOLVED
