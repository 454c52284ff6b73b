"""Run one sync of one account: lease -> fetch every page -> confirm absences -> apply in one
transaction -> record.

A failure at any point before ``apply_inventory`` leaves the inventory exactly as it was: the
adapter only returns after the last page, and the apply step is a single transaction that also
finishes the run, so a run is never "succeeded" without its apply nor applied twice.

Liveness: the account row holds the running sync's lease token and a heartbeat thread stamps the
run while it works. A worker killed mid-run stops the heartbeat; once it is older than
``SYNC_LEASE_SECONDS`` the reaper (beat), a redelivered task or "Sync now" marks the run ``lost``
and starts a fresh one.
"""

from __future__ import annotations

import logging
import secrets as _secrets
import threading
import time
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from providers import registry
from providers.base import Progress
from providers.errors import BadResponse, ProviderError, RateLimited

from ..choices import SyncState, SyncTrigger
from ..crypto import SecretsUnavailable
from ..models import NumberChange, PhoneNumber, ProviderAccount, SyncRun
from . import ingest
from .accounts import build_client
from .audit import audit

logger = logging.getLogger(__name__)
# Called with the run after a sync's inventory was applied and committed (and after an admin
# confirmed held removals). Other apps register here from their AppConfig.ready (reconcile), so
# this module never imports them; a hook that fails is logged, never fails the run.
POST_SYNC_HOOKS: list = []
LOST_MESSAGE = "the worker running this sync stopped (its heartbeat lapsed); a fresh sync was started"
QUEUED_LOST_MESSAGE = "no worker picked this run up in time (its task was lost); a fresh sync was started"


# -- leases -------------------------------------------------------------------------------------
# The account row carries the lease *token* (who holds it); liveness is the holding run's
# ``heartbeat_at``. The heartbeat writes only the run row, which the apply transaction does not
# lock until its very last statement, so a long apply never starves its own heartbeat. Lock order
# everywhere: account row, then run row.
def heartbeat_cutoff(now=None):
    return (now or timezone.now()) - timedelta(seconds=settings.SYNC_LEASE_SECONDS)


def run_alive(run: SyncRun, now=None) -> bool:
    return run.heartbeat_at is not None and run.heartbeat_at >= heartbeat_cutoff(now)


def acquire_lease(account_id: int) -> str | None:
    """A lease for a holder that is not a run (maintenance, tests): free when unheld or expired.
    Runs take the lease through ``claim_run``."""
    now = timezone.now()
    token = _secrets.token_hex(16)
    got = ProviderAccount.objects.filter(pk=account_id, sync_lease_token="").filter(
        Q(sync_lease_until__isnull=True) | Q(sync_lease_until__lt=now)
    ).update(sync_lease_until=now + timedelta(seconds=settings.SYNC_LEASE_SECONDS), sync_lease_token=token)
    return token if got else None


def release_lease(account_id: int, token: str) -> None:
    ProviderAccount.objects.filter(pk=account_id, sync_lease_token=token).update(sync_lease_until=None, sync_lease_token="")


def _lost_fields(now, message: str = LOST_MESSAGE) -> dict:
    return {"state": SyncState.FAILED, "error_class": "lost", "error_message": message, "finished_at": now}


def mark_lost(run: SyncRun, message: str = LOST_MESSAGE) -> bool:
    """Compare-and-set -> failed/lost, re-checking in the same statement what ``run_is_dead`` says
    (a RUNNING run whose heartbeat came back, or a run that finished, is left alone)."""
    now = timezone.now()
    running_dead = Q(state=SyncState.RUNNING) & (
        Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=heartbeat_cutoff(now))
        | ~Q(account__sync_lease_token=F("lease_token")))  # another holder: it can never finish
    changed = SyncRun.objects.filter(Q(state=SyncState.QUEUED) | running_dead, pk=run.pk).update(
        **_lost_fields(now, message))
    if changed and run.lease_token:
        release_lease(run.account_id, run.lease_token)
    return bool(changed)


