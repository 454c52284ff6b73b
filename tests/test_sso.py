"""Single sign-on against a real OpenID provider (django-oauth-toolkit on 127.0.0.1, tests/idp/):
verified ID tokens, the group map, user linking/creation, and every way a callback can go wrong."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User

from numbersadmin.identity.models import SsoIdentity
from numbersadmin.inventory.models import AuditLog
from tests.idp.harness import USERS, authorize_at_idp, sign_in

pytestmark = pytest.mark.django_db


def groups_of(username: str) -> set[str]:
    return set(User.objects.get(username=username).groups.values_list("name", flat=True))


def test_sign_in_creates_the_user_with_mapped_groups(client, sso_settings):
    response = sign_in(client, "ana", "ana-idp-pass-1")
    assert response.status_code == 302 and response["Location"] == "/numbers/"
    user = User.objects.get(username="ana")
    assert (user.email, user.first_name, user.last_name) == ("ana@example.com", "Ana", "Lima")
    assert not user.has_usable_password()
    assert groups_of("ana") == {"Carrier team"}  # idp-unmapped is ignored
    identity = SsoIdentity.objects.get(user=user)
    assert identity.issuer.endswith("/o") and identity.idp_groups == ["idp-carrier", "idp-unmapped"]
    assert client.get("/").context["user"] == user
    actions = list(AuditLog.objects.filter(username="ana").values_list("action", flat=True))
    assert {"user.create", "user.groups", "auth.login"} <= set(actions)


def test_a_second_user_gets_other_groups_and_unmanaged_groups_stay(client, sso_settings):
    local_only = Group.objects.create(name="Night shift")
    sign_in(client, "ben", "ben-idp-pass-1")
    assert groups_of("ben") == {"Contact centre"}
    ben = User.objects.get(username="ben")
    ben.groups.add(local_only)  # an admin's own grant: not named in the map, never touched by SSO
    client.logout()
    sign_in(client, "ben", "ben-idp-pass-1")
    assert groups_of("ben") == {"Contact centre", "Night shift"}


def test_groups_follow_the_idp_at_every_sign_in(client, sso_settings, loopback_idp):
    cara = {"username": "cara", "password": "cara-idp-pass-1", "email": "cara@example.com", "groups": ["idp-carrier"]}
    loopback_idp.set_users([cara])
    sign_in(client, "cara", "cara-idp-pass-1")
    assert groups_of("cara") == {"Carrier team"}
    loopback_idp.set_users([{**cara, "groups": ["idp-both"]}])  # one IdP group, two Django groups
    client.logout()
    sign_in(client, "cara", "cara-idp-pass-1")
    assert groups_of("cara") == {"Carrier team", "Contact centre"}
    loopback_idp.set_users([{**cara, "groups": ["idp-cc"]}])
    client.logout()
    sign_in(client, "cara", "cara-idp-pass-1")
    assert groups_of("cara") == {"Contact centre"}
    last = AuditLog.objects.filter(action="user.groups", username="cara").order_by("-id").first()
    assert last.detail["groups_removed"] == ["Carrier team"] and last.detail["groups_added"] == [] and last.detail["via"] == "sso"


def test_an_existing_user_with_the_verified_email_is_linked_not_duplicated(client, sso_settings):
    existing = User.objects.create_user("ana.lima", email="ANA@example.com", password="local-pass-123")
    sign_in(client, "ana", "ana-idp-pass-1")
    assert not User.objects.filter(username="ana").exists()
    assert SsoIdentity.objects.get().user == existing
    assert AuditLog.objects.filter(action="user.sso_link", username="ana.lima").exists()
    assert not User.objects.get(pk=existing.pk).has_usable_password()


def test_superusers_are_never_linked_by_email(client, sso_settings):
    root = User.objects.create_superuser("root", email="ana@example.com", password="root-pass-123")
    sign_in(client, "ana", "ana-idp-pass-1")
    assert SsoIdentity.objects.get().user.username == "ana"
    assert User.objects.get(pk=root.pk).check_password("root-pass-123")


def test_usernames_never_collide(client, sso_settings):
    User.objects.create_user("ben", email="someone-else@example.com")  # another person's username
    User.objects.create_user("ben-2")
    sign_in(client, "ben", "ben-idp-pass-1")
    assert User.objects.get(email="ben@example.com").username == "ben-3"
    assert User.objects.get(username="ben").email == "someone-else@example.com"


def messages_of(response) -> list[str]:
    return [str(m) for m in response.wsgi_request._messages]


def test_a_deactivated_user_is_refused_and_loses_the_session(client, sso_settings):
    sign_in(client, "ana", "ana-idp-pass-1")
    assert client.get("/").status_code == 200
    User.objects.filter(username="ana").update(is_active=False)
    assert client.get("/")["Location"].startswith("/login/")  # the session no longer counts
    response = sign_in(client, "ana", "ana-idp-pass-1")
    assert response["Location"] == "/login/"
    assert any("deactivated" in m for m in messages_of(response))
    assert AuditLog.objects.filter(action="auth.sso_refused", detail__reason="inactive").exists()
    assert client.get("/")["Location"].startswith("/login/")


def test_unknown_users_are_refused_when_not_creating_users(client, sso_settings):
    sso_settings.OIDC_CREATE_USERS = False
    response = sign_in(client, "ben", "ben-idp-pass-1")
    assert response["Location"] == "/login/"
    assert any("no user for your single sign-on account" in m for m in messages_of(response))
    assert not User.objects.exists()


def test_bad_state_bad_code_replay_and_cancel_are_messages_not_errors(client, sso_settings, loopback_idp):
    # No sign-in started in this session: unknown state.
    response = client.get("/oidc/callback/", {"code": "abc", "state": "forged"})
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert any("expired or was already used" in m for m in messages_of(response))
    # A real state with a made-up code: the IdP's token endpoint refuses it.
    start = client.get("/oidc/authenticate/")
    state = start["Location"].split("state=")[1].split("&")[0]
    response = client.get("/oidc/callback/", {"code": "made-up", "state": state})
    assert response["Location"] == "/login/"
    assert any("did not accept" in m for m in messages_of(response))
    # A real code, used twice: the second time its state is spent.
    start = client.get("/oidc/authenticate/")
    back = authorize_at_idp(start["Location"], "ben", "ben-idp-pass-1")
    path, query = back.split("?", 1)
    assert client.get(f"{path}?{query}")["Location"] == "/numbers/"
    client.logout()
    response = client.get(f"{path}?{query}")
    assert response["Location"] == "/login/" and any("already used" in m for m in messages_of(response))
    # The user cancels at the consent screen.
    response = sign_in(client, "ben", "ben-idp-pass-1", allow=False)
    assert any("access_denied" in m for m in messages_of(response))
    # Incomplete answers.
    assert client.get("/oidc/callback/")["Location"] == "/login/"
    reasons = set(AuditLog.objects.filter(action="auth.sso_failed").values_list("detail__reason", flat=True))
    assert {"state", "idp:access_denied", "incomplete"} <= reasons and any(r.startswith("exchange:") for r in reasons)


def test_a_token_from_another_issuer_is_rejected(client, sso_settings):
    sso_settings.OIDC_OP_ISSUER = "http://127.0.0.1:1/not-the-issuer"
    response = sign_in(client, "ana", "ana-idp-pass-1")
    assert response["Location"] == "/login/"
    assert any("could not be verified" in m for m in messages_of(response))
    assert not User.objects.filter(username="ana").exists()


def test_passwords_never_reach_the_sso_backend(rf, sso_settings):
    from django.contrib.auth import authenticate

    from numbersadmin.identity.backends import SsoBackend

    request = rf.get("/login/", {"code": "c", "state": "s"})
    assert SsoBackend().authenticate(request, username="ana", password="x") is None
    assert SsoBackend().authenticate(request) is None  # only our callback passes the session's nonce
    assert authenticate(request, username="ana", password="ana-idp-pass-1") is None


def test_the_client_secret_is_not_logged_or_audited(client, sso_settings, caplog):
    from tests.idp.harness import CLIENT_SECRET

    caplog.set_level("DEBUG")
    sign_in(client, "ana", "ana-idp-pass-1")
    client.get("/oidc/callback/", {"code": "made-up", "state": "x"})
    assert CLIENT_SECRET not in caplog.text
    assert CLIENT_SECRET not in str(list(AuditLog.objects.values_list("detail", flat=True)))
    assert CLIENT_SECRET not in client.get("/login/").content.decode()


def test_login_page_without_and_with_sso(client, settings, sso_settings):
    page = client.get("/login/").content.decode()
    assert "Sign in with SSO" in page and 'name="password"' in page
    settings.OIDC_ENABLED = False
    page = client.get("/login/").content.decode()
    assert "Sign in with" not in page and 'name="password"' in page
    assert client.get("/oidc/authenticate/").status_code == 404
    assert client.get("/oidc/callback/", {"code": "a", "state": "b"}).status_code == 404


def test_local_login_disabled_refuses_password_posts(client, settings, sso_settings):
    User.objects.create_superuser("root", password="root-pass-123")
    settings.LOCAL_LOGIN_ENABLED = False
    page = client.get("/login/").content.decode()
    assert "Sign in with SSO" in page and 'name="password"' not in page
    response = client.post("/login/", {"username": "root", "password": "root-pass-123"})
    assert response.status_code == 403 and "Password sign-in is turned off" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # Django admin's own login form goes through the same backends.
    client.post("/django-admin/login/", {"username": "root", "password": "root-pass-123", "next": "/django-admin/"})
    assert "_auth_user_id" not in client.session
    # SSO still works.
    assert sign_in(client, "ben", "ben-idp-pass-1")["Location"] == "/numbers/"


def test_discovery_failure_is_a_message(client, sso_settings):
    sso_settings.OIDC_OP_DISCOVERY_URL = "http://127.0.0.1:9/.well-known/openid-configuration"
    response = client.get("/oidc/authenticate/")
    assert response["Location"] == "/login/"
    assert any("cannot be reached" in m for m in messages_of(response))


# --- the group map itself ----------------------------------------------------------------------

def test_group_map_formats():
    from numbersadmin.identity import groupmap

    m = groupmap.parse(" idp-a = Carrier team , idp-b=Contact centre,,idp-a=Ops ")
    assert m == {"idp-a": {"Carrier team", "Ops"}, "idp-b": {"Contact centre"}}
    assert groupmap.parse('{"a,b": ["X=1", "Y"], "c": "Z"}') == {"a,b": {"X=1", "Y"}, "c": {"Z"}}
    assert groupmap.parse("") == {}
    for bad in ("nogroup", "=X", "a=", '{"a": 1}', "{bad json", '["a"]'):
        with pytest.raises(groupmap.GroupMapError):
            groupmap.parse(bad)
    assert groupmap.managed(m) == {"Carrier team", "Ops", "Contact centre"}
    assert groupmap.wanted(m, ["idp-b", "other"]) == {"Contact centre"}
    assert groupmap.claim_groups("idp-a") == ["idp-a"] and groupmap.claim_groups({"x": 1}) == []
    assert groupmap.claim_groups(["a", 3, None, "b"]) == ["a", "b"]


def test_a_bad_group_map_fails_the_system_check(settings):
    from numbersadmin.identity.checks import sso_settings as check

    settings.OIDC_GROUP_MAP = "idp-a"
    assert [p.id for p in check(None)] == ["identity.E001"]


def test_users_claims_match_the_idp_fixture():
    assert {u["username"] for u in USERS} == {"ana", "ben"}
