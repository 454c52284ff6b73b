"""DIDWW v3 simulator over real sockets: wire shape, paging, includes, errors, faults, data."""

from __future__ import annotations

import json
import math
import re
import uuid

import httpx
import phonenumbers
import pytest

from providers.simulators.didww import DidwwSimulator

KEY = "demo-didww-key"
JSONAPI = "application/vnd.api+json"
DID_INCLUDE = "voice_in_trunk,voice_in_trunk_group,did_group.country,did_group.city"
STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


@pytest.fixture(scope="module")
def shared_sim():
    # One server for the read-only tests: stopping one costs ~0.5 s (serve_forever's poll).
    with DidwwSimulator(dids=205, seed=7) as running:
        yield running


@pytest.fixture
def fresh_sim():
    """A private simulator for tests that mutate its data."""
    with DidwwSimulator(dids=205, seed=7) as running:
        yield running


def client_for(sim: DidwwSimulator, **kw) -> httpx.Client:
    return httpx.Client(base_url=sim.base_url, headers={"Api-Key": KEY, "Accept": JSONAPI}, timeout=10, **kw)


@pytest.fixture
def api(sim):
    with client_for(sim) as client:
        yield client


def get_ok(api: httpx.Client, path: str, **params) -> dict:
    response = api.get(path, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == JSONAPI
    return response.json()


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == JSONAPI
    (error,) = response.json()["errors"]
    assert set(error) == {"title", "detail", "code", "status"}
    assert error["status"] == str(status) and error["title"] and error["detail"]
    if code is not None:
        assert error["code"] == code
    return error


def fetch_all(api: httpx.Client, path: str, size: int, **params) -> list[dict]:
    first = get_ok(api, path, **{"page[size]": size, **params})
    pages = math.ceil(first["meta"]["total_records"] / size)
    items = list(first["data"])
    for number in range(2, pages + 1):
        items += get_ok(api, path, **{"page[size]": size, "page[number]": number, **params})["data"]
    return items


# -- auth & versions ---------------------------------------------------------------------------
def test_auth_failure_is_jsonapi_401(sim):
    for headers in ({}, {"Api-Key": "wrong"}, {"Authorization": f"Bearer {KEY}"}):
        error = assert_error(httpx.get(f"{sim.base_url}/dids", headers=headers), 401, "401")
        assert error["title"] == "Unauthorized"


def test_bearer_only_api_version_refuses_api_key(api):
    error = assert_error(api.get("/dids", headers={"X-DIDWW-API-Version": "2026-11-19"}), 401)
    assert "2026-11-19" in error["detail"]


def test_api_version_echo(api):
    assert get_ok(api, "/dids")["meta"]["api_version"] == "2026-04-16"
    newer = api.get("/dids", headers={"X-DIDWW-API-Version": "2026-06-01"}).json()
    assert newer["meta"]["api_version"] == "2026-06-01"
    # Like DIDWW, a version older than the account default is ignored.
    older = api.get("/dids", headers={"X-DIDWW-API-Version": "2022-05-10"}).json()
    assert older["meta"]["api_version"] == "2026-04-16"


def test_older_account_version_hides_newer_fields():
    with DidwwSimulator(dids=3, api_version="2022-05-10") as sim:
        doc = httpx.get(f"{sim.base_url}/dids", headers={"Api-Key": KEY}).json()
    assert doc["meta"]["api_version"] == "2022-05-10"
    did = doc["data"][0]
    assert "emergency_enabled" not in did["attributes"]
    assert "identity" not in did["relationships"] and "address_verification" in did["relationships"]


# -- pagination --------------------------------------------------------------------------------
def test_pagination_math_links_and_total(api, sim):
    first = get_ok(api, "/dids", **{"page[size]": 50, "include": "did_group"})
    assert first["meta"]["total_records"] == 205 and len(first["data"]) == 50
    links = first["links"]
    assert list(links) == ["first", "next", "last"]  # no prev on page 1
    assert links["first"].startswith(sim.base_url + "/dids?")
    assert links["next"] == f"{sim.base_url}/dids?include=did_group&page%5Bnumber%5D=2&page%5Bsize%5D=50"
    assert "page%5Bnumber%5D=5&" in links["last"]
    last = get_ok(api, "/dids", **{"page[size]": 50, "page[number]": 5})
    assert len(last["data"]) == 5 and list(last["links"]) == ["first", "prev", "last"]  # no next at the end
    assert "page%5Bnumber%5D=4&" in last["links"]["prev"]
    middle = get_ok(api, "/dids", **{"page[size]": 50, "page[number]": 3})
    assert list(middle["links"]) == ["first", "prev", "next", "last"]
    beyond = get_ok(api, "/dids", **{"page[size]": 50, "page[number]": 9})
    assert beyond["data"] == [] and beyond["meta"]["total_records"] == 205
    ids = [d["id"] for d in fetch_all(api, "/dids", 50)]
    assert len(ids) == len(set(ids)) == 205 and set(ids) == {d["id"] for d in sim.dids}
    assert get_ok(api, "/dids")["links"]["first"].endswith("page%5Bnumber%5D=1&page%5Bsize%5D=50")  # defaults


def test_links_use_the_host_the_client_sent(api):
    doc = api.get("/pops", headers={"Host": "numbers.test:8080"}).json()
    assert doc["links"]["first"].startswith("http://numbers.test:8080/v3/pops?")


def test_page_size_cap(api):
    assert len(get_ok(api, "/dids", **{"page[size]": 100})["data"]) == 100
    error = assert_error(api.get("/dids", params={"page[size]": 101}), 400, "118")
    assert "100" in error["detail"]
    assert get_ok(api, "/countries", **{"page[size]": 1000})["meta"]["total_records"] == 10  # catalogs: 1000


@pytest.mark.parametrize("params, code", [
    ({"page[size]": "abc"}, "118"), ({"page[number]": "0"}, "118"), ({"page[number]": "-1"}, "118"),
    ({"page[size]": "1.5"}, "118"), ({"page[offset]": "1"}, "105"), ({"limit": "10"}, "105"),
    ({"include": "bogus"}, "112"), ({"include": "did_group.bogus"}, "112"), ({"include": "order.items"}, "112"),
    ({"include": "trunk"}, "112"),
    # not simulated (no client sends them): refused, never silently ignored
    ({"filter[blocked]": "true"}, "105"), ({"sort": "number"}, "105"), ({"fields[dids]": "number"}, "105"),
])
def test_bad_parameters_are_400_never_500(api, params, code):
    assert_error(api.get("/dids", params=params), 400, code)


def test_unknown_routes_and_methods(api, sim):
    assert_error(api.get("/bogus"), 404)
    assert_error(api.get("/dids/1/2/3"), 404)
    assert_error(api.post("/dids", json={}), 405)
    error = assert_error(api.get("/dids/44957076-778a-4802-b60c-d22db0cda284"), 404, "404")
    assert error == {"title": "Record not found", "code": "404", "status": "404",
                     "detail": "The record identified by 44957076-778a-4802-b60c-d22db0cda284 could not be found."}


# -- resource shape & includes -----------------------------------------------------------------
def test_every_endpoint_lists_its_type(api, sim):
    for type_ in ("dids", "voice_in_trunks", "voice_in_trunk_groups", "did_groups", "countries", "regions",
                  "cities", "pops", "did_group_types"):
        doc = get_ok(api, f"/{type_}", **{"page[size]": 100})
        assert doc["meta"]["total_records"] == len(getattr(sim, type_))
        assert doc["data"] and all(item["type"] == type_ for item in doc["data"])
        assert "included" not in doc
        single = get_ok(api, f"/{type_}/{doc['data'][0]['id']}")
        assert single["data"] == doc["data"][0] and "links" not in single and "total_records" not in single["meta"]


def test_did_shape_matches_cassettes(api, sim):
    did = get_ok(api, "/dids")["data"][0]
    assert list(did) == ["id", "type", "attributes", "relationships"]
    assert uuid.UUID(did["id"]).version == 4
    assert set(did["attributes"]) == {
        "blocked", "capacity_limit", "description", "terminated", "awaiting_registration", "created_at",
        "billing_cycles_count", "number", "expires_at", "channels_included_count", "dedicated_channels_count",
        "emergency_enabled"}
    assert did["attributes"]["number"].isdigit()
    assert STAMP.match(did["attributes"]["created_at"]) and STAMP.match(did["attributes"]["expires_at"])
    for name, rel in did["relationships"].items():
        link = f"{sim.base_url}/dids/{did['id']}"
        assert rel == {"links": {"self": f"{link}/relationships/{name}", "related": f"{link}/{name}"}}


def linkages(resource: dict) -> list[tuple[str, str]]:
    found = []
    for rel in resource.get("relationships", {}).values():
        data = rel.get("data")
        for ident in data if isinstance(data, list) else [data] if data else []:
            found.append((ident["type"], ident["id"]))
    return found


def test_include_resolution(api, sim):
    include = ("voice_in_trunk,voice_in_trunk.voice_in_trunk_group,voice_in_trunk.pop,voice_in_trunk_group,"
               "did_group,did_group.country,did_group.city,did_group.region,did_group.did_group_type,"
               "order,capacity_pool,shared_capacity_group,did_group.stock_keeping_units")
    doc = get_ok(api, "/dids", include=include, **{"page[size]": 100})
    included = {(r["type"], r["id"]): r for r in doc["included"]}
    assert len(included) == len(doc["included"])  # flat and de-duplicated
    for did in doc["data"]:
        rels = did["relationships"]
        assert all("data" in rels[n] for n in ("voice_in_trunk", "voice_in_trunk_group", "did_group", "order",
                                                "capacity_pool", "shared_capacity_group"))
        assert rels["order"]["data"] is None and "data" not in rels["identity"]
        for key in linkages(did):
            assert key in included, key
    for resource in doc["included"]:
        for key in linkages(resource):
            assert key in included, key
    groups = [r for r in doc["included"] if r["type"] == "did_groups"]
    assert all(g["relationships"]["stock_keeping_units"]["data"] == [] for g in groups)
    assert all("data" not in g["relationships"]["address_requirement"] for g in groups)
    assert {t for t, _ in included} == {"voice_in_trunks", "voice_in_trunk_groups", "pops", "did_groups",
                                         "countries", "cities", "regions", "did_group_types"}
    # Only relationships on the include path carry data: trunks included via DIDs show their
    # group & pop linkage, but groups reached that way do not list their trunks.
    for group in (r for r in doc["included"] if r["type"] == "voice_in_trunk_groups"):
        assert "data" not in group["relationships"]["voice_in_trunks"]
    routed = [d for d in doc["data"] if d["relationships"]["voice_in_trunk"]["data"]]
    assert routed and all(d["relationships"]["voice_in_trunk_group"]["data"] is None for d in routed)


def test_include_on_other_endpoints(api):
    trunks = get_ok(api, "/voice_in_trunks", include="voice_in_trunk_group,pop")
    assert all("data" in t["relationships"]["pop"] for t in trunks["data"])
    groups = get_ok(api, "/voice_in_trunk_groups", include="voice_in_trunks")
    member_ids = {i for g in groups["data"] for _, i in linkages(g)}
    assert member_ids == {r["id"] for r in groups["included"]}
    assert all(g["meta"]["trunks_count"] == len(g["relationships"]["voice_in_trunks"]["data"]) for g in groups["data"])
    legacy_alias = get_ok(api, "/voice_in_trunk_groups", include="trunks")  # older SDKs sent include=trunks
    assert legacy_alias["included"] == groups["included"]
    did_groups = get_ok(api, "/did_groups", include="country,region,city,did_group_type")
    keys = {(r["type"], r["id"]) for r in did_groups["included"]}
    assert all(k in keys for g in did_groups["data"] for k in linkages(g))
    assert all(set(g["meta"]) == {"available_dids_enabled", "needs_registration", "is_available", "total_count"}
               for g in did_groups["data"])
    for path, include in (("/regions", "country"), ("/cities", "country,region")):
        doc = get_ok(api, path, include=include)
        assert {(r["type"], r["id"]) for r in doc["included"]} == {k for r in doc["data"] for k in linkages(r)}
    empty = get_ok(api, "/pops", include="")
    assert "included" not in empty


def test_single_did_with_include(api, sim):
    did = next(d for d in sim.dids if d["voice_in_trunk_id"])
    doc = get_ok(api, f"/dids/{did['id']}", include="voice_in_trunk")
    linkage = doc["data"]["relationships"]["voice_in_trunk"]["data"]
    assert linkage == {"type": "voice_in_trunks", "id": did["voice_in_trunk_id"]}
    assert [r["id"] for r in doc["included"]] == [did["voice_in_trunk_id"]]
    assert doc["meta"] == {"api_version": "2026-04-16"}


def test_legacy_relationship_names():
    with DidwwSimulator(dids=40, legacy_relationship_names=True) as sim:
        client = httpx.Client(base_url=sim.base_url, headers={"Api-Key": KEY})
        doc = client.get("/dids", params={"include": "trunk,trunk_group"}).json()
        did = doc["data"][0]
        assert "trunk" in did["relationships"] and "voice_in_trunk" not in did["relationships"]
        assert "trunk_group" in did["relationships"] and "voice_in_trunk_group" not in did["relationships"]
        kinds = {(r["relationships"]["trunk"]["data"] or {}).get("type") for r in doc["data"]}
        assert kinds == {"voice_in_trunks", None}
        assert {r["type"] for r in doc["included"]} == {"voice_in_trunks", "voice_in_trunk_groups"}
        # Current names are still accepted in include; the response keeps the legacy names.
        modern = client.get("/dids", params={"include": "voice_in_trunk"}).json()
        assert "data" in modern["data"][0]["relationships"]["trunk"]


def test_default_order(api, sim):
    default = [d["id"] for d in fetch_all(api, "/dids", 100)]
    assert default == [d["id"] for d in sorted(sim.dids, key=lambda d: (d["created_at"], d["id"]))]


# -- faults ------------------------------------------------------------------------------------
def test_fault_500_on_page_three(api, sim):
    sim.faults.fail(500, page=3, path="/dids")
    assert get_ok(api, "/dids", **{"page[number]": 2})["data"]
    error = assert_error(api.get("/dids", params={"page[number]": 3}), 500)
    assert error["title"] == "Internal Server Error"
    assert get_ok(api, "/dids", **{"page[number]": 3})["data"]  # times=1: the retry succeeds


def test_fault_429_with_retry_after(api, sim):
    sim.faults.rate_limit(retry_after=2, path="/voice_in_trunks")
    response = api.get("/voice_in_trunks")
    assert_error(response, 429, "429")
    assert response.headers["Retry-After"] == "2"
    assert api.get("/voice_in_trunks").status_code == 200


def test_fault_stall_times_out_client(sim):
    sim.faults.stall(seconds=2, page=1)
    with httpx.Client(base_url=sim.base_url, headers={"Api-Key": KEY}, timeout=httpx.Timeout(5, read=0.5)) as client:
        with pytest.raises(httpx.ReadTimeout):
            client.get("/dids")


def test_fault_truncated_json(api, sim):
    sim.faults.truncate(page=2)
    response = api.get("/dids", params={"page[number]": 2})
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)


