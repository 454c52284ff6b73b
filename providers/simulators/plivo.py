"""Plivo REST API v1 simulator: the read side the adapter and the official ``plivo`` SDK use.

Shapes follow the recorded SDK fixtures in ``tests/fixtures/plivo`` and seed 004 (see
``providers/WIRE.md`` section 5). Behaviour reproduced:

* Auth: HTTP Basic ``auth_id:auth_token``; the account id in the path must be the caller's.
  Failures are 401 ``{"api_id", "error": "Authentication failed"}`` (documented error shape;
  the wording is ours, no 401 body was recorded).
* Paths (SDK style, trailing slash; a missing trailing slash is tolerated):
  ``/v1/Account/{id}/Powerpack/`` (+ ``/Powerpack/{uuid}/``),
  ``/v1/Account/{id}/NumberPool/{pool_uuid}/Number/`` (+ ``/Number/{number}/``, whose body spells
  the pool key ``numberpool_uuid`` as in the fixture), ``/v1/Account/{id}/Number/`` (+ single).
* Paging: ``limit`` 1..20 (default 20; anything else -> 400 like the SDK's validator),
  ``offset`` >= 0; ``meta: {limit, next, offset, previous, total_count}`` with ``next`` /
  ``previous`` relative paths (``/v1/Account/<id>/Number/?limit=20&offset=20``). At the ends
  the number-pool list says ``""`` and the others ``null``, as in the fixtures.
* The documented list filters (``type``, ``services``, ``number_startswith``, ``service``,
  ``country_iso2``...) are not simulated: no client sends them, and they are ignored here.
* Errors: ``{"api_id", "error"}``; rate limiting is 429 with that body and *no* Retry-After
  (Plivo documents none).

Data is plain dicts in wire shape (``sim.numbers``, ``sim.powerpacks``, ``sim.pool_numbers``) so
tests can mutate them between syncs; helpers below keep them consistent.
"""

from __future__ import annotations

import base64
import datetime as dt
import random
import threading
import uuid as uuidlib
from typing import Any
from urllib.parse import urlencode

import phonenumbers

from .server import SimRequest, SimResponse, Simulator

DEMO_SECRETS = {"auth_id": "MADEMOPLIVOAUTHID001", "auth_token": "demo-plivo-token"}
NOW = dt.datetime(2026, 4, 20, 9, 0, tzinfo=dt.timezone.utc)  # the simulator's fixed "today"
MAX_LIMIT = 20
AUTH_FAILED = "Authentication failed"

