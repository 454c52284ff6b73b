"""PostgreSQL planner estimates, for counts that would cost a scan (lists, search)."""

from __future__ import annotations

import json

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import QuerySet

from . import asof

# Above this planner estimate the page shows "≈ N" instead of running COUNT(*) (linear in rows).
EXACT_COUNT_LIMIT = 20_000


# Where the planner is known to be wrong about a filter (several search words: it multiplies their
# frequencies as if independent, when "support" and "line" come together), the filter records a
# correction on the query; Query.clone copies it, so every query built on that one keeps it.
_FACTOR = "numbersadmin_estimate_factor"


def correct_estimate(qs: QuerySet, factor: float) -> QuerySet:
    """``qs``, whose planner estimates are to be multiplied by ``factor``."""
    qs = qs.all()
    setattr(qs.query, _FACTOR, getattr(qs.query, _FACTOR, 1.0) * factor)
    return qs


def estimate_rows(qs: QuerySet) -> int | None:
    """PostgreSQL's planner estimate of the rows ``qs`` matches (one EXPLAIN; corrected as
    recorded by correct_estimate); None elsewhere."""
    if connection.vendor != "postgresql":
        return None
    factor = getattr(qs.query, _FACTOR, 1.0)
    try:
        # An "as of" table is estimated as the live one (the planner cannot see through the
        # rebuilt columns, and the two differ by the rows changed since).
        sql, params = asof.live(qs).order_by().values("pk").query.sql_with_params()
    except EmptyResultSet:  # a filter Django knows matches nothing (e.g. a search of "..")
        return 0
    with connection.cursor() as cur:
        cur.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        plan = cur.fetchone()[0]
        if isinstance(plan, str):
            plan = json.loads(plan)
        rows = plan[0]["Plan"]["Plan Rows"] * factor
        # 0 means "Django knows it matches nothing" to callers: a corrected estimate is at least 1.
        return max(1, round(rows)) if factor != 1.0 else int(rows)
