"""Issue 16 part 5: seed fields the adapters used to drop (DIDWW renewal and channel attributes,
the generic ``will_renew``, Webex candidates' own location/owner/flags, Apifonica international
numbers), on recorded provider shapes."""

from __future__ import annotations

import copy
import json

import httpx

from providers.apifonica.client import ApifonicaClient
from providers.didww.mapping import inventory_from_documents
from providers.didww.mapping import will_renew as didww_will_renew
from providers.voximplant.mapping import map_number as vox_map_number
from providers.voximplant.mapping import will_renew as vox_will_renew
from providers.webex.mapping import build_inventory as webex_inventory

from ..support.fixtures import fixture_dir
from .test_apifonica_adapter import DOC_EXAMPLE

DIDWW = fixture_dir("didww")
WEBEX = fixture_dir("webex")
QUERIED = "Y2lzY29zcGFyazovL3VzL0xPQ0FUSU9OL3F1ZXJpZWQ"  # the location whose candidates were listed
BANGALORE = "Y2lzY29zcGFyazovL3VzL0xPQ0FUSU9OLzkzMGMzYTNlLTA3Y2EtNDNmOS1iZjE4LTZlZGM2OGE1Y2Y3Yg"


def test_didww_recorded_dids_carry_renewal_and_channel_fields():
    inv = inventory_from_documents(json.loads((DIDWW / "ruby_dids_list_no_include_200.json").read_text()))
    raw_attrs = {n.external_id: n.raw["attributes"] for n in inv.numbers}
    assert inv.numbers
    for n in inv.numbers:
        a = raw_attrs[n.external_id]
        assert n.billing_cycles_count == a["billing_cycles_count"] == 1
        assert n.will_renew is True  # one more billing cycle
        assert n.capacity_limit == a.get("capacity_limit")
        assert n.channels_included_count == a.get("channels_included_count")
        assert n.dedicated_channels_count == a.get("dedicated_channels_count")
    unlimited = inventory_from_documents(json.loads((DIDWW / "py_cassette_dids_list.json").read_text()))
    assert {n.billing_cycles_count for n in unlimited.numbers} == {None}
    assert {n.will_renew for n in unlimited.numbers} == {True}  # null = renews without limit


def test_didww_will_renew_rule():
    assert didww_will_renew({"billing_cycles_count": 0}) is False
    assert didww_will_renew({"billing_cycles_count": 3}) is True
    assert didww_will_renew({"billing_cycles_count": None}) is True
    assert didww_will_renew({}) is None  # not sent (sparse fieldset): unknown
    assert didww_will_renew({"billing_cycles_count": "x"}) is None
    assert didww_will_renew({"billing_cycles_count": None, "pending_removal": True}) is False


def test_didww_emergency_enabled_flag():
    doc = json.loads((DIDWW / "ruby_dids_list_no_include_200.json").read_text())
    doc = copy.deepcopy(doc)
    doc["data"][0]["attributes"].update(emergency_enabled=True, billing_cycles_count=0)
    first = inventory_from_documents(doc).numbers[0]
    assert first.emergency_enabled is True and first.billing_cycles_count == 0 and first.will_renew is False


def test_voximplant_will_renew():
    base = {"phone_id": 1, "phone_number": "12025550100", "phone_country_code": "US"}
    assert vox_will_renew({**base, "auto_charge": True, "canceled": False, "deactivated": False}) is True
    assert vox_will_renew({**base, "auto_charge": False}) is False
    assert vox_will_renew({**base, "auto_charge": True, "canceled": True}) is False
    assert vox_will_renew({**base, "auto_charge": True, "deactivated": True}) is False
    assert vox_will_renew(base) is None
    record, _ = vox_map_number({**base, "auto_charge": False})
    assert record.will_renew is False


def test_webex_candidate_keeps_its_own_location_owner_and_flags():
    items = json.loads((WEBEX / "doc_example_location_externalCallerId_availableNumbers_200.json").read_text())["phoneNumbers"]
    inv = webex_inventory([], caller_ids=[(QUERIED, i) for i in items])
    # listed for QUERIED, but each number lives in Bangalore (its own ``location``)
    assert [c.external_id.split(":")[0] for c in inv.caller_ids] == [QUERIED] * 3
    assert {c.listed_for_location_id for c in inv.caller_ids} == {QUERIED}
    assert {c.location_id for c in inv.caller_ids} == {BANGALORE}
    assert BANGALORE in {loc.external_id for loc in inv.locations}
    assert [c.owner_id for c in inv.caller_ids] == [i["owner"]["id"] for i in items]
    assert {o.external_id for o in inv.owners} >= {c.owner_id for c in inv.caller_ids}
    assert [c.is_main_number for c in inv.caller_ids] == [False, False, True]
    assert [c.is_service_number for c in inv.caller_ids] == [True, False, False]
    assert [c.toll_free_number for c in inv.caller_ids] == [False, False, False]
    no_location = {k: v for k, v in items[0].items() if k != "location"}
    (only,) = webex_inventory([], caller_ids=[(QUERIED, no_location)]).caller_ids
    assert only.location_id == QUERIED  # falls back to the location it was listed for


def test_apifonica_international_numbers_parse_to_e164_through_the_client():
    """A documented list page (seed 003 shape) whose numbers say ``country_code: international``:
    the number is E.164 digits without "+"."""
    base = DOC_EXAMPLE["numbers"][0]
    intl = [
        dict(base, number_sid="n1", number="883140012345678", country_code="international",
             country_name="international", type="sip"),
        dict(base, number_sid="n2", number="447480600504", country_code="international",
             country_name="international", type="mobile"),
        dict(base, number_sid="n3", number="80012345678", country_code="international",
             country_name="international", type="toll_free"),
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"limit": 20, "prev": None, "next": None, "numbers": intl})

    with ApifonicaClient(base_url="https://api.apifonica.com/v2", secrets={"account_sid": "AC1", "auth_token": "t"},
                         transport=httpx.MockTransport(handler)) as client:
        inv = client.fetch_inventory()
    got = {n.external_id: (n.e164, n.country_code) for n in inv.numbers}
    assert got == {"n1": ("+883140012345678", ""), "n2": ("+447480600504", "GB"), "n3": ("+80012345678", "")}
