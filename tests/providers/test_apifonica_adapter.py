"""Apifonica adapter: mapping on the documented example, and the client against the simulator over
sockets (cursor paging, SSRF, repeated/endless cursors, errors, redaction)."""

from __future__ import annotations

import copy
import datetime as dt
import email.utils
import logging
import math

import httpx
import pytest

from providers import registry
from providers.base import (
    KIND_LOCAL,
    KIND_MOBILE,
    KIND_SIP,
    KIND_TOLL_FREE,
    KIND_UNKNOWN,
    STATUS_ACTIVE,
    Progress,
)
from providers.errors import AuthError, BadResponse, InvalidRequest, NotFound, RateLimited, Unavailable, UnsafeURL
from providers.apifonica import SPEC
from providers.apifonica.client import ApifonicaClient
from providers.apifonica.mapping import build_inventory, error_summary, map_number, rfc2822_datetime
from providers.simulators.apifonica import FOREIGN_HOST, UNPARSEABLE_SIP, ApifonicaSimulator
from providers.simulators.registry import demo_secrets, simulator

SID = "AC0000demo0000apifonica"
TOKEN = "demo-apifonica-token"
BASE = "https://api.apifonica.com/v2"

# The documented response example, verbatim from apifonica.com/en/docs/api/rest/get-list-rented-numbers/
# (= shared/docs/seeds/003_7d17db970b25b840.txt). Only the literal "..." element after the first
# item was dropped (it makes the example invalid JSON); the {placeholders} are the doc's own.
DOC_EXAMPLE = {
    "limit": 20,
    "prev": None,
    "next": "https://api.apifonica.com/v2/accounts/{accountSID}/numbers?next=57e4f04a0c9b2dfe504f27e2",
    "numbers": [
        {
            "number_sid": "{numberSID}",
            "account_sid": "{accountSID}",
            "number": "447480600503",
            "token": None,
            "country_code": "GB",
            "country_name": "United Kingdom",
            "type": "local",
            "call_controller": "",
            "call_method": "GET",
            "msg_controller": "http://172.16.102.175:8082/messages/events",
            "msg_method": "GET",
            "msg_app_sid": "app61de164b-8e62-35d9-92d0-c6df5f0956ec",
            "call_app_sid": "default_call_app_sid",
            "endpoint_sid": None,
            "created": "Thu, 31 Mar 2016 11:16:59 +0300",
            "updated": "Thu, 31 Mar 2016 11:17:21 +0300",
            "voice": False,
            "messaging": True,
            "mode": "xml",
        },
    ],
}


def by_id(records) -> dict:
    return {r.external_id: r for r in records}


# ---------------------------------------------------------------------------------------------
# mapping
# ---------------------------------------------------------------------------------------------
def test_documented_example_maps():
    inv = build_inventory(DOC_EXAMPLE["numbers"])
    (rec,) = inv.numbers
    item = DOC_EXAMPLE["numbers"][0]
    assert (rec.external_id, rec.number, rec.e164, rec.country_code) == (
        "{numberSID}", "447480600503", "+447480600503", "GB")
    assert (rec.kind, rec.status, rec.raw_status) == (KIND_LOCAL, STATUS_ACTIVE, "")
    assert (rec.voice, rec.sms, rec.mms) == (False, True, None)
    assert rec.application == "default_call_app_sid"  # call_app_sid first
    assert rec.description == ""  # no "name" in this example
    assert rec.acquired_at == dt.datetime(2016, 3, 31, 8, 16, 59, tzinfo=dt.timezone.utc)
    assert rec.acquired_at.utcoffset() == dt.timedelta(hours=3)  # the provider's offset is kept
    assert rec.raw == item and rec.raw["msg_controller"] == "http://172.16.102.175:8082/messages/events"
    assert (rec.location_id, rec.owner_id, rec.monthly_cost, rec.expires_at) == (None, None, None, None)
    assert inv.total_reported is None and not inv.complete


