"""Apifonica and Plivo through the app: accounts added from the page, bad cursors stop the run
without touching inventory, unparseable numbers kept and flagged."""

from __future__ import annotations

import pytest

from numbersadmin.inventory.models import PhoneNumber, ProviderAccount
from numbersadmin.inventory.services.accounts import account_create
from providers import registry
from providers.simulators.registry import demo_secrets, simulator

from .support.helpers import snapshot, sync

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("slug", ["apifonica", "plivo"])
def test_admin_adds_account_and_secrets_stay_write_only(admin_client, slug):
    spec = registry.get(slug)
    sim = simulator(slug, numbers=30, seed=2)
    sim.start()
    try:
        data = {"name": slug, "base_url": sim.base_url, "sync_interval_minutes": 60, "enabled": "on"}
        data.update({f"secret_{k}": v for k, v in demo_secrets(slug).items()})
        assert admin_client.post(f"/accounts/add/{slug}/", data).status_code == 302
        account = ProviderAccount.objects.get(name=slug)
        assert "OK" in admin_client.post(f"/accounts/{account.pk}/test/", follow=True).content.decode()
        assert sync(account).state == "succeeded"
        page = admin_client.get(f"/accounts/{account.pk}/edit/").content.decode()
        assert demo_secrets(slug)[spec.secret_fields[-1]] not in page
    finally:
        sim.stop()


@pytest.mark.parametrize("flag, error_class", [("repeat_cursor", "bad_response"), ("foreign_next", "unsafe_url"),
                                               ("endless", "bad_response")])
def test_bad_apifonica_cursors_stop_the_run_and_keep_inventory(flag, error_class):
    sim = simulator("apifonica", numbers=45, seed=6)
    sim.start()
    try:
        account = account_create(provider="apifonica", name="af", base_url=sim.base_url,
                                 secrets=demo_secrets("apifonica"), config={"page_size": "10"})
        assert sync(account).state == "succeeded"
        before = snapshot(account)
        setattr(sim, flag, True)
        # An endless listing is cut by the client's page cap (50,000 by default; 30 here to stay fast).
        run = sync(account) if flag != "endless" else _sync_with_page_cap(account, 30)
        assert run.state == "failed" and run.error_class == error_class, run.error_message
        assert snapshot(account) == before
    finally:
        sim.stop()


def _sync_with_page_cap(account, cap):
    from unittest import mock

    from providers.apifonica.client import ApifonicaClient

    original = ApifonicaClient.__init__

    def init(self, *a, **kw):
        original(self, *a, **kw)
        self.max_pages = cap

    with mock.patch.object(ApifonicaClient, "__init__", init):
        return sync(account)


def test_unparseable_number_is_kept_and_flagged(ops_client):
    with simulator("apifonica", numbers=40, seed=1) as sim:
        account = account_create(provider="apifonica", name="af", base_url=sim.base_url, secrets=demo_secrets("apifonica"))
        assert sync(account).state == "succeeded"
    flagged = PhoneNumber.objects.filter(account=account, is_valid=False)
    assert flagged.exists() and all(n.e164 == "" and n.number_raw for n in flagged)
    body = ops_client.get(f"/numbers/?account={account.pk}&per_page=100").content.decode()
    assert "unparsed" in body
