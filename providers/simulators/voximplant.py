"""Voximplant Management API simulator: GetCallerIDs and GetPhoneNumbers as the SDKs call them.

Wire behaviour (providers/WIRE.md section 1, seed 000, gdml fixtures):

* Both request forms: ``POST /platform_api/<Method>`` (docs, Go SDK) and ``POST /platform_api``
  with ``cmd=<Method>`` (Python and Node SDKs). Params come from the query string and/or the body,
  ``application/x-www-form-urlencoded`` (Python SDK) or ``multipart/form-data`` (Node, Go);
  body values win. GET is accepted too (old docs and third-party clients).
* Auth: ``Authorization: Bearer <JWT>`` signed RS256 with the service-account key whose public
  half this simulator trusts; header ``kid`` = key_id, ``iss`` = account_id (int or string: the
  Python SDK sends a string), ``exp`` in the future and at most 3600 s after ``iat``.
* Errors are HTTP 200 with ``{"error": {"msg", "code"}}`` (key order as in the fixtures;
  ``field_name`` on 101): 100 Authorization failed, 101 Invalid arguments, 102 Missing 'cmd',
  103 Unknown command, 340 Rate limit exceeded (the ``rate_limit`` fault, plus Retry-After).
  Injected 5xx faults answer like the HTTP front end would: a small HTML page, not JSON.
* Lists: ``{"result": [...], "total_count", "count"}``, ordered by id; ``count`` default 20,
  ``offset`` default 0. Optional item fields are absent when unset, never null. Of the documented
  filters only GetPhoneNumbers ``phone_id`` (``;``-separated ids; the adapter's lookup) is
  simulated; the others and ``order_by`` are ignored (no client sends them).

Data is plain dicts (``sim.caller_ids``, ``sim.phone_numbers``) so tests can mutate it between
syncs; dates are relative to ``today`` (default: the real UTC date) and otherwise seeded.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import threading
from email import policy
from email.parser import BytesParser
from typing import Any, Iterable
from urllib.parse import parse_qsl

import jwt
import phonenumbers

from ..voximplant.credentials import MAX_TOKEN_LIFETIME, parse_credentials
from .server import SimRequest, SimResponse, Simulator, with_retry_after
from .server import expand_pattern as _expand
from .voximplant_demo_key import DEMO_CREDENTIALS_JSON

DEMO_SECRETS = {"credentials_json": DEMO_CREDENTIALS_JSON}
LEEWAY = 10  # seconds of clock skew tolerated on iat/exp
DEFAULT_COUNT = 20
METHODS = ("GetCallerIDs", "GetPhoneNumbers")

# iso: (calling code, [(category, region name or None, national prefix, pattern)]).
# Pattern: digit = literal, X = 0-9, N = 2-9, [..] = class. Every generated number is checked
# with `phonenumbers` (valid, and in this country) and redrawn otherwise.
NUMBER_PLAN: dict[str, tuple[str, list[tuple[str, str | None, str, str]]]] = {
    "US": ("1", [("GEOGRAPHIC", "New York", "212", "NXXXXXX"), ("GEOGRAPHIC", "California", "415", "NXXXXXX"),
                 ("GEOGRAPHIC", "Illinois", "312", "NXXXXXX"), ("TOLLFREE", None, "888", "NXXXXXX")]),
    "GB": ("44", [("GEOGRAPHIC", "London", "20", "[378]XXXXXXX"), ("GEOGRAPHIC", "Manchester", "161", "NXXXXXX"),
                  ("MOBILE", None, "7", "[4-9]XXXXXXXX"), ("NATIONAL", None, "330", "XXXXXXX")]),
    "DE": ("49", [("GEOGRAPHIC", "Berlin", "30", "[1-9]XXXXXXX"), ("GEOGRAPHIC", "Munich", "89", "[1-9]XXXXXXX"),
                  ("MOBILE", None, "151", "XXXXXXXX"), ("TOLLFREE", None, "800", "XXXXXXX")]),
    "RU": ("7", [("GEOGRAPHIC", "Moscow", "495", "[1-9]XXXXXX"), ("GEOGRAPHIC", "Saint Petersburg", "812", "[1-9]XXXXXX"),
                 ("MOBILE", None, "9", "[0-6]XXXXXXXX"), ("TOLLFREE", None, "800", "[1-9]XXXXXX")]),
    "NL": ("31", [("GEOGRAPHIC", "Amsterdam", "20", "[2-7]XXXXXX"), ("GEOGRAPHIC", "Rotterdam", "10", "[2-7]XXXXXX"),
                  ("MOBILE", None, "6", "[1-5]XXXXXXX"), ("NATIONAL", None, "85", "XXXXXXX")]),
}
COUNTRY_WEIGHT = {"US": 30, "GB": 20, "DE": 15, "RU": 20, "NL": 15}
PRICES = {"GEOGRAPHIC": (1.0, 2.0, 3.5, 5.0), "MOBILE": (8.0, 12.0), "TOLLFREE": (15.0, 25.0), "NATIONAL": (4.0, 6.5)}
APPLICATIONS = ("ivr", "support", "sales-bot", "callback")
ACCOUNT_NAME = "acme"

CALLER_ID_FIELDS = {"callerid_number", "active", "code_entering_attempts_left", "verification_call_attempts_left",
                    "verified_until"}
PHONE_FIELDS = {"phone_number", "phone_price", "phone_country_code", "phone_next_renewal", "phone_purchase_date",
                "deactivated", "canceled", "auto_charge", "application_id", "application_name", "category_name",
                "phone_region_name", "is_sms_supported", "is_sms_enabled", "can_be_used", "subscription_id",
                "modified", "verification_status", "unverified_hold_until", "verification_name"}


class VoxError(Exception):
    def __init__(self, code: int, msg: str, field_name: str | None = None):
        super().__init__(msg)
        self.code, self.msg, self.field_name = code, msg, field_name


def _invalid(name: str) -> VoxError:
    return VoxError(101, f"Invalid argument '{name}'.", name)




def parse_multipart(content_type: str, body: bytes) -> list[tuple[str, str]]:
    """Form fields of a ``multipart/form-data`` body (stdlib ``email`` parser)."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise ValueError("not a multipart body")
    fields = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name is None:
            continue
        payload = part.get_payload(decode=True) or b""
        fields.append((str(name), payload.decode(part.get_content_charset() or "utf-8")))
    return fields


