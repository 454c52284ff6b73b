"""Monthly recurring cost, read from the inventory (a selector module): totals by provider,
account, country, owner and location, per currency (never converted: no rates are kept), the cost
of idle numbers, and a monthly trend rebuilt from history.

Every figure is the sum of ``monthly_cost`` over the rows of a numbers-list URL, so each one links
to the list that adds up to it (``numbers_cost``, shown on demand under that list, sums the same
rows)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, OuterRef, Q, Subquery, Sum
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from providers import registry

from .choices import ChangeKind, NumberStatus
from .countries import country_name
from .models import NumberChange, PhoneNumber
from .selectors import number_list, scoped

DIMENSIONS = {
    # key: (title, group-by field, label field, numbers-list filter)
    "provider": ("Provider", "provider", None, "provider"),
    "account": ("Account", "account_id", "account__name", "account"),
    "country": ("Country", "country", None, "country"),
    "owner": ("Owner", "owner_id", "owner__name", "owner"),
    "location": ("Location", "location_id", "location__name", "location"),
}
# Idle: paid for, doing nothing visible. Each is one numbers-list filter set.
IDLE = (
    ("no_owner", "No owner (Webex: not assigned to anyone)", {"provider": "webex", "has_owner": "no"}),
    ("inactive", "Inactive", {"status": NumberStatus.INACTIVE}),
    ("suspended", "Suspended", {"status": NumberStatus.SUSPENDED}),
    ("no_route", "Neither trunk nor trunk group (DIDWW)", {"provider": "didww", "trunk": "null", "trunk_group": "null"}),
)
TREND_MONTHS = 12


def numbers_url(params: dict) -> str:
    return f"{reverse('numbers')}?{urlencode(params, doseq=True)}"


@dataclass
class CostRow:
    label: str
    currency: str
    total: Decimal
    numbers: int  # live numbers in the group with this currency
    url: str


@dataclass
class CostTable:
    key: str
    title: str
    rows: list[CostRow] = field(default_factory=list)


def _live():
    return scoped(PhoneNumber.objects).filter(removed_at__isnull=True, account__archived_at__isnull=True)


def _with_cost():
    return _live().filter(monthly_cost__isnull=False)


def totals_by_currency(qs) -> dict[str, Decimal]:
    """{currency: sum} of the numbers in ``qs`` that carry a cost (one GROUP BY)."""
    rows = qs.filter(monthly_cost__isnull=False).order_by().values("currency").annotate(total=Sum("monthly_cost"))
    return {r["currency"]: r["total"] for r in rows}


def cost_table(key: str) -> CostTable:
    title, group, label_field, param = DIMENSIONS[key]
    values = [group] + ([label_field] if label_field else [])
    rows = _with_cost().order_by().values(*values, "currency").annotate(total=Sum("monthly_cost"), n=Count("pk"))
    table = CostTable(key, title)
    for r in rows:
        value = r[group]
        if key == "provider":
            label = registry.PROVIDERS[value].name if value in registry.PROVIDERS else value
        elif key == "country":
            label = f"{country_name(value)} ({value})" if value else "Unknown"
        else:
            label = r[label_field] if value is not None else f"No {title.lower()}"
        filter_value = "null" if value in (None, "") and key in ("owner", "location") else value
        url = numbers_url({param: filter_value}) if filter_value not in (None, "") else ""
        table.rows.append(CostRow(label, r["currency"], r["total"], r["n"], url))
    table.rows.sort(key=lambda row: (row.currency, -row.total, row.label))
    return table


def idle_costs() -> list[CostRow]:
    """Per idle kind and currency, through the numbers list's own selector (so the link adds up)."""
    out = []
    for key, label, params in IDLE:
        qs = number_list(QueryDict(urlencode(params))).qs
        rows = (qs.filter(monthly_cost__isnull=False).order_by().values("currency")
                .annotate(total=Sum("monthly_cost"), n=Count("pk")))
        found = [CostRow(label, r["currency"], r["total"], r["n"], numbers_url(params)) for r in rows]
        out += sorted(found, key=lambda row: row.currency) or [CostRow(label, "", Decimal(0), 0, numbers_url(params))]
    return out


def month_ends(today: dt.date, months: int = TREND_MONTHS) -> list[dt.datetime]:
    """The end of each of the last ``months`` months (the current month: now)."""
    tz = timezone.get_current_timezone()
    ends = []
    first = today.replace(day=1)
    for _ in range(months - 1):
        ends.append(dt.datetime.combine(first, dt.time.min, tzinfo=tz))  # = end of the previous month
        first = (first - dt.timedelta(days=1)).replace(day=1)
    return [timezone.now()] + ends


def cost_at(moment: dt.datetime) -> dict[str, Decimal]:
    """Monthly cost of what we held at ``moment``, per currency, rebuilt from history: numbers
    first seen by then and not removed at the time (their last removed/restored event before it),
    each at the cost it had then (the old value of its first cost change after ``moment``)."""
    lifecycle = NumberChange.objects.filter(number=OuterRef("pk"), at__lte=moment,
                                            kind__in=(ChangeKind.REMOVED, ChangeKind.RESTORED)).order_by("-at", "-id")
    later_cost = NumberChange.objects.filter(number=OuterRef("pk"), at__gt=moment, kind=ChangeKind.CHANGED,
                                             field="monthly_cost").order_by("at", "id")
    rows = (scoped(PhoneNumber.objects).filter(first_seen__lte=moment, account__archived_at__isnull=True)
            .annotate(last_event=Subquery(lifecycle.values("kind")[:1]), cost_then=Subquery(later_cost.values("old_value")[:1]))
            .filter(Q(last_event=ChangeKind.RESTORED) | Q(last_event__isnull=True, removed_at__isnull=True)
                    | Q(last_event__isnull=True, removed_at__gt=moment))
            .values_list("currency", "monthly_cost", "cost_then"))
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for currency, cost, then in rows.iterator(chunk_size=5000):
        # No later change: the cost is today's. A later change's old value is what it was then
        # ("" = no cost known then).
        value = cost if then is None else (Decimal(then) if then else None)
        if value is not None:
            totals[currency] += value
    return dict(totals)


@dataclass
class TrendPoint:
    moment: dt.datetime
    totals: dict


def trend(months: int = TREND_MONTHS) -> list[TrendPoint]:
    return [TrendPoint(m, cost_at(m)) for m in reversed(month_ends(timezone.localdate(), months))]


def overview() -> dict:
    return {"total": totals_by_currency(_live()), "tables": [cost_table(k) for k in DIMENSIONS],
            "idle": idle_costs(), "without_cost": _live().filter(monthly_cost__isnull=True).count(),
            "without_cost_url": numbers_url({"has_cost": "no"})}
