"""DIDWW API v3 (JSON:API) resources -> adapter records. Pure functions, no I/O.

Wire facts (providers/WIRE.md §2): relationship ``data`` appears only when that
relationship was included (absent / null / linkage), ``included`` is flat and keyed by
(type, id), numbers are digits without "+", older API versions name relationships
``trunk`` / ``trunk_group`` instead of ``voice_in_trunk`` / ``voice_in_trunk_group``.
"""

from __future__ import annotations

from typing import Any, Iterable

from ..base import (
    KIND_LOCAL,
    KIND_MOBILE,
    KIND_NATIONAL,
    KIND_SHARED_COST,
    KIND_TOLL_FREE,
    KIND_UNKNOWN,
    STATUS_ACTIVE,
    STATUS_CANCELLING,
    STATUS_PENDING,
    STATUS_SUSPENDED,
    Inventory,
    LocationRecord,
    NumberGroupRecord,
    NumberRecord,
    TrunkGroupRecord,
    TrunkRecord,
    country_of,
    to_e164,
)
from ..values import flag, iso_datetime, text, verbatim_text

DIDS = "dids"
TRUNKS = "voice_in_trunks"
TRUNK_GROUPS = "voice_in_trunk_groups"
DID_GROUPS = "did_groups"

# Current name first, legacy (older API versions) second.
TRUNK_RELS = ("voice_in_trunk", "trunk")
TRUNK_GROUP_RELS = ("voice_in_trunk_group", "trunk_group")
GROUP_MEMBERS_RELS = ("voice_in_trunks", "trunks")

# Raw-status flags in display order; the first matching rule below decides the canonical status.
STATUS_FLAGS = ("blocked", "awaiting_registration", "pending_removal", "terminated")

KINDS_BY_TYPE = {
    "local": KIND_LOCAL,
    "national": KIND_NATIONAL,
    "mobile": KIND_MOBILE,
    "toll free": KIND_TOLL_FREE,
    "tollfree": KIND_TOLL_FREE,
    "shared cost": KIND_SHARED_COST,
}

ABSENT = object()  # relationship present without "data": not included, so unknown (not "none")


# -- JSON:API helpers --------------------------------------------------------------------------
def attrs(resource: dict | None) -> dict:
    value = (resource or {}).get("attributes")
    return value if isinstance(value, dict) else {}


def linkage(resource: dict | None, names: Iterable[str]) -> Any:
    """The relationship's ``data`` under the first name that carries one; ``ABSENT`` if none do."""
    rels = (resource or {}).get("relationships")
    if not isinstance(rels, dict):
        return ABSENT
    for name in names:
        rel = rels.get(name)
        if isinstance(rel, dict) and "data" in rel:
            return rel["data"]
    return ABSENT


def linked_id(resource: dict | None, *names: str) -> str | None:
    data = linkage(resource, names)
    if isinstance(data, dict) and data.get("id") not in (None, ""):
        return str(data["id"])
    return None


def primary_resources(doc: dict) -> list[dict]:
    """``data`` of a list or a show document as a list of resource objects."""
    data = doc.get("data")
    if isinstance(data, dict):
        return [data]
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []


def _merge(old: dict, new: dict) -> dict:
    """Combine two copies of one resource (e.g. a trunk included by /dids and listed by
    /voice_in_trunks): newer attributes win, and a relationship with linkage ``data`` beats one
    without (an include on one request must not be erased by a plain copy from another)."""
    merged = {**old, **new, "attributes": {**attrs(old), **attrs(new)}}
    old_rels, new_rels = old.get("relationships"), new.get("relationships")
    rels = dict(old_rels) if isinstance(old_rels, dict) else {}
    for name, rel in (new_rels.items() if isinstance(new_rels, dict) else ()):
        if not (isinstance(rels.get(name), dict) and "data" in rels[name]) or (
            isinstance(rel, dict) and "data" in rel
        ):
            rels[name] = rel
    merged["relationships"] = rels
    return merged


