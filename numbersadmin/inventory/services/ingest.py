"""Apply one complete provider listing to the database, in one transaction.

Rules (DESIGN.md "Sync semantics"):
- unchanged rows are not rewritten: each number keeps a hash of its mapped record and only rows
  whose hash differs are loaded, diffed field by field (history) and updated;
- a number absent from a complete listing is removed (soft: ``removed_at``, never deleted) only
  on evidence: the provider's own per-number lookup said "not found" (``lookups[ext] is False``),
  or it was already "missing" for at least one sync interval and this complete listing still
  lacks it. Otherwise it becomes "missing" (``missing_since``): still live, visible, not removed;
- the mass-removal breaker holds removals for an admin when a run would remove more than
  max(SYNC_REMOVAL_GUARD_FRACTION of live numbers, SYNC_REMOVAL_GUARD_MIN), or when the
  provider's reported total disagrees with what arrived;
- ``last_seen`` is written when a row is written; for live rows "seen" is the account's last
  successful sync (every live row was in that complete listing), which avoids rewriting every
  row on every sync;
- writes: on PostgreSQL new numbers are COPYed into the table and changed ones go through a
  temporary staging table and one ``UPDATE ... FROM ... WHERE <row differs>`` (issue 18: 2.7-3.8x
  ``bulk_create(update_conflicts=True)`` on a 20,000-number initial sync); SQLite (embedded mode) keeps
  bulk_create / bulk_update. Both inside the apply's one transaction;
- reference rows (locations, owners, caller IDs, trunks, groups) and pool memberships are read
  as plain values and diffed in Python (no model instances); new ones are COPYed on PostgreSQL
  (Webex: ~16k owners and ~19k caller-ID candidates per 20k numbers), changed ones bulk_updated;
- per-row Python is kept small: raw payloads are redacted straight to the JSON text COPY needs
  (``RawRedaction.dumps`` walks a payload only when its text shows a redacted key or segment),
  and the phonenumbers parses behind ``national_digits`` and a caller ID's country are cached
  per worker process (a Webex caller-ID candidate and its number parse once).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import json
import operator
from dataclasses import dataclass, field
from decimal import Decimal

import phonenumbers
from django.conf import settings
from django.db import connection, transaction
from django.db.models import JSONField
from django.utils import timezone

from providers.base import Inventory, NumberRecord
from providers.regions import region_name

from ..choices import ChangeKind, NumberStatus
from ..models import (TRACKED_FIELDS, CallerId, CallerIdChange, Location, LocationChange, NumberChange, NumberGroup, Owner, OwnerChange,
                      PhoneNumber, PoolMembership, ProviderAccount, SyncRun, Trunk, TrunkGroup)

BATCH = 1000
# Caller-ID fields whose changes are kept as CallerIdChange history.
CALLER_ID_TRACKED = ("verified_until", "active", "code_entering_attempts_left", "verification_call_attempts_left")
# Owner and location fields kept as OwnerChange / LocationChange history (raw payloads never are).
OWNER_TRACKED = ("name", "first_name", "last_name", "owner_type", "location_id")
LOCATION_TRACKED = ("name", "kind", "country_code", "region", "city", "main_number")


class LeaseLost(Exception):
    """The run's lease was reclaimed (its heartbeat lapsed): another run owns the account now."""


@dataclass
class ApplyStats:
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    removed: int = 0
    restored: int = 0
    missing: int = 0  # newly missing in this run
    found: int = 0  # missing before, listed again
    held_removals: int = 0
    held_reason: str = ""
    held_external_ids: list[str] = field(default_factory=list)


def _json_default(value):
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if dataclasses.is_dataclass(value):  # pool memberships
        return [getattr(value, f.name) for f in dataclasses.fields(value)]
    raise TypeError(type(value))


@functools.cache
def _field_values(cls):
    names = [f.name for f in dataclasses.fields(cls)]
    if len(names) == 1:  # attrgetter of one name returns the value, not a tuple
        return lambda record: (getattr(record, names[0]),)
    return operator.attrgetter(*names)


