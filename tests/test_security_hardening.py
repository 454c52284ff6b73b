"""Security findings of the attacker review: one account-validation path (Django admin included),
a login throttle keyed on the identity Django authenticates and on the real client address,
bad input answered with a message (never a 500), connection details for admins only, and
security headers on static files."""

from __future__ import annotations

import base64
import json

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from numbersadmin.inventory.models import AuditLog, ProviderAccount, SavedView
from numbersadmin.inventory.services.accounts import account_create, account_test_connection
from numbersadmin.inventory.validators import validate_base_url

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    from django.core.cache import cache

    cache.clear()  # throttle counters live in the cache: no test may inherit another's
    yield
    cache.clear()


# -- 1. one validation path ---------------------------------------------------------------------
@pytest.fixture
def superuser_client(client):
    user = get_user_model().objects.create_superuser("root", password="pw-root-123456")
    client.force_login(user)
    return client


@pytest.fixture
def account(db):
    return account_create(provider="didww", name="acct", base_url="http://127.0.0.1:9/v3",
                          secrets={"api_key": "k-123456"})


def admin_change(client, account, **changes):
    data = {"name": account.name, "base_url": account.base_url, "config": json.dumps(account.config),
            "enabled": "on", "sync_interval_minutes": account.sync_interval_minutes, **changes}
    return client.post(f"/django-admin/inventory/provideraccount/{account.pk}/change/", data)


@pytest.mark.parametrize("changes", [
    {"base_url": "https://attacker.example/v3"},
    {"base_url": "http://api.didww.com:6379/v3"},
    {"base_url": "http://127.0.0.1:99999/v3"},
    {"config": json.dumps({"evil": "x"})},
    {"config": json.dumps({"page_size": "lots"})},
])
def test_django_admin_uses_the_account_validation(superuser_client, account, changes):
    response = admin_change(superuser_client, account, **changes)
    assert response.status_code == 200 and "errornote" in response.content.decode()
    assert ProviderAccount.objects.get(pk=account.pk).base_url == "http://127.0.0.1:9/v3"


def test_django_admin_accepts_a_valid_change(superuser_client, account):
    response = admin_change(superuser_client, account, base_url="https://api.didww.com/v3")
    assert response.status_code == 302
    assert ProviderAccount.objects.get(pk=account.pk).base_url == "https://api.didww.com/v3"


@pytest.mark.parametrize("url, ok", [
    ("https://api.didww.com/v3", True),
    ("https://api.didww.com:443/v3", True),
    ("http://api.didww.com/v3", False),  # the official host over plain http
    ("https://api.didww.com:6379/v3", False),  # ... or on another port
    ("http://127.0.0.1:99999/v3", False),
    ("http://127.0.0.1:0/v3", False),
    ("http://127.0.0.1:abc/v3", False),
    ("http://127.0.0.1:8080/v3", True),
    ("http://10.0.0.1/v3", False),
    ("http://127.0.0.1/v3\nHost: x", False),
])
def test_base_url_rules(url, ok):
    if ok:
        assert validate_base_url("didww", url)
    else:
        with pytest.raises(ValidationError):
            validate_base_url("didww", url)


def test_stored_bad_base_url_never_receives_credentials(account):
    # A row written before validation existed (or by hand): refused before connecting.
    ProviderAccount.objects.filter(pk=account.pk).update(base_url="http://attacker.example:99999/v3")
    account.refresh_from_db()
    result = account_test_connection(account)
    assert not result.ok and result.error_class == "unsafe_url"


# -- 2. login throttle ----------------------------------------------------------------------------
def login(client, username, password, **extra):
    return client.post("/login/", {"username": username, "password": password}, **extra)


def refused(response) -> bool:
    return response.status_code == 200 and "Too many failed attempts" in response.content.decode()


@pytest.mark.parametrize("variant", ["bob ", " bob", "bob\t", "ｂｏｂ", "BOB"])
def test_throttle_cannot_be_bypassed_by_username_variants(client, ops_user, settings, variant):
    settings.LOGIN_THROTTLE_ATTEMPTS = 3
    for _ in range(3):
        login(client, "bob", "wrong")
    assert refused(login(client, variant, "pw-bob-123"))
    assert refused(login(client, "bob", "pw-bob-123"))