class _Params:
    """Typed access to request params; bad values raise 101 with ``field_name``."""

    def __init__(self, values: dict[str, str]):
        self.values = values

    def get(self, name: str) -> str | None:
        value = self.values.get(name)
        return None if value is None or value.strip() == "" else value.strip()

    def int(self, name: str, default: int | None = None, minimum: int = 0) -> int | None:
        raw = self.get(name)
        if raw is None:
            return default
        if not re.fullmatch(r"-?\d+", raw) or int(raw) < minimum:
            raise _invalid(name)
        return int(raw)

    def list(self, name: str) -> list[str] | None:
        raw = self.get(name)
        return None if raw is None else [item.strip() for item in raw.split(";") if item.strip()]

    def int_list(self, name: str) -> list[int] | None:
        items = self.list(name)
        if items is None:
            return None
        if not all(re.fullmatch(r"\d+", item) for item in items):
            raise _invalid(name)
        return [int(item) for item in items]


class VoximplantSimulator(Simulator):
    name = "voximplant"
    base_path = "/platform_api"
    # List-page faults. No continuation link (offset paging), so drop_next is a no-op.
    list_items = ("result",)
    list_count = "count"
    list_total = "total_count"

    def __init__(self, credentials_json: str | None = None, caller_ids: int = 40, numbers: int = 60, seed: int = 1,
                 owned_numbers: list[str] | None = None, *, today: dt.date | None = None) -> None:
        super().__init__()
        creds = parse_credentials(credentials_json or DEMO_CREDENTIALS_JSON)
        self.account_id = creds.account_id
        self.key_id = creds.key_id
        self.public_key = creds.private_key.public_key()  # only the public half is used
        self.today = today or dt.datetime.now(dt.timezone.utc).date()
        self._rng = random.Random(seed)
        self._lock = threading.RLock()  # the server is threaded; tests mutate between requests
        self._numbers: set[str] = set()
        self._next_caller_id = 52000 + self._rng.randrange(1000)
        self._next_phone_id = 1040000 + self._rng.randrange(10000)
        self.applications = [
            {"application_id": 9100000 + i * 17 + self._rng.randrange(10),
             "application_name": f"{name}.{ACCOUNT_NAME}.n{self._rng.randint(2, 9)}.voximplant.com"}
            for i, name in enumerate(APPLICATIONS)
        ]
        self.caller_ids: list[dict] = []
        self.phone_numbers: list[dict] = []
        self._seed_caller_ids(caller_ids)
        for number in owned_numbers or ():
            self.add_caller_id(number)
        self.add_phone_numbers(numbers)

    # -- seeding ------------------------------------------------------------------------------
    def _day(self, offset: int) -> str:
        return (self.today + dt.timedelta(days=offset)).isoformat()

    def _new_number(self, iso: str, prefix: str, pattern: str) -> str:
        code = NUMBER_PLAN[iso][0]
        for _ in range(500):
            number = code + prefix + _expand(pattern, self._rng)
            if code == "1" and (number[4:6] == "11" or number[4:7] == "555"):  # N11 / fictional 555
                continue
            if number in self._numbers:
                continue
            parsed = phonenumbers.parse("+" + number)
            if phonenumbers.is_valid_number(parsed) and phonenumbers.region_code_for_number(parsed) == iso:
                self._numbers.add(number)
                return number
        raise RuntimeError(f"could not draw a valid {iso} number for {prefix}{pattern}")

    def _pick_plan(self, categories: Iterable[str] | None = None) -> tuple[str, tuple[str, str | None, str, str]]:
        isos = list(NUMBER_PLAN)
        iso = self._rng.choices(isos, [COUNTRY_WEIGHT[i] for i in isos])[0]
        plans = [p for p in NUMBER_PLAN[iso][1] if categories is None or p[0] in categories]
        weights = [3 if p[0] == "GEOGRAPHIC" else 1 for p in plans]
        return iso, self._rng.choices(plans, weights)[0]

    def _seed_caller_ids(self, n: int) -> None:
        # A fixed mix, shuffled: never verified, expired, expiring within 30 days, far future.
        if n < 4:
            kinds = ["far", "soon", "expired", "never"][:n]
        else:
            kinds = ["never"] * max(1, n * 15 // 100) + ["expired"] * max(1, n * 20 // 100) \
                + ["soon"] * max(1, n * 20 // 100)
            kinds += ["far"] * (n - len(kinds))
        self._rng.shuffle(kinds)
        for kind in kinds:
            iso, (_, _, prefix, pattern) = self._pick_plan(("GEOGRAPHIC", "MOBILE"))
            self.caller_ids.append(self._new_caller_id(self._new_number(iso, prefix, pattern), kind))

    def _new_caller_id(self, digits: str, kind: str) -> dict:
        rng = self._rng
        self._next_caller_id += rng.randint(1, 40)
        rec: dict[str, Any] = {"callerid_id": self._next_caller_id, "callerid_number": digits}
        if kind == "never":
            rec["active"] = False
            rec["code_entering_attempts_left"] = rng.randint(0, 5)
            rec["verification_call_attempts_left"] = rng.randint(0, 5)
            return rec
        days = {"expired": -rng.randint(1, 400), "soon": rng.randint(0, 30), "far": rng.randint(31, 365)}[kind]
        rec["active"] = days >= 0
        if kind == "expired":
            rec["code_entering_attempts_left"] = 5
            rec["verification_call_attempts_left"] = rng.randint(3, 5)
        rec["verified_until"] = self._day(days)
        return rec

    def _new_phone(self) -> dict:
        rng = self._rng
        iso, (category, region, prefix, pattern) = self._pick_plan()
        self._next_phone_id += rng.randint(1, 900)
        state = rng.random()
        canceled, deactivated = state < 0.06, 0.06 <= state < 0.12
        purchase = dt.datetime.combine(self.today, dt.time(), dt.timezone.utc) - dt.timedelta(
            seconds=rng.randrange(86400, 3 * 365 * 86400))
        if deactivated:
            renewal = -rng.randint(1, 20)  # frozen: the renewal was not paid
        else:
            renewal = rng.randint(1, 10) if canceled else rng.randint(1, 31)
        sms_supported = category in ("MOBILE", "GEOGRAPHIC") and iso in ("US", "GB", "NL")
        rec: dict[str, Any] = {
            "phone_id": self._next_phone_id,
            "phone_number": self._new_number(iso, prefix, pattern),
            "phone_price": rng.choice(PRICES[category]),
            "phone_country_code": iso,
            "phone_next_renewal": self._day(renewal),
            "phone_purchase_date": purchase.strftime("%Y-%m-%d %H:%M:%S"),
            "deactivated": deactivated,
            "canceled": canceled,
            "auto_charge": not canceled and rng.random() < 0.9,
        }
        if rng.random() < 0.75:
            rec.update(rng.choice(self.applications))
        rec["category_name"] = category
        if region:
            rec["phone_region_name"] = region
        rec["can_be_used"] = not deactivated
        rec["is_sms_supported"] = sms_supported
        rec["is_sms_enabled"] = sms_supported and rng.random() < 0.6
        rec["subscription_id"] = 700000 + rec["phone_id"] % 100000
        rec["modified"] = (purchase + dt.timedelta(seconds=rng.randrange(3600, 86400 * 30))).strftime(
            "%Y-%m-%d %H:%M:%S")
        if iso == "DE" and category == "GEOGRAPHIC":
            rec["verification_status"] = "VERIFIED"  # German local numbers need a verified address
        return rec

    # -- mutation helpers for tests ---------------------------------------------------------------
    def get_caller_id(self, callerid_id: int) -> dict:
        for rec in self.caller_ids:
            if rec["callerid_id"] == int(callerid_id):
                return rec
        raise KeyError(f"no caller ID {callerid_id}")

    def get_phone_number(self, phone_id: int) -> dict:
        for rec in self.phone_numbers:
            if rec["phone_id"] == int(phone_id):
                return rec
        raise KeyError(f"no phone number {phone_id}")

    def add_caller_id(self, number: str | None = None, *, verified_until: dt.date | str | None = "far",
                      **fields: Any) -> dict:
        """Append a caller ID: ``number`` (E.164 or digits; None = a random valid number),
        verified until ~a year from ``today`` by default; ``verified_until=None`` = never verified."""
        with self._lock:
            if number is None:
                iso, (_, _, prefix, pattern) = self._pick_plan(("GEOGRAPHIC", "MOBILE"))
                digits = self._new_number(iso, prefix, pattern)
            else:
                digits = "".join(ch for ch in str(number) if ch.isdigit())
                if not digits:
                    raise ValueError(f"not a phone number: {number!r}")
                self._numbers.add(digits)
            rec = self._new_caller_id(digits, "never" if verified_until is None else "far")
            if verified_until not in (None, "far"):
                rec["verified_until"] = str(verified_until)
                rec["active"] = rec["verified_until"] >= self.today.isoformat()
            self.caller_ids.append(rec)
            return self._apply(rec, fields, CALLER_ID_FIELDS)

    def add_phone_numbers(self, n: int = 1) -> list[dict]:
        with self._lock:
            added = [self._new_phone() for _ in range(n)]
            self.phone_numbers.extend(added)
            return added

    def remove_caller_id(self, callerid_id: int) -> dict:
        with self._lock:
            rec = self.get_caller_id(callerid_id)
            self.caller_ids.remove(rec)
            return rec

    def remove_phone_number(self, phone_id: int) -> dict:
        with self._lock:
            rec = self.get_phone_number(phone_id)
            self.phone_numbers.remove(rec)
            self._numbers.discard(rec["phone_number"])
            return rec

    def update_caller_id(self, callerid_id: int, **fields: Any) -> dict:
        """Set fields (dates may be ``date`` objects); ``None`` removes an optional field."""
        with self._lock:
            return self._apply(self.get_caller_id(callerid_id), fields, CALLER_ID_FIELDS)

    def update_phone_number(self, phone_id: int, **fields: Any) -> dict:
        with self._lock:
            return self._apply(self.get_phone_number(phone_id), fields, PHONE_FIELDS)

    @staticmethod
    def _apply(rec: dict, fields: dict, allowed: set[str]) -> dict:
        unknown = set(fields) - allowed
        if unknown:
            raise KeyError(f"not updatable fields: {sorted(unknown)}")
        for key, value in fields.items():
            if value is None:
                rec.pop(key, None)
            else:
                rec[key] = value.isoformat() if isinstance(value, dt.date) and not isinstance(value, dt.datetime) \
                    else value.strftime("%Y-%m-%d %H:%M:%S") if isinstance(value, dt.datetime) else value
        return rec

    # -- HTTP -------------------------------------------------------------------------------------
    def error_response(self, status: int, message: str) -> SimResponse:
        """What the HTTP front end sends for a 5xx: an HTML page (the SDKs report it as HTTP <n>)."""
        phrase = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Temporarily Unavailable",
                  504: "Gateway Time-out"}.get(status, "Error")
        body = (f"<html>\r\n<head><title>{status} {phrase}</title></head>\r\n<body>\r\n"
                f"<center><h1>{status} {phrase}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")
        return SimResponse(status, body.encode(), {"Content-Type": "text/html"})

    def rate_limited_response(self, retry_after: float | None) -> SimResponse:
        return with_retry_after(self._error(VoxError(340, "Rate limit exceeded")), retry_after)

    def handle(self, req: SimRequest) -> SimResponse:
        parts = [p for p in req.path.split("/") if p]
        if not parts or parts[0] != "platform_api" or len(parts) > 2:
            return SimResponse(404, b"<html><body><h1>404 Not Found</h1></body></html>", {"Content-Type": "text/html"})
        if req.method not in ("GET", "POST"):
            return SimResponse(405, b"<html><body><h1>405 Not Allowed</h1></body></html>",
                               {"Content-Type": "text/html", "Allow": "GET, POST"})
        with self._lock:
            try:
                params = _Params(self._params(req))
                method = parts[1] if len(parts) == 2 else params.get("cmd")
                if not method:
                    raise VoxError(102, "Missing 'cmd' parameter.")
                self._authorize(req)
                handler = {"GetCallerIDs": self._get_caller_ids, "GetPhoneNumbers": self._get_phone_numbers}.get(method)
                if handler is None:
                    raise VoxError(103, "Unknown command.")
                rows, total, count, offset = handler(params)
            except VoxError as err:
                return self._error(err)
        page = offset // count + 1 if count else None
        body = {"result": rows, "total_count": total, "count": len(rows)}
        return SimResponse(200, json.dumps(body, ensure_ascii=False).encode(),
                           {"Content-Type": "application/json; charset=utf-8"}, page=page)

    def _error(self, err: VoxError) -> SimResponse:
        error: dict[str, Any] = {"msg": err.msg, "code": err.code}
        if err.field_name:
            error["field_name"] = err.field_name
        return SimResponse.json(200, {"error": error}, content_type="application/json; charset=utf-8")

    def _params(self, req: SimRequest) -> dict[str, str]:
        values = dict(req.query)
        if not req.body:
            return values
        content_type = req.headers.get("content-type", "")
        mime = content_type.split(";")[0].strip().lower()
        try:
            if mime == "application/x-www-form-urlencoded":
                values.update(parse_qsl(req.body.decode("utf-8"), keep_blank_values=True, strict_parsing=False))
            elif mime == "multipart/form-data":
                values.update(parse_multipart(content_type, req.body))
        except (UnicodeDecodeError, ValueError):
            raise VoxError(101, "Invalid arguments.") from None
        return values

    def _authorize(self, req: SimRequest) -> None:
        failed = VoxError(100, "Authorization failed.")
        scheme, _, token = req.headers.get("authorization", "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise failed
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") != "RS256" or header.get("kid") != self.key_id:
                raise failed
            claims = jwt.decode(token, self.public_key, algorithms=["RS256"], leeway=LEEWAY,
                                options={"require": ["iss", "iat", "exp"], "verify_aud": False})
        except jwt.PyJWTError:
            raise failed from None
        iat, exp = claims.get("iat"), claims.get("exp")
        if str(claims.get("iss")) != str(self.account_id) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in (iat, exp)
        ):
            raise failed
        if exp - iat > MAX_TOKEN_LIFETIME + LEEWAY or exp <= iat:
            raise failed

    # -- commands ---------------------------------------------------------------------------------
    @staticmethod
    def _window(params: _Params, rows: list[dict]) -> tuple[list[dict], int, int, int]:
        count = params.int("count", DEFAULT_COUNT)
        offset = params.int("offset", 0)
        # Copies of the window only (copying all 20,000 rows per page cost more than the client).
        return [dict(r) for r in rows[offset: offset + count]], len(rows), count, offset

    def _get_caller_ids(self, params: _Params):
        rows = sorted(self.caller_ids, key=lambda r: r["callerid_id"])
        return self._window(params, rows)

    def _get_phone_numbers(self, params: _Params):
        rows = sorted(self.phone_numbers, key=lambda r: r["phone_id"])
        if (ids := params.int_list("phone_id")) is not None:
            rows = [r for r in rows if r["phone_id"] in ids]
        return self._window(params, rows)


def from_secrets(secrets: dict, *, numbers: int, seed: int, **kw: Any) -> VoximplantSimulator:
    """The registry's factory: a simulator that trusts the key of these credentials; a third as
    many caller IDs as numbers (at least 20)."""
    return VoximplantSimulator(credentials_json=secrets["credentials_json"], numbers=numbers,
                               caller_ids=max(20, numbers // 3), seed=seed, **kw)
