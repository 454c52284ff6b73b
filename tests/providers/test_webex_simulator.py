"""Webex Calling simulator over real sockets: auth, paging, the lookup, seeded data, mutations, and
the official Python SDK (wxc-sdk) listing numbers and locations against it."""

from __future__ import annotations

import collections
import re

import httpx
import phonenumbers
import pytest

from providers.simulators.webex import FEATURE_TYPES, FOREIGN_HOST, OWNER_TYPES, WebexSimulator

TOKEN = "demo-webex-token"
NUMBERS = "/v1/telephony/config/numbers"
CALLING_LOCATIONS = "/v1/telephony/config/locations"


@pytest.fixture(scope="module")
def shared_sim():
    with WebexSimulator(numbers=120, locations=6, seed=3) as running:
        yield running


@pytest.fixture
def sim(shared_sim):
    yield shared_sim
    shared_sim.faults.clear()
    shared_sim._timeouts.clear()


@pytest.fixture
def api(sim):
    with httpx.Client(base_url=sim.root_url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10) as client:
        yield client


def get_all(api, path: str, key: str, **params) -> list[dict]:
    items, url, pages = [], path, 0
    response = api.get(url, params={"max": 7, **params})
    while True:
        assert response.status_code == 200, response.text
        pages += 1
        items += response.json()[key]
        nxt = response.links.get("next")
        if not nxt:
            return items
        response = api.get(nxt["url"])


def wire_rows(sim) -> list[dict]:
    return [sim._render_number(r) for r in sim.numbers]


# -- auth and errors ------------------------------------------------------------------------------
@pytest.mark.parametrize("header", [None, "Bearer wrong", f"Basic {TOKEN}", TOKEN, f"bearer{TOKEN}"])
def test_bad_token_is_401_with_webex_error_body(sim, header):
    headers = {"Authorization": header} if header else {}
    response = httpx.get(sim.base_url + "/telephony/config/numbers", headers=headers)
    assert response.status_code == 401
    body = response.json()
    assert set(body) == {"message", "errors", "trackingId"}
    assert body["message"].startswith("The request requires a valid access token")
    assert body["errors"] == [{"description": body["message"]}]
    assert response.headers["trackingid"] == body["trackingId"] == sim.last_tracking_id
    assert body["trackingId"].startswith("ROUTER_")


def test_routes_methods_org_and_bad_params(api, sim):
    assert api.get("/v1/telephony/config/nope").status_code == 404
    assert api.get("/v2/telephony/config/numbers").status_code == 404
    assert api.post(NUMBERS).status_code == 405
    assert api.get(NUMBERS, params={"orgId": sim.org_id, "max": 1}).status_code == 200
    other = api.get(NUMBERS, params={"orgId": "Y2lzY29zcGFyazovL3VzL09SR0FOSVpBVElPTi9vdGhlcg"})
    assert other.status_code == 403 and other.json()["trackingId"]
    for params in ({"max": "x"}, {"max": "0"}, {"start": "-1"}):
        response = api.get(NUMBERS, params=params)
        assert response.status_code == 400, params
        assert response.json()["message"]
    unknown = api.get("/v1/telephony/config/locations/bm9wZQ/externalCallerId/availableNumbers")
    assert unknown.status_code == 404 and unknown.json()["errors"][0]["description"]


def test_every_response_has_a_tracking_id(api):
    response = api.get(NUMBERS, params={"max": 1})
    assert re.fullmatch(r"ROUTER_[0-9A-F-]{36}", response.headers["trackingid"])