def test_behind_a_proxy_the_throttle_keys_on_the_forwarded_client(client, ops_user, settings):
    settings.LOGIN_THROTTLE_ATTEMPTS = 3
    settings.BEHIND_PROXY = True
    attacker = {"HTTP_X_FORWARDED_FOR": "198.51.100.66, 203.0.113.9", "REMOTE_ADDR": "10.0.0.2"}
    for _ in range(3):
        login(client, "bob", "wrong", **attacker)
    assert refused(login(client, "bob", "pw-bob-123", **attacker))
    # Same proxy address, another client: not locked out by the attacker.
    other = {"HTTP_X_FORWARDED_FOR": "192.0.2.44", "REMOTE_ADDR": "10.0.0.2"}
    assert login(client, "bob", "pw-bob-123", **other).status_code == 302


def test_without_a_proxy_a_forged_forwarded_header_is_ignored(client, ops_user, settings):
    settings.LOGIN_THROTTLE_ATTEMPTS = 3
    for i in range(3):
        login(client, "bob", "wrong", HTTP_X_FORWARDED_FOR=f"192.0.2.{i}")
    assert refused(login(client, "bob", "pw-bob-123", HTTP_X_FORWARDED_FOR="192.0.2.200"))


def test_one_address_cannot_lock_a_user_out_for_everyone(client, ops_user, settings):
    settings.LOGIN_THROTTLE_ATTEMPTS = 3
    for _ in range(20):  # keeps hammering: refused attempts are not counted against the user
        login(client, "bob", "wrong", REMOTE_ADDR="198.51.100.1")
    assert login(client, "bob", "pw-bob-123", REMOTE_ADDR="192.0.2.7").status_code == 302


def test_logins_are_audited(client, ops_user, settings):
    login(client, "bob", "wrong")
    login(client, "bob", "pw-bob-123")
    actions = list(AuditLog.objects.order_by("id").values_list("action", "username"))
    assert actions == [("auth.login_failed", "bob"), ("auth.login", "bob")]


