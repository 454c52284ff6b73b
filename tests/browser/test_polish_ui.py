"""Polish in a real browser (issue 13): styled error pages with navigation, the "/" shortcut and
ArrowDown into search suggestions, copy-to-clipboard, dark mode from the system setting.
Screenshots at 1440 px, light and dark, land in test-artifacts/."""

from __future__ import annotations

import pytest

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
