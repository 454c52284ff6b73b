"""Account health is the last sync attempt, not only the last success: the classification, the
dashboard's "failing accounts" figure and the table it opens, the red badge wherever an account's
data is shown, and the run page in plain words (per error class, with the stage it stopped at)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from numbersadmin.inventory import selectors
from numbersadmin.inventory.choices import SYNC_ERRORS, AccountHealth, SyncState
from numbersadmin.inventory.models import ProviderAccount, SyncRun

from .test_dashboard import add_numbers, figure_links, make_account, rows_shown

pytestmark = pytest.mark.django_db

UNCHANGED = "Inventory unchanged: nothing from this run was applied"


def run_of(account, state, *, minutes_ago=0, error_class="", stage="", message=""):
    """A finished (or active) run, created and finished ``minutes_ago``; runs are made oldest first."""
    at = timezone.now() - dt.timedelta(minutes=minutes_ago)
    run = SyncRun.objects.create(account=account, state=state, error_class=error_class, error_message=message,
                                 stage=stage, started_at=at,
                                 finished_at=None if state in (SyncState.QUEUED, SyncState.RUNNING) else at)
    SyncRun.objects.filter(pk=run.pk).update(created_at=at)  # auto_now_add
    run.refresh_from_db()
    return run


def health_of(account) -> str:
    account = ProviderAccount.objects.get(pk=account.pk)
    return selectors.sync_overview([account]).health[account.pk].state


@pytest.fixture
def admin_only(admin_user):
    """A second browser session (``admin_client`` and ``ops_client`` share one test client)."""
    from django.test import Client

    client = Client()
    client.force_login(admin_user)
    return client


@pytest.fixture
def failing():
    """The issue's case: synced well 2 hours ago, then two failed runs (the last 5 minutes ago).
    The interval is long enough that the last good sync is not stale."""
    account = make_account("Vox prod", "voximplant", synced_minutes_ago=120, interval=240)
    run_of(account, SyncState.SUCCEEDED, minutes_ago=120)
    run_of(account, SyncState.FAILED, minutes_ago=65, error_class="unavailable", stage="numbers")
    run_of(account, SyncState.FAILED, minutes_ago=5, error_class="unavailable", stage="numbers",
           message="provider error (HTTP 500): simulated provider failure")
    add_numbers(account, 12)
    return account


# --- the rule ------------------------------------------------------------------------------------
def test_two_failed_runs_after_an_older_success_are_failing_not_fresh(failing):
    assert not failing.is_stale()  # by last success alone it would look healthy
    assert health_of(failing) == AccountHealth.FAILING


def test_classification_first_match_wins():
    ok = make_account("ok", "didww", synced_minutes_ago=10)
    run_of(ok, SyncState.FAILED, minutes_ago=30, error_class="auth")
    run_of(ok, SyncState.SUCCEEDED, minutes_ago=10)  # a good sync after a failure: healthy again
    stale = make_account("stale", "didww", synced_minutes_ago=150, interval=60)
    run_of(stale, SyncState.SUCCEEDED, minutes_ago=150)
    make_account("never", "didww")
    never_failed = make_account("never failed", "didww")
    run_of(never_failed, SyncState.FAILED, minutes_ago=1, error_class="auth")
    disabled = make_account("disabled", "didww", synced_minutes_ago=10, enabled=False)
    run_of(disabled, SyncState.FAILED, minutes_ago=1, error_class="auth")  # disabled wins: not "failing"
    review = make_account("review", "didww", synced_minutes_ago=3)
    run_of(review, SyncState.FAILED, minutes_ago=20, error_class="unavailable")
    run_of(review, SyncState.NEEDS_REVIEW, minutes_ago=3, error_class="removal_guard")  # applied: an attempt that worked
    assert {a.name: health_of(a) for a in ProviderAccount.objects.all()} == {
        "ok": AccountHealth.OK, "stale": AccountHealth.STALE, "never": AccountHealth.NEVER_SYNCED,
        "never failed": AccountHealth.FAILING, "disabled": AccountHealth.DISABLED, "review": AccountHealth.OK}


@pytest.mark.parametrize("newest", ["running", "queued", "retry_scheduled", "busy"])
def test_runs_that_are_not_attempts_leave_health_alone(failing, newest):
    """Not over yet, rescheduled after a rate limit, or never started (another run held the
    account): none of them says the provider works again."""
    if newest == "busy":
        run_of(failing, SyncState.FAILED, error_class="busy", message="another sync of this account is running")
    else:
        run_of(failing, newest, error_class="rate_limited" if newest == "retry_scheduled" else "")
    assert health_of(failing) == AccountHealth.FAILING
    ok = make_account("ok", "didww", synced_minutes_ago=10)
    run_of(ok, SyncState.SUCCEEDED, minutes_ago=10)
    run_of(ok, SyncState.FAILED, error_class="busy")
    assert health_of(ok) == AccountHealth.OK


def test_overview_reads_every_account_in_one_query(failing, django_assert_num_queries):
    for i in range(5):
        account = make_account(f"extra {i}", "didww", synced_minutes_ago=30)
        run_of(account, SyncState.FAILED, minutes_ago=20, error_class="timeout")
        run_of(account, SyncState.RUNNING)
    accounts = list(ProviderAccount.objects.all())
    with django_assert_num_queries(1):
        overview = selectors.sync_overview(accounts)
    assert len(overview.failing(accounts)) == 6
    assert all(overview.latest_runs[a.pk].state == SyncState.RUNNING for a in accounts if a.name.startswith("extra"))


def test_attach_health_matches_the_overview_for_any_accounts_in_one_query(failing, django_assert_num_queries):
    """attach_health keeps its SQL per number of accounts: other accounts, other states, same answer."""
    ok = make_account("ok", "didww", synced_minutes_ago=10)
    run_of(ok, SyncState.SUCCEEDED, minutes_ago=10)
    run_of(ok, SyncState.FAILED, error_class="busy")
    never = make_account("never", "didww")
    stale = make_account("stale", "didww", synced_minutes_ago=600)
    run_of(stale, SyncState.FAILED, minutes_ago=900, error_class="timeout")
    all_accounts = [failing, ok, never, stale]
    for accounts in ([failing], [ok], [never], [stale], [failing, ok], [ok, stale], [never, failing], all_accounts,
                     list(reversed(all_accounts))):
        loaded = list(ProviderAccount.objects.filter(pk__in=[a.pk for a in accounts]))
        with django_assert_num_queries(1):
            selectors.attach_health(loaded)
        expected = selectors.sync_overview(loaded).health
        assert {a.pk: a.health for a in loaded} == expected
    assert {a.name: a.health.state for a in loaded} == {
        "Vox prod": AccountHealth.FAILING, "ok": AccountHealth.OK, "never": AccountHealth.NEVER_SYNCED,
        "stale": AccountHealth.STALE}


# --- dashboard -----------------------------------------------------------------------------------
def test_dashboard_counts_the_failing_account_and_opens_exactly_it(admin_client, failing):
    make_account("DIDWW main", "didww", synced_minutes_ago=10)  # healthy
    body = admin_client.get("/").content.decode()
    kpi = re.search(r'<a class="kpi kpi-bad" id="kpi-failing" href="([^"]+)" data-count="(\d+)">', body)
    assert kpi and kpi.group(2) == "1"
    assert 'id="kpi-stale" href="/accounts/?stale=yes" data-count="0"' in body
    # The figure's count equals the rows of the table it opens.
    assert rows_shown(admin_client, kpi.group(1)) == 1
    page = admin_client.get(kpi.group(1)).content.decode()
    assert 'id="account-count">1 failing account<' in page
    assert re.findall(r'<tr data-account="([^"]+)"', page) == ["Vox prod"]
    for link in figure_links(body):
        if link["href"].startswith("/accounts/"):
            assert rows_shown(admin_client, link["href"]) == link["count"], link
    # Not "every enabled account synced recently" while something fails.
    assert "Every enabled account synced recently" not in body and "synced just now" not in body
    assert "None yet, but 1 account failing" in body


def test_dashboard_row_badge_is_red_with_the_last_good_sync(admin_client, failing):
    body = admin_client.get("/").content.decode()
    row = re.search(r'<tr data-account="Vox prod">(.*?)</tr>', body, re.S).group(1)
    badge = re.search(r'<span class="fresh failing" data-health="failing" title="([^"]*)">([^<]*)</span>', row)
    assert badge, row
    assert badge.group(2) == "failed 5\xa0minutes ago · last good sync 2\xa0hours ago"
    assert "(unavailable)" in badge.group(1)
    assert "<code>unavailable</code> provider unavailable" in row and "inventory unchanged" in row
    assert "HTTP 500" not in row  # the raw message is on the run page, for admins
    card = body[body.index('id="failing-accounts"'):body.index('id="stale-accounts"')]
    last = SyncRun.objects.filter(account=failing).latest("created_at")
    assert f'<a class="run-link" href="{last.get_absolute_url()}">Run #{last.pk}: provider unavailable</a>' in card


def test_no_failing_account_keeps_the_reassurance(admin_client):
    account = make_account("DIDWW main", "didww", synced_minutes_ago=10)
    run_of(account, SyncState.SUCCEEDED, minutes_ago=10)
    body = admin_client.get("/").content.decode()
    assert 'id="kpi-failing" href="/accounts/?failing=yes" data-count="0"' in body
    assert "Every enabled account synced recently." in body and "No failing accounts" in body
    page = admin_client.get("/accounts/?failing=yes").content.decode()
    assert 'id="account-count">0 failing accounts<' in page and "No failing accounts" in page


def test_accounts_filter_ignores_bad_values(admin_client, failing):
    for query in ("failing=", "failing=no", "failing=%00", "failing=yes&failing=x", "failing=" + "y" * 5000):
        response = admin_client.get(f"/accounts/?{query}")
        assert response.status_code == 200, query
    both = admin_client.get("/accounts/?failing=yes&stale=yes").content.decode()
    assert 'id="account-count">0 failing stale accounts<' in both  # failing, but its data is not stale


# --- the badge everywhere an account's data is shown ---------------------------------------------
def test_red_badge_on_every_page_that_shows_the_accounts_data(admin_only, ops_client, failing):
    number = failing.phonenumber_set.first()
    last = SyncRun.objects.filter(account=failing).latest("created_at")
    for client, url in ((admin_only, "/accounts/"), (admin_only, f"/accounts/{failing.pk}/"),
                        (ops_client, "/numbers/"), (ops_client, f"/numbers/{number.pk}/"),
                        (ops_client, last.get_absolute_url())):
        body = client.get(url).content.decode()
        assert 'class="fresh failing"' in body and "last good sync 2\xa0hours ago" in body, url
        assert 'class="fresh" ' not in body, url  # never a green badge next to it


# --- run pages in plain words ----------------------------------------------------------------------
@pytest.mark.parametrize("error_class", sorted(set(SYNC_ERRORS) - {"removal_guard"}))
def test_failed_run_page_says_what_happened_and_what_to_do(ops_client, admin_only, error_class):
    account = make_account("Vox prod", "voximplant", synced_minutes_ago=120)
    canary = "canary-message-7f3a"
    run = run_of(account, SyncState.FAILED, error_class=error_class, stage="numbers", message=canary)
    text = SYNC_ERRORS[error_class]
    body = ops_client.get(run.get_absolute_url()).content.decode()
    outcome = body[body.index('id="run-outcome"'):body.index("</section>", body.index('id="run-outcome"'))]
    assert f"Failed while fetching numbers. {text.happened}" in outcome.replace("&#x27;", "'")
    assert UNCHANGED in outcome
    assert f"What to do:</strong> {text.action}" in outcome.replace("&#x27;", "'")
    assert f"Error class: <code>{error_class}</code>" in outcome
    assert '<span id="run-stage">failed while fetching numbers</span>' in body
    assert canary not in body  # ops never see the provider's message
    assert canary in admin_only.get(run.get_absolute_url()).content.decode()  # admins do, as details


def test_every_recorded_error_class_has_words():
    """The classes the sync can record: providers/errors.py plus the service's own."""
    import inspect

    from providers import errors

    provider_classes = {cls.error_class for _, cls in inspect.getmembers(errors, inspect.isclass)
                        if issubclass(cls, errors.ProviderError)}
    ours = {"secrets", "time_limit", "database", "lost", "busy", "internal", "removal_guard"}
    assert provider_classes | ours <= set(SYNC_ERRORS)
    assert all(t.summary and t.happened.endswith(".") and t.action.endswith(".") for t in SYNC_ERRORS.values())


