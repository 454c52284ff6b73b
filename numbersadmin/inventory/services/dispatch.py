"""Which syncs should run: the beat entry points (due accounts, the reaper) and start-up
recovery for the embedded mode. These only write rows; the runner (runner.py) hands queued runs
to Celery or a thread."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone

from ..choices import SyncState, SyncTrigger
from ..models import ProviderAccount, SyncRun
from .sync import enqueue_sync, replace_lost_run, run_is_dead

logger = logging.getLogger(__name__)


def reap_runs(now=None) -> dict[str, int]:
    """Runs whose worker died are marked lost and replaced within about SYNC_LEASE_SECONDS +
    SYNC_REAP_EVERY; queued runs whose task was lost (a Redis restart without persistence) are
    marked for hand-over again (``enqueued_at`` cleared)."""
    now = now or timezone.now()
    counts = {"lost": 0, "requeued": 0}
    for run in SyncRun.objects.filter(state=SyncState.RUNNING).select_related("account"):
        if run_is_dead(run, now) and replace_lost_run(run) is not None:
            counts["lost"] += 1
    for run in SyncRun.objects.filter(state=SyncState.QUEUED):
        if run_is_dead(run, now):
            counts["requeued"] += SyncRun.objects.filter(pk=run.pk, state=SyncState.QUEUED).update(enqueued_at=None)
    if counts["lost"] or counts["requeued"]:
        logger.warning("sync reaper: %(lost)d runs lost and replaced, %(requeued)d queued runs handed over again", counts)
    return counts


def dispatch_due_syncs(now=None) -> list[int]:
    """Queue every enabled account whose interval has elapsed."""
    now = now or timezone.now()
    queued = []
    for account in ProviderAccount.objects.filter(enabled=True):
        last = account.last_sync_started_at
        if last is None or last + timedelta(minutes=account.sync_interval_minutes) <= now:
            run, created = enqueue_sync(account, trigger=SyncTrigger.SCHEDULE)
            if created:
                # Mark as started-for-scheduling so the next tick does not queue it again.
                ProviderAccount.objects.filter(pk=account.pk).update(last_sync_started_at=now)
                queued.append(run.pk)
    return queued


def recover_interrupted_runs() -> int:
    """Embedded mode only (one process owns every run): runs left queued/running by a previous
    process can never finish, so fail them as "lost" and free their leases."""
    now = timezone.now()
    stuck = SyncRun.objects.filter(state__in=[SyncState.QUEUED, SyncState.RUNNING])
    count = stuck.update(state=SyncState.FAILED, error_class="lost", finished_at=now,
                         error_message="the process running this sync stopped before it finished")
    ProviderAccount.objects.exclude(sync_lease_until=None).update(sync_lease_until=None, sync_lease_token="")
    return count
