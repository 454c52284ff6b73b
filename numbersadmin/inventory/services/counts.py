"""NumberCount (models.NumberCount): check it against the numbers table, rebuild it.

Triggers keep it exact (migration 0015_dashboard_counts); these are for trust and repair: a
restore of the numbers table without the counts, triggers disabled by hand, a bug. ``manage.py
number_counts --check`` exits non-zero on any drift; ``--rebuild`` recounts under a lock."""

from __future__ import annotations

from django.db import connection, transaction
from django.db.models import BooleanField, Count, ExpressionWrapper, Q

from ..models import NumberCount, PhoneNumber

KEY = ("account_id", "provider", "country", "status", "removed")


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
