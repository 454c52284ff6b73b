"""Caller IDs on the Django side: verification state, ownership across accounts, page, export."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from numbersadmin.inventory.models import CallerId, PhoneNumber, SiteSettings
from numbersadmin.inventory.services import ingest
from providers.base import CallerIdRecord, Inventory

from .support.helpers import sync
from .support.helpers import export_rows

pytestmark = pytest.mark.django_db(transaction=True)


def days(n: int) -> dt.date:
    return timezone.localdate() + dt.timedelta(days=n)


@pytest.fixture
def setup(didww_account):
    """A DIDWW account that owns numbers, and caller IDs (one of them owned by it) applied the way
    a caller-ID provider's sync applies them."""
    assert sync(didww_account).state == "succeeded"
    owned = PhoneNumber.objects.filter(country="US").order_by("e164").first()
    records = [
        CallerIdRecord("1", owned.e164.lstrip("+"), owned.e164, True, days(10), 3, 2),      # expiring, owned
        CallerIdRecord("2", "442071838750", "+442071838750", True, days(200), 3, 2),         # verified
        CallerIdRecord("3", "4930901820", "+4930901820", True, days(-3), 0, 0),              # expired
        CallerIdRecord("4", "14155550100", "+14155550100", False, None, 5, 3),               # unverified
    ]
    ingest.apply_inventory(didww_account, Inventory(
        numbers=list(_current_numbers(didww_account)), caller_ids=records, complete=True))
    return owned


def _current_numbers(account):
    # Re-apply the same numbers so only caller IDs change (this test drives ingest directly).
    from numbersadmin.inventory.services.accounts import build_client

    with build_client(account) as client:
        return client.fetch_inventory().numbers


def states(client, query="") -> dict[str, str]:
    from numbersadmin.inventory.selectors import caller_id_list

    from django.http import QueryDict

    return {c.e164: c.state for c in caller_id_list(QueryDict(query)).qs}


def test_verification_states_follow_the_admin_window(setup, client):
    assert states(client) == {setup.e164: "expiring", "+442071838750": "verified", "+4930901820": "expired",
                              "+14155550100": "unverified"}
    settings_obj = SiteSettings.load()
    settings_obj.caller_id_expiry_window_days = 5
    settings_obj.save()
    assert states(client)[setup.e164] == "verified"
    assert set(states(client, "state=expired")) == {"+4930901820"}


def test_page_filters_expiring_and_links_owner(setup, ops_client):
    body = ops_client.get("/caller-ids/?expires_within=30").content.decode()
    assert setup.e164 in body and "+442071838750" not in body and "+4930901820" not in body
    assert f'href="/numbers/{setup.pk}/"' in body  # owned by the DIDWW number
    # ... of another account than the caller ID's own: its provider and name read for the page.
    assert f'{setup.e164}</a> <span class="muted">DIDWW · DIDWW main</span>' in body
    body = ops_client.get("/caller-ids/?owned=no").content.decode()
    assert "not owned anywhere" in body and setup.e164 not in body
    for bad in ("expires_within=-4", "expires_within=abc", "state=nope", "page=999", "sort=secret", "owned=maybe"):
        response = ops_client.get(f"/caller-ids/?{bad}")
        assert response.status_code == 200 and "msg-warning" in response.content.decode(), bad


def test_number_page_shows_caller_id_status(setup, ops_client):
    body = ops_client.get(f"/numbers/{setup.pk}/").content.decode()
    assert "Also a caller ID" in body and "Expiring" in body


def test_export_caller_ids(setup, tmp_path):
    out = tmp_path / "cids.csv"
    call_command("export", "caller_ids", "-o", str(out), stderr=io.StringIO())
    rows = {r["e164"]: r for r in export_rows(out)}
    assert rows[setup.e164]["verification_state"] == "expiring"
    assert rows[setup.e164]["owned_by_account"] == "DIDWW main"
    assert rows["+14155550100"]["verification_state"] == "unverified" and rows["+14155550100"]["owned_by_account"] == ""
    # sorted by verified_until, never-verified last
    assert list(rows)[-1] == "+14155550100"


