"""Apifonica simulator over real sockets: Basic auth, limit, cursor paging, seeded data, switches,
faults, mutations."""

from __future__ import annotations

import collections
import email.utils
import re

import httpx
import phonenumbers
import pytest

from providers.simulators.apifonica import (
    FOREIGN_HOST,
    NUMBER_KEYS,
    UNPARSEABLE_SIP,
    ApifonicaSimulator,
)

SID = "AC0000demo0000apifonica"
TOKEN = "demo-apifonica-token"
NUMBERS = f"/v2/accounts/{SID}/numbers"
UNAUTHORIZED = {"status_code": 401, "status_message": "UNAUTHORIZED"}


@pytest.fixture(scope="module")
def shared_sim():
    with ApifonicaSimulator(numbers=60, seed=3) as running:
        yield running


@pytest.fixture
def api(sim):
    with httpx.Client(base_url=sim.root_url, auth=(SID, TOKEN), timeout=10) as client:
        yield client


def get_all(api, path: str = NUMBERS, **params) -> tuple[list[dict], list[dict]]:
    items, docs = [], []
    response = api.get(path, params=params)
    while True:
        assert response.status_code == 200, response.text
        doc = response.json()
        docs.append(doc)
        items += doc["numbers"]
        if doc["next"] is None:
            return items, docs
        response = api.get(doc["next"])


# -- auth and errors ------------------------------------------------------------------------------
@pytest.mark.parametrize("auth", [None, (SID, "wrong"), ("ACother", TOKEN), (TOKEN, SID)])
def test_bad_credentials_are_401(sim, auth):
    with httpx.Client(base_url=sim.root_url, auth=auth, timeout=10) as client:
        response = client.get(NUMBERS)
    assert response.status_code == 401 and response.json() == UNAUTHORIZED


@pytest.mark.parametrize("header", ["Bearer " + TOKEN, "Basic !!!", "Basic " + "QUM=", f"Basic {SID}:{TOKEN}"])
def test_malformed_authorization_is_401(sim, header):
    response = httpx.get(sim.root_url + NUMBERS, headers={"Authorization": header}, timeout=10)
    assert response.status_code == 401 and response.json() == UNAUTHORIZED


def test_routes_methods_and_other_account(api):
    assert api.get("/v2/accounts/ACother/numbers").status_code == 403
    assert api.post(NUMBERS).status_code == 405
    assert api.get("/v1/accounts/x/numbers").status_code == 404
    assert api.get(f"/v2/accounts/{SID}").status_code == 404
    assert api.get(f"/v2/accounts/{SID}/numbers/nosuch").json() == {"status_code": 404, "status_message": "NOT_FOUND"}


@pytest.mark.parametrize("limit", ["21", "0", "abc", "-1", "1.5"])
def test_bad_limit_is_400(api, limit):
    response = api.get(NUMBERS, params={"limit": limit})
    assert response.status_code == 400 and response.json() == {"status_code": 400, "status_message": "BAD_REQUEST"}


def test_bad_cursor_is_400(api):
    assert api.get(NUMBERS, params={"next": "nope"}).status_code == 400
    assert api.get(NUMBERS, params={"next": "0" * 24, "prev": "0" * 24}).status_code == 400


# -- paging -------------------------------------------------------------------------------------------
def test_envelope_and_cursor_paging(api, sim):
    first = api.get(NUMBERS)
    assert first.headers["content-type"] == "application/json"
    doc = first.json()
    assert list(doc) == ["limit", "prev", "next", "numbers"]
    assert doc["limit"] == 20 and doc["prev"] is None and len(doc["numbers"]) == 20
    assert re.fullmatch(rf"http://127\.0\.0\.1:{sim.port}{NUMBERS}\?next=[0-9a-f]{{24}}", doc["next"])
    items, docs = get_all(api)
    assert items == sim.numbers and len(docs) == 3
    assert docs[-1]["next"] is None and all(d["prev"] for d in docs[1:])
    # prev goes back one page
    back = api.get(docs[2]["prev"]).json()
    assert back["numbers"] == docs[1]["numbers"] and back["next"] == docs[1]["next"]


