"""Voximplant Management API items -> adapter records. Pure functions, no I/O.

Wire facts (providers/WIRE.md section 1): GetCallerIDs items are CallerIDInfoType
(``callerid_id``, ``callerid_number``, ``active``, optional attempts left and ``verified_until``
as ``YYYY-MM-DD``); GetPhoneNumbers items are AttachedPhoneInfoType (``phone_id``,
``phone_number`` digits without "+", ``phone_price``, ``phone_country_code``,
``phone_next_renewal`` ``YYYY-MM-DD``, ``phone_purchase_date`` ``YYYY-MM-DD HH:MM:SS`` UTC,
``deactivated``, ``canceled``, ``application_name``, ``category_name``, ``phone_region_name``,
``is_sms_enabled``...). Optional fields are simply absent when unset.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Iterable

from ..base import (
    parse_decimal,
    KIND_LOCAL,
    KIND_MOBILE,
    KIND_NATIONAL,
    KIND_TOLL_FREE,
    KIND_UNKNOWN,
    STATUS_ACTIVE,
    STATUS_CANCELLING,
    STATUS_INACTIVE,
    CallerIdRecord,
    Inventory,
    LocationRecord,
    NumberRecord,
    country_of,
    to_e164,
)
from ..values import strict_text, truthy

UTC = dt.timezone.utc

KINDS_BY_CATEGORY = {
    "GEOGRAPHIC": KIND_LOCAL,
    "MOBILE": KIND_MOBILE,
    "TOLLFREE": KIND_TOLL_FREE,
    "NATIONAL": KIND_NATIONAL,
}


def kind_for(category: Any) -> str:
    """``category_name`` -> canonical kind; tolerant of case, spaces, "-" and "_" ("Toll-free")."""
    if not isinstance(category, str):
        return KIND_UNKNOWN
    key = "".join(ch for ch in category.upper() if ch.isalnum())
    return KINDS_BY_CATEGORY.get(key, KIND_UNKNOWN)


def status_for(item: dict) -> tuple[str, str]:
    """(canonical status, raw status). Canceled (subscription ends at renewal) beats deactivated."""
    flags = [name for name in ("deactivated", "canceled") if truthy(item.get(name))]
    raw = ",".join(flags) or "active"
    if "canceled" in flags:
        return STATUS_CANCELLING, raw
    if "deactivated" in flags:
        return STATUS_INACTIVE, raw
    return STATUS_ACTIVE, raw


def parse_date(value: Any) -> dt.date | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return dt.date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def parse_utc_datetime(value: Any) -> dt.datetime | None:
    """``YYYY-MM-DD HH:MM:SS`` in UTC (Voximplant's datetime format) -> aware datetime."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return dt.datetime.strptime(value.strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def date_to_datetime(value: Any) -> dt.datetime | None:
    day = parse_date(value)
    return dt.datetime(day.year, day.month, day.day, tzinfo=UTC) if day else None




def parse_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def map_caller_id(item: dict) -> CallerIdRecord:
    number = item.get("callerid_number")
    number = "" if number is None else str(number)
    active = item.get("active")
    return CallerIdRecord(
        external_id=str(item["callerid_id"]),
        number=number,
        e164=to_e164(number),
        active=truthy(active),
        verified_until=parse_date(item.get("verified_until")),
        code_entering_attempts_left=parse_int(item.get("code_entering_attempts_left")),
        verification_call_attempts_left=parse_int(item.get("verification_call_attempts_left")),
        raw=item,
    )


def region_location(item: dict, country: str) -> LocationRecord | None:
    region = strict_text(item.get("phone_region_name"))
    if not region:
        return None
    return LocationRecord(
        external_id=f"region:{country}:{region}",
        name=region,
        kind="region",
        country_code=country,
        region=region,
        raw={"phone_region_name": region, "phone_country_code": country},
    )


def map_number(item: dict) -> tuple[NumberRecord, LocationRecord | None]:
    number = item.get("phone_number")
    number = "" if number is None else str(number)
    declared = strict_text(item.get("phone_country_code")).upper()
    e164 = to_e164(number, declared or None)
    country = declared if len(declared) == 2 and declared.isalpha() else country_of(e164)
    status, raw_status = status_for(item)
    sms = item.get("is_sms_enabled")
    location = region_location(item, country)
    record = NumberRecord(
        external_id=str(item["phone_id"]),
        number=number,
        e164=e164,
        country_code=country,
        kind=kind_for(item.get("category_name")),
        status=status,
        raw_status=raw_status,
        description="",
        voice=True,
        sms=truthy(sms),
        monthly_cost=parse_decimal(item.get("phone_price")),
        currency="",  # the account's currency; not part of AttachedPhoneInfoType
        acquired_at=parse_utc_datetime(item.get("phone_purchase_date")),
        expires_at=date_to_datetime(item.get("phone_next_renewal")),
        location_id=location.external_id if location else None,
        application=strict_text(item.get("application_name")),
        will_renew=will_renew(item),
        raw=item,
    )
    return record, location


def will_renew(item: dict) -> bool | None:
    """False when canceled, deactivated or ``auto_charge`` is off (the subscription is not
    charged again); True when ``auto_charge`` is on and neither flag is set; None when the
    listing does not say (``auto_charge`` absent)."""
    if truthy(item.get("canceled")) or truthy(item.get("deactivated")):
        return False
    auto_charge = truthy(item.get("auto_charge"))
    return auto_charge


def build_inventory(numbers: Iterable[dict], caller_ids: Iterable[dict]) -> Inventory:
    inventory = Inventory()
    locations: dict[str, LocationRecord] = {}
    for item in numbers:
        record, location = map_number(item)
        inventory.numbers.append(record)
        if location is not None:
            locations.setdefault(location.external_id, location)
    inventory.locations = list(locations.values())
    inventory.caller_ids = [map_caller_id(item) for item in caller_ids]
    return inventory


def error_of(doc: Any) -> tuple[int | None, str] | None:
    """(code, msg) of an in-body error (``error: {code, msg}`` or ``errors: [...]``), else None."""
    if not isinstance(doc, dict):
        return None
    err = doc.get("error")
    if err is None:
        errors = doc.get("errors")
        if isinstance(errors, list) and errors:
            err = errors[0]
        elif errors:
            err = errors
        else:
            return None
    if isinstance(err, dict):
        code = parse_int(err.get("code"))
        msg = err.get("msg") if err.get("msg") is not None else err.get("message")
        return code, "" if msg is None else str(msg)
    return None, str(err)


def error_summary(doc: Any) -> str:
    found = error_of(doc)
    if found is None:
        return ""
    code, msg = found
    return f"Voximplant error {code}: {msg}" if code is not None else msg
