"""Webex Calling adapter: mapping on the developer-portal examples, Link parsing, and the client
against the simulator over sockets (paging, SSRF, 504 back-off, rate limits, auth, redaction)."""

from __future__ import annotations

import copy
import json
import logging

import httpx
import pytest

from providers import registry
from providers.base import (
    KIND_LOCAL,
    KIND_MOBILE,
    KIND_TOLL_FREE,
    STATUS_ACTIVE,
    STATUS_INACTIVE,
    Progress,
)
from providers.errors import AuthError, BadResponse, RateLimited, Unavailable, UnsafeURL
from providers.webex import SPEC
from providers.webex.client import WebexClient, next_link, parse_link_header, with_query
from providers.webex.mapping import (
    build_inventory,
    error_summary,
    map_caller_id,
    map_location,
    map_number,
    map_owner,
    status_of,
    tracking_id,
)
from providers.simulators.registry import simulator
from providers.simulators.webex import FOREIGN_HOST, OWNER_TYPES, WebexSimulator
from ..support.fixtures import fixture_dir

FIXTURES = fixture_dir("webex")
TOKEN = "demo-webex-token"
BANGLORE = "Y2lzY29zcGFyazovL3VzL0xPQ0FUSU9OL2E4Mjg5NzIyLTFiODAtNDFiNy05Njc4LTBlNzdhZThjMTA5OA"
RICHARDSON = "Y2lzY29zcGFyazovL3VzL0xPQ0FUSU9OL2M2MDliOGE1LTAxNmQtNDAwNy1hN2E0LTJhMThiZmZjY2FmNg"
WASHINGTON = "Y2lzY29zcGFyazovL3VzL0xPQ0FUSU9OLzEwN2EzNTkwLWY3OWMtNGM0OS1iM2I2LWQ1MzhjYTA0YWU1MA"
SADIQ = "Y2lzY29zcGFyazovL3VzL1BFT1BMRS9jODhiZGIwNC1jZjU5LTRjMjMtODQ4OC00NTNhOTE3ZDFlMjk"
CHANDRU = "Y2lzY29zcGFyazovL3VzL1BFT1BMRS9mNzVkMjI4Mi0yZjk1LTQ2MmMtYjFiNC1kYjRlZjU1OTk3MWE"
BANGALORE = "Y2lzY29zcGFyazovL3VzL0xPQ0FUSU9OLzkzMGMzYTNlLTA3Y2EtNDNmOS1iZjE4LTZlZGM2OGE1Y2Y3Yg"
DENVER_CALLING = "Y2lzY29zcGFyazovL3VzL0xPQ0FUSU9OL2YyZmUzOGVkLTNmNGYtNGI1NC04M2YzLTk4MDg3MWQzMjM5Yw"


def fx(name: str) -> dict:
    return json.loads((FIXTURES / f"doc_example_{name}_200.json").read_text())


def by_id(records) -> dict:
    return {r.external_id: r for r in records}


# ---------------------------------------------------------------------------------------------
# mapping on the documented examples
# ---------------------------------------------------------------------------------------------
def test_numbers_example_maps_numbers_and_skips_extension_only_row():
    inv = build_inventory(fx("telephony_config_numbers")["phoneNumbers"])
    assert [n.external_id for n in inv.numbers] == ["+12056350001", "+12026282002"]  # "" row skipped
    fax, main = inv.numbers
    assert (fax.number, fax.e164, fax.country_code) == ("+12056350001", "+12056350001", "US")
    assert fax.kind == KIND_MOBILE  # includedTelephonyTypes MOBILE_NUMBER
    assert (fax.status, fax.raw_status, fax.description) == (STATUS_ACTIVE, "ACTIVE", "FAX")
    assert (fax.extension, fax.location_id, fax.owner_id) == ("11", BANGLORE, SADIQ)
    assert (fax.is_main_number, fax.is_service_number, fax.voice) == (False, False, True)
    assert fax.raw["esn"] == "123411"
    assert main.kind == KIND_LOCAL and main.description == "PRIMARY"
    assert (main.is_main_number, main.is_service_number, main.owner_id, main.extension) == (True, True, None, "")
    assert main.location_id == WASHINGTON


