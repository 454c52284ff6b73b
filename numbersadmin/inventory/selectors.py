"""Reads. Views and exports both go through these, so an export is exactly what the list shows."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from .filters import NumberFilterSet, TrunkFilterSet, TrunkGroupFilterSet
from .models import NumberChange, PhoneNumber, ProviderAccount, SyncRun, Trunk, TrunkGroup

# Sortable columns -> (non-null db field). Each has an index ending in id (models.PhoneNumber).
NUMBER_SORTS = {
    "e164": "e164",
    "provider": "provider",
    "country": "country",
    "city": "city",
    "status": "status",
    "kind": "kind",
    "first_seen": "first_seen",
    "last_changed": "last_changed_at",
}
DEFAULT_NUMBER_SORT = "e164"


@dataclass
class Sort:
    key: str
    field: str
    descending: bool

    @property
    def param(self) -> str:
        return f"-{self.key}" if self.descending else self.key


def parse_sort(value: str | None, allowed: dict[str, str], default: str) -> tuple[Sort, str | None]:
    """Returns (sort, error message or None). Unknown keys fall back to the default."""
    raw = (value or "").strip()
    key = raw.lstrip("-")
    if raw and key in allowed:
        return Sort(key, allowed[key], raw.startswith("-")), None
    error = f"Unknown sort {raw!r}; sorted by {default}." if raw else None
    return Sort(default, allowed[default], False), error


def number_queryset() -> QuerySet:
    return PhoneNumber.objects.select_related("account", "trunk", "trunk_group", "location", "number_group")


# Provider payloads can be large; list pages and exports never show them.
LIST_DEFERRED = ("raw", "content_hash", "account__config", "account__secrets_encrypted", "trunk__raw",
                 "trunk_group__raw", "location__raw", "number_group__raw")


def number_list(params) -> NumberFilterSet:
    """Filtered numbers (``.qs``) plus the bound form (errors, chips)."""
    return NumberFilterSet(params, queryset=number_queryset().defer(*LIST_DEFERRED))


def number_get(pk: int) -> PhoneNumber:
    return number_queryset().get(pk=pk)


def number_history(number: PhoneNumber, limit: int = 100):
    return NumberChange.objects.filter(number=number).select_related("run")[:limit]


def trunk_list(params) -> TrunkFilterSet:
    qs = Trunk.objects.select_related("account", "trunk_group").annotate(
        number_count=Count("numbers", filter=Q(numbers__removed_at__isnull=True))
    )
    return TrunkFilterSet(params, queryset=qs)


def trunk_group_list(params) -> TrunkGroupFilterSet:
    qs = TrunkGroup.objects.select_related("account").annotate(
        number_count=Count("numbers", filter=Q(numbers__removed_at__isnull=True), distinct=True),
        trunk_count=Count("trunks", distinct=True),
    )
    return TrunkGroupFilterSet(params, queryset=qs)


def account_list() -> QuerySet:
    return ProviderAccount.objects.annotate(
        number_count=Count("phonenumber", filter=Q(phonenumber__removed_at__isnull=True))
    ).order_by("name")


def latest_runs(accounts) -> dict[int, SyncRun]:
    latest: dict[int, SyncRun] = {}
    for account in accounts:
        run = SyncRun.objects.filter(account=account).order_by("-created_at", "-id").first()
        if run is not None:
            latest[account.pk] = run
    return latest


def sync_run_list(account_id: int | None = None) -> QuerySet:
    qs = SyncRun.objects.select_related("account", "requested_by")
    return qs.filter(account_id=account_id) if account_id else qs
