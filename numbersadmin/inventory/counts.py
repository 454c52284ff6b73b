"""NumberCount (models.NumberCount): the triggers that keep it exact, reading list counts from it,
checking it against the numbers table and rebuilding it.

Migration 0016_dashboard_counts installs the triggers; post_migrate (apps.py) puts them back if a
later migration lost them. Check and rebuild are for trust and repair: a restore of the numbers
table without the counts, triggers disabled by hand, a bug. ``manage.py number_counts --check``
exits non-zero on any drift; ``--rebuild`` recounts under a lock."""

from __future__ import annotations

from django.db import connection, connections, transaction
from django.db.models import BooleanField, Count, ExpressionWrapper, Q, QuerySet, Sum
from django.db.models.expressions import Col
from django.db.models.lookups import Lookup
from django.db.models.sql.constants import INNER
from django.db.models.sql.datastructures import BaseTable
from django.db.models.sql.where import AND

from .models import NumberCount, PhoneNumber, ProviderAccount

KEY = ("account_id", "provider", "country", "status", "removed")

# -- the triggers ---------------------------------------------------------------------------------
# PostgreSQL: statement-level triggers with transition tables, so a sync writing 100,000 rows does
# one GROUP BY per statement, not one counts upsert per row. SQLite has row-level triggers only:
# one upsert per row, and updates only when a counted column changed. Decrements are plain
# UPDATEs (never inserting a negative row), so a flush that empties the counts table before the
# numbers table leaves it empty, not negative.
SQL_KEY = "account_id, provider, country, status, removed"
KEY_OF = "account_id, provider, country, status, removed_at IS NOT NULL"

POSTGRES = f"""
CREATE OR REPLACE FUNCTION inventory_numbercount_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM inventory_numbercount;
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO inventory_numbercount AS c ({SQL_KEY}, n)
        SELECT {KEY_OF}, count(*) FROM new_rows GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
        ON CONFLICT ({SQL_KEY}) DO UPDATE SET n = c.n + EXCLUDED.n;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE inventory_numbercount c SET n = c.n - d.n
        FROM (SELECT {KEY_OF} AS removed, count(*) AS n FROM old_rows GROUP BY 1, 2, 3, 4, 5) d
        WHERE (c.account_id, c.provider, c.country, c.status, c.removed)
            = (d.account_id, d.provider, d.country, d.status, d.removed);
    ELSE  -- UPDATE: old rows out, new rows in; keys whose rows did not move cancel out
        WITH d AS (
            SELECT {SQL_KEY}, sum(n) AS n FROM (
                SELECT {KEY_OF} AS removed, 1 AS n FROM new_rows
                UNION ALL SELECT {KEY_OF}, -1 FROM old_rows) x
            GROUP BY 1, 2, 3, 4, 5 HAVING sum(n) <> 0
        ), dec AS (
            UPDATE inventory_numbercount c SET n = c.n + d.n FROM d
            WHERE d.n < 0 AND (c.account_id, c.provider, c.country, c.status, c.removed)
                = (d.account_id, d.provider, d.country, d.status, d.removed)
        )
        INSERT INTO inventory_numbercount AS c ({SQL_KEY}, n)
        SELECT {SQL_KEY}, n FROM d WHERE n > 0 ORDER BY 1, 2, 3, 4, 5
        ON CONFLICT ({SQL_KEY}) DO UPDATE SET n = c.n + EXCLUDED.n;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER inventory_numbercount_ins AFTER INSERT ON inventory_phonenumber
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION inventory_numbercount_sync();
CREATE TRIGGER inventory_numbercount_upd AFTER UPDATE ON inventory_phonenumber
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION inventory_numbercount_sync();
CREATE TRIGGER inventory_numbercount_del AFTER DELETE ON inventory_phonenumber
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION inventory_numbercount_sync();
CREATE TRIGGER inventory_numbercount_trunc AFTER TRUNCATE ON inventory_phonenumber
    FOR EACH STATEMENT EXECUTE FUNCTION inventory_numbercount_sync();
"""
POSTGRES_DROP = """
DROP TRIGGER IF EXISTS inventory_numbercount_ins ON inventory_phonenumber;
DROP TRIGGER IF EXISTS inventory_numbercount_upd ON inventory_phonenumber;
DROP TRIGGER IF EXISTS inventory_numbercount_del ON inventory_phonenumber;
DROP TRIGGER IF EXISTS inventory_numbercount_trunc ON inventory_phonenumber;
DROP FUNCTION IF EXISTS inventory_numbercount_sync();
"""


