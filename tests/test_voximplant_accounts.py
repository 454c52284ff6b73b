"""Admins add a Voximplant account by uploading credentials.json; bad files never save or echo."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.core.files.uploadedfile import SimpleUploadedFile

from numbersadmin.inventory.models import CallerId, PhoneNumber, ProviderAccount
from providers.simulators.registry import demo_secrets, simulator

from .support.helpers import sync

pytestmark = pytest.mark.django_db(transaction=True)
DEMO = json.loads(demo_secrets("voximplant")["credentials_json"])


@pytest.fixture
def vox_sim():
    sim = simulator("voximplant", numbers=30, seed=2)
    sim.start()
    yield sim
    sim.stop()


def upload(content: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("credentials.json", content.encode(), content_type="application/json")


def post_add(client, sim, content: str, name="Vox"):
    return client.post("/accounts/add/voximplant/", {
        "name": name, "base_url": sim.base_url, "sync_interval_minutes": 60, "enabled": "on",
        "secret_credentials_json": upload(content),
    })


def pem(key, password: bytes | None = None) -> str:
    enc = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc).decode()


@pytest.mark.parametrize("content", [
    "this is not json",
    json.dumps({"account_id": 1, "key_id": "abc"}),
    json.dumps({**DEMO, "private_key": "-----BEGIN PRIVATE KEY-----\nnot-a-key\n-----END PRIVATE KEY-----\n"}),
    json.dumps({**DEMO, "private_key": pem(rsa.generate_private_key(public_exponent=65537, key_size=2048), b"pw")}),
    json.dumps({**DEMO, "private_key": pem(ec.generate_private_key(ec.SECP256R1()))}),
], ids=["not-json", "missing-fields", "malformed-pem", "encrypted-key", "ec-key"])
def test_bad_credentials_give_a_form_error_that_never_echoes_key_material(admin_client, vox_sim, content):
    response = post_add(admin_client, vox_sim, content)
    body = response.content.decode()
    assert response.status_code == 200 and 'class="field-error"' in body
    assert not ProviderAccount.objects.filter(name="Vox").exists()
    for line in content.splitlines():
        if len(line) > 12 and "BEGIN" not in line and "END" not in line:
            assert line not in body


def test_valid_upload_syncs_and_is_never_shown_again(admin_client, vox_sim):
    response = post_add(admin_client, vox_sim, demo_secrets("voximplant")["credentials_json"])
    assert response.status_code == 302, response.content.decode()[:2000]
    account = ProviderAccount.objects.get(name="Vox")
    assert account.get_secrets()["credentials_json"] == demo_secrets("voximplant")["credentials_json"]
    assert "OK" in admin_client.post(f"/accounts/{account.pk}/test/", follow=True).content.decode()
    run = sync(account)
    assert run.state == "succeeded", run.error_message
    assert PhoneNumber.objects.filter(account=account).count() == len(vox_sim.phone_numbers)
    assert CallerId.objects.filter(account=account).count() == len(vox_sim.caller_ids)
    key_line = DEMO["private_key"].splitlines()[2]
    for url in ("/accounts/", f"/accounts/{account.pk}/", f"/accounts/{account.pk}/edit/", "/syncs/", "/caller-ids/"):
        assert key_line not in admin_client.get(url).content.decode()
    # Editing without a new file keeps the stored credentials.
    admin_client.post(f"/accounts/{account.pk}/edit/", {"name": "Vox", "base_url": vox_sim.base_url,
                                                        "sync_interval_minutes": 30, "enabled": "on"})
    account.refresh_from_db()
    assert account.sync_interval_minutes == 30
    assert account.get_secrets()["credentials_json"] == demo_secrets("voximplant")["credentials_json"]


def test_token_rejected_by_provider_fails_as_authentication(admin_client, vox_sim):
    other = {**DEMO, "private_key": pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))}
    post_add(admin_client, vox_sim, json.dumps(other))
    account = ProviderAccount.objects.get(name="Vox")
    run = sync(account)
    assert run.state == "failed" and run.error_class == "auth" and "authentication failed" in run.error_message
