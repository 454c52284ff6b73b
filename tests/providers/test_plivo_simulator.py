"""Plivo simulator: wire behaviour (auth, paging meta, single GETs, faults, data) and
faithfulness: the official ``plivo`` SDK (pinned in requirements-dev.txt) talks to it unchanged.

SDK base URL: ``plivo.rest.client.Client.request`` resets ``self.base_uri`` to the module global
``PLIVO_API_BASE_URI`` on every non-voice call, so patching that global (monkeypatch) points the
SDK at the simulator over plain http; no TLS proxy is needed.
"""

from __future__ import annotations

import base64
from collections import Counter

import httpx
import phonenumbers
import plivo
import plivo.exceptions
import plivo.rest.client
import pytest

from providers.simulators.plivo import PlivoSimulator

AUTH_ID = "MAODZKMDFJMJU3MTEYNG"  # SDK-valid: 20 chars starting "MA"
TOKEN = "sim-plivo-token-42"


@pytest.fixture(scope="module")
def shared_sim():
    with PlivoSimulator(auth_id=AUTH_ID, auth_token=TOKEN, numbers=57, powerpacks=3, seed=2) as running:
        yield running


@pytest.fixture
def api(sim):
    with httpx.Client(base_url=f"{sim.base_url}/Account/{AUTH_ID}", auth=(AUTH_ID, TOKEN), trust_env=False) as c:
        yield c


def get(api: httpx.Client, path: str, **params) -> dict:
    response = api.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


# ---------------------------------------------------------------------------------------------
# wire behaviour
# ---------------------------------------------------------------------------------------------
def test_auth(sim):
    url = f"{sim.base_url}/Account/{AUTH_ID}/Number/"
    with httpx.Client(trust_env=False) as c:
        for auth in (None, (AUTH_ID, "nope"), ("MAOTHERACCOUNT000001", TOKEN)):
            r = c.get(url, auth=auth)
            assert r.status_code == 401 and r.json()["error"] == "Authentication failed" and r.json()["api_id"]
        # right credentials, someone else's account in the path
        r = c.get(f"{sim.base_url}/Account/MAOTHERACCOUNT000001/Number/", auth=(AUTH_ID, TOKEN))
        assert r.status_code == 401
        r = c.get(url, headers={"Authorization": "Basic " + base64.b64encode(b"garbage").decode()})
        assert r.status_code == 401
        assert c.get(url, auth=(AUTH_ID, TOKEN)).status_code == 200


def test_paging_meta(api, sim):
    doc = get(api, "/Number/")
    assert doc["meta"] == {"limit": 20, "offset": 0, "total_count": 57, "previous": None,
                           "next": f"/v1/Account/{AUTH_ID}/Number/?limit=20&offset=20"}
    assert [o["number"] for o in doc["objects"]] == [r["number"] for r in sim.numbers[:20]]
    last = get(api, "/Number/", limit=20, offset=40)
    assert len(last["objects"]) == 17 and last["meta"]["next"] is None
    assert last["meta"]["previous"] == f"/v1/Account/{AUTH_ID}/Number/?limit=20&offset=20"
    assert get(api, "/Number/", offset=100)["objects"] == []
    pool = sim.pool_uuid(sim.powerpacks[0])
    pool_doc = get(api, f"/NumberPool/{pool}/Number/")
    assert pool_doc["meta"]["next"] == "" and pool_doc["meta"]["previous"] == ""  # as in the fixtures
    for params in ({"limit": 21}, {"limit": 0}, {"limit": "x"}, {"offset": -1}):
        r = api.get("/Number/", params=params)
        assert r.status_code == 400 and set(r.json()) == {"api_id", "error"}
    assert api.get("/Number").status_code == 200  # no trailing slash tolerated
    assert api.post("/Number/").status_code == 405
    assert api.get("/Nope/").status_code == 404