def test_numbers_example_owners_and_locations():
    inv = build_inventory(fx("telephony_config_numbers")["phoneNumbers"])
    owners = by_id(inv.owners)
    assert set(owners) == {SADIQ, CHANDRU}  # the extension-only row's owner is kept
    sadiq, chandru = owners[SADIQ], owners[CHANDRU]
    assert (sadiq.name, sadiq.owner_type, sadiq.first_name, sadiq.last_name, sadiq.location_id) == (
        "sadiqhussain96 sadiqhussain96", "PEOPLE", "sadiqhussain96", "sadiqhussain96", BANGLORE)
    assert (chandru.name, chandru.location_id) == ("chandru_2 test_2", RICHARDSON)
    locations = by_id(inv.locations)
    assert [locations[i].name for i in (BANGLORE, RICHARDSON, WASHINGTON)] == ["Banglore", "Richardson", "Washington"]
    assert all(loc.kind == "site" and loc.country_code == "" for loc in inv.locations)  # no address here
    assert locations[WASHINGTON].main_number == "+12026282002"  # from the row flagged mainNumber
    assert locations[BANGLORE].main_number == ""


def test_available_numbers_example_is_main_number_spelling_and_caller_ids():
    items = fx("location_externalCallerId_availableNumbers")["phoneNumbers"]
    numbers = [map_number(i) for i in items]
    assert [n.is_main_number for n in numbers] == [False, False, True]  # isMainNumber, not mainNumber
    assert [n.is_service_number for n in numbers] == [True, False, False]
    assert [n.country_code for n in numbers] == ["US", "GB", "GB"]
    assert [n.status for n in numbers] == [STATUS_ACTIVE, STATUS_ACTIVE, STATUS_INACTIVE]
    inv = build_inventory([], caller_ids=[(BANGALORE, i) for i in items])
    assert [c.external_id for c in inv.caller_ids] == [f"{BANGALORE}:+12036390542", f"{BANGALORE}:+447975777966",
                                                       f"{BANGALORE}:+447975777969"]
    assert all(c.kind == "location_candidate" and c.location_id == BANGALORE for c in inv.caller_ids)
    assert [c.active for c in inv.caller_ids] == [True, True, False]
    assert [c.e164 for c in inv.caller_ids] == ["+12036390542", "+447975777966", "+447975777969"]
    assert inv.caller_ids[0].raw["owner"]["displayName"] == "testingdemo"
    assert [(o.name, o.owner_type) for o in inv.owners] == [
        ("testingdemo", "HUNT_GROUP"), ("CallertestingVeeresh9999te", "HUNT_GROUP"), ("testingssss dsdsd", "VIRTUAL_LINE")]
    assert [loc.name for loc in inv.locations] == ["Bangalore"]


def test_location_examples_and_merge_by_id():
    calling = fx("telephony_config_locations_list")["locations"]
    plain = fx("locations_list")["items"]
    inv = build_inventory([], calling, plain)
    denver, denver2 = inv.locations
    assert (denver.external_id, denver.name, denver.main_number) == (DENVER_CALLING, "Denver", "+12145556985")
    assert (denver2.name, denver2.main_number) == ("Denver-2", "")  # callingLineId.phoneNumber null
    assert denver.country_code == ""  # the examples' ids differ: nothing to merge
    # the same location in both listings: address from /locations, calling data from telephony
    merged = build_inventory([], calling, [dict(plain[0], id=DENVER_CALLING)]).locations[0]
    assert (merged.country_code, merged.region, merged.city, merged.kind) == ("US", "Goodstate", "Supercity", "site")
    assert merged.main_number == "+12145556985" and merged.raw["timeZone"] == "America/Chicago"
    assert merged.raw["routingPrefix"] == "3"
    alone = map_location(plain[0])
    assert (alone.name, alone.country_code, alone.city) == ("Denver", "US", "Supercity")


