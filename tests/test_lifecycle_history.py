"""Issue 16 part 2: history of pool memberships, owners and locations, recorded by the sync's
apply step and read on the number, owner and location pages as names and labels (no raw ids)."""

from __future__ import annotations

import html
import re

import pytest

from numbersadmin.inventory.history import readable
from numbersadmin.inventory.models import (CallerIdChange, Location, LocationChange, NumberChange, NumberGroup, Owner,
                                           OwnerChange, PhoneNumber, ProviderAccount)
from numbersadmin.inventory.services import ingest
from numbersadmin.inventory.services.accounts import account_delete, account_footprint
from providers.base import (CallerIdRecord, Inventory, LocationRecord, NumberGroupRecord, NumberRecord, OwnerRecord,
                            PoolMembershipRecord)

from .support.helpers import simulated_account, sync

pytestmark = pytest.mark.django_db(transaction=True)

POOLS = [NumberGroupRecord("p1", "Alpha pack", group_type="number_pool"),
         NumberGroupRecord("p2", "Beta pack", group_type="number_pool")]
SITES = [LocationRecord("L1", "Bangalore", kind="site", country_code="IN", region="Karnataka", city="Bangalore"),
         LocationRecord("L2", "London HQ", kind="site", country_code="GB", region="England", city="London",
                        main_number="+442071234567")]
ASHA = OwnerRecord("P1", "Asha Rao", "PEOPLE", "Asha", "Rao", "L1", raw={"id": "P1", "orgId": "secret-org"})


def number(ext: str, *pools: str, **kw) -> NumberRecord:
    return NumberRecord(external_id=ext, number=ext, e164="+" + ext, country_code="US", pool_ids=pools,
                        pool_memberships=tuple(PoolMembershipRecord(p, None, "sms") for p in pools), **kw)


def inventory(numbers=None, owners=(ASHA,), locations=SITES, caller_ids=()) -> Inventory:
    numbers = numbers if numbers is not None else [number("14155550100", "p1"), number("14155550101")]
    return Inventory(numbers=numbers, groups=POOLS, owners=list(owners), locations=list(locations),
                     caller_ids=list(caller_ids), complete=True)


def history_rows() -> int:
    return sum(m.objects.count() for m in (NumberChange, OwnerChange, LocationChange, CallerIdChange))


@pytest.fixture
def acct():
    acct = ProviderAccount.objects.create(provider="plivo", name="PL", base_url="https://example.invalid/")
    ingest.apply_inventory(acct, inventory())
    return acct


def timeline_rows(client, url: str) -> tuple[str, list[str]]:
    """The timeline card's HTML and its rows as text ("|<when>|Changed|Pools|Alpha pack|Beta pack||")."""
    response = client.get(url)
    assert response.status_code == 200
    body = response.content.decode()
    card = body[body.index("<h2>Timeline</h2>"):]
    card = card[:card.index("</table>")]
    rows = ["|" + "|".join(html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()
                           for cell in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)) + "|"
            for r in card.split("<tr>")[2:]]
    return card, rows


def assert_no_raw_ids(card: str, *objs) -> None:
    assert "_id<" not in card and "location_id" not in card and "owner_type" not in card
    for obj in objs:
        assert f">{obj.pk}<" not in card and f"|{obj.pk}|" not in card, obj


# -- pools ---------------------------------------------------------------------------------------


def test_first_sync_and_a_no_op_resync_write_no_history(acct):
    assert history_rows() == 0  # the first sync: everything is new, nothing "changed"
    ingest.apply_inventory(acct, inventory())
    assert history_rows() == 0
    # A membership whose service or date changes keeps the number's set of pools: no entry.
    ingest.apply_inventory(acct, inventory([
        NumberRecord("14155550100", "14155550100", "+14155550100", "US", pool_ids=("p1",),
                     pool_memberships=(PoolMembershipRecord("p1", None, "mms"),)), number("14155550101")]))
    assert not NumberChange.objects.filter(field="pools").exists()


