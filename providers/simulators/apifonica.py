"""Apifonica REST v2 simulator: the "list rented numbers" read side our adapter uses.

Shapes follow the documented example (seed 003 = apifonica.com/en/docs/api/rest/get-list-rented-
numbers/) and providers/WIRE.md section 4; there are no public fixtures. Reproduced:

* Auth: HTTP Basic ``accountSID:authToken``, else 401. The 401 body ``{"status_code": 401,
  "status_message": "UNAUTHORIZED"}`` is **undocumented**: Apifonica documents no error bodies;
  the shape copies its documented write responses (``{"status_code": 201, "status_message":
  "CREATED", ...}``). Every error (incl. base-class faults) uses it. A path account SID other
  than the authenticated one is 403 (also undocumented).
* ``GET /v2/accounts/{sid}/numbers``: ``limit`` (default and max 20; above 20, 0 or not a number
  -> 400). Response ``{"limit", "prev", "next", "numbers"}``; ``next``/``prev`` are absolute URLs
  built from the request's Host: ``http://<Host>/v2/accounts/{sid}/numbers?limit=<n>&next=<24-hex
  id>``, null at the ends. The cursor is keyset-style (an ObjectId-like id per number, ordered by
  rental time): ``next`` = items after the id, ``prev`` = items before it, so numbers added or
  removed between pages neither shift nor repeat the listing.
* Not simulated, because no client sends them: the documented list filters (``number``,
  ``country_code``, ``type``, ...; ignored here) and any per-number GET (Apifonica documents none;
  our adapter has no lookup).
* Number SIDs (``num`` + uuid) and SIP number ranges are invented: the docs show placeholders only.

Test switches: ``repeat_cursor`` (every ``next`` after page 1 repeats page 1's cursor),
``foreign_next`` (``next`` names another host), ``endless`` (``next`` is never null: the listing
wraps around with fresh cursors). Data is plain dicts (``sim.numbers``, in listing order) plus
helpers to mutate it between syncs.
"""

from __future__ import annotations

import bisect

import base64
import binascii
import datetime as dt
import email.utils
import hashlib
import hmac
import json
import random
import re
import threading
import uuid
from http import HTTPStatus
from typing import Any
from urllib.parse import urlencode

import phonenumbers
from phonenumbers import PhoneNumberType as PNT

from .server import SimRequest, SimResponse, Simulator
from .server import expand_pattern as _expand

DEMO_SECRETS = {"account_sid": "AC0000demo0000apifonica", "auth_token": "demo-apifonica-token"}
DEFAULT_LIMIT = MAX_LIMIT = 20
FOREIGN_HOST = "api.apifonica.attacker.example"
NOW = dt.datetime(2026, 4, 20, 9, 0, tzinfo=dt.timezone.utc)  # the simulator's fixed "today"
FIRST_RENTAL = dt.datetime(2016, 3, 31, 8, 16, 59, tzinfo=dt.timezone.utc)
CURSOR = re.compile(r"[0-9a-f]{24}")
NUMBER_KEYS = ("number_sid", "account_sid", "number", "token", "name", "country_code", "country_name", "type",
               "call_controller", "call_method", "msg_controller", "msg_method", "msg_app_sid", "call_app_sid",
               "endpoint_sid", "created", "updated", "voice", "messaging", "mode")
TYPES = ("local", "mobile", "toll_free", "sip")
MODES = ("xml", "end_point", "sip_phone")
INTERNATIONAL = "international"