def test_kind_status_and_odd_items():
    item = copy.deepcopy(fx("telephony_config_numbers")["phoneNumbers"][2])
    assert map_number({**item, "tollFreeNumber": True}).kind == KIND_TOLL_FREE
    assert map_number({**item, "includedTelephonyTypes": ["PSTN_NUMBER", "MOBILE_NUMBER"]}).kind == KIND_MOBILE
    assert map_number({**item, "phoneNumber": None}) is None
    assert map_number({k: v for k, v in item.items() if k != "phoneNumber"}) is None
    assert map_number({**item, "mainNumber": "true"}).is_main_number is True
    assert map_number({"phoneNumber": "+12026282002"}).is_main_number is None
    odd = map_number({**item, "phoneNumber": "12345"})
    assert (odd.external_id, odd.e164, odd.country_code) == ("12345", "", "")
    assert [status_of(s) for s in ("ACTIVE", "INACTIVE", "active", "FUTURE_STATE", None)] == [
        STATUS_ACTIVE, STATUS_INACTIVE, STATUS_ACTIVE, STATUS_INACTIVE, STATUS_INACTIVE]
    assert map_caller_id("L", {"state": "ACTIVE"}) is None
    assert map_owner({"type": "PEOPLE"}) is None
    assert map_owner({"id": "X", "type": "SOMETHING_NEW"}).name == "X"  # unknown type kept, id as name
    assert map_owner({"id": "X", "type": "PLACE", "firstName": "Lobby", "displayName": "HQ Lobby"}).name == "HQ Lobby"


def test_error_summary_and_tracking_id():
    body = {"message": "Forbidden", "errors": [{"description": "Forbidden"}, {"description": "Missing scope"}],
            "trackingId": "ROUTER_1"}
    assert error_summary(body) == "Forbidden; Missing scope"
    assert error_summary({"errors": "x"}) == "" and error_summary([1]) == ""
    assert tracking_id(body, {"trackingid": "HDR"}) == "ROUTER_1"
    assert tracking_id({}, {"trackingid": "HDR"}) == "HDR" and tracking_id(None) == ""


# ---------------------------------------------------------------------------------------------
# Link header (RFC 8288)
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("header, expected", [
    ('<https://webexapis.com/v1/x?max=2&start=2>; rel="next"', "https://webexapis.com/v1/x?max=2&start=2"),
    ('<https://a/first>; rel="first", <https://a/n?q=1,2;3>; rel="next"', "https://a/n?q=1,2;3"),
    ('<https://a/p>; rel="prev next"', "https://a/p"),
    ("<https://a/n>;rel=next", "https://a/n"),
    ('<https://a/n>; REL="NEXT"; title="a, b; c"', "https://a/n"),
    ('<https://a/n>; title="rel=\\"next\\""; rel="last"', None),
    ('<https://a/p>; rel="previous"', None),
    ('<https://a/n>; rel="next-page"', None),
    ("", None),
    (None, None),
    ('garbage, <https://a/n>; rel="next"', "https://a/n"),
])
def test_next_link(header, expected):
    assert next_link(header) == expected


def test_parse_link_header_params_and_with_query():
    links = parse_link_header('<https://a/1>; rel="next"; rel="last", <https://a/2>; anchor="#x"')
    assert links == [("https://a/1", {"rel": "next"}), ("https://a/2", {"anchor": "#x"})]  # first rel wins
    assert with_query("https://h/v1/x?orgId=o&max=8&start=16", max=4) == "https://h/v1/x?orgId=o&max=4&start=16"
    assert with_query("https://h/v1/x", max=4) == "https://h/v1/x?max=4"


# ---------------------------------------------------------------------------------------------
# client against the simulator
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def shared_sim():
    with WebexSimulator(numbers=150, locations=5, seed=5) as running:
        yield running


@pytest.fixture
def sim(shared_sim):
    yield shared_sim
    shared_sim.faults.clear()
    shared_sim._timeouts.clear()


def client_for(sim, token: str = TOKEN, **config) -> WebexClient:
    return WebexClient(base_url=sim.base_url, secrets={"access_token": token}, config=config)


