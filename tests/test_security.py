"""Secrets at rest, key rotation, security headers."""

from __future__ import annotations

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import CommandError

from numbersadmin.inventory import crypto
from numbersadmin.inventory.models import ProviderAccount
from numbersadmin.inventory.services.accounts import account_create

pytestmark = pytest.mark.django_db


def make_account():
    return account_create(provider="didww", name="acct", base_url="http://127.0.0.1:9/v3", secrets={"api_key": "s3cret-key-xyz"})


def test_secrets_are_encrypted_at_rest():
    account = make_account()
    raw = ProviderAccount.objects.values_list("secrets_encrypted", flat=True).get(pk=account.pk)
    assert "s3cret-key-xyz" not in raw
    assert ProviderAccount.objects.get(pk=account.pk).get_secrets() == {"api_key": "s3cret-key-xyz"}


def test_key_rotation_keeps_secrets_readable(settings):
    account = make_account()
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    call_command("rotate_secrets", stdout=io.StringIO())
    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # old key retired
    assert ProviderAccount.objects.get(pk=account.pk).get_secrets()["api_key"] == "s3cret-key-xyz"


def test_wrong_key_is_a_clear_error_not_a_leak(settings):
    account = make_account()
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(crypto.SecretsUnavailable):
        ProviderAccount.objects.get(pk=account.pk).get_secrets()
    with pytest.raises(CommandError):
        call_command("rotate_secrets", stdout=io.StringIO())


def test_security_headers_and_csp(client, ops_user):
    client.force_login(ops_user)
    response = client.get("/numbers/")
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_cli_add_account_rejects_foreign_host_and_never_echoes_secret(capsys):
    with pytest.raises(CommandError) as exc:
        call_command("add_account", "didww", "x", "--base-url", "http://203.0.113.9/v3", "--secret", "api_key=topsecret99")
    assert "not allowed" in str(exc.value) and "topsecret99" not in str(exc.value)
    call_command("add_account", "didww", "ok", "--base-url", "http://127.0.0.1:9/v3", "--secret", "api_key=topsecret99")
    out = capsys.readouterr()
    assert "topsecret99" not in out.out + out.err
    with pytest.raises(CommandError):
        call_command("add_account", "didww", "ok2", "--secret", "nope=1")
