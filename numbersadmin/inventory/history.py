"""A number's, owner's or location's lifecycle as people read it (a selector): history rows store
machine values (ids, codes, ISO times, so "as of" views can replay them); this turns them into
names and labels, and merges in the first sighting and, for numbers, local edits (notes, tags)
from the audit log.

"trunk_id 19 -> 20" becomes "Trunk: Old SIP trunk -> New SIP trunk" (names looked up in one query
per related model, removed objects included; an id that no longer exists reads "#19 (deleted)").
Pool memberships are stored as comma-joined NumberGroup ids ("3,7") and read as a list of names."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import formats, timezone

from .choices import ChangeKind, NumberKind, NumberStatus, key_label
from .countries import country_name
from .models import AuditLog, Location, NumberChange, NumberGroup, Owner, PhoneNumber, Trunk, TrunkGroup, owner_type_label

# Fields holding ids of other rows: one id, or a comma-joined set of them ("pools").
RELATED = {"trunk_id": Trunk, "trunk_group_id": TrunkGroup, "location_id": Location, "owner_id": Owner,
           "number_group_id": NumberGroup, "pools": NumberGroup}
CHOICES = {"status": NumberStatus, "kind": NumberKind}
DATETIMES = {"acquired_at", "expires_at"}
BOOLEANS = {"voice", "sms", "mms", "is_main_number", "is_service_number", "will_renew", "emergency_enabled", "active"}
LABELS = {
    "number_raw": "Number as sent", "e164": "Number", "raw_status": "Provider status", "monthly_cost": "Monthly cost",
    "acquired_at": "Acquired", "expires_at": "Renews", "trunk_id": "Trunk", "trunk_group_id": "Trunk group",
    "location_id": "Location", "owner_id": "Owner", "number_group_id": "DID group", "voice": "Voice", "sms": "SMS",
    "mms": "MMS", "is_main_number": "Main number", "is_service_number": "Service number", "sms_enabled": "SMS",
    "will_renew": "Will renew", "billing_cycles_count": "Billing cycles left", "emergency_enabled": "Emergency calling",
    "capacity_limit": "Capacity limit", "channels_included_count": "Channels included",
    "dedicated_channels_count": "Dedicated channels", "pools": "Pools", "owner_type": "Type",
    "country_code": "Country", "verified_until": "Verified until", "active": "Active",
    "code_entering_attempts_left": "Code attempts left", "verification_call_attempts_left": "Call attempts left",
}
EVENT_TEXT = {ChangeKind.ADDED: "Added by a sync", ChangeKind.REMOVED: "Removed: gone from the provider's listing",
              ChangeKind.RESTORED: "Restored: listed again after removal",
              ChangeKind.MISSING: "Missing from the provider's listing", ChangeKind.FOUND: "Listed again"}


@dataclass
class Entry:
    at: dt.datetime
    event: str  # "Changed", "Removed", "Note", ...
    field: str = ""  # a label people read
    old: str = ""
    new: str = ""
    text: str = ""  # one line for events without a field
    run: object = None  # SyncRun
    by: str = ""  # who, for local edits


def field_label(name: str) -> str:
    if name in LABELS:
        return LABELS[name]
    try:
        return str(PhoneNumber._meta.get_field(name).verbose_name).capitalize()
    except Exception:  # a field recorded by an older version
        return name.replace("_", " ").capitalize()


def _ids(value: str) -> list[str]:
    return [v for v in (value or "").split(",") if v]


def related_names(changes) -> dict[str, dict[str, str]]:
    """{field: {id: name}} for every related id the changes mention, one query per model."""
    wanted: dict[str, set[int]] = {}
    for c in changes:
        if c.field in RELATED:
            for v in (*_ids(c.old_value), *_ids(c.new_value)):
                if v.isdigit():
                    wanted.setdefault(c.field, set()).add(int(v))
    return {f: {str(o.pk): str(o) for o in RELATED[f].objects.filter(pk__in=ids)} for f, ids in wanted.items()}


def readable(field: str, value: str, names: dict) -> str:
    if value in ("", None):
        return "—"
    if field in RELATED:
        return ", ".join(names.get(field, {}).get(v) or f"#{v} (deleted)" for v in _ids(value))
    if field in CHOICES:
        try:
            return str(CHOICES[field](value).label)
        except ValueError:  # a code outside our vocabulary (a location's "site"/"city" kind)
            return key_label(value)
    if field == "owner_type":
        return owner_type_label(value)
    if field in BOOLEANS:
        return {"True": "Yes", "False": "No"}.get(value, value)
    if field in DATETIMES:
        try:
            return formats.date_format(timezone.localtime(dt.datetime.fromisoformat(value)), "DATETIME_FORMAT")
        except ValueError:
            return value
    if field in ("country", "country_code"):
        name = country_name(value)
        return f"{name} ({value})" if name and name != value else value
    return value


def _local_edits(number: PhoneNumber, limit: int) -> list[Entry]:
    """Notes and tags edited on this number's page (the audit log). Bulk edits are one audit row for
    up to every matching number and name none of them, so they are not on a number's timeline."""
    out = []
    for row in AuditLog.objects.filter(action__in=("number.note", "number.tags"), detail__number_id=number.pk)[:limit]:
        d = row.detail or {}
        if row.action == "number.note":
            text = "Note cleared" if d.get("change") == "cleared" else "Note written"
            out.append(Entry(row.at, "Note", text=text, by=row.username))
        else:
            parts = [f"added {', '.join(d['added'])}" if d.get("added") else "",
                     f"removed {', '.join(d['removed'])}" if d.get("removed") else ""]
            out.append(Entry(row.at, "Tags", text="Tags " + "; ".join(p for p in parts if p), by=row.username))
    return out


def _change_entries(changes: list) -> list[Entry]:
    names = related_names(changes)
    entries = []
    for c in changes:
        if c.kind == ChangeKind.CHANGED:
            entries.append(Entry(c.at, "Changed", field_label(c.field), readable(c.field, c.old_value, names),
                                 readable(c.field, c.new_value, names), run=c.run))
        else:
            entries.append(Entry(c.at, c.get_kind_display(), text=EVENT_TEXT.get(c.kind, c.get_kind_display()), run=c.run))
    return entries


def timeline(obj, limit: int = 200, *, extra=()) -> list[Entry]:
    """Newest first: the provider changes of ``obj`` (a number, owner or location: its
    ``changes``), readable, plus ``extra`` entries and the first sighting (unless an ADDED
    event already says it)."""
    changes = list(obj.changes.select_related("run")[:limit])
    entries = _change_entries(changes) + list(extra)
    if not any(c.kind == ChangeKind.ADDED for c in changes):
        entries.append(Entry(obj.first_seen, "First seen", text="First seen in the provider's listing"))
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries[:limit]


def number_timeline(number: PhoneNumber, limit: int = 200) -> list[Entry]:
    """A number's timeline with its local edits (notes, tags)."""
    return timeline(number, limit, extra=_local_edits(number, limit))


def readable_change(change: NumberChange, names: dict | None = None) -> dict:
    """One change for the API: the stored values and how they read."""
    names = names if names is not None else related_names([change])
    return {"field_label": field_label(change.field) if change.field else "",
            "old_display": readable(change.field, change.old_value, names) if change.field else "",
            "new_display": readable(change.field, change.new_value, names) if change.field else ""}