def test_pool_set_change_is_one_readable_entry_naming_the_pools(acct, ops_client):
    alpha, beta = (NumberGroup.objects.get(account=acct, external_id=p) for p in ("p1", "p2"))
    ingest.apply_inventory(acct, inventory([number("14155550100", "p1", "p2"), number("14155550101", "p2")]))
    first, second = (PhoneNumber.objects.get(external_id=e) for e in ("14155550100", "14155550101"))
    changes = list(NumberChange.objects.filter(field="pools").order_by("number_id"))
    # One entry per affected number, machine form: sorted comma-joined NumberGroup ids.
    assert [(c.number_id, c.kind, c.old_value, c.new_value) for c in changes] == [
        (first.pk, "changed", str(alpha.pk), ",".join(str(pk) for pk in sorted((alpha.pk, beta.pk)))),
        (second.pk, "changed", "", str(beta.pk))]
    card, rows = timeline_rows(ops_client, f"/numbers/{first.pk}/")
    assert any("|Changed|Pools|Alpha pack|Alpha pack, Beta pack|" in r for r in rows), rows
    assert_no_raw_ids(card, alpha, beta)
    _, rows = timeline_rows(ops_client, f"/numbers/{second.pk}/")
    assert any("|Pools|—|Beta pack|" in r for r in rows), rows
    # Leaving every pool is a change too; the API keeps the ids and adds the names.
    ingest.apply_inventory(acct, inventory([number("14155550100", "p2"), number("14155550101")]))
    assert NumberChange.objects.filter(number=second, field="pools").latest("at").new_value == ""
    history = ops_client.get(f"/api/v1/numbers/{first.pk}/history/").json()
    latest = next(h for h in history if h["field"] == "pools")
    assert (latest["field_label"], latest["old_display"], latest["new_display"]) == (
        "Pools", "Alpha pack, Beta pack", "Beta pack")


def test_a_number_new_in_a_later_sync_gets_added_not_a_pool_change(acct):
    ingest.apply_inventory(acct, inventory([number("14155550100", "p1"), number("14155550101"),
                                            number("14155550102", "p2")]))
    new = PhoneNumber.objects.get(external_id="14155550102")
    assert list(new.changes.values_list("kind", "field")) == [("added", "")]


def test_a_deleted_pool_reads_as_deleted():
    names = {"pools": {"3": "Alpha pack"}}
    assert readable("pools", "3,19", names) == "Alpha pack, #19 (deleted)"
    assert readable("pools", "", names) == "—"
    assert readable("pools", "junk", names) == "#junk (deleted)"  # a bad stored value never raises


# -- owners and locations ------------------------------------------------------------------------


def test_owner_rename_and_move_read_as_names_on_the_owner_page(acct, ops_client):
    renamed = OwnerRecord("P1", "Asha Menon", "VIRTUAL_LINE", "Asha", "Menon", "L2",
                          raw={"id": "P1", "orgId": "other-secret-org"})
    ingest.apply_inventory(acct, inventory(owners=[renamed]))
    owner = Owner.objects.get(account=acct, external_id="P1")
    stored = {c.field: (c.old_value, c.new_value) for c in owner.changes.all()}
    london, bangalore = Location.objects.get(external_id="L2"), Location.objects.get(external_id="L1")
    assert stored == {"name": ("Asha Rao", "Asha Menon"), "last_name": ("Rao", "Menon"),
                      "owner_type": ("PEOPLE", "VIRTUAL_LINE"), "location_id": (str(bangalore.pk), str(london.pk))}
    assert "secret-org" not in str(list(owner.changes.values_list("old_value", "new_value")))
    card, rows = timeline_rows(ops_client, f"/owners/{owner.pk}/")
    assert any("|Name|Asha Rao|Asha Menon|" in r for r in rows), rows
    assert any("|Location|Bangalore|London HQ|" in r for r in rows), rows  # the FK as a name
    assert any("|Type|People|Virtual line|" in r for r in rows), rows
    assert any("First seen" in r for r in rows), rows
    assert 'id="owner-timeline"' in ops_client.get(f"/owners/{owner.pk}/").content.decode()
    assert_no_raw_ids(card, london, bangalore)


def test_location_change_shows_on_the_location_page(acct, ops_client):
    moved = LocationRecord("L2", "London Bridge", kind="site", country_code="GB", region="England", city="London",
                           main_number="+442071230000")
    ingest.apply_inventory(acct, inventory(locations=[SITES[0], moved]))
    london = Location.objects.get(account=acct, external_id="L2")
    assert {c.field for c in london.changes.all()} == {"name", "main_number"}
    assert not Location.objects.get(external_id="L1").changes.exists()
    _, rows = timeline_rows(ops_client, f"/locations/{london.pk}/")
    assert any("|Name|London HQ|London Bridge|" in r for r in rows), rows
    assert any("|Main number|+442071234567|+442071230000|" in r for r in rows), rows


def test_raw_payload_changes_are_not_history(acct):
    ingest.apply_inventory(acct, inventory(owners=[OwnerRecord("P1", "Asha Rao", "PEOPLE", "Asha", "Rao", "L1",
                                                               raw={"id": "P1", "token": "new-secret"})]))
    assert history_rows() == 0