# -- data --------------------------------------------------------------------------------------
def test_same_seed_same_data_other_seed_differs():
    a, b, c = DidwwSimulator(seed=3), DidwwSimulator(seed=3), DidwwSimulator(seed=4)
    for type_ in ("dids", "voice_in_trunks", "voice_in_trunk_groups", "did_groups", "countries", "cities"):
        assert getattr(a, type_) == getattr(b, type_)
    assert a.dids != c.dids
    assert a.add_dids(3) == b.add_dids(3)


@pytest.mark.parametrize("seed, count", [(1, 200), (2, 3000)])
def test_every_number_is_valid_for_its_country(seed, count):
    sim = DidwwSimulator(dids=count, seed=seed)
    groups = {g["id"]: g for g in sim.did_groups}
    iso = {c["id"]: c["iso"] for c in sim.countries}
    numbers = [(d["number"], iso[groups[d["did_group_id"]]["country_id"]]) for d in sim.dids]
    assert len({n for n, _ in numbers}) == count
    for number, country in numbers:
        parsed = phonenumbers.parse("+" + number)
        assert phonenumbers.is_possible_number(parsed) and phonenumbers.is_valid_number(parsed), number
        assert phonenumbers.region_code_for_number(parsed) == country, number
    for trunk in sim.voice_in_trunks:  # PSTN trunks forward to valid numbers too
        if trunk["configuration"]["type"] == "pstn_configurations":
            assert phonenumbers.is_valid_number(phonenumbers.parse("+" + trunk["configuration"]["attributes"]["dst"]))


