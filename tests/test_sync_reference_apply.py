"""The apply step for reference rows (locations, owners, caller IDs, trunks, groups; issue 18):
stored rows are diffed as plain values and new ones COPYed on PostgreSQL, bulk_create on
SQLite. Same rows, same history, no rewrite of unchanged rows, on both databases
(tests/integration/test_sync_postgres.py runs this file on PostgreSQL)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from unittest import mock

import pytest
from django.db import connection

from numbersadmin.inventory.choices import ChangeKind
from numbersadmin.inventory.models import (CallerId, CallerIdChange, Location, LocationChange, NumberGroup, Owner,
                                           OwnerChange, PhoneNumber, PoolMembership, ProviderAccount, Trunk,
                                           TrunkGroup)
from numbersadmin.inventory.services import ingest
from providers.base import (CallerIdRecord, Inventory, LocationRecord, NumberGroupRecord, NumberRecord, OwnerRecord,
                            PoolMembershipRecord, TrunkGroupRecord, TrunkRecord)
from providers.redaction import REDACTED

pytestmark = pytest.mark.django_db(transaction=True)
UTC = dt.timezone.utc
T1, T2, T3, T4 = (dt.datetime(2026, 5, day, 9, 0, tzinfo=UTC) for day in (1, 2, 3, 4))
MODELS = (Location, Owner, CallerId, Trunk, TrunkGroup, NumberGroup)


def apply(account, at, **listing):
    with mock.patch("numbersadmin.inventory.services.ingest.timezone.now", return_value=at):
        return ingest.apply_inventory(account, Inventory(complete=True, **listing))


def versions(model, account) -> dict[str, tuple]:
    """external_id -> the row's version: (xmin, ctid) on PostgreSQL, the whole row elsewhere."""
    if connection.vendor != "postgresql":
        return {r["external_id"]: tuple(sorted(r.items())) for r in model.objects.filter(account=account).values()}
    with connection.cursor() as cur:
        cur.execute(f"SELECT external_id, xmin::text, ctid::text FROM {model._meta.db_table} WHERE account_id = %s",
                    [account.pk])
        return {ext: (xmin, ctid) for ext, xmin, ctid in cur.fetchall()}


def all_versions(account) -> dict:
    return {model.__name__: versions(model, account) for model in MODELS}


def history() -> set[tuple]:
    rows = set()
    for model, subject in ((LocationChange, "location"), (OwnerChange, "owner"), (CallerIdChange, "caller_id")):
        for change in model.objects.select_related(subject):
            rows.add((subject, getattr(change, subject).external_id, change.kind, change.field, change.old_value,
                      change.new_value, change.at))
    return rows


def listing(owner_name="Hunt group A", owner_location="L1", cid_active=True, l1_name="Berlin office",
            owners=("O1", "O2", "O3"), cids=("L2:+4930901840", "L2:+4930901841", "L2:+4930901842")):
    locations = [LocationRecord("L1", l1_name, kind="site", country_code="DE", city="Berlin",
                                raw={"id": "L1", "orgId": "secret-org", "name": l1_name}),
                 LocationRecord("L2", "Queried", kind="site", country_code="DE", raw={"orgId": "secret-org"})]
    all_owners = {"O1": OwnerRecord("O1", owner_name, owner_type="HUNT_GROUP", location_id=owner_location,
                                    raw={"id": "O1", "displayName": owner_name}),
                  "O2": OwnerRecord("O2", "Ada Lovelace", owner_type="PEOPLE", first_name="Ada", last_name="Lovelace"),
                  "O3": OwnerRecord("O3", "Reception", owner_type="PLACE", location_id="L2"),
                  "O4": OwnerRecord("O4", "Night line", owner_type="VIRTUAL_LINE")}
    all_cids = {ext: CallerIdRecord(ext, ext.split(":")[1], ext.split(":")[1],
                                    cid_active if ext.endswith("40") else True, kind="location_candidate",
                                    location_id="L1", listed_for_location_id="L2", owner_id="O1",
                                    is_main_number=ext.endswith("40"), toll_free_number=False,
                                    is_service_number=False, raw={"phoneNumber": ext.split(":")[1], "orgId": "x"})
                for ext in ("L2:+4930901840", "L2:+4930901841", "L2:+4930901842", "L2:+4930901843")}
    return {"locations": locations, "owners": [all_owners[o] for o in owners], "caller_ids": [all_cids[c] for c in cids],
            "trunk_groups": [TrunkGroupRecord("TG1", "Group one", capacity_limit=4)],
            "trunks": [TrunkRecord("T1", "Trunk one", kind="sip", trunk_group_id="TG1")],
            "groups": [NumberGroupRecord("G1", "Berlin DIDs", prefix="30", features=("voice", "sms"), location_id="L1")]}