def record_hash(record) -> str:
    # Field values in declaration order; dataclasses.asdict() would deep-copy the raw payload
    # (measured: 3.5 s of a 10k-number sync). Records come from JSON, so no cycles to check for:
    # the same text, a quarter faster.
    # The getter per record class is built once (a tuple encodes as the same JSON array).
    payload = _field_values(type(record))(record)
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=_json_default,
                                     check_circular=False).encode()).hexdigest()


def search_digits(e164: str, raw: str) -> dict[str, str]:
    """The search columns (``digits``, ``national_digits``) of a number or caller ID."""
    digits = e164.lstrip("+") if e164 else "".join(c for c in raw if c.isdigit())
    return {"digits": digits[:32], "national_digits": national_digits(e164)}


@functools.lru_cache(maxsize=1 << 16)  # a caller ID and the number it names parse once per worker
def _parsed(e164: str) -> tuple | None:
    """What ``phonenumbers.parse(e164, None)`` found that the columns need (country code,
    national number, Italian leading zero, leading zeros), or None: one parse shared by
    ``national_digits`` and a caller ID's country (small tuples, not PhoneNumber objects)."""
    try:
        p = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None
    return p.country_code, p.national_number, p.italian_leading_zero, p.number_of_leading_zeros


def national_digits(e164: str) -> str:
    facts = _parsed(e164) if e164 else None
    return str(facts[1]) if facts is not None else ""


@functools.lru_cache(maxsize=1 << 16)
def _country_of(e164: str) -> str:
    """``providers.base.country_of`` from the shared parse (a Webex caller ID otherwise parsed
    twice: once for its search digits, once for its country)."""
    facts = _parsed(e164) if e164 else None
    if facts is None:
        return ""
    cc, national, italian_zero, zeros = facts
    region = phonenumbers.region_code_for_number(phonenumbers.PhoneNumber(
        country_code=cc, national_number=national, italian_leading_zero=italian_zero, number_of_leading_zeros=zeros))
    return "" if region in (None, "ZZ", "001") else region


def _upsert_simple(model, account, records, build_fields, now, track: tuple[str, ...] = (),
                   changes: list | None = None) -> dict[str, int]:
    """Reference tables (locations, trunks, groups, owners, caller IDs): upsert changed rows,
    return ext->pk. When ``changes`` is given, history for existing rows is appended to it as
    (pk, kind, field, old, new): a CHANGED entry per ``track`` field that changed, RESTORED for a
    removed row listed again, REMOVED for a row gone from the listing. New rows get none
    (``first_seen`` says it).

    Stored rows are read as plain values (no model instances) and compared in Python, so an
    unchanged listing writes nothing. New rows: on PostgreSQL COPYed straight into the table (the
    account row is locked and they were absent under that lock, as for numbers), elsewhere
    ``bulk_create``. Changed rows (few, normally): ``bulk_update`` of the columns that differ."""
    redact = account.spec.raw_redaction
    postgres = connection.vendor == "postgresql"
    built = [(rec.external_id, build_fields(rec), rec.raw) for rec in records]
    names = [*built[0][1], "raw"] if built else []
    existing = {row["external_id"]: row for row in
                model.objects.filter(account=account).values("pk", "external_id", "removed_at", *names)}
    to_create, to_update, update_fields = [], [], set()
    for ext, values, raw in built:
        old = existing.get(ext)
        if old is None:
            # COPY takes the payload as JSON text: redacted straight to text (RawRedaction.dumps).
            values["raw"] = redact.dumps(raw) if postgres else redact(raw)
            to_create.append((ext, values))
            continue
        values["raw"] = redact(raw)
        diff = {k: v for k, v in values.items() if old[k] != v}
        if changes is not None:
            changes.extend((old["pk"], ChangeKind.CHANGED, k, old[k], diff[k]) for k in track if k in diff)
        if old["removed_at"] is not None:
            diff["removed_at"] = None
            if changes is not None:
                changes.append((old["pk"], ChangeKind.RESTORED, "", None, None))
        if diff:
            old.update(diff)  # a second record with this id (adapters reject them) sees it
            update_fields.update(diff)
            to_update.append(old)
    if to_create:
        if postgres:
            _copy_rows(model, [{"account_id": account.pk, "external_id": ext, "first_seen": now, "last_seen": now,
                                "removed_at": None, **values} for ext, values in to_create], text=("raw",))
        else:
            model.objects.bulk_create([model(account=account, external_id=ext, first_seen=now, last_seen=now, **values)
                                       for ext, values in to_create], batch_size=BATCH)
    if to_update:
        update_fields.add("last_seen")
        fields = sorted(update_fields)
        rows = [model(pk=old["pk"], **{k: old[k] for k in fields if k != "last_seen"}, last_seen=now)
                for old in to_update]
        model.objects.bulk_update(rows, fields, batch_size=BATCH)
    seen = {ext for ext, _, _ in built}
    # Reference rows vanish with the listing too, but softly (numbers may still point at them).
    gone = [old["pk"] for ext, old in existing.items() if ext not in seen and old["removed_at"] is None]
    if changes is not None:
        changes.extend((pk, ChangeKind.REMOVED, "", None, None) for pk in gone)
    for start in range(0, len(gone), BATCH):
        model.objects.filter(pk__in=gone[start:start + BATCH]).update(removed_at=now)
    if not to_create:
        return {ext: old["pk"] for ext, old in existing.items()}
    return dict(model.objects.filter(account=account).values_list("external_id", "pk"))


