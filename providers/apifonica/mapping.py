"""Apifonica wire items -> adapter records. Pure functions, no I/O.

Wire facts (providers/WIRE.md section 4; seed 003 = the "Get List of Rented Numbers" doc):

* ``numbers[]`` items: ``number_sid``, ``account_sid``, ``number`` (E.164 digits, no ``+``),
  ``token`` (SIP only), ``name`` (text description; only in the English doc), ``country_code``
  (ISO 3166-1 alpha-2 or ``"international"``), ``country_name``, ``type`` (``local``, ``mobile``,
  ``toll_free``, ``sip``), ``call_controller``/``call_method``, ``msg_controller``/``msg_method``,
  ``call_app_sid``, ``msg_app_sid``, ``endpoint_sid``, ``created``/``updated`` (RFC 2822:
  ``Thu, 31 Mar 2016 11:16:59 +0300``), ``voice``/``messaging`` (bool), ``mode``.
* No status field is documented: every listed (rented) number is active.
* Controller URLs are customer webhooks: kept in ``raw`` only, never fetched.
* Error bodies are not documented; ``error_summary`` reads ``status_message`` (the shape of the
  documented write responses) or ``message``/``error`` when present, else nothing.
"""

from __future__ import annotations

import datetime as dt
import email.utils
from typing import Any, Iterable

from ..base import (
    KIND_LOCAL,
    KIND_MOBILE,
    KIND_SIP,
    KIND_TOLL_FREE,
    KIND_UNKNOWN,
    STATUS_ACTIVE,
    Inventory,
    NumberRecord,
    country_of,
    to_e164,
)
from ..values import flag, text

KINDS = {"local": KIND_LOCAL, "mobile": KIND_MOBILE, "toll_free": KIND_TOLL_FREE, "sip": KIND_SIP}
INTERNATIONAL = "international"


def rfc2822_datetime(value: Any) -> dt.datetime | None:
    """RFC 2822 date (``Thu, 31 Mar 2016 11:16:59 +0300``) -> aware datetime; None if unusable.
    A date without a zone (``-0000``) is taken as UTC."""
    stamp = text(value)
    if not stamp:
        return None
    try:
        when = email.utils.parsedate_to_datetime(stamp)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:  # pragma: no cover - older Pythons returned None instead of raising
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.timezone.utc)


def error_summary(body: Any) -> str:
    """Best-effort text of an (undocumented) error body: ``status_message``, ``message`` or
    ``error`` when one is a string; "" otherwise."""
    if not isinstance(body, dict):
        return ""
    for key in ("status_message", "message", "error"):
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def kind_of(type_: Any) -> str:
    return KINDS.get(text(type_).lower(), KIND_UNKNOWN)


def country_code_of(item: dict, e164: str) -> str:
    """ISO alpha-2 from ``country_code``; ``international`` (or anything else) -> from the number."""
    code = text(item.get("country_code"))
    if len(code) == 2 and code.isascii() and code.isalpha():
        return code.upper()
    return country_of(e164)


def application_of(item: dict) -> str:
    return text(item.get("call_app_sid")) or text(item.get("msg_app_sid"))


def map_number(item: Any) -> NumberRecord | None:
    """One ``numbers[]`` item; ``None`` when it has no ``number_sid`` (the caller decides)."""
    if not isinstance(item, dict):
        return None
    number_sid = text(item.get("number_sid"))
    if not number_sid:
        return None
    number = text(item.get("number"))
    code = text(item.get("country_code"))
    region = code.upper() if len(code) == 2 and code.isalpha() else None
    e164 = to_e164(number, region)
    return NumberRecord(
        external_id=number_sid,
        number=number,
        e164=e164,
        country_code=country_code_of(item, e164),
        kind=kind_of(item.get("type")),
        status=STATUS_ACTIVE,  # no status field documented: listed = rented = active
        raw_status="",
        description=text(item.get("name")),
        voice=flag(item.get("voice")),
        sms=flag(item.get("messaging")),
        mms=None,
        acquired_at=rfc2822_datetime(item.get("created")),
        application=application_of(item),
        raw=item,
    )


def build_inventory(items: Iterable[dict]) -> Inventory:
    inventory = Inventory()
    for item in items:
        record = map_number(item)
        if record is not None:
            inventory.numbers.append(record)
    return inventory
