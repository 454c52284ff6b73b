"""The numbers table "as of" a past moment, rebuilt from history (NumberChange).

A number's value of a tracked field at T is the ``old_value`` of its first change after T, or
its live value when nothing changed after T. Removal is replayed the same way, as the status:
a REMOVED event after T says the number was live at T (its ``old_value`` is the status it had),
a RESTORED event after T says it was removed. Numbers first seen after T did not exist yet.

``rebase(qs, moment)`` swaps the FROM table of a PhoneNumber queryset for that rebuilt table
(same columns, same alias), so every filter, sort, export and count written for the live table
applies unchanged.

Cost: one index probe into the history per row read (PostgreSQL: a LATERAL join on
``change_number_at``). A sort cannot use the live index on a column that changed after T, so a
keyset page reads two halves (``split``): the rows whose sort column kept its live value (the
live index gives their order) and the few where it changed (found through ``change_field_at``,
rebuilt and sorted apart); the page is the first rows of both, sorted once more. Columns history
does not keep (``last_seen``, ``raw``) keep their live values, capped at T where they are times.
"""

from __future__ import annotations

import datetime as dt
import re

from django.core.exceptions import FieldDoesNotExist
from django.db import connection
from django.db.models.sql.datastructures import BaseTable

from .choices import ChangeKind, NumberStatus
from .models import TRACKED_FIELDS, NumberChange, PhoneNumber

# A REMOVED event written before removals kept the previous status (old_value).
LEGACY_STATUS_BEFORE_REMOVAL = NumberStatus.ACTIVE

_TRACKED = frozenset(TRACKED_FIELDS) - {"status"}
_MISSING_KINDS = (ChangeKind.MISSING, ChangeKind.FOUND, ChangeKind.REMOVED, ChangeKind.RESTORED)
# Events that set last_changed_at.
_CHANGE_KINDS = (ChangeKind.ADDED, ChangeKind.CHANGED, ChangeKind.REMOVED, ChangeKind.RESTORED)


class RebuiltTable(BaseTable):
    """The base table of a query, rendered as ``(SELECT ...) "inventory_phonenumber"``: the
    numbers at ``moment``; ``part`` (with ``sort_column``) is one half of ``split``."""

    def __init__(self, table_name, alias, moment: dt.datetime, part: str = "", sort_column: str = "",
                 order: str = ""):
        super().__init__(table_name, alias)
        self.moment, self.part, self.sort_column, self.order = moment, part, sort_column, order

    def as_sql(self, compiler, connection):
        sql, params = table_sql(self.moment, self.part, self.sort_column, self.order)
        return f"({sql}) {connection.ops.quote_name(self.table_alias)}", params

    def relabeled_clone(self, change_map):
        return self.__class__(self.table_name, change_map.get(self.table_alias, self.table_alias), self.moment,
                              self.part, self.sort_column, self.order)

    @property
    def identity(self):
        return (*super().identity, self.moment, self.part, self.sort_column, self.order)


def rebase(qs, moment: dt.datetime):
    """``qs`` (PhoneNumber) read from the table as it was at ``moment``."""
    qs = qs.all()
    alias = qs.query.get_initial_alias()
    return _with_table(qs, RebuiltTable(PhoneNumber._meta.db_table, alias, moment))


def live(qs):
    """``qs`` on the live table again (e.g. for a planner estimate)."""
    table = _table(qs)
    if table is None:
        return qs
    return _with_table(qs, BaseTable(table.table_name, table.table_alias))


def moment_of(qs) -> dt.datetime | None:
    table = _table(qs)
    return table.moment if table else None


def _with_table(qs, table: BaseTable):
    """A copy of ``qs`` reading ``table`` under that table's alias (filters and joins unchanged)."""
    qs = qs.all()
    qs.query.alias_map[table.table_alias] = table
    return qs


def _table(qs) -> RebuiltTable | None:
    return next((t for t in qs.query.alias_map.values() if isinstance(t, RebuiltTable)), None)


def split(qs, sort_column: str | None, order: str = "") -> list | None:
    """For a page read in sort order: the rows whose ``sort_column`` kept its live value after T
    (that half keeps the live column, so its index gives the order) and the rows where it changed,
    rebuilt apart. With ``order`` ("asc"/"desc": the page sorts by the plain column itself, id
    breaking ties the same way), PostgreSQL reads the changed half already in that order, from
    the history's old values, and stops at the page's end. ``None``: not an as-of query, or
    nothing to split."""
    table = _table(qs)
    if table is None or not sort_column:
        return None
    return [_with_table(qs, RebuiltTable(table.table_name, table.table_alias, table.moment, part, sort_column,
                                         order if part == "changed" else ""))
            for part in ("unchanged", "changed")]


def sort_column_of(path: str) -> str | None:
    """The tracked PhoneNumber column behind a sort path ("owner__name" -> "owner_id"), if any."""
    try:
        field = PhoneNumber._meta.get_field(path.split("__", 1)[0])
    except FieldDoesNotExist:  # an annotation
        return None
    column = getattr(field, "attname", None)  # None: a reverse relation (note__text)
    return column if column in TRACKED_FIELDS else None