def _copy_rows(model, rows: list[dict], text: tuple[str, ...] = ()) -> None:
    """PostgreSQL: COPY complete rows (every concrete column but the primary key, by attname;
    a column a row lacks gets the field's default) into ``model``'s table. JSON columns are
    sent as JSON text (what the ORM sends for a JSONField without an encoder); those named in
    ``text`` already hold that text."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    # COPY skips pre_save: a field the ORM fills on save would silently stay NULL.
    if any(getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False) for f in fields):
        raise ValueError(f"_copy_rows: {model.__name__} has auto_now fields; give them values or use the ORM")
    defaults = {f.attname: f.get_default() for f in fields}
    json_cols = [f.attname for f in fields if isinstance(f, JSONField) and f.attname not in text]
    names = [f.attname for f in fields]
    sql = f"COPY {model._meta.db_table} ({', '.join(f.column for f in fields)}) FROM STDIN"
    with connection.cursor() as cur, cur.cursor.copy(sql) as copy:
        for row in rows:
            data = {**defaults, **row}
            for name in json_cols:
                data[name] = json.dumps(data[name], check_circular=False)
            copy.write_row([data[name] for name in names])


def _number_values(rec: NumberRecord, refs: dict[str, dict[str, int]], locations: dict[str, Location],
                   redact) -> dict:
    # Webex-style rows carry the owner and main-number flags; DIDWW-style rows leave them empty.
    loc = locations.get(rec.location_id) if rec.location_id else None
    return {
        "number_raw": rec.number[:64],
        "e164": rec.e164,
        "is_valid": bool(rec.e164),
        **search_digits(rec.e164, rec.number),
        "country": rec.country_code or (loc.country_code if loc else ""),
        "region": loc.region if loc else "",  # the Location row: region already in one vocabulary
        "city": loc.city if loc else "",
        "kind": rec.kind,
        "status": rec.status,
        "raw_status": rec.raw_status[:100],
        "description": (rec.description or "")[:500],
        "voice": rec.voice,
        "sms": rec.sms,
        "mms": rec.mms,
        "monthly_cost": rec.monthly_cost,
        "currency": rec.currency,
        "acquired_at": rec.acquired_at,
        "expires_at": rec.expires_at,
        "location_id": loc.pk if loc else None,
        "trunk_id": refs["trunk"].get(rec.trunk_id) if rec.trunk_id else None,
        "trunk_group_id": refs["trunk_group"].get(rec.trunk_group_id) if rec.trunk_group_id else None,
        "number_group_id": refs["group"].get(rec.group_id) if rec.group_id else None,
        "application": (rec.application or "")[:200],
        "owner_id": refs["owner"].get(rec.owner_id) if rec.owner_id else None,
        "extension": (rec.extension or "")[:40],
        "is_main_number": rec.is_main_number,
        "is_service_number": rec.is_service_number,
        "will_renew": rec.will_renew,
        "billing_cycles_count": rec.billing_cycles_count,
        "emergency_enabled": rec.emergency_enabled,
        "capacity_limit": rec.capacity_limit,
        "channels_included_count": rec.channels_included_count,
        "dedicated_channels_count": rec.dedicated_channels_count,
        "raw": redact(rec.raw),  # account identifiers and credentials never stored
    }


def stored_text(value) -> str:
    """A value as history stores it (asof.py reads it back)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)