def test_kinds_country_application_description():
    item = copy.deepcopy(DOC_EXAMPLE["numbers"][0])
    kinds = {t: map_number({**item, "type": t}).kind for t in ("local", "mobile", "toll_free", "sip", "fax", None)}
    assert kinds == {"local": KIND_LOCAL, "mobile": KIND_MOBILE, "toll_free": KIND_TOLL_FREE, "sip": KIND_SIP,
                     "fax": KIND_UNKNOWN, None: KIND_UNKNOWN}
    intl = map_number({**item, "number": "883140012345678", "country_code": "international", "type": "sip"})
    assert (intl.e164, intl.country_code) == ("+883140012345678", "")  # non-geographic: no region
    us = map_number({**item, "number": "14155550134", "country_code": "international"})
    assert us.country_code == "US"  # "international" -> from the number
    assert map_number({**item, "country_code": "gb"}).country_code == "GB"
    missing = map_number({k: v for k, v in item.items() if k != "country_code"})
    assert missing.country_code == "GB"
    msg_only = map_number({**item, "call_app_sid": None, "msg_app_sid": "app-1"})
    assert msg_only.application == "app-1"
    assert map_number({**item, "call_app_sid": "", "msg_app_sid": None}).application == ""
    named = map_number({**item, "name": "  Support line "})
    assert named.description == "Support line"
    assert map_number({**item, "voice": "true", "messaging": None}).voice is True
    assert map_number({**item, "messaging": None}).sms is None
    assert map_number({**item, "number_sid": ""}) is None and map_number("x") is None


def test_unparseable_sip_number_is_kept_with_empty_e164():
    item = {**DOC_EXAMPLE["numbers"][0], "number": UNPARSEABLE_SIP, "type": "sip",
            "country_code": "international", "country_name": "international", "token": "abc"}
    rec = map_number(item)
    assert (rec.number, rec.e164, rec.country_code, rec.kind) == (UNPARSEABLE_SIP, "", "", KIND_SIP)
    assert build_inventory([item]).numbers == [rec]


@pytest.mark.parametrize("text, expected", [
    ("Thu, 31 Mar 2016 11:16:59 +0300", dt.datetime(2016, 3, 31, 8, 16, 59, tzinfo=dt.timezone.utc)),
    ("Mon, 02 Feb 2026 23:05:00 -0500", dt.datetime(2026, 2, 3, 4, 5, tzinfo=dt.timezone.utc)),
    ("31 Mar 2016 11:16:59 GMT", dt.datetime(2016, 3, 31, 11, 16, 59, tzinfo=dt.timezone.utc)),
    ("Thu, 31 Mar 2016 11:16:59 -0000", dt.datetime(2016, 3, 31, 11, 16, 59, tzinfo=dt.timezone.utc)),
    ("2016-03-31T11:16:59Z", None),
    ("", None),
    (None, None),
    (12345, None),
])
def test_rfc2822_datetime(text, expected):
    assert rfc2822_datetime(text) == expected
    if expected is not None:
        assert rfc2822_datetime(text).tzinfo is not None


def test_error_summary():
    assert error_summary({"status_code": 401, "status_message": "UNAUTHORIZED"}) == "UNAUTHORIZED"
    assert error_summary({"message": "Bad request"}) == "Bad request"
    assert error_summary({"status_message": 5}) == "" and error_summary([1]) == "" and error_summary(None) == ""


# ---------------------------------------------------------------------------------------------
# client against the simulator
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def shared_sim():
    with ApifonicaSimulator(numbers=95, seed=5) as running:
        yield running


def client_for(sim, sid: str = SID, token: str = TOKEN, **config) -> ApifonicaClient:
    return ApifonicaClient(base_url=sim.base_url, secrets={"account_sid": sid, "auth_token": token},
                           config=config, timeout=5.0)


def test_registry_and_spec(sim):
    assert registry.get("apifonica") is SPEC
    assert (SPEC.name, SPEC.default_base_url, SPEC.secret_fields, SPEC.config_fields) == (
        "Apifonica", BASE, ("account_sid", "auth_token"), ())
    assert demo_secrets("apifonica") == {"account_sid": SID, "auth_token": TOKEN}
    demo = simulator("apifonica", numbers=12, seed=3)
    assert isinstance(demo, ApifonicaSimulator) and (demo.account_sid, demo.auth_token) == (SID, TOKEN)
    assert len(demo.numbers) == 12
    assert simulator("apifonica", numbers=3, endless=True).endless is True  # extra kwargs reach the simulator
    with SPEC.client(base_url=sim.base_url, secrets=demo_secrets("apifonica")) as client:
        assert isinstance(client, ApifonicaClient) and client.test_connection() == "OK: credentials accepted"
    assert dict(sim.requests[-1].query) == {"limit": "1"}
    for secrets in ({"account_sid": SID}, {"auth_token": TOKEN}, {"account_sid": " ", "auth_token": TOKEN}, {}):
        with pytest.raises(AuthError, match="account SID and auth token"):
            SPEC.client(base_url=sim.base_url, secrets=secrets)


