"""A failing account is visible (issue 13, "failing account visible"): the simulator answers 500,
an admin syncs twice from the accounts page, and the dashboard shows a failing figure that opens
exactly that account, a red badge with the last good sync, no "synced recently" reassurance; the
run page says in plain words what happened, that the inventory is unchanged, and what to do."""

from __future__ import annotations

import re

import pytest

from numbersadmin.inventory.models import PhoneNumber, SyncRun

from ..support.helpers import snapshot, sync
from .conftest import login, shot

pytestmark = pytest.mark.django_db(transaction=True)

WIDTHS = {"wide": (1440, 900), "narrow": (390, 844)}


def sync_now_and_wait(page, account, runs_before: int) -> None:
    """Click "Sync now" on the accounts page and wait until the new run has failed on screen."""
    row = page.locator(f"tr[data-account='{account.name}']")
    row.locator("button:has-text('Sync now')").click()
    page.wait_for_url(re.compile(r".*/accounts/$"))
    # The new run exists before the redirect: the row shows it queued or running (a progress bar,
    # polled), then failed.
    page.wait_for_function(
        "name => { const r = document.querySelector(`tr[data-account='${name}']`);"
        " return r && r.innerText.includes('Failed') && !r.querySelector('progress'); }",
        arg=account.name, timeout=30000)
    assert SyncRun.objects.filter(account=account).count() == runs_before + 1


def shots(page, name: str) -> None:
    for label, (width, height) in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        shot(page, f"{name}-{label}")
    page.set_viewport_size({"width": 1400, "height": 900})


def test_failing_account_is_visible_on_dashboard_and_run_page(page, live_server, didww_account, didww_sim,
                                                              admin_user, settings):
    assert sync(didww_account).state == "succeeded"
    before = snapshot(didww_account)
    settings.TASK_RUNNER = "thread"  # "Sync now" as in production: the run happens behind the page
    didww_sim.faults.fail(500, path="/dids", times=None)  # the provider is down from now on

    login(page, live_server, "alice", "pw-alice-123", "/accounts/")
    for attempt in range(2):
        sync_now_and_wait(page, didww_account, runs_before=1 + attempt)
    assert snapshot(didww_account) == before  # two failed runs changed nothing

    # Dashboard: the failing figure, red, counting this account; no reassurance.
    page.goto(f"{live_server.url}/")
    kpi = page.locator("#kpi-failing")
    assert kpi.get_attribute("data-count") == "1" and "kpi-bad" in kpi.get_attribute("class")
    assert kpi.locator(".kpi-value").inner_text() == "1"
    assert page.locator("#kpi-stale").get_attribute("data-count") == "0"
    assert "Every enabled account synced recently" not in page.locator(".dash-health").inner_text()
    badge = page.locator("#last-syncs-table tr[data-account='DIDWW main'] .fresh")
    assert "failing" in badge.get_attribute("class")
    assert re.fullmatch(r"failed just now · last good sync (just now|\d+\s\w+ ago)", badge.inner_text()), badge.inner_text()
    red = badge.evaluate("el => getComputedStyle(el).color")
    assert red == "rgb(192, 38, 45)", red  # --bad
    assert page.locator("#failing-accounts").get_by_text("DIDWW main").is_visible()
    assert "synced just now" not in page.locator("#last-syncs-table").inner_text()
    shots(page, "dashboard-failing-account")

    # The figure opens its table: exactly the failing account.
    kpi.click()
    page.wait_for_url(re.compile(r".*/accounts/\?failing=yes$"))
    assert page.locator("#account-count").inner_text() == "1 failing account"
    assert page.locator("#accounts-table tbody tr[data-account]").count() == 1
    assert page.locator("tr[data-account='DIDWW main'] .fresh.failing").is_visible()
    assert "provider unavailable" in page.locator("tr[data-account='DIDWW main']").inner_text()

    # The run page, from the failing card: plain words, the stage it stopped at, the class as a code.
    page.goto(f"{live_server.url}/")
    page.locator("#failing-accounts a.run-link").click()
    last = SyncRun.objects.filter(account=didww_account).latest("created_at")
    page.wait_for_url(re.compile(rf".*/syncs/{last.pk}/$"))
    outcome = page.locator("#run-outcome")
    assert page.locator("#run-headline").inner_text().startswith(
        "Failed while fetching numbers. The provider could not be reached or answered with a server error")
    assert page.locator("#run-inventory").inner_text().startswith("Inventory unchanged: nothing from this run was applied")
    assert page.locator("#run-action").inner_text().startswith("What to do: Usually temporary")
    assert outcome.locator("code").inner_text() == "unavailable"
    assert page.locator("#run-stage").inner_text() == "failed while fetching numbers"
    assert "connecting" not in page.locator("#run").inner_text()
    assert "sim-key-0123456789" not in page.content()
    shots(page, "sync-run-failed")
    assert PhoneNumber.objects.filter(account=didww_account).count() == len(before)