# -- paging -------------------------------------------------------------------------------------------
def test_link_header_paging_with_host_and_params(api, sim):
    first = api.get(NUMBERS, params={"max": 50, "orgId": sim.org_id})
    assert first.status_code == 200
    assert first.headers["link"] == (f'<http://{first.request.headers["host"]}{NUMBERS}?orgId={sim.org_id}'
                                     f'&max=50&start=50>; rel="next"')
    second = api.get(first.links["next"]["url"])
    third = api.get(second.links["next"]["url"])
    assert len(first.json()["phoneNumbers"]) == len(second.json()["phoneNumbers"]) == 50
    assert "link" not in third.headers  # last page: no next link
    assert len(third.json()["phoneNumbers"]) == len(sim.numbers) - 100
    assert get_all(api, NUMBERS, "phoneNumbers") == wire_rows(sim)
    # exactly a multiple of max: no link on the page that holds the last item
    exact = api.get(NUMBERS, params={"max": len(sim.numbers)})
    assert "link" not in exact.headers and len(exact.json()["phoneNumbers"]) == len(sim.numbers)
    beyond = api.get(NUMBERS, params={"start": 10_000})
    assert beyond.json() == {"phoneNumbers": []} and "link" not in beyond.headers


def test_default_max_and_cap(api, sim):
    body = api.get(NUMBERS).json()
    assert len(body["phoneNumbers"]) == len(sim.numbers)  # default max 2000
    assert "count" not in body
    locs = get_all(api, "/v1/locations", "items")
    assert len(locs) == 7  # six calling locations and one without Webex Calling


def test_switches_foreign_and_repeated_next_link(sim):
    with WebexSimulator(numbers=30, seed=2, foreign_next_link=True) as foreign:
        response = httpx.get(foreign.base_url + "/telephony/config/numbers", params={"max": 10},
                             headers={"Authorization": f"Bearer {TOKEN}"})
        assert httpx.URL(response.links["next"]["url"]).host == FOREIGN_HOST
    with WebexSimulator(numbers=30, seed=2, repeat_next_link=True) as stuck:
        urls = set()
        url = stuck.base_url + "/telephony/config/numbers?max=10"
        for _ in range(3):
            response = httpx.get(url, headers={"Authorization": f"Bearer {TOKEN}"})
            url = response.links["next"]["url"]
            urls.add(url)
        assert len(urls) == 1 and "start=10" in url


def test_gateway_timeout_when_max_too_large_and_lock(api, sim):
    sim.gateway_timeout(max_above=20, path="/numbers")
    response = api.get(NUMBERS, params={"max": 40})
    assert response.status_code == 504 and response.json()["trackingId"]
    assert api.get(NUMBERS, params={"max": 40}).status_code == 200  # once only
    sim.gateway_timeout(max_above=20, times=None)
    assert api.get(NUMBERS, params={"max": 20}).status_code == 200
    assert api.get(CALLING_LOCATIONS).status_code == 504  # default max 2000 > 20
    sim._timeouts.clear()
    sim.lock(retry_after=4)
    locked = api.get(NUMBERS)
    assert locked.status_code == 423 and locked.headers["retry-after"] == "4"
    sim.faults.rate_limit(retry_after=3)
    limited = api.get(NUMBERS)
    assert limited.status_code == 429 and limited.headers["retry-after"] == "3"
    assert limited.json()["message"] == "Too Many Requests" and limited.json()["trackingId"]


def test_page_targeted_faults(api, sim):
    sim.faults.fail(500, page=2, path="/numbers")
    assert api.get(NUMBERS, params={"max": 10}).status_code == 200
    assert api.get(NUMBERS, params={"max": 10, "start": 10}).status_code == 500


# -- lookup and other listings -------------------------------------------------------------------------
def test_phone_number_lookup(api, sim):
    rows = wire_rows(sim)
    target = next(r for r in rows if r.get("phoneNumber") and r.get("owner"))
    assert get_all(api, NUMBERS, "phoneNumbers", phoneNumber=target["phoneNumber"]) == [target]
    assert get_all(api, NUMBERS, "phoneNumbers", phoneNumber="not a number") == []


