"""Account scopes (issue 14, part 1): a matrix of users x every inventory endpoint.

Three accounts (Zalpha, Zbravo, Zcharlie), each with numbers, a caller ID, an owner, a location,
a trunk, a trunk group, a DID group, sync runs, a reconciliation finding and alert items. Every
row of an account carries its token ("zalpha"...) or one of its E.164s, so a response body that
mentions an out-of-scope account is caught. Users:

  root        superuser                              -> A B C
  gm          manage_accounts, no scope              -> A B C (SCOPES_DEFAULT_ALL)
  viewer_a    scope {A}, view only                   -> A
  manager_b   scope {B}, can_manage, no global perm  -> B (and manages B)
  team_ab     group "team-ab" with scope {A, B}      -> A B
  noscope     no scope, no permission                -> A B C; nothing when SCOPES_DEFAULT_ALL=False

Every URL name of the inventory, API, reconcile and alerts URLconfs is classified below; a new URL
that is not fails ``test_every_url_is_classified``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import openpyxl
import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, reverse
from django.utils import timezone

from numbersadmin.alerts.models import AlertItem, AlertRule, Channel, RuleKind
from numbersadmin.alerts.services import digest
from numbersadmin.alerts.services.rules import evaluate_rule
from numbersadmin.inventory import export_jobs, lists, scopes, selectors
from numbersadmin.inventory.choices import SyncState
from numbersadmin.inventory.models import (AccountScope, AuditLog, CallerId, ExportJob, Location, NumberGroup, Owner,
                                           PhoneNumber, ProviderAccount, SavedView, SyncRun, Trunk, TrunkGroup)
from numbersadmin.inventory.services import tokens
from numbersadmin.reconcile.models import Finding, FindingKind

pytestmark = pytest.mark.django_db

KEYS = ("A", "B", "C")
TOKEN = {"A": "zalpha", "B": "zbravo", "C": "zcharlie"}
PROVIDER = {"A": "didww", "B": "plivo", "C": "webex"}
E164 = {k: [f"+3120{d}{d}{d}000{i}" for i in range(1, 4)] for k, d in (("A", 1), ("B", 2), ("C", 3))}
CALLER_E164 = {"A": "+442011199901", "B": "+442022299902", "C": "+442033399903"}
SHARED_E164 = "+31209990001"  # C holds this number; A's caller ID #2 has the same E.164 (owner lookup leak)
LIVE = {"A": 3, "B": 3, "C": 4}
USERS = ("root", "gm", "viewer_a", "manager_b", "team_ab", "noscope", "noscope_strict")
SEES = {"root": "ABC", "gm": "ABC", "viewer_a": "A", "manager_b": "B", "team_ab": "AB", "noscope": "ABC",
        "noscope_strict": ""}
MANAGES = {"root": "ABC", "gm": "ABC", "viewer_a": "", "manager_b": "B", "team_ab": "", "noscope": "",
           "noscope_strict": ""}
GLOBAL = {"root", "gm"}


# --- the world -----------------------------------------------------------------------------------


def _account(key):
    account = ProviderAccount.objects.create(provider=PROVIDER[key], name=f"{TOKEN[key].title()} account",
                                             base_url="https://example.invalid", enabled=True)
    ProviderAccount.objects.filter(pk=account.pk).update(last_success_at=timezone.now())
    account.refresh_from_db()
    t = TOKEN[key]
    loc = Location.objects.create(account=account, external_id=f"{t}-l", name=f"{t}-location", city=f"{t}ville",
                                  country_code="NL", kind="city")
    owner = Owner.objects.create(account=account, external_id=f"{t}-o", name=f"{t}-owner", owner_type="PEOPLE",
                                 location=loc)
    tg = TrunkGroup.objects.create(account=account, external_id=f"{t}-tg", name=f"{t}-trunkgroup")
    trunk = Trunk.objects.create(account=account, external_id=f"{t}-t", name=f"{t}-trunk", trunk_group=tg)
    dg = NumberGroup.objects.create(account=account, external_id=f"{t}-g", name=f"{t}-didgroup")
    numbers = []
    for i, e164 in enumerate(E164[key] + ([SHARED_E164] if key == "C" else [])):
        numbers.append(PhoneNumber.objects.create(
            account=account, provider=account.provider, external_id=f"{t}-n{i}", number_raw=e164[1:], e164=e164,
            digits=e164[1:], country="NL", city=f"{t}ville", location=loc, owner=owner, trunk=trunk, trunk_group=tg,
            number_group=dg, monthly_cost="1.5", currency="EUR", will_renew=(i != 0),
            expires_at=timezone.now() + dt.timedelta(days=5), description=f"{t} line {i}"))
    caller = CallerId.objects.create(account=account, external_id=f"{t}-c", number_raw=CALLER_E164[key][1:],
                                     e164=CALLER_E164[key], digits=CALLER_E164[key][1:], country="GB",
                                     verified_until=timezone.localdate() + dt.timedelta(days=3))
    run = SyncRun.objects.create(account=account, state=SyncState.SUCCEEDED, started_at=timezone.now(),
                                 finished_at=timezone.now(), error_message=f"{t} provider said no")
    held = SyncRun.objects.create(account=account, state=SyncState.NEEDS_REVIEW, held_removals=1,
                                  held_external_ids=[f"{t}-gone"], finished_at=timezone.now())
    finding = Finding.objects.create(kind=FindingKind.DIDWW_UNROUTED, key=f"{t}-finding", summary=f"{t} finding",
                                     involved=t, account_names=account.name, account=account,
                                     rows=[{"type": "number", "id": numbers[0].pk, "label": numbers[0].e164}])
    finding.accounts.set([account])
    return {"account": account, "location": loc, "owner": owner, "tg": tg, "trunk": trunk, "dg": dg,
            "number": numbers[0], "numbers": numbers, "caller_id": caller, "run": run, "held": held,
            "finding": finding}


@pytest.fixture
def world(django_user_model):
    w = {k: _account(k) for k in KEYS}
    # A's second caller ID has the E.164 of a number only C holds: its "owned by" must not name C.
    CallerId.objects.create(account=w["A"]["account"], external_id="zalpha-c2", number_raw=SHARED_E164[1:],
                            e164=SHARED_E164, digits=SHARED_E164[1:], country="NL")
    # A finding about A and C: nobody who cannot see C sees it.
    both = Finding.objects.create(kind=FindingKind.DUPLICATE_NUMBER, key="ac-dup", summary="zcharlie and A",
                                  involved="zcharlie", account=w["A"]["account"])
    both.accounts.set([w["A"]["account"], w["C"]["account"]])
    w["AC_finding"] = both

    manage = Permission.objects.get(codename="manage_accounts")
    users = {}
    users["root"] = django_user_model.objects.create_superuser("root", "root@example.invalid", "pw-root-123")
    users["gm"] = django_user_model.objects.create_user("gm", password="pw")
    users["gm"].user_permissions.add(manage)
    for name in ("viewer_a", "manager_b", "team_ab", "noscope"):
        users[name] = django_user_model.objects.create_user(name, password="pw")
    users["noscope_strict"] = users["noscope"]
    scope_a = AccountScope.objects.create(name="scope-a")
    scope_a.accounts.set([w["A"]["account"]])
    scope_a.users.set([users["viewer_a"]])
    scope_b = AccountScope.objects.create(name="scope-b", can_manage=True)
    scope_b.accounts.set([w["B"]["account"]])
    scope_b.users.set([users["manager_b"]])
    team = Group.objects.create(name="team-ab")
    users["team_ab"].groups.add(team)
    scope_ab = AccountScope.objects.create(name="scope-ab")
    scope_ab.accounts.set([w["A"]["account"], w["B"]["account"]])
    scope_ab.groups.set([team])
    w["users"] = users

    # Alerts: a system-wide rule (by root) finds every account's items.
    rule = AlertRule.objects.create(kind=RuleKind.NUMBER_NOT_RENEWING, created_by=users["root"])
    evaluate_rule(rule)
    w["rule"] = rule
    for k in KEYS:
        w[k]["item"] = AlertItem.objects.get(rule=rule, account=w[k]["account"])
    return w


@pytest.fixture
def as_user(client, world, settings):
    """as_user(name) -> a client logged in as that user (noscope_strict: SCOPES_DEFAULT_ALL off)."""
    def login(name):
        settings.SCOPES_DEFAULT_ALL = name != "noscope_strict"
        client.force_login(world["users"][name])
        return client
    return login


def hidden_keys(user) -> list[str]:
    return [k for k in KEYS if k not in SEES[user]]


def assert_no_leak(body: str, user: str, where: str) -> None:
    low = body.lower()
    for k in hidden_keys(user):
        assert TOKEN[k] not in low, f"{where}: {user} sees {TOKEN[k]}"
        for e164 in E164[k] + [CALLER_E164[k]]:
            assert e164 not in body and e164[1:] not in body, f"{where}: {user} sees {e164}"


def assert_shows(body: str, user: str, where: str) -> None:
    """The positive control: what the user may see is there (so the leak check can fail)."""
    low = body.lower()
    for k in SEES[user]:
        assert TOKEN[k] in low or any(e in body for e in E164[k]), f"{where}: {user} misses {TOKEN[k]}"


# --- every URL is classified ------------------------------------------------------------------------

# Lists and pages that show inventory rows of many accounts: (path or None = reverse(name), query,
# positive control: the visible accounts' rows must show).
LISTS = {
    "home": ("", True),
    "search": ("q=3120", False),  # (top 5 only; searched by name and number below)
    "numbers": ("", True), "caller_ids": ("", True),
    "groups": ("", True), "owners": ("", True), "locations": ("", True), "trunks": ("", True),
    "trunk_groups": ("", True), "accounts": ("", True), "sync_runs": ("", True), "costs": ("", True),
    "numbers_cost": ("", False), "numbers_diff": ("from=2000-01-01", True), "findings": ("", True),
    "alert_rules": ("", False), "alert_notifications": ("", False), "saved_views": ("", False),
    "api_numbers": ("", True), "api_caller_ids": ("", True), "api_owners": ("", True), "api_locations": ("", True),
    "api_trunks": ("", True), "api_trunk_groups": ("", True), "api_groups": ("", True), "api_findings": ("", True),
    "api_accounts": ("", True),
    "api_sync_runs": ("", False),  # (ids, no names)
}
# One object of one account: 200 in scope, 404 out of it.
DETAILS = {
    "number_detail": "number", "caller_id_detail": "caller_id", "group_detail": "dg", "owner_detail": "owner",
    "location_detail": "location", "trunk_detail": "trunk", "trunk_group_detail": "tg", "account_detail": "account",
    "sync_run_detail": "run", "finding_detail": "finding", "alert_item": "item", "alert_rule": None,
    "api_number": "number", "api_number_history": "number", "api_caller_ids_detail": "caller_id",
    "api_owners_detail": "owner", "api_locations_detail": "location", "api_trunks_detail": "trunk",
    "api_trunk_groups_detail": "tg", "api_groups_detail": "dg", "api_findings_detail": "finding",
    "api_account": "account",
}
# Exports: the rows of the file (tested per list below, web and API).
EXPORTS = {f"api_{name}_export_{fmt}" for name in ("numbers", "caller_ids", "owners", "locations", "trunks",
                                                  "trunk_groups", "groups", "findings") for fmt in ("csv", "xlsx")}
# Actions on one account's rows: 404 out of scope, 403 seen but not managed (deleting an account
# also needs the global permission: scoped managers get 403).
MANAGE_ACTIONS = {
    "account_edit": ("get", "account"), "account_test": ("post", "account"), "account_sync": ("post", "account"),
    "account_archive": ("post", "account"), "account_unarchive": ("post", "account"),
    "account_delete": ("get", "account"), "sync_run_confirm": ("post", "held"),
    "finding_acknowledge": ("post", "finding"), "finding_ignore": ("post", "finding"),
    "finding_reopen": ("post", "finding"), "api_account_sync": ("post", "account"),
    "api_sync_run_confirm": ("post", "held"),
}
# Pages about every account at once (or about scopes): global managers only.
GLOBAL_PAGES = {"audit_log", "site_settings", "account_add", "scopes", "scope_add", "scope_edit", "scope_delete",
                "api_audit"}
# Not inventory, or checked elsewhere in this file: per-user state, auth, docs, POST forms whose
# rows are re-read through the scoped selectors (annotate, bulk edit: tests below).
OTHER = {
    "login", "logout", "api_tokens", "api_token_revoke", "choose_columns", "save_view", "saved_view",
    "saved_view_update", "saved_view_delete", "saved_view_default", "export_job", "export_download",
    "api_export_job", "api_export_job_download", "api_saved_views", "api_saved_view", "api_schema", "api_docs",
    "alert_settings", "alert_rule_remove", "alert_notification", "alert_notification_retry",
    "alert_item_acknowledge", "alert_item_snooze", "alert_item_reopen", "number_annotate", "number_bulk_edit",
    "api_accounts",  # (also a list: POST creates, GLOBAL; GET is in LISTS)
}


def _names(patterns) -> set[str]:
    out = set()
    for p in patterns:
        if isinstance(p, URLResolver):
            out |= _names(p.url_patterns)
        elif isinstance(p, URLPattern) and p.name:
            out.add(p.name)
    return out


def test_every_url_is_classified():
    from numbersadmin.alerts.urls import urlpatterns as alerts_urls
    from numbersadmin.inventory.api.urls import urlpatterns as api_urls
    from numbersadmin.inventory.urls import urlpatterns as inventory_urls
    from numbersadmin.reconcile.urls import urlpatterns as reconcile_urls

    names = _names(inventory_urls) | _names(api_urls) | _names(reconcile_urls) | _names(alerts_urls)
    classified = set(LISTS) | set(DETAILS) | EXPORTS | set(MANAGE_ACTIONS) | GLOBAL_PAGES | OTHER
    assert names - classified == set(), "new URL(s): classify them in tests/test_scopes.py"
    assert classified - names == set(), "classified names that no longer exist"


# --- lists, search, dashboard, costs, findings, alerts --------------------------------------------


def _url(name, world, pk=None):
    if name == "alert_rule":
        return reverse(name, args=[world["rule"].pk])
    return reverse(name, args=[pk]) if pk is not None else reverse(name)


@pytest.mark.parametrize("user", USERS)
def test_lists_show_only_the_users_accounts(as_user, world, user):
    client = as_user(user)
    for name, (query, positive) in LISTS.items():
        response = client.get(_url(name, world) + ("?" + query if query else ""))
        assert response.status_code == 200, (name, response.status_code)
        body = response.content.decode()
        assert_no_leak(body, user, name)
        if positive:
            assert_shows(body, user, name)


@pytest.mark.parametrize("user", USERS)
def test_counts_are_the_in_scope_counts(as_user, world, user):
    client = as_user(user)
    live = sum(LIVE[k] for k in SEES[user])
    assert client.get("/api/v1/numbers/").json()["count"] == live
    assert client.get("/api/v1/caller-ids/").json()["count"] == len(SEES[user]) + ("A" in SEES[user])
    assert client.get("/api/v1/owners/").json()["count"] == len(SEES[user])
    assert client.get("/api/v1/findings/").json()["count"] == len(SEES[user]) + (set("AC") <= set(SEES[user]))
    with scopes.acting_for(world["users"][user]):
        figures = selectors.dashboard_figures()
        assert figures.live_numbers == live
        assert sum(figures.by_country.values()) == live
        assert {a.name for a in figures.accounts} == {world[k]["account"].name for k in SEES[user]}
        assert figures.numbers_expiring == live
        assert figures.caller_ids_expiring == len(SEES[user])
        groups = {g.key: g.count for g in selectors.global_search("3120")}
        assert groups["numbers"] == live
        assert sum(o.number_count for o in selectors.owner_list({}).qs) == live


@pytest.mark.parametrize("user", USERS)
def test_details_are_404_out_of_scope(as_user, world, user):
    client = as_user(user)
    for name, attr in DETAILS.items():
        for k in KEYS:
            if attr is None:
                continue
            obj = world[k][attr]
            response = client.get(_url(name, world, obj.pk))
            expected = 200 if k in SEES[user] else 404
            assert response.status_code == expected, (name, k, user, response.status_code)
            if expected == 200:
                assert_no_leak(response.content.decode(), user, f"{name} of {k}")
    # The rule page lists only the items the user may see.
    response = client.get(_url("alert_rule", world))
    assert response.status_code == 200
    assert_no_leak(response.content.decode(), user, "alert_rule")


def _csv_e164s(text: str) -> set[str]:
    body = "".join(line for line in io.StringIO(text) if not line.startswith("#"))
    rows = list(csv.DictReader(io.StringIO(body)))
    return {v for row in rows for v in row.values() if v and v.startswith("+")}, len(rows)


@pytest.mark.parametrize("user", USERS)
def test_exports_hold_only_in_scope_rows(as_user, world, user):
    client = as_user(user)
    for spec in lists.LISTS.values():
        response = client.get(f"{spec.url}?export=csv&columns=all")
        assert response.status_code == 200, spec.name
        text = b"".join(response.streaming_content).decode()
        assert_no_leak(text, user, f"{spec.name} export")
        api = client.get(f"/api/v1/{spec.name.replace('_', '-')}/export.csv")
        assert api.status_code == 200, spec.name
        api_text = b"".join(api.streaming_content).decode()
        assert_no_leak(api_text, user, f"api {spec.name} export")
        xlsx = client.get(f"/api/v1/{spec.name.replace('_', '-')}/export.xlsx")
        assert xlsx.status_code == 200
        book = openpyxl.load_workbook(io.BytesIO(b"".join(xlsx.streaming_content) if xlsx.streaming else xlsx.content))
        cells = " ".join(str(c.value) for ws in book.worksheets for row in ws.iter_rows() for c in row if c.value)
        assert_no_leak(cells, user, f"api {spec.name} xlsx")
    numbers = client.get("/numbers/?export=csv&columns=all")
    found, rows = _csv_e164s(b"".join(numbers.streaming_content).decode())
    assert rows == sum(LIVE[k] for k in SEES[user])
    assert found >= {e for k in SEES[user] for e in E164[k]}
    diff = client.get("/numbers/diff/?from=2000-01-01&export=csv")
    assert diff.status_code == 200
    assert_no_leak(b"".join(diff.streaming_content).decode(), user, "diff export")


def test_background_export_job_reads_as_its_requester(world, settings, tmp_path):
    settings.EXPORT_DIR = tmp_path
    spec = lists.LISTS["numbers"]
    job = ExportJob.objects.create(requested_by=world["users"]["viewer_a"], list_name="numbers", params="",
                                   columns=[f.header for f in spec.fields], columns_mode="all")
    export_jobs.run_export_job(job.pk)
    job.refresh_from_db()
    assert job.state == ExportJob.State.SUCCEEDED, job.error_message
    book = openpyxl.load_workbook(tmp_path / f"{job.pk}.xlsx")
    cells = " ".join(str(c.value) for ws in book.worksheets for row in ws.iter_rows() for c in row if c.value)
    assert_no_leak(cells, "viewer_a", "export job")
    assert all(e in cells for e in E164["A"])


def test_export_job_of_a_deleted_requester_is_empty(world, settings, tmp_path):
    settings.EXPORT_DIR = tmp_path
    job = ExportJob.objects.create(requested_by=None, list_name="numbers", params="", columns=["Number"])
    export_jobs.run_export_job(job.pk)
    job.refresh_from_db()
    assert job.state == ExportJob.State.SUCCEEDED and job.rows_written == 0


@pytest.mark.parametrize("user", USERS)
def test_search_finds_only_in_scope_rows(as_user, world, user):
    client = as_user(user)
    for k in KEYS:
        for q in (TOKEN[k], E164[k][0], CALLER_E164[k][-6:]):
            body = client.get("/search/", {"q": q}).content.decode().replace(q, "")  # minus the echoed query
            assert_no_leak(body, user, f"search {q}")
            if k in SEES[user]:
                assert TOKEN[k] in body.lower() or E164[k][0] in body or CALLER_E164[k] in body, (user, q)
            else:
                assert "Nothing matches" in body, (user, q)


def test_out_of_scope_filter_values_are_ignored_not_applied(as_user, world):
    client = as_user("viewer_a")
    c = world["C"]
    for query in (f"account={c['account'].pk}", f"owner={c['owner'].pk}", f"trunk={c['trunk'].pk}",
                  f"location={c['location'].pk}", f"number_group={c['dg'].pk}"):
        body = client.get(f"/numbers/?{query}").content.decode()
        assert_no_leak(body, "viewer_a", query)
        api = client.get(f"/api/v1/numbers/?{query}")
        assert api.status_code in (200, 400)
        assert_no_leak(api.content.decode(), "viewer_a", f"api {query}")


def test_the_caller_id_owner_lookup_stays_in_scope(as_user, world):
    body = as_user("viewer_a").get("/caller-ids/").content.decode()
    assert SHARED_E164 in body  # A's own caller ID
    assert "zcharlie" not in body.lower()  # ... but not that C holds the number
    with scopes.acting_for(world["users"]["root"]):
        assert selectors.caller_id_list({"q": SHARED_E164}).qs.get().owner_account_id == world["C"]["account"].pk


# --- saved views ------------------------------------------------------------------------------------


def test_a_shared_view_shows_each_viewer_their_own_rows(as_user, world):
    view = SavedView.objects.create(owner=world["users"]["viewer_a"], list_name="numbers", name="everything live",
                                    params="sort=e164", shared=True)
    client = as_user("manager_b")
    response = client.get(f"/views/{view.pk}/", follow=True)
    body = response.content.decode()
    assert response.status_code == 200 and "everything live" in body
    assert_no_leak(body, "manager_b", "shared view")
    assert all(e in body for e in E164["B"])
    api = client.get(f"/api/v1/numbers/?view={view.pk}").json()
    assert {r["e164"] for r in api["results"]} == set(E164["B"])
    export = client.get(f"/numbers/?view={view.pk}&sort=e164&export=csv")
    assert_no_leak(b"".join(export.streaming_content).decode(), "manager_b", "shared view export")
    # Its owner sees their own rows through the same view.
    body = as_user("viewer_a").get(f"/numbers/?view={view.pk}&sort=e164").content.decode()
    assert all(e in body for e in E164["A"]) and not any(e in body for e in E164["B"])


# --- the API with a token ---------------------------------------------------------------------------


def test_a_token_acts_as_its_user(client, world):
    _, secret = tokens.create_token(world["users"]["viewer_a"], "scoped token")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    assert client.get("/api/v1/numbers/", **auth).json()["count"] == LIVE["A"]
    assert client.get(f"/api/v1/numbers/{world['B']['number'].pk}/", **auth).status_code == 404
    assert client.get(f"/api/v1/accounts/{world['C']['account'].pk}/", **auth).status_code == 404
    body = client.get("/api/v1/accounts/", **auth).content.decode()
    assert_no_leak(body, "viewer_a", "api accounts (token)")
    csv_text = b"".join(client.get("/api/v1/numbers/export.csv", **auth).streaming_content).decode()
    assert_no_leak(csv_text, "viewer_a", "api export (token)")


def test_the_api_without_credentials_sees_nothing(client, world):
    assert client.get("/api/v1/numbers/").status_code == 401


# --- managing ---------------------------------------------------------------------------------------


def _call(client, name, method, obj, world):
    url = reverse(name, args=[obj.pk])
    if method == "get":
        return client.get(url)
    return client.post(url, {"reason": "scope test"}) if name.startswith("finding") else client.post(url)


@pytest.mark.parametrize("user", USERS)
def test_manage_actions_follow_scope_and_rights(as_user, world, user, monkeypatch):
    from numbersadmin.inventory import runner
    from numbersadmin.inventory.services import accounts as account_services

    monkeypatch.setattr(runner, "sync_now", lambda account, **kw: (SyncRun.objects.create(account=account), True))
    monkeypatch.setattr(account_services, "account_test_connection",
                        lambda account, user=None: type("R", (), {"ok": True, "message": "ok"})())
    client = as_user(user)
    for name, (method, attr) in MANAGE_ACTIONS.items():
        for k in KEYS:
            response = _call(client, name, method, world[k][attr], world)
            if k not in SEES[user]:
                assert response.status_code == 404, (name, k, user, response.status_code)
            elif k not in MANAGES[user] or (name == "account_delete" and user not in GLOBAL):
                assert response.status_code == 403, (name, k, user, response.status_code)
            else:
                assert response.status_code not in (403, 404), (name, k, user, response.status_code)


@pytest.mark.parametrize("user", USERS)
def test_global_pages_are_for_global_managers(as_user, world, user):
    client = as_user(user)
    scope = AccountScope.objects.first()
    for name in sorted(GLOBAL_PAGES, key=lambda n: n == "scope_delete"):  # delete last
        url = reverse(name, args=[scope.pk]) if name in ("scope_edit", "scope_delete") else \
            reverse(name, args=["didww"]) if name == "account_add" else reverse(name)
        response = client.get(url) if name != "scope_delete" else client.post(url)
        if user in GLOBAL:
            assert response.status_code in (200, 302), (name, user, response.status_code)
        else:
            assert response.status_code == 403, (name, user, response.status_code)
    if user not in GLOBAL:
        response = client.post("/api/v1/accounts/", data=json.dumps({"provider": "didww", "name": "x"}),
                               content_type="application/json")
        assert response.status_code == 403


def test_a_scoped_manager_bulk_edits_only_their_accounts(as_user, world):
    client = as_user("manager_b")
    response = client.post("/numbers/bulk-edit/", {"scope": "matching", "query": "", "add_tags": "scoped",
                                                   "note_mode": "keep"})
    assert response.status_code in (200, 302), response.content.decode()[:500]
    tagged = set(PhoneNumber.objects.filter(tags__name="scoped").values_list("account__name", flat=True))
    assert tagged == {world["B"]["account"].name}
    assert as_user("viewer_a").get("/numbers/bulk-edit/?scope=matching").status_code == 403


def test_notes_on_an_out_of_scope_number_are_404(as_user, world):
    client = as_user("viewer_a")
    assert client.post(f"/numbers/{world['B']['number'].pk}/notes/", {"note": "x", "tags": ""}).status_code == 404
    assert client.patch(f"/api/v1/numbers/{world['B']['number'].pk}/", data=json.dumps({"note": "x"}),
                        content_type="application/json").status_code == 404
    assert client.post(f"/numbers/{world['A']['number'].pk}/notes/", {"note": "ok", "tags": ""}).status_code == 302


def test_account_page_actions_only_on_managed_accounts(as_user, world):
    body = as_user("manager_b").get("/accounts/").content.decode()
    assert reverse("account_sync", args=[world["B"]["account"].pk]) in body
    assert "Add account" not in body
    body = as_user("team_ab").get("/accounts/").content.decode()
    assert "Sync now" not in body


# --- alerts and reconciliation -----------------------------------------------------------------------


def test_a_rule_finds_what_its_creator_sees(world):
    rule = AlertRule.objects.create(kind=RuleKind.NUMBER_NOT_RENEWING, created_by=world["users"]["viewer_a"])
    evaluate_rule(rule)
    assert set(AlertItem.objects.filter(rule=rule).values_list("account__name", flat=True)) == {
        world["A"]["account"].name}


def test_a_digest_holds_only_what_its_recipient_sees(world):
    channel = Channel.objects.create(kind="email", address="b@example.invalid", owner=world["users"]["manager_b"])
    world["rule"].channels.add(channel)
    notification = digest.build_digest(channel, timezone.now())
    text = json.dumps(notification.body)
    assert_no_leak(text, "manager_b", "digest")
    assert E164["B"][0] in text
    system = Channel.objects.create(kind="email", address="ops@example.invalid")  # no owner: a system channel
    world["rule"].channels.add(system)
    text = json.dumps(digest.build_digest(system, timezone.now()).body)
    assert all(E164[k][0] in text for k in KEYS)


def test_the_dashboard_panel_shows_only_in_scope_items(as_user, world):
    body = as_user("viewer_a").get("/").content.decode()
    assert E164["A"][0] in body
    assert_no_leak(body, "viewer_a", "dashboard panel")


def test_findings_naming_an_unseen_account_are_hidden(as_user, world):
    client = as_user("team_ab")
    assert client.get(reverse("finding_detail", args=[world["AC_finding"].pk])).status_code == 404
    assert client.get(f"/api/v1/findings/{world['AC_finding'].pk}/").status_code == 404
    assert as_user("root").get(reverse("finding_detail", args=[world["AC_finding"].pk])).status_code == 200


# --- the filter itself ------------------------------------------------------------------------------


def test_unrestricted_users_get_no_extra_sql(world):
    base = str(selectors.number_list({}).qs.query)
    for name in ("root", "gm", "noscope"):
        with scopes.acting_for(world["users"][name]):
            assert str(selectors.number_list({}).qs.query) == base
    with scopes.acting_for(world["users"]["viewer_a"]):
        scoped_sql = str(selectors.number_list({}).qs.query)
    assert scoped_sql != base and f"account_id\" IN ({world['A']['account'].pk})" in scoped_sql


def test_visibility_is_one_query_per_request(world):
    user = type(world["users"]["team_ab"]).objects.get(pk=world["users"]["team_ab"].pk)
    with CaptureQueriesContext(connection) as ctx:
        seen = scopes.visibility(user)
        scopes.visibility(user)
    assert seen.accounts == {world["A"]["account"].pk, world["B"]["account"].pk}
    assert len([q for q in ctx.captured_queries if "accountscope" in q["sql"].lower()]) == 1


def test_an_empty_scope_still_restricts(world, django_user_model):
    user = django_user_model.objects.create_user("empty", password="pw")
    AccountScope.objects.create(name="nothing yet").users.add(user)
    assert scopes.visibility(user).accounts == frozenset()


def test_scope_changes_are_audited(as_user, world):
    client = as_user("gm")
    a, b = world["A"]["account"], world["B"]["account"]
    response = client.post("/scopes/add/", {"name": "new scope", "accounts": [a.pk, b.pk],
                                            "users": [world["users"]["noscope"].pk]})
    assert response.status_code == 302, response.content.decode()[:1000]
    entry = AuditLog.objects.filter(action="scope.create").latest("at")
    assert entry.detail["accounts"] == sorted([a.name, b.name]) and entry.detail["users"] == ["noscope"]
    scope = AccountScope.objects.get(name="new scope")
    client.post(f"/scopes/{scope.pk}/delete/")
    assert AuditLog.objects.filter(action="scope.delete", target="scope new scope").exists()
    assert "new scope" in client.get("/audit/").content.decode()


def test_the_cli_export_sees_everything_unless_told_whose_scope(world, tmp_path):
    from django.core.management import call_command

    everything, scoped = tmp_path / "all.csv", tmp_path / "a.csv"
    call_command("export", "numbers", "-o", str(everything))
    call_command("export", "numbers", "--as-user", "viewer_a", "-o", str(scoped))
    assert all(e in everything.read_text() for k in KEYS for e in E164[k])
    assert_no_leak(scoped.read_text(), "viewer_a", "cli --as-user")
    assert all(e in scoped.read_text() for e in E164["A"])


def test_a_sync_started_in_a_scoped_request_reads_unscoped(world):
    from numbersadmin.inventory import runner

    seen = []
    with scopes.acting_for(world["users"]["viewer_a"]):
        original = runner.sync.run_sync
        runner.sync.run_sync = lambda run_id: seen.append(scopes.current().unrestricted)
        try:
            runner.execute_sync(0)
        finally:
            runner.sync.run_sync = original
    assert seen == [True]


def test_metrics_with_a_token_show_only_its_users_accounts(client, world):
    _, secret = tokens.create_token(world["users"]["viewer_a"], "metrics")
    text = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {secret}").content.decode()
    assert "Zalpha account" in text
    assert_no_leak(text, "viewer_a", "metrics (token)")
    _, secret = tokens.create_token(world["users"]["noscope"], "metrics all")
    text = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {secret}").content.decode()
    assert all(f"{TOKEN[k].title()} account" in text for k in KEYS)


def test_scoped_list_counts_still_come_from_numbercount(world):
    from numbersadmin.inventory import counts

    for name in ("team_ab", "viewer_a", "root"):
        with scopes.acting_for(world["users"][name]):
            qs = selectors.number_list({}).qs
            assert counts.kept_count(qs) == qs.count() == sum(LIVE[k] for k in SEES[name])
            qs = selectors.number_list({"account": world["A"]["account"].pk}).qs
            assert counts.kept_count(qs) == qs.count() == (LIVE["A"] if "A" in SEES[name] else 0)


@pytest.mark.parametrize("user", ["viewer_a", "team_ab", "root"])
def test_the_numbers_as_of_a_moment_stay_in_scope(as_user, world, user):
    client = as_user(user)
    moment = timezone.localtime(timezone.now() + dt.timedelta(seconds=1)).strftime("%Y-%m-%d %H:%M:%S")
    response = client.get("/api/v1/numbers/", {"as_of": moment})
    assert response.status_code == 200, response.content[:300]
    assert response.json()["count"] == sum(LIVE[k] for k in SEES[user])
    body = client.get("/numbers/", {"as_of": moment}).content.decode()
    assert_no_leak(body, user, "numbers as of")
    assert_shows(body, user, "numbers as of")
