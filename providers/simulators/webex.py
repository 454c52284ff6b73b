"""Webex Calling simulator: the read side our adapter and the official ``wxc_sdk`` use.

Shapes follow the developer-portal examples in ``tests/fixtures/webex`` and the wxc_sdk models
(``NumberListPhoneNumber``, ``TelephonyLocation``, ``Location``, ``AvailableNumber``); see
``providers/WIRE.md`` section 3. Behaviour reproduced:

* Auth: ``Authorization: Bearer <access_token>``, else 401 with the Webex error body
  ``{message, errors:[{description}], trackingId}`` (also in a ``TrackingID`` header, as on every
  response). ``orgId``, when sent, must be the simulated org (else 403).
* Pagination: ``max``/``start`` (0-based); ``Link: <absolute url>; rel="next"`` (built from the
  request's Host, other params kept) only while more items remain.
* ``GET /v1/telephony/config/numbers`` (filter ``phoneNumber``: the adapter's lookup),
  ``GET /v1/telephony/config/locations``, ``GET /v1/locations`` (all locations, calling-enabled
  or not, with ``address``), ``GET /v1/telephony/config/locations/{id}/externalCallerId/
  availableNumbers``: PSTN numbers of every location in the same country, with ``isMainNumber``
  (not ``mainNumber``). The other documented filters, ``details=true`` and single-location GETs
  are not simulated (no client sends them); unknown parameters are ignored.

Test switches: ``foreign_next_link`` (next links name another host), ``repeat_next_link`` (every
page links to the second page), ``gateway_timeout(max_above=N)`` (504 while ``max`` > N),
``lock(retry_after)`` (423 + Retry-After); base-class faults answer with Webex error bodies.
Data is plain dicts (``sim.numbers``, ``sim.locations``, ``sim.owners``) plus helpers to mutate it.
"""

from __future__ import annotations

import base64
import json
import random
import re
import threading
import uuid
from typing import Any
from urllib.parse import urlencode

import phonenumbers

from .server import Fault, SimRequest, SimResponse, Simulator
from .server import expand_pattern as _expand

DEMO_SECRETS = {"access_token": "demo-webex-token"}
DEFAULT_MAX = 2000
FOREIGN_HOST = "webexapis.attacker.example"

# city, state, ISO country, time zone, language, street, lat, long,
# local / toll-free / mobile patterns (X = 0-9, N = 2-9, [..] = class), mobile network
SITES = (
    ("San Francisco", "CA", "US", "America/Los_Angeles", "en_us", "425 Market Street", "37.7913", "-122.3989",
     "+1415NXXXXXX", "+1800NXXXXXX", None, None),
    ("London", "England", "GB", "Europe/London", "en_GB", "10 Bressenden Place", "51.4975", "-0.1415",
     "+4420[378]XXXXXXX", "+44800XXXXXXX", "+447[1-7]XXXXXXXX", "Vodafone UK"),
    ("Bangalore", "Karnataka", "IN", "Asia/Kolkata", "en_us", "Embassy Tech Village, Outer Ring Road", "12.9357",
     "77.6973", "+9180[24]XXXXXXX", "+911800XXXXXXX", "+919[89]XXXXXXXX", "Airtel"),
    ("Berlin", "Berlin", "DE", "Europe/Berlin", "de_DE", "Friedrichstrasse 68", "52.5103", "13.3889",
     "+4930[1-9]XXXXXXX", "+49800XXXXXXX", "+49151XXXXXXXX", "Telekom"),
    ("Sydney", "NSW", "AU", "Australia/Sydney", "en_AU", "201 Sussex Street", "-33.8719", "151.2028",
     "+6129XXXXXXX", "+611800XXXXXX", "+614[0-3]XXXXXXX", "Telstra"),
    ("New York", "NY", "US", "America/New_York", "en_us", "1 Penn Plaza", "40.7505", "-73.9934",
     "+1212NXXXXXX", "+1888NXXXXXX", None, None),
    ("Paris", "Ile-de-France", "FR", "Europe/Paris", "fr_FR", "11 Rue Camille Desmoulins", "48.8262", "2.2766",
     "+331[45]XXXXXXX", "+33800XXXXXX", "+336XXXXXXXX", "Orange"),
    ("Tokyo", "Tokyo", "JP", "Asia/Tokyo", "ja_JP", "2-1-1 Nihonbashi Muromachi", "35.6867", "139.7737",
     "+813XXXXXXXX", "+81120XXXXXX", "+8190XXXXXXXX", "NTT Docomo"),
)
NON_CALLING_SITE = ("Reno", "NV", "US", "America/Los_Angeles", "en_us", "9 Warehouse Way", "39.5296", "-119.8138")