# --- SQL ---------------------------------------------------------------------------------------

def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _events_sql(pg: bool) -> str:
    """A number's first event after T per key, as (f, v): a changed field under its name (v: the
    old value), removals and restorations under "status" (v: the status before), and "_m" for
    the first missing/found/removed/restored event (only whether there is one matters)."""
    c = _q(NumberChange._meta.db_table)
    where = "c.number_id = n.id AND c.at > %s"
    status_rows = (
        f"SELECT CASE WHEN c.kind = '{ChangeKind.CHANGED}' THEN c.field ELSE 'status' END AS f, {_OLD_VALUE} AS v, "
        f"c.at, c.id FROM {c} c WHERE {where} AND c.kind IN "
        f"{_kinds(ChangeKind.CHANGED, ChangeKind.REMOVED, ChangeKind.RESTORED)}")
    missing_rows = f"SELECT '_m' AS f, c.kind AS v, c.at, c.id FROM {c} c WHERE {where} AND c.kind IN {_kinds(*_MISSING_KINDS)}"
    rows = f"{status_rows} UNION ALL {missing_rows}"
    if pg:
        return (f"SELECT jsonb_object_agg(f, v) AS j FROM "
                f"(SELECT DISTINCT ON (f) f, v FROM ({rows}) e ORDER BY f, at, id) x")
    # SQLite: with MIN(), the bare columns come from the row holding the minimum.
    return (f"SELECT json_group_object(f, v) FROM (SELECT f, v, MIN(k) FROM "
            f"(SELECT f, v, at || printf('%%020d', id) AS k FROM ({rows}) e0) e GROUP BY f)")


def _kinds(*kinds) -> str:
    return "(" + ", ".join(f"'{k}'" for k in kinds) + ")"


# The value before an event: a changed field's old value; before a restoration "removed"; before a
# removal the status it had (older removal events kept none: LEGACY_STATUS_BEFORE_REMOVAL).
_OLD_VALUE = (f"CASE c.kind WHEN '{ChangeKind.CHANGED}' THEN c.old_value WHEN '{ChangeKind.RESTORED}' "
              f"THEN '{NumberStatus.REMOVED}' ELSE COALESCE(NULLIF(c.old_value, ''), '{LEGACY_STATUS_BEFORE_REMOVAL}') END")


def _changed_after(sort_column: str) -> str:
    """History rows (alias c) that change ``sort_column``, removals and restorations for status."""
    condition = f"c.field = '{sort_column}'"
    if sort_column == "status":
        # Events have no field: both parts stay ranges of change_field_at (field, at), not a scan.
        condition = (f"c.field IN ('status', '') AND (c.field = 'status' OR c.kind IN "
                     f"{_kinds(ChangeKind.REMOVED, ChangeKind.RESTORED)})")
    return condition


def _decode(field, text: str, pg: bool) -> str:
    """SQL turning history's text form (ingest._display) back into the column's type."""
    kind = field.get_internal_type()
    if kind in ("CharField", "TextField"):
        return text
    if kind == "BooleanField":
        return f"CASE {text} WHEN 'True' THEN {'true' if pg else 1} WHEN 'False' THEN {'false' if pg else 0} END"
    if kind in ("IntegerField", "PositiveIntegerField", "ForeignKey", "BigIntegerField"):
        return f"CAST(NULLIF({text}, '') AS {'integer' if pg else 'INTEGER'})"
    if kind == "DecimalField":
        return f"CAST(NULLIF({text}, '') AS {'numeric' if pg else 'NUMERIC'})"
    if kind == "DateTimeField":
        if pg:
            return f"CAST(NULLIF({text}, '') AS timestamptz)"
        # Stored like Django's SQLite form (UTC, "YYYY-MM-DD HH:MM:SS.ffffff") so it compares as text.
        return f"strftime('%%Y-%%m-%%d %%H:%%M:%%f', NULLIF({text}, ''))"
    raise NotImplementedError(f"as-of decoding of {kind}")