def test_powerpacks_and_single_gets(api, sim):
    doc = get(api, "/Powerpack/")
    assert doc["objects"] == sim.powerpacks and doc["meta"]["total_count"] == 3
    pp = sim.powerpacks[1]
    single = get(api, f"/Powerpack/{pp['uuid']}/")
    assert single["name"] == pp["name"] and single["number_pool"].split("/")[5] == sim.pool_uuid(pp)
    assert set(pp) >= {"uuid", "name", "number_pool", "sticky_sender", "local_connect", "application_type",
                       "application_id", "created_on"}
    row = sim.numbers[3]
    assert get(api, f"/Number/{row['number']}/")["monthly_rental_rate"] == row["monthly_rental_rate"]
    member = sim.pool_numbers[0]
    item = get(api, f"/NumberPool/{member['number_pool_uuid']}/Number/{member['number']}/")
    assert item["numberpool_uuid"] == member["number_pool_uuid"] and "number_pool_uuid" not in item
    for path in ("/Powerpack/nope/", "/Number/15550000000/", "/NumberPool/nope/Number/",
                 f"/NumberPool/{member['number_pool_uuid']}/Number/15550000000/"):
        r = api.get(path)
        assert r.status_code == 404 and set(r.json()) == {"api_id", "error"}


def test_faults_in_plivo_shape(api, sim):
    sim.faults.rate_limit(path="/Number/")
    r = api.get("/Number/")
    assert r.status_code == 429 and r.json()["error"] == "too many requests" and "retry-after" not in r.headers
    sim.faults.fail(500, page=2, path="/Number/")
    assert api.get("/Number/", params={"offset": 0}).status_code == 200
    r = api.get("/Number/", params={"offset": 20})
    assert r.status_code == 500 and set(r.json()) == {"api_id", "error"}


# ---------------------------------------------------------------------------------------------
# seeded data
# ---------------------------------------------------------------------------------------------
def test_same_seed_same_data_other_seed_differs():
    a, b, c = (PlivoSimulator(numbers=30, seed=s) for s in (7, 7, 8))
    assert a.numbers == b.numbers and a.powerpacks == b.powerpacks and a.pool_numbers == b.pool_numbers
    assert a.numbers != c.numbers


@pytest.mark.parametrize("seed, count", [(1, 60), (2, 200), (3, 13)])
def test_every_number_is_valid_and_typed(seed, count):
    sim = PlivoSimulator(numbers=count, seed=seed)
    assert len({r["number"] for r in sim.numbers}) == count
    expect = {"mobile": {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE},
              "tollfree": {phonenumbers.PhoneNumberType.TOLL_FREE}}
    for row in sim.numbers:
        parsed = phonenumbers.parse("+" + row["number"])
        assert phonenumbers.is_valid_number(parsed), row["number"]
        assert row["country"] == {"US": "United States", "CA": "Canada", "GB": "United Kingdom", "DE": "Germany",
                                  "FR": "France", "AU": "Australia"}[phonenumbers.region_code_for_number(parsed)]
        if row["number_type"] in expect:
            assert phonenumbers.number_type(parsed) in expect[row["number_type"]]
    for item in sim.pool_numbers:  # pool members are account numbers, in at most one pool
        row = next(r for r in sim.numbers if r["number"] == item["number"])
        assert row["sms_enabled"] and item["type"] in ("fixed", "mobile", "toll-free")
        assert item["country_iso2"] == phonenumbers.region_code_for_number(phonenumbers.parse("+" + item["number"]))
    assert len({p["number"] for p in sim.pool_numbers}) == len(sim.pool_numbers)


def test_seeded_mix():
    sim = PlivoSimulator(numbers=60)
    types = Counter(r["number_type"] for r in sim.numbers)
    assert set(types) >= {"local", "fixed", "mobile", "tollfree", "national"}
    countries = Counter(r["country"] for r in sim.numbers)
    assert set(countries) >= {"United States", "United Kingdom", "Canada", "Germany"}
    gb_sms_mobiles = [r for r in sim.numbers if r["number"].startswith("44") and r["number_type"] == "mobile"
                      and r["sms_enabled"]]
    assert len(gb_sms_mobiles) >= 3
    assert any(not r["active"] for r in sim.numbers) and any(r["application"] is None for r in sim.numbers)
    assert any(r["alias"] for r in sim.numbers) and {r["service"] for r in sim.pool_numbers} == {"sms", "mms"}
    assert all(r["renewal_date"] > "2026-04-20" for r in sim.numbers)
    small = PlivoSimulator(numbers=3)
    assert [r["number"][:2] for r in small.numbers][1] == "44" and small.numbers[1]["sms_enabled"]