@pytest.mark.parametrize("state, stage, error_class, headline, inventory", [
    (SyncState.SUCCEEDED, "", "", "Completed: every page arrived and the changes were applied.", "Applied"),
    (SyncState.NEEDS_REVIEW, "", "removal_guard", "Completed, with removals held for review.",
     "Additions and changes were applied; no number was removed."),
    (SyncState.RETRY_SCHEDULED, "numbers", "rate_limited", "Rate limited by the provider while fetching numbers",
     UNCHANGED),
    (SyncState.RUNNING, "trunks", "", "Running: fetching trunks.", "in one step at the end"),
    (SyncState.QUEUED, "", "", "Waiting for a worker", "Nothing has changed yet."),
    (SyncState.FAILED, "", "busy", "Failed before it started. Another sync of this account", UNCHANGED),
    (SyncState.FAILED, "applying", "database", "Failed while applying the changes to the inventory.", UNCHANGED),
    (SyncState.FAILED, "numbers", "no_such_class", "Failed while fetching numbers. The sync failed.", UNCHANGED),
])
def test_run_page_words_for_each_state(ops_client, state, stage, error_class, headline, inventory):
    account = make_account("DIDWW main", "didww", synced_minutes_ago=10)
    run = run_of(account, state, error_class=error_class, stage=stage)
    body = ops_client.get(run.get_absolute_url()).content.decode()
    assert headline in body.replace("&#x27;", "'") and inventory in body.replace("&#x27;", "'")
    if state == SyncState.SUCCEEDED:
        assert "What to do" not in body and "Error class" not in body


def test_unknown_run_is_404_not_500(ops_client):
    assert ops_client.get("/syncs/999999/").status_code == 404


def test_api_reports_the_same_health(ops_user, failing):
    from django.test import Client

    from numbersadmin.inventory.services import tokens

    healthy = make_account("DIDWW main", "didww", synced_minutes_ago=10)
    run_of(healthy, SyncState.SUCCEEDED, minutes_ago=10)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {tokens.create_token(ops_user, 'tests', read_only=True)[1]}")
    listed = {a["name"]: (a["health"], a["stale"]) for a in api.get("/api/v1/accounts/").json()["results"]}
    assert listed == {"Vox prod": ("failing", False), "DIDWW main": ("ok", False)}
    assert api.get(f"/api/v1/accounts/{failing.pk}/").json()["health"] == "failing"