def run_is_dead(run: SyncRun, now=None) -> bool:
    """RUNNING without a fresh heartbeat (or whose lease another run took) = its worker died;
    QUEUED whose hand-off is older than ``SYNC_QUEUED_STALE_SECONDS`` past its due time = its
    task was lost (e.g. a Redis restart)."""
    now = now or timezone.now()
    if run.state == SyncState.RUNNING:
        return not run_alive(run, now) or run.account.sync_lease_token != run.lease_token
    if run.state == SyncState.QUEUED:
        stale = timedelta(seconds=settings.SYNC_QUEUED_STALE_SECONDS)
        handed = max(filter(None, [run.created_at, run.enqueued_at, run.not_before]))
        return handed + stale < now
    return False


def claim_run(run_id: int) -> tuple[SyncRun | None, str]:
    """QUEUED -> RUNNING with the account's lease, in one transaction. Returns (run, token), or
    (None, reason) when another delivery already took the run or a live holder has the account."""
    with transaction.atomic():
        account = ProviderAccount.objects.select_for_update().get(
            pk=SyncRun.objects.values_list("account_id", flat=True).get(pk=run_id))
        run = SyncRun.objects.select_for_update().select_related("account").get(pk=run_id)
        if run.state != SyncState.QUEUED:
            return None, "not queued"
        now = timezone.now()
        if account.sync_lease_token:
            holder = SyncRun.objects.filter(account=account, state=SyncState.RUNNING,
                                            lease_token=account.sync_lease_token).first()
            if holder is not None and run_alive(holder, now):
                return None, "busy"
            if holder is None and account.sync_lease_until is not None and account.sync_lease_until >= now:
                return None, "busy"  # held by something other than a run (acquire_lease)
        # Any RUNNING run of the account is dead now (no live holder): its worker stopped.
        SyncRun.objects.filter(account=account, state=SyncState.RUNNING).exclude(pk=run.pk).update(
            **_lost_fields(now))
        token = _secrets.token_hex(16)
        ProviderAccount.objects.filter(pk=account.pk).update(
            sync_lease_token=token, sync_lease_until=now + timedelta(seconds=settings.SYNC_LEASE_SECONDS),
            last_sync_started_at=now)
        run.state, run.started_at, run.stage, run.lease_token, run.heartbeat_at = (
            SyncState.RUNNING, now, "connecting", token, now)
        run.save(update_fields=["state", "started_at", "stage", "lease_token", "heartbeat_at"])
        return run, token


# -- queueing ------------------------------------------------------------------------------------
# Services only record that a run should happen (a QUEUED row, ``enqueued_at`` empty); the runner
# (numbersadmin/inventory/runner.py) hands such rows to Celery or a thread after the commit.
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
    return run, True


def replace_lost_run(run: SyncRun) -> SyncRun | None:
    """Mark a dead RUNNING run lost and queue a fresh one (unless another run is already active)."""
    if not mark_lost(run):
        return None
    fresh, created = enqueue_sync(run.account, trigger=SyncTrigger.RECOVERY)
    return fresh if created else None


class Heartbeat:
    """Keeps the run alive from a thread while it works (fetch, lookups and apply alike), on its
    own database connection: ``heartbeat_at`` on the run row. Stops when the run ends; a killed
    worker simply stops it. ``lost`` turns True when the run was reclaimed (presumed dead)."""

    def __init__(self, run: SyncRun, token: str, every: float | None = None):
        self.run, self.token = run, token
        self.every = every if every is not None else settings.SYNC_HEARTBEAT_SECONDS
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"sync-heartbeat-{run.pk}", daemon=True)

    def __enter__(self) -> "Heartbeat":
        if self.every > 0:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()

    def _loop(self) -> None:
        try:
            while not self._stop.wait(self.every):
                self.beat()
        finally:
            connection.close()  # this thread's own connection

    def beat(self) -> None:
        try:
            # The account row is only read here (no lock), so the apply holding it never blocks us.
            alive = SyncRun.objects.filter(pk=self.run.pk, state=SyncState.RUNNING, lease_token=self.token,
                                           account__sync_lease_token=self.token).update(heartbeat_at=timezone.now())
            if not alive:
                self.lost = True
                self._stop.set()
        except DatabaseError as exc:  # database restarting: try again next beat
            logger.warning("sync %s heartbeat failed (%s)", self.run.pk, type(exc).__name__)
            close_old_connections()


