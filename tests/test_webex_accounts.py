"""Webex accounts end to end through the app: form with optional org id, SSRF guard, auth."""

from __future__ import annotations

import pytest

from numbersadmin.inventory.models import Owner, PhoneNumber, ProviderAccount
from providers.simulators.registry import simulator

from .support.helpers import snapshot, sync

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def wx_sim():
    sim = simulator("webex", numbers=60, seed=3)
    sim.start()
    yield sim
    sim.stop()


def test_admin_adds_webex_account_with_org_id(admin_client, wx_sim):
    response = admin_client.post("/accounts/add/webex/", {
        "name": "WX", "base_url": wx_sim.base_url, "secret_access_token": "demo-webex-token",
        "config_org_id": wx_sim.org_id, "sync_interval_minutes": 60, "enabled": "on",
    })
    assert response.status_code == 302
    account = ProviderAccount.objects.get(name="WX")
    assert account.config == {"org_id": wx_sim.org_id} and account.get_secrets() == {"access_token": "demo-webex-token"}
    page = admin_client.get(f"/accounts/{account.pk}/edit/").content.decode()
    assert wx_sim.org_id in page and "demo-webex-token" not in page
    run = sync(account)
    assert run.state == "succeeded", run.error_message
    assert PhoneNumber.objects.filter(account=account).exists() and Owner.objects.filter(account=account).exists()
    assert any(("orgId", wx_sim.org_id) in r.query for r in wx_sim.requests)
    # A wrong org id is refused by the provider: authentication failed, nothing written.
    account.config = {"org_id": "some-other-org"}
    account.save()
    before = PhoneNumber.objects.filter(account=account).count()
    run = sync(account)
    assert run.state == "failed" and run.error_class == "auth"
    assert PhoneNumber.objects.filter(account=account, removed_at=None).count() == before


def test_next_link_to_another_host_fails_the_run_and_keeps_inventory(admin_client, wx_sim):
    from numbersadmin.inventory.services.accounts import account_create

    account = account_create(provider="webex", name="WX2", base_url=wx_sim.base_url,
                             secrets={"access_token": "demo-webex-token"}, config={"page_size": "10"})
    assert sync(account).state == "succeeded"
    before = snapshot(account)
    wx_sim.foreign_next_link = True
    run = sync(account)
    assert run.state == "failed" and run.error_class == "unsafe_url"
    assert "not the configured host" in run.error_message
    assert snapshot(account) == before
    assert all(r.path.startswith("/v1") for r in wx_sim.requests)  # nothing was sent elsewhere (it couldn't be)


def test_expired_token_fails_as_authentication(wx_sim):
    from numbersadmin.inventory.services.accounts import account_create

    account = account_create(provider="webex", name="WX3", base_url=wx_sim.base_url, secrets={"access_token": "expired"})
    run = sync(account)
    assert run.state == "failed" and run.error_class == "auth" and "authentication failed" in run.error_message
    assert run.tracking_id