def test_seeded_mix():
    sim = DidwwSimulator()
    assert len(sim.dids) == 200 and len(sim.voice_in_trunks) == 6 and len(sim.voice_in_trunk_groups) == 2
    assert {"US", "GB", "DE", "FR", "NL"} <= {c["iso"] for c in sim.countries}
    assert {"Local", "Mobile", "Toll-free", "National"} <= {t["name"] for t in sim.did_group_types}
    on_trunk = [d for d in sim.dids if d["voice_in_trunk_id"]]
    on_group = [d for d in sim.dids if d["voice_in_trunk_group_id"]]
    unrouted = [d for d in sim.dids if not d["voice_in_trunk_id"] and not d["voice_in_trunk_group_id"]]
    assert len(on_trunk) > len(on_group) > len(unrouted) > 0
    assert not any(d["voice_in_trunk_id"] and d["voice_in_trunk_group_id"] for d in sim.dids)
    assert {t["id"] for t in sim.voice_in_trunks} - {d["voice_in_trunk_id"] for d in sim.dids}
    assert {g["id"] for g in sim.voice_in_trunk_groups} - {d["voice_in_trunk_group_id"] for d in sim.dids}
    for flag in ("blocked", "awaiting_registration", "terminated"):
        assert 0 < sum(d[flag] for d in sim.dids) < 40, flag
    assert all(d["blocked"] for d in sim.dids if d["awaiting_registration"])
    assert {t["configuration"]["type"] for t in sim.voice_in_trunks} == {"sip_configurations", "pstn_configurations"}
    assert all(uuid.UUID(d["id"]).version == 4 for d in sim.dids)
    assert len(DidwwSimulator(dids=0, countries=["gb", "DE"]).countries) == 2
    with pytest.raises(ValueError):
        DidwwSimulator(countries=["XX"])