def _progress_writer(run: SyncRun, heartbeat: Heartbeat):
    """Progress shown live on the accounts page: pages across all listings, numbers of the total.
    Adapters report per listing (numbers, then trunks...), so later stages keep the number counts."""
    state = {"at": 0.0, "stage": None, "pages_before": 0, "stage_pages": 0}

    def write(p: Progress) -> None:
        if heartbeat.lost:
            raise ingest.LeaseLost("this run's lease was reclaimed")
        # Kept on the run object even when the write below is throttled: a failure finishes the
        # run with this stage, so the run page says where it stopped ("fetching numbers").
        run.stage = p.stage
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


# -- the run ------------------------------------------------------------------------------------
def run_sync(run_id: int) -> SyncRun:
    """Execute a queued SyncRun. Returns the run (any state). Never raises for provider or
    database problems: they are recorded on the run."""
    run = SyncRun.objects.select_related("account").get(pk=run_id)
    if run.state == SyncState.RUNNING:
        # Redelivered (acks_late) after its worker died, or a duplicate while it still runs.
        if run_is_dead(run):
            replace_lost_run(run)
        return SyncRun.objects.get(pk=run.pk)
    if run.state != SyncState.QUEUED:
        return run  # already ran: idempotent no-op
    claimed, token = claim_run(run.pk)
    if claimed is None:
        if token == "busy":
            _finish_where(run, None, SyncState.FAILED, "busy", "another sync of this account is running",
                          state_from=SyncState.QUEUED)
        return SyncRun.objects.get(pk=run.pk)
    run = claimed
    client = None
    try:
        with Heartbeat(run, token) as heartbeat:
            account = run.account
            client = build_client(account)
            inventory = client.fetch_inventory(progress=_progress_writer(run, heartbeat))
            if not inventory.complete:
                raise BadResponse("provider listing was incomplete")
            lookups = _confirm_absences(run, client, inventory)
            run.stage = "applying"
            SyncRun.objects.filter(pk=run.pk).update(stage=run.stage, pages_fetched=inventory.pages_fetched,
                                                     items_fetched=len(inventory.numbers))
            account.refresh_from_db()
            _apply_and_finish(run, account, inventory, lookups, token)
    except RateLimited as exc:
        _handle_rate_limit(run, exc, token)
    except ProviderError as exc:
        run.tracking_id = exc.tracking_id[:200]
        _finish_where(run, token, SyncState.FAILED, exc.error_class, str(exc))
    except SecretsUnavailable as exc:
        _finish_where(run, token, SyncState.FAILED, "secrets", str(exc))
    except SoftTimeLimitExceeded:
        _finish_where(run, token, SyncState.FAILED, "time_limit", "sync exceeded SYNC_SOFT_TIME_LIMIT; nothing was applied")
    except ingest.LeaseLost:
        logger.warning("sync run %s lost its lease; another run owns the account", run.pk)
    except DatabaseError as exc:
        logger.exception("sync run %s: database error", run.pk)
        _finish_where(run, token, SyncState.FAILED, "database",
                      f"database error ({type(exc).__name__}); nothing was applied, retry later")
    except Exception as exc:  # never leave a run "running"; the traceback goes to the log only
        logger.exception("sync run %s crashed", run.pk)
        _finish_where(run, token, SyncState.FAILED, "internal", f"internal error ({type(exc).__name__}); see server log")
    finally:
        if client is not None:
            client.close()
        _on_fresh_connection(lambda: release_lease(run.account_id, token))
    return SyncRun.objects.get(pk=run.pk)