# iso2: (country name, calling code, [(region, city, area prefix, pattern)],
#        {kind: [(prefix, pattern)]}) ; pattern: X = 0-9, N = 2-9, [..] = class. Every generated
# number is checked with `phonenumbers` (valid and of the right type) before it is used.
GEOGRAPHY: dict[str, tuple] = {
    "US": ("United States", "1", [
        ("California", "San Francisco", "415", "NXXXXXX"), ("New York", "New York", "212", "NXXXXXX"),
        ("Texas", "Austin", "512", "NXXXXXX"), ("Florida", "Miami", "305", "NXXXXXX"),
        ("Illinois", "Chicago", "312", "NXXXXXX")],
        {"tollfree": [("800", "NXXXXXX"), ("888", "NXXXXXX"), ("877", "NXXXXXX")]}),
    "CA": ("Canada", "1", [
        ("Ontario", "Toronto", "416", "NXXXXXX"), ("British Columbia", "Vancouver", "604", "NXXXXXX"),
        ("Quebec", "Montreal", "514", "NXXXXXX")], {}),
    "GB": ("United Kingdom", "44", [
        ("England", "London", "20", "[378]XXXXXXX"), ("England", "Manchester", "161", "NXXXXXX"),
        ("Scotland", "Edinburgh", "131", "[2-8]XXXXXX")],
        {"mobile": [("7", "[4-5789]XXXXXXXX")], "tollfree": [("800", "XXXXXXX")], "national": [("330", "XXXXXXX")]}),
    "DE": ("Germany", "49", [
        ("Berlin", "Berlin", "30", "[1-9]XXXXXXX"), ("Bavaria", "Munich", "89", "[1-9]XXXXXXX"),
        ("Hamburg", "Hamburg", "40", "[1-9]XXXXXXX")],
        {"mobile": [("151", "XXXXXXXX"), ("170", "XXXXXXX")], "tollfree": [("800", "XXXXXXX")]}),
    "FR": ("France", "33", [("Ile-de-France", "Paris", "1", "[4-5]XXXXXXX")],
           {"mobile": [("6", "[0-24-8]XXXXXXX")], "tollfree": [("800", "XXXXXX")]}),
    "AU": ("Australia", "61", [("New South Wales", "Sydney", "2", "9XXXXXXX"),
                               ("Victoria", "Melbourne", "3", "9XXXXXXX")],
           {"mobile": [("4", "[0-3]XXXXXXX")], "tollfree": [("1800", "XXXXXX")]}),
}
COUNTRY_WEIGHTS = {"US": 35, "GB": 20, "CA": 10, "DE": 15, "FR": 10, "AU": 10}
KIND_WEIGHTS = {  # geographic numbers are "local" in NANP/GB/AU and "fixed" elsewhere
    "US": {"local": 85, "tollfree": 15},
    "CA": {"local": 100},
    "GB": {"local": 35, "mobile": 45, "tollfree": 10, "national": 10},
    "DE": {"fixed": 50, "mobile": 35, "tollfree": 15},
    "FR": {"fixed": 45, "mobile": 45, "tollfree": 10},
    "AU": {"local": 50, "mobile": 40, "tollfree": 10},
}
# The first numbers are fixed so even small simulators hold the interesting mix (the browser
# suite filters "SMS-capable mobile numbers in GB").
ANCHORS = [("US", "local"), ("GB", "mobile"), ("CA", "local"), ("DE", "mobile"), ("US", "tollfree"),
           ("GB", "local"), ("GB", "mobile"), ("FR", "fixed"), ("AU", "mobile"), ("GB", "mobile"),
           ("GB", "tollfree"), ("DE", "fixed"), ("GB", "national")]
MONTHLY_RATES = {"local": "0.50000", "fixed": "1.20000", "mobile": "1.50000", "tollfree": "1.00000",
                 "national": "1.00000"}
RATE_BY_COUNTRY = {("US", "local"): "0.50000", ("CA", "local"): "0.80000", ("GB", "local"): "0.80000",
                   ("AU", "local"): "3.00000", ("US", "tollfree"): "1.00000", ("GB", "tollfree"): "5.00000"}
EXPECTED_TYPES = {
    "local": {phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE},
    "fixed": {phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE},
    "mobile": {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE},
    "tollfree": {phonenumbers.PhoneNumberType.TOLL_FREE},
    "national": None,  # any valid number
}
POOL_TYPES = {"local": "fixed", "fixed": "fixed", "national": "fixed", "mobile": "mobile", "tollfree": "toll-free"}
APPLICATIONS = ("29986316244302815", "16632559604105954", "20372631212782799", "33660394121755210")
ALIASES = ("Support line", "Sales", "Marketing SMS", "Alerts", "Front desk", "2FA sender", "Billing hotline")
POWERPACK_NAMES = ("Marketing SMS", "Support Sender", "Alerts MMS", "Notifications", "Campaigns EU")


def _fill(rng: random.Random, pattern: str) -> str:
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "X":
            out.append(str(rng.randint(0, 9)))
        elif ch == "N":
            out.append(str(rng.randint(2, 9)))
        elif ch == "[":
            end = pattern.index("]", i)
            chars: list[str] = []
            spec = pattern[i + 1:end]
            j = 0
            while j < len(spec):
                if j + 2 < len(spec) and spec[j + 1] == "-":
                    chars.extend(str(d) for d in range(int(spec[j]), int(spec[j + 2]) + 1))
                    j += 3
                else:
                    chars.append(spec[j])
                    j += 1
            out.append(rng.choice(chars))
            i = end
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def _iso(ts: dt.datetime) -> str:
    return ts.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