def test_registry_and_spec(sim):
    assert registry.get("webex") is SPEC
    assert (SPEC.name, SPEC.default_base_url, SPEC.secret_fields, SPEC.config_fields) == (
        "Webex Calling", "https://webexapis.com/v1", ("access_token",), ("org_id",))
    demo = simulator("webex", numbers=12, seed=3)
    assert isinstance(demo, WebexSimulator) and demo.access_token == "demo-webex-token"
    assert sum(1 for r in demo.numbers if r.get("phoneNumber")) == 12
    with SPEC.client(base_url=sim.base_url, secrets={"access_token": TOKEN}) as client:
        assert isinstance(client, WebexClient) and client.test_connection() == "OK: token accepted"
    with pytest.raises(AuthError, match="no Webex access token"):
        SPEC.client(base_url=sim.base_url, secrets={"access_token": " "})


def test_full_sync_follows_links(sim):
    seen: list[Progress] = []
    before = len(sim.requests)
    with client_for(sim, page_size=40) as client:
        inv = client.fetch_inventory(seen.append)
    rows = [r for r in sim.numbers if r.get("phoneNumber")]
    assert [n.external_id for n in inv.numbers] == [r["phoneNumber"] for r in rows]
    assert inv.complete and inv.total_reported is None
    number_pages = [r for r in sim.requests[before:] if r.path.endswith("/telephony/config/numbers")]
    assert [dict(r.query)["start"] for r in number_pages] == [str(i) for i in range(0, len(sim.numbers), 40)]
    assert all(dict(r.query)["max"] == "40" for r in number_pages)
    assert inv.pages_fetched == len(sim.requests) - before
    assert seen[0] == Progress(0, 0, None, "numbers")  # announced before the first request
    assert [p.stage for p in seen[:6]] == ["numbers"] * 6 and seen[5].items_fetched == len(sim.numbers) == 165
    assert seen[6] == Progress(5, 0, None, "locations")  # Webex counts pages across listings
    assert {p.stage for p in seen} == {"numbers", "locations", "caller_ids"}
    assert all(p.items_total is None for p in seen)
    # owners: every type incl. the undocumented one, also owners of extension-only rows
    owners = by_id(inv.owners)
    assert {o.owner_type for o in inv.owners} == set(OWNER_TYPES)
    assert set(owners) == {r["owner"]["id"] for r in sim.numbers if r.get("owner")}
    ext_owner = next(r["owner"]["id"] for r in sim.numbers if not r.get("phoneNumber"))
    assert ext_owner in owners and not any(n.owner_id == ext_owner for n in inv.numbers)
    markup = next(o for o in inv.owners if o.first_name == "<b>Bob</b>")
    assert markup.name == '<b>Bob</b> & "Co"' and markup.owner_type == "PEOPLE"
    # locations: calling locations with addresses merged from /v1/locations, main numbers
    assert [loc.external_id for loc in inv.locations] == [loc["id"] for loc in sim.calling_locations]
    bangalore = next(loc for loc in inv.locations if loc.city == "Bangalore")
    assert (bangalore.country_code, bangalore.region, bangalore.kind) == ("IN", "Karnataka", "site")
    for loc in inv.locations:
        assert loc.main_number == next(l for l in sim.calling_locations if l["id"] == loc.external_id)[
            "calling"]["callingLineId"]["phoneNumber"]
        assert by_id(inv.numbers)[loc.main_number].is_main_number is True
    # caller-ID candidates per location
    expected = sum(
        1 for loc in sim.calling_locations for r in rows
        if r["includedTelephonyTypes"] != "MOBILE_NUMBER"
        and next(l for l in sim.locations if l["id"] == r["location"]["id"])["address"]["country"]
        == loc["address"]["country"])
    assert len(inv.caller_ids) == expected
    assert all(c.kind == "location_candidate" and c.external_id == f"{c.location_id}:{c.number}"
               for c in inv.caller_ids)
    kinds = {n.kind for n in inv.numbers}
    assert kinds == {KIND_LOCAL, KIND_MOBILE, KIND_TOLL_FREE}
    assert any(n.status == STATUS_INACTIVE for n in inv.numbers)