def _confirm_absences(run: SyncRun, client, inventory) -> dict[str, bool]:
    """Ask the provider about live numbers the listing lacks (silence is not evidence). Over
    ``SYNC_MISSING_LOOKUP_MAX`` candidates, nobody is asked: they all become "missing"."""
    candidates = ingest.missing_candidates(run.account, inventory)
    if not candidates or len(candidates) > settings.SYNC_MISSING_LOOKUP_MAX:
        return {}
    run.stage = "confirming"
    SyncRun.objects.filter(pk=run.pk).update(stage=run.stage)
    answers = client.lookup_numbers(candidates)
    present = sum(1 for found in answers.values() if found)
    if present:
        logger.warning("sync run %s: %d numbers absent from the listing still exist at the provider (kept)",
                       run.pk, present)
    return answers


def _apply_and_finish(run: SyncRun, account: ProviderAccount, inventory, lookups, token: str) -> None:
    """The apply and the run's final state commit together. The account row is locked first
    (apply_inventory, checking our lease token); the run row only by the final compare-and-set,
    which rolls everything back if the run was reclaimed meanwhile."""
    with transaction.atomic():
        stats = ingest.apply_inventory(account, inventory, run, lookups=lookups, lease_token=token)
        for name in ("added", "changed", "unchanged", "removed", "restored", "held_removals", "missing"):
            setattr(run, name, getattr(stats, name))
        run.items_fetched, run.pages_fetched = len(inventory.numbers), inventory.pages_fetched
        run.items_total = inventory.total_reported if inventory.total_reported is not None else len(inventory.numbers)
        if stats.held_reason:
            run.error_class = "removal_guard"
            run.error_message = f"Removals held for review: {stats.held_reason}."
            run.held_external_ids = stats.held_external_ids
            state = SyncState.NEEDS_REVIEW
        else:
            state = SyncState.SUCCEEDED
        run.stage = ""  # applied: no stage to report (a failed run keeps the one it stopped at)
        run.state, run.finished_at = state, timezone.now()
        fields = {name: getattr(run, name) for name in FINISH_FIELDS + COUNT_FIELDS}
        if not SyncRun.objects.filter(pk=run.pk, state=SyncState.RUNNING, lease_token=token).update(**fields):
            raise ingest.LeaseLost("run was reclaimed while applying; rolled back")
        ProviderAccount.objects.filter(pk=account.pk).update(last_success_at=run.finished_at,
                                                             sync_lease_until=None, sync_lease_token="")
    run_post_sync_hooks(run)


def run_post_sync_hooks(run: SyncRun) -> None:
    """The registered POST_SYNC_HOOKS, after the apply committed."""
    for hook in list(POST_SYNC_HOOKS):
        try:
            hook(run)
        except Exception:
            logger.exception("post-sync hook %s failed for run %s", getattr(hook, "__name__", hook), run.pk)


FINISH_FIELDS = ["state", "finished_at", "error_class", "error_message", "stage", "retry_at", "tracking_id"]
COUNT_FIELDS = ["pages_fetched", "added", "changed", "unchanged", "removed", "restored", "held_removals", "items_fetched",
                "items_total", "held_external_ids", "missing"]


def redact_message(account: ProviderAccount, message: str) -> str:
    """A second line of defence for the message stored on a failed run (admins read it on the run
    page): adapters build messages without secrets and ``http.py`` removes the account's own secret
    values; the provider's raw-payload redaction (providers/redaction.py) also hides account
    identifiers in URL paths ("/Account/<redacted>/")."""
    spec = registry.PROVIDERS.get(account.provider)
    return spec.raw_redaction(message) if spec is not None else message


