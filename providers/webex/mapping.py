"""Webex Calling wire items -> adapter records. Pure functions, no I/O.

Wire facts (providers/WIRE.md section 3, fixtures in tests/fixtures/webex):

* ``/telephony/config/numbers`` items: ``phoneNumber`` (+E.164; ``""`` or absent on
  extension-only rows), ``extension``, ``state`` (ACTIVE/INACTIVE), ``phoneNumberType``
  (PRIMARY/ALTERNATE/FAX/DNIS...), ``mainNumber``, ``includedTelephonyTypes``
  (PSTN_NUMBER/MOBILE_NUMBER), ``tollFreeNumber``, ``isServiceNumber``, ``location{id,name}``,
  ``owner{id,type,firstName?,lastName?,displayName?}``.
* ``.../externalCallerId/availableNumbers`` items name the main-number flag ``isMainNumber``
  (not ``mainNumber``); both spellings are accepted everywhere.
* Owner types drift (docs, filter enum and SDK disagree): kept as raw text.
* ``/telephony/config/locations`` items carry ``callingLineId.phoneNumber`` (the main number,
  may be null) but no address; ``/locations`` items carry ``address{city,state,country}``.
"""

from __future__ import annotations

from typing import Any, Iterable

from ..base import (
    KIND_LOCAL,
    KIND_MOBILE,
    KIND_TOLL_FREE,
    STATUS_ACTIVE,
    STATUS_INACTIVE,
    CallerIdRecord,
    Inventory,
    LocationRecord,
    NumberRecord,
    OwnerRecord,
    country_of,
    to_e164,
)
from ..values import flag, text

STATES = {"ACTIVE": STATUS_ACTIVE, "INACTIVE": STATUS_INACTIVE}


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def first_flag(item: dict, *names: str) -> bool | None:
    """The first ``flag`` under any of ``names`` (providers drift between spellings)."""
    for name in names:
        value = flag(item.get(name))
        if value is not None:
            return value
    return None


def _id_of(obj: Any) -> str | None:
    value = text(_dict(obj).get("id"))
    return value or None


# -- errors ------------------------------------------------------------------------------------
def error_summary(body: Any) -> str:
    """``message`` plus any different ``errors[].description`` of a Webex error body."""
    if not isinstance(body, dict):
        return ""
    parts: list[str] = []
    message = text(body.get("message"))
    if message:
        parts.append(message)
    errors = body.get("errors")
    for err in errors if isinstance(errors, list) else ():
        desc = text(_dict(err).get("description"))
        if desc and desc not in parts:
            parts.append(desc)
    return "; ".join(parts)


def tracking_id(body: Any, headers: dict[str, str] | None = None) -> str:
    """Webex's request id for support: body ``trackingId``, else the ``trackingid`` header."""
    value = text(_dict(body).get("trackingId"))
    if not value and headers:
        value = text(headers.get("trackingid"))
    return value[:200]


# -- records -----------------------------------------------------------------------------------
def owner_name(owner: dict) -> str:
    display = text(owner.get("displayName"))
    if display:
        return display
    full = " ".join(p for p in (text(owner.get("firstName")), text(owner.get("lastName"))) if p)
    return full or text(owner.get("id"))


def map_owner(owner: Any, location_id: str | None = None) -> OwnerRecord | None:
    owner = _dict(owner)
    owner_id = _id_of(owner)
    if owner_id is None:
        return None
    return OwnerRecord(
        external_id=owner_id,
        name=owner_name(owner),
        owner_type=text(owner.get("type")),
        first_name=text(owner.get("firstName")),
        last_name=text(owner.get("lastName")),
        location_id=location_id,
        raw=owner,
    )


def kind_of(item: dict) -> str:
    if first_flag(item, "tollFreeNumber"):
        return KIND_TOLL_FREE
    types = item.get("includedTelephonyTypes", item.get("telephonyType"))
    types = types if isinstance(types, list) else [types]
    if any(text(t).upper() == "MOBILE_NUMBER" for t in types):
        return KIND_MOBILE
    return KIND_LOCAL


def status_of(state: Any) -> str:
    """ACTIVE -> active; INACTIVE and anything unknown -> inactive (raw state kept)."""
    return STATES.get(text(state).upper(), STATUS_INACTIVE)


