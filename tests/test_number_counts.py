"""NumberCount (the dashboard's totals) stays equal to a GROUP BY of the numbers table whatever
writes the numbers: syncs (added, changed, removed, held and confirmed removals, restored), the
ORM (create, bulk_create, update, bulk_update, delete), raw SQL, account archive / delete. And
every dashboard figure still equals the count of the list it links to."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.http import QueryDict
from django.utils import timezone

from numbersadmin.inventory import selectors
from numbersadmin.inventory.choices import NumberStatus
from numbersadmin.inventory.models import NumberCount, PhoneNumber, SyncRun
from numbersadmin.inventory import counts
from numbersadmin.inventory.services import accounts, ingest
from numbersadmin.inventory.services.sync import confirm_held_removals

from .support.helpers import sync

# transaction=True: the flush between tests empties both tables in some order; the next test
# starting from zero counts checks that order cannot leave stale or negative counts behind.
pytestmark = pytest.mark.django_db(transaction=True)


def list_count(query: str) -> int:
    return selectors.number_list(QueryDict(query)).qs.count()


def assert_exact():
    assert counts.drift() == {}
    figures = selectors.dashboard_figures()
    assert figures.live_numbers == list_count("")
    for provider, n in figures.by_provider.items():
        assert n == list_count(f"provider={provider}"), provider
    for status, _ in NumberStatus.choices:
        assert figures.by_status.get(status, 0) == list_count(f"status={status}"), status
    for country, n in figures.by_country.items():
        if country:
            assert n == list_count(f"country={country}"), country
    for account in figures.accounts:
        assert account.number_count == list_count(f"account={account.pk}"), account.name
    assert figures.numbers_expiring == list_count(f"expires_within={figures.expiry_days}")
    assert figures.numbers_expiring == selectors.numbers_expiring_count(figures.expiry_days)  # no accounts given


def test_counts_start_empty():
    assert not NumberCount.objects.exclude(n=0).exists()


def test_random_writes_through_every_writer_keep_counts_exact(didww_account, didww_sim):
    rng = random.Random(18)
    assert sync(didww_account).state == "succeeded"
    assert_exact()
    other = accounts.account_create(provider="didww", name="DIDWW second", base_url=didww_sim.base_url,
                                    secrets={"api_key": "sim-key-0123456789"})
    assert sync(other).state == "succeeded"
    assert_exact()

    def numbers(k):
        return rng.sample(list(PhoneNumber.objects.values_list("pk", flat=True)), k)

    def resync_with_changes():
        for did in rng.sample(didww_sim.dids, 3):
            didww_sim.remove_did(did["id"])
        didww_sim.add_dids(rng.randint(1, 4))
        did = rng.choice(didww_sim.dids)
        didww_sim.update_did(did["id"], terminated=not did["terminated"])
        sync(didww_account)

    def held_then_confirmed():
        for did in list(didww_sim.dids[:100]):
            didww_sim.remove_did(did["id"])
        run = sync(didww_account)
        assert run.state == "needs_review"
        assert_exact()
        confirm_held_removals(run)

    def mark_removed():
        run = SyncRun.objects.create(account=didww_account)
        pks = list(PhoneNumber.objects.filter(account=didww_account, removed_at__isnull=True)
                   .values_list("pk", flat=True)[:5])
        ingest.mark_removed(didww_account, pks, run, timezone.now(), [])

    def orm_create():
        PhoneNumber.objects.create(account=didww_account, provider="didww", external_id=f"x{rng.random()}",
                                   number_raw="1", country=rng.choice(["US", "DE", ""]))

    def orm_bulk_create():
        PhoneNumber.objects.bulk_create([
            PhoneNumber(account=rng.choice([didww_account, other]), provider="didww", external_id=f"b{rng.random()}",
                        number_raw="1", country=rng.choice(["GB", "FR"]), status=rng.choice(NumberStatus.values),
                        removed_at=rng.choice([None, timezone.now()])) for _ in range(rng.randint(1, 20))])

    def orm_update():
        field = rng.choice(["status", "country", "removed_at", "description"])
        value = {"status": rng.choice(NumberStatus.values), "country": rng.choice(["US", "GB", ""]),
                 "removed_at": rng.choice([None, timezone.now()]), "description": "x"}[field]
        PhoneNumber.objects.filter(pk__in=numbers(rng.randint(1, 30))).update(**{field: value})
        # Another account (a fresh external id: both accounts list the same simulator's DIDs).
        PhoneNumber.objects.filter(pk=numbers(1)[0]).update(account=rng.choice([didww_account, other]),
                                                            external_id=f"m{rng.random()}")

    def orm_bulk_update():
        rows = list(PhoneNumber.objects.filter(pk__in=numbers(10)))
        for row in rows:
            row.status, row.country = rng.choice(NumberStatus.values), rng.choice(["US", "CA", "JP"])
        PhoneNumber.objects.bulk_update(rows, ["status", "country"])

    def orm_save_and_delete():
        row = PhoneNumber.objects.get(pk=numbers(1)[0])
        row.removed_at = None if row.removed_at else timezone.now()
        row.save()
        PhoneNumber.objects.filter(pk__in=numbers(3)).delete()

    def raw_sql():
        with connection.cursor() as cur:
            cur.execute("UPDATE inventory_phonenumber SET status = %s WHERE id IN (%s, %s)",
                        [rng.choice(NumberStatus.values), *numbers(2)])

    def archive_and_back():
        accounts.account_archive(other)
        assert_exact()
        accounts.account_unarchive(other)

    steps = [resync_with_changes, mark_removed, orm_create, orm_bulk_create, orm_update, orm_bulk_update,
             orm_save_and_delete, raw_sql, archive_and_back]
    for step in [held_then_confirmed] + [rng.choice(steps) for _ in range(30)]:
        step()
        assert_exact()
    accounts.account_archive(other)
    assert_exact()
    accounts.account_delete(other, confirm_name=other.name)
    assert_exact()
    assert not NumberCount.objects.filter(account_id=other.pk).exists()


def test_check_finds_drift_and_rebuild_repairs_it(didww_account, didww_sim, capsys):
    sync(didww_account)
    call_command("number_counts", "--check")
    NumberCount.objects.filter(pk=NumberCount.objects.order_by("pk").first().pk).update(n=12345)
    with pytest.raises(CommandError, match="differ"):
        call_command("number_counts", "--check")
    call_command("number_counts", "--rebuild")
    call_command("number_counts", "--check")
    assert "match" in capsys.readouterr().out
    assert_exact()


LIST_QUERIES = ["", "country=US&status=active", "status=removed", "removed=only", "removed=all", "archived=only",
                "archived=include", "provider=didww", "status=active&removed=all", "country=", "kind=local",
                "country=null", "q=1", "trunk=null", "expires_within=30", "status=active&kind=local"]


def test_list_counts_from_number_count_equal_count(didww_account, didww_sim):
    from numbersadmin.inventory.pagination import count_rows

    sync(didww_account)
    PhoneNumber.objects.filter(pk__in=PhoneNumber.objects.values("pk")[:7]).update(removed_at=timezone.now())
    archived = accounts.account_create(provider="didww", name="archived", base_url=didww_sim.base_url,
                                       secrets={"api_key": "sim-key-0123456789"})
    sync(archived)
    accounts.account_archive(archived)
    answered = set()
    for query in LIST_QUERIES + [f"account={didww_account.pk}", f"account={archived.pk}&status=active"]:
        qs = selectors.number_list(QueryDict(query)).qs
        if counts.kept_count(qs) is not None:
            answered.add(query)
        assert count_rows(qs) == (qs.count(), False), query
    # The numbers list's defaults and every dashboard link are answered without a scan.
    assert {"", "country=US&status=active", "status=removed", "provider=didww", f"account={didww_account.pk}"} <= answered
    assert not answered & {"kind=local", "country=null", "q=1", "trunk=null", "expires_within=30"}


def test_a_stand_in_for_the_numbers_table_is_never_answered_from_the_counts(didww_account, didww_sim):
    """A query whose FROM is not the live table (e.g. the numbers "as of" a past moment, rebuilt
    from history) keeps the live table's alias and columns: its filter alone must not decide."""
    from django.db.models.sql.datastructures import BaseTable

    class StandIn(BaseTable):
        pass

    sync(didww_account)
    qs = selectors.number_list(QueryDict("status=active")).qs
    assert counts.kept_count(qs) is not None
    alias = qs.query.get_initial_alias()
    qs.query.alias_map[alias] = StandIn(PhoneNumber._meta.db_table, alias)
    assert counts.kept_count(qs) is None


