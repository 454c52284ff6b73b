"""Ops user in a real browser: log in, filter by country, sort, open a number, see its trunk."""

from __future__ import annotations

import re

import pytest

from numbersadmin.inventory.models import PhoneNumber

from ..support.helpers import sync
from .conftest import login, numbers_in_table, shot

pytestmark = pytest.mark.django_db(transaction=True)


def test_filter_sort_open_number_and_see_trunk(page, live_server, didww_account, ops_user):
    assert sync(didww_account).state == "succeeded"
    login(page, live_server, "bob", "pw-bob-123")
    shot(page, "numbers-list")

    # Filter by country through the HTMX form: URL keeps the filter, table shows only GB.
    page.select_option("#id_country", "GB")
    page.wait_for_url(re.compile(r".*country=GB.*"))
    page.wait_for_function("() => [...document.querySelectorAll('#numbers-table td[data-col=e164] a.num')].every(a => a.textContent.startsWith('+44'))")
    gb = numbers_in_table(page)
    assert gb and all(n.startswith("+44") for n in gb)
    expected = PhoneNumber.objects.filter(country="GB").count()
    assert f"of {expected}" in page.locator(".pager .count").first.inner_text()

    # Sort descending by number via the header (twice: ascending is the default).
    page.click("#numbers-table th a[data-sort=e164]")
    page.wait_for_url(re.compile(r".*sort=-e164.*"))
    page.wait_for_function("() => document.querySelector('#numbers-table th[aria-sort=descending]') !== null")
    desc = numbers_in_table(page)
    assert desc == sorted(desc, reverse=True) and "country=GB" in page.url
    shot(page, "numbers-gb-sorted")

    # Reload keeps everything (filters live in the URL).
    page.reload()
    assert numbers_in_table(page) == desc

    # Open a number that has a trunk and see the trunk.
    target = PhoneNumber.objects.filter(country="GB").exclude(trunk=None).order_by("-e164").first()
    page.click(f"text={target.e164}")
    page.wait_for_url(re.compile(rf".*/numbers/{target.pk}/"))
    assert target.trunk.name in page.locator("#number-trunk").inner_text()
    shot(page, "number-detail")
    page.click("#number-trunk a")
    page.wait_for_url(re.compile(r".*/trunks/\d+/"))
    assert target.e164 in page.content() or "See all" in page.content()


def test_admin_sees_sync_progress_and_accounts(page, live_server, didww_account, admin_user):
    assert sync(didww_account).state == "succeeded"
    login(page, live_server, "alice", "pw-alice-123")
    page.goto(f"{live_server.url}/accounts/")
    row = page.locator("tr[data-account='DIDWW main']")
    assert "Succeeded" in row.inner_text() and "synced" in row.inner_text()
    assert "sim-key" not in page.content()
    shot(page, "accounts")


def test_sync_now_shows_live_progress_then_the_result(page, live_server, didww_account, admin_user, didww_sim, settings):
    settings.TASK_RUNNER = "thread"  # the real embedded runner: the POST returns while the sync runs
    didww_sim.latency = 0.5  # 3 DID pages + 2 trunk pages: a few seconds of visible progress
    login(page, live_server, "alice", "pw-alice-123")
    page.goto(f"{live_server.url}/accounts/")
    page.click("tr[data-account='DIDWW main'] button:has-text('Sync now')")
    row = page.locator("tr[data-account='DIDWW main']")
    # The accounts table polls itself: progress with pages and "N of 250 numbers" appears...
    page.wait_for_function(
        "() => /page [1-9].* [0-9]+ of 250 numbers/.test(document.querySelector(\"tr[data-account='DIDWW main']\").innerText)",
        timeout=15000)
    shot(page, "accounts-sync-progress")
    # ...and is replaced by the result without a reload.
    page.wait_for_function(
        "() => document.querySelector(\"tr[data-account='DIDWW main']\").innerText.includes('Succeeded')", timeout=30000)
    assert "250 numbers" in row.inner_text()
    assert PhoneNumber.objects.filter(account=didww_account).count() == 250