def _select_list(pg: bool, raw_column: str | None, raw_source: str = "") -> str:
    """The rebuilt columns, over the inner row ``h``: the live columns plus ``j`` (_events_sql).
    ``raw_column`` is read as it is (the half where it did not change after T), or from
    ``raw_source`` (already rebuilt and typed: the ordered changed half)."""
    has = (lambda f: f"COALESCE(h.j ? '{f}', false)") if pg else (lambda f: f"(json_type(h.j, '$.{f}') IS NOT NULL)")
    get = (lambda f: f"(h.j ->> '{f}')") if pg else (lambda f: f"json_extract(h.j, '$.{f}')")
    c = _q(NumberChange._meta.db_table)
    cols = []
    for field in PhoneNumber._meta.concrete_fields:
        col, name = _q(field.column), field.attname
        if name == raw_column:
            expr = raw_source or f"h.{col}"
        elif name in _TRACKED or name == "status":
            expr = f"CASE WHEN {has(name)} THEN {_decode(field, get(name), pg)} ELSE h.{col} END"
        elif name == "removed_at":
            # Removed at T: the last removal at or before T. Unchanged status after T: the live date.
            expr = (f"CASE WHEN NOT {has('status')} THEN h.{col} WHEN {get('status')} = '{NumberStatus.REMOVED}' "
                    f"THEN (SELECT MAX(c.at) FROM {c} c WHERE c.number_id = h.id AND c.kind = '{ChangeKind.REMOVED}' "
                    f"AND c.at <= %s) END")
        elif name == "missing_since":
            # Missing at T: the last missing/found/removed/restored event at or before T is "missing".
            expr = (f"CASE WHEN NOT {has('_m')} THEN h.{col} ELSE (SELECT CASE WHEN c.kind = '{ChangeKind.MISSING}' "
                    f"THEN c.at END FROM {c} c WHERE c.number_id = h.id AND c.at <= %s AND c.kind IN "
                    f"{_kinds(*_MISSING_KINDS)} ORDER BY c.at DESC, c.id DESC LIMIT 1) END")
        elif name == "last_changed_at":
            # The last recorded change at or before T (a payload-only change leaves no history).
            expr = (f"CASE WHEN h.{col} <= %s THEN h.{col} ELSE COALESCE((SELECT MAX(c.at) FROM {c} c "
                    f"WHERE c.number_id = h.id AND c.at <= %s AND c.kind IN {_kinds(*_CHANGE_KINDS)}), h.first_seen) END")
        elif name == "last_seen":
            expr = f"CASE WHEN h.{col} <= %s THEN h.{col} ELSE %s END"
        else:
            expr = f"h.{col}"
        if pg and expr not in (f"h.{col}", raw_source):
            expr = f"CAST({expr} AS {field.db_type(connection)})"  # the column's own type, not text
        cols.append(f"{expr} AS {col}")
    return ", ".join(cols)


def _branch(pg: bool, where: str = "", raw_column: str | None = None) -> str:
    n = _q(PhoneNumber._meta.db_table)
    if pg:
        inner = (f"SELECT n.*, h0.j FROM {n} n LEFT JOIN LATERAL ({_events_sql(pg)}) h0 ON true "
                 f"WHERE n.first_seen <= %s")
    else:
        inner = f"SELECT n.*, ({_events_sql(pg)}) AS j FROM {n} n WHERE n.first_seen <= %s"
    return f"SELECT {_select_list(pg, raw_column)} FROM ({inner}) h" + (f" WHERE {where}" if where else "")


def _ordered_changed_half(sort_column: str, order: str) -> str:
    """PostgreSQL: the rows whose ``sort_column`` changed after T, driven by their value at T
    (the first old value after T, from ``change_field_at``) sorted in the page's order. The
    fence (OFFSET 0) keeps that order, so the page query walks it row by row, rebuilding and
    filtering each, and stops after the page instead of rebuilding every changed row."""
    field = next(f for f in PhoneNumber._meta.concrete_fields if f.attname == sort_column)
    c, n = _q(NumberChange._meta.db_table), _q(PhoneNumber._meta.db_table)
    direction = "DESC" if order == "desc" else "ASC"
    value = f"CAST({_decode(field, _OLD_VALUE, True)} AS {field.db_type(connection)})"
    at_t = (f"SELECT o.number_id, o.v FROM (SELECT DISTINCT ON (c.number_id) c.number_id, {value} AS v FROM {c} c "
            f"WHERE {_changed_after(sort_column)} AND c.at > %s ORDER BY c.number_id, c.at, c.id) o "
            f"ORDER BY o.v {direction}, o.number_id {direction} OFFSET 0")
    inner = (f"SELECT n.*, h0.j, o.v AS sort_value FROM ({at_t}) o JOIN {n} n ON n.id = o.number_id "
             f"LEFT JOIN LATERAL ({_events_sql(True)}) h0 ON true WHERE n.first_seen <= %s")
    return f"SELECT {_select_list(True, sort_column, 'h.sort_value')} FROM ({inner}) h"


_PLACEHOLDER = re.compile(r"(?<!%)%s")


def table_sql(moment: dt.datetime, part: str = "", sort_column: str = "", order: str = "") -> tuple[str, tuple]:
    """(SQL, params) of the table at ``moment`` (or of one half of it, see ``split``); every
    placeholder is that moment."""
    pg = connection.vendor == "postgresql"
    if part == "unchanged":
        has = f"COALESCE(h.j ? '{sort_column}', false)" if pg else f"json_type(h.j, '$.{sort_column}') IS NOT NULL"
        sql = _branch(pg, f"NOT {has}", sort_column)
    elif part == "changed" and pg and order:
        sql = _ordered_changed_half(sort_column, order)
    elif part == "changed":
        c = _q(NumberChange._meta.db_table)
        sql = _branch(pg, f"h.id IN (SELECT c.number_id FROM {c} c WHERE {_changed_after(sort_column)} AND c.at > %s)")
    else:
        sql = _branch(pg)
    at = connection.ops.adapt_datetimefield_value(moment)
    return sql, (at,) * len(_PLACEHOLDER.findall(sql))