def test_owner_and_location_leaving_and_returning_are_removed_and_restored(acct, ops_client):
    caller = CallerIdRecord("c1", "14155550199", "+14155550199", True)
    ingest.apply_inventory(acct, inventory(caller_ids=[caller]))
    ingest.apply_inventory(acct, inventory(owners=[], locations=[SITES[1]]))
    owner, bangalore = Owner.objects.get(external_id="P1"), Location.objects.get(external_id="L1")
    assert owner.removed_at is not None and bangalore.removed_at is not None
    ingest.apply_inventory(acct, inventory())
    assert list(owner.changes.order_by("id").values_list("kind", flat=True)) == ["removed", "restored"]
    assert list(bangalore.changes.order_by("id").values_list("kind", flat=True)) == ["removed", "restored"]
    assert list(CallerIdChange.objects.values_list("kind", flat=True)) == ["removed"]  # the same mechanism
    _, rows = timeline_rows(ops_client, f"/owners/{owner.pk}/")
    assert any("Removed|Removed: gone from the provider's listing" in r for r in rows), rows
    assert any("Restored|Restored: listed again after removal" in r for r in rows), rows
    _, rows = timeline_rows(ops_client, f"/locations/{bangalore.pk}/")
    assert [r.split("|")[2] for r in rows] == ["Restored", "Removed", "First seen"]


def test_deleting_the_account_counts_and_deletes_owner_and_location_history(acct):
    ingest.apply_inventory(acct, inventory(owners=[], locations=[SITES[1]]))  # two REMOVED events
    assert account_footprint(acct)["history rows"] == 2
    account_delete(acct, confirm_name=acct.name)
    assert history_rows() == 0


def test_bad_ids_on_owner_and_location_pages_are_not_found(ops_client, acct):
    for url in ("/owners/999999/", "/locations/999999/"):
        assert ops_client.get(url).status_code == 404


def test_a_stored_id_that_is_gone_reads_as_deleted_on_the_owner_page(acct, ops_client):
    owner = Owner.objects.get(external_id="P1")
    OwnerChange.objects.create(owner=owner, kind="changed", field="location_id", old_value="987654", new_value="x")
    _, rows = timeline_rows(ops_client, f"/owners/{owner.pk}/")
    assert any("|Location|#987654 (deleted)|#x (deleted)|" in r for r in rows), rows


# -- through the simulators ----------------------------------------------------------------------


def assert_quiet_resync(account) -> None:
    """The first sync wrote no history, and neither does a second one with nothing changed."""
    assert history_rows() == 0
    assert sync(account).state == "succeeded"
    assert history_rows() == 0


def test_plivo_pool_join_is_one_entry_and_a_no_op_resync_writes_nothing(ops_client):
    with simulated_account("plivo", "Plivo", numbers=60, seed=4) as (sim, account):
        assert_quiet_resync(account)
        pools = list(NumberGroup.objects.filter(account=account, group_type="number_pool").order_by("pk"))
        target = pools[0]
        outsider = next(n for n in PhoneNumber.objects.filter(account=account).order_by("pk") if target not in n.pools.all())
        before = sorted(outsider.pools.all(), key=lambda g: g.pk)
        sim.add_to_pool(target.external_id, outsider.e164.lstrip("+"))
        assert sync(account).state == "succeeded"
        change = NumberChange.objects.get()
        assert (change.number_id, change.field) == (outsider.pk, "pools")
        assert change.new_value == ",".join(str(g.pk) for g in sorted([*before, target], key=lambda g: g.pk))
        card, rows = timeline_rows(ops_client, f"/numbers/{outsider.pk}/")
        row = next(r for r in rows if "|Pools|" in r)
        old, new = row.split("|Pools|")[1].split("|")[:2]
        assert new == ", ".join(g.name for g in sorted([*before, target], key=lambda g: g.pk)), row
        assert old == (", ".join(g.name for g in before) or "—"), row
        assert_no_raw_ids(card, target, *before)


def test_webex_owner_rename_and_location_rename_reach_their_pages(ops_client):
    with simulated_account("webex", "WX", numbers=40, seed=3) as (sim, account):
        assert_quiet_resync(account)
        person = Owner.objects.filter(account=account, owner_type="PEOPLE").order_by("pk").first()
        old_name = person.name
        sim.update_owner(person.external_id, firstName="Renata", lastName="Quist")
        place = Location.objects.filter(account=account).exclude(owners=None).order_by("pk").first()
        old_place = place.name
        sim.update_location(place.external_id, name="Renamed office")
        assert sync(account).state == "succeeded"
        _, rows = timeline_rows(ops_client, f"/owners/{person.pk}/")
        assert any(f"|Name|{old_name}|Renata Quist|" in r for r in rows), rows
        _, rows = timeline_rows(ops_client, f"/locations/{place.pk}/")
        assert any(f"|Name|{old_place}|Renamed office|" in r for r in rows), rows
