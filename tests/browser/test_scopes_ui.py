"""The scopes page in a real browser: add a scope for a group, see it listed, and a scoped user's
numbers list shows only that account."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from numbersadmin.inventory.models import PhoneNumber, ProviderAccount

from .conftest import login, shot

pytestmark = pytest.mark.django_db(transaction=True)


def test_add_a_scope_and_see_it_applied(page, live_server, django_user_model):
    accounts = [ProviderAccount.objects.create(provider=p, name=n, base_url="https://example.invalid")
                for p, n in (("didww", "DIDWW Berlin"), ("plivo", "Plivo London"), ("webex", "Webex HQ"))]
    for i, account in enumerate(accounts):
        PhoneNumber.objects.create(account=account, provider=account.provider, external_id=f"n{i}",
                                   number_raw=f"4930123456{i}", e164=f"+4930123456{i}", digits=f"4930123456{i}")
    django_user_model.objects.create_superuser("root", "root@example.invalid", "pw-root-123")
    team = Group.objects.create(name="berlin-team")
    django_user_model.objects.create_user("bea", password="pw-bea-123").groups.add(team)

    login(page, live_server, "root", "pw-root-123", "/scopes/")
    page.click("#scope-add")
    page.fill("#id_name", "Berlin")
    page.fill("#id_description", "The Berlin office's numbers")
    page.get_by_label("DIDWW Berlin").check()
    page.get_by_label("berlin-team").check()
    shot(page, "scope-form")
    page.click("main button.primary")
    row = page.locator('#scopes-table tr[data-scope="Berlin"]')
    assert "DIDWW Berlin" in row.inner_text() and "berlin-team" in row.inner_text()
    shot(page, "scopes-list")

    page.context.clear_cookies()
    login(page, live_server, "bea", "pw-bea-123", "/numbers/")
    text = page.locator("#numbers-table").inner_text()
    assert "+49301234560" in text and "+49301234561" not in text and "+49301234562" not in text
    shot(page, "scoped-numbers")
