"""Voximplant adapter: credentials, JWT, paging, error mapping (respx) and end-to-end runs
against the simulator."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from urllib.parse import parse_qs

import httpx
import jwt
import pytest
import respx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from providers import registry
from providers.base import (
    KIND_LOCAL,
    KIND_MOBILE,
    KIND_NATIONAL,
    KIND_TOLL_FREE,
    KIND_UNKNOWN,
    STATUS_ACTIVE,
    STATUS_CANCELLING,
    STATUS_INACTIVE,
    CallerIdRecord,
    Progress,
)
from providers.errors import (
    AuthError,
    BadResponse,
    InvalidRequest,
    NotFound,
    RateLimited,
    Unavailable,
)
from providers.simulators.registry import demo_secrets, simulator
from providers.simulators.voximplant import VoximplantSimulator
from providers.simulators.voximplant_demo_key import (
    DEMO_ACCOUNT_ID,
    DEMO_CREDENTIALS_JSON,
    DEMO_KEY_ID,
    DEMO_PRIVATE_KEY_PEM,
)
from providers.voximplant import SPEC, parse_credentials
from providers.voximplant.client import TokenRedactor, VoximplantClient
from providers.voximplant.credentials import TokenSigner
from providers.voximplant.mapping import build_inventory, kind_for, map_caller_id, map_number

BASE = "https://api.voximplant.test/platform_api"
UTC = dt.timezone.utc
DEMO_SECRETS = {"credentials_json": DEMO_CREDENTIALS_JSON}
PUBLIC_KEY = serialization.load_pem_private_key(DEMO_PRIVATE_KEY_PEM.encode(), None).public_key()

PHONE = {  # an AttachedPhoneInfoType item as GetPhoneNumbers returns it
    "phone_id": 1041552, "phone_number": "12122221674", "phone_price": 2.5, "phone_country_code": "US",
    "phone_next_renewal": "2026-12-03", "phone_purchase_date": "2025-04-21 21:25:04", "deactivated": False,
    "canceled": False, "auto_charge": True, "application_id": 9100001,
    "application_name": "ivr.acme.n3.voximplant.com", "category_name": "GEOGRAPHIC",
    "phone_region_name": "New York", "can_be_used": True, "is_sms_supported": True, "is_sms_enabled": True,
}
CALLER = {"callerid_id": 53142, "callerid_number": "442080111000", "active": True, "verified_until": "2026-11-27"}


def pem_lines(pem: str) -> list[str]:
    return [line.strip() for line in pem.splitlines() if line.strip()]


def creds_json(**overrides) -> str:
    data = json.loads(DEMO_CREDENTIALS_JSON)
    data.update(overrides)
    return json.dumps({k: v for k, v in data.items() if v is not None})


def other_rsa_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def listing(items: list[dict], total: int | None = None) -> dict:
    return {"result": items, "total_count": len(items) if total is None else total, "count": len(items)}


def phones(n: int) -> list[dict]:
    return [{**PHONE, "phone_id": 2000 + i, "phone_number": f"1212222{i:04d}"} for i in range(n)]


def callers(n: int) -> list[dict]:
    return [{**CALLER, "callerid_id": 100 + i, "callerid_number": f"4420801{i:05d}"} for i in range(n)]


def serve(mock: respx.Router, method: str, pages: list) -> respx.Route:
    """Answer ``pages`` (listing pages by their offset, anything else in order); after a last
    listing page, the empty page past its total (which the client asks for to prove the listing
    ended)."""
    last = pages[-1] if pages else None
    if isinstance(last, dict) and last.get("result") and isinstance(last.get("total_count"), int):
        pages = [*pages, listing([], last["total_count"])]
    if all(isinstance(p, dict) and isinstance(p.get("result"), list) for p in pages):
        # By offset, as the API does: pages after the first are asked concurrently, in any order.
        by_offset: dict[int, dict] = {}
        at = 0
        for p in pages:
            by_offset.setdefault(at, p)
            at += len(p["result"])

        def handler(request: httpx.Request) -> httpx.Response:
            offset = int(parse_qs(request.content.decode()).get("offset", ["0"])[0])
            if offset not in by_offset:
                return httpx.Response(418, json={"error": {"code": 101, "msg": f"unexpected offset {offset}"}})
            return httpx.Response(200, json=by_offset[offset])

        return mock.post(f"{BASE}/{method}").mock(side_effect=handler)
    responses = [p if isinstance(p, httpx.Response) else httpx.Response(200, json=p) for p in pages]
    return mock.post(f"{BASE}/{method}").mock(side_effect=responses)


def form(call) -> dict[str, str]:
    assert call.request.headers["content-type"] == "application/x-www-form-urlencoded"
    return {k: v[0] for k, v in parse_qs(call.request.content.decode()).items()}


def client(**kw) -> VoximplantClient:
    return VoximplantClient(base_url=BASE, secrets=DEMO_SECRETS, **kw)


# ---------------------------------------------------------------------------------------------
# credentials
# ---------------------------------------------------------------------------------------------
def test_parse_demo_credentials():
    creds = parse_credentials(DEMO_CREDENTIALS_JSON)
    assert (creds.account_id, creds.key_id) == (DEMO_ACCOUNT_ID, DEMO_KEY_ID)
    assert creds.account_email.endswith(".invalid")
    assert isinstance(creds.private_key, rsa.RSAPrivateKey)
    assert "PRIVATE" not in repr(creds)  # never printed by accident
    assert parse_credentials(DEMO_CREDENTIALS_JSON.encode()).key_id == DEMO_KEY_ID  # uploaded file bytes
    assert parse_credentials(creds_json(account_email=None)).account_email == ""


def _encrypted_pkcs8() -> str:
    key = serialization.load_pem_private_key(DEMO_PRIVATE_KEY_PEM.encode(), None)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.BestAvailableEncryption(b"hunter22")).decode()


def _encrypted_traditional() -> str:
    key = serialization.load_pem_private_key(DEMO_PRIVATE_KEY_PEM.encode(), None)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.BestAvailableEncryption(b"hunter22")).decode()


def _ec_pem() -> str:
    return ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()


def _broken_pem() -> str:
    lines = DEMO_PRIVATE_KEY_PEM.splitlines()
    return "\n".join(lines[:5] + lines[8:])  # body lines missing: base64 OK, DER broken


def _garbled_pem() -> str:
    return DEMO_PRIVATE_KEY_PEM.replace("M", "!", 3)


def _public_pem() -> str:
    return PUBLIC_KEY.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


BAD_CREDENTIALS = [
    ("", "empty"),
    ("{not json", "not valid JSON"),
    (DEMO_CREDENTIALS_JSON[:-40], "not valid JSON"),  # truncated paste: ends inside the PEM
    ('["account_id", 1]', "must be an object"),
    (creds_json(account_id=None), "missing account_id"),
    (creds_json(key_id=None, private_key=None), "missing key_id, private_key"),
    (creds_json(account_id="4410001"), "account_id must be a positive integer"),
    (creds_json(account_id=True), "account_id must be a positive integer"),
    (creds_json(key_id=12), "key_id must be a non-empty string"),
    (creds_json(private_key=["-----BEGIN"]), "private_key must be a PEM string"),
    (creds_json(private_key="MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"), "not a PEM private key"),
    (creds_json(private_key=_broken_pem()), "not a readable PEM private key"),
    (creds_json(private_key=_garbled_pem()), "not a readable PEM private key"),
    (creds_json(private_key=_public_pem()), "not a PEM private key"),
    (creds_json(private_key=_encrypted_pkcs8()), "password-protected"),
    (creds_json(private_key=_encrypted_traditional()), "password-protected"),
    (creds_json(private_key=_ec_pem()), "not an RSA key"),
]


@pytest.mark.parametrize("text, message", BAD_CREDENTIALS, ids=[m for _, m in BAD_CREDENTIALS])
def test_parse_credentials_refuses_with_safe_messages(text, message):
    with pytest.raises(ValueError) as info:
        parse_credentials(text)
    text_of_error = str(info.value)
    assert message in text_of_error
    assert info.value.__cause__ is None and (info.value.__context__ is None or info.value.__suppress_context__)
    try:
        pem = json.loads(text).get("private_key") or ""
    except (ValueError, AttributeError):
        pem = ""
    for line in pem_lines(DEMO_PRIVATE_KEY_PEM) + (pem_lines(pem) if isinstance(pem, str) else []):
        assert line not in text_of_error
    assert "hunter22" not in text_of_error


def test_client_with_bad_credentials_is_auth_error_without_key_material():
    with pytest.raises(AuthError) as info:
        VoximplantClient(base_url=BASE, secrets={"credentials_json": creds_json(private_key=_broken_pem())})
    assert "readable PEM" in str(info.value)
    assert not any(line in str(info.value) for line in pem_lines(DEMO_PRIVATE_KEY_PEM))
    with pytest.raises(AuthError, match="no Voximplant credentials"):
        VoximplantClient(base_url=BASE, secrets={})


# ---------------------------------------------------------------------------------------------
# JWT
# ---------------------------------------------------------------------------------------------
@respx.mock
def test_jwt_shape_and_bearer_header():
    route = serve(respx.mock, "GetCallerIDs", [listing(callers(1), 7)])
    with client() as c:
        assert c.test_connection() == "OK: 7 caller IDs"
    request = route.calls.last.request
    scheme, token = request.headers["Authorization"].split(" ")
    assert scheme == "Bearer"
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256" and header["kid"] == DEMO_KEY_ID
    claims = jwt.decode(token, PUBLIC_KEY, algorithms=["RS256"])
    assert set(claims) == {"iss", "iat", "exp"}
    assert claims["iss"] == str(DEMO_ACCOUNT_ID)
    assert 0 < claims["exp"] - claims["iat"] <= 3600
    assert abs(claims["iat"] - dt.datetime.now(UTC).timestamp()) < 30
    assert form(route.calls.last) == {"count": "1", "offset": "0"}


def test_token_reused_until_near_expiry():
    now = [1_800_000_000.0]
    signer = TokenSigner(parse_credentials(DEMO_CREDENTIALS_JSON), clock=lambda: now[0])
    first = signer.token()
    exp = jwt.decode(first, PUBLIC_KEY, algorithms=["RS256"], options={"verify_exp": False, "verify_iat": False})["exp"]
    now[0] = exp - 61
    assert signer.token() == first and signer.issued == 1
    now[0] = exp - 59  # under a minute left: re-signed
    second = signer.token()
    assert second != first and signer.issued == 2
    assert jwt.decode(second, PUBLIC_KEY, algorithms=["RS256"],
                      options={"verify_exp": False, "verify_iat": False})["iat"] == exp - 59
    with pytest.raises(ValueError):
        TokenSigner(parse_credentials(DEMO_CREDENTIALS_JSON), lifetime=3601)


@respx.mock
def test_client_reuses_token_across_requests():
    route = serve(respx.mock, "GetPhoneNumbers", [listing(phones(100), 150), listing(phones(150)[100:], 150)])
    serve(respx.mock, "GetCallerIDs", [listing([])])
    with client() as c:
        c.fetch_inventory()
        assert c.signer.issued == 1
    tokens = {call.request.headers["Authorization"] for call in route.calls}
    assert len(tokens) == 1


def test_token_redaction():
    token = parse_credentials(DEMO_CREDENTIALS_JSON)
    signer = TokenSigner(token)
    redact = TokenRedactor(token.secret_strings())
    text = f"echo {signer.token()} and {pem_lines(DEMO_PRIVATE_KEY_PEM)[3]}"
    assert redact(text) == "echo [redacted] and [redacted]"


# ---------------------------------------------------------------------------------------------
# paging
# ---------------------------------------------------------------------------------------------
@respx.mock
def test_paging_math_offsets_and_progress():
    items = phones(250)
    numbers = serve(respx.mock, "GetPhoneNumbers", [listing(items[i:i + 100], 250) for i in (0, 100, 200)])
    caller_route = serve(respx.mock, "GetCallerIDs", [listing(callers(3))])
    seen: list[Progress] = []
    with client() as c:
        inv = c.fetch_inventory(progress=seen.append)
    # pages after the first are fetched concurrently (any order on the wire)
    assert sorted((form(call) for call in numbers.calls), key=lambda f: int(f["offset"])) == [
        {"count": "100", "offset": "0"}, {"count": "100", "offset": "100"}, {"count": "100", "offset": "200"},
        {"count": "100", "offset": "250"}]  # the page past the total: must be empty
    assert all(call.request.method == "POST" for call in numbers.calls)
    assert caller_route.call_count == 2
    assert inv.complete and inv.total_reported == 250 and inv.pages_fetched == 6
    assert len(inv.numbers) == 250 and len(inv.caller_ids) == 3
    assert [n.external_id for n in inv.numbers[:2]] == ["2000", "2001"]
    assert seen == [Progress(0, 0, None, "numbers"), Progress(1, 100, 250, "numbers"), Progress(2, 200, 250, "numbers"),
                    Progress(3, 250, 250, "numbers"), Progress(0, 0, None, "caller_ids"), Progress(1, 3, 3, "caller_ids")]


@respx.mock
def test_paging_follows_what_the_server_returned():
    """A server that caps pages below ``count`` is paged by offset + returned, not by count."""
    items = phones(120)
    numbers = serve(respx.mock, "GetPhoneNumbers", [listing(items[i:i + 50], 120) for i in (0, 50, 100)])
    serve(respx.mock, "GetCallerIDs", [listing([])])
    with client() as c:
        inv = c.fetch_inventory()
    assert sorted((form(call)["offset"] for call in numbers.calls), key=int) == ["0", "50", "100", "120"]
    assert len(inv.numbers) == 120 and inv.caller_ids == []


@respx.mock
def test_empty_account_and_page_size_config():
    numbers = serve(respx.mock, "GetPhoneNumbers", [listing([])])
    serve(respx.mock, "GetCallerIDs", [listing(callers(2)[:1], 2), listing(callers(2)[1:], 2)])
    with client(config={"page_size": 1}) as c:
        inv = c.fetch_inventory()
    assert form(numbers.calls.last) == {"count": "1", "offset": "0"}
    assert inv.numbers == [] and inv.total_reported == 0 and len(inv.caller_ids) == 2 and inv.complete


@pytest.mark.parametrize("pages, message", [
    ([listing(phones(100), 150), listing([], 150)], "empty page at offset 100"),
    ([listing(phones(100), 150), listing(phones(150)[100:], 151)], "total_count changed from 150 to 151"),
    ([listing(phones(100), 150), listing(phones(50), 150)], "record 2000 repeated"),
    ([listing(phones(3), 2)], "received 3 records but total_count is 2"),
    ([{"result": phones(1)}], "no usable total_count"),
    ([{"result": phones(1), "total_count": "1"}], "no usable total_count"),
    ([{"total_count": 1}], "no 'result' list"),
    ([[1, 2]], "not a JSON object"),
    ([listing([{"phone_number": "1"}], 1)], "without phone_id"),
])
@respx.mock
def test_inconsistent_listings_are_bad_responses(pages, message):
    serve(respx.mock, "GetPhoneNumbers", pages)
    with client() as c, pytest.raises(BadResponse, match=message):
        c.fetch_inventory()


# ---------------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------------
def _error(code, msg, **extra):
    return {"error": {"msg": msg, "code": code, **extra}}


@pytest.mark.parametrize("body, headers, exc, message", [
    (_error(100, "Authorization failed."), {}, AuthError, "authentication failed: GetCallerIDs: Voximplant error 100"),
    (_error(104, "Forbidden command."), {}, AuthError, "error 104: Forbidden command."),
    (_error(340, "Rate limit exceeded"), {"Retry-After": "7"}, RateLimited, "rate limited: GetCallerIDs"),
    (_error(429, "Too many requests"), {}, RateLimited, "error 429"),
    (_error(103, "Unknown command."), {}, InvalidRequest, "request refused: GetCallerIDs: Voximplant error 103: Unknown command."),
    (_error(101, "Invalid argument 'count'.", field_name="count"), {}, InvalidRequest, "error 101"),
    (_error(132, "Something bad happend."), {}, BadResponse, "provider returned an error: Voximplant error 132"),
    ({"errors": [{"code": 100, "msg": "Authorization failed"}]}, {}, AuthError, "error 100"),
    ({"error": "boom"}, {}, BadResponse, "boom"),
])
@respx.mock
def test_in_body_errors(body, headers, exc, message):
    serve(respx.mock, "GetCallerIDs", [httpx.Response(200, json=body, headers=headers)])
    with client() as c, pytest.raises(exc) as info:
        c.test_connection()
    assert message in str(info.value)
    assert info.value.status == 200
    if exc is RateLimited:
        assert info.value.retry_after == (7.0 if headers else None)


@respx.mock
def test_in_body_error_text_is_redacted():
    route = respx.mock.post(f"{BASE}/GetCallerIDs")
    key_line = pem_lines(DEMO_PRIVATE_KEY_PEM)[2]

    def echo(request):  # a provider echoing the request back in its error text
        token = request.headers["Authorization"].split(" ")[1]
        return httpx.Response(200, json=_error(101, f"bad token {token} near {key_line}"))

    route.mock(side_effect=echo)
    with client() as c, pytest.raises(InvalidRequest) as info:
        c.test_connection()
    assert str(info.value) == "request refused: GetCallerIDs: Voximplant error 101: bad token [redacted] near [redacted]"


@pytest.mark.parametrize("response, exc, message", [
    (httpx.Response(401, json=_error(100, "Authorization failed.")), AuthError,
     "authentication failed (HTTP 401): Voximplant error 100: Authorization failed."),
    (httpx.Response(429, headers={"Retry-After": "3"}, text=""), RateLimited, "rate limited (HTTP 429)"),
    (httpx.Response(404, text="<html>404</html>"), NotFound, "not found (HTTP 404)"),
    (httpx.Response(400, json=_error(101, "Invalid arguments.")), InvalidRequest, "HTTP 400): Voximplant error 101"),
    (httpx.Response(500, text="<html>500 Internal Server Error</html>"), Unavailable, "provider error (HTTP 500)"),
    (httpx.Response(503, json=_error(500, "Internal error")), Unavailable, "(HTTP 503): Voximplant error 500"),
    (httpx.Response(302, headers={"Location": "https://evil.test/"}), BadResponse, "redirect not followed"),
])
@respx.mock
def test_non_2xx(response, exc, message):
    serve(respx.mock, "GetPhoneNumbers", [response])
    with client() as c, pytest.raises(exc) as info:
        c.fetch_inventory()
    assert message in str(info.value)
    if exc is RateLimited:
        assert info.value.retry_after == 3.0


@respx.mock
def test_truncated_and_non_json_bodies():
    body = json.dumps(listing(phones(3))).encode()
    serve(respx.mock, "GetPhoneNumbers", [httpx.Response(200, content=body[: len(body) // 2]),
                                          httpx.Response(200, text="<html>maintenance</html>")])
    with client() as c:
        with pytest.raises(BadResponse, match="invalid or truncated JSON"):
            c.fetch_inventory()
        with pytest.raises(BadResponse, match="invalid or truncated JSON"):
            c.fetch_inventory()


# ---------------------------------------------------------------------------------------------
# mapping
# ---------------------------------------------------------------------------------------------
def test_map_number_values():
    record, location = map_number(PHONE)
    assert record.external_id == "1041552" and record.number == "12122221674"
    assert record.e164 == "+12122221674" and record.country_code == "US"
    assert (record.kind, record.status, record.raw_status) == (KIND_LOCAL, STATUS_ACTIVE, "active")
    assert (record.voice, record.sms, record.mms) == (True, True, None)
    assert record.monthly_cost == Decimal("2.5") and record.currency == ""
    assert record.acquired_at == dt.datetime(2025, 4, 21, 21, 25, 4, tzinfo=UTC)
    assert record.expires_at == dt.datetime(2026, 12, 3, tzinfo=UTC)
    assert record.application == "ivr.acme.n3.voximplant.com" and record.description == ""
    assert record.location_id == "region:US:New York" == location.external_id
    assert (location.name, location.kind, location.country_code, location.region) == ("New York", "region", "US", "New York")
    assert record.raw is PHONE
    assert (record.trunk_id, record.group_id) == (None, None)


def test_map_number_sparse_and_odd_items():
    record, location = map_number({"phone_id": 7, "phone_number": "74951234567"})
    assert location is None and record.location_id is None
    assert (record.e164, record.country_code, record.kind) == ("+74951234567", "RU", KIND_UNKNOWN)
    assert (record.sms, record.monthly_cost, record.acquired_at, record.expires_at, record.application) == (
        None, None, None, None, "")
    odd = {**PHONE, "phone_price": "abc", "phone_purchase_date": "2025-04-21", "phone_next_renewal": "soon",
           "phone_country_code": "", "application_name": None, "phone_region_name": "  "}
    record, location = map_number(odd)
    assert (record.monthly_cost, record.acquired_at, record.expires_at, record.application) == (None, None, None, "")
    assert record.country_code == "US" and location is None  # from the E.164
    assert map_number({**PHONE, "phone_price": "1.10"})[0].monthly_cost == Decimal("1.10")
    assert map_number({**PHONE, "phone_number": "123"})[0].e164 == ""  # kept, flagged by the empty e164


@pytest.mark.parametrize("flags, status, raw", [
    ({}, STATUS_ACTIVE, "active"),
    ({"deactivated": True}, STATUS_INACTIVE, "deactivated"),
    ({"canceled": True}, STATUS_CANCELLING, "canceled"),
    ({"canceled": True, "deactivated": True}, STATUS_CANCELLING, "deactivated,canceled"),
    ({"canceled": "false", "deactivated": "true"}, STATUS_INACTIVE, "deactivated"),
])
def test_number_status(flags, status, raw):
    record, _ = map_number({**PHONE, "canceled": False, "deactivated": False, **flags})
    assert (record.status, record.raw_status) == (status, raw)


@pytest.mark.parametrize("category, kind", [
    ("GEOGRAPHIC", KIND_LOCAL), ("MOBILE", KIND_MOBILE), ("TOLLFREE", KIND_TOLL_FREE), ("NATIONAL", KIND_NATIONAL),
    (" tollfree ", KIND_TOLL_FREE), ("Toll-Free", KIND_TOLL_FREE), ("geographic", KIND_LOCAL),
    ("MOSCOW495", KIND_UNKNOWN), ("", KIND_UNKNOWN), (None, KIND_UNKNOWN), (5, KIND_UNKNOWN),
])
def test_kind_from_category(category, kind):
    assert kind_for(category) == kind


def test_map_caller_ids():
    assert map_caller_id(CALLER) == CallerIdRecord(
        external_id="53142", number="442080111000", e164="+442080111000", active=True,
        verified_until=dt.date(2026, 11, 27), code_entering_attempts_left=None,
        verification_call_attempts_left=None)
    never = map_caller_id({"callerid_id": 1, "callerid_number": "+31 20 794 1234", "active": False,
                           "code_entering_attempts_left": 3, "verification_call_attempts_left": 0})
    assert (never.e164, never.active, never.verified_until) == ("+31207941234", False, None)
    assert (never.code_entering_attempts_left, never.verification_call_attempts_left) == (3, 0)
    odd = map_caller_id({"callerid_id": 2, "callerid_number": "12", "verified_until": "31.12.2026"})
    assert (odd.e164, odd.active, odd.verified_until) == ("", None, None)


def test_build_inventory_deduplicates_locations():
    inv = build_inventory([PHONE, {**PHONE, "phone_id": 2}, {**PHONE, "phone_id": 3, "phone_region_name": "Texas"}],
                          [CALLER])
    assert [loc.external_id for loc in inv.locations] == ["region:US:New York", "region:US:Texas"]
    assert len(inv.numbers) == 3 and len(inv.caller_ids) == 1


# ---------------------------------------------------------------------------------------------
# against the simulator
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def shared_sim():
    with VoximplantSimulator(caller_ids=45, numbers=230, seed=5, owned_numbers=["+4930901820"]) as sim:
        yield sim


def sim_client(sim, secrets=None) -> VoximplantClient:
    return SPEC.client(base_url=sim.base_url, secrets=secrets or demo_secrets("voximplant"))


def test_registry_and_spec():
    assert registry.get("voximplant") is SPEC
    assert ("voximplant", "Voximplant") in registry.choices()
    assert SPEC.default_base_url == "https://api.voximplant.com/platform_api"
    assert SPEC.secret_fields == ("credentials_json",)
    assert parse_credentials(demo_secrets("voximplant")["credentials_json"]).account_id == DEMO_ACCOUNT_ID
    sim = simulator("voximplant", numbers=90, seed=2)
    assert isinstance(sim, VoximplantSimulator)
    assert (len(sim.phone_numbers), len(sim.caller_ids)) == (90, 30)
    assert len(simulator("voximplant", numbers=10).caller_ids) == 20


def test_full_sync_against_simulator(sim):
    with sim_client(sim) as c:
        assert c.test_connection() == "OK: 46 caller IDs"
        inv = c.fetch_inventory()
    assert inv.complete and inv.total_reported == 230 and inv.pages_fetched == 3 + 1 + 2  # + a page past each total
    assert [int(n.external_id) for n in inv.numbers] == sorted(p["phone_id"] for p in sim.phone_numbers)
    by_id = {p["phone_id"]: p for p in sim.phone_numbers}
    for number in inv.numbers:
        item = by_id[int(number.external_id)]
        assert number.e164 == "+" + item["phone_number"] and number.country_code == item["phone_country_code"]
        assert number.application == item.get("application_name", "")
        assert number.monthly_cost == Decimal(str(item["phone_price"]))
        assert number.expires_at.date().isoformat() == item["phone_next_renewal"]
    assert {n.kind for n in inv.numbers} >= {KIND_LOCAL, KIND_MOBILE, KIND_TOLL_FREE}
    assert {n.status for n in inv.numbers} == {STATUS_ACTIVE, STATUS_INACTIVE, STATUS_CANCELLING}
    assert {loc.external_id for loc in inv.locations} == {
        f"region:{p['phone_country_code']}:{p['phone_region_name']}" for p in sim.phone_numbers if "phone_region_name" in p}
    assert len(inv.caller_ids) == 46
    assert "+4930901820" in {c.e164 for c in inv.caller_ids}
    assert {c.verified_until is None for c in inv.caller_ids} == {True, False}


def test_simulator_faults_map_to_errors(sim):
    with sim_client(sim) as c:
        sim.faults.rate_limit(retry_after=4, path="GetCallerIDs")
        with pytest.raises(RateLimited) as info:
            c.test_connection()
        assert info.value.retry_after == 4.0 and "Voximplant error 340" in str(info.value)
        sim.faults.fail(503, page=2, path="GetPhoneNumbers")
        with pytest.raises(Unavailable, match="HTTP 503"):
            c.fetch_inventory()
        sim.faults.truncate(page=3, path="GetPhoneNumbers")
        with pytest.raises(BadResponse, match="truncated"):
            c.fetch_inventory()
        assert c.fetch_inventory().complete  # faults were one-shot


def test_simulator_rejects_another_key(sim):
    secrets = {"credentials_json": creds_json(private_key=other_rsa_pem())}
    with sim_client(sim, secrets) as c, pytest.raises(AuthError, match="Voximplant error 100: Authorization failed"):
        c.fetch_inventory()
    secrets = {"credentials_json": creds_json(account_id=DEMO_ACCOUNT_ID + 1)}
    with sim_client(sim, secrets) as c, pytest.raises(AuthError):
        c.test_connection()


def test_listing_shifting_mid_sync_is_detected():
    with VoximplantSimulator(caller_ids=5, numbers=150, seed=9) as sim:
        with sim_client(sim) as c:
            first_page_seen = []

            def progress(p: Progress) -> None:
                if p.stage == "numbers" and p.pages_fetched and not first_page_seen:
                    first_page_seen.append(p)
                    sim.remove_phone_number(sim.phone_numbers[0]["phone_id"])  # everything shifts left

            with pytest.raises(BadResponse, match="total_count changed from 150 to 149"):
                c.fetch_inventory(progress)
