"""Where sync runs execute: Celery (REDIS_URL set) or a small thread pool in this process.

The thread runner is the embedded default so a fresh checkout works with no services; it
gives the same observable behaviour (a queued run, live progress, rate-limit reschedules).
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, transaction
from django.utils import timezone

from ..choices import SyncState, SyncTrigger
from ..models import ProviderAccount, SyncRun
from .sync import LOST_MESSAGE, mark_lost, run_is_dead, run_sync

QUEUED_LOST_MESSAGE = "no worker picked this run up in time (its task was lost); a fresh sync was started"

logger = logging.getLogger(__name__)
_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sync")
        return _executor


def _run_in_thread(run_id: int) -> None:
    close_old_connections()
    try:
        run_sync(run_id)
    except Exception:
        logger.exception("in-process sync %s failed", run_id)
    finally:
        close_old_connections()


def schedule_run(run: SyncRun, countdown: float = 0) -> None:
    """Hand a queued run to the runner (after the current transaction commits). Handing the same
    run over twice is harmless: only one delivery can claim it (``claim_run``)."""
    SyncRun.objects.filter(pk=run.pk).update(enqueued_at=timezone.now())
    if settings.TASK_RUNNER == "celery":
        from ..tasks import sync_account

        transaction.on_commit(lambda: sync_account.apply_async((run.pk,), countdown=countdown or None))
    elif settings.TASK_RUNNER == "inline":  # tests / CLI: run now, in this thread
        transaction.on_commit(lambda: _inline(run.pk))
    else:
        def submit() -> None:
            if countdown:
                timer = threading.Timer(countdown, lambda: _pool().submit(_run_in_thread, run.pk))
                timer.daemon = True
                timer.start()
            else:
                _pool().submit(_run_in_thread, run.pk)

        transaction.on_commit(submit)


def schedule_export(job_id: int) -> None:
    """Same runners as syncs: Celery, inline (tests/CLI) or the in-process pool."""
    from .exports import run_export_job

    if settings.TASK_RUNNER == "celery":
        from ..tasks import run_export

        transaction.on_commit(lambda: run_export.delay(job_id))
    elif settings.TASK_RUNNER == "inline":
        transaction.on_commit(lambda: run_export_job(job_id))
    else:
        def work() -> None:
            close_old_connections()
            try:
                run_export_job(job_id)
            finally:
                close_old_connections()

        transaction.on_commit(lambda: _pool().submit(work))


def _inline(run_id: int) -> None:
    run_sync(run_id)


def enqueue_sync(account: ProviderAccount, *, trigger: str = SyncTrigger.MANUAL, user=None) -> tuple[SyncRun, bool]:
    """Queue a sync unless one is already queued/running for the account. Returns (run, created).
    A queued/running run whose worker or task was lost is marked lost and replaced."""
    with transaction.atomic():
        ProviderAccount.objects.select_for_update().filter(pk=account.pk).first()
        active = SyncRun.objects.filter(account=account, state__in=[SyncState.QUEUED, SyncState.RUNNING]).first()
        if active is not None and not run_is_dead(active):
            return active, False
        if active is not None:
            mark_lost(active, LOST_MESSAGE if active.state == SyncState.RUNNING else QUEUED_LOST_MESSAGE)
        run = SyncRun.objects.create(account=account, trigger=trigger, requested_by=user if getattr(user, "pk", None) else None)
        schedule_run(run)
    return run, True


def replace_lost_run(run: SyncRun) -> SyncRun | None:
    """Mark a dead RUNNING run lost and start a fresh one (unless another run is already active)."""
    if not mark_lost(run):
        return None
    fresh, created = enqueue_sync(run.account, trigger=SyncTrigger.RECOVERY)
    return fresh if created else None


def reap_runs(now=None) -> dict[str, int]:
    """Beat entry point (and the embedded scheduler's): runs whose worker died are marked lost and
    replaced within about SYNC_LEASE_SECONDS + SYNC_REAP_EVERY; queued runs whose task was lost
    (a Redis restart without persistence) are handed to the runner again."""
    now = now or timezone.now()
    counts = {"lost": 0, "requeued": 0}
    for run in SyncRun.objects.filter(state=SyncState.RUNNING).select_related("account"):
        if run_is_dead(run, now) and replace_lost_run(run) is not None:
            counts["lost"] += 1
    for run in SyncRun.objects.filter(state=SyncState.QUEUED):
        if run_is_dead(run, now):
            schedule_run(run)
            counts["requeued"] += 1
    if counts["lost"] or counts["requeued"]:
        logger.warning("sync reaper: %(lost)d runs lost and replaced, %(requeued)d queued runs handed over again", counts)
    return counts


def dispatch_due_syncs(now=None) -> list[int]:
    """Beat entry point: queue every enabled account whose interval has elapsed."""
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


class Scheduler(threading.Thread):
    """Embedded stand-in for ``celery beat``: calls dispatch_due_syncs every ``every`` seconds."""

    def __init__(self, every: float = 60.0):
        super().__init__(name="sync-scheduler", daemon=True)
        self.every = every
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.every):
            close_old_connections()
            try:
                reap_runs()
                dispatch_due_syncs()
            except Exception:
                logger.exception("scheduled dispatch failed")

    def stop(self) -> None:
        self._stop_event.set()


def recover_interrupted_runs() -> int:
    """Embedded mode only (one process owns every run): runs left queued/running by a previous
    process can never finish, so fail them as "lost" and free their leases."""
    now = timezone.now()
    stuck = SyncRun.objects.filter(state__in=[SyncState.QUEUED, SyncState.RUNNING])
    count = stuck.update(state=SyncState.FAILED, error_class="lost", finished_at=now,
                         error_message="the process running this sync stopped before it finished")
    ProviderAccount.objects.exclude(sync_lease_until=None).update(sync_lease_until=None, sync_lease_token="")
    return count