def test_limit_is_kept_in_next(api, sim):
    items, docs = get_all(api, limit=4)
    assert items == sim.numbers and all(d["limit"] == 4 for d in docs) and len(docs) == -(-len(items) // 4)
    assert docs[0]["next"].split("?")[1].startswith("limit=4&next=")


def test_page_sizes(api, sim):
    for limit in (1, 7, 20):
        items, docs = get_all(api, limit=limit)
        assert items == sim.numbers and len(docs) == -(-len(sim.numbers) // limit)
    assert get_all(api, limit=20)[1][0]["limit"] == 20


def test_switches():
    with ApifonicaSimulator(numbers=50, repeat_cursor=True) as sim, httpx.Client(auth=(SID, TOKEN)) as client:
        first = client.get(sim.root_url + NUMBERS).json()
        second = client.get(first["next"]).json()
        assert second["next"] == first["next"] and second["numbers"] != first["numbers"]
    with ApifonicaSimulator(numbers=50, foreign_next=True) as sim, httpx.Client(auth=(SID, TOKEN)) as client:
        first = client.get(sim.root_url + NUMBERS).json()
        assert first["next"].startswith(f"http://{FOREIGN_HOST}{NUMBERS}?next=")
    with ApifonicaSimulator(numbers=30, endless=True) as sim, httpx.Client(auth=(SID, TOKEN)) as client:
        url, cursors = sim.root_url + NUMBERS, set()
        for _ in range(6):
            doc = client.get(url).json()
            assert len(doc["numbers"]) == 20 and doc["next"]
            cursors.add(doc["next"])
            url = doc["next"]
        assert len(cursors) == 6
    with ApifonicaSimulator(numbers=0) as sim, httpx.Client(auth=(SID, TOKEN)) as client:
        assert client.get(sim.root_url + NUMBERS).json() == {"limit": 20, "prev": None, "next": None, "numbers": []}


def test_page_targeted_faults(api, sim):
    sim.faults.fail(500, page=2)
    sim.faults.rate_limit(retry_after=4, page=3)
    first = api.get(NUMBERS).json()
    failed = api.get(first["next"])
    assert failed.status_code == 500
    assert failed.json() == {"status_code": 500, "status_message": "INTERNAL_SERVER_ERROR"}
    second = api.get(first["next"]).json()
    limited = api.get(second["next"])
    assert limited.status_code == 429 and limited.headers["retry-after"] == "4"
    sim.faults.truncate()
    with pytest.raises(ValueError):
        api.get(NUMBERS).json()


# -- data -----------------------------------------------------------------------------------------------
def test_items_have_every_documented_field(sim):
    for item in sim.numbers:
        assert tuple(item) == NUMBER_KEYS
        assert item["account_sid"] == SID and item["number_sid"].startswith("num")
        assert (item["token"] is not None) == (item["type"] == "sip")
        assert item["type"] in ("local", "mobile", "toll_free", "sip")
        assert item["mode"] in ("xml", "end_point", "sip_phone")
        assert (item["endpoint_sid"] is not None) == (item["mode"] == "end_point")
        assert isinstance(item["voice"], bool) and isinstance(item["messaging"], bool)
        created = email.utils.parsedate_to_datetime(item["created"])
        updated = email.utils.parsedate_to_datetime(item["updated"])
        assert created.tzinfo is not None and created <= updated
        assert re.fullmatch(r"[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}", item["created"])
    assert [email.utils.parsedate_to_datetime(i["created"]) for i in sim.numbers] == sorted(
        email.utils.parsedate_to_datetime(i["created"]) for i in sim.numbers)  # listed by rental time


@pytest.mark.parametrize("seed, numbers", [(1, 60), (3, 60), (7, 300), (11, 12)])
def test_every_number_is_valid_for_its_country_and_type(seed, numbers):
    sim = ApifonicaSimulator(numbers=numbers, seed=seed)
    assert len(sim.numbers) == numbers == len({i["number_sid"] for i in sim.numbers}) == len(
        {i["number"] for i in sim.numbers})
    unparseable = 0
    for item in sim.numbers:
        assert item["number"].isdigit()
        if item["type"] == "sip":
            assert item["country_code"] == item["country_name"] == "international"
            if item["number"] == UNPARSEABLE_SIP:
                unparseable += 1
                with pytest.raises(phonenumbers.NumberParseException):
                    phonenumbers.parse("+" + item["number"])
            continue
        parsed = phonenumbers.parse("+" + item["number"])
        assert phonenumbers.is_valid_number(parsed), item
        assert phonenumbers.region_code_for_number(parsed) == item["country_code"]
        kind = phonenumbers.number_type(parsed)
        expected = {"local": {0, 2}, "mobile": {1, 2}, "toll_free": {3}}[item["type"]]
        assert kind in expected, item
    assert unparseable == 1


def test_seeded_mix(sim):
    mix = collections.Counter((i["country_code"], i["type"]) for i in sim.numbers)
    assert {c for c, _ in mix} >= {"GB", "US", "DE", "LV", "international"}
    assert {t for _, t in mix} == {"local", "mobile", "toll_free", "sip"}
    assert any(i["country_code"] == "GB" and i["type"] == "mobile" and i["messaging"] for i in sim.numbers)
    assert any(i["call_app_sid"] == "default_call_app_sid" for i in sim.numbers)  # like the doc example
    assert any(i["name"] == "" for i in sim.numbers) and any("<b>" in i["name"] for i in sim.numbers)


def test_same_seed_same_data_other_seed_differs():
    a, b, c = ApifonicaSimulator(seed=5), ApifonicaSimulator(seed=5), ApifonicaSimulator(seed=6)
    assert a.numbers == b.numbers and a.numbers != c.numbers
    assert ApifonicaSimulator(numbers=3).numbers != [] and ApifonicaSimulator(numbers=0).numbers == []


# -- mutations --------------------------------------------------------------------------------------------
def test_mutations_show_up_and_cursors_do_not_shift():
    with ApifonicaSimulator(numbers=45, seed=4) as fresh, httpx.Client(
            base_url=fresh.root_url, auth=(SID, TOKEN)) as client:
        first = client.get(NUMBERS).json()
        # between pages: release a number already listed and one not yet listed; rent one
        fresh.remove_number(first["numbers"][0]["number_sid"])
        later = fresh.numbers[25]["number_sid"]
        fresh.remove_number(later)
        added = fresh.add_number("DE", "mobile", name="New")
        second = client.get(first["next"]).json()
        expected_second = [i for i in fresh.numbers if i["number_sid"] not in
                           {n["number_sid"] for n in first["numbers"]}][:20]
        assert second["numbers"] == expected_second  # keyset cursor: nothing skipped or repeated
        third = client.get(second["next"]).json()
        assert third["numbers"][-1] == added and third["next"] is None
        assert later not in {i["number_sid"] for i in second["numbers"] + third["numbers"]}
        changed = fresh.update_number(added["number_sid"], name="Renamed", voice=False)
        assert changed is added and changed["name"] == "Renamed"
        got = get_all(client)[0][-1]
        assert (got["name"], got["voice"], got["type"], got["country_code"]) == ("Renamed", False, "mobile", "DE")
        assert email.utils.parsedate_to_datetime(got["updated"]) > email.utils.parsedate_to_datetime(got["created"])
        fresh.add_number("international", "sip", number="not-a-number")
        assert get_all(client)[0][-1]["number"] == "not-a-number"
    with pytest.raises(KeyError):
        fresh.remove_number(later)
    with pytest.raises(KeyError):
        fresh.update_number(added["number_sid"], bogus=1)
    with pytest.raises(KeyError):
        fresh.update_number(added["number_sid"], number_sid="x")
    with pytest.raises(ValueError):
        fresh.add_number("US", "mobile")  # no US mobile range
    with pytest.raises(ValueError):
        fresh.add_number("XX", "local")
