from __future__ import annotations

from numbersadmin.inventory.choices import SyncTrigger
from numbersadmin.inventory.models import PhoneNumber, SyncRun
from numbersadmin.inventory.services.sync import run_sync


def sync(account, trigger=SyncTrigger.CLI) -> SyncRun:
    return run_sync(SyncRun.objects.create(account=account, trigger=trigger).pk)


def snapshot(account) -> list[tuple]:
    """Everything a failed run must leave untouched."""
    return list(PhoneNumber.objects.filter(account=account).order_by("pk").values_list(
        "pk", "external_id", "e164", "status", "trunk_id", "trunk_group_id", "removed_at", "content_hash",
        "last_changed_at", "description",
    ))