def test_full_sync_follows_cursors_to_the_end(sim):
    seen: list[Progress] = []
    before = len(sim.requests)
    with client_for(sim) as client:
        inv = client.fetch_inventory(seen.append)
    requests = sim.requests[before:]
    pages = math.ceil(len(sim.numbers) / 20)
    assert inv.complete and inv.total_reported is None and inv.pages_fetched == pages == len(requests) == 5
    assert [n.external_id for n in inv.numbers] == [i["number_sid"] for i in sim.numbers]
    assert requests[0].query == [("limit", "20")]
    assert all(r.path == f"/v2/accounts/{SID}/numbers" for r in requests)
    # later pages are the provider's next URLs, requested verbatim
    assert all([k for k, _ in r.query] == ["limit", "next"] for r in requests[1:])
    assert len({dict(r.query)["next"] for r in requests[1:]}) == pages - 1
    basic = "Basic " + __import__("base64").b64encode(f"{SID}:{TOKEN}".encode()).decode()
    assert all(r.headers["authorization"] == basic for r in requests)
    # announced before the first request (a failure there is "while fetching numbers"), then per page
    assert [(p.pages_fetched, p.items_fetched, p.items_total, p.stage) for p in seen] == [(0, 0, None, "numbers")] + [
        (i + 1, min(20 * (i + 1), len(sim.numbers)), None, "numbers") for i in range(pages)]
    records = by_id(inv.numbers)
    # every kind, SMS-capable GB mobiles, the unparseable SIP entry kept and flagged by e164 ""
    assert {n.kind for n in inv.numbers} == {KIND_LOCAL, KIND_MOBILE, KIND_TOLL_FREE, KIND_SIP}
    assert any(n.kind == KIND_MOBILE and n.country_code == "GB" and n.sms for n in inv.numbers)
    bad_sip = [n for n in inv.numbers if n.e164 == ""]
    assert [(n.number, n.kind) for n in bad_sip] == [(UNPARSEABLE_SIP, KIND_SIP)]
    assert {"GB", "US", "DE", "LV"} <= {n.country_code for n in inv.numbers}
    for item in sim.numbers:
        rec = records[item["number_sid"]]
        assert rec.raw == item and rec.status == STATUS_ACTIVE and rec.mms is None
        assert (rec.voice, rec.sms) == (item["voice"], item["messaging"])
        assert rec.acquired_at == email.utils.parsedate_to_datetime(item["created"])  # RFC 2822 parsed
        assert rec.acquired_at.tzinfo is not None
        assert rec.description == item["name"]
        assert rec.application == (item["call_app_sid"] or item["msg_app_sid"] or "")
        if item["type"] != "sip":
            assert rec.e164 == "+" + item["number"] and rec.country_code == item["country_code"]


def test_page_size_config_is_capped_at_20(sim):
    before = len(sim.requests)
    with client_for(sim, page_size=7) as client:
        inv = client.fetch_inventory()
    assert len(inv.numbers) == len(sim.numbers) and inv.pages_fetched == math.ceil(len(sim.numbers) / 7)
    assert all(dict(r.query)["limit"] == "7" for r in sim.requests[before:])
    with client_for(sim, page_size=500) as client:
        assert client.page_size == 20
    with client_for(sim, page_size="x") as client:
        assert client.page_size == 20


def test_repeated_cursor_is_bad_response():
    with ApifonicaSimulator(numbers=60, repeat_cursor=True) as sim, client_for(sim) as client:
        with pytest.raises(BadResponse, match="cursor repeated on page 2"):
            client.fetch_inventory()
        assert len(sim.requests) == 2


def test_foreign_next_fails_the_run_and_is_never_requested():
    with ApifonicaSimulator(numbers=60, foreign_next=True) as sim, client_for(sim) as client:
        with pytest.raises(UnsafeURL) as info:
            client.fetch_inventory()
        assert FOREIGN_HOST in str(info.value) and "not the configured host" in str(info.value)
        assert info.value.error_class == "unsafe_url"
        assert SID not in str(info.value) and TOKEN not in str(info.value)
        assert len(sim.requests) == 1  # only the first page; the foreign URL was never requested


