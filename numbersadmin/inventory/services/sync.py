"""Run one sync of one account: lease -> fetch every page -> apply in one transaction -> record.

A failure at any point before ``apply_inventory`` leaves the inventory exactly as it was: the
adapter only returns after the last page, and the apply step is a single transaction.
"""

from __future__ import annotations

import logging
import secrets as _secrets
import time
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from providers.base import Progress
from providers.errors import BadResponse, ProviderError, RateLimited

from ..choices import SyncState, SyncTrigger
from ..crypto import SecretsUnavailable
from ..models import ProviderAccount, SyncRun
from . import ingest
from .accounts import build_client

logger = logging.getLogger(__name__)
MAX_RATE_LIMIT_RETRIES = 5


def acquire_lease(account_id: int) -> str | None:
    """Atomic compare-and-set on the account row; the lease expires on its own if a worker dies."""
    now = timezone.now()
    token = _secrets.token_hex(16)
    got = ProviderAccount.objects.filter(pk=account_id).filter(
        Q(sync_lease_until__isnull=True) | Q(sync_lease_until__lt=now)
    ).update(sync_lease_until=now + timedelta(seconds=settings.SYNC_LEASE_SECONDS), sync_lease_token=token)
    return token if got else None


def release_lease(account_id: int, token: str) -> None:
    ProviderAccount.objects.filter(pk=account_id, sync_lease_token=token).update(sync_lease_until=None, sync_lease_token="")


def _progress_writer(run: SyncRun):
    """Progress shown live on the accounts page: pages across all listings, numbers of the total.
    Adapters report per listing (numbers, then trunks...), so later stages keep the number counts."""
    state = {"at": 0.0, "stage": None, "pages_before": 0, "stage_pages": 0}

    def write(p: Progress) -> None:
        if p.stage != state["stage"]:
            state["pages_before"] += state["stage_pages"]
            state["stage"], state["at"] = p.stage, 0.0
        state["stage_pages"] = p.pages_fetched
        now = time.monotonic()
        if now - state["at"] < 0.25 and (p.items_total is None or p.items_fetched < p.items_total):
            return  # throttled: at most ~4 writes a second whatever the page rate
        state["at"] = now
        fields = {"stage": p.stage, "pages_fetched": state["pages_before"] + p.pages_fetched}
        if p.stage == "numbers":
            fields.update(items_fetched=p.items_fetched, items_total=p.items_total)
        SyncRun.objects.filter(pk=run.pk).update(**fields)

    return write


def run_sync(run_id: int) -> SyncRun:
    """Execute a queued SyncRun. Returns the finished run (any state). Never raises for provider
    problems: they are recorded on the run."""
    run = SyncRun.objects.select_related("account").get(pk=run_id)
    if run.state not in (SyncState.QUEUED,):
        return run  # redelivered task (acks_late) for a run that already ran: idempotent no-op
    account = run.account
    token = acquire_lease(account.pk)
    if token is None:
        _finish(run, SyncState.FAILED, "busy", "another sync of this account is running")
        return run
    client = None
    try:
        run.state, run.started_at, run.stage = SyncState.RUNNING, timezone.now(), "connecting"
        run.save(update_fields=["state", "started_at", "stage"])
        ProviderAccount.objects.filter(pk=account.pk).update(last_sync_started_at=run.started_at)
        client = build_client(account)
        inventory = client.fetch_inventory(progress=_progress_writer(run))
        if not inventory.complete:
            raise BadResponse("provider listing was incomplete")
        SyncRun.objects.filter(pk=run.pk).update(stage="applying", pages_fetched=inventory.pages_fetched,
                                                 items_fetched=len(inventory.numbers))
        account.refresh_from_db()
        stats = ingest.apply_inventory(account, inventory, run)
        for name in ("added", "changed", "unchanged", "removed", "restored", "held_removals"):
            setattr(run, name, getattr(stats, name))
        run.items_fetched, run.pages_fetched = len(inventory.numbers), inventory.pages_fetched
        run.items_total = inventory.total_reported if inventory.total_reported is not None else len(inventory.numbers)
        if stats.held_reason:
            run.error_class = "removal_guard"
            run.error_message = f"Removals held for review: {stats.held_reason}."
            run.held_external_ids = stats.held_external_ids
            _finish(run, SyncState.NEEDS_REVIEW, counts=True)
        else:
            _finish(run, SyncState.SUCCEEDED, counts=True)
        ProviderAccount.objects.filter(pk=account.pk).update(last_success_at=run.finished_at)
    except RateLimited as exc:
        _handle_rate_limit(run, exc)
    except ProviderError as exc:
        run.tracking_id = exc.tracking_id[:200]
        _finish(run, SyncState.FAILED, exc.error_class, str(exc))
    except SecretsUnavailable as exc:
        _finish(run, SyncState.FAILED, "secrets", str(exc))
    except SoftTimeLimitExceeded:
        _finish(run, SyncState.FAILED, "time_limit", "sync exceeded SYNC_SOFT_TIME_LIMIT; nothing was applied")
    except Exception as exc:  # never leave a run "running"; the traceback goes to the log only
        logger.exception("sync run %s crashed", run.pk)
        _finish(run, SyncState.FAILED, "internal", f"internal error ({type(exc).__name__}); see server log")
    finally:
        if client is not None:
            client.close()
        release_lease(account.pk, token)
    return SyncRun.objects.get(pk=run.pk)


