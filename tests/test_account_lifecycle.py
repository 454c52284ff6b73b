"""Archive (kept, out of lists and totals), delete (confirmed, counted, audited), and the warning
when a new account is one we already have."""

from __future__ import annotations

import pytest

from numbersadmin.inventory.models import AuditLog, NumberChange, PhoneNumber, ProviderAccount, Trunk

from .support.helpers import sync

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def synced(didww_account):
    assert sync(didww_account).state == "succeeded"
    return didww_account


def count_on_page(client, url: str) -> int:
    import re

    body = client.get(url).content.decode()
    return len(re.findall(r'<tr[^>]*data-pk=|class="num"', body))


def test_archive_takes_rows_out_of_lists_and_totals_and_unarchive_brings_them_back(synced, admin_client):
    live = PhoneNumber.objects.filter(account=synced, removed_at__isnull=True).count()
    from numbersadmin.inventory import selectors

    assert selectors.dashboard_figures().live_numbers == live
    response = admin_client.post(f"/accounts/{synced.pk}/archive/")
    assert response.status_code == 302
    synced.refresh_from_db()
    assert synced.archived_at is not None and synced.enabled is False
    figures = selectors.dashboard_figures()
    assert figures.live_numbers == 0 and figures.accounts == []
    from django.http import QueryDict

    assert selectors.number_list(QueryDict()).qs.count() == 0
    assert selectors.number_list(QueryDict("archived=include")).qs.count() == live
    assert selectors.number_list(QueryDict("archived=only")).qs.count() == live
    assert selectors.number_list(QueryDict(f"account={synced.pk}")).qs.count() == live  # asked for by name
    assert selectors.trunk_list(QueryDict()).qs.count() == 0 and Trunk.objects.filter(account=synced).exists()
    assert "No provider accounts yet" in admin_client.get("/accounts/").content.decode()
    assert synced.name in admin_client.get("/accounts/?archived=yes").content.decode()
    page = admin_client.get(f"/accounts/{synced.pk}/").content.decode()
    assert 'id="archived-note"' in page and 'id="unarchive"' in page
    # History is kept.
    assert PhoneNumber.objects.filter(account=synced).count() >= live
    admin_client.post(f"/accounts/{synced.pk}/unarchive/")
    assert selectors.dashboard_figures().live_numbers == live
    assert list(AuditLog.objects.filter(action__startswith="account.").exclude(action="account.create")
                .values_list("action", flat=True).order_by("pk")) == ["account.archive", "account.unarchive"]


def test_an_archived_account_is_not_synced_by_the_schedule(synced, admin_client):
    from numbersadmin.inventory.services.dispatch import dispatch_due_syncs

    admin_client.post(f"/accounts/{synced.pk}/archive/")
    ProviderAccount.objects.filter(pk=synced.pk).update(last_sync_started_at=None)
    assert dispatch_due_syncs() == []


def test_delete_needs_the_name_and_deletes_everything_with_counts(synced, admin_client):
    numbers = PhoneNumber.objects.filter(account=synced).count()
    page = admin_client.get(f"/accounts/{synced.pk}/delete/").content.decode()
    assert f"<li>{numbers} numbers</li>" in page.replace(",", "")
    refused = admin_client.post(f"/accounts/{synced.pk}/delete/", {"confirm_name": "not it"})
    assert refused.status_code == 400 and "Type the account" in refused.content.decode()
    assert ProviderAccount.objects.filter(pk=synced.pk).exists() and PhoneNumber.objects.count() == numbers
    done = admin_client.post(f"/accounts/{synced.pk}/delete/", {"confirm_name": synced.name})
    assert done.status_code == 302
    assert not ProviderAccount.objects.filter(pk=synced.pk).exists()
    assert PhoneNumber.objects.count() == 0 and Trunk.objects.count() == 0 and NumberChange.objects.count() == 0
    entry = AuditLog.objects.get(action="account.delete")
    assert entry.target == synced.name and entry.detail["deleted"]["numbers"] == numbers


def test_ops_users_cannot_archive_or_delete(synced, ops_client):
    assert ops_client.post(f"/accounts/{synced.pk}/archive/").status_code == 403
    assert ops_client.get(f"/accounts/{synced.pk}/delete/").status_code == 403
    assert ops_client.post(f"/accounts/{synced.pk}/delete/", {"confirm_name": synced.name}).status_code == 403
    assert ProviderAccount.objects.filter(pk=synced.pk, archived_at__isnull=True).exists()


def test_adding_the_same_account_again_warns_first(didww_account, didww_sim, admin_client):
    form = {"name": "DIDWW again", "base_url": didww_sim.base_url, "sync_interval_minutes": 60, "enabled": "on",
            "secret_api_key": "sim-key-0123456789"}
    first = admin_client.post("/accounts/add/didww/", form)
    assert first.status_code == 200
    body = first.content.decode()
    assert 'id="duplicate-warning"' in body and didww_account.name in body
    assert "sim-key-0123456789" not in body
    assert not ProviderAccount.objects.filter(name="DIDWW again").exists()
    second = admin_client.post("/accounts/add/didww/", {**form, "confirm_duplicate": "1"})
    assert second.status_code == 302 and ProviderAccount.objects.filter(name="DIDWW again").exists()
    other = admin_client.post("/accounts/add/didww/", {**form, "name": "Other key", "secret_api_key": "another-key-000000"})
    assert other.status_code == 302  # different credentials: no warning


def test_cli_warns_about_a_duplicate(didww_account, didww_sim, capsys):
    from django.core.management import call_command

    call_command("add_account", "didww", "dup", "--base-url", didww_sim.base_url, "--secret", "api_key=sim-key-0123456789")
    err = capsys.readouterr().err
    assert "looks like an account you already have: DIDWW main" in err and "sim-key" not in err
    assert ProviderAccount.objects.filter(name="dup").exists()


def test_same_provider_account_rule_is_shared_by_the_form_and_the_reconciliation_centre():
    from numbersadmin.inventory.services.accounts import same_provider_account

    plivo = "https://api.plivo.com/v1"
    assert same_provider_account("plivo", (plivo, {"auth_id": "MA1", "auth_token": "x"}, {}),
                                 (plivo + "/", {"auth_id": "MA1", "auth_token": "rotated"}, {})) \
        == "the same base URL and provider account"
    assert same_provider_account("didww", ("u", {"api_key": "k"}, {}), ("v", {"api_key": "k"}, {})) == "the same credentials"
    assert same_provider_account("didww", ("u", {"api_key": "k"}, {}), ("u", {"api_key": "other"}, {})) == ""
    assert same_provider_account("webex", ("u", {"access_token": "a"}, {"org_id": "O1"}),
                                 ("u", {"access_token": "b"}, {"org_id": "O2"})) == ""