def missing_candidates(account: ProviderAccount, inventory: Inventory) -> list[str]:
    """Live numbers of the account that this listing does not show (to look up before applying)."""
    listed = {rec.external_id for rec in inventory.numbers}
    live = PhoneNumber.objects.filter(account=account, removed_at__isnull=True).values_list("external_id", flat=True)
    return sorted(ext for ext in live if ext not in listed)


@transaction.atomic
def apply_inventory(account: ProviderAccount, inventory: Inventory, run: SyncRun | None = None, *,
                    lookups: dict[str, bool] | None = None, lease_token: str | None = None) -> ApplyStats:
    """``lookups``: the provider's per-number answers for missing candidates (True = exists,
    False = not found); ``lease_token``: when given, the apply only happens while this run still
    holds the account's lease (checked under the account row lock)."""
    now = timezone.now()
    stats = ApplyStats()
    lookups = lookups or {}
    # Lock the account row: a second writer for this account waits rather than interleaves.
    locked = ProviderAccount.objects.select_for_update().filter(pk=account.pk)
    if lease_token is not None:
        locked = locked.filter(sync_lease_token=lease_token)
    if locked.first() is None:
        raise LeaseLost("this run's lease was reclaimed; nothing was applied")

    location_changes: list = []
    loc_map = _upsert_simple(
        Location, account, inventory.locations,
        lambda r: {"kind": r.kind, "name": r.name[:200], "country_code": r.country_code, "country_name": r.country_name,
                   "region": region_name(r.country_code, r.region), "city": r.city, "main_number": (r.main_number or "")[:20]},
        now, track=LOCATION_TRACKED, changes=location_changes,
    )
    tg_map = _upsert_simple(
        TrunkGroup, account, inventory.trunk_groups,
        lambda r: {"name": r.name[:200], "capacity_limit": r.capacity_limit}, now,
    )
    trunk_map = _upsert_simple(
        Trunk, account, inventory.trunks,
        lambda r: {"name": r.name[:200], "kind": r.kind, "description": r.description or "",
                   "trunk_group_id": tg_map.get(r.trunk_group_id) if r.trunk_group_id else None},
        now,
    )
    group_map = _upsert_simple(
        NumberGroup, account, inventory.groups,
        lambda r: {"name": r.name[:200], "prefix": r.prefix, "group_type": r.group_type, "features": list(r.features),
                   "location_id": loc_map.get(r.location_id) if r.location_id else None},
        now,
    )
    owner_changes: list = []
    owner_map = _upsert_simple(
        Owner, account, inventory.owners,
        lambda r: {"name": r.name[:300], "owner_type": r.owner_type[:60], "first_name": r.first_name[:150],
                   "last_name": r.last_name[:150], "location_id": loc_map.get(r.location_id) if r.location_id else None},
        now, track=OWNER_TRACKED, changes=owner_changes,
    )
    caller_id_changes: list = []
    _upsert_simple(
        CallerId, account, inventory.caller_ids,
        lambda r: {"number_raw": r.number[:64], "e164": r.e164, **search_digits(r.e164, r.number),
                   "country": _country_of(r.e164),
                   "active": r.active, "verified_until": r.verified_until,
                   "code_entering_attempts_left": r.code_entering_attempts_left,
                   "verification_call_attempts_left": r.verification_call_attempts_left, "kind": r.kind,
                   "location_id": loc_map.get(r.location_id) if r.location_id else None,
                   "listed_for_id": loc_map.get(r.listed_for_location_id) if r.listed_for_location_id else None,
                   "owner_id": owner_map.get(r.owner_id) if r.owner_id else None,
                   "is_main_number": r.is_main_number, "toll_free_number": r.toll_free_number,
                   "is_service_number": r.is_service_number},
        now, track=CALLER_ID_TRACKED, changes=caller_id_changes,
    )
    for model, subject, found in ((LocationChange, "location", location_changes), (OwnerChange, "owner", owner_changes),
                                  (CallerIdChange, "caller_id", caller_id_changes)):
        model.objects.bulk_create(
            [model(**{f"{subject}_id": pk}, run=run, kind=kind, field=name, old_value=stored_text(old),
                   new_value=stored_text(new), at=now) for pk, kind, name, old, new in found],
            batch_size=BATCH)
    refs = {"trunk": trunk_map, "trunk_group": tg_map, "group": group_map, "owner": owner_map}
    postgres = connection.vendor == "postgresql"
    # Once, not per record. PostgreSQL COPYs the payload as JSON text: redact straight to text.
    redact = account.spec.raw_redaction.dumps if postgres else account.spec.raw_redaction
    locations = {obj.external_id: obj for obj in Location.objects.filter(account=account)}

    existing = {
        ext: (pk, digest, removed_at, missing_since)
        for ext, pk, digest, removed_at, missing_since in PhoneNumber.objects.filter(account=account).values_list(
            "external_id", "pk", "content_hash", "removed_at", "missing_since"
        )
    }
    first_sync = not existing
    seen: set[str] = set()
    new_recs: list[NumberRecord] = []  # hashed while written (PostgreSQL indexes them meanwhile)
    changed: dict[int, tuple[NumberRecord, str]] = {}
    found: list[int] = []  # missing before, listed again
    for rec in inventory.numbers:
        if rec.external_id in seen:
            continue  # adapters reject duplicates; belt and braces
        seen.add(rec.external_id)
        current = existing.get(rec.external_id)
        if current is None:
            new_recs.append(rec)
        else:
            digest = record_hash(rec)
            if current[3] is not None and current[2] is None:
                found.append(current[0])
            if current[1] != digest or current[2] is not None:
                changed[current[0]] = (rec, digest)
            else:
                stats.unchanged += 1

    def values_of(rec):
        return _number_values(rec, refs, locations, redact)

    history: list[NumberChange] = []
    # Changed rows: old values first (their history), then one write with the new rows.
    changed_values: dict[int, tuple[str, dict, str]] = {}  # pk -> external id, new values, hash
    changed_ids = list(changed)
    for start in range(0, len(changed_ids), BATCH):
        for old in PhoneNumber.objects.filter(pk__in=changed_ids[start:start + BATCH]).values(
                "pk", "removed_at", *TRACKED_FIELDS):
            rec, digest = changed[old["pk"]]
            values = values_of(rec)
            for name in TRACKED_FIELDS:
                before, after = old[name], values[name]
                if before != after and not (name == "status" and before == NumberStatus.REMOVED):
                    history.append(NumberChange(number_id=old["pk"], run=run, kind=ChangeKind.CHANGED, field=name,
                                                old_value=stored_text(before), new_value=stored_text(after), at=now))
            if old["removed_at"] is not None:
                history.append(NumberChange(number_id=old["pk"], run=run, kind=ChangeKind.RESTORED, at=now))
                stats.restored += 1
            changed_values[old["pk"]] = (rec.external_id, values, digest)
    stats.changed = len(changed_ids)
    stats.added = len(new_recs)

    write = _write_numbers_copy if postgres else _write_numbers_orm
    write(account, new_recs, changed_values, values_of, now)
    if new_recs and not first_sync:
        # On the first sync the whole listing is "added": first_seen says it, no event per row.
        # Filtered in Python, not by a (huge) external_id IN list; first_seen == now alone could
        # match rows of an earlier apply with the same clock reading (a frozen clock in tests).
        added = {rec.external_id for rec in new_recs}
        history.extend(NumberChange(number_id=pk, run=run, kind=ChangeKind.ADDED, at=now) for pk, ext in
                       PhoneNumber.objects.filter(account=account, first_seen=now).values_list("pk", "external_id")
                       if ext in added)

    _sync_pools(account, inventory, group_map, {pk for pk, *_ in existing.values()}, run, now, history)

    stats.found = _set_missing(found, None, run, now, history)
    _settle_absent(account, existing, seen, lookups, inventory, run, now, stats, history)

    NumberChange.objects.bulk_create(history, batch_size=BATCH)
    return stats