FINISH_FIELDS = ["state", "finished_at", "error_class", "error_message", "stage", "retry_at", "tracking_id"]
COUNT_FIELDS = ["pages_fetched", "added", "changed", "unchanged", "removed", "restored", "held_removals", "items_fetched",
                "items_total", "held_external_ids"]


def _finish(run: SyncRun, state: str, error_class: str = "", message: str = "", *, counts: bool = False) -> None:
    # update_fields: progress columns are written concurrently by the progress callback.
    run.state = state
    run.finished_at = timezone.now()
    if error_class:
        run.error_class, run.error_message = error_class, message[:2000]
    if state == SyncState.SUCCEEDED:
        run.stage = ""
    run.save(update_fields=FINISH_FIELDS + (COUNT_FIELDS if counts else []))


def _handle_rate_limit(run: SyncRun, exc: RateLimited) -> None:
    """Honour Retry-After by scheduling a new run; the worker never sleeps."""
    from .dispatch import schedule_run  # late import: dispatch imports this module

    # Providers without Retry-After (Plivo) get the configured back-off.
    delay = exc.retry_after if exc.retry_after is not None else settings.SYNC_DEFAULT_RETRY_AFTER
    retries = SyncRun.objects.filter(
        account=run.account, trigger=SyncTrigger.RETRY, created_at__gte=timezone.now() - timedelta(hours=1)
    ).count()
    if retries >= MAX_RATE_LIMIT_RETRIES:
        _finish(run, SyncState.FAILED, exc.error_class, f"{exc} (gave up after {retries} retries)")
        return
    run.retry_at = timezone.now() + timedelta(seconds=delay)
    run.tracking_id = exc.tracking_id[:200]
    _finish(run, SyncState.RETRY_SCHEDULED, exc.error_class, f"{exc}; retrying in {delay:.0f} s")
    with transaction.atomic():
        retry = SyncRun.objects.create(account=run.account, trigger=SyncTrigger.RETRY, requested_by=run.requested_by)
    schedule_run(retry, countdown=delay)


@transaction.atomic
def confirm_held_removals(run: SyncRun, user=None) -> int:
    """Admin confirms removals the breaker held. Only for the account's latest finished run, and
    only numbers still absent (a newer sync would have restored re-listed ones)."""
    from .accounts import audit

    latest = SyncRun.objects.filter(account=run.account, finished_at__isnull=False).order_by("-finished_at", "-id").first()
    if run.state != SyncState.NEEDS_REVIEW or latest is None or latest.pk != run.pk:
        raise ValueError("Only the latest run that is waiting for review can be confirmed.")
    from ..models import PhoneNumber

    pks = list(PhoneNumber.objects.filter(
        account=run.account, external_id__in=run.held_external_ids, removed_at__isnull=True
    ).values_list("pk", flat=True))
    removed = ingest.mark_removed(run.account, pks, run, timezone.now(), history := [])
    from ..models import NumberChange

    NumberChange.objects.bulk_create(history, batch_size=ingest.BATCH)
    run.removed, run.held_removals, run.state = removed, 0, SyncState.SUCCEEDED
    run.error_message = f"{run.error_message} Confirmed by {getattr(user, 'username', 'admin')}."
    run.save()
    audit(user, "sync.confirm_removals", run.account, {"run": run.pk}, rows=removed)
    return removed
