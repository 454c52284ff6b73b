"""Issue 16 part 5 on the Django side: seed fields that used to stay in raw data are stored, shown,
filterable, sortable and exported; pool memberships keep their date and service; caller IDs keep
history."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from numbersadmin.inventory.models import (CallerId, CallerIdChange, NumberGroup, PhoneNumber, PoolMembership,
                                           ProviderAccount)
from numbersadmin.inventory.services import ingest
from numbersadmin.inventory.services.accounts import account_create
from providers.base import (CallerIdRecord, Inventory, LocationRecord, NumberGroupRecord, NumberRecord, OwnerRecord,
                            PoolMembershipRecord)
from providers.simulators.registry import demo_secrets, simulator

from .support.helpers import export_rows, sync

pytestmark = pytest.mark.django_db(transaction=True)
UTC = dt.timezone.utc
ADDED = dt.datetime(2025, 3, 4, 10, 0, tzinfo=UTC)


def account(provider: str, name: str) -> ProviderAccount:
    return ProviderAccount.objects.create(provider=provider, name=name, base_url="https://example.invalid/")


def did(ext: str, number: str, **kw) -> NumberRecord:
    return NumberRecord(external_id=ext, number=number, e164="+" + number, country_code="DE", **kw)


@pytest.fixture
def didww_like():
    acct = account("didww", "DW")
    ingest.apply_inventory(acct, Inventory(numbers=[
        did("a", "4930901820", will_renew=False, billing_cycles_count=0, emergency_enabled=True, capacity_limit=2,
            channels_included_count=2, dedicated_channels_count=0),
        did("b", "4930901821", will_renew=True, billing_cycles_count=5, emergency_enabled=False, capacity_limit=10,
            channels_included_count=0, dedicated_channels_count=3),
        did("c", "4930901822", will_renew=True, billing_cycles_count=None),
        did("d", "4930901823"),  # a provider that does not say: unknown
    ], complete=True))
    return acct


def e164s(client, query: str) -> list[str]:
    body = client.get(f"/numbers/?{query}").content.decode()
    return re.findall(r'class="num">([^<]+)</a>', body)


def test_fields_stored_and_alert_query(didww_like):
    a = PhoneNumber.objects.get(external_id="a")
    assert (a.will_renew, a.billing_cycles_count, a.emergency_enabled, a.capacity_limit, a.channels_included_count,
            a.dedicated_channels_count) == (False, 0, True, 2, 2, 0)
    # the alert rule "number_not_renewing" queries exactly this
    assert list(PhoneNumber.objects.filter(will_renew=False, removed_at__isnull=True)
                .values_list("external_id", flat=True)) == ["a"]


def test_will_renew_change_is_history(didww_like):
    ingest.apply_inventory(didww_like, Inventory(numbers=[
        did("a", "4930901820", will_renew=True, billing_cycles_count=3),
        did("b", "4930901821", will_renew=True, billing_cycles_count=5, emergency_enabled=False, capacity_limit=10,
            channels_included_count=0, dedicated_channels_count=3),
        did("c", "4930901822", will_renew=True), did("d", "4930901823")], complete=True))
    changes = {c.field: (c.old_value, c.new_value) for c in PhoneNumber.objects.get(external_id="a").changes.all()}
    assert changes["will_renew"] == ("False", "True") and changes["billing_cycles_count"] == ("0", "3")


def test_numbers_list_filters(ops_client, didww_like):
    assert e164s(ops_client, "renews=no") == ["+4930901820"]
    assert e164s(ops_client, "renews=yes") == ["+4930901821", "+4930901822"]
    assert e164s(ops_client, "renews=unknown") == ["+4930901823"]
    assert e164s(ops_client, "billing_cycles=zero") == ["+4930901820"]
    assert e164s(ops_client, "billing_cycles=limited") == ["+4930901821"]
    assert e164s(ops_client, "billing_cycles=unlimited") == ["+4930901822"]
    assert e164s(ops_client, "emergency=yes") == ["+4930901820"]
    assert e164s(ops_client, "emergency=unknown") == ["+4930901822", "+4930901823"]
    bad = ops_client.get("/numbers/?renews=maybe&billing_cycles=%00")
    assert bad.status_code == 200  # bad input is a form error, never a 500


@pytest.mark.parametrize("key", ["billing_cycles", "capacity_limit", "channels_included", "dedicated_channels",
                                 "will_renew", "emergency"])
def test_new_columns_sort_with_empty_values_last(ops_client, didww_like, key):
    cols = f"e164,{key}"
    up = e164s(ops_client, f"cols={cols}&sort={key}")
    down = e164s(ops_client, f"cols={cols}&sort=-{key}")
    empty = {"+4930901823"} if key == "will_renew" else {"+4930901822", "+4930901823"}
    assert set(up[-len(empty):]) == set(down[-len(empty):]) == empty  # NULLs last both ways
    assert sorted(up) == sorted(down) == ["+4930901820", "+4930901821", "+4930901822", "+4930901823"]
    if key == "billing_cycles":
        assert up[:2] == ["+4930901820", "+4930901821"] and down[:2] == ["+4930901821", "+4930901820"]


def test_number_page_shows_renewal_and_didww_fields(ops_client, didww_like):
    a = PhoneNumber.objects.get(external_id="a")
    body = ops_client.get(f"/numbers/{a.pk}/").content.decode()
    assert re.search(r'id="number-will-renew"><strong>no</strong>', body)
    assert 'id="number-billing-cycles">0 (will not renew)' in body
    assert 'id="number-emergency">yes' in body
    assert "capacity limit 2 · included 2 · dedicated 0" in body
    d = PhoneNumber.objects.get(external_id="d")
    assert 'id="number-will-renew">unknown' in ops_client.get(f"/numbers/{d.pk}/").content.decode()


def test_csv_export_carries_the_new_columns(ops_client, didww_like):
    text = b"".join(ops_client.get("/numbers/?export=csv&columns=all").streaming_content).decode()
    rows = {r["e164"]: r for r in export_rows(text)}
    a = rows["+4930901820"]
    assert (a["will_renew"], a["billing_cycles_count"], a["emergency_enabled"], a["capacity_limit"],
            a["channels_included_count"], a["dedicated_channels_count"]) == ("no", "0", "yes", "2", "2", "0")
    assert rows["+4930901823"]["will_renew"] == ""  # unknown stays empty


# -- Plivo pools ---------------------------------------------------------------------------


def pooled(ext: str, *memberships: PoolMembershipRecord, **kw) -> NumberRecord:
    return NumberRecord(external_id=ext, number=ext, e164="+" + ext, country_code="US",
                        pool_ids=tuple(m.pool_id for m in memberships), pool_memberships=memberships, **kw)


@pytest.fixture
def plivo_like():
    acct = account("plivo", "PL")
    groups = [NumberGroupRecord("p1", "Alpha pack", group_type="number_pool", features=("sms",)),
              NumberGroupRecord("p2", "Beta pack", group_type="number_pool")]
    numbers = [pooled("14155550100", PoolMembershipRecord("p1", ADDED, "sms", "number"),
                      PoolMembershipRecord("p2", None, "", "tollfree")),
               pooled("14155550101"), pooled("54321", PoolMembershipRecord("p2", ADDED, "", "shortcode"))]
    ingest.apply_inventory(acct, Inventory(numbers=numbers, groups=groups, complete=True))
    return acct, groups, numbers


def test_pool_memberships_keep_date_service_and_list(plivo_like):
    acct, groups, numbers = plivo_like
    n = PhoneNumber.objects.get(external_id="14155550100")
    assert sorted(g.name for g in n.pools.all()) == ["Alpha pack", "Beta pack"]  # the M2M still works
    ms = {m.numbergroup.external_id: m for m in PoolMembership.objects.filter(phonenumber=n)}
    assert (ms["p1"].added_on, ms["p1"].service, ms["p1"].member_type) == (ADDED, "sms", "number")
    assert (ms["p2"].added_on, ms["p2"].member_type) == (None, "tollfree")
    # a changed service or date is updated in place; a membership the provider dropped is deleted
    numbers[0] = pooled("14155550100", PoolMembershipRecord("p1", ADDED, "mms", "number"))
    ingest.apply_inventory(acct, Inventory(numbers=numbers, groups=groups, complete=True))
    assert list(PoolMembership.objects.filter(phonenumber=n).values_list("numbergroup__external_id", "service")) == [
        ("p1", "mms")]


def test_pools_on_number_page_list_and_export(ops_client, plivo_like):
    n = PhoneNumber.objects.get(external_id="14155550100")
    body = ops_client.get(f"/numbers/{n.pk}/").content.decode()
    pools = body[body.index('id="number-pools"'):]
    pools = pools[:pools.index("</dd>")]
    assert "Alpha pack" in pools and "service SMS" in pools and "Beta pack" in pools and "toll-free" in pools
    assert "Mar" in pools or "2025" in pools  # added_on shown
    listing = ops_client.get("/numbers/?cols=e164,pools").content.decode()
    assert re.search(r'title="sms, added 2025-03-04">Alpha pack</a>', listing)
    text = b"".join(ops_client.get("/numbers/?export=csv&cols=e164,pools").streaming_content).decode()
    rows = {r["e164"]: r for r in export_rows(text)}
    assert rows["+14155550100"]["pools"] == "Alpha pack (sms, added 2025-03-04); Beta pack (tollfree, added ?)"
    assert rows["+14155550101"]["pools"] == ""
    pool = NumberGroup.objects.get(external_id="p2")
    detail = ops_client.get(f"/groups/{pool.pk}/").content.decode()
    assert 'id="pool-members"' in detail and "short code" in detail and "toll-free" in detail
    groups = ops_client.get("/groups/?cols=name,services").content.decode()
    assert re.search(r">Alpha pack</a></td>\s*<td[^>]*>sms</td>", groups)


def test_pool_summary_sql_matches_python(plivo_like):
    """The COPY export's SQL (pool_summaries_sql, PostgreSQL) says what the Python path says: each
    entry here on any database, the ordered aggregate on PostgreSQL only."""
    from django.db import connection

    from numbersadmin.inventory.selectors import _pool_entry, pool_entry_sql, pool_summaries, pool_summaries_sql

    entries = PoolMembership.objects.annotate(e=pool_entry_sql()).select_related("numbergroup")
    assert {m.e for m in entries} == {_pool_entry(m.numbergroup.name, m.service, m.member_type, m.added_on)
                                      for m in entries}
    if connection.vendor == "postgresql":
        qs = PhoneNumber.objects.annotate(s=pool_summaries_sql()).values_list("pk", "s")
        python = pool_summaries(list(PhoneNumber.objects.values_list("pk", flat=True)))
        assert {pk: s or "" for pk, s in qs} == {pk: python.get(pk, "") for pk, _ in qs}


def test_plivo_sync_stores_tollfree_and_shortcode_members():
    sim = simulator("plivo", numbers=30, seed=4)
    sim.start()
    try:
        pool = sim.pool_uuid(sim.powerpacks[0])
        sim.add_shortcode_to_pool(pool, "24680")
        acct = account_create(provider="plivo", name="Plivo", base_url=sim.base_url, secrets=demo_secrets("plivo"))
        assert sync(acct).state == "succeeded"
        short = PhoneNumber.objects.get(account=acct, external_id="24680")
        m = PoolMembership.objects.get(phonenumber=short)
        assert m.numbergroup.external_id == pool and m.member_type == "shortcode" and m.added_on is not None
        assert PoolMembership.objects.filter(phonenumber__account=acct, member_type="number").exclude(service="").exists()
    finally:
        sim.stop()


# -- caller IDs ----------------------------------------------------------------------------


@pytest.fixture
def caller_ids():
    vox = account("voximplant", "VX")
    ingest.apply_inventory(vox, Inventory(caller_ids=[
        CallerIdRecord("1", "4930901830", "+4930901830", True, dt.date(2031, 1, 1), 0, 2),
        CallerIdRecord("2", "4930901831", "+4930901831", True, dt.date(2031, 1, 1), 4, 0),
        CallerIdRecord("3", "4930901832", "+4930901832", False, None, None, None),
    ], complete=True))
    wx = account("webex", "WX")
    ingest.apply_inventory(wx, Inventory(
        locations=[LocationRecord("L-own", "Berlin office", kind="site"), LocationRecord("L-q", "Queried", kind="site")],
        owners=[OwnerRecord("O1", "Hunt group A", owner_type="HUNT_GROUP")],
        caller_ids=[CallerIdRecord("L-q:+4930901840", "+4930901840", "+4930901840", True, kind="location_candidate",
                                   location_id="L-own", listed_for_location_id="L-q", owner_id="O1",
                                   is_main_number=True, toll_free_number=False,
                                   is_service_number=True)],
        complete=True))
    return vox, wx


def cid_list(client, query: str) -> list[str]:
    body = client.get(f"/caller-ids/?{query}").content.decode()
    return re.findall(r'class="num">([^<]+)</a>', body)


def test_caller_id_attempt_filters_and_sorts(ops_client, caller_ids):
    assert cid_list(ops_client, "code_attempts=none") == ["+4930901830"]
    assert cid_list(ops_client, "code_attempts=some") == ["+4930901831"]
    assert cid_list(ops_client, "call_attempts=none") == ["+4930901831"]
    assert cid_list(ops_client, "call_attempts=some") == ["+4930901830"]
    assert "+4930901832" in cid_list(ops_client, "code_attempts=unknown")
    assert cid_list(ops_client, "account=%d&sort=code_attempts" % caller_ids[0].pk) == [
        "+4930901830", "+4930901831", "+4930901832"]
    assert cid_list(ops_client, "account=%d&sort=-call_attempts" % caller_ids[0].pk) == [
        "+4930901830", "+4930901831", "+4930901832"]  # NULL last both ways
    assert ops_client.get("/caller-ids/?code_attempts=lots").status_code == 200


def test_candidate_location_owner_and_flags(ops_client, caller_ids):
    candidate = CallerId.objects.get(kind="location_candidate")
    assert candidate.location.external_id == "L-own" and candidate.owner.name == "Hunt group A"
    assert (candidate.is_main_number, candidate.toll_free_number, candidate.is_service_number) == (True, False, True)
    assert cid_list(ops_client, f"location={candidate.location_id}") == ["+4930901840"]
    assert cid_list(ops_client, "main_number=yes") == ["+4930901840"]
    assert cid_list(ops_client, "service_number=yes") == ["+4930901840"]
    assert cid_list(ops_client, "toll_free=yes") == []
    body = ops_client.get("/caller-ids/?cols=e164,location,candidate_owner").content.decode()
    assert "Berlin office" in body and "Hunt group A" in body
    # the location page lists the candidates it may present (its list), not those living there
    assert candidate.listed_for.external_id == "L-q"
    queried = ops_client.get(f"/locations/{candidate.listed_for_id}/").content.decode()
    own = ops_client.get(f"/locations/{candidate.location_id}/").content.decode()
    assert 'id="caller-id-candidates"' in queried and 'id="caller-id-candidates"' not in own


def test_caller_id_changes_leave_history_on_its_page(ops_client, caller_ids):
    vox = caller_ids[0]
    ingest.apply_inventory(vox, Inventory(caller_ids=[
        CallerIdRecord("1", "4930901830", "+4930901830", True, dt.date(2032, 6, 30), 3, 2),
        CallerIdRecord("2", "4930901831", "+4930901831", True, dt.date(2031, 1, 1), 4, 0),
        CallerIdRecord("3", "4930901832", "+4930901832", False, None, None, None),
    ], complete=True))
    first = CallerId.objects.get(account=vox, external_id="1")
    changes = {c.field: (c.old_value, c.new_value) for c in CallerIdChange.objects.filter(caller_id=first)}
    assert changes == {"verified_until": ("2031-01-01", "2032-06-30"), "code_entering_attempts_left": ("0", "3")}
    assert not CallerIdChange.objects.exclude(caller_id=first).exists()
    body = ops_client.get(f"/caller-ids/{first.pk}/").content.decode()
    history = body[body.index('id="callerid-history"'):]
    assert "Verified until" in history and "2032-06-30" in history and "verified_until" not in history
    assert f'href="/caller-ids/{first.pk}/"' in ops_client.get("/caller-ids/").content.decode()
    assert ops_client.get("/caller-ids/999999/").status_code == 404


def test_migration_backfills_from_stored_raw_payloads():
    """Rows stored before 0011 get the new fields from their raw payloads, so the next sync
    finds them equal (no history row per number)."""
    import importlib

    from django.apps import apps

    dw, vx = account("didww", "DW old"), account("voximplant", "VX old")
    rows = {
        "z": PhoneNumber.objects.create(account=dw, provider="didww", external_id="z", number_raw="1", raw={
            "attributes": {"billing_cycles_count": 0, "emergency_enabled": True, "capacity_limit": 4,
                           "channels_included_count": 1, "dedicated_channels_count": 0}}),
        "u": PhoneNumber.objects.create(account=dw, provider="didww", external_id="u", number_raw="2", raw={
            "attributes": {"billing_cycles_count": None}}),
        "v": PhoneNumber.objects.create(account=vx, provider="voximplant", external_id="v", number_raw="3",
                                        raw={"auto_charge": True, "canceled": True}),
        "w": PhoneNumber.objects.create(account=vx, provider="voximplant", external_id="w", number_raw="4",
                                        raw={"auto_charge": True, "canceled": False, "deactivated": False}),
    }
    importlib.import_module("numbersadmin.inventory.migrations.0011_seed_fields").backfill(apps, None)
    got = {k: PhoneNumber.objects.get(pk=o.pk) for k, o in rows.items()}
    assert (got["z"].will_renew, got["z"].billing_cycles_count, got["z"].emergency_enabled, got["z"].capacity_limit,
            got["z"].channels_included_count, got["z"].dedicated_channels_count) == (False, 0, True, 4, 1, 0)
    assert (got["u"].will_renew, got["u"].billing_cycles_count) == (True, None)
    assert (got["v"].will_renew, got["w"].will_renew) == (False, True)
