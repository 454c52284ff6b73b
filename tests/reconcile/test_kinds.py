"""Every finding kind from simulator data: real HTTP simulators, real syncs (the post-sync hook
computes the findings), then the cause goes away at the provider, the next sync resolves it,
and (where cheap) it comes back and the finding reopens."""

from __future__ import annotations

import pytest

from numbersadmin.inventory.models import CallerId, PhoneNumber
from numbersadmin.inventory.services.accounts import account_update
from numbersadmin.reconcile.models import Finding, FindingKind, FindingState

from ..support.helpers import sync

pytestmark = pytest.mark.django_db(transaction=True)


def synced(account):
    run = sync(account)
    assert run.state == "succeeded", (run.error_class, run.error_message)
    return run


def finding(kind, key) -> Finding | None:
    return Finding.objects.filter(kind=kind, key=key).first()


def number_of(account, e164=None, **filters) -> PhoneNumber:
    qs = PhoneNumber.objects.filter(account=account, **filters)
    return qs.get(e164=e164) if e164 else qs.first()


# -- 1. one E.164 live in two accounts -------------------------------------------------------------
@pytest.fixture
def two_didww(sim_account):
    sim_a, a = sim_account("didww", "DIDWW A", numbers=20, seed=3)
    sim_b, b = sim_account("didww", "DIDWW B", numbers=20, seed=5, secrets={"api_key": "other-didww-key"})
    shared = sim_a.dids[0]["number"]
    did_b = sim_b.dids[0]
    original = did_b["number"]
    sim_b.update_did(did_b["id"], number=shared)
    synced(a)
    synced(b)
    e164 = number_of(a, external_id=sim_a.dids[0]["id"]).e164
    return sim_b, did_b, original, a, b, e164


def test_duplicate_number_in_two_didww_accounts_is_found(two_didww):
    _, _, _, a, b, e164 = two_didww
    f = finding(FindingKind.DUPLICATE_NUMBER, e164)
    assert f is not None and f.state == FindingState.OPEN
    assert set(f.accounts.values_list("pk", flat=True)) == {a.pk, b.pk}
    numbers = {r["id"] for r in f.rows if r["type"] == "number"}
    assert numbers == set(PhoneNumber.objects.filter(e164=e164).values_list("pk", flat=True))
    assert "DIDWW A" in f.summary and "DIDWW B" in f.summary


def test_duplicate_number_resolves_when_one_account_drops_it_and_reopens(two_didww):
    sim_b, did_b, original, a, b, e164 = two_didww
    sim_b.update_did(did_b["id"], number=original)
    synced(b)
    f = finding(FindingKind.DUPLICATE_NUMBER, e164)
    assert f.state == FindingState.RESOLVED and f.resolved_at is not None
    sim_b.update_did(did_b["id"], number=e164.lstrip("+"))
    synced(b)
    f.refresh_from_db()
    assert f.state == FindingState.OPEN and f.resolved_at is None


# -- 2. caller IDs ---------------------------------------------------------------------------------
UNOWNED = "+442071838750"


@pytest.fixture
def vox(sim_account):
    return sim_account("voximplant", "Vox", numbers=10, seed=2)


def test_caller_id_not_owned_anywhere_is_found(vox):
    sim, account = vox
    rec = sim.add_caller_id(UNOWNED)
    synced(account)
    cid = CallerId.objects.get(account=account, external_id=str(rec["callerid_id"]))
    f = finding(FindingKind.CALLER_ID_UNOWNED, f"caller_id:{cid.pk}")
    assert f is not None and f.state == FindingState.OPEN
    assert f.rows[0]["type"] == "caller_id" and UNOWNED in f.summary
    # Caller IDs that a live number of the account owns are not findings.
    owned = PhoneNumber.objects.filter(account=account, removed_at=None, status="active").first()
    rec2 = sim.add_caller_id(owned.e164)
    synced(account)
    cid2 = CallerId.objects.get(account=account, external_id=str(rec2["callerid_id"]))
    assert not Finding.objects.filter(key=f"caller_id:{cid2.pk}").exists()