def test_locations_listings(api, sim):
    calling = get_all(api, CALLING_LOCATIONS, "locations")
    assert [c["id"] for c in calling] == [loc["id"] for loc in sim.calling_locations]
    for item in calling:
        assert set(item) == {"id", "name", "routingPrefix", "outsideDialDigit", "callingLineId",
                             "e911SetupRequired", "enforceOutsideDialDigit"}
        main = [r for r in sim.numbers if r["location"]["id"] == item["id"] and r["mainNumber"]]
        assert [r["phoneNumber"] for r in main] == [item["callingLineId"]["phoneNumber"]]
    plain = get_all(api, "/v1/locations", "items")
    assert {p["address"]["city"] for p in plain} >= {"San Francisco", "London", "Bangalore", "Berlin", "Sydney"}
    assert all(set(p["address"]) >= {"city", "state", "country"} and "calling" not in p for p in plain)


def test_available_caller_id_numbers(api, sim):
    london = next(loc for loc in sim.calling_locations if loc["name"] == "London")
    path = f"{CALLING_LOCATIONS}/{london['id']}/externalCallerId/availableNumbers"
    items = get_all(api, path, "phoneNumbers")
    gb = [r for r in wire_rows(sim) if r.get("phoneNumber", "").startswith("+44")
          and r["includedTelephonyTypes"] != "MOBILE_NUMBER"]
    assert [i["phoneNumber"] for i in items] == [r["phoneNumber"] for r in gb]
    for item in items:
        assert "mainNumber" not in item and isinstance(item["isMainNumber"], bool)
        assert list(item)[:1] == ["phoneNumber"] and {"state", "tollFreeNumber", "isServiceNumber", "location"} <= set(item)
    assert sum(i["isMainNumber"] for i in items) == 1


# -- seeded data ----------------------------------------------------------------------------------------
def test_seeded_mix(sim):
    rows = wire_rows(sim)
    types = collections.Counter(r["owner"]["type"] for r in rows if r.get("owner"))
    assert set(OWNER_TYPES) <= set(types) and "AI_RECEPTIONIST" in types
    assert any(not r.get("owner") and r.get("phoneNumber") for r in rows)  # unassigned
    assert any(r.get("phoneNumber") == "" for r in rows) and any("phoneNumber" not in r for r in rows)
    assert any(r["tollFreeNumber"] for r in rows) and any(r["isServiceNumber"] for r in rows)
    assert any(r["state"] == "INACTIVE" for r in rows)
    assert any(r["includedTelephonyTypes"] == "MOBILE_NUMBER" and r["mobileNetwork"] for r in rows)
    assert {r["phoneNumberType"] for r in rows} >= {"PRIMARY", "ALTERNATE"}
    people = [r["owner"] for r in rows if r.get("owner", {}).get("type") == "PEOPLE"]
    assert all("displayName" not in o and o["firstName"] and o["lastName"] for o in people)
    assert [o["lastName"] for o in people if o["firstName"] == "<b>Bob</b>"] == ['& "Co"']  # for escaping tests
    features = [r["owner"] for r in rows if r.get("owner", {}).get("type") in FEATURE_TYPES]
    assert all(o["displayName"] and "firstName" not in o for o in features)
    countries = {loc["address"]["country"] for loc in sim.calling_locations}
    assert countries == {"US", "GB", "IN", "DE", "AU"}
    for row in rows:  # extensions and ESNs are consistent
        if "extension" in row:
            assert row["esn"] == row["routingPrefix"] + row["extension"]


@pytest.mark.parametrize("seed, numbers, locations", [(1, 120, 5), (7, 300, 8), (11, 40, 10)])
def test_every_number_is_valid_for_its_location_country(seed, numbers, locations):
    sim = WebexSimulator(numbers=numbers, locations=locations, seed=seed)
    country = {loc["id"]: loc["address"]["country"] for loc in sim.locations}
    with_number = [r for r in sim.numbers if r.get("phoneNumber")]
    assert len(with_number) == numbers
    assert len({r["phoneNumber"] for r in with_number}) == numbers
    for row in with_number:
        parsed = phonenumbers.parse(row["phoneNumber"])
        assert phonenumbers.is_valid_number(parsed), row["phoneNumber"]
        assert phonenumbers.region_code_for_number(parsed) == country[row["location"]["id"]]
        if row["tollFreeNumber"]:
            assert phonenumbers.number_type(parsed) == phonenumbers.PhoneNumberType.TOLL_FREE


