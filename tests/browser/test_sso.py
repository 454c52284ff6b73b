"""Single sign-on in a real browser (issue 14, part 2): the app (live server, http://localhost:<port>)
configured against the loopback OpenID provider (django-oauth-toolkit on http://127.0.0.1:<port>,
tests/idp/). "Sign in with SSO" -> the IdP's login form -> consent -> back on the dashboard as
that user, with the Django groups OIDC_GROUP_MAP gives their IdP groups.

Each team's Django group holds an account scope (issue 14, part 1): after signing in, the
accounts page, the dashboard and the numbers list show the user only their team's account, and
the other team's account page is a 404."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User

from .conftest import shot

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def two_accounts(db):
    """One account per team, never synced (no simulator needed), each scoped to its team's group
    (the groups OIDC_GROUP_MAP gives: "Carrier team", "Contact centre")."""
    from django.contrib.auth.models import Group

    from numbersadmin.inventory.models import AccountScope
    from numbersadmin.inventory.services.account_scopes import scope_save
    from numbersadmin.inventory.services.accounts import account_create

    accounts = {name: account_create(provider="didww", name=name, base_url="http://127.0.0.1:9/v3",
                                     secrets={"api_key": f"key-{i}-0123456789"})
                for i, name in enumerate(("Carrier DIDWW", "Contact centre DIDWW"))}
    for group, account in (("Carrier team", "Carrier DIDWW"), ("Contact centre", "Contact centre DIDWW")):
        scope_save(AccountScope(name=f"{group} accounts"), accounts=[accounts[account]],
                   groups=[Group.objects.get_or_create(name=group)[0]], users=[], user="test")
    return accounts


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


def assert_signed_in(page, live_server, username: str, groups: set[str], accounts: dict, sees: str) -> User:
    """The dashboard shows ``username`` signed in, the user holds exactly ``groups``, and every
    page shows only the account ``sees`` (their groups' scope), never the other one."""
    assert page.locator("#user-menu summary").inner_text().startswith(username)
    assert page.locator("h1").first.is_visible()
    user = User.objects.get(username=username)
    assert set(user.groups.values_list("name", flat=True)) == groups
    assert not user.has_usable_password()
    hidden = next(name for name in accounts if name != sees)
    for path in ("/", "/accounts/", "/numbers/", f"/accounts/{accounts[sees].pk}/"):
        page.goto(f"{live_server.url}{path}")
        body = page.locator("body").inner_text()
        assert sees in body and hidden not in body, (username, path)
    shot(page, f"sso-{username}-5-own-account")
    # The other team's account by URL: a 404 (asked with the browser's session, not navigated to:
    # the page fixture fails a test on any console error, a 404 included).
    response = page.request.get(f"{live_server.url}/accounts/{accounts[hidden].pk}/")
    assert response.status == 404 and hidden not in response.text()
    page.goto(f"{live_server.url}/")
    return user


def test_sign_in_through_the_loopback_idp(page, live_server, sso_settings, two_accounts):
    sso_sign_in(page, live_server, "ana", "ana-idp-pass-1", name="ana")
    shot(page, "sso-ana-4-dashboard")
    assert_signed_in(page, live_server, "ana", {"Carrier team"}, two_accounts, sees="Carrier DIDWW")

    # Log out; a second IdP user with other IdP groups gets other Django groups.
    page.click("#user-menu summary")
    page.click("#user-menu button:has-text('Log out')")
    page.wait_for_url(re.compile(r".*/login/.*"))
    page.context.clear_cookies()  # a new person at the browser: the IdP asks who it is again
    sso_sign_in(page, live_server, "ben", "ben-idp-pass-1", name="ben")
    shot(page, "sso-ben-4-dashboard")
    assert_signed_in(page, live_server, "ben", {"Contact centre"}, two_accounts, sees="Contact centre DIDWW")


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
