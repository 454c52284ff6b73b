"""The Users page in a real browser: an admin opens it from the Admin menu, invites a user (the
one-time link is shown once), the invited person sets a password with it, the admin regroups and
deactivates them."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group, User

from numbersadmin.identity.models import SsoIdentity

from .conftest import login, shot

pytestmark = pytest.mark.django_db(transaction=True)


def test_invite_regroup_deactivate(page, live_server, browser):
    User.objects.create_superuser("root", password="pw-root-12345", email="root@example.com")
    carriers, _ = Group.objects.get_or_create(name="Carrier team")
    Group.objects.get_or_create(name="Contact centre")
    sam = User.objects.create_user("sam.sso", email="sam@example.com", first_name="Sam", last_name="Reyes")
    sam.groups.add(carriers)
    SsoIdentity.objects.create(user=sam, issuer="https://idp.example.com", subject="8f2c", idp_groups=["idp-carrier"])
    login(page, live_server, "root", "pw-root-12345", next_path="/")
    page.click("#admin-menu summary")
    page.click("#nav-users")
    page.wait_for_url(f"{live_server.url}/users/")
    shot(page, "users-list")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/users/")
    shot(page, "users-list-390")
    page.set_viewport_size({"width": 1400, "height": 900})

    page.click("#add-user")
    page.fill("#id_username", "ivy")
    page.fill("#id_email", "ivy@example.com")
    page.fill("#id_first_name", "Ivy")
    page.check("label:has-text('Carrier team') input")
    page.click("#user-add-form button[type=submit]")
    link = page.locator("#invite-url").inner_text()
    shot(page, "users-invite-link")

    other = browser.new_context(viewport={"width": 1000, "height": 700}).new_page()
    other.goto(link)
    other.fill("#id_new_password1", "Blue-Harbour-Lantern-42")
    other.fill("#id_new_password2", "Blue-Harbour-Lantern-42")
    other.click("button[type=submit]")
    other.wait_for_url(re.compile(r".*/login/$"))
    other.context.close()
    assert User.objects.get(username="ivy").check_password("Blue-Harbour-Lantern-42")

    page.goto(f"{live_server.url}/users/?q=ivy")
    page.click("#users-table a:has-text('ivy')")
    page.check("label:has-text('Contact centre') input")
    page.click("#groups-form button[type=submit]")
    page.wait_for_selector(".msg-success")
    page.click("#deactivate")
    page.wait_for_selector("#reactivate")
    shot(page, "users-detail")
    ivy = User.objects.get(username="ivy")
    assert not ivy.is_active and set(ivy.groups.values_list("name", flat=True)) == {"Carrier team", "Contact centre"}
    page.goto(f"{live_server.url}/users/{sam.pk}/")
    shot(page, "users-detail-sso")
    assert page.locator("#no-password").is_visible()