def test_foreign_next_never_reaches_the_other_host():
    hosts: list[str] = []
    evil = "https://evil.example.net/v2/accounts/AC1/numbers?next=57e4f04a0c9b2dfe504f27e2"

    def handler(request: httpx.Request) -> httpx.Response:
        hosts.append(request.url.host)
        item = dict(DOC_EXAMPLE["numbers"][0], number_sid="n1")
        return httpx.Response(200, json={"limit": 20, "prev": None, "next": evil, "numbers": [item]})

    with ApifonicaClient(base_url=BASE, secrets={"account_sid": "AC1", "auth_token": "tok-1234"},
                         transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(UnsafeURL, match="evil.example.net"):
            client.fetch_inventory()
    assert hosts == ["api.apifonica.com"]


def test_next_is_followed_verbatim():
    """The cursor is opaque: the next URL is requested exactly as given (no re-encoding, no
    parameters added or dropped)."""
    odd_next = BASE + "/accounts/AC1/numbers?next=AbC-_.~9&sig=x%2Fy&limit=20"
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        first = len(seen) == 1
        item = dict(DOC_EXAMPLE["numbers"][0], number_sid=f"n{len(seen)}")
        return httpx.Response(200, json={"limit": 20, "prev": None, "next": odd_next if first else None,
                                         "numbers": [item]})

    with ApifonicaClient(base_url=BASE, secrets={"account_sid": "AC1", "auth_token": "tok-1234"},
                         transport=httpx.MockTransport(handler)) as client:
        inv = client.fetch_inventory()
    assert seen == [BASE + "/accounts/AC1/numbers?limit=20", odd_next]
    assert [n.external_id for n in inv.numbers] == ["n1", "n2"] and inv.complete


def test_endless_listing_is_capped():
    with ApifonicaSimulator(numbers=60, endless=True) as sim, client_for(sim) as client:
        client.max_pages = 3
        with pytest.raises(BadResponse, match="more than 3 pages"):
            client.fetch_inventory()
        assert len(sim.requests) == 3
        client.max_pages = 1000  # wrapping around also repeats numbers: caught before the cap
        with pytest.raises(BadResponse, match="repeated on page 4"):
            client.fetch_inventory()


def mock_client(*pages: dict) -> ApifonicaClient:
    docs = list(pages)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=docs.pop(0))

    return ApifonicaClient(base_url=BASE, secrets={"account_sid": "AC1", "auth_token": "tok-1234"},
                           transport=httpx.MockTransport(handler))


def test_empty_page_with_next_and_wrong_shapes_are_bad_responses():
    item = dict(DOC_EXAMPLE["numbers"][0], number_sid="n1")
    nxt = BASE + "/accounts/AC1/numbers?next=57e4f04a0c9b2dfe504f27e2"
    cases = [
        ([{"limit": 20, "prev": None, "next": nxt, "numbers": []}], "empty but has a next cursor"),
        ([{"limit": 20, "prev": None, "next": nxt, "numbers": [item]},
          {"limit": 20, "prev": None, "next": nxt + "0", "numbers": []}], "page 2 is empty"),
        ([{"limit": 20, "numbers": [item]}], "no 'next' field"),
        ([{"limit": 20, "next": 7, "numbers": [item]}], "neither a URL nor null"),
        ([{"limit": 20, "next": "", "numbers": [item]}], "neither a URL nor null"),
        ([{"limit": 20, "next": None, "numbers": "x"}], "no 'numbers' list"),
        ([{"limit": 20, "next": None, "numbers": [1]}], "other than objects"),
        ([{"limit": 20, "next": None, "numbers": [{"number": "1"}]}], "has no number_sid"),
        ([[item]], "not a JSON object"),
        ([{"limit": 20, "next": nxt, "numbers": [item]}, {"limit": 20, "next": None, "numbers": [item]}],
         "number_sid n1 repeated on page 2"),
    ]
    for pages, message in cases:
        with mock_client(*pages) as client:
            with pytest.raises(BadResponse, match=message):
                client.fetch_inventory()
    with mock_client({"limit": 20, "prev": None, "next": None, "numbers": []}) as client:
        inv = client.fetch_inventory()
    assert inv.complete and inv.numbers == [] and inv.pages_fetched == 1


def test_401_is_auth_error(sim):
    with client_for(sim, token="wrong-token-123") as client:
        with pytest.raises(AuthError) as info:
            client.test_connection()
        with pytest.raises(AuthError) as sync_info:
            client.fetch_inventory()
    for err in (info.value, sync_info.value):
        assert err.status == 401 and err.error_class == "auth"
        assert str(err) == "authentication failed (HTTP 401): UNAUTHORIZED"
    with client_for(sim, sid="AC0000other") as client:
        with pytest.raises(AuthError):
            client.fetch_inventory()