def test_caller_ids_missing_from_a_complete_listing_are_soft_removed(setup, didww_account):
    numbers = _current_numbers(didww_account)
    ingest.apply_inventory(didww_account, Inventory(numbers=numbers, caller_ids=[
        CallerIdRecord("2", "442071838750", "+442071838750", True, days(200), 3, 2)], complete=True))
    assert CallerId.objects.filter(removed_at__isnull=True).count() == 1
    assert CallerId.objects.count() == 4


def test_settings_page_is_admin_only(ops_user, admin_client):
    from django.test import Client

    ops = Client()
    ops.force_login(ops_user)
    assert ops.get("/settings/").status_code == 403
    response = admin_client.post("/settings/", {"caller_id_expiry_window_days": "-1"})
    assert response.status_code == 200 and SiteSettings.load().caller_id_expiry_window_days == 30
    admin_client.post("/settings/", {"caller_id_expiry_window_days": "14"})
    assert SiteSettings.load().caller_id_expiry_window_days == 14


def _queries(client, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return response.content.decode(), [q["sql"] for q in ctx.captured_queries]


def test_settings_are_read_once_per_request_and_a_change_shows_on_the_next(setup, admin_client):
    SiteSettings.load()  # the row exists (a first load inserts it)
    body, queries = _queries(admin_client, "/caller-ids/")
    assert sum("inventory_sitesettings" in q for q in queries) == 1  # the list's queryset and its intro line share it
    assert "within 30 days" in body and 'id="quick-expiring">expiring in 30 days' in body
    # Saved through the Settings page: the very next request uses the new window.
    admin_client.post("/settings/", {"caller_id_expiry_window_days": "5"})
    body, _ = _queries(admin_client, "/caller-ids/")
    assert "within 5 days" in body and "badge-verif-expiring" not in body
    # Written by another process (no save() here, nothing to invalidate): seen by the next request too.
    SiteSettings.objects.filter(pk=1).update(caller_id_expiry_window_days=60)
    body, _ = _queries(admin_client, "/caller-ids/")
    assert "within 60 days" in body and "badge-verif-expiring" in body


def test_settings_memo_is_per_request_and_saving_refreshes_it():
    from numbersadmin.inventory.models import site_settings_memo

    with site_settings_memo():
        first = SiteSettings.load()
        first.caller_id_expiry_window_days = 99  # a caller's unsaved change is its own copy's
        assert SiteSettings.load().caller_id_expiry_window_days == 30
        SiteSettings.objects.filter(pk=1).update(caller_id_expiry_window_days=40)
        assert SiteSettings.load().caller_id_expiry_window_days == 30  # read once per request
        first.caller_id_expiry_window_days = 12
        first.save()
        assert SiteSettings.load().caller_id_expiry_window_days == 12  # a save in the request is seen
    SiteSettings.objects.filter(pk=1).update(caller_id_expiry_window_days=41)
    assert SiteSettings.load().caller_id_expiry_window_days == 41  # outside a request: always read


def test_caller_id_page_query_count_does_not_grow_with_rows(setup, ops_client, didww_account):
    urls = ["/caller-ids/", "/caller-ids/?sort=owner", "/caller-ids/?cols=e164,location,candidate_owner,freshness"]
    SiteSettings.load()  # the row exists (a first load inserts it)
    small = {url: len(_queries(ops_client, url)[1]) for url in urls}
    CallerId.objects.bulk_create([
        CallerId(account=didww_account, external_id=f"more-{i}", number_raw=f"+1415555{i:04d}", e164=f"+1415555{i:04d}",
                 digits=f"1415555{i:04d}", national_digits=f"415555{i:04d}", country="US", active=True,
                 verified_until=days(i % 90)) for i in range(120)])
    grown = {}
    for url in urls:
        body, queries = _queries(ops_client, url)
        grown[url] = len(queries)
        assert body.count('<tr data-pk="') == 50  # a full page now
    assert grown == small


def test_filter_dropdowns_read_their_rows_on_every_request(setup, ops_client, didww_account):
    from numbersadmin.inventory.models import Location

    body, _ = _queries(ops_client, "/caller-ids/")
    assert "Nowhere Hub" not in body
    Location.objects.create(account=didww_account, external_id="loc-new", name="Nowhere Hub", kind="site")
    body, _ = _queries(ops_client, "/caller-ids/")
    assert ">Nowhere Hub</option>" in body