@pytest.fixture
def webex():
    return ProviderAccount.objects.create(provider="webex", name="WX", base_url="https://example.invalid/")


def test_first_apply_writes_every_reference_row_without_history(webex):
    apply(webex, T1, **listing())
    l1, l2 = Location.objects.get(external_id="L1"), Location.objects.get(external_id="L2")
    assert (l1.name, l1.kind, l1.country_code, l1.city, l1.first_seen, l1.last_seen, l1.removed_at) == (
        "Berlin office", "site", "DE", "Berlin", T1, T1, None)
    assert l1.raw == {"id": "L1", "orgId": REDACTED, "name": "Berlin office"}  # redacted, stored as JSON
    owner = Owner.objects.get(external_id="O1")
    assert (owner.name, owner.owner_type, owner.location_id, owner.raw) == (
        "Hunt group A", "HUNT_GROUP", l1.pk, {"id": "O1", "displayName": "Hunt group A"})
    ada = Owner.objects.get(external_id="O2")
    assert (ada.first_name, ada.last_name, ada.location_id, ada.raw) == ("Ada", "Lovelace", None, {})
    cid = CallerId.objects.get(external_id="L2:+4930901840")
    assert (cid.e164, cid.digits, cid.national_digits, cid.country, cid.kind, cid.active) == (
        "+4930901840", "4930901840", "30901840", "DE", "location_candidate", True)
    assert (cid.location_id, cid.listed_for_id, cid.owner_id) == (l1.pk, l2.pk, owner.pk)
    assert (cid.is_main_number, cid.toll_free_number, cid.is_service_number) == (True, False, False)
    assert cid.raw == {"phoneNumber": "+4930901840", "orgId": REDACTED}
    assert (cid.first_seen, cid.last_seen, cid.removed_at, cid.verified_until) == (T1, T1, None, None)
    trunk, group = Trunk.objects.get(external_id="T1"), NumberGroup.objects.get(external_id="G1")
    assert trunk.trunk_group == TrunkGroup.objects.get(external_id="TG1") and trunk.trunk_group.capacity_limit == 4
    assert (group.features, group.location_id, group.prefix) == (["voice", "sms"], l1.pk, "30")
    assert (Owner.objects.count(), CallerId.objects.count()) == (3, 3)
    assert history() == set()