# Written for a changed row besides its mapped values (first_seen stays as it was).
SYNC_COLUMNS = ("content_hash", "removed_at", "last_seen", "last_changed_at", "missing_since")


def _write_numbers_orm(account, new_recs, changed_values, values_of, now) -> None:
    """New rows by bulk_create, changed ones by bulk_update (SQLite, embedded mode)."""
    PhoneNumber.objects.bulk_create(
        [PhoneNumber(account=account, provider=account.provider, external_id=rec.external_id, content_hash=record_hash(rec),
                     first_seen=now, last_seen=now, last_changed_at=now, **values_of(rec)) for rec in new_recs],
        batch_size=BATCH)
    rows = [PhoneNumber(pk=pk, **values, content_hash=digest, removed_at=None, last_seen=now, last_changed_at=now,
                        missing_since=None) for pk, (_, values, digest) in changed_values.items()]
    if rows:
        PhoneNumber.objects.bulk_update(rows, sorted({*next(iter(changed_values.values()))[1], *SYNC_COLUMNS}),
                                        batch_size=BATCH)


def _write_numbers_copy(account, new_recs, changed_values, values_of, now) -> None:
    """PostgreSQL: no per-row SQL and no model instances.

    New rows are COPYed straight into the table: the account row is locked and they were absent
    under that lock, so nothing can conflict (if something did, the unique constraint fails the
    whole apply, which rolls back). The server builds the index entries while we map the next
    rows. Changed rows are COPYed into a temporary staging table, then one ``UPDATE ... FROM``
    rewrites only those whose stored values differ (no new row version otherwise)."""
    table = PhoneNumber._meta.db_table
    fields = [f for f in PhoneNumber._meta.concrete_fields if not f.primary_key]
    columns = [f.column for f in fields]
    fixed = {"account_id": account.pk, "provider": account.provider, "first_seen": now, "last_seen": now,
             "last_changed_at": now, "removed_at": None, "missing_since": None}

    def row(ext, values, digest):
        # raw is already JSON text (RawRedaction.dumps): what the ORM sends for a JSONField
        # without an encoder.
        data = {**fixed, **values, "external_id": ext, "content_hash": digest}
        return [data[f.attname] for f in fields]

    copy_sql = "COPY {} (" + ", ".join(columns) + ") FROM STDIN"
    with connection.cursor() as cur:
        if new_recs:
            with cur.cursor.copy(copy_sql.format(table)) as copy:
                for rec in new_recs:
                    copy.write_row(row(rec.external_id, values_of(rec), record_hash(rec)))
        if not changed_values:
            return
        cur.execute("DROP TABLE IF EXISTS pg_temp.sync_numbers_stage")  # a second apply in one transaction
        cur.execute(f"CREATE TEMP TABLE sync_numbers_stage ON COMMIT DROP AS SELECT {', '.join(columns)} "
                    f"FROM {table} WITH NO DATA")
        with cur.cursor.copy(copy_sql.format("sync_numbers_stage")) as copy:
            for ext, values, digest in changed_values.values():
                copy.write_row(row(ext, values, digest))
        written = [c for c in columns if c not in ("account_id", "external_id", "first_seen")]
        compared = [c for c in written if c not in ("last_seen", "last_changed_at")]  # "now" on every write
        cur.execute(
            f"UPDATE {table} AS t SET {', '.join(f'{c} = s.{c}' for c in written)} "
            f"FROM sync_numbers_stage AS s WHERE t.account_id = %s AND t.external_id = s.external_id "
            f"AND ({', '.join(f't.{c}' for c in compared)}) IS DISTINCT FROM ({', '.join(f's.{c}' for c in compared)})",
            [account.pk])
        cur.execute("DROP TABLE sync_numbers_stage")