def test_headers_org_id_and_page_size_config(sim):
    before = len(sim.requests)
    with client_for(sim, org_id=sim.org_id, page_size=5000) as client:
        client.test_connection()
        inv = client.fetch_inventory()
    requests = sim.requests[before:]
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in requests)
    assert all(dict(r.query).get("orgId") == sim.org_id for r in requests)
    assert dict(requests[1].query)["max"] == "2000"  # page_size capped at Webex's 2000
    assert inv.pages_fetched == len(requests) - 1
    with client_for(sim, org_id="Y2lzY29zcGFyazovL3VzL09SR0FOSVpBVElPTi9vdGhlcg") as client:
        with pytest.raises(AuthError) as info:
            client.fetch_inventory()
    assert info.value.status == 403


def test_foreign_next_link_fails_the_run():
    with WebexSimulator(numbers=30, seed=2, foreign_next_link=True) as sim, client_for(sim, page_size=10) as client:
        with pytest.raises(UnsafeURL) as info:
            client.fetch_inventory()
        assert FOREIGN_HOST in str(info.value) and "not the configured host" in str(info.value)
        assert len(sim.requests) == 1  # the foreign page was never requested


def test_repeated_next_link_is_bad_response():
    with WebexSimulator(numbers=30, seed=2, repeat_next_link=True) as sim, client_for(sim, page_size=10) as client:
        with pytest.raises(BadResponse, match="repeats a page"):
            client.fetch_inventory()
        assert len(sim.requests) == 2


def test_endless_paging_is_capped(sim):
    with client_for(sim, page_size=10) as client:
        client.max_pages = 3
        with pytest.raises(BadResponse, match="more than 3 pages"):
            client.fetch_inventory()


def test_duplicate_number_across_pages_is_bad_response():
    with WebexSimulator(numbers=20, locations=2, seed=2) as sim, client_for(sim, page_size=10) as client:
        sim.numbers.insert(12, dict(next(r for r in sim.numbers[:10] if r.get("phoneNumber"))))
        with pytest.raises(BadResponse, match="repeated on page 2"):
            client.fetch_inventory()


def test_504_retries_the_page_with_a_smaller_max(sim):
    sim.gateway_timeout(max_above=30, path="/telephony/config/numbers", times=None)
    before = len(sim.requests)
    with client_for(sim, page_size=100) as client:
        inv = client.fetch_inventory()
    assert len(inv.numbers) == sum(1 for r in sim.numbers if r.get("phoneNumber"))
    pages = [dict(r.query) for r in sim.requests[before:] if r.path.endswith("/config/numbers")]
    assert [(p["max"], p["start"]) for p in pages[:3]] == [("100", "0"), ("50", "0"), ("25", "0")]
    assert all(p["max"] == "25" for p in pages[2:])  # next links carry the smaller max
    assert [p["start"] for p in pages[2:]] == [str(i) for i in range(0, len(sim.numbers), 25)]


def test_504_that_persists_is_unavailable(sim):
    sim.gateway_timeout(max_above=1, times=None)
    with client_for(sim, page_size=8) as client:
        with pytest.raises(Unavailable) as info:
            client.fetch_inventory()
    assert info.value.status == 504 and info.value.tracking_id == sim.last_tracking_id
    assert [dict(r.query)["max"] for r in sim.requests[-3:]] == ["8", "4", "2"]


def test_504_on_a_later_page_keeps_start(sim):
    sim.gateway_timeout(max_above=20, page=2, path="/telephony/config/numbers")
    before = len(sim.requests)
    with client_for(sim, page_size=40) as client:
        inv = client.fetch_inventory()
    assert len(inv.numbers) == sum(1 for r in sim.numbers if r.get("phoneNumber"))
    pages = [dict(r.query) for r in sim.requests[before:] if r.path.endswith("/config/numbers")]
    assert [(p["max"], p["start"]) for p in pages[:4]] == [("40", "0"), ("40", "40"), ("20", "40"), ("20", "60")]


