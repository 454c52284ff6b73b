"""Sort by renewal in a real browser: the "Renews" header sorts ascending, then descending; rows
without a renewal date stay last both ways."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from numbersadmin.inventory.models import PhoneNumber

from ..support.helpers import sync
from .conftest import login, shot

pytestmark = pytest.mark.django_db(transaction=True)


def _renewals(page) -> list[str]:
    return [t.strip() for t in page.locator("#numbers-table td[data-col=renews]").all_inner_texts()]


def _check(cells: list[str], descending: bool) -> None:
    dates = [c for c in cells if c != "—"]
    assert dates and len(dates) < len(cells), cells  # some dated, some blank on this page
    assert cells == dates + ["—"] * (len(cells) - len(dates)), cells  # blanks last
    assert dates == sorted(dates, reverse=descending), cells


def test_renews_header_sorts_with_blanks_last_both_ways(page, live_server, didww_account, ops_user):
    assert sync(didww_account).state == "succeeded"
    # Few enough rows that one 100-row page holds them all: a mix of dates and blanks.
    live = PhoneNumber.objects.filter(removed_at=None).order_by("pk")
    keep = list(live.values_list("pk", flat=True)[:40])
    live.exclude(pk__in=keep).update(removed_at=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))
    PhoneNumber.objects.filter(pk__in=keep[::3]).update(expires_at=None)
    base = dt.datetime(2027, 1, 1, tzinfo=dt.timezone.utc)
    for i, pk in enumerate(keep):
        if i % 3:
            PhoneNumber.objects.filter(pk=pk).update(expires_at=base + dt.timedelta(days=(i * 7) % 40))
    login(page, live_server, "bob", "pw-bob-123", next_path="/numbers/?per_page=100")

    page.click("#numbers-table th a[data-sort=renews]")
    page.wait_for_url(re.compile(r".*sort=renews.*"))
    page.wait_for_function("() => document.querySelector('#numbers-table th[data-col=renews][aria-sort=ascending]')")
    _check(_renewals(page), descending=False)
    shot(page, "numbers-sorted-by-renewal")

    page.click("#numbers-table th a[data-sort=renews]")
    page.wait_for_url(re.compile(r".*sort=-renews.*"))
    page.wait_for_function("() => document.querySelector('#numbers-table th[data-col=renews][aria-sort=descending]')")
    _check(_renewals(page), descending=True)
    shot(page, "numbers-sorted-by-renewal-desc")