def test_changes_removals_and_restores_leave_the_same_history(webex):
    apply(webex, T1, **listing())
    l1, l2 = (Location.objects.get(external_id=e).pk for e in ("L1", "L2"))
    o1 = Owner.objects.get(external_id="O1").pk
    before = all_versions(webex)
    # O1 renamed and moved, O2 gone, O4 new; one caller ID inactive, one gone; L1 renamed.
    apply(webex, T2, **listing(owner_name="Hunt group B", owner_location="L2", cid_active=False, l1_name="Berlin HQ",
                               owners=("O1", "O3", "O4"), cids=("L2:+4930901840", "L2:+4930901841")))
    assert history() == {
        ("owner", "O1", ChangeKind.CHANGED, "name", "Hunt group A", "Hunt group B", T2),
        ("owner", "O1", ChangeKind.CHANGED, "location_id", str(l1), str(l2), T2),
        ("owner", "O2", ChangeKind.REMOVED, "", "", "", T2),
        ("caller_id", "L2:+4930901840", ChangeKind.CHANGED, "active", "True", "False", T2),
        ("caller_id", "L2:+4930901842", ChangeKind.REMOVED, "", "", "", T2),
        ("location", "L1", ChangeKind.CHANGED, "name", "Berlin office", "Berlin HQ", T2),
    }
    owners = {o.external_id: o for o in Owner.objects.all()}
    assert (owners["O1"].name, owners["O1"].location_id, owners["O1"].last_seen, owners["O1"].first_seen) == (
        "Hunt group B", l2, T2, T1)
    assert owners["O1"].raw == {"id": "O1", "displayName": "Hunt group B"}
    assert (owners["O2"].removed_at, owners["O2"].last_seen) == (T2, T1)
    assert (owners["O3"].last_seen, owners["O4"].first_seen, owners["O4"].last_seen) == (T1, T2, T2)
    assert CallerId.objects.get(external_id="L2:+4930901840").active is False
    assert CallerId.objects.get(external_id="L2:+4930901842").removed_at == T2
    after = all_versions(webex)
    # Only the rows that changed got a new version.
    assert {ext for ext, v in after["Owner"].items() if before["Owner"].get(ext) != v} == {"O1", "O2", "O4"}
    assert {ext for ext, v in after["CallerId"].items() if before["CallerId"].get(ext) != v} == {
        "L2:+4930901840", "L2:+4930901842"}
    assert {ext for ext, v in after["Location"].items() if before["Location"].get(ext) != v} == {"L1"}
    for name in ("Trunk", "TrunkGroup", "NumberGroup"):
        assert after[name] == before[name]

    # O2 and the caller ID are listed again: restored, with one RESTORED event each.
    apply(webex, T3, **listing(owner_name="Hunt group B", owner_location="L2", cid_active=False, l1_name="Berlin HQ",
                               owners=("O1", "O2", "O3", "O4"),
                               cids=("L2:+4930901840", "L2:+4930901841", "L2:+4930901842")))
    assert {row for row in history() if row[-1] == T3} == {
        ("owner", "O2", ChangeKind.RESTORED, "", "", "", T3),
        ("caller_id", "L2:+4930901842", ChangeKind.RESTORED, "", "", "", T3),
    }
    assert (Owner.objects.get(external_id="O2").removed_at, Owner.objects.get(external_id="O2").last_seen) == (None, T3)
    assert CallerId.objects.get(external_id="L2:+4930901842").removed_at is None


def test_unchanged_listing_writes_no_reference_row(webex):
    apply(webex, T1, **listing())
    before, events = all_versions(webex), history()
    apply(webex, T4, **listing())
    assert all_versions(webex) == before
    assert history() == events == set()


def test_new_numbers_point_at_copied_reference_rows_and_pools(webex):
    """Numbers and pool memberships written in the same apply as their new reference rows."""
    records = [NumberRecord(external_id=f"n{i}", number=f"4930901{i:03d}", e164=f"+4930901{i:03d}", country_code="DE",
                            location_id="L1", owner_id="O1", trunk_id="T1", group_id="G1", pool_ids=("G1",),
                            pool_memberships=(PoolMembershipRecord("G1", added_on=T1, service="sms",
                                                                   member_type="number"),) if i % 2 else ())
               for i in range(5)]
    apply(webex, T1, numbers=records, **listing())
    owner, trunk, group = (m.objects.get(external_id=e) for m, e in ((Owner, "O1"), (Trunk, "T1"), (NumberGroup, "G1")))
    for number in PhoneNumber.objects.filter(account=webex):
        assert (number.owner_id, number.trunk_id, number.number_group_id, number.city) == (
            owner.pk, trunk.pk, group.pk, "Berlin")
    members = {(m.phonenumber.external_id, m.numbergroup_id, m.added_on, m.service, m.member_type)
               for m in PoolMembership.objects.select_related("phonenumber")}
    assert members == {(f"n{i}", group.pk, T1 if i % 2 else None, "sms" if i % 2 else "", "number" if i % 2 else "")
                       for i in range(5)}
    # A membership whose details change is updated in place; one no longer listed is dropped.
    records[1] = dataclasses.replace(records[1], pool_memberships=(
        PoolMembershipRecord("G1", added_on=T1, service="mms", member_type="number"),))
    records[2] = dataclasses.replace(records[2], pool_ids=())
    apply(webex, T2, numbers=records, **listing())
    members = {m.phonenumber.external_id: m.service for m in PoolMembership.objects.select_related("phonenumber")}
    assert members == {"n0": "", "n1": "mms", "n3": "sms", "n4": ""}
