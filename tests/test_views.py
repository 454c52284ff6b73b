"""Pages through Django's test client: filters, search, sort, keyset paging, bad input, roles."""

from __future__ import annotations

import re

import pytest

from numbersadmin.inventory.models import AuditLog, PhoneNumber, ProviderAccount, Trunk

from .support.helpers import sync

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def synced(didww_account):
    run = sync(didww_account)
    assert run.state == "succeeded", run.error_message
    return didww_account


def rows(response) -> list[str]:
    return re.findall(r'class="num">([^<]+)</a>', response.content.decode())


def test_login_required(client):
    response = client.get("/numbers/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_login_throttled_after_repeated_failures(client, ops_user, settings):
    settings.LOGIN_THROTTLE_ATTEMPTS = 3
    for _ in range(3):
        client.post("/login/", {"username": "bob", "password": "wrong"})
    response = client.post("/login/", {"username": "bob", "password": "pw-bob-123"})
    assert response.status_code == 200 and "Too many failed attempts" in response.content.decode()


def test_numbers_list_shows_provider_account_and_freshness(ops_client, synced):
    response = ops_client.get("/numbers/")
    body = response.content.decode()
    assert response.status_code == 200
    assert len(rows(response)) == 50
    assert "DIDWW" in body and "DIDWW main" in body and "synced" in body
    assert response["Vary"].count("HX-Request") == 1


def test_htmx_request_gets_only_the_results_partial(ops_client, synced):
    response = ops_client.get("/numbers/?country=US", headers={"HX-Request": "true"})
    body = response.content.decode()
    assert "<html" not in body and 'id="numbers-table"' in body
    full = ops_client.get("/numbers/?country=US")
    assert "<html" in full.content.decode()


def test_filter_by_country_and_trunk(ops_client, synced):
    us = PhoneNumber.objects.filter(country="US", removed_at=None).count()
    assert us
    response = ops_client.get("/numbers/?country=US&per_page=100")
    assert all(n.startswith("+1") for n in rows(response))
    assert f"of {us}" in response.content.decode()
    trunk = Trunk.objects.filter(numbers__isnull=False).first()
    response = ops_client.get(f"/numbers/?trunk={trunk.pk}&per_page=100")
    assert sorted(rows(response)) == sorted(trunk.numbers.values_list("e164", flat=True))


@pytest.mark.parametrize("fmt", ["+{cc} ({a}) {b}", "{cc}{a}{b}", "{a} {b}"])
def test_search_ignores_formatting(ops_client, synced, fmt):
    number = PhoneNumber.objects.filter(country="US").first()
    national = number.national_digits
    query = fmt.format(cc="1", a=national[:3], b=national[3:6])
    response = ops_client.get("/numbers/", {"q": query, "per_page": 100})
    found = rows(response)
    assert number.e164 in found
    assert all(n.startswith("+1" + national[:6]) or national[:6] in n for n in found)


def test_sort_and_keyset_paging_walk_the_whole_table(ops_client, synced):
    seen, url = [], "/numbers/?sort=-e164&per_page=100"
    for _ in range(5):
        response = ops_client.get(url)
        seen += rows(response)
        match = re.search(r'href="(\?[^"]*cursor=[^"]*)"[^>]*rel="next"', response.content.decode())
        if not match:
            break
        url = "/numbers/" + match.group(1).replace("&amp;", "&")
    expected = list(PhoneNumber.objects.order_by("-e164", "-pk").values_list("e164", flat=True))
    assert seen == expected


def test_previous_and_last_links(ops_client, synced):
    first = ops_client.get("/numbers/?per_page=25")
    body = first.content.decode()
    next_url = re.search(r'href="(\?[^"]*)"[^>]*rel="next"', body).group(1).replace("&amp;", "&")
    second = ops_client.get("/numbers/" + next_url).content.decode()
    prev_url = re.search(r'href="(\?[^"]*)"[^>]*rel="prev"', second).group(1).replace("&amp;", "&")
    assert rows(ops_client.get("/numbers/" + prev_url)) == rows(first)
    last = ops_client.get("/numbers/?per_page=25&page=last")
    assert rows(last) == list(PhoneNumber.objects.order_by("e164", "pk").values_list("e164", flat=True))[-25:]
    assert "Rows 226–250 of 250" in last.content.decode()


@pytest.mark.parametrize("query", [
    "country=ZZ", "status=bogus", "trunk=abc", "trunk=999999", "sort=drop_table", "per_page=100000",
    "per_page=-1", "cursor=%%%", "cursor=eyJ2IjpbMV0sImkiOiJ4In0", "page=9999", "account=1%27--",
])
def test_nonsense_query_values_give_a_message_not_a_500(ops_client, synced, query):
    response = ops_client.get(f"/numbers/?{query}")
    assert response.status_code == 200
    assert 'class="msg msg-warning"' in response.content.decode()


def test_number_detail_shows_trunk_location_history_and_raw(ops_client, synced):
    number = PhoneNumber.objects.exclude(trunk=None).exclude(city="").first()
    body = ops_client.get(f"/numbers/{number.pk}/").content.decode()
    assert number.trunk.name in body and number.city in body
    assert "Raw provider data" in body and number.external_id in body
    assert ops_client.get("/numbers/999999/").status_code == 404


def test_trunk_and_group_pages_list_their_numbers(ops_client, synced):
    trunk = Trunk.objects.filter(numbers__isnull=False).first()
    body = ops_client.get(f"/trunks/{trunk.pk}/").content.decode()
    some = trunk.numbers.order_by("e164").first()
    assert some.e164 in body
    group = PhoneNumber.objects.exclude(trunk_group=None).first().trunk_group
    body = ops_client.get(f"/trunk-groups/{group.pk}/").content.decode()
    assert group.numbers.order_by("e164").first().e164 in body
    assert ops_client.get("/trunks/").status_code == 200 and ops_client.get("/trunk-groups/").status_code == 200


def test_export_csv_matches_filter_and_is_audited(ops_client, synced):
    response = ops_client.get("/numbers/?country=US&export=csv&columns=all")
    assert response["Content-Type"].startswith("text/csv")
    content = b"".join(response.streaming_content).decode()
    lines = [line for line in content.strip().splitlines() if not line.startswith("#")]
    assert lines[0].startswith("e164,number_raw")
    assert len(lines) - 1 == PhoneNumber.objects.filter(country="US").count()
    log = AuditLog.objects.get(action="export")
    assert log.rows == len(lines) - 1 and log.username == "bob"


def test_ops_cannot_manage_accounts(ops_client, synced):
    assert ops_client.get("/accounts/add/didww/").status_code == 403
    assert ops_client.post(f"/accounts/{synced.pk}/sync/").status_code == 403
    assert ops_client.get("/accounts/").status_code == 200


def test_admin_adds_account_with_allowed_host_only(admin_client, didww_sim):
    bad = admin_client.post("/accounts/add/didww/", {
        "name": "Evil", "base_url": "http://169.254.169.254/v3", "secret_api_key": "k-123456",
        "sync_interval_minutes": 60, "enabled": "on",
    })
    assert bad.status_code == 200 and "not allowed" in bad.content.decode()
    assert not ProviderAccount.objects.filter(name="Evil").exists()
    good = admin_client.post("/accounts/add/didww/", {
        "name": "Sim", "base_url": didww_sim.base_url, "secret_api_key": "sim-key-0123456789",
        "sync_interval_minutes": 60, "enabled": "on",
    })
    assert good.status_code == 302
    account = ProviderAccount.objects.get(name="Sim")
    assert account.get_secrets() == {"api_key": "sim-key-0123456789"}


def test_blank_secret_keeps_stored_value_and_is_never_rendered(admin_client, synced):
    page = admin_client.get(f"/accounts/{synced.pk}/edit/").content.decode()
    assert "sim-key-0123456789" not in page
    response = admin_client.post(f"/accounts/{synced.pk}/edit/", {
        "name": "DIDWW renamed", "base_url": synced.base_url, "secret_api_key": "",
        "sync_interval_minutes": 30, "enabled": "on",
    })
    assert response.status_code == 302
    synced.refresh_from_db()
    assert synced.name == "DIDWW renamed" and synced.get_secrets()["api_key"] == "sim-key-0123456789"
    for url in ("/accounts/", f"/accounts/{synced.pk}/", "/syncs/"):
        assert "sim-key-0123456789" not in admin_client.get(url).content.decode()


def test_test_connection_and_sync_now(admin_client, synced, didww_sim):
    response = admin_client.post(f"/accounts/{synced.pk}/test/", follow=True)
    assert "OK" in response.content.decode()
    didww_sim.remove_did(didww_sim.dids[0]["id"])
    response = admin_client.post(f"/accounts/{synced.pk}/sync/", follow=True)
    assert response.status_code == 200
    assert synced.sync_runs.first().removed == 1
    body = admin_client.get("/syncs/").content.decode()
    assert "Succeeded" in body


def test_accounts_page_shows_live_progress_of_a_running_sync(admin_client, synced):
    from numbersadmin.inventory.choices import SyncState
    from numbersadmin.inventory.models import SyncRun

    SyncRun.objects.create(account=synced, state=SyncState.RUNNING, pages_fetched=2, items_fetched=200,
                           items_total=250, stage="numbers")
    body = admin_client.get("/accounts/").content.decode()
    assert 'hx-trigger="every 2s"' in body and "200 of 250 numbers" in body and "page 2" in body
    partial = admin_client.get("/accounts/", headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in partial and "200 of 250" in partial


def test_never_synced_account_renders_everywhere(admin_client, didww_account):
    """Regression: the "never synced" label used to raise in Django 6 (format_html without args)."""
    for url in ("/accounts/", f"/accounts/{didww_account.pk}/", "/numbers/"):
        response = admin_client.get(url)
        assert response.status_code == 200, url
    assert "never synced" in admin_client.get("/accounts/").content.decode()


def test_list_page_query_count_does_not_grow_with_rows(ops_client, synced, django_assert_max_num_queries):
    # session, user, 2 permission lookups (nav), count, page rows, one query per filter choice
    # list (accounts, trunks, trunk groups, location values, locations, owner types, pools, tags),
    # the user's list preference and their saved views, the health of the page's accounts (their
    # newest runs, for the Data column), the user's account scopes (inventory/scopes.py): constant
    # whatever the table size.
    with django_assert_max_num_queries(18):
        ops_client.get("/numbers/?per_page=100")
    with django_assert_max_num_queries(18):
        ops_client.get("/numbers/?country=US", headers={"HX-Request": "true"})


def test_provider_text_with_markup_renders_as_text(ops_client, didww_account, didww_sim):
    didww_sim.update_did(didww_sim.dids[0]["id"], description='<img src=x onerror="alert(1)">')
    sync(didww_account)
    number = PhoneNumber.objects.get(external_id=didww_sim.dids[0]["id"])
    # Description is in the column chooser (not a default column): ask for it.
    for url in (f"/numbers/?q={number.digits}&cols=e164,description", f"/numbers/{number.pk}/"):
        body = ops_client.get(url).content.decode()
        assert "<img src=x" not in body and "&lt;img src=x" in body


def test_drill_down_filters_show_as_removable_chips(ops_client, synced):
    number = PhoneNumber.objects.exclude(number_group=None).first()
    body = ops_client.get(f"/numbers/?number_group={number.number_group_id}&country={number.country}").content.decode()
    assert f"DID group: {number.number_group}" in body
    assert f'href="?country={number.country}"' in body
    assert set(rows(ops_client.get(f"/numbers/?number_group={number.number_group_id}&per_page=100"))) == set(
        number.number_group.numbers.values_list("e164", flat=True))
