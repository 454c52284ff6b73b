"""Plivo adapter: mapping on the recorded SDK fixtures, and the client against the simulator over
sockets (paging, pool membership merge, auth, rate limits, faults, endless pages, redaction)."""

from __future__ import annotations

import datetime as dt
import json
import logging
from decimal import Decimal

import httpx
import pytest

from providers import registry
from providers.base import (
    KIND_LOCAL,
    KIND_MOBILE,
    KIND_NATIONAL,
    KIND_TOLL_FREE,
    KIND_UNKNOWN,
    STATUS_ACTIVE,
    STATUS_INACTIVE,
    Progress,
)
from providers.errors import AuthError, BadResponse, NotFound, RateLimited, Unavailable
from providers.plivo import SPEC
from providers.plivo.client import PlivoClient
from providers.plivo.mapping import (
    build_inventory,
    error_summary,
    kind_for,
    map_number,
    pool_uuid_of,
)
from providers.simulators.plivo import PlivoSimulator
from providers.simulators.registry import demo_secrets, simulator
from providers.values import iso_datetime
from ..support.fixtures import fixture_dir

FIXTURES = fixture_dir("plivo")
UTC = dt.timezone.utc
POOL = "659c7f88-c819-46e2-8af4-2d8a84249099"


def fx(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def by_id(records) -> dict:
    return {r.external_id: r for r in records}


# ---------------------------------------------------------------------------------------------
# mapping on the recorded fixtures
# ---------------------------------------------------------------------------------------------
def test_number_list_fixture_maps_every_field():
    inv = build_inventory(fx("python_numberListResponse")["objects"], [], {})
    assert [n.external_id for n in inv.numbers] == ["18135401302", "14153661106", "14152753408"]
    first, second, tollfree = inv.numbers
    assert (first.number, first.e164, first.country_code, first.kind) == (
        "18135401302", "+18135401302", "US", KIND_LOCAL)
    assert (first.status, first.raw_status, first.description) == (STATUS_ACTIVE, "active", "")
    assert (first.voice, first.sms, first.mms) == (True, True, False)
    assert (first.monthly_cost, first.currency) == (Decimal("0.80000"), "USD")
    assert first.acquired_at == dt.datetime(2014, 8, 5, tzinfo=UTC)
    assert first.expires_at == dt.datetime(2014, 9, 5, tzinfo=UTC)
    assert first.application == "29986316244302815" and first.pool_ids == ()
    # "city": "USA" names the country: no city location, the region is "Florida"
    assert first.location_id == "region:US:Florida"
    assert second.location_id == "region:US:BELVEDERE" and second.application == "16632559604105954"
    # no "active" key at all: active, but no raw status to show
    assert (tollfree.kind, tollfree.status, tollfree.raw_status) == (KIND_TOLL_FREE, STATUS_ACTIVE, "")
    assert first.raw["tendlc_campaign_id"] == "C012345"
    locations = by_id(inv.locations)
    assert set(locations) == {"region:US:Florida", "region:US:BELVEDERE", "region:US:California"}
    florida = locations["region:US:Florida"]
    assert (florida.kind, florida.country_code, florida.country_name, florida.region, florida.city) == (
        "region", "US", "United States", "Florida", "")


def test_number_get_fixture_inactive_number():
    record, location = map_number(fx("python_numberGetResponse"))
    assert (record.external_id, record.e164, record.country_code) == ("17609915566", "+17609915566", "US")
    assert (record.status, record.raw_status) == (STATUS_INACTIVE, "inactive")
    assert record.expires_at == dt.datetime(2014, 3, 14, tzinfo=UTC)
    assert record.acquired_at == dt.datetime(2014, 2, 14, tzinfo=UTC)
    assert record.description == "" and record.application == "29986316244302815"
    assert location.external_id == "region:US:California" and record.location_id == location.external_id


def test_ruby_number_list_without_country_fields():
    inv = build_inventory(fx("ruby_numberListResponse")["objects"], [], {})
    first = inv.numbers[0]
    assert first.country_code == "US"  # from the number itself: no country / country_iso2 sent
    assert first.location_id == "region:US:Florida"
    assert first.expires_at == dt.datetime(2023, 5, 10, tzinfo=UTC)
    assert first.raw["sub_account_name"] == "Marketing"


def test_pool_fixtures_make_pools_and_pool_only_numbers():
    powerpacks = fx("python_powerpackListResponse")["objects"]
    pool_items = fx("python_numberpoolListResponse")["objects"]
    inv = build_inventory([], powerpacks, {POOL: pool_items})
    groups = by_id(inv.groups)
    assert list(groups) == [POOL, "13611cea-d86d-4da9-b70a-37f47478b5c0"]
    assert (groups[POOL].name, groups[POOL].group_type, groups[POOL].features) == (
        "vishnu_sep_01", "number_pool", ())
    assert groups[POOL].raw["uuid"] == "86bbb125-97bb-4d72-89fd-81d5c515b015"
    [number] = inv.numbers  # only in the pool, not in the account listing: still synced
    assert (number.external_id, number.e164, number.country_code, number.kind) == (
        "15799140348", "+15799140348", "CA", KIND_LOCAL)
    assert number.pool_ids == (POOL,)
    assert number.acquired_at == dt.datetime(2019, 9, 3, 8, 50, 9, 578928, tzinfo=UTC)
    assert (number.voice, number.sms, number.mms, number.monthly_cost, number.currency) == (
        None, None, None, None, "")
    assert inv.locations == []


def test_single_pool_number_key_spelling_and_merge_with_account_number():
    single = fx("python_numberpoolResponse")  # "numberpool_uuid", not "number_pool_uuid"
    account = {**fx("python_numberGetResponse"), "number": "15799140348", "country": "Canada",
               "region": "Quebec, CANADA", "city": "Montreal", "active": True}
    inv = build_inventory([account], [], {POOL: [{**single, "service": "mms"}]})
    [record] = inv.numbers
    assert record.pool_ids == (POOL,) and record.country_code == "CA"
    assert record.location_id == "city:CA:Montreal" and record.sms is True and record.mms is False
    assert record.raw["pool_numbers"][0]["service"] == "mms"
    [loc] = inv.locations
    assert (loc.kind, loc.city, loc.region, loc.country_name) == ("city", "Montreal", "Quebec", "Canada")
    # the seed's pool list with services: features are the services seen
    pp = {**fx("python_powerpackResponse")}
    seed_items = [{"number": "14155550100", "country_iso2": "US", "type": "fixed", "service": s,
                   "number_pool_uuid": POOL, "added_on": "2023-03-18T16:07:39.379739Z"} for s in ("mms", "sms")]
    inv = build_inventory([], [pp], {POOL: seed_items})
    assert inv.groups[0].features == ("mms", "sms")
    [only] = inv.numbers
    assert (only.sms, only.mms, only.pool_ids) == (True, True, (POOL,))


def test_pool_uuid_is_the_segment_after_numberpool():
    for name in ("python_powerpackListResponse", "ruby_powerpackListResponse"):
        for pp in fx(name)["objects"]:
            assert pool_uuid_of(pp["number_pool"]) == pp["number_pool"].split("/")[5]  # the SDK's rule
    assert pool_uuid_of(fx("python_powerpackGetPowerpackResponse")["number_pool"]) == "<number_pool_uuid>"
    assert pool_uuid_of(fx("python_powerpackListNumbersResponse")["number_pool"]) == (
        "d35f2e82-d387-427f-8594-6fa07613c43a")
    assert pool_uuid_of("") == pool_uuid_of(None) == pool_uuid_of("/v1/Account/X/") == ""


@pytest.mark.parametrize("raw, kind", [
    ("fixed", KIND_LOCAL), ("local", KIND_LOCAL), ("Mobile", KIND_MOBILE), ("tollfree", KIND_TOLL_FREE),
    ("toll-free", KIND_TOLL_FREE), ("national", KIND_NATIONAL), ("shortcode", KIND_UNKNOWN), (None, KIND_UNKNOWN),
])
def test_kind_for(raw, kind):
    assert kind_for(raw) == kind


def test_error_summary_shapes_and_dates():
    assert error_summary(fx("ruby_addressCreateErrorResponse")) == (
        "Could not complete address verification.: user already exists")
    assert error_summary({"api_id": "x", "error": "Authentication failed"}) == "Authentication failed"
    assert error_summary({"api_id": "x", "error_code": 404, "message": "no such number"}) == "404: no such number"
    assert error_summary([]) == error_summary({"api_id": "x"}) == ""
    assert iso_datetime("2019-10-09T16:54:34.0117Z") == dt.datetime(2019, 10, 9, 16, 54, 34, 11700, tzinfo=UTC)
    assert iso_datetime("2014-02-14") == dt.datetime(2014, 2, 14, tzinfo=UTC)
    assert iso_datetime("soon") is iso_datetime(None) is None


# ---------------------------------------------------------------------------------------------
# client against the simulator
# ---------------------------------------------------------------------------------------------
AUTH_ID = "MAPLIVOTESTACCOUNT01"
TOKEN = "plivo-SECRET-token-0123456789"


@pytest.fixture(scope="module")
def shared_sim():
    with PlivoSimulator(auth_id=AUTH_ID, auth_token=TOKEN, numbers=53, powerpacks=3, seed=4) as running:
        yield running


def client_for(sim, auth_id: str = AUTH_ID, token: str = TOKEN, **config) -> PlivoClient:
    return PlivoClient(base_url=sim.base_url, secrets={"auth_id": auth_id, "auth_token": token}, config=config)


def test_registry_and_spec(sim):
    assert registry.get("plivo") is SPEC
    assert (SPEC.name, SPEC.default_base_url, SPEC.secret_fields) == (
        "Plivo", "https://api.plivo.com/v1", ("auth_id", "auth_token"))
    assert demo_secrets("plivo") == {"auth_id": "MADEMOPLIVOAUTHID001", "auth_token": "demo-plivo-token"}
    demo = simulator("plivo", numbers=12, seed=3)
    assert isinstance(demo, PlivoSimulator) and (demo.auth_id, demo.auth_token) == (
        "MADEMOPLIVOAUTHID001", "demo-plivo-token")
    assert len(demo.numbers) == 12
    with demo, SPEC.client(base_url=demo.base_url, secrets=demo_secrets("plivo")) as client:
        assert isinstance(client, PlivoClient) and client.test_connection() == "OK: 12 numbers"
    with pytest.raises(AuthError, match="both required"):
        SPEC.client(base_url=sim.base_url, secrets={"auth_id": AUTH_ID, "auth_token": " "})
    with pytest.raises(AuthError, match="invalid format"):
        SPEC.client(base_url=sim.base_url, secrets={"auth_id": "MA/../x", "auth_token": TOKEN})


def test_full_sync_merges_pools_and_pages_by_offset(sim):
    seen: list[Progress] = []
    before = len(sim.requests)
    with client_for(sim) as client:
        inv = client.fetch_inventory(seen.append)
    reqs = sim.requests[before:]
    assert inv.complete and inv.total_reported == 53
    assert [n.external_id for n in inv.numbers] == [r["number"] for r in sim.numbers]
    assert inv.pages_fetched == len(reqs)
    # wire: Basic auth, trailing slashes, limit 20 and offsets 0/20/40 on the account listing,
    # then offset 53: the page past the stated total, which must be empty
    assert all(r.headers["authorization"].startswith("Basic ") for r in reqs)
    assert all(r.path.endswith("/") for r in reqs)
    number_pages = [r for r in reqs if r.path == f"/v1/Account/{AUTH_ID}/Number/"]
    # pages after the first are fetched concurrently (any order on the wire)
    number_pages.sort(key=lambda r: int(r.param("offset")))
    assert [(r.param("limit"), r.param("offset")) for r in number_pages] == [("20", "0"), ("20", "20"), ("20", "40"), ("20", "53")]
    assert reqs[0].path == f"/v1/Account/{AUTH_ID}/Powerpack/"
    pool_paths = {r.path for r in reqs if "/NumberPool/" in r.path}
    # every pool's three lists: numbers, toll-free numbers and short codes
    assert pool_paths == {f"/v1/Account/{AUTH_ID}/NumberPool/{sim.pool_uuid(p)}/{sub}/"
                          for p in sim.powerpacks for sub in ("Number", "Tollfree", "Shortcode")}
    # pools and membership
    groups = by_id(inv.groups)
    assert [g.name for g in inv.groups] == [p["name"] for p in sim.powerpacks]
    for pp in sim.powerpacks:
        uuid = sim.pool_uuid(pp)
        services = {p["service"] for p in sim.pool_numbers if p["number_pool_uuid"] == uuid}
        assert groups[uuid].features == tuple(sorted(services)) and groups[uuid].group_type == "number_pool"
    numbers = by_id(inv.numbers)
    in_pools = {p["number"] for p in sim.pool_numbers} | {p["tollfree"] for p in sim.pool_tollfree}
    assert sum(1 for n in inv.numbers if n.pool_ids) == len(in_pools) > 5 and sim.pool_tollfree
    for row in sim.numbers:
        record = numbers[row["number"]]
        assert record.pool_ids == tuple(sim.pool_of(row["number"]))
        assert record.monthly_cost == Decimal(row["monthly_rental_rate"]) and record.currency == "USD"
        assert (record.voice, record.sms, record.mms) == (
            row["voice_enabled"], row["sms_enabled"], row["mms_enabled"])
        assert record.description == (row["alias"] or "")
        assert record.expires_at.date().isoformat() == row["renewal_date"]
        assert record.e164 == "+" + row["number"]
    assert {n.kind for n in inv.numbers} >= {KIND_LOCAL, KIND_MOBILE, KIND_TOLL_FREE}
    assert any(n.status == STATUS_INACTIVE for n in inv.numbers)
    assert any(n.country_code == "GB" and n.kind == KIND_MOBILE and n.sms for n in inv.numbers)
    assert all(loc.external_id.startswith(("city:", "region:")) for loc in inv.locations)
    # progress: pools first, then numbers
    stages = [p.stage for p in seen]
    assert stages == sorted(stages, key=["pools", "numbers"].index) and set(stages) == {"pools", "numbers"}
    assert seen[-1] == Progress(3, 53, 53, stage="numbers")
    assert seen[0] == Progress(0, 0, None, stage="pools")  # announced before the first request
    assert Progress(0, 0, None, stage="numbers") in seen


def test_pool_only_number_and_mutations_between_syncs():
    with PlivoSimulator(auth_id=AUTH_ID, auth_token=TOKEN, numbers=25, powerpacks=2, seed=9) as sim, \
            client_for(sim, page_size=7) as client:
        first = client.fetch_inventory()
        pool = sim.pool_uuid(sim.powerpacks[1])
        gone = first.numbers[0].external_id
        sim.remove_number(gone)
        added = sim.add_number("GB", "mobile", alias="New UK line")
        sim.add_to_pool(pool, added["number"], service="mms")
        sim.add_to_pool(pool, "447400123456", country_iso2="GB", type="mobile", service="sms")
        second = client.fetch_inventory()
    assert first.complete and second.complete
    numbers = by_id(second.numbers)
    assert gone not in numbers
    new = numbers[added["number"]]
    assert (new.kind, new.country_code, new.description, new.pool_ids) == (KIND_MOBILE, "GB", "New UK line", (pool,))
    only = numbers["447400123456"]  # in a pool, not rented on the account
    assert (only.e164, only.kind, only.sms, only.voice, only.pool_ids) == ("+447400123456", KIND_MOBILE, True, None, (pool,))
    assert second.total_reported == 25 and len(second.numbers) == 26
    assert "mms" in by_id(second.groups)[pool].features


def test_page_size_config_is_capped_at_20(sim):
    before = len(sim.requests)
    with client_for(sim, page_size=500) as client:
        client.fetch_inventory()
    assert {r.param("limit") for r in sim.requests[before:]} == {"20"}


def test_401_is_auth_error_and_secrets_never_leak(sim, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="providers.http")  # settings keep it at WARNING
    with client_for(sim, token="wrong-" + TOKEN) as client:
        with pytest.raises(AuthError) as info:
            client.test_connection()
        with pytest.raises(AuthError) as sync_info:
            client.fetch_inventory()
    other = "MAOTHERACCOUNT000001"
    with client_for(sim, auth_id=other) as client:
        with pytest.raises(AuthError) as other_info:
            client.fetch_inventory()
    err = info.value
    assert err.status == 401 and "Authentication failed" in str(err) and err.detail == "Authentication failed"
    assert f"/Account/{AUTH_ID}/" in sim.requests[-3].path  # the auth id travels in the path ...
    for text in (str(err), str(sync_info.value), str(other_info.value), caplog.text):
        for secret in (TOKEN, AUTH_ID, other):
            assert secret not in text  # ... but never reaches a message or a log line
    assert "[redacted]" in caplog.text


def test_429_has_no_retry_after_unless_sent(sim):
    sim.faults.rate_limit(page=2, path="/Number/")
    with client_for(sim) as client:
        with pytest.raises(RateLimited) as info:
            client.fetch_inventory()
    assert info.value.status == 429 and info.value.retry_after is None
    assert "too many requests" in str(info.value)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, json={"api_id": "a", "error": "too many requests"}, headers={"Retry-After": "5"})

    with PlivoClient(base_url="https://api.plivo.com/v1", secrets={"auth_id": AUTH_ID, "auth_token": TOKEN},
                     transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(RateLimited) as info:
            client.test_connection()
    assert info.value.retry_after == 5.0


def test_500_on_page_two_and_truncated_json(sim):
    sim.faults.fail(500, page=2, path=f"/Account/{AUTH_ID}/Number/")
    with client_for(sim) as client:
        with pytest.raises(Unavailable, match="HTTP 500.*simulated provider failure"):
            client.fetch_inventory()
    sim.faults.truncate(path="/NumberPool/")
    with client_for(sim) as client:
        with pytest.raises(BadResponse, match="invalid or truncated JSON"):
            client.fetch_inventory()


def mock_client(pages, **config) -> PlivoClient:
    """A client whose account-number listing is served by ``pages(offset) -> dict``; no pools."""

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path.startswith(f"/v1/Account/{AUTH_ID}/")
        if request.url.path.endswith("/Powerpack/"):
            return httpx.Response(200, json={"api_id": "a", "meta": {"total_count": 0, "next": None}, "objects": []})
        return httpx.Response(200, json=pages(int(request.url.params["offset"])))

    return PlivoClient(base_url="https://api.plivo.com/v1", secrets={"auth_id": AUTH_ID, "auth_token": TOKEN},
                       config=config, transport=httpx.MockTransport(handler))


def page(offset: int, count: int, total: int, next_: str | None = "/v1/Account/x/Number/?limit=20&offset=20"):
    objects = [{"number": str(14155550000 + offset + i), "number_type": "local"} for i in range(count)]
    return {"api_id": "a", "meta": {"limit": 20, "offset": offset, "next": next_, "total_count": total},
            "objects": objects}


def test_never_ending_page_is_bad_response():
    calls = []

    def same_page(offset):  # ignores offset, always says there is more
        calls.append(offset)
        return page(0, 20, 100)

    with mock_client(same_page, fetch_concurrency=1) as client:  # exact request sequence: one at a time
        with pytest.raises(BadResponse, match="repeated at offset 20"):
            client.fetch_inventory()
    assert calls == [0, 20]


@pytest.mark.parametrize("pages, message", [
    (lambda o: page(o, 20, 100 + o), "total_count changed from 100 to 120"),
    (lambda o: page(o, 0 if o else 20, 60), "empty page at offset 20"),
    (lambda o: page(o, 20, 10), "received 20 records but total_count is 10"),
    (lambda o: {"api_id": "a", "objects": []}, "no usable meta.total_count"),
    (lambda o: {"api_id": "a", "error": f"account {AUTH_ID} is suspended"}, r"provider returned an error: account \[redacted\]"),
    (lambda o: {**page(o, 1, 1), "objects": [{"alias": "no number"}]}, "item without its id"),
])
def test_inconsistent_listings_are_bad_responses(pages, message):
    with mock_client(pages) as client:
        with pytest.raises(BadResponse, match=message) as info:
            client.fetch_inventory()
    assert AUTH_ID not in str(info.value) and TOKEN not in str(info.value)


def test_end_is_counted_not_read_from_next():
    # meta.next is "" / null / a stale link: only offset + len(objects) >= total_count decides.
    with mock_client(lambda o: page(o, max(0, min(20, 45 - o)), 45, next_="" if o else None)) as client:
        inv = client.fetch_inventory()
    # 1 (empty) powerpack page, 3 number pages + the empty one at offset 45
    assert len(inv.numbers) == 45 and inv.complete and inv.pages_fetched == 5


def test_provider_echoing_secrets_in_errors_is_redacted():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"api_id": "a", "error": {"message": f"bad token {TOKEN} for {AUTH_ID}"}})

    with PlivoClient(base_url="https://api.plivo.com/v1", secrets={"auth_id": AUTH_ID, "auth_token": TOKEN},
                     transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(Exception) as info:
            client.fetch_inventory()
    assert str(info.value) == "request refused (HTTP 400): bad token [redacted] for [redacted]"


def test_pool_tollfree_and_shortcode_lists_recorded_shape():
    """plivo-python's recorded Tollfree/ and Shortcode/ pool lists: the member is under
    ``tollfree`` / ``shortcode``, with ``added_on`` and no ``service``; each becomes a pool
    membership with its date and list."""
    tollfree = json.loads((FIXTURES / "python_powerpackListTollfreeResponse.json").read_text())["objects"]
    shortcodes = json.loads((FIXTURES / "python_powerpackListShortcodeResponse.json").read_text())["objects"]
    tollfree = [{**o, "tollfree": "18005550199"} for o in tollfree]  # the fixture holds a placeholder
    shortcodes = [{**o, "shortcode": "54321"} for o in shortcodes]
    pool = "ca5fd1f2-26c0-43e9-a7e4-0dc426e9dd2f"
    inv = build_inventory([], [{"uuid": "pp", "name": "Pack", "number_pool": f"/v1/Account/X/NumberPool/{pool}/"}],
                          {pool: tollfree + shortcodes})
    numbers = {n.number: n for n in inv.numbers}
    assert set(numbers) == {"18005550199", "54321"}
    tf, sc = numbers["18005550199"], numbers["54321"]
    assert tf.e164 == "+18005550199" and tf.kind == KIND_TOLL_FREE and tf.pool_ids == (pool,)
    (m,) = tf.pool_memberships
    assert (m.pool_id, m.member_type, m.service) == (pool, "tollfree", "")
    assert m.added_on == dt.datetime(2019, 10, 9, 11, 10, 59, 741978, tzinfo=dt.timezone.utc)
    assert sc.pool_ids == (pool,) and sc.pool_memberships[0].member_type == "shortcode"
    assert sc.country_code == "US" and sc.e164 == ""  # a short code is no E.164 number: kept, flagged


def test_pool_sublists_fetched_from_simulator(sim):
    pool = sim.pool_uuid(sim.powerpacks[0])
    sim.add_shortcode_to_pool(pool, "98765")
    tollfree_rows = [r for r in sim.numbers if r["number_type"] == "tollfree"]
    sim.add_tollfree_to_pool(sim.pool_uuid(sim.powerpacks[1]), tollfree_rows[0]["number"])
    with client_for(sim) as client:
        inv = client.fetch_inventory()
    numbers = {n.number: n for n in inv.numbers}
    assert numbers["98765"].pool_ids == (pool,)  # only in the pool's Shortcode list
    assert numbers["98765"].pool_memberships[0].member_type == "shortcode"
    held = numbers[tollfree_rows[0]["number"]]
    assert sim.pool_uuid(sim.powerpacks[1]) in held.pool_ids
    types = {m.pool_id: m.member_type for m in held.pool_memberships}
    assert types[sim.pool_uuid(sim.powerpacks[1])] == "tollfree"
    sms = next(n for n in inv.numbers if any(m.member_type == "number" for m in n.pool_memberships))
    assert {m.service for m in sms.pool_memberships if m.member_type == "number"} <= {"sms", "mms"}
    assert all(m.added_on is not None for n in inv.numbers for m in n.pool_memberships)


def test_pool_sublist_404_is_an_empty_list_but_number_list_404_fails(sim):
    """A pool whose Tollfree/ or Shortcode/ list answers 404 has none of those (the pool itself
    answered on Number/); a 404 on the pool's Number/ list still fails the listing."""
    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/Powerpack/"):
            objects = [{"uuid": "pp1", "name": "Pack", "number_pool": f"/v1/Account/{AUTH_ID}/NumberPool/pool1/"}]
        elif path.endswith("/NumberPool/pool1/Number/"):
            objects = [{"number": "14155550100", "number_pool_uuid": "pool1", "service": "sms", "type": "fixed",
                        "country_iso2": "US", "added_on": "2019-10-09T11:24:35.085797Z"}]
        elif path.endswith("/Number/"):
            objects = []
        else:
            return httpx.Response(404, json={"api_id": "x", "error": "not found"})
        offset = int(request.url.params.get("offset", "0"))
        return httpx.Response(200, json={"api_id": "x", "meta": {"limit": 20, "offset": offset, "next": "",
                                                                "total_count": len(objects)},
                                         "objects": objects[offset:]})

    with PlivoClient(base_url="https://api.plivo.com/v1", secrets={"auth_id": AUTH_ID, "auth_token": TOKEN},
                     transport=httpx.MockTransport(handler)) as client:
        inv = client.fetch_inventory()
    assert inv.complete and [n.number for n in inv.numbers] == ["14155550100"]

    def no_pool(request: httpx.Request) -> httpx.Response:
        if "/NumberPool/" in request.url.path:
            return httpx.Response(404, json={"api_id": "x", "error": "NumberPool not found"})
        return handler(request)

    with PlivoClient(base_url="https://api.plivo.com/v1", secrets={"auth_id": AUTH_ID, "auth_token": TOKEN},
                     transport=httpx.MockTransport(no_pool)) as client:
        with pytest.raises(NotFound):
            client.fetch_inventory()
