"""Home page: inventory totals and sync health. Every figure links to the list it counts, filtered
so that the list shows exactly that many rows (selectors.dashboard_figures counts the same way)."""

from __future__ import annotations

from dataclasses import dataclass, field

import phonenumbers
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode

from providers import registry

from .. import costs, selectors
from ..choices import NumberStatus
from ..countries import country_name

TOP_COUNTRIES = 10


@dataclass
class Bar:
    label: str
    count: int
    href: str | None  # None: no list filter selects exactly these rows (unknown country, "other")
    key: str = ""  # CSS hook (status colours)
    width: str = "0"  # percent of the chart's largest bar, for the SVG rect


@dataclass
class Chart:
    key: str
    title: str
    bars: list[Bar] = field(default_factory=list)
    note: str = ""

    def __post_init__(self):
        top = max((b.count for b in self.bars), default=0)
        for bar in self.bars:
            # Non-zero bars keep a sliver so a small count next to a huge one is still visible.
            pct = 100 * bar.count / top if top else 0
            bar.width = f"{max(pct, 0.8) if bar.count else 0:.1f}"


def _numbers_url(**params) -> str:
    return costs.numbers_url(params)


def _provider_chart(figures) -> Chart:
    # Providers with an account show even at 0, so "no numbers yet" is visible too.
    slugs = {a.provider for a in figures.accounts} | set(figures.by_provider)
    bars = [Bar(registry.PROVIDERS[s].name if s in registry.PROVIDERS else s, figures.by_provider.get(s, 0),
                _numbers_url(provider=s) if s in registry.PROVIDERS else None) for s in slugs]
    return Chart("provider", "Numbers by provider", sorted(bars, key=lambda b: (-b.count, b.label)))


def _account_chart(figures) -> Chart:
    bars = [Bar(a.name, a.number_count, _numbers_url(account=a.pk)) for a in figures.accounts]
    return Chart("account", "Numbers by account", sorted(bars, key=lambda b: (-b.count, b.label)))


def _status_chart(figures) -> Chart:
    # Every canonical status in a fixed order, zeros included: the shape stays comparable.
    bars = [Bar(label, figures.by_status.get(value, 0), _numbers_url(status=value), key=value)
            for value, label in NumberStatus.choices]
    return Chart("status", "Numbers by status", bars, note="Removed counts numbers gone from their provider.")


def _country_chart(figures) -> Chart:
    known = sorted(((c, n) for c, n in figures.by_country.items() if c), key=lambda x: (-x[1], x[0]))
    # The country filter accepts every phonenumbers region; anything else gets no link rather than
    # one the list would ignore (showing every number).
    bars = [Bar(country_name(code), n, _numbers_url(country=code) if code in phonenumbers.SUPPORTED_REGIONS else None)
            for code, n in known[:TOP_COUNTRIES]]
    rest = known[TOP_COUNTRIES:]
    if rest:
        bars.append(Bar(f"{len(rest)} other countr{'y' if len(rest) == 1 else 'ies'}", sum(n for _, n in rest), None))
    if figures.by_country.get(""):
        bars.append(Bar("Unknown", figures.by_country[""], None))
    note = f"Top {TOP_COUNTRIES} countries." if rest else ""
    return Chart("country", "Numbers by country", bars, note=note)


def dashboard(request):
    figures = selectors.dashboard_figures()
    days = figures.expiry_days
    return render(request, "inventory/dashboard.html", {
        "figures": figures,
        "charts": [_provider_chart(figures), _account_chart(figures), _status_chart(figures), _country_chart(figures)],
        "sync_rows": [(a, figures.latest_runs.get(a.pk)) for a in figures.accounts],
        # view=none: a bare list URL would open the user's default saved view (maybe filtered).
        "numbers_url": _numbers_url(view="none"),
        "expiring_numbers_url": _numbers_url(expires_within=days),
        "expiring_caller_ids_url": f"{reverse('caller_ids')}?{urlencode({'expires_within': days})}",
        "accounts_url": reverse("accounts"),
        "stale_url": f"{reverse('accounts')}?stale=yes",
        "failing_url": f"{reverse('accounts')}?failing=yes",
    })