def _settle_absent(account, existing, seen, lookups, inventory, run, now, stats: ApplyStats, history: list) -> None:
    """Live numbers this complete listing lacks: removed on evidence (a "not found" lookup, or
    missing for a whole sync interval already), kept when the provider says they exist,
    otherwise marked missing. Removals still pass the mass-removal breaker."""
    absent = [(ext, pk, missing_since) for ext, (pk, _, removed_at, missing_since) in existing.items()
              if ext not in seen and removed_at is None]
    aged_before = now - dt.timedelta(minutes=account.sync_interval_minutes)
    remove, newly_missing, confirmed = [], [], []
    for ext, pk, missing_since in absent:
        answer = lookups.get(ext)
        if answer is True:  # the provider says it still exists: the listing, not the number, is wrong
            if missing_since is not None:
                confirmed.append(pk)  # a stale "missing" date must not age into a removal later
            continue
        if answer is False or (missing_since is not None and missing_since <= aged_before):
            remove.append((ext, pk))
        elif missing_since is None:
            newly_missing.append(pk)

    live_before = sum(1 for _, _, removed_at, _ in existing.values() if removed_at is None)
    guard = max(settings.SYNC_REMOVAL_GUARD_FRACTION * live_before, settings.SYNC_REMOVAL_GUARD_MIN)
    if inventory.total_reported is not None and inventory.total_reported != len(seen) and remove:
        stats.held_reason = f"provider reported {inventory.total_reported} numbers but {len(seen)} arrived"
    elif len(remove) > guard:
        stats.held_reason = f"{len(remove)} of {live_before} numbers would be removed (limit {int(guard)})"
    if stats.held_reason:
        stats.held_removals = len(remove)
        stats.held_external_ids = sorted(ext for ext, _ in remove)
        # Held numbers stay live; the ones not yet flagged are at least "missing" meanwhile.
        newly_missing += [pk for ext, pk in remove if existing[ext][3] is None]
    elif remove:
        stats.removed = mark_removed(account, [pk for _, pk in remove], run, now, history)

    stats.found += _set_missing(confirmed, None, run, now, history)
    stats.missing = _set_missing(newly_missing, now, run, now, history)


