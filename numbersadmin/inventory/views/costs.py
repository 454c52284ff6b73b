"""Cost roll-up page, and the on-demand cost total under the numbers list."""

from __future__ import annotations

from datetime import timedelta

from django.shortcuts import render
from django.utils import timezone

from .. import costs, lists


def month_label(moment) -> str:
    """A month-end point (midnight starting the next month) is labelled with the month it ends."""
    local = timezone.localtime(moment)
    if local.day == 1 and local.hour == 0 and local.minute == 0:
        local -= timedelta(days=1)
    return f"{local:%b %Y}"


def cost_overview(request):
    data = costs.overview()
    points = costs.trend()
    currencies = sorted({c for p in points for c in p.totals} | set(data["total"]))
    charts = []
    for currency in currencies:
        top = max((p.totals.get(currency, 0) for p in points), default=0) or 1
        charts.append({"currency": currency, "bars": [
            {"label": month_label(p.moment), "total": p.totals.get(currency, 0),
             "width": f"{100 * p.totals.get(currency, 0) / top:.1f}"} for p in points]})
    return render(request, "inventory/costs.html", {**data, "charts": charts})


def numbers_cost(request):
    """The monthly cost of exactly the rows the numbers list shows for this query string."""
    spec = lists.get_spec("numbers")
    filterset = spec.filterset(request.GET)
    notices = lists.form_notices(filterset)
    qs = filterset.qs
    totals = costs.totals_by_currency(qs)
    without = qs.filter(monthly_cost__isnull=True).count()
    template = "inventory/numbers/cost_total.html" if request.htmx else "inventory/numbers/cost_page.html"
    return render(request, template, {"totals": sorted(totals.items()), "without": without, "notices": notices,
                                      "partial": request.htmx, "list_url": f"{spec.url}?{request.GET.urlencode()}"})
