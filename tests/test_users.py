"""The Users page (issue 14, part 3): admins (auth.change_user, or superusers) list, create,
invite, regroup, deactivate/reactivate users and set local users' passwords; any local user
changes their own password. Every change is audited, never with a password in it."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group, Permission, User

from numbersadmin.identity.models import SsoIdentity
from numbersadmin.inventory.models import AuditLog

pytestmark = pytest.mark.django_db
STRONG = "Blue-Harbour-Lantern-42"


@pytest.fixture
def users_admin(django_user_model):
    user = django_user_model.objects.create_user("uma", password="pw-uma-12345")
    user.user_permissions.add(Permission.objects.get(codename="change_user", content_type__app_label="auth"))
    return user


@pytest.fixture
def uclient(client, users_admin):
    client.force_login(users_admin)
    return client


@pytest.fixture
def root():
    return User.objects.create_superuser("root", password="pw-root-12345")


def actions(**filters) -> list[str]:
    return list(AuditLog.objects.filter(**filters).order_by("id").values_list("action", flat=True))


def no_password_in_audit(*passwords: str) -> None:
    text = str(list(AuditLog.objects.values_list("detail", "target")))
    for password in passwords:
        assert password not in text


@pytest.mark.parametrize("url,method", [
    ("/users/", "get"), ("/users/add/", "get"), ("/users/add/", "post"), ("/users/{pk}/", "get"),
    ("/users/{pk}/", "post"), ("/users/{pk}/deactivate/", "post"), ("/users/{pk}/reactivate/", "post"),
    ("/users/{pk}/invite/", "post"),
])
def test_only_user_admins(url, method, client, ops_user, admin_user):
    target = User.objects.create_user("target", password="pw-target-123")
    for who in (ops_user, admin_user):  # admin_user manages accounts, not users
        client.force_login(who)
        response = getattr(client, method)(url.format(pk=target.pk), {"action": "groups"})
        assert response.status_code == 403, (who, url)
    assert User.objects.get(pk=target.pk).is_active


def test_nav_link_for_user_admins_only(client, uclient, ops_user):
    assert 'id="nav-users"' in uclient.get("/").content.decode()
    client.force_login(ops_user)
    assert 'id="nav-users"' not in client.get("/").content.decode()


def test_list_filters_and_columns(uclient, ops_user, root):
    carriers = Group.objects.create(name="Carrier team")
    ops_user.groups.add(carriers)
    ops_user.email = "bob@example.com"
    ops_user.save()
    sso = User.objects.create_user("sam", is_active=False)
    SsoIdentity.objects.create(user=sso, issuer="https://idp", subject="42")
    invited = User.objects.create_user("ivy")  # no password yet
    page = uclient.get("/users/").content.decode()
    for text in ("bob@example.com", "Carrier team", "superuser", "deactivated", ">SSO<", ">invited<", "never"):
        assert text in page

    def names(query):
        html = uclient.get("/users/", query).content.decode()
        return set(re.findall(r'data-user="([^"]+)"', html))

    assert names({"q": "BOB@"}) == {"bob"}
    assert names({"active": "no"}) == {"sam"}
    assert names({"kind": "sso"}) == {"sam"}
    assert names({"kind": "invited"}) == {invited.username}
    assert names({"kind": "local"}) == {"bob", "root", "uma"}
    assert names({"group": carriers.pk}) == {"bob"}
    # Nonsense filters are ignored with a note, never a 500.
    response = uclient.get("/users/", {"group": "abc", "active": "maybe", "page": "999", "q": "x" * 500})
    assert response.status_code == 200 and "not valid" in response.content.decode()


def test_create_a_local_user(uclient, users_admin, client):
    group = Group.objects.create(name="Contact centre")
    response = uclient.post("/users/add/", {"username": "nina", "email": "nina@example.com", "first_name": "Nina",
                                            "mode": "password", "password1": STRONG, "password2": STRONG,
                                            "groups": [group.pk]})
    nina = User.objects.get(username="nina")
    assert response["Location"] == f"/users/{nina.pk}/"
    assert nina.check_password(STRONG) and list(nina.groups.all()) == [group]
    entry = AuditLog.objects.get(action="user.create")
    assert entry.user == users_admin and entry.detail["groups"] == ["Contact centre"]
    no_password_in_audit(STRONG)
    client.logout()
    assert client.post("/login/", {"username": "nina", "password": STRONG})["Location"] == "/numbers/"


@pytest.mark.parametrize("data,field,message", [
    ({"username": "Bob", "mode": "password", "password1": STRONG, "password2": STRONG}, "username", "already exists"),
    ({"username": "bad name!", "mode": "invite"}, "username", "Enter a valid username"),
    ({"username": "", "mode": "invite"}, "username", "required"),
    ({"username": "nina", "mode": "password", "password1": "", "password2": ""}, "password1", "Enter a password"),
    ({"username": "nina", "mode": "password", "password1": STRONG, "password2": STRONG + "x"}, "password2", "differ"),
    ({"username": "nina", "mode": "password", "password1": "password", "password2": "password"}, "password1", "too common"),
    ({"username": "nina", "mode": "password", "password1": "38572910", "password2": "38572910"}, "password1", "numeric"),
    ({"username": "nina", "mode": "sideways"}, "mode", "valid choice"),
    ({"username": "nina", "mode": "invite", "email": "not-an-email"}, "email", "valid email"),
    ({"username": "nina", "mode": "invite", "groups": ["999999"]}, "groups", "valid choice"),
])
def test_bad_input_is_a_form_error_and_nothing_is_written(uclient, ops_user, data, field, message):
    before = User.objects.count()
    response = uclient.post("/users/add/", data)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors, errors
    assert message in " ".join(errors[field])
    assert User.objects.count() == before and not actions(action__startswith="user.")


def test_invite_link_works_once(uclient, client):
    response = uclient.post("/users/add/", {"username": "ivy", "email": "ivy@example.com", "mode": "invite"})
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    link = re.search(r'id="invite-url">([^<]+)<', response.content.decode()).group(1)
    ivy = User.objects.get(username="ivy")
    assert not ivy.has_usable_password() and ivy.is_active
    client.logout()
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200 and 'name="new_password1"' in form_page.content.decode()
    set_url = form_page.redirect_chain[-1][0]
    response = client.post(set_url, {"new_password1": "weak", "new_password2": "weak"})
    assert response.status_code == 200 and not User.objects.get(username="ivy").has_usable_password()
    response = client.post(set_url, {"new_password1": STRONG, "new_password2": STRONG})
    assert response["Location"] == "/login/"
    assert User.objects.get(username="ivy").check_password(STRONG)
    again = client.get(link, follow=True).content.decode()
    assert 'id="invalid-link"' in again and 'name="new_password1"' not in again
    assert actions() == ["user.invite", "user.invite_accepted"]
    no_password_in_audit(STRONG)
    assert client.post("/login/", {"username": "ivy", "password": STRONG})["Location"] == "/numbers/"


def test_invite_is_emailed_when_mail_is_configured(uclient, settings, mailoutbox):
    settings.INVITE_EMAIL = True
    response = uclient.post("/users/add/", {"username": "ivy", "email": "ivy@example.com", "mode": "invite"})
    assert response.status_code == 302
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["ivy@example.com"] and "/invite/" in mailoutbox[0].body


def test_a_new_link_for_a_pending_invitation(uclient):
    ivy = User.objects.create_user("ivy")
    response = uclient.post(f"/users/{ivy.pk}/invite/")
    assert 'id="invite-url"' in response.content.decode()
    nina = User.objects.create_user("nina", password=STRONG)
    assert uclient.post(f"/users/{nina.pk}/invite/")["Location"] == f"/users/{nina.pk}/"


def test_groups_are_audited_with_what_changed(uclient, ops_user):
    a, b, c = (Group.objects.create(name=n) for n in ("A team", "B team", "C team"))
    ops_user.groups.set([a, b])
    response = uclient.post(f"/users/{ops_user.pk}/", {"action": "groups", "groups": [b.pk, c.pk]})
    assert response.status_code == 302
    assert set(ops_user.groups.values_list("name", flat=True)) == {"B team", "C team"}
    entry = AuditLog.objects.get(action="user.groups")
    assert entry.detail == {"groups_added": ["C team"], "groups_removed": ["A team"]}
    uclient.post(f"/users/{ops_user.pk}/", {"action": "groups", "groups": [b.pk, c.pk]})  # no change: no entry
    assert AuditLog.objects.filter(action="user.groups").count() == 1
    response = uclient.post(f"/users/{ops_user.pk}/", {"action": "groups", "groups": ["x"]})
    assert response.status_code == 200 and response.context["groups_form"].errors


def test_deactivate_and_reactivate(uclient, ops_user):
    from django.test import Client

    ops = Client()
    ops.force_login(ops_user)
    assert uclient.post(f"/users/{ops_user.pk}/deactivate/").status_code == 302
    assert not User.objects.get(pk=ops_user.pk).is_active
    assert ops.get("/")["Location"].startswith("/login/")  # the session ends with it
    uclient.post(f"/users/{ops_user.pk}/reactivate/")
    assert User.objects.get(pk=ops_user.pk).is_active
    assert actions() == ["user.deactivate", "user.activate"]
    assert User.objects.filter(pk=ops_user.pk).exists()  # never deleted


def test_cannot_deactivate_yourself_or_the_last_superuser(client, uclient, users_admin, root):
    from django.core.exceptions import ValidationError

    from numbersadmin.identity import services

    response = uclient.post(f"/users/{users_admin.pk}/deactivate/", follow=True)
    assert "cannot deactivate yourself" in response.content.decode()
    # An admin who is not a superuser cannot touch a superuser at all.
    response = uclient.post(f"/users/{root.pk}/deactivate/", follow=True)
    assert "Only a superuser" in response.content.decode()
    client.force_login(root)
    assert "cannot deactivate yourself" in client.post(f"/users/{root.pk}/deactivate/", follow=True).content.decode()
    # Another superuser may deactivate root while it is active itself ...
    other = User.objects.create_superuser("root2", password="pw-root2-123")
    services.set_active(other, root, False)
    services.set_active(other, root, True)
    # ... but not when root is the last active superuser (a service caller acting for a disabled one).
    User.objects.filter(pk=other.pk).update(is_active=False)
    with pytest.raises(ValidationError, match="last active superuser"):
        services.set_active(User.objects.get(pk=other.pk), root, False)
    assert User.objects.get(pk=root.pk).is_active
    assert actions(action__in=["user.deactivate", "user.activate"]) == ["user.deactivate", "user.activate"]


def test_set_password_for_local_users_only(uclient, ops_user, client):
    response = uclient.post(f"/users/{ops_user.pk}/", {"action": "password", "password1": STRONG, "password2": STRONG})
    assert response.status_code == 302 and User.objects.get(pk=ops_user.pk).check_password(STRONG)
    assert actions() == ["user.set_password"]
    response = uclient.post(f"/users/{ops_user.pk}/", {"action": "password", "password1": "123", "password2": "123"})
    assert response.status_code == 200 and response.context["password_form"].errors["password1"]
    sso = User.objects.create_user("sam")
    SsoIdentity.objects.create(user=sso, issuer="https://idp", subject="42")
    page = uclient.get(f"/users/{sso.pk}/").content.decode()
    assert 'id="no-password"' in page and 'id="password-form"' not in page
    response = uclient.post(f"/users/{sso.pk}/", {"action": "password", "password1": STRONG, "password2": STRONG})
    assert "has no password here" in response.content.decode()
    assert not User.objects.get(pk=sso.pk).has_usable_password()
    no_password_in_audit(STRONG, "123")


def test_change_my_password(client, ops_user):
    client.force_login(ops_user)
    assert client.get("/password/").status_code == 200
    response = client.post("/password/", {"old_password": "wrong", "new_password1": STRONG, "new_password2": STRONG})
    assert response.status_code == 200 and response.context["form"].errors["old_password"]
    response = client.post("/password/", {"old_password": "pw-bob-123", "new_password1": STRONG, "new_password2": STRONG})
    assert response.status_code == 302 and User.objects.get(pk=ops_user.pk).check_password(STRONG)
    assert actions() == ["user.change_own_password"]
    no_password_in_audit(STRONG, "pw-bob-123")
    assert client.get("/").status_code == 200  # still signed in (session hash updated)


def test_sso_users_have_no_password_to_change(client):
    sso = User.objects.create_user("sam")
    SsoIdentity.objects.create(user=sso, issuer="https://idp", subject="42")
    client.force_login(sso)
    assert client.get("/password/")["Location"] == "/"
    assert "Change password" not in client.get("/").content.decode()


def test_every_users_page_renders(client, root):
    client.force_login(root)
    sso = User.objects.create_user("sam")
    SsoIdentity.objects.create(user=sso, issuer="https://idp", subject="42", idp_groups=["a"])
    for url in ("/users/", "/users/?q=root&active=yes&kind=local", "/users/add/", f"/users/{root.pk}/",
                f"/users/{sso.pk}/", "/password/"):
        assert client.get(url).status_code == 200, url
    assert client.get("/users/999999/").status_code == 404
    assert client.get("/invite/x/y/", follow=True).status_code == 200
    client.logout()
    page = client.get("/invite/Mw/not-a-token/", follow=True).content.decode()
    assert 'id="invalid-link"' in page


def test_user_page_shows_the_account_scopes_that_apply(uclient, ops_user, root, settings):
    from numbersadmin.inventory.models import AccountScope, ProviderAccount
    from numbersadmin.inventory.services.account_scopes import scope_save

    carrier = ProviderAccount.objects.create(provider="didww", name="Carrier DIDWW", base_url="https://api.didww.com/v3")
    ProviderAccount.objects.create(provider="plivo", name="Other Plivo", base_url="https://api.plivo.com/v1")
    page = lambda u: uclient.get(f"/users/{u.pk}/").content.decode()  # noqa: E731
    section = lambda body: re.sub(r">\s+<", "><", re.search(  # noqa: E731
        r'<section class="card" id="user-scopes">.*?</section>', body, re.S).group(0))
    assert "sees every account (<code>SCOPES_DEFAULT_ALL</code> is on)" in section(page(ops_user))
    assert "A superuser sees and manages every account." in section(page(root))

    team = Group.objects.create(name="Carrier team")
    ops_user.groups.add(team)
    scope_save(AccountScope(name="Carrier", can_manage=True), accounts=[carrier], groups=[team], users=[], user="test")
    shown = section(page(ops_user))
    assert "<td>Carrier</td><td>Carrier team</td><td>Carrier DIDWW</td><td>yes</td>" in shown
    assert "Other Plivo" not in shown and "sees every account" not in shown

    ops_user.groups.remove(team)
    settings.SCOPES_DEFAULT_ALL = False
    assert "sees no account (<code>SCOPES_DEFAULT_ALL</code> is off)" in section(page(ops_user))
    scope_save(AccountScope(name="Direct"), accounts=[], groups=[], users=[ops_user], user="test")
    assert "<td>Direct</td><td>directly</td><td><span class=\"muted\">none</span></td><td>no</td>" in section(page(ops_user))
