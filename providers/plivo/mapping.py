"""Plivo REST API v1 items -> adapter records. Pure functions, no I/O.

Wire facts (providers/WIRE.md section 5, fixtures in tests/fixtures/plivo):

* Account numbers (``GET /Account/{id}/Number/``): ``number`` (digits, no "+"), ``number_type``
  (local / fixed / mobile / national / tollfree), ``monthly_rental_rate`` ("0.80000"),
  ``voice_enabled`` / ``sms_enabled`` / ``mms_enabled``, ``active`` (may be absent),
  ``added_on`` / ``renewal_date`` (``YYYY-MM-DD``), ``alias`` (null or text), ``application``
  (a resource URI ``/v1/Account/{id}/Application/{app_id}/`` or null), ``region``
  ("California, UNITED STATES"), ``city`` (sometimes just "USA"), ``country`` (a name).
* Number-pool numbers (``GET /Account/{id}/NumberPool/{uuid}/Number/``): ``number``,
  ``country_iso2``, ``type`` (fixed / mobile / toll-free), ``service`` (sms / mms), ``added_on``
  (ISO 8601 with microseconds and "Z"), ``number_pool_uuid`` (``numberpool_uuid`` on single GETs).
* Pool toll-free and short-code lists (``…/NumberPool/{uuid}/Tollfree/``, ``…/Shortcode/``,
  same paging): ``tollfree`` / ``shortcode`` instead of ``number``, ``added_on``,
  ``country_iso2``, ``number_pool_uuid`` (plivo-python fixtures powerpackListTollfreeResponse.json,
  powerpackListShortcodeResponse.json); no ``type`` or ``service``.
* Powerpacks: ``uuid``, ``name``, ``number_pool`` = ``/v1/Account/{id}/NumberPool/{pool_uuid}/``.
"""

from __future__ import annotations

from typing import Any, Iterable

from ..base import (
    parse_decimal,
    KIND_LOCAL,
    KIND_MOBILE,
    KIND_NATIONAL,
    KIND_TOLL_FREE,
    KIND_UNKNOWN,
    STATUS_ACTIVE,
    STATUS_INACTIVE,
    Inventory,
    LocationRecord,
    NumberGroupRecord,
    NumberRecord,
    PoolMembershipRecord,
    country_of,
    to_e164,
)
from ..values import TRUE_WORDS, iso_datetime, strict_text, truthy

# Plivo bills every account in US dollars: rental rates carry no currency field because there is
# only one (plivo.com/pricing quotes USD; the account balance is USD).
CURRENCY = "USD"
POOL_GROUP_TYPE = "number_pool"
# The pool's lists: path segment below NumberPool/{uuid}/ -> the item key holding the number.
POOL_LISTS = {"Number": "number", "Tollfree": "tollfree", "Shortcode": "shortcode"}

KINDS = {
    "fixed": KIND_LOCAL,
    "local": KIND_LOCAL,
    "mobile": KIND_MOBILE,
    "tollfree": KIND_TOLL_FREE,
    "national": KIND_NATIONAL,
}
# City values that name a country rather than a city ("city": "USA" in the SDK fixtures).
COUNTRYISH_CITIES = {"USA", "US", "UK", "GB", "GBR", "CAN", "DEU", "FRA", "AUS"}


def kind_for(value: Any) -> str:
    """Plivo ``number_type`` / pool ``type`` -> canonical kind ("toll-free" == "tollfree")."""
    if not isinstance(value, str):
        return KIND_UNKNOWN
    key = "".join(ch for ch in value.lower() if ch.isalnum())
    return KINDS.get(key, KIND_UNKNOWN)


def truthy_or_enabled(value: Any) -> bool | None:
    """A capability or state flag: booleans as sent, text "enabled" also counts as true."""
    return truthy(value, TRUE_WORDS + ("enabled",))


def last_segment(uri: Any) -> str:
    """``/v1/Account/X/Application/123/`` -> ``123``."""
    parts = [p for p in strict_text(uri).split("/") if p]
    return parts[-1] if parts else ""


def application_of(value: Any) -> str:
    if isinstance(value, dict):  # defensive: an expanded application object
        return strict_text(value.get("app_name")) or strict_text(value.get("name")) or last_segment(
            value.get("resource_uri")) or strict_text(str(value.get("app_id") or ""))
    return last_segment(value)


