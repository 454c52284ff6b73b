"""Alerts in a real browser (issue 15): the dashboard's "Needs attention" panel lists open items
by rule; acknowledging one and snoozing another (reason + date) from the panel takes them off it
(HTMX swaps the panel in place) and changes their state; the layout holds at 1440 and 390 px."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from numbersadmin.alerts.models import AlertRule, ItemState, RuleKind
from numbersadmin.alerts.services import manage
from numbersadmin.alerts.services.rules import evaluate_rule
from numbersadmin.inventory.models import AuditLog, CallerId, ProviderAccount

from .conftest import login, shot
from .test_layout_ui import DESKTOP, PHONE, overflow_of

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def alert_items():
    account = ProviderAccount.objects.create(provider="voximplant", name="Voximplant main",
                                             base_url="https://example.invalid")
    today = timezone.localdate()
    for n, days in ((1, 5), (2, 9), (3, 40)):
        CallerId.objects.create(account=account, external_id=f"c{n}", number_raw=f"4420123400{n:02d}",
                                e164=f"+4420123400{n:02d}", verified_until=today + dt.timedelta(days=days))
    channel, _ = manage.get_or_create_channel("email", "network-operations@example.com")
    rule = AlertRule.objects.create(kind=RuleKind.CALLER_ID_EXPIRING, days=14)
    rule.channels.set([channel])
    evaluate_rule(rule)
    items = list(rule.items.order_by("first_seen", "label", "id"))
    assert [i.state for i in items] == [ItemState.OPEN, ItemState.OPEN]
    return rule, items


def test_acknowledge_and_snooze_from_the_dashboard_panel(page, live_server, ops_user, alert_items):
    rule, (first, second) = alert_items
    page.set_viewport_size(DESKTOP)
    login(page, live_server, "bob", "pw-bob-123", "/")
    panel = page.locator("#needs-attention")
    assert panel.locator(".attention-total").inner_text() == "2"
    assert panel.locator(f'.attention-group[data-rule="{rule.pk}"] .badge-attention').inner_text() == "2"
    assert overflow_of(page)["scrollWidth"] <= DESKTOP["width"]
    shot(page, "alerts-panel-1440")

    # Acknowledge the first, with a reason: HTMX swaps the panel (no page load).
    page.evaluate("window.__stay = true")
    row = panel.locator(f"#attention-item-{first.pk}")
    row.locator(".attention-ack input[name=reason]").fill("renewal ordered")
    row.get_by_role("button", name="Acknowledge").click()
    page.locator(f"#attention-item-{first.pk}").wait_for(state="detached")
    assert page.locator(".attention-notice").inner_text().startswith("Acknowledged")
    assert page.evaluate("window.__stay") is True  # swapped in place, not reloaded

    # Snooze the second: open "Snooze…", pick a day and give a reason.
    until = timezone.localdate() + dt.timedelta(days=10)
    row = page.locator(f"#attention-item-{second.pk}")
    row.locator("summary").click()
    row.locator("input[name=until]").fill(until.isoformat())
    row.locator(".attention-snooze input[name=reason]").fill("carrier ticket 4711")
    row.get_by_role("button", name="Snooze").click()
    page.locator(f"#attention-item-{second.pk}").wait_for(state="detached")
    assert "Nothing needs attention." in page.locator("#needs-attention").inner_text()

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.state, first.reason, first.acted_by) == (ItemState.ACKNOWLEDGED, "renewal ordered", ops_user)
    assert (second.state, second.reason) == (ItemState.SNOOZED, "carrier ticket 4711")
    assert timezone.localtime(second.snoozed_until).date() == until
    assert set(AuditLog.objects.filter(user=ops_user).values_list("action", flat=True)) >= {
        "alert_acknowledge", "alert_snooze"}
    shot(page, "alerts-panel-done-1440")

    # The item page shows who acted and why; reopening brings it back to the panel.
    page.goto(f"{live_server.url}/alerts/items/{second.pk}/")
    assert "carrier ticket 4711" in page.locator("#item-props").inner_text()
    page.get_by_role("button", name="Reopen").click()
    page.wait_for_url(f"{live_server.url}/alerts/items/{second.pk}/")
    assert page.locator("#item-state").inner_text() == "Open"
    page.goto(f"{live_server.url}/")
    assert page.locator(f"#attention-item-{second.pk}").count() == 1


def test_panel_works_without_javascript(browser, live_server, ops_user, alert_items):
    rule, (first, second) = alert_items
    context = browser.new_context(viewport=DESKTOP, java_script_enabled=False)
    page = context.new_page()
    login(page, live_server, "bob", "pw-bob-123", "/")
    page.locator(f"#attention-item-{first.pk}").get_by_role("button", name="Acknowledge").click()
    page.wait_for_url(f"{live_server.url}/")
    assert page.locator(f"#attention-item-{first.pk}").count() == 0
    assert page.locator(f"#attention-item-{second.pk}").count() == 1
    first.refresh_from_db()
    assert first.state == ItemState.ACKNOWLEDGED
    context.close()


def test_alert_pages_fit_a_phone(browser, live_server, admin_user, alert_items):
    rule, (first, _) = alert_items
    # Something on every page: a channel of alice's that the rule sends to, and a failed notification.
    from numbersadmin.alerts.models import Channel, Notification, NotificationItem

    mine = Channel.objects.create(kind="email", address="alice.long-address-for-layout@example.com", owner=admin_user)
    rule.channels.add(mine)
    n = Notification.objects.create(channel=mine, subject="numbersadmin: 2 alerts (Caller ID verification ends within 14 days (or ended): 2)",
                                    body={}, state="failed", attempts=5, last_error="email not accepted: SMTPServerDisconnected")
    NotificationItem.objects.create(notification=n, item=first, channel=mine, generation=first.generation)
    problems = []
    for viewport in (DESKTOP, PHONE):
        context = browser.new_context(viewport=viewport)
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        login(page, live_server, "alice", "pw-alice-123", "/")
        width = viewport["width"]
        for name, path in (("dashboard", "/"), ("rules", "/alerts/"), ("rule", f"/alerts/rules/{rule.pk}/"),
                           ("item", f"/alerts/items/{first.pk}/"), ("notifications", "/alerts/notifications/"), ("notification", f"/alerts/notifications/{n.pk}/"),
                           ("settings", "/alerts/settings/")):
            page.goto(f"{live_server.url}{path}")
            page.wait_for_load_state("networkidle")
            if name == "dashboard":
                page.locator(f"#attention-item-{first.pk} summary").click()  # the snooze form open
            found = overflow_of(page)
            if found["scrollWidth"] > width:
                problems.append((width, path, found))
            shot(page, f"alerts-{name}-{width}")
        context.close()
        assert not errors, errors
    assert not problems, problems


def test_panel_in_dark_mode(browser, live_server, ops_user, alert_items):
    context = browser.new_context(viewport=DESKTOP, color_scheme="dark")
    page = context.new_page()
    login(page, live_server, "bob", "pw-bob-123", "/")
    panel = page.locator("#needs-attention")
    # Text on the panel stays light on dark (the card follows the theme).
    colours = panel.evaluate("""p => [getComputedStyle(p).backgroundColor,
                                      getComputedStyle(p.querySelector('.attention-text')).color]""")
    assert colours[0] != "rgb(255, 255, 255)", colours
    page.locator(".attention-item summary").first.click()
    shot(page, "alerts-panel-dark-1440")
    context.close()