def _sqlite_add(row: str, step: str) -> str:
    return (f"INSERT INTO inventory_numbercount ({SQL_KEY}, n) VALUES ({row}.account_id, {row}.provider, "
            f"{row}.country, {row}.status, {row}.removed_at IS NOT NULL, {step}) "
            f"ON CONFLICT ({SQL_KEY}) DO UPDATE SET n = n + {step};")


def _sqlite_sub(row: str) -> str:
    return (f"UPDATE inventory_numbercount SET n = n - 1 WHERE account_id = {row}.account_id AND provider = {row}.provider "
            f"AND country = {row}.country AND status = {row}.status AND removed = ({row}.removed_at IS NOT NULL);")


SQLITE = [
    f"CREATE TRIGGER inventory_numbercount_ins AFTER INSERT ON inventory_phonenumber BEGIN {_sqlite_add('NEW', 1)} END",
    f"CREATE TRIGGER inventory_numbercount_del AFTER DELETE ON inventory_phonenumber BEGIN {_sqlite_sub('OLD')} END",
    "CREATE TRIGGER inventory_numbercount_upd AFTER UPDATE OF account_id, provider, country, status, removed_at "
    "ON inventory_phonenumber WHEN OLD.account_id IS NOT NEW.account_id OR OLD.provider IS NOT NEW.provider "
    "OR OLD.country IS NOT NEW.country OR OLD.status IS NOT NEW.status "
    "OR (OLD.removed_at IS NULL) <> (NEW.removed_at IS NULL) "
    f"BEGIN {_sqlite_sub('OLD')} {_sqlite_add('NEW', 1)} END",
]
SQLITE_DROP = ["DROP TRIGGER IF EXISTS inventory_numbercount_ins", "DROP TRIGGER IF EXISTS inventory_numbercount_del",
               "DROP TRIGGER IF EXISTS inventory_numbercount_upd"]
FILL = (f"INSERT INTO inventory_numbercount ({SQL_KEY}, n) SELECT {KEY_OF}, count(*) FROM inventory_phonenumber "
        "GROUP BY 1, 2, 3, 4, 5")


def install_triggers(conn) -> None:
    """(Re)create the triggers that keep NumberCount exact; idempotent."""
    drop_triggers(conn)
    with conn.cursor() as cur:
        if conn.vendor == "postgresql":
            cur.execute(POSTGRES)
        elif conn.vendor == "sqlite":
            for sql in SQLITE:
                cur.execute(sql)
        else:
            raise NotImplementedError(f"NumberCount triggers for {conn.vendor}")


def drop_triggers(conn) -> None:
    with conn.cursor() as cur:
        if conn.vendor == "postgresql":
            cur.execute(POSTGRES_DROP)
        else:
            for sql in SQLITE_DROP:
                cur.execute(sql)


def triggers_missing(conn) -> bool:
    names = {"inventory_numbercount_ins", "inventory_numbercount_upd", "inventory_numbercount_del"}
    with conn.cursor() as cur:
        if conn.vendor == "postgresql":
            names.add("inventory_numbercount_trunc")
            cur.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = 'inventory_phonenumber'::regclass")
        else:
            cur.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'inventory_phonenumber'")
        return not names <= {row[0] for row in cur.fetchall()}


def ensure_triggers(using: str = "default", **kwargs) -> bool:
    """post_migrate: put the triggers back (and recount) if a migration lost them. SQLite rebuilds
    a table for many schema changes (new table, copy, drop the old), and dropping a table drops
    its triggers. Returns whether anything was missing."""
    conn = connections[using]
    tables = conn.introspection.table_names()
    if "inventory_numbercount" not in tables or "inventory_phonenumber" not in tables or not triggers_missing(conn):
        return False
    with transaction.atomic(using=using):
        install_triggers(conn)
        rebuild()
    return True