def test_caller_id_not_owned_resolves_when_removed_at_the_provider(vox):
    sim, account = vox
    rec = sim.add_caller_id(UNOWNED)
    synced(account)
    cid = CallerId.objects.get(account=account, external_id=str(rec["callerid_id"]))
    sim.remove_caller_id(rec["callerid_id"])
    synced(account)
    assert finding(FindingKind.CALLER_ID_UNOWNED, f"caller_id:{cid.pk}").state == FindingState.RESOLVED


@pytest.fixture
def vox_and_webex(sim_account):
    wx_sim, wx = sim_account("webex", "Webex", numbers=20, seed=3)
    loc = wx_sim.calling_locations[0]["id"]
    row = wx_sim.add_number(loc, state="INACTIVE")
    vx_sim, vx = sim_account("voximplant", "Vox", numbers=5, seed=2)
    rec = vx_sim.add_caller_id(row["phoneNumber"])
    synced(wx)
    synced(vx)
    cid = CallerId.objects.get(account=vx, external_id=str(rec["callerid_id"]))
    return wx_sim, wx, row, cid


def test_caller_id_owned_only_by_an_inactive_number_is_found(vox_and_webex):
    _, wx, row, cid = vox_and_webex
    f = finding(FindingKind.CALLER_ID_OWNER_INACTIVE, f"caller_id:{cid.pk}")
    assert f is not None and f.state == FindingState.OPEN
    number = number_of(wx, row["phoneNumber"])
    assert {("caller_id", cid.pk), ("number", number.pk)} == {(r["type"], r["id"]) for r in f.rows}
    assert not finding(FindingKind.CALLER_ID_UNOWNED, f"caller_id:{cid.pk}")


def test_caller_id_owner_inactive_resolves_when_the_number_is_active_again(vox_and_webex):
    wx_sim, wx, row, cid = vox_and_webex
    wx_sim.update_number(row["phoneNumber"], state="ACTIVE")
    synced(wx)
    assert finding(FindingKind.CALLER_ID_OWNER_INACTIVE, f"caller_id:{cid.pk}").state == FindingState.RESOLVED


# -- 3. Webex inactive + unassigned, DIDWW without routing ---------------------------------------------
@pytest.fixture
def webex_inactive(sim_account):
    sim, account = sim_account("webex", "Webex", numbers=20, seed=3)
    loc = sim.calling_locations[0]["id"]
    row = sim.add_number(loc, state="INACTIVE")
    synced(account)
    return sim, account, row, number_of(account, row["phoneNumber"])


def test_webex_inactive_unassigned_number_is_found(webex_inactive):
    _, account, _, number = webex_inactive
    f = finding(FindingKind.WEBEX_INACTIVE_UNASSIGNED, f"number:{number.pk}")
    assert f is not None and f.state == FindingState.OPEN and f.account_id == account.pk
    # Every such finding is a live, inactive Webex number without an owner.
    for f in Finding.objects.filter(kind=FindingKind.WEBEX_INACTIVE_UNASSIGNED):
        n = PhoneNumber.objects.get(pk=f.rows[0]["id"])
        assert n.status == "inactive" and n.owner_id is None and n.removed_at is None


def test_webex_inactive_unassigned_resolves_when_assigned(webex_inactive):
    sim, account, row, number = webex_inactive
    sim.assign(row["phoneNumber"], next(iter(sim.owners)))
    synced(account)
    assert finding(FindingKind.WEBEX_INACTIVE_UNASSIGNED, f"number:{number.pk}").state == FindingState.RESOLVED


@pytest.fixture
def didww_unrouted(sim_account):
    sim, account = sim_account("didww", "DIDWW", numbers=20, seed=3)
    did = next(d for d in sim.dids if d["voice_in_trunk_id"])
    trunk = did["voice_in_trunk_id"]
    sim.update_did(did["id"], voice_in_trunk_id=None, voice_in_trunk_group_id=None)
    synced(account)
    return sim, account, did, trunk, number_of(account, external_id=did["id"])


def test_didww_did_without_trunk_or_group_is_found(didww_unrouted):
    _, _, _, _, number = didww_unrouted
    f = finding(FindingKind.DIDWW_UNROUTED, f"number:{number.pk}")
    assert f is not None and f.state == FindingState.OPEN
    routed = PhoneNumber.objects.filter(provider="didww", trunk__isnull=False).values_list("pk", flat=True)
    assert not Finding.objects.filter(kind=FindingKind.DIDWW_UNROUTED, key__in=[f"number:{pk}" for pk in routed])