@pytest.mark.parametrize("status", [429, 423])
def test_rate_limited_and_locked(sim, status):
    if status == 429:
        sim.faults.rate_limit(retry_after=7, page=2, path="/telephony/config/numbers")
    else:
        sim.lock(retry_after=3, page=2, path="/telephony/config/numbers")
    with client_for(sim, page_size=50) as client:
        with pytest.raises(RateLimited) as info:
            client.fetch_inventory()
    assert info.value.status == status and info.value.retry_after == (7 if status == 429 else 3)
    assert info.value.tracking_id == sim.last_tracking_id and info.value.tracking_id.startswith("ROUTER_")
    assert f"HTTP {status}" in str(info.value)


def test_401_is_auth_error_with_tracking_id_and_no_token(sim, caplog):
    caplog.set_level(logging.DEBUG)
    secret = "wx-SECRET-token-0123456789abcdef"
    with client_for(sim, token=secret) as client:
        with pytest.raises(AuthError) as info:
            client.test_connection()
        with pytest.raises(AuthError) as sync_info:
            client.fetch_inventory()
    err = info.value
    assert err.status == 401 and err.tracking_id.startswith("ROUTER_")
    assert sync_info.value.tracking_id == sim.last_tracking_id != err.tracking_id
    assert "The request requires a valid access token" in str(err)
    assert err.detail.startswith("The request requires a valid access token")
    for text in (str(err), err.detail, str(sync_info.value), caplog.text):
        assert secret not in text


def test_token_echoed_by_provider_is_redacted():
    secret = "wx-SECRET-token-0123456789abcdef"

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == f"Bearer {secret}"
        return httpx.Response(400, json={"message": f"bad token {secret}", "errors": [{"description": "x"}]},
                              headers={"TrackingID": f"T-{secret}"})

    with WebexClient(base_url="https://webexapis.com/v1", secrets={"access_token": secret},
                     transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(Exception) as info:
            client.fetch_inventory()
    assert secret not in str(info.value) and "[redacted]" in str(info.value)
    assert info.value.tracking_id == "T-[redacted]"  # from the header when the body has none


def test_403_on_plain_locations_only_drops_addresses(sim):
    sim.faults.fail(403, path="/v1/locations", times=None)
    with client_for(sim) as client:
        inv = client.fetch_inventory()
    assert inv.complete and len(inv.locations) == len(sim.calling_locations)
    assert all(loc.country_code == "" and loc.main_number for loc in inv.locations)


def test_500_truncated_and_wrong_shape_fail_the_run(sim):
    sim.faults.fail(500, page=2, path="/telephony/config/numbers")
    with client_for(sim, page_size=50) as client:
        with pytest.raises(Unavailable):
            client.fetch_inventory()
    sim.faults.truncate(path="/telephony/config/locations")
    with client_for(sim) as client:
        with pytest.raises(BadResponse, match="invalid or truncated JSON"):
            client.fetch_inventory()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"numbers": "nope"})

    with WebexClient(base_url="https://webexapis.com/v1", secrets={"access_token": TOKEN},
                     transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(BadResponse, match="no 'phoneNumbers' list"):
            client.fetch_inventory()


def test_mutations_between_syncs():
    with WebexSimulator(numbers=25, locations=2, seed=8) as sim, client_for(sim, page_size=10) as client:
        first = client.fetch_inventory()
        gone = next(n.external_id for n in first.numbers if not n.is_main_number)
        sim.remove_number(gone)
        owner = next(o for o in first.owners if o.owner_type == "PEOPLE")
        sim.update_owner(owner.external_id, firstName="Zed")
        added = sim.add_number(sim.calling_locations[1]["id"], owner_id=owner.external_id, state="INACTIVE")
        second = client.fetch_inventory()
    numbers = by_id(second.numbers)
    assert gone not in numbers and added["phoneNumber"] in numbers
    assert numbers[added["phoneNumber"]].status == STATUS_INACTIVE
    assert numbers[added["phoneNumber"]].owner_id == owner.external_id
    assert by_id(second.owners)[owner.external_id].first_name == "Zed"