def _set_missing(pks: list[int], since, run, now, history: list) -> int:
    """Flag numbers missing (``since`` = now: a MISSING event) or clear the flag (``since`` = None:
    a FOUND event, listed again or confirmed by the provider)."""
    kind = ChangeKind.FOUND if since is None else ChangeKind.MISSING
    for start in range(0, len(pks), BATCH):
        PhoneNumber.objects.filter(pk__in=pks[start:start + BATCH]).update(missing_since=since)
    history.extend(NumberChange(number_id=pk, run=run, kind=kind, at=now) for pk in pks)
    return len(pks)


def _sync_pools(account, inventory: Inventory, group_map: dict[str, int], known: set[int], run, now,
                history: list) -> None:
    """Pool memberships of the numbers in this listing: add, update (added_on, service, list) and
    drop membership rows by diff. A number of ``known`` (in the inventory before this sync) whose
    set of pools changed gets one "pools" change in ``history``: the sorted NumberGroup ids,
    comma-joined. New numbers get none (their ADDED event, or the first sync, says it)."""
    with_pools = [rec for rec in inventory.numbers if rec.pool_ids or rec.pool_memberships]
    # Plain values, not model instances (a pool can hold every number of the account).
    existing = {(n, g): (pk, {"added_on": added_on, "service": service, "member_type": member_type})
                for pk, n, g, added_on, service, member_type in PoolMembership.objects.filter(
                    phonenumber__account=account).values_list(
                    "pk", "phonenumber_id", "numbergroup_id", "added_on", "service", "member_type")}
    if not with_pools and not existing:
        return
    ids = dict(PhoneNumber.objects.filter(account=account).values_list("external_id", "pk"))
    seen_pks = {ids[rec.external_id] for rec in inventory.numbers if rec.external_id in ids}
    wanted: dict[tuple[int, int], dict] = {}
    for rec in with_pools:
        if rec.external_id not in ids:
            continue
        details = {m.pool_id: m for m in rec.pool_memberships}
        for pool in dict.fromkeys((*rec.pool_ids, *details)):
            if pool not in group_map:
                continue
            m = details.get(pool)
            wanted[(ids[rec.external_id], group_map[pool])] = {
                "added_on": m.added_on if m else None, "service": (m.service if m else "")[:20],
                "member_type": (m.member_type if m else "")[:20]}
    stale = [pair for pair in existing.keys() - wanted.keys() if pair[0] in seen_pks]
    before: dict[int, set[int]] = {}
    after: dict[int, set[int]] = {}
    for pairs, sets in ((existing, before), (wanted, after)):
        for n, g in pairs:
            sets.setdefault(n, set()).add(g)
    for n in sorted(seen_pks & known):
        old, new = before.get(n, set()), after.get(n, set())
        if old != new:
            history.append(NumberChange(number_id=n, run=run, kind=ChangeKind.CHANGED, field="pools",
                                        old_value=",".join(map(str, sorted(old))),
                                        new_value=",".join(map(str, sorted(new))), at=now))
    to_create = [{"phonenumber_id": n, "numbergroup_id": g, **values} for (n, g), values in wanted.items()
                 if (n, g) not in existing]
    if to_create and connection.vendor == "postgresql":
        _copy_rows(PoolMembership, to_create)
    elif to_create:
        PoolMembership.objects.bulk_create([PoolMembership(**row) for row in to_create], batch_size=BATCH)
    to_update = [PoolMembership(pk=existing[pair][0], **values) for pair, values in wanted.items()
                 if pair in existing and existing[pair][1] != values]
    if to_update:
        PoolMembership.objects.bulk_update(to_update, ["added_on", "service", "member_type"], batch_size=BATCH)
    for start in range(0, len(stale), BATCH):
        PoolMembership.objects.filter(pk__in=[existing[pair][0] for pair in stale[start:start + BATCH]]).delete()


def mark_removed(account, pks: list[int], run, now, history: list | None = None) -> int:
    """Soft removal. ``last_seen`` becomes the last good sync before this one (when the number
    was last confirmed present)."""
    last_seen = account.last_success_at or now
    count = 0
    for start in range(0, len(pks), BATCH):
        live = PhoneNumber.objects.filter(pk__in=pks[start:start + BATCH], removed_at__isnull=True)
        # The status before removal goes into the event: "as of" replays it (asof.py).
        before = dict(live.values_list("pk", "status"))
        count += live.filter(pk__in=list(before)).update(
            removed_at=now, status=NumberStatus.REMOVED, last_seen=last_seen, last_changed_at=now, missing_since=None,
            content_hash="",  # a later reappearance is then a (logged) change, restoring the status
        )
        if history is not None:
            history.extend(NumberChange(number_id=pk, run=run, kind=ChangeKind.REMOVED, old_value=status, at=now)
                           for pk, status in before.items())
    return count
