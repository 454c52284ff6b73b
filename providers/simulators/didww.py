"""DIDWW API v3 (JSON:API) simulator: the read side the adapter and the official SDK use.

Shapes follow the recorded SDK cassettes in ``tests/fixtures/didww`` and the 2026-04-16 OpenAPI
document (see ``providers/WIRE.md`` section 2). Behaviour reproduced:

* Auth: the ``Api-Key`` header must equal ``api_key``, else 401. ``X-DIDWW-API-Version`` picks
  the served version, echoed in ``meta.api_version``; as on the real API a version older than
  the account default (``api_version``) is ignored. From 2026-11-19 on DIDWW refuses Api-Key
  auth on /v3 (short-lived bearer tokens from auth.didww.com only), so such requests get 401.
  No 401 body was ever recorded: its shape is the documented error shape, its wording is ours.
* Pagination: ``page[number]`` (1-based) / ``page[size]`` (default 50, max 100 on inventory
  endpoints, 1000 on the reference catalogs); ``meta.total_records``; absolute
  ``links.first/prev/next/last`` built from the client's Host header, other params kept,
  ``next`` omitted on the last page and ``prev`` on the first (jsonapi-resources rules).
* ``include`` (nested paths, flat de-duplicated ``included``; relationship ``data`` only for
  included relationships). Lists come in the default order (creation time, then id; reference
  catalogs by name). ``filter[...]``, ``sort`` and ``fields[...]`` are not simulated (no client
  sends them) and answer 105 like any other parameter the API does not take.
* Errors use the jsonapi-resources codes DIDWW returns: 105 param not allowed, 112 invalid
  include, 118 invalid page value, 404 record not found.

``legacy_relationship_names=True`` mimics older API versions: DIDs name their relationships
``trunk`` / ``trunk_group`` (types unchanged). The current names stay accepted in ``include``
so a client pinned to them still syncs, and must cope with the legacy names in the response.
Data is plain dicts (``sim.dids`` etc.) so tests can mutate it between syncs.

Dates: history (``created_at``) is seeded before a fixed ``NOW``. Renewals (``expires_at``) lie
1-31 days after ``NOW`` by default (fixed, for tests); with ``today=`` (the demo) each DID renews
monthly on its creation day, so ``expires_at`` is its next renewal after ``today`` (stable from
one day to the next until that renewal passes), and about one DID in 30 is overdue (the renewal
that passed without being paid). Either way the same seed draws the same numbers.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
import re
import threading
import uuid
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Iterable
from urllib.parse import quote, urlencode

from .server import SimRequest, SimResponse, Simulator
from .server import expand_pattern as _expand

DEMO_SECRETS = {"api_key": "demo-didww-key"}
JSONAPI = "application/vnd.api+json"
DEFAULT_API_VERSION = "2026-04-16"
BEARER_ONLY_VERSION = "2026-11-19"  # first version that refuses Api-Key on /v3
EMERGENCY_VERSION = "2026-04-16"  # emergency_enabled & friends appear from this version on
DEFAULT_PAGE_SIZE = 50
CATALOGS = ("countries", "regions", "cities", "pops", "did_group_types")
NOW = dt.datetime(2026, 4, 20, 9, 0, tzinfo=dt.timezone.utc)  # the simulator's fixed "today"

# -- seed geography -------------------------------------------------------------------------
# Number patterns (national part after the group prefix): digit = literal, X = 0-9, N = 2-9,
# [..] = class. Each was chosen inside a range libphonenumber accepts as valid for the country;
# the tests check every seeded number with the `phonenumbers` package.
# iso: (name, calling code, {region: (region iso, [(city, prefix, pattern)])},
#       [(did group type, prefix, pattern)] for non-geographic groups)
GEOGRAPHY: dict[str, tuple] = {
    "US": ("United States", "1", {
        "California": ("CA", [("San Francisco", "415", "NXXXXXX"), ("Los Angeles", "213", "NXXXXXX")]),
        "New York": ("NY", [("New York", "212", "NXXXXXX")]),
        "Illinois": ("IL", [("Chicago", "312", "NXXXXXX")]),
        "Texas": ("TX", [("Austin", "512", "NXXXXXX"), ("Houston", "713", "NXXXXXX")]),
        "Florida": ("FL", [("Miami", "305", "NXXXXXX")]),
        "Washington": ("WA", [("Seattle", "206", "NXXXXXX")]),
    }, [("Toll-free", "800", "NXXXXXX"), ("Toll-free", "888", "NXXXXXX")]),
    "CA": ("Canada", "1", {
        "Ontario": ("ON", [("Toronto", "416", "NXXXXXX")]),
        "British Columbia": ("BC", [("Vancouver", "604", "NXXXXXX")]),
        "Quebec": ("QC", [("Montreal", "514", "NXXXXXX")]),
    }, []),
    "GB": ("United Kingdom", "44", {
        "England": ("ENG", [("London", "20", "[378]XXXXXXX"), ("Manchester", "161", "NXXXXXX"),
                            ("Birmingham", "121", "[2-7]XXXXXX")]),
        "Scotland": ("SCT", [("Edinburgh", "131", "[2-8]XXXXXX"), ("Glasgow", "141", "NXXXXXX")]),
    }, [("Mobile", "7", "7[1-7]XXXXXXX"), ("Toll-free", "800", "XXXXXXX"), ("National", "330", "XXXXXXX")]),
    "DE": ("Germany", "49", {
        "Berlin": ("BE", [("Berlin", "30", "[1-9]XXXXXXX")]),
        "Bavaria": ("BY", [("Munich", "89", "[1-9]XXXXXXX")]),
        "Hamburg": ("HH", [("Hamburg", "40", "[1-9]XXXXXXX")]),
        "Hesse": ("HE", [("Frankfurt am Main", "69", "[1-9]XXXXXXX")]),
    }, [("Mobile", "151", "XXXXXXXX"), ("Toll-free", "800", "XXXXXXX")]),
    "FR": ("France", "33", {
        "Ile-de-France": ("IDF", [("Paris", "1", "[4-5]XXXXXXX")]),
        "Auvergne-Rhone-Alpes": ("ARA", [("Lyon", "472", "XXXXXX")]),
        "Provence-Alpes-Cote d'Azur": ("PAC", [("Marseille", "491", "XXXXXX")]),
    }, [("Mobile", "6", "[0-24-8]XXXXXXX"), ("Toll-free", "800", "XXXXXX"), ("National", "9", "XXXXXXXX")]),
    "NL": ("Netherlands", "31", {
        "North Holland": ("NH", [("Amsterdam", "20", "[2-7]XXXXXX")]),
        "South Holland": ("ZH", [("Rotterdam", "10", "[2-7]XXXXXX"), ("The Hague", "70", "[2-7]XXXXXX")]),
        "Utrecht": ("UT", [("Utrecht", "30", "[2-7]XXXXXX")]),
    }, [("Mobile", "6", "[1-5]XXXXXXX"), ("Toll-free", "800", "XXXXXXX"), ("National", "85", "XXXXXXX")]),
    "ES": ("Spain", "34", {
        "Madrid": ("MD", [("Madrid", "91", "[2-7]XXXXXX")]),
        "Catalonia": ("CT", [("Barcelona", "93", "[2-7]XXXXXX")]),
    }, [("Mobile", "6", "XXXXXXXX"), ("Toll-free", "900", "XXXXXX")]),
    "IT": ("Italy", "39", {
        "Lazio": ("62", [("Rome", "06", "[4-9]XXXXXXX")]),
        "Lombardy": ("25", [("Milan", "02", "[4-9]XXXXXXX")]),
    }, [("Mobile", "3", "[2-9]XXXXXXXX"), ("Toll-free", "800", "XXXXXX")]),
    "AU": ("Australia", "61", {
        "New South Wales": ("NSW", [("Sydney", "2", "9XXXXXXX")]),
        "Victoria": ("VIC", [("Melbourne", "3", "9XXXXXXX")]),
    }, [("Mobile", "4", "[0-3]XXXXXXX"), ("Toll-free", "1800", "XXXXXX")]),
    "BE": ("Belgium", "32", {
        "Brussels-Capital": ("BRU", [("Brussels", "2", "[2-7]XXXXXX")]),
        "Flanders": ("VLG", [("Antwerp", "3", "[2-8]XXXXXX")]),
    }, [("Mobile", "4", "[5-9]XXXXXXX"), ("Toll-free", "800", "[1-9]XXXX")]),
}
COUNTRY_WEIGHT = {"US": 30, "GB": 15, "DE": 12, "FR": 10, "NL": 8, "ES": 5, "IT": 5, "AU": 5, "CA": 5, "BE": 5}
GROUP_TYPES = ("Local", "Mobile", "National", "Toll-free", "Shared Cost")
REGISTRATION_COUNTRIES = {"DE", "FR", "IT", "ES", "BE", "AU"}  # local numbers need an address
POPS = ("USA, NY", "DE, FRA", "NL, AMS", "USA, LA", "SG, SIN")
TRUNKS = (  # name, config kind, SIP host / PSTN destination kind, port
    ("Office PBX (Asterisk)", "sip", "pbx.example.com", 5060),
    ("FreeSWITCH cluster A", "sip", "sip-a.example.net", None),
    ("Support mobile forward", "pstn", "GB:Mobile", None),
    ("Contact centre SBC", "sip", "203.0.113.10", 5080),
    ("Backup PSTN London", "pstn", "GB:London", None),
    ("Lab trunk", "sip", "lab.example.org", 5060),
)
TRUNK_GROUPS = ("Main IVR", "Night service")
DESCRIPTIONS = (None, None, None, "", "Sales", "Support hotline", "Reception", "Marketing campaign",
                "Billing enquiries", "CEO direct line", "Fax to email", "Conference bridge")


# -- resource schema ------------------------------------------------------------------------
@dataclass(frozen=True)
class Rel:
    name: str
    target: str
    key: str | None = None  # record field holding the target id (to-one); None = always null
    back: str | None = None  # to-many: target records whose ``back`` field holds our id
    many: bool = False


ATTRS: dict[str, tuple[str, ...]] = {  # wire order as in the recorded cassettes
    "dids": ("blocked", "capacity_limit", "description", "terminated", "awaiting_registration",
             "created_at", "billing_cycles_count", "number", "expires_at", "channels_included_count",
             "dedicated_channels_count", "emergency_enabled"),
    "voice_in_trunks": ("priority", "capacity_limit", "weight", "name", "cli_format", "cli_prefix",
                        "description", "ringing_timeout", "configuration", "created_at", "external_reference_id"),
    "voice_in_trunk_groups": ("created_at", "name", "capacity_limit", "external_reference_id"),
    "did_groups": ("prefix", "features", "is_metered", "area_name", "allow_additional_channels",
                   "service_restrictions"),
    "countries": ("name", "prefix", "iso"),
    "regions": ("name", "iso"),
    "cities": ("name",),
    "pops": ("name",),
    "did_group_types": ("name",),
}
NULL_RELS = ("capacity_pool", "shared_capacity_group", "address_verification")  # never seeded
RELS: dict[str, tuple[Rel, ...]] = {
    "dids": (Rel("did_group", "did_groups", "did_group_id"), Rel("order", "orders"),
             *(Rel(n, n + "s") for n in NULL_RELS),
             Rel("voice_in_trunk", "voice_in_trunks", "voice_in_trunk_id"),
             Rel("voice_in_trunk_group", "voice_in_trunk_groups", "voice_in_trunk_group_id"),
             Rel("emergency_calling_service", "emergency_calling_services"),
             Rel("emergency_verification", "emergency_verifications"), Rel("identity", "identities")),
    "voice_in_trunks": (Rel("voice_in_trunk_group", "voice_in_trunk_groups", "voice_in_trunk_group_id"),
                        Rel("pop", "pops", "pop_id")),
    "voice_in_trunk_groups": (Rel("voice_in_trunks", "voice_in_trunks", back="voice_in_trunk_group_id", many=True),),
    "did_groups": (Rel("country", "countries", "country_id"), Rel("city", "cities", "city_id"),
                   Rel("did_group_type", "did_group_types", "did_group_type_id"),
                   Rel("region", "regions", "region_id"),
                   Rel("stock_keeping_units", "stock_keeping_units", many=True),
                   Rel("address_requirement", "address_requirements")),
    "countries": (Rel("regions", "regions", back="country_id", many=True),),
    "regions": (Rel("country", "countries", "country_id"),),
    "cities": (Rel("country", "countries", "country_id"), Rel("region", "regions", "region_id")),
    "pops": (),
    "did_group_types": (),
}
# Hidden when an older API version is served (the 2022-05-10 cassette lacks them).
NEW_IN_2026_04_16 = {"emergency_enabled", "external_reference_id", "service_restrictions",
                     "emergency_calling_service", "emergency_verification", "identity", "address_requirement"}


class ApiError(Exception):
    def __init__(self, status: int, title: str, detail: str, code: str | None = None):
        super().__init__(detail)
        self.status, self.title, self.detail, self.code = status, title, detail, code or str(status)


@dataclass
class _Ctx:
    """Per-request state: where links point, the served version, lookups."""
    base: str
    version: str
    idx: dict[str, dict[str, dict]]


def _stamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _monthly_renewal(created: dt.datetime, today: dt.date, *, overdue: bool) -> dt.datetime:
    """A DID renewed monthly on the day it was created (capped at the 28th): its next renewal
    after ``today``, or (``overdue``) the last one on or before ``today``."""
    def shift(year: int, month: int, by: int) -> tuple[int, int]:
        index = year * 12 + month - 1 + by
        return index // 12, index % 12 + 1

    day = min(created.day, 28)
    year, month = today.year, today.month
    this_month = dt.date(year, month, day)
    if overdue and this_month > today:
        year, month = shift(year, month, -1)
    elif not overdue and this_month <= today:
        year, month = shift(year, month, 1)
    return dt.datetime(year, month, day, created.hour, created.minute, created.second,
                       created.microsecond // 1000 * 1000, tzinfo=dt.timezone.utc)


class DidwwSimulator(Simulator):
    name = "didww"
    base_path = "/v3"
    # List-page faults: an emptied page loses its included records too; JSON:API omits links.next
    # on the last page rather than sending null.
    list_items = ("data", "included")
    list_total = "meta.total_records"
    list_next = "links.next"
    list_next_omitted = True

    def __init__(self, api_key: str = DEMO_SECRETS["api_key"], dids: int = 200, trunks: int = 6, trunk_groups: int = 2,
                 seed: int = 1, countries: Iterable[str] | None = None, *, legacy_relationship_names: bool = False,
                 api_version: str = DEFAULT_API_VERSION, today: dt.date | None = None) -> None:
        super().__init__()
        self.api_key = api_key
        self.today = today  # None: renewals relative to the fixed NOW
        self.api_version = api_version  # the account's default version
        self.legacy_relationship_names = legacy_relationship_names
        self._rng = random.Random(seed)
        self._lock = threading.RLock()  # the server is threaded; tests mutate between requests
        self._rels = dict(RELS)
        self._aliases: dict[str, dict[str, str]] = {  # accepted include spellings
            "voice_in_trunks": {"trunk_group": "voice_in_trunk_group"},
            "voice_in_trunk_groups": {"trunks": "voice_in_trunks"},
        }
        if legacy_relationship_names:
            legacy = {"voice_in_trunk": "trunk", "voice_in_trunk_group": "trunk_group"}
            self._rels["dids"] = tuple(Rel(legacy.get(r.name, r.name), r.target, r.key) for r in RELS["dids"])
            self._aliases["dids"] = legacy
        isos = [iso.upper() for iso in countries] if countries is not None else list(GEOGRAPHY)
        unknown = [iso for iso in isos if iso not in GEOGRAPHY]
        if unknown or not isos:
            raise ValueError(f"unknown or no countries {unknown}; choose from {sorted(GEOGRAPHY)}")
        self.countries: list[dict] = []
        self.regions: list[dict] = []
        self.cities: list[dict] = []
        self.did_group_types: list[dict] = []
        self.did_groups: list[dict] = []
        self.pops: list[dict] = []
        self.voice_in_trunk_groups: list[dict] = []
        self.voice_in_trunks: list[dict] = []
        self.dids: list[dict] = []
        self._patterns: dict[str, tuple[str, str]] = {}  # did group id -> (full prefix, pattern)
        self._numbers: set[str] = set()
        self._seed_catalog(isos)
        self._seed_trunks(trunks, trunk_groups)
        self._seed_dids(dids)

    # -- seeding ------------------------------------------------------------------------------
    def _uuid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _moment(self, start: dt.datetime, end: dt.datetime) -> dt.datetime:
        span_ms = int((end - start).total_seconds() * 1000)
        return start + dt.timedelta(milliseconds=self._rng.randrange(max(1, span_ms)))

    def _seed_catalog(self, isos: list[str]) -> None:
        types = {name: {"id": self._uuid(), "name": name} for name in GROUP_TYPES}
        self.did_group_types.extend(types.values())
        self.pops.extend({"id": self._uuid(), "name": name} for name in POPS)
        for iso in isos:
            name, code, regions, national = GEOGRAPHY[iso]
            country = {"id": self._uuid(), "name": name, "prefix": code, "iso": iso}
            self.countries.append(country)
            specs = []  # (type, region, city, area name, prefix, pattern)
            for region_name, (region_iso, cities) in regions.items():
                region = {"id": self._uuid(), "name": region_name, "iso": region_iso, "country_id": country["id"]}
                self.regions.append(region)
                for city_name, prefix, pattern in cities:
                    city = {"id": self._uuid(), "name": city_name, "country_id": country["id"],
                            "region_id": region["id"]}
                    self.cities.append(city)
                    specs.append(("Local", region, city, city_name, prefix, pattern))
            specs.extend((kind, None, None, kind, prefix, pattern) for kind, prefix, pattern in national)
            for kind, region, city, area, prefix, pattern in specs:
                metered = kind == "Toll-free"
                features = ["voice_in"] + (["sms_in"] if kind == "Mobile" or iso in ("US", "CA") else [])
                total = self._rng.choice((0, 12, 48, 150, 500))
                group = {
                    "id": self._uuid(), "prefix": prefix,
                    "features": features + (["t38"] if kind in ("Local", "National") else []),
                    "is_metered": metered, "area_name": area, "allow_additional_channels": kind != "Mobile",
                    "service_restrictions": None, "country_id": country["id"],
                    "region_id": region["id"] if region else None, "city_id": city["id"] if city else None,
                    "did_group_type_id": types[kind]["id"],
                    "needs_registration": kind == "Mobile" or iso in REGISTRATION_COUNTRIES,
                    "is_available": total > 0, "available_dids_enabled": iso in ("US", "CA", "GB"),
                    "total_count": total,
                    "channels_included_count": 0 if metered else 2,
                }
                self.did_groups.append(group)
                self._patterns[group["id"]] = (code + prefix, pattern)

    def _seed_trunks(self, n_trunks: int, n_groups: int) -> None:
        start, end = dt.datetime(2023, 1, 9, tzinfo=dt.timezone.utc), dt.datetime(2025, 6, 30, tzinfo=dt.timezone.utc)
        for i in range(n_groups):
            self.voice_in_trunk_groups.append({
                "id": self._uuid(), "created_at": _stamp(self._moment(start, end)),
                "name": TRUNK_GROUPS[i] if i < len(TRUNK_GROUPS) else f"Trunk group {i + 1}",
                "capacity_limit": self._rng.choice((None, 20, 50)), "external_reference_id": None,
            })
        for i in range(n_trunks):
            extra = (f"SIP trunk {i + 1}", "sip", f"sip{i + 1}.example.com", 5060)
            name, kind, target, port = TRUNKS[i] if i < len(TRUNKS) else extra
            if kind == "sip":
                config = {"type": "sip_configurations", "attributes": _sip_attributes(target, port)}
            else:  # a PSTN trunk forwards to a real-looking number from one of our own groups
                iso, area = target.split(":")
                group = next((g for g in self.did_groups if g["area_name"] == area), None) or self.did_groups[0]
                config = {"type": "pstn_configurations", "attributes": {"dst": self._new_number(group)}}
            # Trunks pair up into groups (0,1 -> group 0, 2,3 -> group 1, ...); the last trunk stays alone.
            grouped = i // 2 < n_groups and i < n_trunks - 1
            self.voice_in_trunks.append({
                "id": self._uuid(), "priority": 1, "capacity_limit": self._rng.choice((None, None, 10, 30)),
                "weight": 65535 if not grouped else (100 if i % 2 == 0 else 50), "name": name,
                "cli_format": self._rng.choice(("e164", "e164", "raw", "local")),
                "cli_prefix": self._rng.choice((None, "", "+")),
                "description": self._rng.choice((None, "", f"{name} routing")),
                "ringing_timeout": self._rng.choice((None, 30, 60)), "configuration": config,
                "created_at": _stamp(self._moment(start, end)), "external_reference_id": None,
                "voice_in_trunk_group_id": self.voice_in_trunk_groups[i // 2]["id"] if grouped else None,
                "pop_id": self._rng.choice(self.pops)["id"] if kind == "sip" and i % 3 != 1 else None,
            })

    def _seed_dids(self, n: int) -> None:
        start = dt.datetime(2023, 2, 1, tzinfo=dt.timezone.utc)
        for moment in sorted(self._moment(start, NOW) for _ in range(n)):
            self.dids.append(self._new_did(moment))

    def _expires(self, created: dt.datetime, days: int, terminated: bool, ms: int) -> dt.datetime:
        if self.today is None:
            return NOW + dt.timedelta(days=days, milliseconds=ms)
        return _monthly_renewal(created, self.today, overdue=days == 1 and not terminated)

    def _new_number(self, group: dict) -> str:
        prefix, pattern = self._patterns[group["id"]]
        for _ in range(1000):
            number = prefix + _expand(pattern, self._rng)
            # NANP: skip N11 service codes and the fictional 555 exchange.
            if prefix[0] == "1" and (number[5:7] == "11" or number[4:7] == "555"):
                continue
            if number not in self._numbers:
                self._numbers.add(number)
                return number
        raise RuntimeError(f"number range of DID group {group['area_name']} exhausted")

    def _new_did(self, created: dt.datetime) -> dict:
        rng = self._rng
        iso_of = {c["id"]: c["iso"] for c in self.countries}
        weights = [COUNTRY_WEIGHT[iso_of[g["country_id"]]] * (3 if g["city_id"] else 1) for g in self.did_groups]
        group = rng.choices(self.did_groups, weights)[0]
        # Leave the last trunk and the last trunk group without DIDs (when there is more than one).
        trunks = self.voice_in_trunks[:-1] if len(self.voice_in_trunks) > 1 else self.voice_in_trunks
        groups = self.voice_in_trunk_groups[:-1] if len(self.voice_in_trunk_groups) > 1 else self.voice_in_trunk_groups
        route = rng.random()
        trunk = rng.choice(trunks)["id"] if trunks and route < 0.70 else None
        trunk_group = rng.choice(groups)["id"] if groups and trunk is None and route < 0.88 else None
        awaiting = group["needs_registration"] and rng.random() < 0.25
        terminated = rng.random() < 0.04
        cycles = rng.random()
        expires_days = rng.randint(1, 6) if terminated else rng.randint(1, 31)
        return {
            "id": self._uuid(),
            "blocked": awaiting or rng.random() < 0.04,  # DIDWW blocks DIDs awaiting registration too
            "capacity_limit": rng.choice((None, None, None, 1, 2, 4, 10, 30)),
            "description": rng.choice(DESCRIPTIONS),
            "terminated": terminated,
            "awaiting_registration": awaiting,
            "created_at": _stamp(created),
            "billing_cycles_count": 0 if cycles < 0.05 else rng.randint(1, 12) if cycles < 0.15 else None,
            "number": self._new_number(group),
            # (drawn here, after the number: the draw order is what makes a seed reproducible)
            "expires_at": _stamp(self._expires(created, expires_days, terminated, rng.randrange(86_400_000))),
            "channels_included_count": group["channels_included_count"],
            "dedicated_channels_count": rng.randint(1, 4) if rng.random() < 0.1 else 0,
            "emergency_enabled": iso_of[group["country_id"]] in ("US", "GB") and group["city_id"] is not None
            and rng.random() < 0.15,
            "did_group_id": group["id"], "voice_in_trunk_id": trunk, "voice_in_trunk_group_id": trunk_group,
        }

    # -- mutation helpers for tests ---------------------------------------------------------------
    def get(self, type_: str, record_id: str) -> dict:
        """The live record dict of ``type_`` (e.g. "voice_in_trunks") with ``record_id``."""
        for rec in self._store()[type_]:
            if rec["id"] == record_id:
                return rec
        raise KeyError(f"no {type_} record {record_id}")

    def remove_did(self, did_id: str) -> dict:
        with self._lock:
            rec = self.get("dids", did_id)
            self.dids.remove(rec)
            self._numbers.discard(rec["number"])
            return rec

    def restore_did(self, rec: dict) -> None:
        """Put back a DID taken out with ``remove_did`` (the provider listing it again)."""
        with self._lock:
            self.dids.append(rec)
            self._numbers.add(rec["number"])

    def add_dids(self, n: int = 1) -> list[dict]:
        """Append ``n`` new DIDs created after every existing one (so they sort last by default)."""
        with self._lock:
            latest = max([NOW] + [dt.datetime.fromisoformat(d["created_at"].replace("Z", "+00:00")) for d in self.dids])
            added = [self._new_did(latest + dt.timedelta(minutes=i + 1)) for i in range(n)]
            self.dids.extend(added)
            return added

    def update_did(self, did_id: str, **attrs: Any) -> dict:
        """Change attributes / ``*_id`` links of a DID. Routing to a trunk clears the trunk group
        and vice versa: DIDWW routes a DID to one or the other, never both."""
        with self._lock:
            rec = self.get("dids", did_id)
            unknown = set(attrs) - set(rec) - {"id"}
            if unknown or "id" in attrs:
                raise KeyError(f"not updatable DID fields: {sorted(unknown | ({'id'} & set(attrs)))}")
            trunk, group = "voice_in_trunk_id", "voice_in_trunk_group_id"
            for this, other in ((trunk, group), (group, trunk)):
                if attrs.get(this) and other not in attrs:
                    attrs[other] = None
            if "number" in attrs:
                self._numbers.discard(rec["number"])
                self._numbers.add(attrs["number"])
            rec.update(attrs)
            return rec

    def _store(self) -> dict[str, list[dict]]:
        return {t: getattr(self, t) for t in ATTRS}

    # -- HTTP -------------------------------------------------------------------------------------
    def error_response(self, status: int, message: str) -> SimResponse:
        return self._errors(ApiError(status, _phrase(status), message))

    def handle(self, req: SimRequest) -> SimResponse:
        with self._lock:
            try:
                return self._handle(req)
            except ApiError as err:
                return self._errors(err)

    def _handle(self, req: SimRequest) -> SimResponse:
        parts = [p for p in req.path.split("/") if p]
        if not parts or parts[0] != "v3":
            raise ApiError(404, "Not found", f"No route matches {req.path}")
        if req.method != "GET":
            raise ApiError(405, "Method not allowed", f"{req.method} is not supported by this simulator")
        if req.headers.get("api-key") != self.api_key:
            raise ApiError(401, "Unauthorized", "Api-Key header is missing or invalid")
        requested = req.headers.get("x-didww-api-version", "")
        valid = re.fullmatch(r"\d{4}-\d{2}-\d{2}", requested)
        version = max(requested, self.api_version) if valid else self.api_version
        if version >= BEARER_ONLY_VERSION:
            raise ApiError(401, "Unauthorized", f"API version {version} does not accept Api-Key authentication; "
                           "use a bearer token from the DIDWW auth service")
        if len(parts) not in (2, 3) or parts[1] not in ATTRS:
            raise ApiError(404, "Not found", f"No route matches {req.path}")
        type_ = parts[1]
        params = self._parse_params(req)
        host = req.headers.get("host") or f"127.0.0.1:{self.port}"
        ctx = _Ctx(base=f"http://{host}/v3", version=version,
                   idx={t: {r["id"]: r for r in recs} for t, recs in self._store().items()})
        includes = self._parse_include(type_, params["include"])
        meta: dict[str, Any] = {}
        if len(parts) == 3:  # GET /v3/<type>/<id>
            rec = ctx.idx[type_].get(parts[2])
            if rec is None:
                raise ApiError(404, "Record not found", f"The record identified by {parts[2]} could not be found.")
            records, number = [rec], None
        else:
            number, size = self._parse_page(type_, params["page"])
            matches = self._ordered(type_, ctx)
            records = matches[(number - 1) * size: number * size]
            meta["total_records"] = len(matches)
        data_rels, included = self._resolve_includes(type_, records, includes, ctx)

        def render(t: str, r: dict) -> dict:
            return self._render(t, r, data_rels.get((t, r["id"]), set()), ctx)

        doc: dict[str, Any] = {"data": [render(type_, r) for r in records] if number else render(type_, records[0])}
        if params["include"]:
            doc["included"] = [render(t, r) for t, r in included]
        doc["meta"] = {**meta, "api_version": version}
        if number:
            doc["links"] = self._page_links(req, ctx, type_, number, size, meta["total_records"])
        return SimResponse(200, json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode(),
                           {"Content-Type": JSONAPI}, page=number)

    def _errors(self, err: ApiError) -> SimResponse:
        body = {"errors": [{"title": err.title, "detail": err.detail, "code": err.code, "status": str(err.status)}]}
        return SimResponse.json(err.status, body, content_type=JSONAPI)

    # -- query parsing ----------------------------------------------------------------------------
    def _parse_params(self, req: SimRequest) -> dict[str, Any]:
        params: dict[str, Any] = {"include": None, "page": {}}
        for key, value in req.query:
            bracket = re.fullmatch(r"page\[([^\]]+)\]", key)
            if bracket:
                params["page"][bracket.group(1)] = value
            elif key == "include":
                params[key] = value
            else:
                raise ApiError(400, "Param not allowed", f"{key} is not allowed.", "105")
        return params

    def _parse_page(self, type_: str, page: dict[str, str]) -> tuple[int, int]:
        for key in page:
            if key not in ("number", "size"):
                raise ApiError(400, "Page parameter not allowed", f"{key} is not an allowed page parameter.", "105")
        values = {}
        for key, default in (("number", 1), ("size", DEFAULT_PAGE_SIZE)):
            raw = page.get(key, str(default))
            if not re.fullmatch(r"\s*\d+\s*", raw) or int(raw) < 1:
                detail = f"{raw} is not a valid value for {key} page parameter."
                raise ApiError(400, "Invalid page value", detail, "118")
            values[key] = int(raw)
        limit = 1000 if type_ in CATALOGS else 100
        if values["size"] > limit:
            raise ApiError(400, "Invalid page value", f"size exceeds maximum page size of {limit}.", "118")
        return values["number"], values["size"]

    def _rel(self, type_: str, name: str) -> Rel | None:
        name = self._aliases.get(type_, {}).get(name, name)
        return next((r for r in self._rels[type_] if r.name == name), None)

    def _parse_include(self, type_: str, raw: str | None) -> list[list[str]]:
        paths = []
        for path in filter(None, (p.strip() for p in (raw or "").split(","))):
            current, names = type_, []
            for segment in path.split("."):
                # Types this simulator never seeds (orders, ...) have nothing to walk into.
                rel = self._rel(current, segment) if current in ATTRS else None
                if rel is None:
                    raise ApiError(400, "Invalid field", f"{path} is not a valid relationship of {type_}", "112")
                names.append(rel.name)
                current = rel.target
            paths.append(names)
        return paths

    # -- listing ----------------------------------------------------------------------------------
    def _ordered(self, type_: str, ctx: _Ctx) -> list[dict]:
        """Every record of ``type_`` in the default order: creation time then id (reference
        catalogs: name then id)."""
        first = "name" if type_ in CATALOGS else "created_at"
        return sorted(ctx.idx[type_].values(), key=lambda r: (r.get(first) or "", r["id"]))

    def _page_links(self, req: SimRequest, ctx: _Ctx, type_: str, number: int, size: int, total: int) -> dict:
        kept = [(k, v) for k, v in req.query if not k.startswith("page[")]
        last = max(1, math.ceil(total / size))

        def url(n: int) -> str:  # Rails orders query keys alphabetically and escapes [ ] ,
            query = sorted(kept + [("page[number]", str(n)), ("page[size]", str(size))], key=lambda kv: kv[0])
            return f"{ctx.base}/{type_}?{urlencode(query, quote_via=quote)}"

        links = {"first": url(1)}
        if number > 1:
            links["prev"] = url(number - 1)
        if number < last:
            links["next"] = url(number + 1)
        links["last"] = url(last)
        return links

    # -- rendering --------------------------------------------------------------------------------
    def _linkage(self, rel: Rel, rec: dict, ctx: _Ctx) -> Any:
        if rel.many:
            if rel.back is None:
                return []
            members = ctx.idx[rel.target].values()
            return [{"type": rel.target, "id": t["id"]} for t in members if t.get(rel.back) == rec["id"]]
        target_id = rec.get(rel.key) if rel.key else None
        return {"type": rel.target, "id": target_id} if target_id else None

    def _resolve_includes(self, type_: str, records: list[dict], paths: list[list[str]], ctx: _Ctx):
        """Walk include paths: which (type, id) render which relationships' ``data``, and the
        flat, de-duplicated ``included`` list in discovery order (primary data excluded)."""
        data_rels: dict[tuple[str, str], set[str]] = {}
        included: dict[tuple[str, str], tuple[str, dict]] = {}
        primary = {(type_, r["id"]) for r in records}
        for path in paths:
            frontier = [(type_, r) for r in records]
            for name in path:
                step: dict[tuple[str, str], tuple[str, dict]] = {}
                for t, rec in frontier:
                    rel = self._rel(t, name)
                    data_rels.setdefault((t, rec["id"]), set()).add(rel.name)
                    linkage = self._linkage(rel, rec, ctx)
                    for ident in linkage if isinstance(linkage, list) else [linkage] if linkage else []:
                        target = ctx.idx.get(ident["type"], {}).get(ident["id"])
                        if target is not None:
                            key = (ident["type"], ident["id"])
                            step[key] = (ident["type"], target)
                            if key not in primary:
                                included.setdefault(key, (ident["type"], target))
                frontier = list(step.values())
        return data_rels, list(included.values())

    def _render(self, type_: str, rec: dict, with_data: set[str], ctx: _Ctx) -> dict:
        def shown(name: str) -> bool:
            return ctx.version >= EMERGENCY_VERSION or name not in NEW_IN_2026_04_16

        out: dict[str, Any] = {"id": rec["id"], "type": type_,
                               "attributes": {a: rec.get(a) for a in ATTRS[type_] if shown(a)}}
        rels = {}
        for rel in self._rels[type_]:
            if not shown(rel.name):
                continue
            link = f"{ctx.base}/{type_}/{rec['id']}"
            rels[rel.name] = {"links": {"self": f"{link}/relationships/{rel.name}", "related": f"{link}/{rel.name}"}}
            if rel.name in with_data:
                rels[rel.name]["data"] = self._linkage(rel, rec, ctx)
        if rels:
            out["relationships"] = rels
        if type_ == "did_groups":
            keys = ("available_dids_enabled", "needs_registration", "is_available", "total_count")
            out["meta"] = {k: rec[k] for k in keys}
        elif type_ == "voice_in_trunk_groups":
            trunks = ctx.idx["voice_in_trunks"].values()
            out["meta"] = {"trunks_count": sum(t.get("voice_in_trunk_group_id") == rec["id"] for t in trunks)}
        return out


def _sip_attributes(host: str, port: int | None) -> dict:
    """SIP configuration as the sandbox returns it (cassette keys + 2026-04-16 additions)."""
    return {
        "username": "{DID}", "host": host, "port": port, "codec_ids": [9, 10, 8, 7, 6],
        "rx_dtmf_format_id": 1, "tx_dtmf_format_id": 1, "resolve_ruri": False, "auth_enabled": False,
        "auth_user": None, "auth_password": None, "auth_from_user": None, "auth_from_domain": None,
        "sst_enabled": False, "sst_min_timer": 600, "sst_max_timer": 900, "sst_accept_501": True,
        "sip_timer_b": 8000, "dns_srv_failover_timer": 2000, "rtp_ping": False, "rtp_timeout": 30,
        "force_symmetric_rtp": False, "symmetric_rtp_ignore_rtcp": False, "rerouting_disconnect_code_ids": None,
        "sst_session_expires": None, "sst_refresh_method_id": 1, "transport_protocol_id": 1,
        "max_transfers": 0, "max_30x_redirects": 0, "media_encryption_mode": "disabled",
        "stir_shaken_mode": "disabled", "allowed_rtp_ips": None, "network_protocol_priority": "force_ipv4",
        "enabled_sip_registration": False, "use_did_in_ruri": False, "diversion_relay_policy": "none",
        "diversion_inject_mode": "none", "cnam_lookup": False,
    }


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def from_secrets(secrets: dict, *, numbers: int, seed: int, **kw: Any) -> DidwwSimulator:
    """The registry's factory: a simulator that accepts these account secrets."""
    return DidwwSimulator(api_key=secrets["api_key"], dids=numbers, seed=seed, **kw)
