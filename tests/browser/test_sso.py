"""Single sign-on in a real browser (issue 14, part 2): the app (live server, http://localhost:<port>)
configured against the loopback OpenID provider (django-oauth-toolkit on http://127.0.0.1:<port>,
tests/idp/). "Sign in with SSO" -> the IdP's login form -> consent -> back on the dashboard as
that user, with the Django groups OIDC_GROUP_MAP gives their IdP groups.

Extending: ``assert_signed_in`` is where a test checks what the signed-in user may see; add the
per-group account scope assertion there (e.g. the accounts/numbers lists show only the accounts
scoped to the user's groups)."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User

from .conftest import shot

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def two_accounts(db):
    """One account per team, never synced (no simulator needed): what per-group scopes will split."""
    from numbersadmin.inventory.services.accounts import account_create

    return {name: account_create(provider="didww", name=name, base_url="http://127.0.0.1:9/v3",
                                 secrets={"api_key": f"key-{i}-0123456789"})
            for i, name in enumerate(("Carrier DIDWW", "Contact centre DIDWW"))}


def sso_sign_in(page, live_server, username: str, password: str, *, name: str) -> None:
    """From the dashboard URL: the login page, the SSO button, the IdP's login and consent pages."""
    page.goto(f"{live_server.url}/")
    assert "/login/" in page.url
    shot(page, f"sso-{name}-1-login")
    page.click("#sso-login")
    page.wait_for_url(re.compile(r"http://127\.0\.0\.1:\d+/accounts/login/.*"))
    page.fill("#idp-username", username)
    page.fill("#idp-password", password)
    shot(page, f"sso-{name}-2-idp-login")
    page.click("#idp-submit")
    page.wait_for_url(re.compile(r"http://127\.0\.0\.1:\d+/o/authorize/.*"))
    shot(page, f"sso-{name}-3-idp-consent")
    page.click("input[name=allow]")
    page.wait_for_url(f"{live_server.url}/")


def assert_signed_in(page, username: str, groups: set[str]) -> User:
    """The dashboard shows ``username`` signed in, and the user holds exactly ``groups``.
    The place for assertions on what those groups may see (account scopes)."""
    assert page.locator("#user-menu summary").inner_text().startswith(username)
    assert page.locator("h1").first.is_visible()
    user = User.objects.get(username=username)
    assert set(user.groups.values_list("name", flat=True)) == groups
    assert not user.has_usable_password()
    return user


def test_sign_in_through_the_loopback_idp(page, live_server, sso_settings, two_accounts):
    sso_sign_in(page, live_server, "ana", "ana-idp-pass-1", name="ana")
    shot(page, "sso-ana-4-dashboard")
    assert_signed_in(page, "ana", {"Carrier team"})

    # Log out; a second IdP user with other IdP groups gets other Django groups.
    page.click("#user-menu summary")
    page.click("#user-menu button:has-text('Log out')")
    page.wait_for_url(re.compile(r".*/login/.*"))
    page.context.clear_cookies()  # a new person at the browser: the IdP asks who it is again
    sso_sign_in(page, live_server, "ben", "ben-idp-pass-1", name="ben")
    shot(page, "sso-ben-4-dashboard")
    assert_signed_in(page, "ben", {"Contact centre"})


def test_cancel_at_the_idp_and_sso_only_login_page(page, live_server, sso_settings):
    sso_settings.LOCAL_LOGIN_ENABLED = False
    page.goto(f"{live_server.url}/login/")
    assert page.locator("#id_password").count() == 0
    shot(page, "sso-only-login")
    page.click("#sso-login")
    page.fill("#idp-username", "ben")
    page.fill("#idp-password", "ben-idp-pass-1")
    page.click("#idp-submit")
    page.wait_for_url(re.compile(r".*/o/authorize/.*"))
    page.click("input[type=submit]:not([name=allow])")  # Cancel
    page.wait_for_url(f"{live_server.url}/login/")
    assert "access_denied" in page.locator(".messages").inner_text()
    shot(page, "sso-cancelled")
