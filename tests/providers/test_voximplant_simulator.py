"""Voximplant Management API simulator over real sockets: request forms, JWT checks, the phone_id lookup,
faults, seeded data, mutations, and the official Python SDK (voximplant-apiclient) against it."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import select
import socket
import ssl
import threading
import time

import httpx
import jwt
import phonenumbers
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from providers.simulators.voximplant import VoximplantSimulator
from providers.simulators.voximplant_demo_key import DEMO_ACCOUNT_ID, DEMO_CREDENTIALS_JSON, DEMO_KEY_ID, DEMO_PRIVATE_KEY_PEM

TODAY = dt.date(2026, 4, 20)
OWNED = ["+4930901820", "+12025550143"]  # e.g. numbers a DIDWW account owns
DEMO_KEY = serialization.load_pem_private_key(DEMO_PRIVATE_KEY_PEM.encode(), None)


def make_token(key=DEMO_KEY, kid=DEMO_KEY_ID, iss=str(DEMO_ACCOUNT_ID), iat=None, exp=None, alg="RS256", **extra):
    now = int(time.time())
    iat = now if iat is None else iat
    claims = {"iss": iss, "iat": iat, "exp": iat + 300 if exp is None else exp, **extra}
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, key, algorithm=alg,
                      headers={"kid": kid} if kid else {})


def make_int_iss_token() -> str:
    """iss as a JSON number (what a Node/Go client may send); PyJWT refuses to encode it."""
    now = int(time.time())
    b64 = lambda d: jwt.utils.base64url_encode(json.dumps(d, separators=(",", ":")).encode())  # noqa: E731
    signing_input = b64({"alg": "RS256", "typ": "JWT", "kid": DEMO_KEY_ID}) + b"." + b64(
        {"iss": DEMO_ACCOUNT_ID, "iat": now, "exp": now + 64})
    signature = jwt.algorithms.RSAAlgorithm(jwt.algorithms.RSAAlgorithm.SHA256).sign(signing_input, DEMO_KEY)
    return (signing_input + b"." + jwt.utils.base64url_encode(signature)).decode()


@pytest.fixture(scope="module")
def shared_sim():
    with VoximplantSimulator(caller_ids=40, numbers=120, seed=4, owned_numbers=OWNED, today=TODAY) as running:
        yield running


@pytest.fixture
def fresh_sim():
    with VoximplantSimulator(caller_ids=20, numbers=30, seed=8, today=TODAY) as running:
        yield running


def client_for(sim: VoximplantSimulator, token: str | None = None) -> httpx.Client:
    return httpx.Client(base_url=sim.root_url, headers={"Authorization": f"Bearer {token or make_token()}"}, timeout=10)


@pytest.fixture
def api(sim):
    with client_for(sim) as client:
        yield client


def call(api: httpx.Client, method: str, **params) -> dict:
    response = api.post(f"/platform_api/{method}", data={k: str(v) for k, v in params.items()})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def ok(api: httpx.Client, method: str, **params) -> dict:
    doc = call(api, method, **params)
    assert "error" not in doc, doc
    assert list(doc) == ["result", "total_count", "count"] and doc["count"] == len(doc["result"])
    return doc


def error_of(doc: dict, code: int) -> dict:
    assert set(doc) == {"error"}, doc
    assert doc["error"]["code"] == code and doc["error"]["msg"]
    return doc["error"]


def fetch_all(api, method: str, **params) -> list[dict]:
    items, offset = [], 0
    while True:
        doc = ok(api, method, count=7, offset=offset, **params)
        items += doc["result"]
        offset += doc["count"]
        if offset >= doc["total_count"]:
            return items


# -- request forms -----------------------------------------------------------------------------
def test_both_request_forms_and_encodings(api, sim):
    expected = ok(api, "GetCallerIDs", count=5, offset=3)
    assert len(expected["result"]) == 5 and expected["total_count"] == 42
    fields = {"count": "5", "offset": "3"}
    # form B: cmd in the body, at /platform_api and /platform_api/ (Python SDK: urlencoded)
    for path in ("/platform_api", "/platform_api/"):
        assert api.post(path, data={**fields, "cmd": "GetCallerIDs"}).json() == expected
    # multipart/form-data (Node and Go SDKs), both forms
    multipart = {k: (None, v) for k, v in fields.items()}
    response = api.post("/platform_api", files={**multipart, "cmd": (None, "GetCallerIDs")})
    assert response.request.headers["content-type"].startswith("multipart/form-data")
    assert response.json() == expected
    assert api.post("/platform_api/GetCallerIDs", files=multipart).json() == expected
    # query string, on POST (docs declare params "in: query") and GET (old clients)
    assert api.post("/platform_api/GetCallerIDs", params=fields).json() == expected
    assert api.get("/platform_api", params={**fields, "cmd": "GetCallerIDs"}).json() == expected
    # body wins over query string
    assert api.post("/platform_api/GetCallerIDs", params={"count": "1"}, data=fields).json() == expected
    # the method in the path wins over a stray cmd
    assert api.post("/platform_api/GetCallerIDs", data={**fields, "cmd": "GetPhoneNumbers"}).json() == expected


def test_command_errors(api):
    error_of(api.post("/platform_api", data={"count": "1"}).json(), 102)
    error_of(api.post("/platform_api/").json(), 102)
    assert error_of(api.post("/platform_api", data={"cmd": "GetCallerIds"}).json(), 103)["msg"] == "Unknown command."
    error_of(api.post("/platform_api/SetCallerIDInfo").json(), 103)
    assert api.post("/platform_api/GetCallerIDs/extra").status_code == 404
    assert api.post("/other/GetCallerIDs").status_code == 404
    assert api.put("/platform_api/GetCallerIDs").status_code == 405


@pytest.mark.parametrize("params, field", [
    ({"count": "x"}, "count"), ({"count": "-1"}, "count"), ({"offset": "1.5"}, "offset"),
])
def test_invalid_arguments_are_101(api, params, field):
    error = error_of(call(api, "GetCallerIDs", **params), 101)
    assert error["field_name"] == field


# -- JWT ----------------------------------------------------------------------------------------
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _now() -> int:
    return int(time.time())


# Factories, not values: tokens must be signed when the test runs, not at collection time.
REJECTED = {
    "none": lambda: None,
    "empty": lambda: "Bearer",
    "basic": lambda: "Basic dXNlcjpwYXNz",
    "garbage": lambda: "Bearer not-a-jwt",
    "other-key": lambda: f"Bearer {make_token(key=OTHER_KEY)}",
    "wrong-kid": lambda: f"Bearer {make_token(kid='0000-other-key')}",
    "no-kid": lambda: f"Bearer {make_token(kid=None)}",
    "wrong-iss": lambda: f"Bearer {make_token(iss=str(DEMO_ACCOUNT_ID + 1))}",
    "no-iss": lambda: f"Bearer {make_token(iss=None)}",
    "expired": lambda: f"Bearer {make_token(iat=_now() - 7200, exp=_now() - 3600)}",
    "too-long": lambda: f"Bearer {make_token(iat=_now(), exp=_now() + 3700)}",
    "future": lambda: f"Bearer {make_token(iat=_now() + 600)}",
    "bad-signature": lambda: f"Bearer {make_token().rsplit('.', 1)[0]}.AAAA",
    "alg-none": lambda: "Bearer " + jwt.encode({"iss": str(DEMO_ACCOUNT_ID), "iat": _now(), "exp": _now() + 60},
                                               None, algorithm="none", headers={"kid": DEMO_KEY_ID}),
    "hs256": lambda: f"Bearer {make_token(key=b'k' * 32, alg='HS256')}",
}


@pytest.mark.parametrize("header", list(REJECTED.values()), ids=list(REJECTED))
def test_jwt_rejected(sim, header):
    header = header()
    headers = {"Authorization": header} if header else {}
    response = httpx.post(f"{sim.base_url}/GetCallerIDs", headers=headers)
    assert response.status_code == 200
    assert response.json() == {"error": {"msg": "Authorization failed.", "code": 100}}


ACCEPTED = {
    "adapter": lambda: make_token(),  # what our adapter sends
    "int-iss": make_int_iss_token,  # iss as a number
    "python-sdk": lambda: make_token(iat=_now() - 5, exp=_now() + 24),  # Python SDK lifetimes
    "max-lifetime": lambda: make_token(iat=_now(), exp=_now() + 3600),  # the documented maximum
}


@pytest.mark.parametrize("token", list(ACCEPTED.values()), ids=list(ACCEPTED))
def test_jwt_accepted(sim, token):
    response = httpx.post(f"{sim.base_url}/GetCallerIDs", headers={"Authorization": f"Bearer {token()}"})
    assert "result" in response.json()


def test_simulator_trusts_the_configured_key_only():
    pem = OTHER_KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()).decode()
    creds = json.dumps({"account_id": 77, "key_id": "k-77", "private_key": pem})
    with VoximplantSimulator(credentials_json=creds, caller_ids=2, numbers=1) as sim:
        good = make_token(key=OTHER_KEY, kid="k-77", iss="77")
        assert httpx.post(f"{sim.base_url}/GetPhoneNumbers", headers={"Authorization": f"Bearer {good}"}).json()["total_count"] == 1
        demo = httpx.post(f"{sim.base_url}/GetPhoneNumbers", headers={"Authorization": f"Bearer {make_token()}"})
        assert demo.json()["error"]["code"] == 100
    with pytest.raises(ValueError):
        VoximplantSimulator(credentials_json="{}")


# -- GetCallerIDs -------------------------------------------------------------------------------
def test_caller_id_listing_and_defaults(api, sim):
    doc = ok(api, "GetCallerIDs")
    assert len(doc["result"]) == 20 and doc["total_count"] == 42  # default count 20
    everything = fetch_all(api, "GetCallerIDs")
    assert [c["callerid_id"] for c in everything] == sorted(c["callerid_id"] for c in sim.caller_ids)
    beyond = ok(api, "GetCallerIDs", offset=500)
    assert beyond["result"] == [] and beyond["total_count"] == 42
    assert ok(api, "GetCallerIDs", count=0)["result"] == []


def test_caller_id_shape(sim):
    for rec in sim.caller_ids:
        assert set(rec) <= {"callerid_id", "callerid_number", "active", "code_entering_attempts_left",
                            "verification_call_attempts_left", "verified_until"}
        assert None not in rec.values()  # optional fields are absent, never null
        assert isinstance(rec["callerid_id"], int) and rec["callerid_number"].isdigit()


# -- GetPhoneNumbers ----------------------------------------------------------------------------
def test_phone_number_listing_and_lookup(api, sim):
    everything = fetch_all(api, "GetPhoneNumbers")
    assert [p["phone_id"] for p in everything] == sorted(p["phone_id"] for p in sim.phone_numbers)
    a, b = sim.phone_numbers[3], sim.phone_numbers[9]
    assert ok(api, "GetPhoneNumbers", phone_id=f"{b['phone_id']};{a['phone_id']}")["result"] == [a, b]
    assert ok(api, "GetPhoneNumbers", phone_id="1")["result"] == []  # the adapter's lookup: gone
    error_of(call(api, "GetPhoneNumbers", phone_id="1;x"), 101)


# -- faults -------------------------------------------------------------------------------------
def test_fault_500_on_page_two(api, sim):
    sim.faults.fail(500, page=2, path="GetPhoneNumbers")
    assert ok(api, "GetPhoneNumbers", count=50, offset=0)
    response = api.post("/platform_api/GetPhoneNumbers", data={"count": "50", "offset": "50"})
    assert response.status_code == 500 and response.headers["content-type"] == "text/html"
    assert "500 Internal Server Error" in response.text
    assert ok(api, "GetPhoneNumbers", count=50, offset=50)["result"]  # one-shot


def test_fault_rate_limit_the_voximplant_way(api, sim):
    sim.faults.rate_limit(retry_after=3)
    response = api.post("/platform_api", data={"cmd": "GetCallerIDs"})
    assert response.status_code == 200 and response.headers["Retry-After"] == "3"
    assert response.json() == {"error": {"msg": "Rate limit exceeded", "code": 340}}
    assert "result" in api.post("/platform_api", data={"cmd": "GetCallerIDs"}).json()


def test_fault_truncate_and_stall(sim):
    sim.faults.truncate(page=1)
    with client_for(sim) as api:
        response = api.post("/platform_api/GetCallerIDs")
        assert response.status_code == 200
        with pytest.raises(json.JSONDecodeError):
            json.loads(response.content)
    sim.faults.stall(seconds=1.5)
    with httpx.Client(base_url=sim.root_url, timeout=httpx.Timeout(5, read=0.3),
                      headers={"Authorization": f"Bearer {make_token()}"}) as slow:
        with pytest.raises(httpx.ReadTimeout):
            slow.post("/platform_api/GetCallerIDs")


# -- seeded data --------------------------------------------------------------------------------
def test_same_seed_same_data_other_seed_differs():
    a = VoximplantSimulator(seed=3, today=TODAY)
    b = VoximplantSimulator(seed=3, today=TODAY)
    c = VoximplantSimulator(seed=4, today=TODAY)
    assert (a.caller_ids, a.phone_numbers) == (b.caller_ids, b.phone_numbers)
    assert a.phone_numbers != c.phone_numbers and a.caller_ids != c.caller_ids
    assert a.add_phone_numbers(2) == b.add_phone_numbers(2)


@pytest.mark.parametrize("seed, numbers", [(1, 60), (2, 600)])
def test_every_number_is_valid_for_its_country(seed, numbers):
    sim = VoximplantSimulator(seed=seed, numbers=numbers, caller_ids=numbers // 3, today=TODAY)
    seen = [p["phone_number"] for p in sim.phone_numbers] + [c["callerid_number"] for c in sim.caller_ids]
    assert len(seen) == len(set(seen))
    for phone in sim.phone_numbers:
        parsed = phonenumbers.parse("+" + phone["phone_number"])
        assert phonenumbers.is_valid_number(parsed), phone
        assert phonenumbers.region_code_for_number(parsed) == phone["phone_country_code"], phone
    for caller in sim.caller_ids:
        assert phonenumbers.is_valid_number(phonenumbers.parse("+" + caller["callerid_number"])), caller


def test_seeded_mix(sim):
    phones = sim.phone_numbers
    assert {p["phone_country_code"] for p in phones} == {"US", "GB", "DE", "RU", "NL"}
    assert {p["category_name"] for p in phones} >= {"GEOGRAPHIC", "MOBILE", "TOLLFREE", "NATIONAL"}
    assert 0 < sum(p["deactivated"] for p in phones) < 30 and 0 < sum(p["canceled"] for p in phones) < 30
    assert 0 < sum(p["is_sms_enabled"] for p in phones) < len(phones)
    bound = [p for p in phones if "application_name" in p]
    assert 0 < len(bound) < len(phones) and len({p["application_name"] for p in bound}) > 1
    assert all(p["application_name"].endswith(".voximplant.com") for p in bound)
    assert all(("phone_region_name" in p) == (p["category_name"] == "GEOGRAPHIC") for p in phones)
    assert len({p["phone_price"] for p in phones}) > 3
    for p in phones:
        dt.datetime.strptime(p["phone_purchase_date"], "%Y-%m-%d %H:%M:%S")
        renewal = dt.date.fromisoformat(p["phone_next_renewal"])
        assert (renewal < TODAY) == p["deactivated"]
        assert None not in p.values()


def test_caller_id_verification_spread(sim):
    def days(c) -> int:
        return (dt.date.fromisoformat(c["verified_until"]) - TODAY).days

    callers = sim.caller_ids
    never = [c for c in callers if "verified_until" not in c]
    expired = [c for c in callers if "verified_until" in c and days(c) < 0]
    soon = [c for c in callers if "verified_until" in c and 0 <= days(c) <= 30]
    far = [c for c in callers if "verified_until" in c and days(c) > 30]
    assert len(never) >= 4 and len(expired) >= 6 and len(soon) >= 6 and len(far) >= 10
    assert all(c["active"] is False and "code_entering_attempts_left" in c for c in never)
    assert all(c["active"] is False for c in expired) and all(c["active"] for c in soon + far)
    assert all("code_entering_attempts_left" not in c for c in soon + far)
    relative = VoximplantSimulator(seed=4, caller_ids=40, numbers=0, today=TODAY + dt.timedelta(days=10))
    assert [c.get("verified_until") for c in relative.caller_ids][:3] == [
        (dt.date.fromisoformat(c["verified_until"]) + dt.timedelta(days=10)).isoformat() if "verified_until" in c
        else None for c in sim.caller_ids[:3]]
    assert len(VoximplantSimulator(caller_ids=3, numbers=0).caller_ids) == 3


def test_owned_numbers_are_caller_ids(api, sim):
    listed = {c["callerid_number"]: c for c in fetch_all(api, "GetCallerIDs")}
    for e164 in OWNED:
        rec = listed[e164.lstrip("+")]
        assert rec["active"] is True and dt.date.fromisoformat(rec["verified_until"]) > TODAY
    assert len(sim.caller_ids) == 40 + len(OWNED)
    assert not {p["phone_number"] for p in sim.phone_numbers} & {n.lstrip("+") for n in OWNED}


def test_mutations_show_up_between_syncs(fresh_sim):
    sim = fresh_sim
    with client_for(sim) as api:
        gone = sim.caller_ids[0]["callerid_id"]
        sim.remove_caller_id(gone)
        target = sim.caller_ids[2]["callerid_id"]
        sim.update_caller_id(target, verified_until=TODAY - dt.timedelta(days=1), active=False)
        added = sim.add_caller_id("+31207941234", verified_until=None)
        listed = {c["callerid_id"]: c for c in fetch_all(api, "GetCallerIDs")}
        assert gone not in listed and len(listed) == 20
        assert listed[target]["verified_until"] == "2026-04-19" and listed[target]["active"] is False
        assert listed[added["callerid_id"]]["callerid_number"] == "31207941234"
        assert "verified_until" not in listed[added["callerid_id"]]
        sim.update_caller_id(target, verified_until=None)
        listed = {c["callerid_id"]: c for c in fetch_all(api, "GetCallerIDs")}
        assert "verified_until" not in listed[target]

        phone = sim.phone_numbers[0]["phone_id"]
        sim.update_phone_number(phone, canceled=True, application_name=None, application_id=None)
        sim.remove_phone_number(sim.phone_numbers[1]["phone_id"])
        new = sim.add_phone_numbers(2)
        listed = {p["phone_id"]: p for p in fetch_all(api, "GetPhoneNumbers")}
        assert len(listed) == 31 and {p["phone_id"] for p in new} <= set(listed)
        assert listed[phone]["canceled"] is True and "application_name" not in listed[phone]
    with pytest.raises(KeyError):
        sim.update_phone_number(phone, bogus=1)
    with pytest.raises(KeyError):
        sim.remove_caller_id(gone)


# -- the official SDK ---------------------------------------------------------------------------
class TlsProxy:
    """TLS in front of the simulator: the SDK only speaks https://{endpoint}/platform_api."""

    def __init__(self, target_port: int, cert_file: str, key_file: str):
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert_file, key_file)
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._pipe, args=(conn,), daemon=True).start()

    def _pipe(self, conn: socket.socket) -> None:
        try:
            tls = self.context.wrap_socket(conn, server_side=True)
        except (OSError, ssl.SSLError):
            conn.close()
            return
        upstream = socket.create_connection(("127.0.0.1", self.target_port))
        try:
            while True:
                ready = [tls] if tls.pending() else select.select([tls, upstream], [], [], 10)[0]
                if not ready:
                    return
                for src in ready:
                    data = src.recv(65536)
                    if not data:
                        return
                    (upstream if src is tls else tls).sendall(data)
        except OSError:
            return
        finally:
            tls.close()
            upstream.close()

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def sdk(sim, tmp_path, monkeypatch):
    """The unmodified SDK, pointed at the simulator through its ``endpoint`` argument."""
    vox = pytest.importorskip("voximplant.apiclient")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert_file))  # the SDK's own CA hook (_ca_verify)
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    proxy = TlsProxy(sim.port, str(cert_file), str(key_file))
    credentials = tmp_path / "credentials.json"
    credentials.write_text(DEMO_CREDENTIALS_JSON)
    try:
        yield vox, vox.VoximplantAPI(str(credentials), endpoint=f"127.0.0.1:{proxy.port}")
    finally:
        proxy.close()