def test_mutations_show_up_between_syncs(fresh_sim):
    sim, api = fresh_sim, client_for(fresh_sim)
    gone = sim.dids[0]["id"]
    sim.remove_did(gone)
    added = sim.add_dids(2)
    target = sim.dids[5]
    group = sim.voice_in_trunk_groups[0]["id"]
    sim.update_did(target["id"], description="renamed", voice_in_trunk_group_id=group)
    items = fetch_all(api, "/dids", 100)
    assert len(items) == 206 and gone not in {d["id"] for d in items}
    assert [d["id"] for d in items[-2:]] == [d["id"] for d in added]  # newest sort last by default
    doc = get_ok(api, f"/dids/{target['id']}", include="voice_in_trunk,voice_in_trunk_group")
    assert doc["data"]["attributes"]["description"] == "renamed"
    assert doc["data"]["relationships"]["voice_in_trunk_group"]["data"]["id"] == group
    assert doc["data"]["relationships"]["voice_in_trunk"]["data"] is None  # trunk XOR trunk group
    with pytest.raises(KeyError):
        sim.update_did(target["id"], bogus=1)
    with pytest.raises(KeyError):
        sim.remove_did(gone)


# -- the official SDK --------------------------------------------------------------------------
def test_official_sdk_lists_dids_and_trunks(sim):
    from didww.client import DidwwClient
    from didww.query_params import QueryParams

    client = DidwwClient(KEY, base_url=sim.base_url)
    params = QueryParams().include("voice_in_trunk", "voice_in_trunk_group", "did_group.country", "did_group.city")
    listed = client.dids().list(params.page(number=1, size=100))
    assert len(listed.data) == 100 and listed.meta["total_records"] == 205
    assert listed.meta["api_version"] == "2026-04-16"
    trunks = {t["id"]: t for t in sim.voice_in_trunks}
    groups = {g["id"]: g for g in sim.voice_in_trunk_groups}
    did_groups = {g["id"]: g for g in sim.did_groups}
    records = {d["id"]: d for d in sim.dids}
    for did in listed.data:
        rec = records[did.id]
        assert did.number == rec["number"] and did.blocked == rec["blocked"]
        assert did.created_at.isoformat(timespec="milliseconds").replace("+00:00", "Z") == rec["created_at"]
        if rec["voice_in_trunk_id"]:
            assert did.voice_in_trunk.name == trunks[rec["voice_in_trunk_id"]]["name"]
        else:
            assert did.voice_in_trunk is None
        if rec["voice_in_trunk_group_id"]:
            assert did.voice_in_trunk_group.name == groups[rec["voice_in_trunk_group_id"]]["name"]
        group = did_groups[rec["did_group_id"]]
        assert did.did_group.area_name == group["area_name"]
        assert did.did_group.country.id == group["country_id"] and did.did_group.country.iso
        if group["city_id"]:
            assert did.did_group.city.name == group["area_name"]
    sdk_trunks = client.voice_in_trunks().list(QueryParams().include("voice_in_trunk_group", "pop")).data
    assert {t.name for t in sdk_trunks} == {t["name"] for t in sim.voice_in_trunks}
    for trunk in sdk_trunks:
        rec = trunks[trunk.id]
        assert type(trunk.configuration).__name__ in ("SipConfiguration", "PstnConfiguration")
        assert (trunk.voice_in_trunk_group.id if trunk.voice_in_trunk_group else None) == rec["voice_in_trunk_group_id"]
    sdk_groups = client.voice_in_trunk_groups().list(QueryParams().include("voice_in_trunks")).data
    for group in sdk_groups:
        assert sorted(t.name for t in group.voice_in_trunks) == sorted(
            t["name"] for t in sim.voice_in_trunks if t["voice_in_trunk_group_id"] == group.id)
        assert group.meta["trunks_count"] == len(group.voice_in_trunks)
    assert client.voice_in_trunk_groups().list().data[0].name  # and without includes