@pytest.mark.parametrize("status, error", [(500, Unavailable), (503, Unavailable), (404, NotFound),
                                           (400, InvalidRequest), (403, AuthError)])
def test_non_2xx_status_is_the_error_class(sim, status, error):
    sim.faults.fail(status, page=2)
    with client_for(sim) as client:
        with pytest.raises(error) as info:
            client.fetch_inventory()
    assert info.value.status == status and f"HTTP {status}" in str(info.value)


def test_rate_limited(sim):
    sim.faults.rate_limit(retry_after=7, page=3)
    with client_for(sim) as client:
        with pytest.raises(RateLimited) as info:
            client.fetch_inventory()
    assert info.value.status == 429 and info.value.retry_after == 7
    assert str(info.value) == "rate limited (HTTP 429): TOO_MANY_REQUESTS"


def test_truncated_json_fails_the_run(sim):
    sim.faults.truncate(page=2)
    with client_for(sim) as client:
        with pytest.raises(BadResponse, match="invalid or truncated JSON"):
            client.fetch_inventory()


def test_unreachable_provider(sim):
    dead = ApifonicaSimulator(numbers=1).start()
    url = dead.base_url
    dead.stop()
    with ApifonicaClient(base_url=url, secrets={"account_sid": SID, "auth_token": TOKEN}) as client:
        with pytest.raises(Unavailable, match="could not reach provider"):
            client.test_connection()


def test_secrets_never_in_messages_or_logs(caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="providers.http")  # settings keep it at WARNING
    sid, token = "ACsecretSid0123456789", "tok-SECRET-0123456789abcdef"
    errors = []
    with ApifonicaSimulator(account_sid=sid, auth_token=token, numbers=45, seed=2) as sim:
        with client_for(sim, sid=sid, token=token) as client:
            inv = client.fetch_inventory()
            assert len(inv.numbers) == 45
            for fault in (lambda: sim.faults.fail(500, page=2), lambda: sim.faults.truncate(page=3)):
                fault()
                with pytest.raises(Exception) as info:
                    client.fetch_inventory()
                errors.append(info.value)
        with client_for(sim, sid=sid, token="wrong-" + token) as client:
            with pytest.raises(AuthError) as info:
                client.fetch_inventory()
            errors.append(info.value)
    with ApifonicaSimulator(account_sid=sid, auth_token=token, numbers=45, foreign_next=True) as sim:
        with client_for(sim, sid=sid, token=token) as client:
            with pytest.raises(UnsafeURL) as info:
                client.fetch_inventory()
            errors.append(info.value)
    assert "[redacted]" in caplog.text and "/accounts/" in caplog.text  # URLs are logged, SID hidden
    for text in [caplog.text] + [str(e) for e in errors] + [e.detail for e in errors]:
        assert sid not in text and token not in text

    def echo(request: httpx.Request) -> httpx.Response:  # a provider echoing the credentials
        return httpx.Response(400, json={"status_code": 400, "status_message": f"bad account {sid} / {token}"})

    with ApifonicaClient(base_url=BASE, secrets={"account_sid": sid, "auth_token": token},
                         transport=httpx.MockTransport(echo)) as client:
        with pytest.raises(InvalidRequest) as info:
            client.fetch_inventory()
    assert sid not in str(info.value) and token not in str(info.value)
    assert str(info.value) == "request refused (HTTP 400): bad account [redacted] / [redacted]"


def test_mutations_between_syncs():
    with ApifonicaSimulator(numbers=30, seed=8) as sim, client_for(sim) as client:
        first = client.fetch_inventory()
        gone = first.numbers[3].external_id
        sim.remove_number(gone)
        renamed = first.numbers[10].external_id
        sim.update_number(renamed, name="Renamed", messaging=False, call_app_sid="app-x")
        added = sim.add_number("LV", "mobile", name="New Riga mobile")
        second = client.fetch_inventory()
    numbers = by_id(second.numbers)
    assert gone not in numbers and len(second.numbers) == 30
    assert (numbers[renamed].description, numbers[renamed].sms, numbers[renamed].application) == (
        "Renamed", False, "app-x")
    new = numbers[added["number_sid"]]
    assert second.numbers[-1] is new  # rented last, listed last
    assert (new.country_code, new.kind, new.sms, new.description) == ("LV", KIND_MOBILE, True, "New Riga mobile")
