"""Polish in a real browser (issue 13): styled error pages with navigation, the "/" shortcut and
ArrowDown into search suggestions, copy-to-clipboard, dark mode from the system setting.
Screenshots at 1440 px, light and dark, land in test-artifacts/."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import login, shot

pytestmark = pytest.mark.django_db(transaction=True)

WIDE = {"width": 1440, "height": 900}


@pytest.fixture
def context_factory(browser):
    contexts = []

    def make(**kwargs):
        ctx = browser.new_context(viewport=WIDE, **kwargs)
        contexts.append(ctx)
        return ctx

    yield make
    for ctx in contexts:
        ctx.close()


def _watch(pg, errors: list[str], *, allow_status: tuple[int, ...] = ()):
    pg.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    # The error page's own status shows as a console error ("Failed to load resource: 404"): expected.
    pg.on("console", lambda msg: errors.append(f"console: {msg.text}")
          if msg.type == "error" and not any(f"status of {s}" in msg.text for s in allow_status) else None)


def test_error_pages_keep_the_navigation(context_factory, live_server, ops_user, settings):
    settings.DEBUG = False
    # Not the shared ``page`` fixture: these pages answer 403/404 on purpose, which Chromium reports
    # as a console error ("Failed to load resource"); anything else still fails the test.
    page = context_factory().new_page()
    errors: list[str] = []
    _watch(page, errors, allow_status=(403, 404))
    login(page, live_server, "bob", "pw-bob-123")
    for path, code, heading in (("/no-such-page/", 404, "Page not found"), ("/settings/", 403, "can’t open this page")):
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == code
        nav = page.locator("nav[aria-label=Main] a", has_text="Numbers")
        assert nav.is_visible()
        assert heading in page.locator("h1").inner_text()
        # The layout's stylesheet applied (a styled card, not a bare browser page).
        assert page.locator(".error-page").evaluate("e => getComputedStyle(e).borderRadius") == "8px"
        shot(page, f"error-{code}")
        nav.click()
        page.wait_for_url(f"{live_server.url}/numbers/")
    assert not errors, errors


@pytest.fixture
def synced(didww_account):
    from ..support.helpers import sync

    assert sync(didww_account).state == "succeeded"
    return didww_account


def _login(context, live_server, user="bob", password="pw-bob-123", next_path="/numbers/"):
    page = context.new_page()
    errors: list[str] = []
    _watch(page, errors)
    page.on("requestfailed", lambda req: None if req.failure == "net::ERR_ABORTED"
            else errors.append(f"request failed: {req.url} {req.failure}"))
    login(page, live_server, user, password, next_path)
    return page, errors


def test_slash_focuses_search_and_arrow_down_walks_the_suggestions(context_factory, live_server, ops_user, synced):
    from numbersadmin.inventory.models import PhoneNumber

    page, errors = _login(context_factory(), live_server)
    page.locator("h1").click()
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "global-q"
    assert page.locator("#global-q").input_value() == ""  # the "/" itself is not typed
    # Typing "/" in another field types it (no hijacking while you write).
    page.locator("#id_q").click()
    page.keyboard.type("a/b")
    assert page.locator("#id_q").input_value() == "a/b"

    digits = PhoneNumber.objects.filter(account=synced).order_by("e164").first().e164[1:6]
    page.locator("h1").click()
    page.keyboard.press("/")
    page.keyboard.type(digits, delay=20)
    page.wait_for_selector("#global-search-results .gs-group[data-group=numbers]")
    links = page.locator("#global-search-results a[href]")
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement === document.querySelector('#global-search-results a[href]')")
    page.keyboard.press("ArrowDown")
    second = links.nth(1).get_attribute("href")
    assert page.evaluate("document.activeElement.getAttribute('href')") == second
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    assert page.evaluate("document.activeElement.id") == "global-q"
    shot(page, "polish-search-keyboard")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}{second}" if second.startswith("/") else second)
    assert not errors, errors


def test_copy_button_copies_the_number(context_factory, live_server, ops_user, synced):
    from numbersadmin.inventory.models import PhoneNumber

    number = PhoneNumber.objects.filter(account=synced).order_by("e164").first()
    context = context_factory()
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page, errors = _login(context, live_server, next_path=f"/numbers/{number.pk}/")
    button = page.get_by_role("button", name=f"Copy the number {number.e164}")
    button.click()
    expect(button).to_have_text("Copied")  # (wait_for_function would need eval, which the CSP refuses)
    assert page.evaluate("() => navigator.clipboard.readText()") == number.e164
    expect(page.locator("#copy-status")).to_have_text(f"Copied {number.e164}")
    expect(button).to_have_text("Copy", timeout=4000)
    assert not errors, errors


def _rgba(text: str) -> tuple[float, float, float, float]:
    import re as _re

    parts = [float(x) for x in _re.findall(r"[\d.]+", text)]
    return (*parts[:3], parts[3] if len(parts) > 3 else 1.0)


def _over(fg: str, bg: str) -> str:
    """``fg`` (maybe translucent) composited over the opaque ``bg``."""
    r, g, b, a = _rgba(fg)
    br, bgg, bb, _ = _rgba(bg)
    return f"rgb({r * a + br * (1 - a)}, {g * a + bgg * (1 - a)}, {b * a + bb * (1 - a)})"


def _luminance(rgb: str) -> float:
    r, g, b = (c / 255 for c in _rgba(rgb)[:3])
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def _contrast(fg: str, bg: str) -> float:
    a, b = sorted((_luminance(fg), _luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


STYLE = "(sel) => { const e = document.querySelector(sel); const s = getComputedStyle(e); return [s.color, s.backgroundColor]; }"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_colour_scheme_follows_the_system_with_readable_contrast(context_factory, live_server, admin_user, synced,
                                                                  scheme):
    from numbersadmin.inventory.models import PhoneNumber

    context = context_factory(color_scheme=scheme)
    page, errors = _login(context, live_server, "alice", "pw-alice-123", "/")
    body_fg, body_bg = page.evaluate(STYLE, "body")
    assert page.evaluate("() => matchMedia('(prefers-color-scheme: dark)').matches") == (scheme == "dark")
    assert (_luminance(body_bg) < 0.05) == (scheme == "dark"), body_bg
    card_fg, card_bg = page.evaluate(STYLE, ".card")
    assert _contrast(body_fg, card_bg) >= 7
    shot(page, f"polish-dashboard-{scheme}")

    page.goto(f"{live_server.url}/numbers/?country=US")
    for selector in (".table thead th", ".table td[data-col=e164] a", "td .badge", ".chip", ".filters select",
                     ".filters button", ".gsearch input"):
        fg, bg = page.evaluate(STYLE, selector)
        bg = _over(bg, card_bg)  # transparent or translucent backgrounds sit on the card
        assert _contrast(fg, bg) >= 4.5, (scheme, selector, fg, bg)
    muted_fg, _ = page.evaluate(STYLE, ".muted")
    assert _contrast(muted_fg, card_bg) >= 4.5, (scheme, muted_fg)
    shot(page, f"polish-numbers-{scheme}")

    number = PhoneNumber.objects.filter(account=synced).order_by("e164").first()
    page.goto(f"{live_server.url}/numbers/{number.pk}/")
    shot(page, f"polish-number-{scheme}")
    page.goto(f"{live_server.url}{synced.get_absolute_url()}")
    shot(page, f"polish-account-{scheme}")
    assert not errors, errors