# ---------------------------------------------------------------------------------------------
# faithfulness: the official SDK against the simulator
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def sdk(sim, monkeypatch):
    monkeypatch.setattr(plivo.rest.client, "PLIVO_API_BASE_URI", f"{sim.base_url}/Account")
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    client = plivo.RestClient(AUTH_ID, TOKEN)
    yield client
    client.session.close()
    client.multipart_session.close()


def test_official_sdk_lists_powerpacks_and_pool_numbers(sdk, sim):
    before = len(sim.requests)
    listed = sdk.powerpacks.list(limit=20, offset=0)
    assert [p["uuid"] for p in listed["objects"]] == [p["uuid"] for p in sim.powerpacks]
    assert listed["meta"]["total_count"] == 3
    for pp in sim.powerpacks:
        powerpack = sdk.powerpacks.get(pp["uuid"])
        assert (powerpack.name, powerpack.number_pool) == (pp["name"], pp["number_pool"])
        uuid = sim.pool_uuid(pp)
        expected = [p for p in sim.pool_numbers if p["number_pool_uuid"] == uuid]
        got, offset = [], 0
        while True:
            page = powerpack.list_numbers(limit=5, offset=offset)
            got.extend(page["objects"])
            if not page["meta"]["next"]:
                break
            offset += 5
        assert [(o.number, o.service, o.type, o.country_iso2) for o in got] == [
            (p["number"], p["service"], p["type"], p["country_iso2"]) for p in expected]
        assert powerpack.count_numbers() == len(expected)
        if expected:
            assert powerpack.find_number(expected[0]["number"]).numberpool_uuid == uuid
    reqs = sim.requests[before:]
    assert all(r.path.endswith("/") and r.headers["authorization"].startswith("Basic ") for r in reqs)


def test_official_sdk_lists_account_numbers(sdk, sim):
    got, offset = [], 0
    while True:
        page = sdk.numbers.list(limit=20, offset=offset)
        assert page.meta.total_count == len(sim.numbers)
        got.extend(page)
        if page.meta.next is None:
            break
        offset += len(page.objects)
    assert [n.number for n in got] == [r["number"] for r in sim.numbers]
    for n, row in zip(got, sim.numbers):
        assert (n.id, n.number_type, n.monthly_rental_rate, n.sms_enabled, n.voice_enabled, n.renewal_date,
                n.alias, n.application) == (
            row["number"], row["number_type"], row["monthly_rental_rate"], row["sms_enabled"],
            row["voice_enabled"], row["renewal_date"], row["alias"], row["application"])
    one = sdk.numbers.get(sim.numbers[5]["number"])
    assert (one.number, one.country, one.city) == (sim.numbers[5]["number"], sim.numbers[5]["country"],
                                                   sim.numbers[5]["city"])


def test_official_sdk_sees_plivo_errors(sdk, sim):
    with pytest.raises(plivo.exceptions.ResourceNotFoundError, match="Powerpack not found"):
        sdk.powerpacks.get("00000000-0000-4000-8000-000000000000")
    sim.faults.fail(500, path="/Powerpack/")
    with pytest.raises(plivo.exceptions.PlivoServerError, match="simulated provider failure"):
        sdk.powerpacks.list()
    sim.faults.rate_limit(path="/Powerpack/")
    with pytest.raises(plivo.exceptions.PlivoRestError, match="status code 429"):
        sdk.powerpacks.list()
    with pytest.raises(plivo.exceptions.ValidationError):  # the SDK's own check: 0 < limit <= 20
        sdk.numbers.list(limit=21)
    wrong = plivo.RestClient(AUTH_ID, "wrong-token")
    with pytest.raises(plivo.exceptions.AuthenticationError, match="Authentication failed"):
        wrong.powerpacks.list()
    # SDK quirk (4.63.0): numbers.list wraps any body in ListResponseObject, whose len() needs
    # "objects", so a documented {"api_id", "error"} body makes the SDK itself raise AttributeError.
    sim.faults.fail(500, path="/Number/")
    with pytest.raises(AttributeError, match="objects"):
        sdk.numbers.list()