def test_didww_unrouted_resolves_when_routed_again(didww_unrouted):
    sim, account, did, trunk, number = didww_unrouted
    sim.update_did(did["id"], voice_in_trunk_id=trunk)
    synced(account)
    assert finding(FindingKind.DIDWW_UNROUTED, f"number:{number.pk}").state == FindingState.RESOLVED


# -- 4. Plivo pool numbers the account's number list lacks ---------------------------------------------
@pytest.fixture
def plivo_pool_only(sim_account):
    sim, account = sim_account("plivo", "Plivo", numbers=20, seed=4)
    spare = sim.add_number("GB", "mobile")["number"]
    sim.remove_number(spare)  # a valid number the account does not rent
    pool = sim.pool_uuid(sim.powerpacks[0])
    sim.add_to_pool(pool, spare, country_iso2="GB", type="mobile")
    synced(account)
    return sim, account, pool, spare, number_of(account, external_id=spare)


def test_plivo_pool_number_not_rented_is_found(plivo_pool_only):
    sim, account, _, _, number = plivo_pool_only
    f = finding(FindingKind.PLIVO_POOL_NOT_RENTED, f"number:{number.pk}")
    assert f is not None and f.state == FindingState.OPEN
    # Rented numbers (in a pool or not) are no finding.
    assert Finding.objects.filter(kind=FindingKind.PLIVO_POOL_NOT_RENTED).count() == 1


def test_plivo_pool_number_resolves_when_the_pool_drops_it(plivo_pool_only):
    sim, account, pool, spare, number = plivo_pool_only
    sim.remove_from_pool(pool, spare)
    synced(account)
    assert finding(FindingKind.PLIVO_POOL_NOT_RENTED, f"number:{number.pk}").state == FindingState.RESOLVED


def test_plivo_pool_number_resolves_when_the_account_rents_it(plivo_pool_only):
    sim, account, _, spare, number = plivo_pool_only
    sim.add_number("GB", "mobile", number=spare)
    synced(account)
    assert finding(FindingKind.PLIVO_POOL_NOT_RENTED, f"number:{number.pk}").state == FindingState.RESOLVED


# -- 5. one account configured twice ---------------------------------------------------------------
@pytest.fixture
def didww_twice(sim_account):
    sim, a = sim_account("didww", "DIDWW one", numbers=10, seed=3)
    _, b = sim_account("didww", "DIDWW two", sim=sim)
    synced(a)
    return sim, a, b


def test_account_configured_twice_is_found_without_showing_secrets(didww_twice, admin_client):
    _, a, b = didww_twice
    f = finding(FindingKind.DUPLICATE_ACCOUNT, f"accounts:{a.pk},{b.pk}")
    assert f is not None and f.state == FindingState.OPEN and "same credentials" in f.summary
    secret = a.get_secrets()["api_key"]
    page = admin_client.get(f.get_absolute_url()).content.decode()
    assert a.get_absolute_url() in page and b.get_absolute_url() in page
    assert secret not in page and secret not in str(f.rows) and secret not in f.summary


def test_account_configured_twice_resolves_when_one_points_elsewhere(didww_twice, sim_account):
    _, a, b = didww_twice
    other, _ = sim_account("didww", "spare", numbers=5, seed=9, secrets={"api_key": "another-didww-key"})
    account_update(b, base_url=other.base_url, secrets={"api_key": "another-didww-key"})
    synced(b)
    assert finding(FindingKind.DUPLICATE_ACCOUNT, f"accounts:{a.pk},{b.pk}").state == FindingState.RESOLVED


def test_webex_org_configured_twice_with_different_tokens_is_found(sim_account):
    sim, a = sim_account("webex", "WX one", numbers=10, seed=3)
    a.config = {"org_id": sim.org_id}
    a.save()
    _, b = sim_account("webex", "WX two", sim=sim, secrets={"access_token": "second-token"},
                       config={"org_id": sim.org_id})
    synced(a)
    f = finding(FindingKind.DUPLICATE_ACCOUNT, f"accounts:{a.pk},{b.pk}")
    assert f is not None and "same base URL" in f.summary
