"""Cost roll-up: every figure equals the sum over the numbers list it links to; the trend is
rebuilt from history (what we held at each month's end, at the cost it had then)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from html import unescape

import pytest
from django.utils import timezone

from numbersadmin.inventory import costs
from numbersadmin.inventory.choices import ChangeKind
from numbersadmin.inventory.models import NumberChange, PhoneNumber

from .support.helpers import simulated_account, sync

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def costed(didww_account):
    """Plivo numbers carry a monthly rental rate (USD); DIDWW DIDs carry none (idle routing rows)."""
    with simulated_account("plivo", "Plivo", numbers=60, seed=4) as (_, account):
        assert sync(didww_account).state == "succeeded"
        yield account


def list_cost(client, url: str) -> dict[str, Decimal]:
    """The numbers list's own "monthly cost of these numbers" for a link's query string."""
    query = url.split("?", 1)[1]
    body = client.get(f"/numbers/cost/?{query}").content.decode()
    return {c: Decimal(t) for c, t in re.findall(r'data-currency="([^"]*)" data-total="([^"]+)"', body)}


def test_every_cost_figure_adds_up_on_the_list_it_links_to(costed, ops_client):
    PhoneNumber.objects.filter(pk__in=PhoneNumber.objects.filter(provider="plivo").order_by("pk").values("pk")[:5]).update(status="inactive")
    body = ops_client.get("/costs/").content.decode()
    rows = re.findall(r'<a href="([^"]+)">[^<]*</a></td><td>[\d,]+</td>\s*<td data-total="([^"]+)">[^<]* ([A-Z]{3})</td>', body)
    assert len(rows) > 5
    for url, total, currency in rows:
        assert list_cost(ops_client, unescape(url)).get(currency) == Decimal(total), url
    live = PhoneNumber.objects.filter(removed_at__isnull=True, monthly_cost__isnull=False)
    assert costs.totals_by_currency(live) == {"USD": sum(n.monthly_cost for n in live)}
    inactive = [r for r in costs.idle_costs() if r.label == "Inactive"]
    assert inactive[0].numbers == live.filter(status="inactive").count() >= 5


def test_list_cost_total_follows_the_filters_and_bad_input_is_a_message(costed, ops_client):
    us = PhoneNumber.objects.filter(removed_at__isnull=True, country="US")
    assert list_cost(ops_client, "/numbers/?country=US") == {"USD": sum(n.monthly_cost for n in us if n.monthly_cost)}
    response = ops_client.get("/numbers/cost/?country=ZZ&status=bogus")
    assert response.status_code == 200 and "msg-warning" in response.content.decode()
    page = ops_client.get("/numbers/?country=US").content.decode()
    assert 'href="/numbers/cost/?country=US' in page


def test_trend_rebuilds_past_months_from_history(costed):
    numbers = list(PhoneNumber.objects.filter(provider="plivo").order_by("pk")[:3])
    long_ago = timezone.now() - dt.timedelta(days=400)
    PhoneNumber.objects.update(first_seen=long_ago)
    now = timezone.now()
    month_ago = now - dt.timedelta(days=40)
    # numbers[0] cost 9.00 until 20 days ago; numbers[1] was removed 60 days ago and restored 10 days ago;
    # numbers[2] was first seen 20 days ago.
    NumberChange.objects.create(number=numbers[0], kind=ChangeKind.CHANGED, field="monthly_cost", old_value="9.0000",
                                new_value=str(numbers[0].monthly_cost), at=now - dt.timedelta(days=20))
    NumberChange.objects.create(number=numbers[1], kind=ChangeKind.REMOVED, at=now - dt.timedelta(days=60))
    NumberChange.objects.create(number=numbers[1], kind=ChangeKind.RESTORED, at=now - dt.timedelta(days=10))
    PhoneNumber.objects.filter(pk=numbers[2].pk).update(first_seen=now - dt.timedelta(days=20))
    today = costs.cost_at(now)["USD"]
    then = costs.cost_at(month_ago)["USD"]
    expected = today - numbers[0].monthly_cost + Decimal("9") - numbers[1].monthly_cost - numbers[2].monthly_cost
    assert then == expected
    assert costs.cost_at(now) == costs.totals_by_currency(PhoneNumber.objects.filter(removed_at__isnull=True))


def test_costs_page_renders_with_no_data(ops_client):
    body = ops_client.get("/costs/").content.decode()
    assert "No costs known yet." in body