def map_number(item: Any) -> NumberRecord | None:
    """One numbers-table row; ``None`` for extension-only rows (no ``phoneNumber``)."""
    item = _dict(item)
    number = text(item.get("phoneNumber"))
    if not number:
        return None
    e164 = to_e164(number)
    state = text(item.get("state"))
    return NumberRecord(
        external_id=number,
        number=number,
        e164=e164,
        country_code=country_of(e164),
        kind=kind_of(item),
        status=status_of(state),
        raw_status=state,
        description=text(item.get("phoneNumberType")),
        voice=True,
        location_id=_id_of(item.get("location")),
        owner_id=_id_of(item.get("owner")),
        extension=text(item.get("extension")),
        is_main_number=first_flag(item, "mainNumber", "isMainNumber"),
        is_service_number=first_flag(item, "isServiceNumber"),
        raw=item,
    )


def map_caller_id(location_id: str, item: Any) -> CallerIdRecord | None:
    """One external-caller-ID candidate of ``location_id`` (may live in another location)."""
    item = _dict(item)
    number = text(item.get("phoneNumber"))
    if not number:
        return None
    return CallerIdRecord(
        external_id=f"{location_id}:{number}",
        number=number,
        e164=to_e164(number),
        active=text(item.get("state")).upper() == "ACTIVE",
        kind="location_candidate",
        # The number's own location (a candidate may live in another location than the one
        # queried); the queried one when the item names none.
        location_id=_id_of(item.get("location")) or location_id,
        listed_for_location_id=location_id,
        owner_id=_id_of(item.get("owner")),
        is_main_number=first_flag(item, "isMainNumber", "mainNumber"),
        toll_free_number=first_flag(item, "tollFreeNumber"),
        is_service_number=first_flag(item, "isServiceNumber"),
        raw=item,
    )


def map_location(item: Any, address_item: Any = None, main_number: str = "") -> LocationRecord | None:
    """A calling location (``/telephony/config/locations``) merged with its ``/locations`` copy."""
    item, other = _dict(item), _dict(address_item)
    location_id = _id_of(item) or _id_of(other)
    if location_id is None:
        return None
    address = _dict(item.get("address")) or _dict(other.get("address"))
    clid = to_e164(text(_dict(item.get("callingLineId")).get("phoneNumber")))
    country = text(address.get("country")).upper()
    return LocationRecord(
        external_id=location_id,
        name=text(item.get("name")) or text(other.get("name")) or location_id,
        kind="site",
        country_code=country if len(country) == 2 and country.isalpha() else "",
        region=text(address.get("state")),
        city=text(address.get("city")),
        main_number=clid or main_number,
        raw={**other, **item} if other else item,
    )


def build_inventory(
    numbers: Iterable[dict],
    calling_locations: Iterable[dict] = (),
    locations: Iterable[dict] = (),
    caller_ids: Iterable[tuple[str, dict]] = (),
) -> Inventory:
    """Records from raw listings. Owners and locations are de-duplicated by id (first copy
    wins); a location only referenced by a number still gets a record (name from the number)."""
    inv = Inventory()
    owners: dict[str, OwnerRecord] = {}
    referenced: dict[str, dict] = {}  # location id -> the {id,name} a row carried
    mains: dict[str, str] = {}  # location id -> E.164 of the row flagged as main number

    def add_owner(item: dict) -> None:
        loc_id = _id_of(item.get("location"))
        owner = map_owner(item.get("owner"), loc_id)
        if owner is not None and owner.external_id not in owners:
            owners[owner.external_id] = owner
        if loc_id is not None:
            referenced.setdefault(loc_id, _dict(item.get("location")))

    for item in numbers:
        add_owner(_dict(item))
        record = map_number(item)
        if record is None:
            continue  # extension-only row: its owner (above) is kept, there is no number
        inv.numbers.append(record)
        if record.is_main_number and record.location_id and record.e164:
            mains.setdefault(record.location_id, record.e164)

    ids: set[str] = set()
    for location_id, item in caller_ids:
        record = map_caller_id(location_id, item)
        if record is not None and record.external_id not in ids:
            ids.add(record.external_id)
            inv.caller_ids.append(record)
        add_owner(_dict(item))  # candidates can name owners the numbers table already had

    by_id = {}
    for item in locations:
        loc_id = _id_of(item)
        if loc_id is not None:
            by_id.setdefault(loc_id, item)
    seen: set[str] = set()
    for item in calling_locations:
        loc_id = _id_of(item)
        if loc_id is None or loc_id in seen:
            continue
        record = map_location(item, by_id.get(loc_id), mains.get(loc_id, ""))
        if record is not None:
            seen.add(loc_id)
            inv.locations.append(record)
    for loc_id, ref in referenced.items():
        if loc_id not in seen:
            record = map_location(ref, by_id.get(loc_id), mains.get(loc_id, ""))
            if record is not None:
                seen.add(loc_id)
                inv.locations.append(record)

    inv.owners = list(owners.values())
    return inv
