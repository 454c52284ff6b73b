"""Sync trust (findings 1-5 of the fault review), each against real simulators over sockets:
a listing cut short never removes live numbers, a dead worker never holds an account, a database
error never leaves a run running, lost queued tasks are handed over again, and the rate-limit cap
counts one sync's consecutive retries only."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.db import OperationalError
from django.utils import timezone

from numbersadmin.inventory.choices import ChangeKind, SyncState, SyncTrigger
from numbersadmin.inventory.models import NumberChange, PhoneNumber, ProviderAccount, SyncRun
from numbersadmin.inventory import runner
from numbersadmin.inventory.services import ingest
from numbersadmin.inventory.services import sync as sync_service

from .faults.harness import CASES, PAGE_SIZE, check, live_ids, make_account
from .support.helpers import sync

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def case_of():
    started = []

    def make(slug: str, numbers: int = 100, seed: int = 5):
        case = CASES[slug](numbers, seed)
        case.sim.start()
        started.append(case.sim)
        return case, make_account(case)

    yield make
    for sim in started:
        sim.stop()


def synced(case_of, slug, **kw):
    case, account = case_of(slug, **kw)
    first = sync(account)
    assert first.state == SyncState.SUCCEEDED, first.error_message
    assert live_ids(account) == case.listed(case.sim)
    return case, account


# -- finding 1: a listing cut short at a page boundary ------------------------------------------
@pytest.mark.parametrize("slug", ["didww", "voximplant", "plivo"])
def test_total_short_by_exactly_one_page_fails_and_removes_nothing(case_of, slug):
    case, account = synced(case_of, slug)
    before = live_ids(account)
    # Every page states a total one page short: the old client stopped there and removed the rest.
    case.sim.faults.total_offset(-PAGE_SIZE, path=case.numbers_path, times=None)
    run = sync(account)
    assert run.state == SyncState.FAILED and run.error_class == "bad_response", run.error_message
    assert "past" in run.error_message
    assert live_ids(account) == before and run.removed == 0
    assert check(account, case).ok


@pytest.mark.parametrize("slug, fault", [
    ("webex", "drop_next"), ("webex", "empty_page"), ("apifonica", "drop_next"), ("apifonica", "empty_page"),
])
def test_listing_ending_early_never_removes_live_numbers(case_of, slug, fault):
    case, account = synced(case_of, slug)
    before = live_ids(account)
    if fault == "drop_next":
        case.sim.faults.drop_next(page=3, path=case.numbers_path)
    else:
        case.sim.faults.empty_page(keep_next=False, page=3, path=case.numbers_path)
    run = sync(account)
    assert run.removed == 0 and live_ids(account) == before
    verdict = check(account, case)
    assert verdict.ok and verdict.lost == 0
    if case.has_lookup:  # Webex: each absent number was looked up and still exists -> untouched
        assert run.state == SyncState.SUCCEEDED and run.missing == 0 and verdict.missing_flagged == 0
    else:  # Apifonica has no lookup: the numbers after the cut are "missing", still live
        pages_kept = 3 if fault == "drop_next" else 2  # drop_next keeps page 3's items
        assert run.state == SyncState.SUCCEEDED and run.missing == len(before) - pages_kept * PAGE_SIZE
        assert verdict.missing_flagged == run.missing
        # The next complete listing finds them again.
        again = sync(account)
        assert again.state == SyncState.SUCCEEDED and check(account, case).missing_flagged == 0
        assert NumberChange.objects.filter(run=again, kind=ChangeKind.FOUND).count() == run.missing


@pytest.mark.parametrize("slug", ["webex", "apifonica"])
def test_empty_page_that_still_links_a_next_page_fails_the_run(case_of, slug):
    case, account = synced(case_of, slug)
    case.sim.faults.empty_page(keep_next=True, page=2, path=case.numbers_path)
    run = sync(account)
    assert run.state == SyncState.FAILED and run.error_class == "bad_response"
    assert "empty" in run.error_message and check(account, case).ok


@pytest.mark.parametrize("slug", ["didww", "voximplant", "webex", "plivo"])
def test_number_gone_at_provider_is_removed_in_the_same_run_after_a_lookup(case_of, slug):
    case, account = synced(case_of, slug)
    gone = case.remove(case.sim, random.Random(1))
    run = sync(account)
    assert run.state == SyncState.SUCCEEDED and run.removed == 1 and run.missing == 0
    number = PhoneNumber.objects.get(account=account, external_id=gone)
    assert number.removed_at is not None and number.missing_since is None
    assert check(account, case).ok


def test_without_a_lookup_a_number_is_missing_first_and_removed_one_interval_later(case_of):
    case, account = synced(case_of, "apifonica")
    gone = case.remove(case.sim, random.Random(2))
    run = sync(account)
    number = PhoneNumber.objects.get(account=account, external_id=gone)
    assert run.removed == 0 and run.missing == 1
    assert number.removed_at is None and number.missing_since is not None
    # Within the interval it stays missing (silence twice is still not a whole interval).
    assert sync(account).removed == 0
    PhoneNumber.objects.filter(pk=number.pk).update(
        missing_since=timezone.now() - dt.timedelta(minutes=account.sync_interval_minutes + 1))
    later = sync(account)
    number.refresh_from_db()
    assert later.removed == 1 and number.removed_at is not None and number.missing_since is None
    assert check(account, case).ok


def test_lookup_failure_leaves_numbers_missing_not_removed(case_of):
    case, account = synced(case_of, "didww")
    gone = case.remove(case.sim, random.Random(3))
    case.sim.faults.fail(503, path=f"/dids/{gone}")  # the per-number lookup fails
    run = sync(account)
    number = PhoneNumber.objects.get(account=account, external_id=gone)
    assert run.state == SyncState.SUCCEEDED and run.removed == 0 and run.missing == 1
    assert number.missing_since is not None and number.removed_at is None


def test_breaker_still_holds_mass_removals_confirmed_by_lookups(case_of):
    case, account = synced(case_of, "didww")
    rng = random.Random(4)
    for _ in range(60):
        case.remove(case.sim, rng)
    run = sync(account)
    assert run.state == SyncState.NEEDS_REVIEW and run.removed == 0 and run.held_removals == 60
    assert check(account, case).ok


def test_missing_numbers_are_visible_in_list_page_and_export(case_of, admin_client):
    case, account = synced(case_of, "apifonica")
    gone = case.remove(case.sim, random.Random(5))
    sync(account)
    number = PhoneNumber.objects.get(account=account, external_id=gone)
    page = admin_client.get("/numbers/?missing=yes").content.decode()
    assert "missing since" in page and number.e164 in page
    assert admin_client.get("/numbers/?removed=only").content.decode().count(number.e164) == 0
    detail = admin_client.get(number.get_absolute_url()).content.decode()
    assert "missing since" in detail and 'id="number-missing"' in detail
    export = admin_client.get("/numbers/?missing=yes&export=csv&columns=all")
    body = b"".join(export.streaming_content).decode()
    header = next(line for line in body.splitlines() if not line.startswith("#"))
    assert "missing_since" in header.split(",") and number.e164 in body


# -- finding 2: a worker killed mid-sync ----------------------------------------------------------
def _stop_heartbeat(run: SyncRun, settings) -> None:
    """What a killed worker leaves behind: a RUNNING run whose heartbeat is older than the lease."""
    past = timezone.now() - dt.timedelta(seconds=settings.SYNC_LEASE_SECONDS + 1)
    SyncRun.objects.filter(pk=run.pk).update(heartbeat_at=past)
    run.heartbeat_at = past


@pytest.fixture
def orphan(settings):
    def make(account) -> SyncRun:
        run = SyncRun.objects.create(account=account, trigger=SyncTrigger.MANUAL)
        claimed, token = sync_service.claim_run(run.pk)
        assert claimed is not None
        _stop_heartbeat(claimed, settings)
        return claimed

    return make


def test_redelivered_task_of_a_dead_run_marks_it_lost_and_starts_a_fresh_run(case_of, orphan):
    case, account = case_of("didww")
    dead = orphan(account)
    runner.execute_sync(dead.pk)  # what acks_late redelivery does (the task body)
    dead.refresh_from_db()
    assert dead.state == SyncState.FAILED and dead.error_class == "lost"
    fresh = SyncRun.objects.filter(account=account, trigger=SyncTrigger.RECOVERY).get()
    assert fresh.state == SyncState.SUCCEEDED and live_ids(account) == case.listed(case.sim)


def test_sync_now_replaces_a_dead_run_instead_of_returning_it(case_of, orphan):
    case, account = case_of("didww")
    dead = orphan(account)
    run, created = runner.sync_now(account)
    assert created and run.pk != dead.pk
    assert SyncRun.objects.get(pk=dead.pk).error_class == "lost"
    assert SyncRun.objects.get(pk=run.pk).state == SyncState.SUCCEEDED


def test_reaper_replaces_dead_runs_but_not_live_ones(case_of, settings):
    _, account = case_of("didww")
    live = SyncRun.objects.create(account=account)
    claimed = sync_service.claim_run(live.pk)[0]
    assert claimed is not None  # heartbeat fresh: a worker is on it
    assert runner.reap() == {"lost": 0, "requeued": 0}
    assert runner.sync_now(account) == (SyncRun.objects.get(pk=live.pk), False)  # Sync now joins it
    _stop_heartbeat(claimed, settings)
    assert runner.reap()["lost"] == 1
    assert SyncRun.objects.get(pk=live.pk).error_class == "lost"
    assert SyncRun.objects.filter(account=account, trigger=SyncTrigger.RECOVERY, state=SyncState.SUCCEEDED).exists()


def test_heartbeat_keeps_the_run_alive_and_notices_when_it_was_reclaimed(case_of, settings):
    _, account = case_of("didww")
    run = SyncRun.objects.create(account=account)
    claimed, token = sync_service.claim_run(run.pk)
    _stop_heartbeat(claimed, settings)
    assert sync_service.run_is_dead(SyncRun.objects.get(pk=run.pk))
    heartbeat = sync_service.Heartbeat(claimed, token, every=0)
    heartbeat.beat()
    assert not heartbeat.lost and not sync_service.run_is_dead(SyncRun.objects.get(pk=run.pk))
    assert not sync_service.mark_lost(SyncRun.objects.get(pk=run.pk))  # alive again: the reaper backs off
    # A reclaimed lease is noticed: the run stops instead of applying over the new owner.
    ProviderAccount.objects.filter(pk=account.pk).update(sync_lease_token="someone-else")
    heartbeat.beat()
    assert heartbeat.lost


def test_a_run_reclaimed_during_its_apply_rolls_the_apply_back(case_of, settings, monkeypatch):
    case, account = synced(case_of, "didww")
    before = live_ids(account)
    case.add(case.sim)
    real_apply = ingest.apply_inventory

    def apply_then_get_reclaimed(account, inventory, run, **kw):
        stats = real_apply(account, inventory, run, **kw)
        SyncRun.objects.filter(pk=run.pk).update(state=SyncState.FAILED, error_class="lost")  # reaper won
        return stats

    monkeypatch.setattr(ingest, "apply_inventory", apply_then_get_reclaimed)
    run = sync(account)
    # The final compare-and-set found the run no longer ours: the whole apply rolled back (the
    # simulated reclaim with it, as it shared the transaction; a real reaper commits on its own).
    assert run.state != SyncState.SUCCEEDED
    assert live_ids(account) == before  # the new DID was rolled back with the apply


def test_provider_confirming_a_missing_number_clears_its_missing_date(case_of):
    case, account = synced(case_of, "didww")
    client = sync_service.build_client(account)
    inventory = client.fetch_inventory()
    client.close()
    dropped = inventory.numbers.pop()  # a listing that lacks one live number
    ingest.apply_inventory(account, inventory, None, lookups={})  # no answer: missing
    number = PhoneNumber.objects.get(account=account, external_id=dropped.external_id)
    assert number.missing_since is not None
    # Lacking again, but now the provider's lookup says it exists: the date is reset, or it
    # would later age into a removal the provider never confirmed.
    stats = ingest.apply_inventory(account, inventory, None, lookups={dropped.external_id: True})
    number.refresh_from_db()
    assert number.missing_since is None and number.removed_at is None and stats.found == 1
    assert NumberChange.objects.filter(number=number, kind=ChangeKind.FOUND).count() == 1


def test_apply_refuses_when_the_lease_was_taken(case_of):
    case, account = synced(case_of, "didww")
    case.remove(case.sim, random.Random(6))
    client = sync_service.build_client(account)
    inventory = client.fetch_inventory()
    client.close()
    with pytest.raises(ingest.LeaseLost):
        ingest.apply_inventory(account, inventory, None, lease_token="not-the-holder")
    assert live_ids(account) != case.listed(case.sim)  # nothing applied


# -- finding 3: database error during apply -----------------------------------------------------
def test_database_error_during_apply_finishes_the_run_failed(case_of, monkeypatch):
    case, account = synced(case_of, "didww")
    before = live_ids(account)
    case.remove(case.sim, random.Random(7))

    def broken(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(ingest, "apply_inventory", broken)
    run = sync(account)
    assert run.state == SyncState.FAILED and run.error_class == "database"
    account.refresh_from_db()
    assert not account.sync_lease_token and live_ids(account) == before


def test_failed_finish_is_retried_on_a_fresh_connection(settings):
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise OperationalError("terminating connection due to administrator command")

    settings.SYNC_FINISH_ATTEMPTS = 4
    sync_service._on_fresh_connection(flaky)
    assert len(calls) == 3


# -- finding 4: queued runs whose task was lost --------------------------------------------------
def test_queued_run_whose_task_was_lost_is_handed_over_again(case_of, settings):
    case, account = case_of("didww")
    run = SyncRun.objects.create(account=account)  # queued, but its task never reached a worker
    stale = timezone.now() - dt.timedelta(seconds=settings.SYNC_QUEUED_STALE_SECONDS + 5)
    SyncRun.objects.filter(pk=run.pk).update(created_at=stale, enqueued_at=stale)
    counts = runner.reap()
    assert counts["requeued"] == 1
    assert SyncRun.objects.get(pk=run.pk).state == SyncState.SUCCEEDED
    assert live_ids(account) == case.listed(case.sim)


def test_queued_retry_is_not_handed_over_before_it_is_due(case_of, settings):
    _, account = case_of("didww")
    run = SyncRun.objects.create(account=account, not_before=timezone.now() + dt.timedelta(minutes=5))
    SyncRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - dt.timedelta(hours=1))
    assert runner.reap()["requeued"] == 0


# -- finding 5: retry cap per sync, not per account-hour -------------------------------------------
def test_sixth_rate_limit_within_an_hour_is_retried_when_earlier_retries_succeeded(case_of, settings):
    settings.SYNC_DEFAULT_RETRY_AFTER = 0
    case, account = case_of("didww", numbers=40)
    for _ in range(6):  # six separate syncs, each rate limited once, each retry succeeding
        case.sim.faults.rate_limit(retry_after=0, page=1, path=case.numbers_path)
        sync(account)
    assert SyncRun.objects.filter(account=account, state=SyncState.SUCCEEDED).count() == 6
    assert not SyncRun.objects.filter(account=account, state=SyncState.FAILED).exists()


def test_consecutive_rate_limits_of_one_sync_give_up_at_the_cap(case_of, settings):
    settings.SYNC_RATE_LIMIT_RETRIES = 3
    case, account = case_of("didww", numbers=40)
    case.sim.faults.rate_limit(retry_after=0, page=1, path=case.numbers_path, times=None)
    sync(account)
    runs = list(SyncRun.objects.filter(account=account).order_by("pk"))
    assert [r.rate_limit_retries for r in runs] == [0, 1, 2, 3]
    assert [r.state for r in runs[:3]] == [SyncState.RETRY_SCHEDULED] * 3
    assert runs[3].state == SyncState.FAILED and "gave up after 3 retries" in runs[3].error_message