def _finish_where(run: SyncRun, token: str | None, state: str, error_class: str, message: str,
                  state_from: str = SyncState.RUNNING, fresh: bool = True) -> int | None:
    """Finish a run that failed, only if it is still ours (not reclaimed meanwhile); with
    ``fresh``, on a new connection when the database dropped the old one (a restart mid-apply)."""
    run.state, run.finished_at = state, timezone.now()
    run.error_class, run.error_message = error_class, redact_message(run.account, message)[:2000]
    fields = {name: getattr(run, name) for name in FINISH_FIELDS}
    query = {"pk": run.pk, "state": state_from, **({"lease_token": token} if token else {})}

    def write() -> int:
        return SyncRun.objects.filter(**query).update(**fields)

    if fresh:
        _on_fresh_connection(write)
        return None
    return write()


def _on_fresh_connection(write, attempts: int | None = None) -> None:
    """Run a small write; after a database error, reconnect and retry with back-off (a restarting
    PostgreSQL comes back within seconds). Gives up quietly: the lease then lapses and the reaper
    marks the run lost."""
    attempts = attempts if attempts is not None else settings.SYNC_FINISH_ATTEMPTS
    delay = 0.5
    for attempt in range(attempts):
        try:
            write()
            return
        except DatabaseError as exc:
            logger.warning("sync bookkeeping write failed (%s), attempt %d", type(exc).__name__, attempt + 1)
            connection.close()
            if attempt + 1 < attempts:
                time.sleep(delay)
                delay = min(delay * 2, 8.0)


def _handle_rate_limit(run: SyncRun, exc: RateLimited, token: str) -> None:
    """Honour Retry-After by queueing a new run due then (the runner hands it over with that
    delay); the worker never sleeps. The cap counts the consecutive rate limits of this sync (its
    chain of retries), not the account's history."""
    # Providers without Retry-After (Plivo) get the configured back-off.
    delay = exc.retry_after if exc.retry_after is not None else settings.SYNC_DEFAULT_RETRY_AFTER
    retries = run.rate_limit_retries
    run.tracking_id = exc.tracking_id[:200]
    if retries >= settings.SYNC_RATE_LIMIT_RETRIES:
        _finish_where(run, token, SyncState.FAILED, exc.error_class, f"{exc} (gave up after {retries} retries)")
        return
    run.retry_at = timezone.now() + timedelta(seconds=delay)
    with transaction.atomic():
        if not _finish_where(run, token, SyncState.RETRY_SCHEDULED, exc.error_class,
                             f"{exc}; retrying in {delay:.0f} s", fresh=False):
            return  # reclaimed meanwhile: its replacement is already on the way
        SyncRun.objects.create(account=run.account, trigger=SyncTrigger.RETRY, requested_by=run.requested_by,
                               rate_limit_retries=retries + 1, not_before=run.retry_at)
        release_lease(run.account_id, token)  # this run is over; the retry must be able to claim it


@transaction.atomic
def confirm_held_removals(run: SyncRun, user=None) -> int:
    """Admin confirms removals the breaker held. Only for the account's latest finished run, and
    only numbers still absent (a newer sync would have restored re-listed ones)."""

    latest = SyncRun.objects.filter(account=run.account, finished_at__isnull=False).order_by("-finished_at", "-id").first()
    if run.state != SyncState.NEEDS_REVIEW or latest is None or latest.pk != run.pk:
        raise ValueError("Only the latest run that is waiting for review can be confirmed.")
    pks = list(PhoneNumber.objects.filter(
        account=run.account, external_id__in=run.held_external_ids, removed_at__isnull=True
    ).values_list("pk", flat=True))
    removed = ingest.mark_removed(run.account, pks, run, timezone.now(), history := [])
    NumberChange.objects.bulk_create(history, batch_size=ingest.BATCH)
    run.removed, run.held_removals, run.state = removed, 0, SyncState.SUCCEEDED
    run.error_message = f"{run.error_message} Confirmed by {getattr(user, 'username', 'admin')}."
    run.save()
    audit(user, "sync.confirm_removals", run.account, {"run": run.pk}, rows=removed)
    transaction.on_commit(lambda: run_post_sync_hooks(run))
    return removed