def test_official_sdk_get_caller_ids(sdk, sim):
    vox, api = sdk
    before = len(sim.requests)
    res = api.get_caller_ids(count=100)
    assert res["total_count"] == res["count"] == 42
    req = sim.requests[before]
    assert (req.method, req.path) == ("POST", "/platform_api")  # form B, urlencoded, cmd in the body
    assert req.headers["content-type"] == "application/x-www-form-urlencoded"
    assert b"cmd=GetCallerIDs" in req.body
    records = {c["callerid_id"]: c for c in sim.caller_ids}
    for item in res["result"]:
        rec = records[item["callerid_id"]]
        assert item["callerid_number"] == rec["callerid_number"] and item["active"] is rec["active"]
        if "verified_until" in rec:  # the SDK turns dates into datetime.date
            assert item["verified_until"] == dt.date.fromisoformat(rec["verified_until"])
        else:
            assert "verified_until" not in item
            assert item["code_entering_attempts_left"] == rec["code_entering_attempts_left"]


def test_official_sdk_get_phone_numbers(sdk, sim):
    vox, api = sdk
    res = api.get_phone_numbers(count=10, offset=5)
    expected = sim.phone_numbers
    assert res["total_count"] == len(expected) and res["count"] == 10
    for item, rec in zip(res["result"], expected[5:15], strict=True):
        assert item["phone_id"] == rec["phone_id"] and item["phone_number"] == rec["phone_number"]
        assert item["phone_price"] == rec["phone_price"] and item["category_name"] == rec["category_name"]
        assert item["phone_next_renewal"] == dt.date.fromisoformat(rec["phone_next_renewal"])
        assert item["phone_purchase_date"] == dt.datetime.strptime(
            rec["phone_purchase_date"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.timezone.utc)
        assert item.get("application_name") == rec.get("application_name")
    (one,) = api.get_phone_numbers(phone_id=[expected[0]["phone_id"]])["result"]
    assert one["phone_number"] == expected[0]["phone_number"]


def test_official_sdk_sees_voximplant_errors(sdk, sim, tmp_path):
    vox, api = sdk
    sim.faults.rate_limit(retry_after=1)
    with pytest.raises(vox.VoximplantException) as info:
        api.get_caller_ids()
    assert info.value.code == 340
    sim.faults.fail(503)
    with pytest.raises(vox.VoximplantException) as info:
        api.get_phone_numbers()
    assert info.value.code == 503 and "503" in info.value.message
    other = tmp_path / "other.json"
    other.write_text(json.dumps({**json.loads(DEMO_CREDENTIALS_JSON), "key_id": "revoked-key"}))
    wrong = vox.VoximplantAPI(str(other), endpoint=api.endpoint)
    with pytest.raises(vox.VoximplantException) as info:
        wrong.get_caller_ids()
    assert (info.value.code, info.value.message) == (100, "Authorization failed.")