# Response-schema owner types (doc enum) plus one the docs do not list yet.
FEATURE_TYPES = ("AUTO_ATTENDANT", "CALL_QUEUE", "HUNT_GROUP", "GROUP_PAGING", "VOICE_MESSAGING",
                 "OFFICE_ANYWHERE", "CONTACT_CENTER_LINK", "CONTACT_CENTER_ADAPTER", "ROUTE_LIST",
                 "VOICEMAIL_GROUP", "COLLABORATE_BRIDGE", "AI_RECEPTIONIST")
OWNER_TYPES = ("PEOPLE", "PLACE", "VIRTUAL_LINE") + FEATURE_TYPES
UNKNOWN_OWNER_TYPE = "AI_RECEPTIONIST"
FEATURE_NAMES = {
    "AUTO_ATTENDANT": "{city} Main Menu", "CALL_QUEUE": "{city} Support Queue", "HUNT_GROUP": "{city} Sales Hunt Group",
    "GROUP_PAGING": "{city} Warehouse Paging", "VOICE_MESSAGING": "{city} Voice Portal",
    "OFFICE_ANYWHERE": "{city} Single Number Reach", "CONTACT_CENTER_LINK": "{city} Contact Center Link",
    "CONTACT_CENTER_ADAPTER": "{city} Contact Center Adapter", "ROUTE_LIST": "{city} Route List",
    "VOICEMAIL_GROUP": "{city} Voicemail Group", "COLLABORATE_BRIDGE": "{city} Collaborate Bridge",
    "AI_RECEPTIONIST": "{city} AI Receptionist",
}
PLACES = ("Lobby", "Board Room", "Reception Desk", "Kitchen", "Training Room", "Front Door")
FIRST = ("Ana", "Ben", "Chloe", "Dev", "Emma", "Farid", "Grace", "Hiro", "Isla", "Jonas", "Kavya", "Liam", "Mei",
         "Noah", "Olu", "Priya", "Quinn", "Rosa", "Sven", "Tara", "Umar", "Vera", "Wen", "Yusuf", "Zoe")
LAST = ("Andersen", "Brown", "Chen", "Dubois", "Evans", "Fischer", "Garcia", "Hughes", "Iyer", "Jones", "Kim",
        "Lopez", "Muller", "Nair", "O'Brien", "Patel", "Rossi", "Schmidt", "Tanaka", "Usman", "Walsh", "Young")
MARKUP_FIRST, MARKUP_LAST = "<b>Bob</b>", '& "Co"'  # for escaping tests

AUTH_MESSAGE = "The request requires a valid access token set in the Authorization request header."
NUMBER_KEYS = ("phoneNumber", "extension", "routingPrefix", "esn", "state", "phoneNumberType", "mainNumber",
               "includedTelephonyTypes", "mobileNetwork", "routingProfile", "tollFreeNumber", "isServiceNumber",
               "location", "owner")


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def webex_id(kind: str, raw: str) -> str:
    """Base64url (unpadded) of ``ciscospark://us/<KIND>/<uuid>``, like real Webex ids."""
    return base64.urlsafe_b64encode(f"ciscospark://us/{kind}/{raw}".encode()).decode().rstrip("=")




