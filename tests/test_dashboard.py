"""Dashboard: every figure links to a list showing exactly that many rows; stale accounts; roles;
empty database; constant query count."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from html.parser import HTMLParser

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from numbersadmin.reconcile.models import FindingKind
from numbersadmin.inventory.choices import NumberStatus, SyncState
from numbersadmin.inventory.models import CallerId, PhoneNumber, ProviderAccount, SyncRun

pytestmark = pytest.mark.django_db

COUNTRIES = ["US", "GB", "DE", "FR", "NL", "ES", "IT", "SE", "NO", "DK", "FI", "PL"]  # 12: two fall in "other"
LIVE_STATUSES = [NumberStatus.ACTIVE, NumberStatus.ACTIVE, NumberStatus.PENDING, NumberStatus.SUSPENDED,
                 NumberStatus.INACTIVE]
_ids = itertools.count(1)


def make_account(name, provider, *, synced_minutes_ago=None, interval=60, enabled=True):
    last = timezone.now() - dt.timedelta(minutes=synced_minutes_ago) if synced_minutes_ago is not None else None
    account = ProviderAccount.objects.create(provider=provider, name=name, base_url="https://example.invalid",
                                             sync_interval_minutes=interval, enabled=enabled)
    ProviderAccount.objects.filter(pk=account.pk).update(last_success_at=last)  # editable=False field
    account.refresh_from_db()
    return account


def add_numbers(account, count, *, country=None, status=None, removed=False, expires_in_days=None, start=0):
    now = timezone.now()
    rows = []
    for i in range(count):
        n = next(_ids)
        rows.append(PhoneNumber(
            account=account, provider=account.provider, external_id=f"n{n}", number_raw=f"1555{n:07d}",
            e164=f"+1555{n:07d}", digits=f"1555{n:07d}",
            country=COUNTRIES[(start + i) % len(COUNTRIES)] if country is None else country,
            status=NumberStatus.REMOVED if removed else (status or LIVE_STATUSES[(start + i) % len(LIVE_STATUSES)]),
            removed_at=now - dt.timedelta(days=1) if removed else None,
            expires_at=now + dt.timedelta(days=expires_in_days) if expires_in_days is not None else None,
        ))
    PhoneNumber.objects.bulk_create(rows)


def add_caller_ids(account, count, *, days=None, removed=False):
    today = timezone.localdate()
    CallerId.objects.bulk_create([
        CallerId(account=account, external_id=f"c{(n := next(_ids))}", number_raw=f"4420{n:07d}", e164=f"+4420{n:07d}",
                 verified_until=today + dt.timedelta(days=days) if days is not None else None,
                 removed_at=timezone.now() if removed else None)
        for _ in range(count)
    ])


@pytest.fixture
def inventory():
    """Four providers; a fresh, a stale, a never-synced and a disabled account; removed numbers,
    numbers without a country, and numbers / caller IDs expiring in 10 and in 40 days."""
    fresh = make_account("DIDWW main", "didww", synced_minutes_ago=10, interval=60)
    stale = make_account("Plivo EU", "plivo", synced_minutes_ago=150, interval=60)  # > 2 x 60 min
    never = make_account("Vox main", "voximplant", synced_minutes_ago=None)
    disabled = make_account("Webex old", "webex", synced_minutes_ago=None, enabled=False)  # not "stale"
    add_numbers(fresh, 60)
    add_numbers(fresh, 7, expires_in_days=10, start=3)
    add_numbers(fresh, 5, expires_in_days=40)
    add_numbers(fresh, 4, removed=True, expires_in_days=10)  # removed: in no live figure
    add_numbers(stale, 23, start=5)
    add_numbers(stale, 6, country="")  # no country: shown unlinked as "Unknown"
    add_numbers(never, 9, country="GB", status=NumberStatus.ACTIVE)
    add_numbers(never, 2, removed=True, country="GB")
    add_numbers(disabled, 3, country="US", status=NumberStatus.CANCELLING)
    add_caller_ids(never, 3, days=10)
    add_caller_ids(never, 2, days=40)
    add_caller_ids(never, 1, days=10, removed=True)
    add_caller_ids(never, 2, days=None)
    add_caller_ids(never, 1, days=-5)
    SyncRun.objects.create(account=fresh, state=SyncState.SUCCEEDED, added=72, finished_at=timezone.now())
    SyncRun.objects.create(account=stale, state=SyncState.FAILED, error_class="auth",
                           error_message="401 from provider", finished_at=timezone.now())
    return {"fresh": fresh, "stale": stale, "never": never, "disabled": disabled}


class FigureLinks(HTMLParser):
    """Collects <a data-count> elements: (href, data-count, visible text)."""

    def __init__(self):
        super().__init__()
        self.links: list[dict] = []
        self._open: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and "data-count" in attrs:
            self._open = {"href": attrs["href"], "count": int(attrs["data-count"]), "text": ""}

    def handle_data(self, data):
        if self._open is not None:
            self._open["text"] += data

    def handle_endtag(self, tag):
        if tag == "a" and self._open is not None:
            self.links.append(self._open)
            self._open = None


def figure_links(body: str) -> list[dict]:
    parser = FigureLinks()
    parser.feed(body)
    return parser.links


def rows_shown(client, href: str) -> int:
    """The row count a list page reports: "Rows 1–50 of N" / "No rows", or "N accounts"."""
    response = client.get(href)
    assert response.status_code == 200, href
    body = response.content.decode()
    assert "Ignored filter" not in body, href  # an ignored filter would mean an unfiltered list
    if href.startswith("/accounts/"):
        return int(re.search(r'id="account-count">(\d+) (?:failing )?(?:stale )?accounts?<', body).group(1))
    pager = re.search(r'<span class="count">([^<]*)</span>', body).group(1)
    if pager == "No rows":
        return 0
    match = re.fullmatch(r"Rows \d+–\d+ of (\d+)", pager)
    assert match, (href, pager)  # exact counts on SQLite, never "≈"
    return int(match.group(1))


def test_every_figure_lands_on_a_list_with_that_many_rows(admin_client, inventory):
    response = admin_client.get("/")
    assert response.status_code == 200
    links = figure_links(response.content.decode())
    # 6 totals + failing and stale headings + 4 providers + 4 accounts + 6 statuses + 10 countries
    # + open findings per kind (the reconcile app's card).
    assert len(links) == 6 + 2 + 4 + 4 + len(NumberStatus.choices) + 10 + len(FindingKind.choices)
    for link in links:
        assert str(link["count"]) in link["text"].replace(",", ""), link  # the visible figure is the data-count
        assert rows_shown(admin_client, link["href"]) == link["count"], link


def test_figures_count_what_the_spec_says(admin_client, inventory):
    body = admin_client.get("/").content.decode()
    by_href = {link["href"]: link["count"] for link in figure_links(body)}
    assert by_href["/accounts/?stale=yes"] == 2  # stale + never synced; the disabled one is not stale
    assert by_href["/accounts/?failing=yes"] == 1  # Plivo EU: its last attempt failed
    assert by_href["/numbers/?expires_within=30"] == 7  # 10-day ones; not 40-day, not removed
    assert by_href["/caller-ids/?expires_within=30"] == 3
    assert by_href["/numbers/?status=removed"] == 6
    assert by_href["/numbers/?view=none"] == PhoneNumber.objects.filter(removed_at=None).count()
    assert by_href[f"/numbers/?account={inventory['disabled'].pk}"] == 3
    # Numbers without a country, and countries past the top 10, are shown but not linked.
    assert re.search(r'bar-nolink"[^>]*>\s*<span class="bar-label">Unknown</span>.*?bar-count">6<', body, re.S)
    assert re.search(r'bar-nolink"[^>]*>\s*<span class="bar-label">2 other countries</span>', body)
    assert "/numbers/?country=&" not in body and "country=\"" not in body


def test_stale_accounts_and_last_sync_per_account(admin_client, inventory):
    body = admin_client.get("/").content.decode()
    stale_card = body[body.index('id="stale-accounts"'):body.index('id="last-syncs"')]
    assert "Plivo EU" in stale_card and "Vox main" in stale_card
    assert "DIDWW main" not in stale_card and "Webex old" not in stale_card
    table = body[body.index('id="last-syncs-table"'):]
    for run in SyncRun.objects.all():
        assert f'href="{run.get_absolute_url()}"' in table
    assert "72 added" in table and "<code>auth</code>" in table and "never" in table
    for account in inventory.values():
        assert f'href="{account.get_absolute_url()}"' in table

    page = admin_client.get("/accounts/?stale=yes").content.decode()
    assert 'id="account-count">2 stale accounts<' in page
    assert 'data-account="Plivo EU"' in page and 'data-account="Vox main"' in page
    assert 'data-account="DIDWW main"' not in page and 'data-account="Webex old"' not in page
    assert 'id="account-count">4 accounts<' in admin_client.get("/accounts/").content.decode()


def test_stale_filter_survives_live_progress_polling(admin_client, inventory):
    SyncRun.objects.create(account=inventory["stale"], state=SyncState.RUNNING)
    page = admin_client.get("/accounts/?stale=yes").content.decode()
    assert 'hx-get="/accounts/?stale=yes"' in page
    partial = admin_client.get("/accounts/?stale=yes", headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in partial and "2 stale accounts" in partial


def test_ops_user_sees_the_dashboard(ops_client, inventory):
    response = ops_client.get("/")
    assert response.status_code == 200 and 'id="chart-provider"' in response.content.decode()


def test_login_required(client):
    response = client.get("/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_empty_database(admin_client):
    response = admin_client.get("/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "No numbers yet." in body and "No provider accounts yet." in body
    assert all(link["count"] == 0 for link in figure_links(body))


def test_no_inline_styles_or_scripts(admin_client, inventory):
    body = admin_client.get("/").content.decode()
    assert "style=" not in body and "<script>" not in body  # CSP: style-src/script-src 'self'


def test_query_count_does_not_grow_with_rows(admin_client, inventory, django_assert_max_num_queries):
    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert admin_client.get("/").status_code == 200
        return len(ctx.captured_queries)

    before = queries()
    for i in range(6):  # more accounts, runs, numbers and countries
        account = make_account(f"Extra {i}", "apifonica", synced_minutes_ago=i * 100)
        add_numbers(account, 40, start=i)
        SyncRun.objects.create(account=account, state=SyncState.SUCCEEDED, finished_at=timezone.now())
    add_caller_ids(inventory["never"], 30, days=5)
    assert queries() == before
    with django_assert_max_num_queries(14):  # session, user, 2 nav permission lookups, 9 dashboard reads
        admin_client.get("/")