def test_same_seed_same_data_other_seed_differs():
    a, b, c = WebexSimulator(seed=5), WebexSimulator(seed=5), WebexSimulator(seed=6)
    assert a.numbers == b.numbers and a.locations == b.locations and a.org_id == b.org_id
    assert a.numbers != c.numbers


def test_small_and_empty_orgs():
    empty = WebexSimulator(numbers=0, locations=2)
    assert empty.numbers == [] and len(empty.calling_locations) == 2
    tiny = WebexSimulator(numbers=3, locations=5)
    assert sum(1 for r in tiny.numbers if r.get("phoneNumber")) == 3


def test_mutations_show_up(sim):
    with WebexSimulator(numbers=20, locations=2, seed=4) as fresh, httpx.Client(
            base_url=fresh.root_url, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        loc = fresh.calling_locations[0]
        added = fresh.add_number(loc["id"], kind="toll_free")
        gone = next(r["phoneNumber"] for r in fresh.numbers if r.get("phoneNumber") and not r["mainNumber"])
        fresh.remove_number(gone)
        owned = next(r for r in fresh.numbers if r.get("owner", {}).get("type") == "PEOPLE")
        fresh.update_owner(owned["owner"]["id"], firstName="Renamed")
        fresh.update_number(added["phoneNumber"], state="INACTIVE")
        fresh.update_location(loc["id"], name="HQ")
        fresh.assign(added["phoneNumber"], owned["owner"]["id"])
        rows = client.get(NUMBERS).json()["phoneNumbers"]
        by_number = {r.get("phoneNumber"): r for r in rows}
        assert gone not in by_number
        assert by_number[added["phoneNumber"]]["state"] == "INACTIVE"
        assert by_number[added["phoneNumber"]]["owner"]["firstName"] == "Renamed"
        assert by_number[added["phoneNumber"]]["location"]["name"] == "HQ"
        assert by_number[added["phoneNumber"]]["tollFreeNumber"] is True
        fresh.assign(added["phoneNumber"], None)
        assert "owner" not in client.get(NUMBERS, params={"phoneNumber": added["phoneNumber"]}).json()["phoneNumbers"][0]
        fresh.set_main_number(loc["id"], added["phoneNumber"])
        clid = client.get(CALLING_LOCATIONS).json()["locations"][0]["callingLineId"]
        assert clid["phoneNumber"] == added["phoneNumber"]
        with pytest.raises(KeyError):
            fresh.remove_number(gone)
        with pytest.raises(KeyError):
            fresh.update_number(added["phoneNumber"], bogus=1)


# -- the official SDK (wxc-sdk) -----------------------------------------------------------------------------
@pytest.fixture
def wx(sim, monkeypatch):
    """The unmodified SDK; only its class-level BASE URL is pointed at the simulator (plain http)."""
    wxc_sdk = pytest.importorskip("wxc_sdk")
    from wxc_sdk.rest import RestSession
    from wxc_sdk.tokens import Tokens

    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)

    class SimulatorSession(RestSession):
        BASE = sim.base_url  # RestSession.BASE = 'https://webexapis.com/v1'

    def make(token: str = TOKEN, retry_429: bool = False):
        tokens = Tokens(access_token=token)
        session = SimulatorSession(tokens=tokens, concurrent_requests=2, retry_429=retry_429)
        return wxc_sdk.WebexSimpleApi(tokens=tokens, session=session)

    api = make()
    yield make, api
    api.close()