class WebexSimulator(Simulator):
    name = "webex"
    base_path = "/v1"
    # List-page faults: the item key depends on the endpoint; no totals (total_offset is a no-op);
    # the continuation is the Link header (drop_next below).
    list_items = ("phoneNumbers", "locations", "items")

    def __init__(self, access_token: str = DEMO_SECRETS["access_token"], numbers: int = 120, locations: int = 5, seed: int = 1,
                 org_id: str | None = None, *, extension_only: int | None = None, foreign_next_link: bool = False,
                 repeat_next_link: bool = False) -> None:
        super().__init__()
        if locations < 1:
            raise ValueError("at least one calling location")
        self.access_token = access_token
        self._rng = random.Random(seed)
        self._lock = threading.RLock()
        self.org_id = org_id or webex_id("ORGANIZATION", self._uuid())
        self.foreign_next_link = foreign_next_link
        self.repeat_next_link = repeat_next_link
        self.last_tracking_id = ""
        self._timeouts: list[Fault] = []  # gateway_timeout(): kind "504", status holds max_above
        self.locations: list[dict] = []  # /v1/locations shape + "calling" (telephony details or None)
        self.owners: dict[str, dict] = {}  # id -> wire owner {id,type,firstName?,lastName?,displayName?}
        self.owner_locations: dict[str, str] = {}  # owner id -> location id
        self.numbers: list[dict] = []  # /telephony/config/numbers rows (wire shape)
        self._used: set[str] = set()
        self._next_ext: dict[str, int] = {}
        self._seed_locations(locations)
        self._seed_numbers(max(0, numbers), max(0, extension_only if extension_only is not None
                                                else (max(2, numbers // 10) if numbers else 0)))

    # -- seeding ------------------------------------------------------------------------------
    def _uuid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _seed_locations(self, count: int) -> None:
        for i in range(count):
            site = SITES[i % len(SITES)]
            suffix = f" {i // len(SITES) + 1}" if i >= len(SITES) else ""
            loc = self._location(site, suffix)
            loc["calling"] = {
                "routingPrefix": str(8001 + i), "outsideDialDigit": "9" if site[2] in ("US", "GB") else "0",
                "callingLineId": {"name": f"{site[0]}{suffix} Office", "phoneNumber": None},
                "e911SetupRequired": site[2] == "US" and i % 2 == 1, "enforceOutsideDialDigit": i % 3 == 0,
            }
            self.locations.append(loc)
        self.locations.append(self._location(NON_CALLING_SITE, ""))  # /v1/locations only

    def _location(self, site: tuple, suffix: str) -> dict:
        city, state, country, tz, lang, street, lat, lon = site[:8]
        return {
            "id": webex_id("LOCATION", self._uuid()), "name": f"{city}{suffix}", "orgId": self.org_id,
            "address": {"address1": street, "city": city, "state": state,
                        "postalCode": str(self._rng.randint(10000, 99999)), "country": country},
            "timeZone": tz, "preferredLanguage": lang, "latitude": lat, "longitude": lon,
            "notes": f"{city}{suffix} office",
        }

    @property
    def calling_locations(self) -> list[dict]:
        return [loc for loc in self.locations if loc.get("calling")]

    def _site(self, loc: dict) -> tuple:
        city, country = loc["address"]["city"], loc["address"]["country"]
        return next(s for s in SITES + (NON_CALLING_SITE,) if s[0] == city and s[2] == country)

    def new_number(self, loc: dict, kind: str = "local") -> str:
        """A fresh number valid (per libphonenumber) for ``loc``'s country."""
        site = self._site(loc)
        pattern = {"local": site[8], "toll_free": site[9], "mobile": site[10]}[kind]
        if pattern is None:
            raise ValueError(f"no {kind} numbers in {loc['name']}")
        for _ in range(5000):
            number = _expand(pattern, self._rng)
            if number in self._used or (number.startswith("+1") and (number[5:7] == "11" or number[5:8] == "555")):
                continue
            parsed = phonenumbers.parse(number)
            if phonenumbers.is_valid_number(parsed) and phonenumbers.region_code_for_number(parsed) == site[2]:
                self._used.add(number)
                return number
        raise RuntimeError(f"number range of {loc['name']} exhausted")

    def _extension(self, loc: dict) -> tuple[str, str, str]:
        n = self._next_ext.get(loc["id"], 1001)
        self._next_ext[loc["id"]] = n + 1
        prefix = loc["calling"]["routingPrefix"]
        return str(n), prefix, prefix + str(n)

    def add_owner(self, type_: str, location_id: str, *, first_name: str | None = None, last_name: str | None = None,
                  display_name: str | None = None) -> dict:
        loc = self._loc(location_id)
        city = loc["name"]
        owner: dict[str, Any] = {"id": webex_id(type_, self._uuid()), "type": type_}
        if type_ in ("PEOPLE", "VIRTUAL_LINE"):  # no displayName for these (seed doc)
            owner["firstName"] = first_name or self._rng.choice(FIRST)
            owner["lastName"] = last_name or self._rng.choice(LAST)
        elif type_ == "PLACE":
            place = self._rng.choice(PLACES)
            owner["firstName"] = first_name or place
            owner["lastName"] = last_name or city
            owner["displayName"] = display_name or f"{city} {place}"
        else:
            owner["displayName"] = display_name or FEATURE_NAMES.get(type_, "{city} " + type_.title()).format(city=city)
        self.owners[owner["id"]] = owner
        self.owner_locations[owner["id"]] = location_id
        return owner

    def _row(self, loc: dict, number: str | None, *, owner: dict | None = None, state: str = "ACTIVE",
             type_: str = "PRIMARY", main: bool = False, toll_free: bool = False, service: bool = False,
             mobile: bool = False) -> dict:
        ext = self._extension(loc) if owner is not None else None  # unassigned numbers have no extension
        row: dict[str, Any] = {}
        if number is not None:
            row["phoneNumber"] = number
        if ext:
            row["extension"], row["routingPrefix"], row["esn"] = ext
        row.update({"state": state, "phoneNumberType": type_, "mainNumber": main,
                    "includedTelephonyTypes": "MOBILE_NUMBER" if mobile else "PSTN_NUMBER"})
        if mobile:
            row["mobileNetwork"], row["routingProfile"] = self._site(loc)[11], "MobRtPf"
        row.update({"tollFreeNumber": toll_free, "isServiceNumber": service,
                    "location": {"id": loc["id"], "name": loc["name"]}})
        if owner is not None:
            row["owner"] = owner
        return row

    def _seed_numbers(self, count: int, extension_only: int) -> None:
        rng, sites = self._rng, self.calling_locations
        rows: list[dict] = []

        def room() -> bool:
            return len(rows) < count

        for i, loc in enumerate(sites):  # every location's main number first
            if not room():
                break
            owner = self.add_owner("AUTO_ATTENDANT", loc["id"]) if i % 2 == 0 else None
            rows.append(self._row(loc, self.new_number(loc), owner=owner, main=True))
            loc["calling"]["callingLineId"]["phoneNumber"] = rows[-1]["phoneNumber"]
        for i, type_ in enumerate(OWNER_TYPES):  # one number per owner type
            if not room():
                break
            loc = sites[i % len(sites)]
            owner = self.add_owner(type_, loc["id"])
            rows.append(self._row(loc, self.new_number(loc), owner=owner, service=type_ in FEATURE_TYPES and i % 2 == 0))
        specials = (
            lambda loc: self._row(loc, self.new_number(loc), owner=self.add_owner(
                "PEOPLE", loc["id"], first_name=MARKUP_FIRST, last_name=MARKUP_LAST)),
            lambda loc: self._row(loc, self.new_number(loc, "toll_free"), toll_free=True,
                                  owner=self.add_owner("CALL_QUEUE", loc["id"])),
            lambda loc: self._row(loc, self.new_number(loc, "toll_free"), toll_free=True),
            lambda loc: self._row(loc, self.new_number(loc), state="INACTIVE"),
            lambda loc: self._row(loc, self.new_number(loc)),
        )
        for i, make in enumerate(specials):
            if room():
                rows.append(make(sites[(i + 1) % len(sites)]))
        while room():
            loc = rng.choice(sites)
            r = rng.random()
            people = [row["owner"] for row in rows[-40:] if row["location"]["id"] == loc["id"]
                      and (row.get("owner") or {}).get("type") in ("PEOPLE", "PLACE")]
            if r < 0.18:
                rows.append(self._row(loc, self.new_number(loc), state="INACTIVE" if rng.random() < 0.3 else "ACTIVE"))
            elif r < 0.25:
                owner = self.add_owner(rng.choice(("AUTO_ATTENDANT", "CALL_QUEUE", "HUNT_GROUP")), loc["id"]) \
                    if rng.random() < 0.6 else None
                rows.append(self._row(loc, self.new_number(loc, "toll_free"), owner=owner, toll_free=True))
            elif r < 0.32:
                owner = self.add_owner(rng.choice(("CALL_QUEUE", "HUNT_GROUP", "AUTO_ATTENDANT")), loc["id"])
                rows.append(self._row(loc, self.new_number(loc), owner=owner, service=True))
            elif r < 0.40 and self._site(loc)[10]:
                rows.append(self._row(loc, self.new_number(loc, "mobile"), owner=self.add_owner("PEOPLE", loc["id"]),
                                      mobile=True))
            elif r < 0.48 and people:
                rows.append(self._row(loc, self.new_number(loc), owner=rng.choice(people),
                                      type_=rng.choice(("ALTERNATE", "ALTERNATE", "FAX"))))
            else:
                type_ = rng.choices(("PEOPLE", "PLACE", "VIRTUAL_LINE"), (75, 15, 10))[0]
                rows.append(self._row(loc, self.new_number(loc), owner=self.add_owner(type_, loc["id"])))
        for i in range(extension_only):  # rows without a phone number ("" or absent, both seen)
            loc = rng.choice(sites)
            row = self._row(loc, "" if i % 2 == 0 else None, owner=self.add_owner("PEOPLE", loc["id"]))
            rows.insert(rng.randrange(len(rows) + 1) if rows else 0, row)
        self.numbers = rows

    # -- mutation helpers for tests ---------------------------------------------------------------
    def _loc(self, location_id: str) -> dict:
        for loc in self.locations:
            if loc["id"] == location_id:
                return loc
        raise KeyError(f"no location {location_id!r}")

    def find_number(self, phone_number: str) -> dict:
        for row in self.numbers:
            if row.get("phoneNumber") == phone_number:
                return row
        raise KeyError(f"no number {phone_number!r}")

    def add_number(self, location_id: str, *, kind: str = "local", owner_id: str | None = None,
                   **fields: Any) -> dict:
        """Append a new number row in ``location_id`` (``kind``: local / toll_free / mobile)."""
        with self._lock:
            loc = self._loc(location_id)
            owner = self.owners[owner_id] if owner_id else None
            row = self._row(loc, self.new_number(loc, kind), owner=owner, toll_free=kind == "toll_free",
                            mobile=kind == "mobile")
            row.update(fields)
            self.numbers.append(row)
            return row

    def update_number(self, phone_number: str, **changes: Any) -> dict:
        """Change wire fields of a number row (``owner=None`` unassigns it)."""
        with self._lock:
            row = self.find_number(phone_number)
            for key, value in changes.items():
                if key not in NUMBER_KEYS:
                    raise KeyError(f"unknown number field {key!r}")
                if value is None and key in ("owner", "extension"):
                    row.pop(key, None)
                else:
                    row[key] = value
            return row

    def assign(self, phone_number: str, owner_id: str | None) -> dict:
        return self.update_number(phone_number, owner=self.owners[owner_id] if owner_id else None)

    def remove_number(self, phone_number: str) -> dict:
        with self._lock:
            row = self.find_number(phone_number)
            self.numbers.remove(row)
            return row

    def update_owner(self, owner_id: str, **changes: Any) -> dict:
        """Rename etc. (``firstName``, ``lastName``, ``displayName``, ``type``); every row sees it."""
        with self._lock:
            owner = self.owners[owner_id]
            owner.update(changes)
            return owner

    def update_location(self, location_id: str, **changes: Any) -> dict:
        """Top-level fields (``name``, ``address``...); a rename shows in number rows too."""
        with self._lock:
            loc = self._loc(location_id)
            loc.update(changes)
            return loc

    def set_main_number(self, location_id: str, phone_number: str | None) -> None:
        with self._lock:
            loc = self._loc(location_id)
            for row in self.numbers:
                if row["location"]["id"] == location_id:
                    row["mainNumber"] = row.get("phoneNumber") == phone_number and phone_number is not None
            loc["calling"]["callingLineId"]["phoneNumber"] = phone_number

    # -- fault helpers ------------------------------------------------------------------------------
    def gateway_timeout(self, max_above: int, *, page: int | None = None, path: str | None = None,
                        times: int | None = 1) -> Fault:
        """Answer 504 to list requests whose ``max`` is above ``max_above`` ("reduce max");
        ``page`` (1-based, ``start // max + 1``) and ``path`` (substring) narrow it down."""
        fault = Fault(kind="504", status=max_above, page=page, path=path, times=times)
        with self._lock:
            self._timeouts.append(fault)
        return fault

    def lock(self, retry_after: float = 2.0, *, page: int | None = None, path: str | None = None,
             times: int | None = 1) -> Fault:
        """423 Locked with Retry-After (Webex: "temporarily unavailable")."""
        return self.faults.add("status", status=423, retry_after=retry_after, page=page, path=path, times=times)

    # -- responses ----------------------------------------------------------------------------------
    def error_response(self, status: int, message: str) -> SimResponse:
        headers = self._tracking()
        self.last_tracking_id = headers["TrackingID"]
        body = {"message": message, "errors": [{"description": message}], "trackingId": headers["TrackingID"]}
        return SimResponse(status, json.dumps(body).encode(), {"Content-Type": "application/json", **headers})

    def dispatch(self, req: SimRequest) -> tuple[SimResponse, Fault | None]:
        response, fault = super().dispatch(req)
        if fault is not None and fault.kind == "status" and fault.status == 423:
            retry = fault.retry_after
            response.headers["Retry-After"] = str(int(retry) if float(retry).is_integer() else retry)
        return response, fault

    def drop_next(self, doc: dict, headers: dict[str, str]) -> None:
        """The continuation is the Link header's rel="next" entry; other rels stay."""
        kept = [link for link in re.split(r",\s*(?=<)", headers.pop("Link", ""))
                if link and not re.search(r'rel="?[^";]*\bnext\b', link)]
        if kept:
            headers["Link"] = ", ".join(kept)

    def handle(self, req: SimRequest) -> SimResponse:
        with self._lock:
            try:
                return self._handle(req)
            except ApiError as err:
                return self.error_response(err.status, err.message)

    def _handle(self, req: SimRequest) -> SimResponse:
        parts = [p for p in req.path.split("/") if p]
        if not parts or parts[0] != "v1":
            raise ApiError(404, "The requested resource could not be found.")
        if req.method != "GET":
            raise ApiError(405, f"{req.method} is not supported by this simulator.")
        if req.headers.get("authorization", "") != f"Bearer {self.access_token}":
            raise ApiError(401, AUTH_MESSAGE)
        org = req.param("orgId")
        if org is not None and org != self.org_id:
            raise ApiError(403, "Target organization is not accessible with this access token.")
        route = parts[1:]
        if route == ["telephony", "config", "numbers"]:
            return self._numbers(req)
        if route == ["telephony", "config", "locations"]:
            return self._page(req, "locations", [self._calling_location(loc) for loc in self.calling_locations])
        if route == ["locations"]:
            return self._page(req, "items", [self._plain_location(loc) for loc in self.locations], default_max=100)
        if len(route) == 6 and route[:3] == ["telephony", "config", "locations"] \
                and route[4:] == ["externalCallerId", "availableNumbers"]:
            return self._available(req, route[3])
        raise ApiError(404, "The requested resource could not be found.")

    def _tracking(self) -> dict[str, str]:
        return {"TrackingID": f"ROUTER_{str(uuid.uuid4()).upper()}"}

    # -- listings -----------------------------------------------------------------------------------
    def _render_number(self, row: dict) -> dict:
        out = {k: row[k] for k in NUMBER_KEYS if k in row}
        loc_id = row["location"]["id"]
        name = next((loc["name"] for loc in self.locations if loc["id"] == loc_id), row["location"]["name"])
        out["location"] = {"id": loc_id, "name": name}
        if "owner" in out:
            out["owner"] = dict(out["owner"])
        return out

    def _numbers(self, req: SimRequest) -> SimResponse:
        rows = [self._render_number(row) for row in self.numbers]
        if wanted := req.param("phoneNumber"):  # digits anywhere in the number; none match nothing
            digits = re.sub(r"\D", "", wanted)
            rows = [r for r in rows if digits and digits in re.sub(r"\D", "", r.get("phoneNumber") or "")]
        return self._page(req, "phoneNumbers", rows)

    def _calling_location(self, loc: dict) -> dict:
        calling = loc["calling"]
        clid = {k: v for k, v in calling["callingLineId"].items()}
        return {"id": loc["id"], "name": loc["name"], "routingPrefix": calling["routingPrefix"],
                "outsideDialDigit": calling["outsideDialDigit"], "callingLineId": clid,
                "e911SetupRequired": calling["e911SetupRequired"],
                "enforceOutsideDialDigit": calling["enforceOutsideDialDigit"]}

    def _plain_location(self, loc: dict) -> dict:
        return {k: (dict(v) if isinstance(v, dict) else v) for k, v in loc.items() if k != "calling"}

    def _available(self, req: SimRequest, location_id: str) -> SimResponse:
        try:
            loc = self._loc(location_id)
        except KeyError:
            raise ApiError(404, "Location not found.") from None
        if not loc.get("calling"):
            raise ApiError(404, "Location is not enabled for Webex Calling.")
        country = loc["address"]["country"]
        countries = {l["id"]: l["address"]["country"] for l in self.locations}
        rows = [r for r in self.numbers if r.get("phoneNumber") and r["includedTelephonyTypes"] != "MOBILE_NUMBER"
                and countries.get(r["location"]["id"]) == country]
        items = []
        for row in rows:
            full = self._render_number(row)
            item = {"phoneNumber": full["phoneNumber"]}
            if "extension" in full:
                item["extension"] = full["extension"]
            item.update({"state": full["state"], "isMainNumber": full["mainNumber"],
                         "tollFreeNumber": full["tollFreeNumber"], "isServiceNumber": full["isServiceNumber"],
                         "location": full["location"]})
            if "owner" in full:
                item["owner"] = full["owner"]
            items.append(item)
        return self._page(req, "phoneNumbers", items)

    def _page(self, req: SimRequest, key: str, items: list[dict], *, default_max: int = DEFAULT_MAX) -> SimResponse:
        size, start = self._int(req, "max", default_max), self._int(req, "start", 0)
        if size < 1:
            raise ApiError(400, "max must be greater than 0.")
        size = min(size, DEFAULT_MAX)
        for fault in list(self._timeouts):
            if size > fault.status and fault.matches(req, start // size + 1):
                if fault.times is not None:
                    fault.times -= 1
                raise ApiError(504, "Gateway timeout: the upstream service did not answer in time.")
        chunk = items[start:start + size]
        headers = self._tracking()
        more = start + size < len(items)
        if more or self.repeat_next_link:
            host = FOREIGN_HOST if self.foreign_next_link else (req.headers.get("host") or f"127.0.0.1:{self.port}")
            next_start = size if self.repeat_next_link else start + size
            query = [(k, v) for k, v in req.query if k not in ("start", "max")] + [("max", str(size)),
                                                                                   ("start", str(next_start))]
            if more or self.repeat_next_link and chunk:
                headers["Link"] = f'<http://{host}{req.path}?{urlencode(query)}>; rel="next"'
        body = {key: chunk}
        return SimResponse(200, json.dumps(body).encode(), {"Content-Type": "application/json", **headers},
                           page=start // size + 1)

    def _int(self, req: SimRequest, name: str, default: int) -> int:
        raw = req.param(name)
        if raw is None or raw == "":
            return default
        if not re.fullmatch(r"\d+", raw):
            raise ApiError(400, f"Invalid value '{raw}' for parameter {name}.")
        return int(raw)


def from_secrets(secrets: dict, *, numbers: int, seed: int, **kw: Any) -> WebexSimulator:
    """The registry's factory: a simulator that accepts these account secrets."""
    return WebexSimulator(access_token=secrets["access_token"], numbers=numbers, seed=seed, **kw)