@pytest.mark.parametrize("estimate", [None, 1, 10**9], ids=["no-estimate", "few-inside", "most-inside"])
def test_expiring_count_is_exact_whichever_side_is_counted(didww_account, didww_sim, monkeypatch, estimate):
    sync(didww_account)
    now = timezone.now()
    pks = list(PhoneNumber.objects.order_by("pk").values_list("pk", flat=True))
    for part, expires_at in enumerate([now + timedelta(days=5), now + timedelta(days=60), None, now - timedelta(days=1),
                                       now + timedelta(days=29)]):
        PhoneNumber.objects.filter(pk__in=pks[part::5]).update(expires_at=expires_at)
    archived = accounts.account_create(provider="didww", name="archived", base_url=didww_sim.base_url,
                                       secrets={"api_key": "sim-key-0123456789"})
    sync(archived)
    PhoneNumber.objects.filter(account=archived).update(expires_at=now + timedelta(days=5))  # not counted
    accounts.account_archive(archived)
    expected = list_count("expires_within=30")
    assert 0 < expected < list_count("")
    monkeypatch.setattr(selectors, "estimate_rows", lambda qs: estimate)
    assert selectors.numbers_expiring_count(30, accounts=list(selectors.account_list())) == expected


def test_lost_triggers_are_put_back_after_migrate_and_the_counts_recounted(didww_account, didww_sim):
    """SQLite rebuilds a table for many schema changes, and dropping a table drops its triggers."""
    sync(didww_account)
    assert counts.ensure_triggers() is False  # all there: nothing to do
    with connection.cursor() as cur:
        cur.execute("DROP TRIGGER inventory_numbercount_upd" + (" ON inventory_phonenumber"
                                                               if connection.vendor == "postgresql" else ""))
    assert counts.triggers_missing(connection)
    PhoneNumber.objects.filter(pk__in=PhoneNumber.objects.values("pk")[:3]).update(status=NumberStatus.SUSPENDED)
    assert counts.drift()  # unmaintained meanwhile
    assert counts.ensure_triggers() is True
    assert not counts.triggers_missing(connection) and counts.drift() == {}
    PhoneNumber.objects.filter(pk__in=PhoneNumber.objects.values("pk")[3:6]).update(status=NumberStatus.SUSPENDED)
    assert_exact()

