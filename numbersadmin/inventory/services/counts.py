"""NumberCount (models.NumberCount): check it against the numbers table, rebuild it.

Triggers keep it exact (migration 0015_dashboard_counts); these are for trust and repair: a
restore of the numbers table without the counts, triggers disabled by hand, a bug. ``manage.py
number_counts --check`` exits non-zero on any drift; ``--rebuild`` recounts under a lock."""

from __future__ import annotations

from django.db import connection, transaction
from django.db.models import BooleanField, Count, ExpressionWrapper, Q, QuerySet, Sum
from django.db.models.expressions import Col
from django.db.models.lookups import Lookup
from django.db.models.sql.constants import INNER
from django.db.models.sql.datastructures import BaseTable
from django.db.models.sql.where import AND

from ..models import NumberCount, PhoneNumber, ProviderAccount

KEY = ("account_id", "provider", "country", "status", "removed")


# PhoneNumber columns an equality filter on which NumberCount answers (NumberCount field).
_EQUAL = {"provider": "provider", "country": "country", "status": "status", "account": "account_id"}


def _kept_filter(qs: QuerySet) -> dict | None:
    """NumberCount filter kwargs selecting exactly the rows of numbers queryset ``qs``, or None when
    its WHERE is anything but an AND of: equality on provider / country / status / account,
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