# Number patterns (X = 0-9, N = 2-9, [..] = class); every generated number is checked with
# `phonenumbers` (valid, right region, right number type) before it is used.
COUNTRIES: dict[str, tuple[str, dict[str, tuple[str, ...]]]] = {
    "GB": ("United Kingdom", {"local": ("+4420[378]XXXXXXX", "+44161NXXXXXX"), "mobile": ("+447[1-57]XXXXXXXX",),
                              "toll_free": ("+44800XXXXXXX",)}),
    "US": ("United States", {"local": ("+1415NXXXXXX", "+1212NXXXXXX"), "toll_free": ("+1800NXXXXXX", "+1888NXXXXXX")}),
    "DE": ("Germany", {"local": ("+4930[1-9]XXXXXXX", "+4989[1-9]XXXXXXX"), "mobile": ("+49151XXXXXXXX",),
                       "toll_free": ("+49800XXXXXXX",)}),
    "LV": ("Latvia", {"local": ("+37167XXXXXX",), "mobile": ("+3712XXXXXXX",), "toll_free": ("+37180XXXXXX",)}),
    "NL": ("Netherlands", {"local": ("+3120[3-9]XXXXXX",), "mobile": ("+316[1-5]XXXXXXX",),
                           "toll_free": ("+31800XXXX",)}),
}
SIP_PATTERN = "+88314XXXXXXXXX"  # iNum-style global numbers (region "001")
UNPARSEABLE_SIP = "999000100042"  # no country code 9/99/999: phonenumbers cannot parse it
PHONE_TYPES = {"local": {PNT.FIXED_LINE, PNT.FIXED_LINE_OR_MOBILE}, "mobile": {PNT.MOBILE, PNT.FIXED_LINE_OR_MOBILE},
               "toll_free": {PNT.TOLL_FREE}, "sip": {PNT.VOIP, PNT.UNKNOWN, PNT.FIXED_LINE_OR_MOBILE}}
WEIGHTS = (("GB", 5), ("US", 4), ("DE", 3), ("LV", 2), ("NL", 2), (INTERNATIONAL, 1))
NAMES = ("Support line", "Sales", "London office", "Marketing campaign", "Two-factor SMS", "Helpdesk",
         "Riga office", "Berlin reception", "Billing", "Night shift", "Test number", "Partner hotline")
MARKUP_NAME = '<b>VIP</b> & "Co"'  # for escaping tests
OFFSETS = (dt.timezone(dt.timedelta(hours=3)), dt.timezone.utc, dt.timezone(dt.timedelta(hours=1)),
           dt.timezone(dt.timedelta(hours=-5)), dt.timezone(dt.timedelta(hours=5, minutes=30)))


class ApiError(Exception):
    def __init__(self, status: int):
        super().__init__(str(status))
        self.status = status


def rfc2822(when: dt.datetime) -> str:
    """``Thu, 31 Mar 2016 11:16:59 +0300`` (the documented ``created``/``updated`` format)."""
    return email.utils.format_datetime(when)