# -- 4. bad input: a message, never a 500 ------------------------------------------------------------
def cursor(payload: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize("payload", [
    {"v": "+1", "i": 1, "d": "n", "p": "x"},
    {"v": 5, "i": 1, "d": "n", "p": 1},  # a number where the sort column is a date
    {"v": {"t": "not a date"}, "i": 1, "d": "n"},
    {"v": {"t": "2026-01-01T00:00:00"}, "i": 1, "d": "n"},  # naive datetime
    {"v": "x", "i": 10**30, "d": "n"},
    {"v": "x", "i": True, "d": "n"},
    {"v": ["x"], "i": 1, "d": "p"},
])
def test_tampered_cursors_are_a_message(ops_client, payload):
    response = ops_client.get(f"/numbers/?sort=-last_changed&cursor={cursor(payload)}")
    assert response.status_code == 200 and "page link is not valid" in response.content.decode()


def test_nul_in_a_saved_view_name_is_a_message(ops_client):
    response = ops_client.post("/lists/numbers/views/", {"name": "a\x00b", "query": "country=US"}, follow=True)
    assert response.status_code == 200 and "cannot contain NUL" in response.content.decode()
    assert not SavedView.objects.exists()


def test_nul_in_a_saved_view_query_never_reaches_the_database(ops_client):
    response = ops_client.post("/lists/numbers/views/", {"name": "ok", "query": "q=a%00b&country=US"}, follow=True)
    assert response.status_code == 200
    assert "\x00" not in SavedView.objects.get().params  # the invalid filter is dropped, the rest kept


def test_overlong_saved_view_query_is_a_message(ops_client):
    query = "q=" + "1" * 5000
    response = ops_client.post("/lists/numbers/views/", {"name": "long", "query": query}, follow=True)
    assert response.status_code == 200 and "too long to save" in response.content.decode()
    assert not SavedView.objects.exists()


def test_deeply_nested_credentials_json_is_a_message(admin_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    nested = ("[" * 30000 + "]" * 30000).encode()  # deep enough for RecursionError, under the size cap
    response = admin_client.post("/accounts/add/voximplant/", {
        "name": "vox", "base_url": "", "sync_interval_minutes": 60, "enabled": "on",
        "secret_credentials_json": SimpleUploadedFile("credentials.json", nested)})
    assert response.status_code == 200 and "not valid JSON" in response.content.decode()
    assert not ProviderAccount.objects.exists()


def test_port_out_of_range_is_a_message_in_the_form(admin_client):
    response = admin_client.post("/accounts/add/didww/", {
        "name": "d", "base_url": "http://127.0.0.1:99999/v3", "sync_interval_minutes": 60, "enabled": "on",
        "secret_api_key": "k-123456"})
    assert response.status_code == 200 and "invalid port" in response.content.decode()
    assert not ProviderAccount.objects.exists()


# -- 5. connection details are for admins ------------------------------------------------------------
def test_ops_see_health_but_not_connection_details(ops_user, admin_user, account):
    from django.test import Client

    from numbersadmin.inventory.models import SyncRun

    ops_client, admin_client = Client(), Client()
    ops_client.force_login(ops_user)
    admin_client.force_login(admin_user)
    account.config = {"page_size": 20}
    account.save()
    SyncRun.objects.create(account=account, state="failed", error_class="unavailable",
                           error_message="provider error (HTTP 500): upstream said something", tracking_id="TRK-1")
    pages = ["/accounts/", f"/accounts/{account.pk}/", "/syncs/", f"/syncs/{SyncRun.objects.get().pk}/"]
    for url in pages:
        ops_page = ops_client.get(url).content.decode()
        assert "acct" in ops_page and "unavailable" in ops_page, url
        for hidden in ("127.0.0.1:9", "page_size", "upstream said", "TRK-1", "(set)"):
            assert hidden not in ops_page, (url, hidden)
    admin_page = admin_client.get(f"/accounts/{account.pk}/").content.decode()
    assert "127.0.0.1:9" in admin_page and "page_size" in admin_page and "upstream said" in admin_page


# -- 8. security headers on static files -----------------------------------------------------------
def test_static_files_carry_security_headers(client):
    response = client.get("/static/js/app.js")
    assert response.status_code == 200
    assert response["X-Frame-Options"] == "DENY" and response["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in response["Content-Security-Policy"]


def test_many_clients_failing_for_a_user_do_not_lock_out_a_clean_client(client, ops_user, settings):
    settings.LOGIN_THROTTLE_ATTEMPTS = 2  # user bucket: 10 failures from any clients
    for i in range(6):
        for _ in range(2):
            login(client, "bob", "wrong", REMOTE_ADDR=f"198.51.100.{i}")
    assert refused(login(client, "bob", "wrong", REMOTE_ADDR="203.0.113.1")) is False  # a first try is allowed
    assert refused(login(client, "bob", "pw-bob-123", REMOTE_ADDR="203.0.113.1"))  # ...but only one
    assert login(client, "bob", "pw-bob-123", REMOTE_ADDR="192.0.2.50").status_code == 302  # the real user


def test_ipv6_clients_are_counted_per_64(client, ops_user, settings):
    settings.LOGIN_THROTTLE_ATTEMPTS = 3
    for i in range(3):
        login(client, "bob", "wrong", REMOTE_ADDR=f"2001:db8:1:2::{i + 1}")
    assert refused(login(client, "bob", "pw-bob-123", REMOTE_ADDR="2001:db8:1:2::ffff"))
    assert login(client, "bob", "pw-bob-123", REMOTE_ADDR="2001:db8:1:3::1").status_code == 302


def test_refusals_are_audited_once_per_window(client, ops_user, settings):
    settings.LOGIN_THROTTLE_ATTEMPTS = 2
    for _ in range(12):
        login(client, "bob", "wrong")
    assert AuditLog.objects.filter(action="auth.login_failed").count() == 2
    assert AuditLog.objects.filter(action="auth.login_refused").count() == 1


@pytest.mark.parametrize("payload", [
    {"v": "\ud800", "i": 1, "d": "n"},  # a lone surrogate: not encodable for the database
])
def test_unencodable_cursor_is_a_message(ops_client, payload):
    token = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    response = ops_client.get(f"/numbers/?cursor={token}")
    assert response.status_code == 200 and "page link is not valid" in response.content.decode()


def test_overflowing_datetime_cursor_is_a_message(ops_client):
    payload = {"v": {"t": "0001-01-01T00:00:00+01:00"}, "i": 1, "d": "n"}
    response = ops_client.get(f"/numbers/?sort=first_seen&cursor={cursor(payload)}")
    assert response.status_code == 200 and "page link is not valid" in response.content.decode()