def test_wxc_sdk_lists_org_numbers(wx, sim):
    make, api = wx
    before = len(sim.requests)
    numbers = list(api.telephony.phone_numbers())
    rows = wire_rows(sim)
    assert len(numbers) == len(rows)
    for model, row in zip(numbers, rows, strict=True):
        assert model.phone_number == row.get("phoneNumber")
        assert model.extension == row.get("extension")
        assert model.main_number is row["mainNumber"] and model.toll_free_number is row["tollFreeNumber"]
        assert model.is_service_number is row["isServiceNumber"]
        assert model.state == row["state"] and model.phone_number_type == row["phoneNumberType"]
        assert model.included_telephony_types == row["includedTelephonyTypes"]
        assert model.location.id == row["location"]["id"] and model.location.name == row["location"]["name"]
        if "owner" in row:
            assert model.owner.owner_id == row["owner"]["id"] and model.owner.owner_type == row["owner"]["type"]
            assert model.owner.display_name == row["owner"].get("displayName")
            assert model.owner.first_name == row["owner"].get("firstName")
        else:
            assert model.owner is None
    req = sim.requests[before]
    assert req.headers["authorization"] == f"Bearer {TOKEN}" and req.headers["trackingid"].startswith("SIMPLE_")
    # a partner administrator's org, as the SDK sends it
    in_org = list(api.telephony.phone_numbers(org_id=sim.org_id))
    assert len(in_org) == len(rows) and ("orgId", sim.org_id) in sim.requests[-1].query


def test_wxc_sdk_follows_link_pages(wx, sim):
    make, api = wx
    before = len(sim.requests)
    numbers = list(api.telephony.phone_numbers(max=25))
    assert [n.phone_number for n in numbers] == [r.get("phoneNumber") for r in wire_rows(sim)]
    pages = sim.requests[before:]
    assert len(pages) == -(-len(sim.numbers) // 25)
    # params only on the first request (no start); then the next links, verbatim
    assert [dict(p.query).get("start") for p in pages] == [None] + [str(i * 25) for i in range(1, len(pages))]
    assert all(dict(p.query)["max"] == "25" for p in pages)


def test_wxc_sdk_lists_locations(wx, sim):
    make, api = wx
    calling = list(api.telephony.location.list())
    assert [c.location_id for c in calling] == [loc["id"] for loc in sim.calling_locations]
    for model, loc in zip(calling, sim.calling_locations, strict=True):
        assert model.name == loc["name"]
        assert model.calling_line_id.phone_number == loc["calling"]["callingLineId"]["phoneNumber"]
        assert model.routing_prefix == loc["calling"]["routingPrefix"]
    plain = list(api.locations.list())
    assert [p.location_id for p in plain] == [loc["id"] for loc in sim.locations]
    bangalore = next(p for p in plain if p.name == "Bangalore")
    assert (bangalore.address.city, bangalore.address.state, bangalore.address.country) == ("Bangalore", "Karnataka", "IN")
    assert bangalore.time_zone == "Asia/Kolkata" and bangalore.org_id == sim.org_id


def test_wxc_sdk_available_caller_id_numbers(wx, sim):
    make, api = wx
    loc = next(loc for loc in sim.calling_locations if loc["address"]["country"] == "DE")
    available = list(api.telephony.location.phone_numbers_available_for_external_caller_id(location_id=loc["id"]))
    de = [r for r in wire_rows(sim) if r.get("phoneNumber", "").startswith("+49")
          and r["includedTelephonyTypes"] != "MOBILE_NUMBER"]
    assert [a.phone_number for a in available] == [r["phoneNumber"] for r in de]
    assert [a.is_main_number for a in available] == [r["mainNumber"] for r in de]


def test_wxc_sdk_sees_webex_errors(wx, sim):
    from wxc_sdk.rest import ErrorDetail, RestError

    make, api = wx
    bad = make(token="not-the-token")
    with pytest.raises(RestError) as info:
        list(bad.telephony.phone_numbers())
    assert info.value.response.status_code == 401
    assert isinstance(info.value.detail, ErrorDetail)
    assert info.value.detail.tracking_id == sim.last_tracking_id
    assert info.value.description.startswith("The request requires a valid access token")
    bad.close()
    sim.faults.rate_limit(retry_after=1, path="/numbers")
    with pytest.raises(RestError) as info:
        list(api.telephony.phone_numbers())
    assert info.value.response.status_code == 429
    retrying = make(retry_429=True)  # the SDK honours Retry-After (int seconds) and retries
    sim.faults.rate_limit(retry_after=1, path="/numbers")
    assert len(list(retrying.telephony.phone_numbers())) == len(sim.numbers)
    retrying.close()
