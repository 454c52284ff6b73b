"""Where background work runs: Celery (REDIS_URL set), a small thread pool in this process (the
embedded default, so a fresh checkout works with no services) or inline (tests, CLI).

Services only record work: a QUEUED SyncRun not yet handed over (``enqueued_at`` empty), a
QUEUED ExportJob. The runner hands it over after the transaction commits. A run a service queues
while another runs (a rate-limit retry, a lost run's replacement) is picked up by ``hand_over``
after that run, and one whose hand-over got lost is found again by the reaper: the database is
the queue of record, the broker only delivers.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import close_old_connections, transaction
from django.utils import timezone

from numbersadmin.celery import app as celery_app

from . import export_jobs, scopes
from .choices import SyncState, SyncTrigger
from .models import ProviderAccount, SyncRun
from .services import dispatch, sync

logger = logging.getLogger(__name__)
_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()

# Celery task names (tasks.py); sent by name so the runner never imports the task module.
SYNC_TASK = "inventory.sync_account"
EXPORT_TASK = "inventory.run_export"


def _pool() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="runner")
        return _executor


def _in_thread(work, *args) -> None:
    close_old_connections()
    try:
        work(*args)
    except Exception:
        logger.exception("background %s%r failed", getattr(work, "__name__", "work"), args)
    finally:
        close_old_connections()


def _submit(task: str, work, arg: int, countdown: float = 0) -> None:
    """Now (or after ``countdown`` seconds) on the configured runner, once the transaction commits.
    The inline runner ignores the countdown: tests and the CLI want the outcome now."""
    if settings.TASK_RUNNER == "celery":
        transaction.on_commit(lambda: celery_app.send_task(task, (arg,), countdown=countdown or None))
    elif settings.TASK_RUNNER == "inline":
        transaction.on_commit(lambda: work(arg))
    elif countdown:
        def later() -> None:
            timer = threading.Timer(countdown, lambda: _pool().submit(_in_thread, work, arg))
            timer.daemon = True
            timer.start()

        transaction.on_commit(later)
    else:
        transaction.on_commit(lambda: _pool().submit(_in_thread, work, arg))


# -- syncs ----------------------------------------------------------------------------------------
def hand_over() -> int:
    """Hand every queued run nobody has handed over yet to the runner, delayed until its due time.
    Two processes doing this at once hand each run over once (compare-and-set on ``enqueued_at``);
    a run delivered twice anyway is harmless, only one delivery can claim it."""
    now = timezone.now()
    handed = 0
    for run_id, not_before in SyncRun.objects.filter(state=SyncState.QUEUED, enqueued_at__isnull=True).values_list(
            "pk", "not_before"):
        if SyncRun.objects.filter(pk=run_id, enqueued_at__isnull=True).update(enqueued_at=now):
            _submit(SYNC_TASK, execute_sync, run_id, (not_before - now).total_seconds() if not_before and not_before > now else 0)
            handed += 1
    return handed


def execute_sync(run_id: int) -> SyncRun:
    """The body of a sync task on any runner: run it, then hand over what it queued. A sync (and
    its post-sync hooks) is a system job: it never reads through a user's scope, even when the
    inline runner starts it inside a scoped manager's request."""
    with scopes.unscoped():
        run = sync.run_sync(run_id)
        hand_over()
    return run


def run_here(account: ProviderAccount, *, trigger: str = SyncTrigger.CLI) -> SyncRun:
    """Run a sync in this process (CLI, demo set-up); handed over already, so no runner takes it too."""
    return execute_sync(SyncRun.objects.create(account=account, trigger=trigger, enqueued_at=timezone.now()).pk)


def sync_now(account: ProviderAccount, *, trigger: str = SyncTrigger.MANUAL, user=None) -> tuple[SyncRun, bool]:
    """"Sync now" (page, CLI): queue a run unless one is active, and hand it over."""
    run, created = sync.enqueue_sync(account, trigger=trigger, user=user)
    hand_over()
    return run, created


def dispatch_due() -> list[int]:
    queued = dispatch.dispatch_due_syncs()
    hand_over()
    return queued


def reap() -> dict[str, int]:
    counts = dispatch.reap_runs()
    hand_over()
    return counts


# -- exports --------------------------------------------------------------------------------------
def start_export(job_id: int) -> None:
    _submit(EXPORT_TASK, export_jobs.run_export_job, job_id)


# -- the embedded beat ------------------------------------------------------------------------------
# Other apps' periodic work for the embedded scheduler, as (every seconds, callable); registered in
# their AppConfig.ready (alerts), so this module never imports them. Celery beat has its own table.
PERIODIC_JOBS: list[tuple[float, object]] = []


def pool_submit(work, *args) -> None:
    """Run ``work(*args)`` on the embedded runner's threads (fresh database connections)."""
    _pool().submit(_in_thread, work, *args)


class Scheduler(threading.Thread):
    """Embedded stand-in for ``celery beat``: reaps and dispatches every ``every`` seconds, and runs
    the registered PERIODIC_JOBS on their own intervals."""

    def __init__(self, every: float = 60.0):
        super().__init__(name="sync-scheduler", daemon=True)
        self.every = every
        self._stop_event = threading.Event()
        self._last_run: dict[int, float] = {}

    def run(self) -> None:
        while not self._stop_event.wait(self.every):
            close_old_connections()
            try:
                reap()
                dispatch_due()
            except Exception:
                logger.exception("scheduled dispatch failed")
            self.run_periodic()

    def run_periodic(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        for index, (every, job) in enumerate(PERIODIC_JOBS):
            last = self._last_run.get(index)
            if last is not None and now - last < every - self.every / 2:
                continue
            self._last_run[index] = now
            try:
                job()
            except Exception:
                logger.exception("periodic job %s failed", getattr(job, "__name__", job))

    def stop(self) -> None:
        self._stop_event.set()