class ResourceStore:
    """Every resource seen (primary data and ``included``) across pages, keyed by (type, id)."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict] = {}

    def add(self, resource: Any) -> None:
        if not isinstance(resource, dict) or resource.get("id") in (None, "") or not resource.get("type"):
            return
        key = (str(resource["type"]), str(resource["id"]))
        self.items[key] = _merge(self.items[key], resource) if key in self.items else resource

    def add_document(self, doc: dict) -> None:
        for resource in primary_resources(doc):
            self.add(resource)
        for resource in doc.get("included") or ():
            self.add(resource)

    def get(self, type_: str, id_: str | None) -> dict | None:
        return self.items.get((type_, id_)) if id_ else None

    def linked(self, resource: dict | None, type_: str, *names: str) -> dict | None:
        return self.get(type_, linked_id(resource, *names))

    def of_type(self, type_: str) -> list[dict]:
        return [res for (t, _), res in self.items.items() if t == type_]


# -- value helpers -----------------------------------------------------------------------------
def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def kind_for(type_name: str) -> str:
    key = " ".join(type_name.lower().replace("-", " ").replace("_", " ").split())
    return KINDS_BY_TYPE.get(key, KIND_UNKNOWN)


def status_for(attributes: dict) -> tuple[str, str]:
    """(canonical status, raw_status): raw_status lists the true flags, "active" when none."""
    flags = [flag for flag in STATUS_FLAGS if attributes.get(flag) is True]
    if "terminated" in flags or "pending_removal" in flags:
        status = STATUS_CANCELLING
    elif "awaiting_registration" in flags:
        # DIDWW also sets blocked=true while registration is pending (API 2026-04-16), so the
        # pending check must come first or no number would ever show as pending.
        status = STATUS_PENDING
    elif "blocked" in flags:
        status = STATUS_SUSPENDED
    else:
        status = STATUS_ACTIVE
    return status, ",".join(flags) or "active"


# -- record mappers ----------------------------------------------------------------------------
def group_type_name(did_group: dict | None, store: ResourceStore) -> str:
    type_res = store.linked(did_group, "did_group_types", "did_group_type")
    if type_res is not None:
        return verbatim_text(attrs(type_res).get("name"))
    return verbatim_text(attrs(did_group).get("number_type"))  # 2026-11-19 moved the type to an attribute


def group_country(did_group: dict | None, store: ResourceStore) -> dict | None:
    country = store.linked(did_group, "countries", "country")
    if country is None:  # fall back to the city's / region's own country linkage
        for type_, name in (("cities", "city"), ("regions", "region")):
            country = store.linked(store.linked(did_group, type_, name), "countries", "country")
            if country is not None:
                break
    return country


def map_location(did_group: dict | None, store: ResourceStore) -> LocationRecord | None:
    """The most specific place a DID group names: its city, else its region, else its country."""
    if did_group is None:
        return None
    city = store.linked(did_group, "cities", "city")
    region = store.linked(did_group, "regions", "region") or store.linked(city, "regions", "region")
    country = group_country(did_group, store)
    candidates = ((city, "city"), (region, "region"), (country, "country"))
    place, kind = next(((res, k) for res, k in candidates if res is not None), (None, ""))
    if place is None:
        return None
    return LocationRecord(
        external_id=f"{kind}:{place['id']}",
        name=verbatim_text(attrs(place).get("name")),
        kind=kind,
        country_code=verbatim_text(attrs(country).get("iso")).upper(),
        country_name=verbatim_text(attrs(country).get("name")),
        region=verbatim_text(attrs(region).get("name")),
        city=verbatim_text(attrs(city).get("name")),
        raw=place,
    )


def map_did_group(did_group: dict, store: ResourceStore) -> NumberGroupRecord:
    a = attrs(did_group)
    features = a.get("features") if isinstance(a.get("features"), list) else []
    location = map_location(did_group, store)
    return NumberGroupRecord(
        external_id=str(did_group["id"]),
        name=verbatim_text(a.get("area_name")) or verbatim_text(a.get("prefix")),
        prefix=verbatim_text(a.get("prefix")),
        group_type=group_type_name(did_group, store),
        features=tuple(str(f) for f in features),
        location_id=location.external_id if location else None,
        raw=did_group,
    )


def map_number(did: dict, store: ResourceStore) -> NumberRecord:
    a = attrs(did)
    group_id = linked_id(did, "did_group")
    group = store.get(DID_GROUPS, group_id)
    country = group_country(group, store)
    iso = verbatim_text(attrs(country).get("iso")).upper()
    number = verbatim_text(a.get("number"))
    e164 = to_e164(number, iso or None)
    features = attrs(group).get("features")
    location = map_location(group, store)
    status, raw_status = status_for(a)
    return NumberRecord(
        external_id=str(did["id"]),
        number=number,
        e164=e164,
        country_code=iso or country_of(e164),
        kind=kind_for(group_type_name(group, store)) if group else KIND_UNKNOWN,
        status=status,
        raw_status=raw_status,
        description=verbatim_text(a.get("description")),
        voice=True,  # DIDWW DIDs are voice-in numbers
        sms=("sms_in" in features) if group is not None and isinstance(features, list) else None,
        mms=None,
        acquired_at=iso_datetime(a.get("created_at")),
        expires_at=iso_datetime(a.get("expires_at")),
        location_id=location.external_id if location else None,
        trunk_id=linked_id(did, *TRUNK_RELS),
        trunk_group_id=linked_id(did, *TRUNK_GROUP_RELS),
        group_id=group_id,
        will_renew=will_renew(a),
        billing_cycles_count=_int_or_none(a.get("billing_cycles_count")),
        emergency_enabled=flag(a.get("emergency_enabled")),
        capacity_limit=_int_or_none(a.get("capacity_limit")),
        channels_included_count=_int_or_none(a.get("channels_included_count")),
        dedicated_channels_count=_int_or_none(a.get("dedicated_channels_count")),
        raw=did,
    )


def will_renew(attributes: dict) -> bool | None:
    """DIDWW ``billing_cycles_count``: null = renews without limit, N > 0 = renews for N more
    cycles, 0 = will not renew (expires at ``expires_at``). A DID pending removal will not renew
    either. Absent (older API versions' sparse fields) or unreadable = unknown."""
    if attributes.get("pending_removal") is True:
        return False
    if "billing_cycles_count" not in attributes:
        return None
    value = attributes.get("billing_cycles_count")
    if value is None:
        return True
    cycles = _int_or_none(value)
    if cycles is None:
        return None
    return cycles > 0


def map_trunk(trunk: dict, group_of: dict[str, str] | None = None) -> TrunkRecord:
    """``group_of`` maps trunk id -> group id from groups' to-many ``voice_in_trunks`` linkage,
    used only when the trunk's own relationship was not included."""
    a = attrs(trunk)
    config = a.get("configuration") if isinstance(a.get("configuration"), dict) else {}
    group_link = linkage(trunk, TRUNK_GROUP_RELS)
    if group_link is ABSENT:
        group_id = (group_of or {}).get(str(trunk["id"]))
    else:
        group_id = linked_id(trunk, *TRUNK_GROUP_RELS)
    return TrunkRecord(
        external_id=str(trunk["id"]),
        name=verbatim_text(a.get("name")),
        kind=verbatim_text(config.get("type")).removesuffix("_configurations"),  # "sip" / "pstn"
        description=verbatim_text(a.get("description")),
        trunk_group_id=group_id,
        raw=trunk,
    )


def map_trunk_group(group: dict) -> TrunkGroupRecord:
    a = attrs(group)
    return TrunkGroupRecord(
        external_id=str(group["id"]),
        name=verbatim_text(a.get("name")),
        capacity_limit=_int_or_none(a.get("capacity_limit")),
        raw=group,
    )


def build_inventory(store: ResourceStore) -> Inventory:
    """Map everything in ``store``. Completeness/totals are the caller's business (left unset)."""
    group_of: dict[str, str] = {}
    for group in store.of_type(TRUNK_GROUPS):
        members = linkage(group, GROUP_MEMBERS_RELS)
        for member in members if isinstance(members, list) else ():
            if isinstance(member, dict) and member.get("id") not in (None, ""):
                group_of[str(member["id"])] = str(group["id"])

    did_groups = store.of_type(DID_GROUPS)
    locations: dict[str, LocationRecord] = {}
    for did_group in did_groups:
        location = map_location(did_group, store)
        if location is not None:
            locations.setdefault(location.external_id, location)
    return Inventory(
        numbers=[map_number(did, store) for did in store.of_type(DIDS)],
        trunks=[map_trunk(trunk, group_of) for trunk in store.of_type(TRUNKS)],
        trunk_groups=[map_trunk_group(group) for group in store.of_type(TRUNK_GROUPS)],
        groups=[map_did_group(group, store) for group in did_groups],
        locations=list(locations.values()),
    )


def inventory_from_documents(*docs: dict) -> Inventory:
    """Convenience for fixtures / single documents: store every resource, then map."""
    store = ResourceStore()
    for doc in docs:
        store.add_document(doc)
    return build_inventory(store)


def error_summary(doc: Any, limit: int = 3) -> str:
    """Short "title: detail" text from a JSON:API ``errors`` array ("" when there is none)."""
    errors = doc.get("errors") if isinstance(doc, dict) else None
    parts = []
    for err in errors[:limit] if isinstance(errors, list) else ():
        if not isinstance(err, dict):
            continue
        title, detail = text(err.get("title")), text(err.get("detail"))[:160]
        parts.append(f"{title}: {detail}" if title and detail and detail != title else title or detail)
    return "; ".join(p for p in parts if p)
