"""Sync service against the DIDWW simulator over real sockets: what lands, what never changes."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from numbersadmin.inventory.choices import ChangeKind, NumberStatus, SyncState, SyncTrigger
from numbersadmin.inventory.models import NumberChange, PhoneNumber, SyncRun, Trunk, TrunkGroup
from numbersadmin.inventory.runner import sync_now
from numbersadmin.inventory.services.sync import acquire_lease, confirm_held_removals, release_lease

from .support.helpers import snapshot, sync

pytestmark = pytest.mark.django_db(transaction=True)


def test_first_sync_lands_every_did_with_trunks_and_locations(didww_account, didww_sim):
    run = sync(didww_account)
    assert run.state == SyncState.SUCCEEDED, run.error_message
    assert run.added == len(didww_sim.dids) == PhoneNumber.objects.count()
    assert run.pages_fetched >= 3  # 250 DIDs at 100 per page, plus trunk listings
    assert run.items_total == len(didww_sim.dids)
    # Trunks and groups with no numbers still appear.
    assert Trunk.objects.count() == len(didww_sim.voice_in_trunks)
    assert TrunkGroup.objects.count() == len(didww_sim.voice_in_trunk_groups)
    assert Trunk.objects.filter(numbers__isnull=True).exists()
    numbers = PhoneNumber.objects.all()
    assert all(n.e164.startswith("+") and n.is_valid for n in numbers)
    assert numbers.exclude(trunk=None).exists() and numbers.exclude(trunk_group=None).exists()
    assert numbers.exclude(city="").count() > 0 and numbers.filter(country="").count() == 0
    # Canonical status next to the raw flags.
    def status_of(d):
        return PhoneNumber.objects.get(external_id=d["id"]).status

    live = [d for d in didww_sim.dids if not d["terminated"] and not d.get("pending_removal")]
    blocked = [d for d in live if d["blocked"] and not d["awaiting_registration"]]
    waiting = [d for d in live if d["awaiting_registration"]]
    assert blocked and waiting  # the seed covers both
    assert {status_of(d) for d in blocked} == {NumberStatus.SUSPENDED}
    assert {status_of(d) for d in waiting} == {NumberStatus.PENDING}


def test_resync_unchanged_writes_nothing(didww_account):
    sync(didww_account)
    before = snapshot(didww_account)
    with CaptureQueriesContext(connection) as ctx:
        run = sync(didww_account)
    assert run.state == SyncState.SUCCEEDED
    assert (run.added, run.changed, run.removed, run.unchanged) == (0, 0, 0, PhoneNumber.objects.count())
    assert snapshot(didww_account) == before
    writes = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith(("UPDATE \"inventory_phonenumber\"", "INSERT INTO \"inventory_phonenumber\""))]
    assert writes == []


def test_changed_did_is_updated_with_history(didww_account, didww_sim):
    sync(didww_account)
    did = didww_sim.dids[0]
    didww_sim.update_did(did["id"], description="moved to support line", blocked=True, terminated=False)
    run = sync(didww_account)
    assert (run.changed, run.added, run.removed) == (1, 0, 0)
    number = PhoneNumber.objects.get(external_id=did["id"])
    assert number.description == "moved to support line"
    assert number.status == NumberStatus.SUSPENDED
    fields = set(NumberChange.objects.filter(number=number, kind=ChangeKind.CHANGED).values_list("field", flat=True))
    assert "description" in fields


def test_missing_did_is_soft_removed_then_restored(didww_account, didww_sim):
    sync(didww_account)
    did = didww_sim.dids[5]
    saved = dict(did)
    didww_sim.remove_did(did["id"])
    run = sync(didww_account)
    assert run.removed == 1
    number = PhoneNumber.objects.get(external_id=did["id"])
    assert number.removed_at is not None and number.status == NumberStatus.REMOVED
    assert PhoneNumber.objects.count() == 250  # never deleted
    didww_sim.dids.append(saved)
    run = sync(didww_account)
    number.refresh_from_db()
    assert run.restored == 1 and number.removed_at is None and number.status != NumberStatus.REMOVED
    kinds = list(NumberChange.objects.filter(number=number).values_list("kind", flat=True))
    assert ChangeKind.REMOVED in kinds and ChangeKind.RESTORED in kinds


def test_mass_removal_is_held_for_review(didww_account, didww_sim):
    sync(didww_account)
    for did in list(didww_sim.dids[:100]):
        didww_sim.remove_did(did["id"])
    run = sync(didww_account)
    assert run.state == SyncState.NEEDS_REVIEW
    assert run.held_removals == 100 and run.removed == 0
    assert PhoneNumber.objects.filter(removed_at__isnull=False).count() == 0
    assert confirm_held_removals(run) == 100
    assert PhoneNumber.objects.filter(removed_at__isnull=False).count() == 100


@pytest.mark.parametrize(
    "fault, error_class",
    [
        (lambda sim: sim.faults.fail(500, page=3, path="/dids"), "unavailable"),
        (lambda sim: sim.faults.truncate(page=2, path="/dids"), "bad_response"),
        (lambda sim: sim.faults.stall(3, page=2, path="/dids"), "timeout"),
    ],
    ids=["500-on-page-3", "truncated-json", "stalled"],
)
def test_failed_run_leaves_inventory_untouched(didww_account, didww_sim, settings, fault, error_class):
    settings.PROVIDER_HTTP_TIMEOUT = 1.0
    sync(didww_account)
    for did in list(didww_sim.dids[:3]):
        didww_sim.remove_did(did["id"])  # would be removals if the run completed
    didww_sim.update_did(didww_sim.dids[10]["id"], description="changed")
    before = snapshot(didww_account)
    fault(didww_sim)
    run = sync(didww_account)
    assert run.state == SyncState.FAILED
    assert run.error_class == error_class
    assert snapshot(didww_account) == before


def test_wrong_api_key_fails_as_authentication_and_removes_nothing(didww_account, didww_sim):
    from numbersadmin.inventory.services.accounts import account_update

    sync(didww_account)
    before = snapshot(didww_account)
    account_update(didww_account, secrets={"api_key": "not-the-key-9876"})
    run = sync(didww_account)
    assert run.state == SyncState.FAILED and run.error_class == "auth"
    assert "authentication failed" in run.error_message
    assert "not-the-key-9876" not in run.error_message
    assert snapshot(didww_account) == before


def test_simulator_stopped_mid_sync_leaves_inventory(didww_account, didww_sim):
    sync(didww_account)
    before = snapshot(didww_account)
    didww_sim.remove_did(didww_sim.dids[0]["id"])
    didww_sim.faults.stall(1.5, page=2, path="/dids")
    stopper = threading.Timer(0.5, didww_sim.stop)
    stopper.start()
    run = sync(didww_account)
    stopper.join()
    assert run.state == SyncState.FAILED and run.error_class in ("unavailable", "timeout")
    assert snapshot(didww_account) == before


def test_rate_limit_reschedules_without_sleeping(didww_account, didww_sim, settings, monkeypatch):
    from numbersadmin.inventory import runner

    scheduled = []
    monkeypatch.setattr(runner, "_submit", lambda task, work, arg, countdown=0: scheduled.append((arg, countdown)))
    didww_sim.faults.rate_limit(retry_after=7, page=2, path="/dids")
    run = runner.execute_sync(SyncRun.objects.create(account=didww_account).pk)
    assert run.state == SyncState.RETRY_SCHEDULED and run.error_class == "rate_limited"
    assert PhoneNumber.objects.count() == 0
    assert len(scheduled) == 1 and 6 <= scheduled[0][1] <= 7  # handed over with the Retry-After delay
    retry = SyncRun.objects.get(pk=scheduled[0][0])
    assert retry.state == SyncState.QUEUED and retry.trigger == SyncTrigger.RETRY
    from numbersadmin.inventory.services.sync import run_sync

    assert run_sync(retry.pk).state == SyncState.SUCCEEDED
    assert PhoneNumber.objects.count() == 250


def test_one_sync_per_account_at_a_time(didww_account):
    token = acquire_lease(didww_account.pk)
    assert token and acquire_lease(didww_account.pk) is None
    run = sync(didww_account)
    assert run.state == SyncState.FAILED and run.error_class == "busy"
    release_lease(didww_account.pk, token)
    assert sync(didww_account).state == SyncState.SUCCEEDED


def test_enqueue_does_not_duplicate_an_active_run(didww_account, settings):
    settings.TASK_RUNNER = "celery"  # nothing consumes: the run stays queued
    from unittest import mock

    from numbersadmin.inventory import runner

    with mock.patch.object(runner.celery_app, "send_task") as send_task:
        first, created1 = sync_now(didww_account)
        second, created2 = sync_now(didww_account)
    assert created1 and not created2 and first.pk == second.pk
    assert send_task.call_count == 1
    assert send_task.call_args.args == (runner.SYNC_TASK, (first.pk,))  # ids only, never secrets


def test_secrets_never_reach_logs_or_runs(didww_account, didww_sim, caplog):
    caplog.set_level("DEBUG")
    didww_sim.faults.fail(500, page=1, path="/dids")
    run = sync(didww_account)
    assert run.state == SyncState.FAILED
    assert "sim-key-0123456789" not in caplog.text
    assert "sim-key-0123456789" not in run.error_message
    didww_account.refresh_from_db()
    assert "sim-key-0123456789" not in didww_account.secrets_encrypted


def test_embedded_restart_recovers_runs_left_running(didww_account):
    from numbersadmin.inventory.services.dispatch import recover_interrupted_runs

    token = acquire_lease(didww_account.pk)
    stuck = SyncRun.objects.create(account=didww_account, state=SyncState.RUNNING)
    assert token and recover_interrupted_runs() == 1
    stuck.refresh_from_db()
    assert stuck.state == SyncState.FAILED and stuck.error_class == "lost"
    assert sync(didww_account).state == SyncState.SUCCEEDED