class PlivoSimulator(Simulator):
    name = "plivo"
    base_path = "/v1"
    # List-page faults (drop_next sends null, also on number-pool lists whose last page says "").
    list_items = ("objects",)
    list_total = "meta.total_count"
    list_next = "meta.next"

    def __init__(self, auth_id: str = DEMO_SECRETS["auth_id"], auth_token: str = DEMO_SECRETS["auth_token"],
                 numbers: int = 60, powerpacks: int = 3, seed: int = 1, today: dt.date | None = None):
        super().__init__()
        # Renewal dates follow this day (the demo passes the real date); history stays seeded
        # before the fixed NOW. None: the fixed NOW (tests).
        self.today = today or NOW.date()
        self.auth_id = auth_id
        self.auth_token = auth_token
        self.seed = seed
        self.rng = random.Random(seed)
        self.lock = threading.RLock()
        self.numbers: list[dict] = []  # account numbers, wire shape of GET /Number/ objects
        self.powerpacks: list[dict] = []  # wire shape of GET /Powerpack/ objects
        self.pool_numbers: list[dict] = []  # wire shape of GET /NumberPool/{uuid}/Number/ objects
        # GET /NumberPool/{uuid}/Tollfree/ and /Shortcode/ objects ("tollfree" / "shortcode" keys)
        self.pool_tollfree: list[dict] = []
        self.pool_shortcodes: list[dict] = []
        self._used: set[str] = set()
        for i in range(numbers):
            country, kind = ANCHORS[i] if i < len(ANCHORS) else self._random_kind()
            self.numbers.append(self._new_number(country, kind))
        for i in range(powerpacks):
            self.add_powerpack(POWERPACK_NAMES[i] if i < len(POWERPACK_NAMES) else f"Powerpack {i + 1}")
        if self.powerpacks:
            for row in self.numbers:  # messaging numbers join (at most) one pool
                if row["sms_enabled"] and self.rng.random() < 0.5:
                    pool = self.rng.choice(self.powerpacks)
                    service = "mms" if row["mms_enabled"] and self.rng.random() < 0.5 else "sms"
                    self.add_to_pool(self.pool_uuid(pool), row["number"], service=service)
            # Toll-free numbers sit on the first pool's Tollfree list (own generator: the data
            # generated above stays what it was before pools had toll-free lists).
            extra = random.Random(seed * 7919 + 1)
            first = self.pool_uuid(self.powerpacks[0])
            for row in self.numbers:
                if row["number_type"] == "tollfree" and extra.random() < 0.5:
                    self.add_tollfree_to_pool(first, row["number"])

    # -- data generation --------------------------------------------------------------------
    def _random_kind(self) -> tuple[str, str]:
        country = _pick(self.rng, COUNTRY_WEIGHTS)
        return country, _pick(self.rng, KIND_WEIGHTS[country])

    def _digits(self, country: str, kind: str) -> tuple[str, tuple | None]:
        name, cc, cities, others = GEOGRAPHY[country]
        for _ in range(500):
            if kind in ("local", "fixed"):
                place = self.rng.choice(cities)
                prefix, pattern = place[2], place[3]
            else:
                place = None
                prefix, pattern = self.rng.choice(others[kind])
            digits = cc + prefix + _fill(self.rng, pattern)
            if digits in self._used:
                continue
            parsed = phonenumbers.parse("+" + digits)
            expected = EXPECTED_TYPES[kind]
            if not phonenumbers.is_valid_number(parsed) or phonenumbers.region_code_for_number(parsed) != country:
                continue
            if expected is not None and phonenumbers.number_type(parsed) not in expected:
                continue
            self._used.add(digits)
            return digits, place
        raise RuntimeError(f"could not generate a valid {country} {kind} number")  # pragma: no cover

    def _new_number(self, country: str, kind: str, **overrides: Any) -> dict:
        rng = self.rng
        digits, place = self._digits(country, kind)
        name = GEOGRAPHY[country][0]
        added = (NOW - dt.timedelta(days=rng.randint(20, 1500))).date()
        today = self.today
        renewal = dt.date(today.year, today.month, min(added.day, 28))
        if renewal <= today:
            renewal = dt.date(today.year + (today.month == 12), today.month % 12 + 1, renewal.day)
        messaging = {
            "local": country in ("US", "CA") or rng.random() < 0.2,
            "fixed": rng.random() < 0.1,
            "mobile": True,
            "tollfree": country == "US",
            "national": False,
        }[kind]
        sms = messaging and (kind != "mobile" or rng.random() < 0.85 or len(self.numbers) < len(ANCHORS))
        mms = sms and country in ("US", "CA") and rng.random() < 0.6
        app = rng.choice(APPLICATIONS + (None,))
        roll = rng.random()
        alias = None if roll < 0.4 else "" if roll < 0.6 else f"{rng.choice(ALIASES)} {country}"
        tendlc = kind == "local" and country == "US" and sms
        row = {
            "added_on": added.isoformat(),
            "alias": alias,
            "application": f"/v1/Account/{self.auth_id}/Application/{app}/" if app else None,
            "carrier": "Plivo",
            "monthly_rental_rate": RATE_BY_COUNTRY.get((country, kind), MONTHLY_RATES[kind]),
            "number": digits,
            "number_type": kind,
            "region": f"{place[0]}, {name.upper()}" if place else name.upper(),
            "resource_uri": f"/v1/Account/{self.auth_id}/Number/{digits}/",
            "sms_enabled": sms,
            "sms_rate": "0.00000",
            "sub_account": None,
            "active": rng.random() >= 0.06,
            "city": place[1] if place else "",
            "compliance_application_id": None,
            "compliance_status": None if country in ("US", "CA") else "accepted",
            "country": name,
            "mms_enabled": mms,
            "mms_rate": "0.00000",
            "tendlc_campaign_id": "CMPT4EP" if tendlc and rng.random() < 0.5 else None,
            "tendlc_registration_status": ("COMPLETED" if rng.random() < 0.7 else "PROCESSING") if tendlc else None,
            "toll_free_sms_verification": ("verified" if rng.random() < 0.7 else "pending")
            if kind == "tollfree" and country == "US" else None,
            "renewal_date": renewal.isoformat(),
            "cnam_lookup": "enabled" if country in ("US", "CA") and rng.random() < 0.3 else "disabled",
            "voice_enabled": kind != "mobile" or rng.random() < 0.9,
            "voice_rate": "0.00850",
        }
        row.update(overrides)
        return row

    # -- mutation helpers -------------------------------------------------------------------
    def pool_uuid(self, powerpack: dict) -> str:
        return powerpack["number_pool"].rstrip("/").split("/")[-1]

    def find_number(self, number: str) -> dict:
        with self.lock:
            return next(r for r in self.numbers if r["number"] == number)

    def add_number(self, country: str = "GB", kind: str = "mobile", **overrides: Any) -> dict:
        with self.lock:
            row = self._new_number(country, kind, **overrides)
            self.numbers.append(row)
            return row

    def update_number(self, number: str, **changes: Any) -> dict:
        with self.lock:
            row = self.find_number(number)
            row.update(changes)
            return row

    def remove_number(self, number: str) -> dict:
        """Unrent: the number leaves the account and every pool."""
        with self.lock:
            row = self.find_number(number)
            self.numbers.remove(row)
            self.pool_numbers = [p for p in self.pool_numbers if p["number"] != number]
            self.pool_tollfree = [p for p in self.pool_tollfree if p["tollfree"] != number]
            return row

    def add_powerpack(self, name: str, **overrides: Any) -> dict:
        with self.lock:
            pool_uuid = str(uuidlib.UUID(int=self.rng.getrandbits(128), version=4))
            app = self.rng.random() < 0.5
            pp = {
                "application_id": self.rng.choice(APPLICATIONS) if app else "",
                "application_type": "XML" if app else "",
                "created_on": _iso(NOW - dt.timedelta(days=self.rng.randint(30, 900), seconds=self.rng.randint(0, 86399),
                                                      microseconds=self.rng.randint(0, 999999))),
                "local_connect": self.rng.random() < 0.5,
                "name": name,
                "number_pool": f"/v1/Account/{self.auth_id}/NumberPool/{pool_uuid}/",
                "number_priority": [],
                "sticky_sender": self.rng.random() < 0.7,
                "uuid": str(uuidlib.UUID(int=self.rng.getrandbits(128), version=4)),
            }
            pp.update(overrides)
            self.powerpacks.append(pp)
            return pp

    def remove_powerpack(self, uuid: str) -> dict:
        with self.lock:
            pp = next(p for p in self.powerpacks if p["uuid"] == uuid)
            self.powerpacks.remove(pp)
            pool = self.pool_uuid(pp)
            self.pool_numbers = [p for p in self.pool_numbers if p["number_pool_uuid"] != pool]
            self.pool_tollfree = [p for p in self.pool_tollfree if p["number_pool_uuid"] != pool]
            self.pool_shortcodes = [p for p in self.pool_shortcodes if p["number_pool_uuid"] != pool]
            return pp

    def add_to_pool(self, pool_uuid: str, number: str, *, service: str = "sms",
                    country_iso2: str | None = None, type: str | None = None) -> dict:
        """Put a number into a pool. A number not rented on the account may be added too (give
        ``country_iso2``/``type``): it then shows up in the pool only."""
        with self.lock:
            row = next((r for r in self.numbers if r["number"] == number), None)
            if country_iso2 is None:
                country_iso2 = phonenumbers.region_code_for_number(phonenumbers.parse("+" + number))
            if type is None:
                type = POOL_TYPES.get(row["number_type"], "fixed") if row else "fixed"
            added = NOW - dt.timedelta(days=self.rng.randint(1, 400), seconds=self.rng.randint(0, 86399),
                                       microseconds=self.rng.randint(0, 999999))
            item = {
                "account_phone_number_resource": f"/v1/Account/{self.auth_id}/Number/{number}/",
                "added_on": _iso(added),
                "country_iso2": country_iso2,
                "number": number,
                "number_pool_uuid": pool_uuid,
                "service": service,
                "type": type,
            }
            self.pool_numbers.append(item)
            return item

    def _pool_extra(self, pool_uuid: str, key: str, value: str, country_iso2: str) -> dict:
        added = NOW - dt.timedelta(days=self.rng.randint(1, 400), seconds=self.rng.randint(0, 86399))
        return {"added_on": _iso(added), "country_iso2": country_iso2, "number_pool_uuid": pool_uuid, key: value}

    def add_tollfree_to_pool(self, pool_uuid: str, number: str, *, country_iso2: str | None = None) -> dict:
        """A toll-free number on the pool's Tollfree list (wire shape of plivo-python's
        powerpackListTollfreeResponse.json: no ``type``, no ``service``)."""
        with self.lock:
            if country_iso2 is None:
                country_iso2 = phonenumbers.region_code_for_number(phonenumbers.parse("+" + number))
            item = self._pool_extra(pool_uuid, "tollfree", number, country_iso2)
            self.pool_tollfree.append(item)
            return item

    def add_shortcode_to_pool(self, pool_uuid: str, shortcode: str, *, country_iso2: str = "US") -> dict:
        """A short code on the pool's Shortcode list (powerpackListShortcodeResponse.json)."""
        with self.lock:
            item = self._pool_extra(pool_uuid, "shortcode", shortcode, country_iso2)
            self.pool_shortcodes.append(item)
            return item

    def remove_from_pool(self, pool_uuid: str, number: str) -> None:
        with self.lock:
            self.pool_numbers = [p for p in self.pool_numbers
                                 if not (p["number_pool_uuid"] == pool_uuid and p["number"] == number)]
            self.pool_tollfree = [p for p in self.pool_tollfree
                                  if not (p["number_pool_uuid"] == pool_uuid and p["tollfree"] == number)]
            self.pool_shortcodes = [p for p in self.pool_shortcodes
                                    if not (p["number_pool_uuid"] == pool_uuid and p["shortcode"] == number)]

    def pool_of(self, number: str) -> list[str]:
        """Pools holding ``number`` on any of their lists (numbers, toll-free, short codes)."""
        found = [p["number_pool_uuid"] for p in self.pool_numbers if p["number"] == number]
        found += [p["number_pool_uuid"] for p in self.pool_tollfree if p["tollfree"] == number]
        found += [p["number_pool_uuid"] for p in self.pool_shortcodes if p["shortcode"] == number]
        return list(dict.fromkeys(found))

    # -- HTTP -------------------------------------------------------------------------------
    def error_response(self, status: int, message: str) -> SimResponse:
        return SimResponse.json(status, {"api_id": self._api_id(), "error": message})

    def rate_limited_response(self, retry_after: float | None) -> SimResponse:
        # Plivo documents 429 "too many requests" and no Retry-After header.
        return self.error_response(429, "too many requests")

    def _api_id(self) -> str:
        return str(uuidlib.uuid4())

    def _authorized(self, req: SimRequest) -> str | None:
        header = req.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, _, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        return user if (user, password) == (self.auth_id, self.auth_token) else None

    def handle(self, req: SimRequest) -> SimResponse:
        parts = [p for p in req.path.split("/") if p]
        if len(parts) < 4 or parts[:2] != ["v1", "Account"]:
            return self.error_response(404, "not found")
        user = self._authorized(req)
        if user is None or parts[2] != user:
            return self.error_response(401, AUTH_FAILED)
        if req.method != "GET":
            return self.error_response(405, f"method {req.method} not allowed")
        rest = parts[3:]
        with self.lock:
            if rest == ["Powerpack"]:
                return self._list(req, "Powerpack/", list(self.powerpacks), end=None)
            if len(rest) == 2 and rest[0] == "Powerpack":
                pp = next((p for p in self.powerpacks if p["uuid"] == rest[1]), None)
                return self._single(pp, "Powerpack not found")
            if rest == ["Number"]:
                return self._list(req, "Number/", list(self.numbers), end=None)
            if len(rest) == 2 and rest[0] == "Number":
                row = next((r for r in self.numbers if r["number"] == rest[1]), None)
                return self._single(row, "Number not found")
            if len(rest) >= 3 and rest[0] == "NumberPool" and rest[2] == "Number":
                pool = rest[1]
                if not any(self.pool_uuid(p) == pool for p in self.powerpacks):
                    return self.error_response(404, "NumberPool not found")
                members = [p for p in self.pool_numbers if p["number_pool_uuid"] == pool]
                if len(rest) == 3:
                    return self._list(req, f"NumberPool/{pool}/Number/", members, end="")
                if len(rest) == 4:
                    item = next((p for p in members if p["number"] == rest[3]), None)
                    if item is not None:  # the single GET spells the key "numberpool_uuid"
                        item = {("numberpool_uuid" if k == "number_pool_uuid" else k): v for k, v in item.items()}
                    return self._single(item, "Number not found in the number pool")
            if len(rest) in (3, 4) and rest[0] == "NumberPool" and rest[2] in ("Tollfree", "Shortcode"):
                pool = rest[1]
                if not any(self.pool_uuid(p) == pool for p in self.powerpacks):
                    return self.error_response(404, "NumberPool not found")
                key, rows = (("tollfree", self.pool_tollfree) if rest[2] == "Tollfree"
                             else ("shortcode", self.pool_shortcodes))
                members = [p for p in rows if p["number_pool_uuid"] == pool]
                if len(rest) == 3:
                    return self._list(req, f"NumberPool/{pool}/{rest[2]}/", members, end="")
                item = next((p for p in members if p[key] == rest[3]), None)
                return self._single(item, f"{rest[2]} not found in the number pool")
        return self.error_response(404, "not found")

    def _single(self, row: dict | None, missing: str) -> SimResponse:
        if row is None:
            return self.error_response(404, missing)
        return SimResponse.json(200, {"api_id": self._api_id(), **row})

    def _list(self, req: SimRequest, resource: str, rows: list[dict], *, end: str | None) -> SimResponse:
        try:
            limit = int(req.param("limit") or MAX_LIMIT)
            offset = int(req.param("offset") or 0)
        except ValueError:
            return self.error_response(400, "limit and offset must be integers")
        if not 0 < limit <= MAX_LIMIT:
            return self.error_response(400, f"limit must be between 1 and {MAX_LIMIT}")
        if offset < 0:
            return self.error_response(400, "offset must be a non-negative integer")
        total = len(rows)

        def link(at: int) -> str:
            return f"/v1/Account/{self.auth_id}/{resource}?{urlencode([('limit', limit), ('offset', at)])}"

        meta = {
            "limit": limit,
            "next": link(offset + limit) if offset + limit < total else end,
            "offset": offset,
            "previous": link(max(0, offset - limit)) if offset > 0 else end,
            "total_count": total,
        }
        body = {"api_id": self._api_id(), "meta": meta, "objects": rows[offset:offset + limit]}
        return SimResponse.json(200, body, page=offset // limit + 1)


def from_secrets(secrets: dict, *, numbers: int, seed: int, **kw: Any) -> PlivoSimulator:
    """The registry's factory: a simulator that accepts these account secrets."""
    return PlivoSimulator(auth_id=secrets["auth_id"], auth_token=secrets["auth_token"], numbers=numbers,
                          seed=seed, **kw)