# PhoneNumber columns an equality filter on which NumberCount answers (NumberCount field).
_EQUAL = {"provider": "provider", "country": "country", "status": "status", "account": "account_id"}


def _kept_filter(qs: QuerySet) -> dict | None:
    """NumberCount filter kwargs selecting exactly the rows of numbers queryset ``qs``, or None when
    its WHERE is anything but an AND of: equality on provider / country / status / account, the
    account IN a user's scope (scopes.scoped),
    removed_at IS [NOT] NULL, and the account's archived_at IS [NOT] NULL (the numbers list's
    defaults and the dashboard's links)."""
    query = qs.query
    if (qs.model is not PhoneNumber or query.distinct or query.combinator or query.is_sliced
            or query.where.negated or query.where.connector != AND):
        return None
    base = query.get_initial_alias()
    # The live table itself (not a subclass standing in for it, e.g. the numbers "as of" a past moment).
    if type(query.alias_map[base]) is not BaseTable:
        return None
    # Joins must not drop rows: outer joins, or inner ones along a non-null foreign key (select_related).
    joins = {alias: join for alias, join in query.alias_map.items() if alias != base}
    if any(j.join_type == INNER and j.nullable for j in joins.values()):
        return None
    found: dict = {}
    for child in query.where.children:
        if not isinstance(child, Lookup) or not isinstance(child.lhs, Col) or hasattr(child.rhs, "resolve_expression"):
            return None
        field, value = child.lhs.target, getattr(child.rhs, "pk", child.rhs)
        if field.model is PhoneNumber and field.name in _EQUAL and child.lookup_name == "exact":
            key = _EQUAL[field.name]
        elif field.model is PhoneNumber and field.name == "account" and child.lookup_name == "in":
            key, value = "account_id__in", tuple(sorted(getattr(v, "pk", v) for v in value))  # a user's scope
        elif field.model is PhoneNumber and field.name == "removed_at" and child.lookup_name == "isnull":
            key, value = "removed", not value
        elif (field.model is ProviderAccount and field.name == "archived_at" and child.lookup_name == "isnull"
              and getattr(joins.get(child.lhs.alias), "join_field", None) == PhoneNumber._meta.get_field("account")):
            key = "account__archived_at__isnull"
        else:
            return None
        if key in found and found[key] != value:
            return None
        found[key] = value
    return found


def kept_count(qs: QuerySet) -> int | None:
    """``qs.count()`` read from NumberCount (a few rows) when the filter allows (``_kept_filter``),
    else None: exact without counting the numbers table."""
    filters = _kept_filter(qs)
    if filters is None:
        return None
    return NumberCount.objects.filter(**filters).aggregate(n=Sum("n"))["n"] or 0


def counted() -> dict[tuple, int]:
    """The numbers table grouped by the counts key (a full scan: for checks, not pages)."""
    removed = ExpressionWrapper(Q(removed_at__isnull=False), output_field=BooleanField())
    rows = PhoneNumber.objects.order_by().annotate(removed=removed).values(*KEY).annotate(n=Count("pk"))
    return {tuple(r[k] for k in KEY): r["n"] for r in rows}


def kept() -> dict[tuple, int]:
    """NumberCount as stored, rows at 0 left out (they stay behind when numbers leave a key)."""
    return {tuple(r[:5]): r[5] for r in NumberCount.objects.exclude(n=0).values_list(*KEY, "n")}


def drift() -> dict[tuple, tuple[int, int]]:
    """key -> (stored, actual) wherever they differ; empty when the counts are exact."""
    stored, actual = kept(), counted()
    return {k: (stored.get(k, 0), actual.get(k, 0)) for k in stored.keys() | actual.keys()
            if stored.get(k, 0) != actual.get(k, 0)}


@transaction.atomic
def rebuild() -> int:
    """Recount from the numbers table; returns the number of keys. Writers wait meanwhile (on
    SQLite the write transaction already excludes them)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("LOCK TABLE inventory_phonenumber IN SHARE MODE")
    NumberCount.objects.all().delete()
    rows = counted()
    NumberCount.objects.bulk_create(NumberCount(**dict(zip(KEY, k)), n=n) for k, n in rows.items())
    return len(rows)
