"""The REST API: one vocabulary with the web lists and the CLI, tokens, and bad input as 400s."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from numbersadmin.inventory.lists import LISTS
from numbersadmin.inventory.models import ApiToken, AuditLog, PhoneNumber, SyncRun
from numbersadmin.inventory.services import tokens

from .support.helpers import export_rows, sync

pytestmark = pytest.mark.django_db


@pytest.fixture
def synced(didww_account):
    assert sync(didww_account).state == "succeeded"
    return didww_account


@pytest.fixture
def api(ops_user):
    _, secret = tokens.create_token(ops_user, "tests", read_only=True)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def _path(name: str) -> str:
    return f"/api/v1/{name.replace('_', '-')}/"


def _all_pages(client, url: str) -> tuple[list[dict], int]:
    results, count, seen = [], None, 0
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content[:300]
        page = response.json()
        count = page["count"] if count is None else count
        results.extend(page["results"])
        url = page["next"]
        seen += 1
        assert seen < 1000
    return results, count


# -- one vocabulary ---------------------------------------------------------------------------------
AGREEMENT = {
    "numbers": ["", "country=US", "country__n=US&sort=-e164", "trunk=null", "trunk__n=null&status=active",
                "q=212", "sort=city", "voice=yes&sort=-first_seen"],
    "trunks": ["", "sort=-name", "q=SBC"],
    "trunk_groups": ["", "sort=-name"],
    "locations": ["", "country=US", "sort=-name"],
    "owners": [""],
    "caller_ids": ["", "sort=-e164"],
    "groups": ["", "kind=did_group", "kind=pool", "sort=-name", "q=a"],
}


@pytest.mark.parametrize("list_name", sorted(AGREEMENT))
def test_the_page_the_cli_and_the_api_give_the_same_rows(list_name, synced, api, ops_client, tmp_path):
    """For each query string, the web export of the page, the CLI export and the API give the same
    rows in the same order (the first field of the list is the row's identity here)."""
    spec = LISTS[list_name]
    key = spec.fields[0].header
    for query in AGREEMENT[list_name]:
        page = export_rows(b"".join(ops_client.get(f"{spec.url}?{query}&export=csv&columns=all").streaming_content)
                           .decode())
        out = tmp_path / "cli.csv"
        args = []
        for part in filter(None, query.split("&")):
            name, _, value = part.partition("=")
            args += ([f"--sort={value}"] if name == "sort" else [f"--search={value}"] if name == "q"
                     else ["--filter", part])
        call_command("export", list_name, *args, "-o", str(out), stderr=io.StringIO())
        cli = export_rows(out)
        results, count = _all_pages(api, f"{_path(list_name)}?{query}&limit=60")
        web_keys = [r[key] for r in page]
        assert [r[key] for r in cli] == web_keys, (list_name, query)
        assert [("" if r[key] is None else str(r[key])) for r in results] == web_keys, (list_name, query)
        assert count == len(web_keys)
    if list_name in ("numbers", "trunks", "trunk_groups", "locations", "groups"):
        assert web_keys, f"{list_name}: the fixture should have rows"


def test_numbers_carry_every_export_field_with_json_types(synced, api):
    number = PhoneNumber.objects.exclude(monthly_cost=None).first() or PhoneNumber.objects.first()
    row = next(r for r in api.get("/api/v1/numbers/?limit=1000").json()["results"] if r["id"] == number.pk)
    assert list(row) == ["id", *[f.header for f in LISTS["numbers"].fields]]
    assert row["e164"] == number.e164 and row["provider"] == "didww" and isinstance(row["voice"], (bool, type(None)))
    assert row["first_seen"] == number.first_seen.isoformat()
    if number.monthly_cost is not None:
        assert row["monthly_cost"] == str(number.monthly_cost)  # money as an exact string


def test_fields_choose_fields_or_whole_columns(synced, api):
    row = api.get("/api/v1/numbers/?fields=e164,capabilities,cost&limit=1").json()["results"][0]
    assert list(row) == ["id", "e164", "voice", "sms", "mms", "monthly_cost", "currency"]  # columns: their fields
    row = api.get("/api/v1/numbers/?fields=provider_status&limit=1").json()["results"][0]
    assert list(row) == ["id", "provider_status"]


def test_cursor_pages_cover_every_row_once_both_ways(synced, api):
    forward, count = _all_pages(api, "/api/v1/numbers/?limit=40&sort=-e164")
    ids = [r["id"] for r in forward]
    assert len(ids) == len(set(ids)) == count == PhoneNumber.objects.filter(removed_at=None).count()
    last = api.get("/api/v1/numbers/?limit=40&sort=-e164").json()
    second = api.get(last["next"]).json()
    assert api.get(second["previous"]).json()["results"] == last["results"]


# -- bad input: a 400 naming the parameter, never a 500 ---------------------------------------------
@pytest.mark.parametrize("query, param", [
    ("colour=red", "colour"),
    ("per_page=50", "per_page"),
    ("limit=0", "limit"), ("limit=1001", "limit"), ("limit=ten", "limit"),
    ("cursor=%%%", "cursor"), ("cursor=eyJ2IjoxfQ", "cursor"),
    ("fields=e164,nope", "fields"), ("fields=,", "fields"),
    ("sort=renewal", "sort"), ("sort=e164,city", "sort"),
    ("status=sideways", "status"), ("trunk=abc", "trunk"), ("country__n=%00", "country__n"),
])
def test_bad_parameters_are_400s_naming_the_parameter(synced, api, query, param):
    response = api.get(f"/api/v1/numbers/?{query}")
    assert response.status_code == 400, (query, response.status_code)
    assert param in response.json(), response.json()


def test_caller_ids_offset_cursor_is_checked(synced, api):
    for bad in ("eyJvIjotMX0", "eyJvIjoiMSJ9", "bm9wZQ"):
        response = api.get(f"/api/v1/caller-ids/?cursor={bad}")
        assert response.status_code == 400 and "cursor" in response.json()


# -- tokens ---------------------------------------------------------------------------------------
def test_no_or_bad_credentials_are_401_json_not_a_login_redirect(synced):
    for headers in ({}, {"HTTP_AUTHORIZATION": "Bearer na_not-a-token"}, {"HTTP_AUTHORIZATION": "Bearer"},
                    {"HTTP_AUTHORIZATION": "Bearer a b"}):
        response = Client(**headers).get("/api/v1/numbers/")
        assert response.status_code == 401, headers
        assert response["Content-Type"].startswith("application/json") and "detail" in response.json()
        assert response["WWW-Authenticate"].startswith("Bearer")


def test_revoked_and_expired_tokens_are_refused(ops_user, synced):
    token, secret = tokens.create_token(ops_user, "short-lived", expires_in_days=1)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert client.get("/api/v1/trunks/").status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert client.get("/api/v1/trunks/").json()["detail"] == "Token expired."
    ApiToken.objects.filter(pk=token.pk).update(expires_at=None)
    assert client.get("/api/v1/trunks/").status_code == 200
    tokens.revoke_token(token, ops_user)
    response = client.get("/api/v1/trunks/")
    assert response.status_code == 401 and response.json()["detail"] == "Token revoked."


def test_the_session_works_for_the_browser(synced, ops_client):
    assert ops_client.get("/api/v1/trunks/").status_code == 200


def test_tokens_page_shows_the_secret_once_and_stores_only_its_hash(ops_client, ops_user):
    response = ops_client.post("/api-tokens/", {"name": "billing sync", "access": "write", "expires_in_days": "30"})
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    html = response.content.decode()
    secret = html.split('id="token-secret">', 1)[1].split("<", 1)[0]
    assert secret.startswith("na_") and len(secret) > 40
    token = ApiToken.objects.get(user=ops_user)
    assert not token.read_only and token.key_hash == tokens.hash_key(secret) and secret not in str(token.__dict__)
    assert 29 <= (token.expires_at - timezone.now()).days <= 30
    again = ops_client.get("/api-tokens/").content.decode()
    assert secret not in again and token.prefix in again
    assert Client(HTTP_AUTHORIZATION=f"Bearer {secret}").get("/api/v1/owners/").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert AuditLog.objects.filter(action="api_token.create", username="bob").exists()


@pytest.mark.parametrize("data, message", [
    ({"name": "", "access": "read"}, "This field is required"),
    ({"name": "x", "access": "admin"}, "Select a valid choice"),
    ({"name": "x", "access": "read", "expires_in_days": "0"}, "greater than or equal to 1"),
    ({"name": "x", "access": "read", "expires_in_days": "99999999999999999999"}, "less than or equal to"),
    ({"name": "x" * 101, "access": "read"}, "at most 100 characters"),
])
def test_bad_token_requests_are_explained(ops_client, data, message):
    response = ops_client.post("/api-tokens/", data)
    assert response.status_code == 200 and message in response.content.decode()
    assert not ApiToken.objects.exists()


def test_only_the_owner_can_revoke_a_token(ops_client, admin_user):
    token, secret = tokens.create_token(admin_user, "admin's")
    assert ops_client.post(f"/api-tokens/{token.pk}/revoke/").status_code == 404
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None


# -- schema ---------------------------------------------------------------------------------------
def test_schema_lists_every_list_with_its_filters_and_docs_render(synced, api, ops_client):
    schema = api.get("/api/schema/?format=json").json()
    assert schema["openapi"].startswith("3.")
    operations = {op["operationId"]: op for path in schema["paths"].values() for op in path.values()}
    assert {f"{name}_list" for name in LISTS} | {f"{name}_export_{fmt}" for name in LISTS for fmt in ("csv", "xlsx")} \
        | {"export_job", "export_job_download", "number_detail", "number_edit", "number_history", "accounts_list",
           "account_detail", "account_sync", "sync_runs_list", "sync_run_confirm_removals", "account_create",
           "account_update", "audit_list", "saved_views_list", "saved_view_detail"} \
        | {f"{name}_detail" for name in LISTS if name != "numbers"} == set(operations)
    numbers = {p["name"]: p for p in operations["numbers_list"]["parameters"]}
    assert {"country", "country__n", "trunk", "q", "sort", "limit", "cursor", "fields", "view"} <= set(numbers)
    assert "is empty" in numbers["trunk"]["description"] and numbers["trunk__n"]["description"].startswith("Trunk is not")
    assert Client().get("/api/schema/").status_code == 401
    html = ops_client.get("/api/docs/").content.decode()
    assert "/api/v1/numbers/" in html and "provider_status" in html


# -- the schema against the live app ------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)  # the WSGI app closes connections after each request
def test_schemathesis_every_operation_as_ops_and_admin(synced, ops_user, admin_user, settings, monkeypatch):
    """Generated requests for every operation, as ops and as admin: no server error, and every
    response (status, headers, body) conforms to the published schema."""
    import schemathesis
    from django.core.wsgi import get_wsgi_application
    from hypothesis import HealthCheck, given
    from hypothesis import settings as hsettings

    from schemathesis.checks import positive_data_acceptance

    from numbersadmin.inventory.api.auth import PerTokenThrottle

    settings.ALLOWED_HOSTS = ["*"]
    monkeypatch.setattr(PerTokenThrottle, "THROTTLE_RATES", {"api": "1000000/min"})
    app = get_wsgi_application()
    operations = 0
    for user in (ops_user, admin_user):
        headers = {"Authorization": f"Bearer {tokens.create_token(user, 'schemathesis')[1]}"}
        schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", app, headers=headers)
        for result in schema.get_all_operations():
            operation = result.ok()
            operations += 1

            @hsettings(max_examples=25, deadline=None, database=None, derandomize=True,
                       suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy())
            def check(case):
                # Not checked: "schema-valid data is accepted". A well-formed id that names no row,
                # or a made-up cursor, is rightly a 400 the schema cannot foresee.
                case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

            check()
    # lists, exports, details, jobs; number get, patch, history; accounts list/create/detail/update/sync; runs,
    # confirm; audit; saved views list and detail
    assert operations == 2 * (3 * len(LISTS) + len(LISTS) - 1 + 2 + 3 + 5 + 2 + 1 + 2)


# -- exports --------------------------------------------------------------------------------------
def test_api_csv_export_is_the_web_export_and_is_audited_with_the_token(synced, ops_user, ops_client):
    token, secret = tokens.create_token(ops_user, "nightly report")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    query = "country=US&sort=-e164&trunk__n=null"
    response = api.get(f"/api/v1/numbers/export.csv?{query}&fields=e164,status,owner")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode()
    assert text.startswith("# export: numbersadmin Numbers")
    entry = AuditLog.objects.filter(action="export", username="bob").order_by("-pk").first()
    web = export_rows(b"".join(ops_client.get(f"/numbers/?{query}&export=csv&columns=all").streaming_content).decode())
    mine = export_rows(text)
    assert list(mine[0]) == ["e164", "status", "owner"]
    assert [r["e164"] for r in mine] == [r["e164"] for r in web] and mine
    assert entry.detail["via"] == "api" and entry.detail["token"] == "nightly report" and entry.rows == len(mine)
    assert api.get("/api/v1/numbers/export.csv?limit=5").status_code == 400  # paging is not an export parameter


def test_large_api_xlsx_export_is_a_job_only_its_owner_can_read(synced, ops_user, admin_user, settings, tmp_path):
    from openpyxl import load_workbook

    from numbersadmin.inventory.export_jobs import run_export_job

    settings.EXPORT_XLSX_SYNC_ROWS = 10
    settings.EXPORT_DIR = tmp_path
    api = Client(HTTP_AUTHORIZATION=f"Bearer {tokens.create_token(ops_user, 'big')[1]}")
    response = api.get("/api/v1/numbers/export.xlsx?country=US")
    assert response.status_code == 202
    job = response.json()
    assert job["state"] == "queued" and job["download"] is None and job["rows_total"] > 10
    assert api.get(f"/api/v1/export-jobs/{job['id']}/download/").status_code == 409
    run_export_job(job["id"])  # what the worker does
    done = api.get(f"/api/v1/export-jobs/{job['id']}/").json()
    assert done["state"] == "succeeded" and done["download"].endswith(f"/api/v1/export-jobs/{job['id']}/download/")
    file = api.get(f"/api/v1/export-jobs/{job['id']}/download/")
    sheet = load_workbook(io.BytesIO(b"".join(file.streaming_content)))["export"]
    assert sheet.max_row - 1 == job["rows_total"]
    other = Client(HTTP_AUTHORIZATION=f"Bearer {tokens.create_token(admin_user, 'x')[1]}")
    assert other.get(f"/api/v1/export-jobs/{job['id']}/").status_code == 200  # admins see every job
    stranger = django_user("carol")
    nosy = Client(HTTP_AUTHORIZATION=f"Bearer {tokens.create_token(stranger, 'y')[1]}")
    assert nosy.get(f"/api/v1/export-jobs/{job['id']}/").status_code == 404
    assert nosy.get(f"/api/v1/export-jobs/{job['id']}/download/").status_code == 404


def django_user(name: str):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user(name, password=f"pw-{name}-123")


def test_control_characters_never_break_an_xlsx_export(synced, didww_sim, api, ops_client):
    """Found by Schemathesis: a search holding \\x19 reached the XLSX manifest and openpyxl refused
    it (a 500). Control characters in searches and provider data become U+FFFD in XLSX."""
    from openpyxl import load_workbook

    didww_sim.update_did(didww_sim.dids[0]["id"], description="line\x01break\x19")
    sync(synced)
    for response in (ops_client.get("/numbers/?q=%19&export=xlsx&columns=all"),
                     api.get("/api/v1/numbers/export.xlsx?q=%19"), api.get("/api/v1/numbers/export.xlsx")):
        assert response.status_code == 200
        book = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
        assert book["manifest"].max_row > 1
    cells = [c for row in book["export"].iter_rows(values_only=True) for c in row]
    assert "line\ufffdbreak\ufffd" in cells


# -- one number: detail, history, note and tags -------------------------------------------------------
def test_number_detail_has_the_list_fields_and_nested_summaries(synced, didww_sim, api):
    number = PhoneNumber.objects.exclude(trunk=None).first()
    didww_sim.update_did(number.external_id, description="moved to floor 3")
    sync(synced)
    data = api.get(f"/api/v1/numbers/{number.pk}/").json()
    listed = next(r for r in api.get(f"/api/v1/numbers/?q={number.e164}&limit=1000").json()["results"]
                  if r["id"] == number.pk)
    assert data["fields"] == {k: v for k, v in listed.items() if k != "id"}
    assert data["trunk"] == {"id": number.trunk.pk, "name": number.trunk.name, "web_url": f"/trunks/{number.trunk.pk}/",
                             "url": f"http://testserver/api/v1/trunks/{number.trunk.pk}/"}
    assert api.get(data["trunk"]["url"]).json()["id"] == number.trunk.pk
    assert data["account"]["name"] == synced.name and data["owner"] is None
    assert data["history_url"].endswith(f"/api/v1/numbers/{number.pk}/history/")
    history = api.get(data["history_url"]).json()
    assert [(h["field"], h["new_value"]) for h in history if h["field"] == "description"] == [
        ("description", "moved to floor 3")]
    assert api.get("/api/v1/numbers/999999/").status_code == 404
    assert api.get("/api/v1/numbers/999999/").json() == {"detail": "No such number."}


def test_patch_sets_note_and_tags_with_a_write_token_and_audits_it(synced, ops_user):
    number = PhoneNumber.objects.first()
    read_only = Client(HTTP_AUTHORIZATION=f"Bearer {tokens.create_token(ops_user, 'ro')[1]}")
    body = {"note": "Moving to Acme", "tags": ["billing", "Porting Out"]}
    denied = read_only.patch(f"/api/v1/numbers/{number.pk}/", body, content_type="application/json")
    assert denied.status_code == 403 and denied.json()["detail"] == "This token is read-only."
    writer = Client(HTTP_AUTHORIZATION=f"Bearer {tokens.create_token(ops_user, 'crm sync', read_only=False)[1]}")
    data = writer.patch(f"/api/v1/numbers/{number.pk}/", body, content_type="application/json").json()
    assert data["note"] == "Moving to Acme" and data["tags"] == ["billing", "porting out"]
    entries = AuditLog.objects.filter(action__in=["number.note", "number.tags"], username="bob")
    assert entries.count() == 2 and all(e.detail["via"] == "api" and e.detail["token"] == "crm sync" for e in entries)
    data = writer.patch(f"/api/v1/numbers/{number.pk}/", {"note": ""}, content_type="application/json").json()
    assert data["note"] is None and data["tags"] == ["billing", "porting out"]  # only what was sent changes


@pytest.mark.parametrize("body, key", [
    ({}, "body"), ({"colour": "red"}, "body"), ([1, 2], "body"),
    ({"note": 5}, "note"), ({"note": "x" * 4001}, "note"),
    ({"tags": "a,b"}, "tags"), ({"tags": ["ok", "bad tag!" * 20]}, "tags"),
    ({"note": "fine", "tags": ["no\\u0000nul"]}, "tags"),
])
def test_bad_patches_are_400s_and_write_nothing(synced, ops_user, body, key):
    number = PhoneNumber.objects.first()
    writer = Client(HTTP_AUTHORIZATION=f"Bearer {tokens.create_token(ops_user, 'w', read_only=False)[1]}")
    response = writer.patch(f"/api/v1/numbers/{number.pk}/", body, content_type="application/json")
    assert response.status_code == 400 and key in response.json(), response.content
    assert not AuditLog.objects.filter(action__in=["number.note", "number.tags"]).exists()
    assert writer.patch(f"/api/v1/numbers/{number.pk}/", "{not json", content_type="application/json").status_code == 400


# -- accounts and sync runs -----------------------------------------------------------------------
def test_accounts_show_health_to_ops_and_configuration_only_to_admins(synced, api, admin_user):
    ops_view = api.get("/api/v1/accounts/").json()["results"]
    (account,) = ops_view
    assert account["name"] == synced.name and account["numbers"] == PhoneNumber.objects.filter(removed_at=None).count()
    assert account["last_run"]["state"] == "succeeded" and "config" not in account
    assert "error_message" not in account["last_run"]
    admin = Client(HTTP_AUTHORIZATION=f"Bearer {tokens.create_token(admin_user, 'a')[1]}")
    detail = admin.get(f"/api/v1/accounts/{synced.pk}/").json()
    assert detail["config"]["secrets_set"] == ["api_key"] and detail["config"]["base_url"] == synced.base_url
    text = admin.get("/api/v1/accounts/").content.decode()
    assert "sim-key-0123456789" not in text and "secrets_encrypted" not in text
    assert api.get("/api/v1/accounts/0/").status_code == 404


def test_only_admins_with_a_write_token_can_sync_now(synced, ops_user, admin_user):
    ops = Client(HTTP_AUTHORIZATION=f"Bearer {tokens.create_token(ops_user, 'o', read_only=False)[1]}")
    response = ops.post(f"/api/v1/accounts/{synced.pk}/sync/")
    assert response.status_code == 403 and response.json()["detail"] == "Only admins can do this."
    admin_ro = Client(HTTP_AUTHORIZATION=f"Bearer {tokens.create_token(admin_user, 'ro')[1]}")
    assert admin_ro.post(f"/api/v1/accounts/{synced.pk}/sync/").status_code == 403
    admin = Client(HTTP_AUTHORIZATION=f"Bearer {tokens.create_token(admin_user, 'ops bot', read_only=False)[1]}")
    before = SyncRun.objects.count()
    response = admin.post(f"/api/v1/accounts/{synced.pk}/sync/")
    assert response.status_code == 202 and response.json()["state"] == "queued"
    assert SyncRun.objects.count() == before + 1
    again = admin.post(f"/api/v1/accounts/{synced.pk}/sync/")
    assert again.status_code == 200 and again.json()["id"] == response.json()["id"]  # joins the queued run
    entry = AuditLog.objects.filter(action="sync.request").order_by("-pk").first()
    assert entry.detail["token"] == "ops bot" and entry.detail["via"] == "api"


def test_sync_runs_page_newest_first_and_refuse_bad_parameters(synced, api):
    for _ in range(3):
        sync(synced)
    page = api.get(f"/api/v1/sync-runs/?account={synced.pk}&limit=2").json()
    ids = [r["id"] for r in page["results"]]
    ids += [r["id"] for r in api.get(page["next"]).json()["results"]]
    assert ids == sorted(SyncRun.objects.filter(account=synced).values_list("pk", flat=True), reverse=True)
    for query, param in (("account=x", "account"), ("limit=0", "limit"), ("cursor=zz", "cursor"), ("state=x", "state")):
        response = api.get(f"/api/v1/sync-runs/?{query}")
        assert response.status_code == 400 and param in response.json(), query


def test_confirming_removals_needs_a_run_waiting_for_review(synced, admin_user):
    admin = Client(HTTP_AUTHORIZATION=f"Bearer {tokens.create_token(admin_user, 'a', read_only=False)[1]}")
    run = SyncRun.objects.filter(account=synced).latest("pk")
    response = admin.post(f"/api/v1/sync-runs/{run.pk}/confirm-removals/")
    assert response.status_code == 409 and "waiting for review" in response.json()["detail"]
    assert admin.post("/api/v1/sync-runs/999999/confirm-removals/").status_code == 404


# -- account writes and the audit log (admins) ------------------------------------------------------
@pytest.fixture
def admin_api(admin_user):
    return Client(HTTP_AUTHORIZATION=f"Bearer {tokens.create_token(admin_user, 'provisioning', read_only=False)[1]}")


def test_admins_create_update_and_disable_accounts_with_write_only_secrets(admin_api, didww_sim):
    from numbersadmin.inventory.models import ProviderAccount

    body = {"provider": "didww", "name": "DIDWW api", "base_url": didww_sim.base_url,
            "secrets": {"api_key": "sim-key-0123456789"}, "sync_interval_minutes": 30}
    created = admin_api.post("/api/v1/accounts/", body, content_type="application/json")
    assert created.status_code == 201, created.content
    data = created.json()
    assert data["config"]["secrets_set"] == ["api_key"] and "sim-key" not in created.content.decode()
    account = ProviderAccount.objects.get(pk=data["id"])
    assert account.get_secrets() == {"api_key": "sim-key-0123456789"} and account.sync_interval_minutes == 30
    changed = admin_api.patch(f"/api/v1/accounts/{account.pk}/", {"enabled": False, "secrets": {"api_key": "new-key-42"}},
                              content_type="application/json")
    assert changed.status_code == 200 and changed.json()["enabled"] is False
    account.refresh_from_db()
    assert account.get_secrets() == {"api_key": "new-key-42"} and not account.enabled
    entries = AuditLog.objects.filter(action__in=["account.create", "account.update"])
    assert entries.count() == 2 and all(e.detail["token"] == "provisioning" for e in entries)
    assert "new-key-42" not in str(list(entries.values_list("detail", flat=True)))


@pytest.mark.parametrize("body, key", [
    ({"provider": "didww", "name": "x", "secrets": {"api_key": "k"}, "base_url": "http://10.0.0.1/"}, "base_url"),
    ({"provider": "nope", "name": "x", "secrets": {"api_key": "k"}}, "provider"),
    ({"provider": "didww", "name": "x", "secrets": {}}, "secrets"),
    ({"provider": "didww", "name": "x", "secrets": {"api_key": "k", "other": "y"}}, "secrets"),
    ({"provider": "didww", "name": "x", "secrets": {"api_key": 5}}, "secrets"),
    ({"provider": "didww", "name": "x"}, "secrets"),
    ({"provider": "didww", "name": "x", "secrets": {"api_key": "k"}, "sync_interval_minutes": 0}, "sync_interval_minutes"),
    ({"provider": "didww", "name": "x", "secrets": {"api_key": "k"}, "enabled": "yes"}, "enabled"),
    ({"provider": "didww", "name": "x", "secrets": {"api_key": "k"}, "colour": "red"}, "colour"),
    ({"provider": "didww", "name": "x", "secrets": {"api_key": "k"}, "config": {"unknown_key": 1}}, "config"),
])
def test_bad_account_bodies_are_400s_and_create_nothing(admin_api, body, key):
    from numbersadmin.inventory.models import ProviderAccount

    response = admin_api.post("/api/v1/accounts/", body, content_type="application/json")
    assert response.status_code == 400 and key in response.json(), (key, response.json())
    assert not ProviderAccount.objects.exists()


def test_account_writes_and_the_audit_log_are_for_admins_only(synced, api, ops_user, admin_api):
    writer = Client(HTTP_AUTHORIZATION=f"Bearer {tokens.create_token(ops_user, 'w', read_only=False)[1]}")
    assert writer.patch(f"/api/v1/accounts/{synced.pk}/", {"enabled": False}, content_type="application/json"
                        ).status_code == 403
    assert api.get("/api/v1/audit/").status_code == 403
    admin_api.patch(f"/api/v1/accounts/{synced.pk}/", {"name": "DIDWW renamed"}, content_type="application/json")
    page = admin_api.get("/api/v1/audit/?action=account.update&limit=1").json()
    assert page["results"][0]["target"] == "DIDWW renamed" and page["results"][0]["detail"]["via"] == "api"
    assert admin_api.get("/api/v1/audit/?since=yesterday").status_code == 400
    assert admin_api.get("/api/v1/audit/?date_from=notadate").json()["date_from"]


# -- detail endpoints ------------------------------------------------------------------------------
def test_every_list_has_a_detail_with_its_list_fields_related_summaries_and_its_numbers(synced, api):
    """For a row of each list: the detail's fields are the list row; each nested summary opens in
    the API; numbers_count is the number of rows numbers_url lists."""
    for name, spec in LISTS.items():
        if name == "numbers":
            continue
        listed = api.get(f"{_path(name)}?limit=1000").json()["results"]
        if not listed:
            continue
        row = listed[-1]
        data = api.get(f"{_path(name)}{row['id']}/").json()
        assert data["fields"] == {k: v for k, v in row.items() if k != "id"}, name
        assert data["account"]["name"] == synced.name and data["account"]["url"].endswith(f"/accounts/{synced.pk}/")
        assert api.get(data["account"]["url"]).status_code == 200
        for key in ("location", "trunk_group", "owned_by"):
            if data.get(key):
                assert api.get(data[key]["url"]).json()["id"] == data[key]["id"], (name, key)
        if "numbers_url" in data:
            numbers, count = _all_pages(api, data["numbers_url"] + "&limit=1000")
            assert data["numbers_count"] == count == len(numbers), name
            if spec.fields[-1].header != "removed_at" or row.get("numbers") is not None:
                assert data["fields"].get("numbers", count) == count
        assert api.get(f"{_path(name)}99999999/").status_code == 404


def test_trunk_detail_links_its_trunk_group_and_numbers(synced, api):
    number = PhoneNumber.objects.exclude(trunk=None).select_related("trunk").first()
    data = api.get(f"/api/v1/trunks/{number.trunk.pk}/").json()
    assert data["numbers_count"] >= 1 and data["web_url"] == f"/trunks/{number.trunk.pk}/"
    numbers, _ = _all_pages(api, data["numbers_url"])
    assert number.pk in {n["id"] for n in numbers}
    assert set(data) >= {"id", "fields", "account", "trunk_group", "numbers_count", "numbers_url", "web_url"}


# -- saved views ------------------------------------------------------------------------------------
def test_saved_views_apply_in_the_api_and_private_ones_stay_private(synced, ops_user, api, admin_user):
    from numbersadmin.inventory.services import preferences

    mine = preferences.create_view(ops_user, "numbers", "US by number", "country=US&sort=-e164&cols=e164,gone,status",
                                   shared=False, make_default=False)
    private = preferences.create_view(admin_user, "numbers", "admin only", "country=GB", shared=False, make_default=False)
    shared = preferences.create_view(admin_user, "numbers", "shared", "status=active", shared=True, make_default=False)

    listed = api.get("/api/v1/saved-views/").json()["results"]
    assert {v["id"] for v in listed} == {mine.pk, shared.pk}
    assert api.get(f"/api/v1/saved-views/{private.pk}/").status_code == 404
    detail = api.get(f"/api/v1/saved-views/{mine.pk}/").json()
    assert detail["mine"] is True and detail["list"] == "numbers" and detail["query"] == mine.params

    # The view's filters, sort and columns are what the same query gives.
    via_view = api.get(detail["url"] + "&limit=1000").json()
    direct = api.get("/api/v1/numbers/?country=US&sort=-e164&fields=e164,status&limit=1000").json()
    assert via_view["results"] == direct["results"] and via_view["count"] == direct["count"] > 0
    # Parameters given with the view win over the view's own.
    assert api.get(f"/api/v1/numbers/?view={mine.pk}&fields=e164&limit=1").json()["results"][0].keys() == {"id", "e164"}
    csv_rows = export_rows(b"".join(api.get(f"/api/v1/numbers/export.csv?view={mine.pk}").streaming_content).decode())
    assert [r["e164"] for r in csv_rows] == [r["e164"] for r in direct["results"]]

    for url in (f"/api/v1/numbers/?view={private.pk}", f"/api/v1/numbers/export.csv?view={private.pk}",
                f"/api/v1/owners/?view={mine.pk}", "/api/v1/numbers/?view=987654"):
        response = api.get(url)
        assert response.status_code == 404 and "saved view" in response.json()["detail"], url
    assert api.get("/api/v1/numbers/?view=abc").json() == {"view": ["A saved view's id (see /api/v1/saved-views/)."]}
    assert api.get(f"/api/v1/numbers/?view={shared.pk}").status_code == 200
    assert api.get("/api/v1/saved-views/?list=nope").status_code == 400