def pool_uuid_of(number_pool: Any) -> str:
    """Pool uuid = the path segment after ``NumberPool`` (the SDK takes ``split('/')[5]``)."""
    parts = [p for p in strict_text(number_pool).split("/") if p]
    for i, part in enumerate(parts[:-1]):
        if part == "NumberPool":
            return parts[i + 1]
    return ""


def _region_name(region: str, country_name: str) -> str:
    """"California, UNITED STATES" -> "California" (the trailing country is redundant)."""
    head, sep, tail = region.rpartition(",")
    if sep and head.strip() and (not country_name or tail.strip().upper() == country_name.upper()):
        return head.strip()
    return region


def location_for(item: dict, country: str) -> LocationRecord | None:
    country_name = strict_text(item.get("country"))
    region = _region_name(strict_text(item.get("region")), country_name)
    city = strict_text(item.get("city"))
    if city.upper() in COUNTRYISH_CITIES | {country_name.upper(), country.upper()}:
        city = ""
    if region.upper() in {country_name.upper(), country.upper()}:
        region = ""
    if city:
        return LocationRecord(
            external_id=f"city:{country}:{city}", name=city, kind="city", country_code=country,
            country_name=country_name, region=region, city=city,
            raw={k: item.get(k) for k in ("city", "region", "country")},
        )
    if region:
        return LocationRecord(
            external_id=f"region:{country}:{region}", name=region, kind="region", country_code=country,
            country_name=country_name, region=region,
            raw={k: item.get(k) for k in ("city", "region", "country")},
        )
    return None


def _country(item: dict, e164: str) -> str:
    iso2 = strict_text(item.get("country_iso2")).upper()
    if len(iso2) == 2 and iso2.isalpha():
        return iso2
    return country_of(e164)  # account numbers carry a country *name* ("United States")


def pool_item_number(item: dict) -> str:
    """The number of a pool-list item: ``number``, ``tollfree`` or ``shortcode``."""
    for key in ("number", "tollfree", "shortcode"):
        value = item.get(key)
        if value not in (None, ""):
            return str(value)
    return ""


def pool_member_type(item: dict) -> str:
    """Which pool list an item came from: number / tollfree / shortcode."""
    for key in ("tollfree", "shortcode"):
        if item.get(key) not in (None, ""):
            return key
    return "number"


def pool_memberships(pool_items: Iterable[dict]) -> tuple[PoolMembershipRecord, ...]:
    found: dict[str, PoolMembershipRecord] = {}
    for p in pool_items:
        uuid = strict_text(p.get("number_pool_uuid") or p.get("numberpool_uuid"))
        if uuid and uuid not in found:
            found[uuid] = PoolMembershipRecord(
                pool_id=uuid, added_on=iso_datetime(p.get("added_on")),
                service=strict_text(p.get("service")).lower(), member_type=pool_member_type(p))
    return tuple(found.values())


def _pool_kind(item: dict) -> str:
    member = pool_member_type(item)
    if member == "tollfree":
        return KIND_TOLL_FREE
    return kind_for(item.get("type"))


def _pool_capabilities(pool_items: Iterable[dict]) -> tuple[bool | None, bool | None]:
    services = {strict_text(p.get("service")).lower() for p in pool_items}
    return (True if "sms" in services else None), (True if "mms" in services else None)