class ApifonicaSimulator(Simulator):
    name = "apifonica"
    base_path = "/v2"
    # List-page faults. No total in the document, so total_offset is a no-op.
    list_items = ("numbers",)
    list_next = "next"

    def __init__(self, account_sid: str = DEMO_SECRETS["account_sid"], auth_token: str = DEMO_SECRETS["auth_token"],
                 numbers: int = 60, seed: int = 1, *, repeat_cursor: bool = False, foreign_next: bool = False,
                 endless: bool = False) -> None:
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.seed = seed
        self.repeat_cursor = repeat_cursor
        self.foreign_next = foreign_next
        self.endless = endless
        self._rng = random.Random(seed)
        self._lock = threading.RLock()
        self._used: set[str] = set()
        self._oids: dict[str, str] = {}  # number_sid -> ObjectId-like cursor id (listing order)
        self._cursor_index: list[str] | None = None  # cursor ids of self.numbers (see _count_through)
        self._endless_cursors: dict[str, int] = {}  # endless mode: cursor -> position
        self._clock = NOW  # rental time of numbers added by add_number()
        self.numbers: list[dict] = []  # wire items, in listing (cursor) order
        self._seed(max(0, numbers))

    # -- seeding ------------------------------------------------------------------------------
    def _uuid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def new_number(self, country: str, type_: str) -> str:
        """Fresh digits (no ``+``) valid per libphonenumber for ``country``/``type_``
        (``country`` ``international`` -> a global SIP number)."""
        if country == INTERNATIONAL:
            patterns, region = (SIP_PATTERN,), "001"
        else:
            patterns, region = COUNTRIES[country][1].get(type_ if type_ != "sip" else "local", ()), country
        if not patterns:
            raise ValueError(f"no {type_} numbers in {country}")
        wanted = PHONE_TYPES[type_]
        for _ in range(5000):
            number = _expand(self._rng.choice(patterns), self._rng)
            if number in self._used or (number.startswith("+1") and (number[5:7] == "11" or number[5:8] == "555")):
                continue
            parsed = phonenumbers.parse(number)
            if (phonenumbers.is_valid_number(parsed) and phonenumbers.region_code_for_number(parsed) == region
                    and phonenumbers.number_type(parsed) in wanted):
                self._used.add(number)
                return number[1:]
        raise RuntimeError(f"{type_} number range of {country} exhausted")

    def _oid(self, created: dt.datetime) -> str:
        """ObjectId-like: 4-byte timestamp + 8 random bytes, so ids sort by rental time."""
        return f"{int(created.timestamp()):08x}{self._rng.getrandbits(64):016x}"

    def _item(self, country: str, type_: str, created: dt.datetime, *, number: str | None = None,
              **overrides: Any) -> dict:
        rng = self._rng
        if type_ not in TYPES:
            raise ValueError(f"unknown type {type_!r}")
        sip = type_ == "sip"
        if country != INTERNATIONAL and country not in COUNTRIES:
            raise ValueError(f"unknown country {country!r}")
        digits = number if number is not None else self.new_number(country, type_)
        voice = overrides.get("voice", True if sip or type_ == "toll_free" else rng.random() < 0.85)
        messaging = overrides.get("messaging", False if sip or type_ == "toll_free" else (
            True if type_ == "mobile" else country == "US" or rng.random() < 0.3))
        mode = overrides.get("mode", "sip_phone" if sip else rng.choice(("xml",) * 6 + ("end_point",) * 2 + ("sip_phone",)))
        tz = rng.choice(OFFSETS)
        updated = min(NOW, created + dt.timedelta(days=rng.randint(0, 400), seconds=rng.randint(0, 86399)))
        item = {
            "number_sid": "num" + self._uuid(),
            "account_sid": self.account_sid,
            "number": digits,
            "token": rng.getrandbits(128).to_bytes(16, "big").hex() if sip else None,
            "name": rng.choice(NAMES) if rng.random() < 0.8 else "",
            "country_code": INTERNATIONAL if country == INTERNATIONAL else country,
            "country_name": INTERNATIONAL if country == INTERNATIONAL else COUNTRIES[country][0],
            "type": type_,
            "call_controller": f"https://hooks.example.com/apifonica/voice/{rng.randint(1, 9)}"
            if voice and mode == "xml" else "",
            "call_method": rng.choice(("GET", "POST")),
            "msg_controller": "https://hooks.example.com/apifonica/messages/events" if messaging else "",
            "msg_method": rng.choice(("GET", "POST")),
            "msg_app_sid": "app" + self._uuid() if messaging and rng.random() < 0.6 else None,
            "call_app_sid": "app" + self._uuid() if voice and rng.random() < 0.6 else None,
            "endpoint_sid": "ep" + self._uuid() if mode == "end_point" else None,
            "created": rfc2822(created.astimezone(tz)),
            "updated": rfc2822(updated.astimezone(tz)),
            "voice": voice,
            "messaging": messaging,
            "mode": mode,
        }
        for key, value in overrides.items():
            if key not in NUMBER_KEYS:
                raise KeyError(f"unknown number field {key!r}")
            item[key] = value
        self._oids[item["number_sid"]] = self._oid(created)
        return item

    def _seed(self, count: int) -> None:
        rng = self._rng
        span = int((NOW - FIRST_RENTAL).total_seconds()) - 86400 * 30
        # Fixed first entries so every account has each interesting case.
        specials: list[tuple[str, str, dict]] = [
            ("GB", "local", dict(voice=False, messaging=True, mode="xml", call_controller="", call_method="GET",
                                 msg_controller="https://hooks.example.com/apifonica/messages/events",
                                 msg_method="GET", call_app_sid="default_call_app_sid", endpoint_sid=None,
                                 msg_app_sid="app" + self._uuid())),  # like the documented example
            ("GB", "mobile", dict(voice=True, messaging=True, name="Two-factor SMS")),
            (INTERNATIONAL, "sip", dict(number=UNPARSEABLE_SIP, name="Desk phone (SIP)")),
            ("US", "toll_free", {}),
            ("LV", "mobile", dict(messaging=True)),
            ("DE", "local", dict(name=MARKUP_NAME)),
            ("GB", "mobile", dict(voice=False, messaging=True, call_app_sid=None)),
            (INTERNATIONAL, "sip", {}),
            ("NL", "mobile", {}),
            ("GB", "toll_free", {}),
        ]
        countries = [c for c, w in WEIGHTS for _ in range(w)]
        for i in range(count):
            created = FIRST_RENTAL + dt.timedelta(seconds=rng.randint(0, span))
            if i < len(specials):
                country, type_, overrides = specials[i]
            else:
                country = rng.choice(countries)
                type_ = "sip" if country == INTERNATIONAL else rng.choice(tuple(COUNTRIES[country][1]))
                overrides = {}
            overrides = dict(overrides)
            self.numbers.append(self._item(country, type_, created, number=overrides.pop("number", None), **overrides))
        self._sort()

    def _sort(self) -> None:
        self.numbers.sort(key=lambda item: self._oids[item["number_sid"]])

    # -- mutation helpers ---------------------------------------------------------------------
    def find_number(self, number_sid: str) -> dict:
        with self._lock:
            for item in self.numbers:
                if item["number_sid"] == number_sid:
                    return item
        raise KeyError(number_sid)

    def add_number(self, country: str = "GB", type_: str = "local", *, number: str | None = None,
                   **fields: Any) -> dict:
        """Rent a number now (it lists last). ``number`` digits without ``+`` (any text is kept)."""
        with self._lock:
            self._clock += dt.timedelta(minutes=1)
            item = self._item(country, type_, self._clock, number=number, **fields)
            self.numbers.append(item)
            self._sort()
            return item

    def update_number(self, number_sid: str, /, **changes: Any) -> dict:
        """Change wire fields (``name``, ``voice``, ``messaging``, ``call_app_sid``...); ``updated``
        moves to the simulator clock unless given."""
        with self._lock:
            item = self.find_number(number_sid)
            for key in changes:
                if key not in NUMBER_KEYS or key == "number_sid":
                    raise KeyError(f"unknown or read-only number field {key!r}")
            if "updated" not in changes:
                self._clock += dt.timedelta(minutes=1)
                changes["updated"] = rfc2822(self._clock)
            item.update(changes)
            return item

    def remove_number(self, number_sid: str) -> dict:
        """Release a number (gone from the listing)."""
        with self._lock:
            item = self.find_number(number_sid)
            self.numbers.remove(item)
            self._oids.pop(number_sid, None)
            return item

    # -- responses ----------------------------------------------------------------------------
    def error_response(self, status: int, message: str = "") -> SimResponse:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "ERROR"
        return SimResponse.json(status, {"status_code": status, "status_message": phrase.upper().replace(" ", "_")})

    def handle(self, req: SimRequest) -> SimResponse:
        with self._lock:
            try:
                return self._handle(req)
            except ApiError as err:
                return self.error_response(err.status)

    def _authenticated(self, req: SimRequest) -> bool:
        header = req.headers.get("authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic" or not encoded:
            return False
        try:
            user, sep, password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return False
        return bool(sep) and hmac.compare_digest(user, self.account_sid) and hmac.compare_digest(
            password, self.auth_token)

    def _handle(self, req: SimRequest) -> SimResponse:
        parts = [p for p in req.path.split("/") if p]
        if not parts or parts[0] != "v2":
            raise ApiError(404)
        if req.method != "GET":
            raise ApiError(405)
        if not self._authenticated(req):
            raise ApiError(401)
        route = parts[1:]
        if len(route) != 3 or route[0] != "accounts" or route[2] != "numbers":
            raise ApiError(404)
        if route[1] != self.account_sid:
            raise ApiError(403)
        return self._list(req)

    # -- listing ------------------------------------------------------------------------------
    def _limit(self, req: SimRequest) -> int:
        raw = req.param("limit")
        if raw is None or raw == "":
            return DEFAULT_LIMIT
        if not re.fullmatch(r"\d+", raw) or not 1 <= int(raw) <= MAX_LIMIT:
            raise ApiError(400)
        return int(raw)

    def _url(self, req: SimRequest, key: str, cursor: str, *, foreign: bool = False) -> str:
        host = FOREIGN_HOST if foreign else (req.headers.get("host") or f"127.0.0.1:{self.port}")
        query = [(k, v) for k, v in req.query if k == "limit"] + [(key, cursor)]
        return f"http://{host}{req.path}?{urlencode(query)}"

    def _cursor(self, req: SimRequest, name: str) -> str | None:
        value = req.param(name)
        if value is None:
            return None
        if not CURSOR.fullmatch(value) and value not in self._endless_cursors:
            raise ApiError(400)
        return value

    def _list(self, req: SimRequest) -> SimResponse:
        limit = self._limit(req)
        rows = self.numbers
        after, before = self._cursor(req, "next"), self._cursor(req, "prev")
        if after is not None and before is not None:
            raise ApiError(400)
        oid = lambda row: self._oids[row["number_sid"]]  # noqa: E731
        if self.endless:
            return self._endless_page(req, rows, limit, self._endless_cursors.get(after or "", 0))
        if before is not None:
            end = sum(1 for r in rows if oid(r) < before)
            start = max(0, end - limit)
        elif after is not None:
            start = self._count_through(rows, after)
        else:
            start = 0
        chunk = rows[start:start + limit] if before is None else rows[start:end]
        stop = start + len(chunk)
        nxt = prev = None
        if chunk and stop < len(rows):
            cursor = oid(rows[limit - 1]) if self.repeat_cursor and len(rows) > limit else oid(chunk[-1])
            nxt = self._url(req, "next", cursor, foreign=self.foreign_next)
        if chunk and start > 0:
            prev = self._url(req, "prev", oid(chunk[0]))
        return self._response(limit, prev, nxt, chunk, page=start // limit + 1)

    def _count_through(self, rows: list[dict], cursor: str) -> int:
        """How many rows list at or before ``cursor``: a bisect of a cached cursor index (a scan of
        every row per page made a 20,000-number listing cost the simulator, on the benchmark's
        CPUs, far more than the client). The answer is checked against the rows themselves (kept
        in cursor order), so a list changed behind the cache's back rebuilds it; rows out of
        order fall back to counting."""
        oid = lambda row: self._oids[row["number_sid"]]  # noqa: E731

        def fits(i: int) -> bool:
            return (i == 0 or oid(rows[i - 1]) <= cursor) and (i == len(rows) or oid(rows[i]) > cursor)

        for rebuild in (False, True):
            if rebuild or self._cursor_index is None or len(self._cursor_index) != len(rows):
                self._cursor_index = [oid(r) for r in rows]
            i = bisect.bisect_right(self._cursor_index, cursor)
            if fits(i):
                return i
        return sum(1 for r in rows if oid(r) <= cursor)

    def _endless_page(self, req: SimRequest, rows: list[dict], limit: int, pos: int) -> SimResponse:
        """A listing that never ends: it wraps around, every ``next`` a fresh cursor."""
        chunk = [rows[(pos + i) % len(rows)] for i in range(limit)] if rows else []
        cursor = hashlib.sha256(f"endless:{self.seed}:{pos + limit}".encode()).hexdigest()[:24]
        self._endless_cursors[cursor] = pos + limit
        nxt = self._url(req, "next", cursor, foreign=self.foreign_next)
        return self._response(limit, None, nxt, chunk, page=pos // limit + 1)

    def _response(self, limit: int, prev: str | None, nxt: str | None, chunk: list[dict], *, page: int) -> SimResponse:
        body = {"limit": limit, "prev": prev, "next": nxt, "numbers": chunk}
        return SimResponse(200, json.dumps(body).encode(), {"Content-Type": "application/json"}, page=page)


def from_secrets(secrets: dict, *, numbers: int, seed: int, **kw: Any) -> ApifonicaSimulator:
    """The registry's factory: a simulator that accepts these account secrets."""
    return ApifonicaSimulator(account_sid=secrets["account_sid"], auth_token=secrets["auth_token"],
                              numbers=numbers, seed=seed, **kw)
