"""Layout (issue 13, item 3) in a real browser at a desktop (1440x900) and a phone (390x844) width:
no page scrolls sideways; the numbers table with its default columns fits a desktop page; rows of
a list are one line each (same height, long values cut with an ellipsis and a title); the table
header stays in view while the page (or the table's own card) scrolls.

Data as in the demo: one account per provider against its simulator, enough numbers to scroll."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from numbersadmin.inventory.models import (CallerId, ExportJob, Location, NumberGroup, Owner, PhoneNumber, SavedView,
                                           SyncRun, Trunk, TrunkGroup)
from numbersadmin.inventory.services import tokens

from .conftest import every_provider_synced, login, shot

pytestmark = pytest.mark.django_db(transaction=True)

DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
LONG_TRUNK = "Primary SIP trunk towards the Frankfurt data centre (carrier-grade, redundant pair)"
LONG_OWNER = "Maximiliane Alexandra Featherstonehaugh-Montgomery"


@pytest.fixture
def demo_accounts():
    yield from every_provider_synced(numbers=70, seed=13, suffix="demo")


def first_pk(model, **filters) -> int:
    obj = model.objects.filter(**filters).order_by("pk").first()
    assert obj is not None, f"the demo data has no {model.__name__}"
    return obj.pk


def every_page(admin_user) -> list[str]:
    """Every kind of page a user reaches: dashboard, each list, each detail kind, forms, admin pages."""
    number = PhoneNumber.objects.filter(removed_at=None).exclude(trunk=None).order_by("pk").first()
    view = SavedView.objects.create(owner=admin_user, list_name="numbers", name="US numbers", params="country=US")
    job = ExportJob.objects.create(requested_by=admin_user, list_name="numbers", params="country=US")
    tokens.create_token(admin_user, "layout check")
    account = number.account
    rule, item = alert_rule_with_item()
    return [
        "/",
        "/numbers/", "/numbers/?per_page=100", "/caller-ids/", "/owners/", "/locations/", "/trunks/", "/trunk-groups/",
        "/groups/", "/accounts/", "/syncs/", "/views/", "/audit/", "/settings/", "/api-tokens/", "/api/docs/",
        f"/numbers/{number.pk}/", f"/owners/{first_pk(Owner)}/", f"/locations/{first_pk(Location)}/",
        f"/trunks/{first_pk(Trunk)}/", f"/trunk-groups/{first_pk(TrunkGroup)}/", f"/groups/{first_pk(NumberGroup)}/",
        f"/accounts/{account.pk}/", f"/accounts/{account.pk}/edit/", "/accounts/add/didww/",
        f"/syncs/{first_pk(SyncRun)}/", f"/exports/{job.pk}/",
        f"/numbers/bulk-edit/?scope=matching&query={quote('country=US')}",
        "/search/?q=demo", "/search/?q=44", f"/views/{view.pk}/",
        "/alerts/", f"/alerts/rules/{rule.pk}/", f"/alerts/rules/{rule.pk}/remove/", f"/alerts/items/{item.pk}/",
        "/alerts/notifications/", "/alerts/settings/",
        "/costs/", "/numbers/cost/?country=US", f"/accounts/{account.pk}/delete/", "/reconcile/",
        f"/caller-ids/{first_pk(CallerId)}/",
        *users_pages(admin_user),
    ]


def users_pages(admin_user) -> list[str]:
    """The Users pages (identity app): admin_user may manage users for this check."""
    from django.contrib.auth.models import Permission

    admin_user.user_permissions.add(Permission.objects.get(codename="change_user", content_type__app_label="auth"))
    return ["/users/", "/users/add/", f"/users/{admin_user.pk}/", "/password/"]


def alert_rule_with_item():
    """An alert rule with a recipient and one open item with long text (the alerts pages and the panel)."""
    from numbersadmin.alerts.models import AlertItem, AlertRule, Channel

    channel = Channel.objects.create(kind="email", address="network-operations-team@example.com")
    rule = AlertRule.objects.create(kind="removals_held")
    rule.channels.set([channel])
    item = AlertItem.objects.create(rule=rule, key="run:1", label=f"{LONG_TRUNK}: sync #1", fingerprint="x",
                                    detail={"text": "312 removals held for review " * 3})
    return rule, item


OVERFLOW = """() => {
  const doc = document.documentElement;
  const wide = [...document.body.querySelectorAll('*')].filter(e => {
    const r = e.getBoundingClientRect();
    return r.width && r.right > innerWidth + 0.5 && !e.closest('.table-wrap');
  }).slice(0, 3).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className && e.className.baseVal === undefined ? '.' + e.className.trim().replace(/\\s+/g, '.') : ''));
  return {scrollWidth: doc.scrollWidth, innerWidth: innerWidth, wide: wide};
}"""


def overflow_of(page) -> dict:
    return page.evaluate(OVERFLOW)


def test_no_page_scrolls_sideways_at_desktop_or_phone_width(browser, live_server, demo_accounts, admin_user):
    pages = every_page(admin_user)
    problems = []
    for viewport in (DESKTOP, PHONE):
        context = browser.new_context(viewport=viewport)
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        # The login page first (signed out), then every page signed in.
        page.goto(f"{live_server.url}/login/")
        found = overflow_of(page)
        if found["scrollWidth"] > found["innerWidth"]:
            problems.append((viewport["width"], "/login/", found))
        login(page, live_server, "alice", "pw-alice-123", next_path="/")
        for path in pages:
            response = page.goto(f"{live_server.url}{path}")
            assert response.ok, (path, response.status)
            page.wait_for_load_state("networkidle")
            found = overflow_of(page)
            if found["scrollWidth"] > found["innerWidth"]:
                problems.append((viewport["width"], path, found))
        if viewport is PHONE:
            # Open navigation menus must not widen the page either.
            page.goto(f"{live_server.url}/numbers/")
            for menu in ("#column-chooser", "#views-menu", "#export-menu"):
                page.click(f"{menu} > summary")
                found = overflow_of(page)
                if found["scrollWidth"] > found["innerWidth"]:
                    problems.append((viewport["width"], f"/numbers/ {menu} open", found))
                page.click(f"{menu} > summary")
        context.close()
        assert not errors, errors
    assert not problems, problems


def table_metrics(page, selector: str = "#numbers-table") -> dict:
    return page.evaluate("""(sel) => {
      const table = document.querySelector(sel), wrap = table.parentElement;
      const heights = [...table.tBodies[0].rows].map(r => r.getBoundingClientRect().height);
      return {tableWidth: table.scrollWidth, room: wrap.clientWidth, wrapClass: wrap.className,
              rows: heights.length, minHeight: Math.min(...heights), maxHeight: Math.max(...heights),
              columns: [...table.tHead.rows[0].cells].map(c => c.dataset.col).filter(Boolean)};
    }""", selector)


def header_box(page, selector: str = "#numbers-table") -> dict:
    """Where the header cells are, and whether the header is what a user sees at its centre."""
    return page.evaluate("""(sel) => {
      const table = document.querySelector(sel), th = table.querySelector('thead th[data-col=e164]');
      const r = th.getBoundingClientRect(), w = table.parentElement.getBoundingClientRect();
      const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
      return {top: r.top, bottom: r.bottom, wrapTop: w.top, innerHeight: innerHeight, scrollY: scrollY,
              seen: !!hit && th.contains(hit)};
    }""", selector)


def test_numbers_table_fits_a_desktop_page_with_even_rows_and_a_sticky_header(page, live_server, demo_accounts,
                                                                            admin_user):
    # Long names must be cut, not widen the table or wrap a row.
    trunk = Trunk.objects.filter(numbers__isnull=False).order_by("pk").first()
    Trunk.objects.filter(pk=trunk.pk).update(name=LONG_TRUNK)
    owner = Owner.objects.filter(numbers__isnull=False).order_by("pk").first()
    Owner.objects.filter(pk=owner.pk).update(name=LONG_OWNER)
    page.set_viewport_size(DESKTOP)
    login(page, live_server, "alice", "pw-alice-123", next_path="/numbers/?per_page=100")
    page.wait_for_load_state("networkidle")
    metrics = table_metrics(page)
    assert metrics["columns"] == ["e164", "provider", "account", "country", "kind", "status", "renews", "owner",
                                  "trunk", "freshness"]
    assert metrics["rows"] == 100
    assert metrics["tableWidth"] <= metrics["room"], metrics
    assert "fits" in metrics["wrapClass"].split(), metrics
    assert metrics["maxHeight"] - metrics["minHeight"] <= 1, metrics
    assert overflow_of(page)["scrollWidth"] <= DESKTOP["width"]
    # The natural width (what the columns need) leaves room to spare at 1440 px.
    natural = page.evaluate("""() => { const t = document.querySelector('#numbers-table');
      t.style.width = 'auto'; const w = t.getBoundingClientRect().width; t.style.width = ''; return w; }""")
    assert natural <= metrics["room"], natural
    shot(page, "layout-numbers-1440")

    # A long trunk name is cut with an ellipsis; the full text is the cell's title.
    page.goto(f"{live_server.url}/numbers/?trunk={trunk.pk}")
    page.wait_for_load_state("networkidle")
    cell = page.locator("#numbers-table td[data-col=trunk]").first
    assert cell.inner_text().strip() == LONG_TRUNK  # the text is all there (innerText ignores the cut) ...
    page.wait_for_function("() => document.querySelector('#numbers-table td[data-col=trunk]').title !== ''")
    assert cell.get_attribute("title") == LONG_TRUNK
    assert cell.evaluate("td => td.scrollWidth > td.clientWidth")  # ... but shown cut
    assert cell.evaluate("td => getComputedStyle(td).textOverflow") == "ellipsis"
    metrics = table_metrics(page)
    assert metrics["tableWidth"] <= metrics["room"], metrics
    page.goto(f"{live_server.url}/numbers/?owner={owner.pk}")
    page.wait_for_load_state("networkidle")
    assert page.locator("#numbers-table td[data-col=owner]").first.get_attribute("title").startswith(LONG_OWNER)
    # Short values get no tooltip.
    assert page.locator("#numbers-table td[data-col=country]").first.get_attribute("title") is None

    # Sticky header: scrolled 800 px down the page, the header is at the top of the viewport, in view.
    page.goto(f"{live_server.url}/numbers/?per_page=100")
    page.wait_for_load_state("networkidle")
    before = header_box(page)
    page.evaluate("window.scrollBy(0, 800)")
    page.wait_for_function("() => scrollY >= 800")
    box = header_box(page)
    assert box["wrapTop"] < 0, box  # the card's top has left the viewport ...
    assert 0 <= box["top"] < 2 and box["bottom"] <= box["innerHeight"], box  # ... its header has not
    assert box["seen"], box  # nothing paints over it
    assert before["top"] > 0
    shot(page, "layout-numbers-1440-scrolled")

    # After an HTMX swap (sort) the new table is measured and sticks too.
    page.evaluate("window.scrollTo(0, 0)")
    page.click("#numbers-table th[data-col=country] a.sort")
    page.wait_for_url(re.compile(r".*sort=country.*"))
    page.wait_for_function("() => document.querySelector('#numbers-table').parentElement.classList.contains('fits')")
    page.evaluate("window.scrollBy(0, 800)")
    page.wait_for_function("() => scrollY >= 800")
    assert 0 <= header_box(page)["top"] < 2


def test_many_columns_scroll_inside_their_card_and_the_header_sticks_there(page, live_server, demo_accounts, admin_user):
    from numbersadmin.inventory.tables import NUMBER_COLUMNS

    every = ",".join(c.name for c in NUMBER_COLUMNS if c.on_screen)
    for viewport, path in ((DESKTOP, f"/numbers/?per_page=100&cols={every}"), (PHONE, "/numbers/?per_page=100")):
        page.set_viewport_size(viewport)
        if viewport is DESKTOP:
            login(page, live_server, "alice", "pw-alice-123", next_path=path)
        else:
            page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
        metrics = table_metrics(page)
        assert metrics["tableWidth"] > metrics["room"], metrics  # wider than its card ...
        assert "scrolls" in metrics["wrapClass"].split(), metrics
        assert overflow_of(page)["scrollWidth"] <= viewport["width"]  # ... but the page does not scroll sideways
        if viewport is PHONE:
            assert metrics["maxHeight"] - metrics["minHeight"] <= 1, metrics
        # The card is at most a viewport high and scrolls itself; its header stays at its top.
        page.locator("#numbers-table").evaluate("t => t.parentElement.scrollIntoView()")
        page.locator("#numbers-table").evaluate("t => t.parentElement.scrollBy(0, 600)")
        page.wait_for_function("() => document.querySelector('#numbers-table').parentElement.scrollTop >= 600")
        box = header_box(page)
        assert abs(box["top"] - box["wrapTop"]) < 2, box
        assert box["seen"], box
        # ... and sideways, inside the card.
        page.locator("#numbers-table").evaluate("t => t.parentElement.scrollBy(300, 0)")
        assert page.locator("#numbers-table").evaluate("t => t.parentElement.scrollLeft") >= 300
        assert overflow_of(page)["scrollWidth"] <= viewport["width"]


def test_screenshots_at_both_widths(browser, live_server, demo_accounts, admin_user):
    number = PhoneNumber.objects.filter(removed_at=None).exclude(owner=None).order_by("pk").first()
    for viewport in (DESKTOP, PHONE):
        context = browser.new_context(viewport=viewport)
        page = context.new_page()
        login(page, live_server, "alice", "pw-alice-123", next_path="/")
        width = viewport["width"]
        for name, path in (("dashboard", "/"), ("numbers", "/numbers/"), ("number", f"/numbers/{number.pk}/")):
            page.goto(f"{live_server.url}{path}")
            page.wait_for_load_state("networkidle")
            assert overflow_of(page)["scrollWidth"] <= width, (width, path)
            shot(page, f"layout-{name}-{width}")
        context.close()
