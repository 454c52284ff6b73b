"""A failed sync keeps the stage it stopped at (not a stale "connecting"), leaves the inventory
as it was, and its stored message carries no secret or account identifier. Real syncs against
the DIDWW simulator."""

from __future__ import annotations

import pytest

from numbersadmin.inventory import selectors
from numbersadmin.inventory.choices import AccountHealth, SyncState
from numbersadmin.inventory.models import ProviderAccount

from .support.helpers import snapshot, sync

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("path, page, stage, words", [
    ("/dids", 1, "numbers", "fetching numbers"),  # the very first request of the run
    ("/dids", 3, "numbers", "fetching numbers"),  # after two pages (used to be overwritten by "connecting")
    ("/voice_in_trunks", 1, "trunks", "fetching trunks"),  # first request of a later listing
    ("/voice_in_trunk_groups", 1, "trunk_groups", "fetching trunk groups"),
])
def test_failure_keeps_the_stage_it_stopped_at(admin_client, didww_account, didww_sim, path, page, stage, words):
    assert sync(didww_account).state == SyncState.SUCCEEDED
    didww_sim.remove_did(didww_sim.dids[0]["id"])  # would be a change if anything were applied
    before = snapshot(didww_account)
    didww_sim.faults.fail(500, page=page, path=path)
    run = sync(didww_account)
    assert (run.state, run.error_class, run.stage) == (SyncState.FAILED, "unavailable", stage)
    assert snapshot(didww_account) == before
    body = admin_client.get(run.get_absolute_url()).content.decode()
    assert f'<span id="run-stage">failed while {words}</span>' in body
    assert f"Failed while {words}. The provider could not be reached" in body
    assert "Inventory unchanged" in body and "connecting" not in body


def test_two_failures_after_a_good_sync_make_the_account_failing(admin_client, didww_account, didww_sim):
    assert sync(didww_account).state == SyncState.SUCCEEDED
    didww_sim.faults.fail(500, path="/dids", times=2)
    assert [sync(didww_account).state for _ in range(2)] == [SyncState.FAILED, SyncState.FAILED]
    account = ProviderAccount.objects.get(pk=didww_account.pk)
    assert not account.is_stale()  # the last good sync is minutes old ...
    assert selectors.sync_overview([account]).health[account.pk].state == AccountHealth.FAILING  # ... yet failing
    assert "Every enabled account synced recently" not in admin_client.get("/").content.decode()
    # A good sync afterwards clears it.
    assert sync(didww_account).state == SyncState.SUCCEEDED
    assert selectors.sync_overview([account]).health[account.pk].state == AccountHealth.OK


def test_applied_runs_report_no_stage(didww_account, didww_sim):
    assert sync(didww_account).stage == ""
    for did in list(didww_sim.dids[:100]):
        didww_sim.remove_did(did["id"])
    run = sync(didww_account)
    assert run.state == SyncState.NEEDS_REVIEW and run.stage == ""


def test_stored_message_hides_account_identifiers_in_paths(admin_client, db, monkeypatch):
    """Defence in depth: the provider's raw-data redaction (providers/redaction.py) also runs over
    the message a failed run stores, e.g. Plivo's /Account/<auth_id>/ in a quoted URL."""
    from providers.base import begin
    from providers.errors import BadResponse

    from numbersadmin.inventory.services import accounts as account_services
    from numbersadmin.inventory.services import sync as sync_service

    account = account_services.account_create(provider="plivo", name="Plivo EU", base_url="http://127.0.0.1:9",
                                              secrets={"auth_id": "MAIDENTIFIER0123456", "auth_token": "tok" * 8})

    class Broken:
        def fetch_inventory(self, progress=None):
            begin(progress, "pools")
            raise BadResponse("powerpacks: next link /v1/Account/MAIDENTIFIER0123456/Powerpack/?offset=20 repeats a page")

        def close(self):
            pass

    monkeypatch.setattr(sync_service, "build_client", lambda account: Broken())
    run = sync(account)
    assert (run.state, run.error_class, run.stage) == (SyncState.FAILED, "bad_response", "pools")
    assert "MAIDENTIFIER0123456" not in run.error_message and "/Account/[redacted]/" in run.error_message
    body = admin_client.get(run.get_absolute_url()).content.decode()
    assert "MAIDENTIFIER0123456" not in body and "failed while fetching number pools" in body