def map_number(item: dict | None, pool_items: list[dict] = ()) -> tuple[NumberRecord, LocationRecord | None]:
    """One record per number: the account-number item when there is one, else what the pool(s)
    say. ``pool_items`` are this number's entries in number pools."""
    pool_items = list(pool_items)
    source = item if item is not None else (pool_items[0] if pool_items else {})
    if item is not None:
        number = source.get("number")
        number = "" if number is None else str(number)
    else:
        number = pool_item_number(source)
    iso2_hint = next((strict_text(p.get("country_iso2")).upper() for p in pool_items if p.get("country_iso2")), "")
    e164 = to_e164(number, strict_text(source.get("country_iso2")).upper() or iso2_hint or None)
    country = _country(source, e164) or iso2_hint
    pool_ids = tuple(dict.fromkeys(
        str(p.get("number_pool_uuid") or p.get("numberpool_uuid")) for p in pool_items
        if p.get("number_pool_uuid") or p.get("numberpool_uuid")))
    memberships = pool_memberships(pool_items)
    if item is None:  # only in a pool: no rental, status or voice data
        sms, mms = _pool_capabilities(pool_items)
        record = NumberRecord(
            external_id=number, number=number, e164=e164, country_code=country,
            kind=_pool_kind(source), status=STATUS_ACTIVE, raw_status="",
            sms=sms, mms=mms, acquired_at=iso_datetime(source.get("added_on")),
            pool_ids=pool_ids, pool_memberships=memberships, raw={"pool_numbers": pool_items},
        )
        return record, None
    active = truthy_or_enabled(item.get("active"))
    location = location_for(item, country)
    raw = dict(item)
    if pool_items:
        raw["pool_numbers"] = pool_items
    record = NumberRecord(
        external_id=number,
        number=number,
        e164=e164,
        country_code=country,
        kind=kind_for(item.get("number_type") or item.get("type")),
        status=STATUS_INACTIVE if active is False else STATUS_ACTIVE,
        raw_status="" if active is None else ("active" if active else "inactive"),
        description=strict_text(item.get("alias")),
        voice=truthy_or_enabled(item.get("voice_enabled")),
        sms=truthy_or_enabled(item.get("sms_enabled")),
        mms=truthy_or_enabled(item.get("mms_enabled")),
        monthly_cost=parse_decimal(item.get("monthly_rental_rate")),
        currency=CURRENCY,
        acquired_at=iso_datetime(item.get("added_on")),
        expires_at=iso_datetime(item.get("renewal_date")),
        location_id=location.external_id if location else None,
        application=application_of(item.get("application")),
        pool_ids=pool_ids,
        pool_memberships=memberships,
        raw=raw,
    )
    return record, location


def map_pool(powerpack: dict, pool_items: Iterable[dict] = ()) -> NumberGroupRecord | None:
    uuid = pool_uuid_of(powerpack.get("number_pool"))
    if not uuid:
        return None
    services = tuple(dict.fromkeys(
        s for s in (strict_text(p.get("service")).lower() for p in pool_items) if s))
    return NumberGroupRecord(
        external_id=uuid,
        name=strict_text(powerpack.get("name")) or uuid,
        group_type=POOL_GROUP_TYPE,
        features=tuple(sorted(services)),
        raw=powerpack,
    )


def build_inventory(numbers: Iterable[dict], powerpacks: Iterable[dict],
                    pool_numbers: dict[str, list[dict]]) -> Inventory:
    """``pool_numbers`` maps pool uuid -> that pool's number items."""
    inventory = Inventory()
    by_number: dict[str, list[dict]] = {}
    for uuid, items in pool_numbers.items():
        for p in items:
            by_number.setdefault(pool_item_number(p), []).append({**p, "number_pool_uuid": p.get(
                "number_pool_uuid") or p.get("numberpool_uuid") or uuid})
    locations: dict[str, LocationRecord] = {}
    seen: set[str] = set()
    for item in numbers:
        key = str(item.get("number"))
        seen.add(key)
        record, location = map_number(item, by_number.get(key, []))
        inventory.numbers.append(record)
        if location is not None:
            locations.setdefault(location.external_id, location)
    for key, items in by_number.items():
        if key not in seen:
            inventory.numbers.append(map_number(None, items)[0])
    inventory.locations = list(locations.values())
    groups: dict[str, NumberGroupRecord] = {}
    for pp in powerpacks:
        group = map_pool(pp, pool_numbers.get(pool_uuid_of(pp.get("number_pool")), []))
        if group is not None:
            groups.setdefault(group.external_id, group)
    inventory.groups = list(groups.values())
    return inventory


def error_summary(doc: Any) -> str:
    """``{"api_id", "error": "<text>"}``, nested ``error: {error, message}``, or the lookup
    service's ``{"error_code", "message"}`` -> one line."""
    if not isinstance(doc, dict):
        return ""
    err = doc.get("error")
    if isinstance(err, dict):
        parts = [str(err[k]) for k in ("message", "error") if err.get(k)]
        return ": ".join(dict.fromkeys(parts))
    if err not in (None, ""):
        return str(err)
    if doc.get("message"):
        code = doc.get("error_code")
        return f"{code}: {doc['message']}" if code else str(doc["message"])
    return ""
