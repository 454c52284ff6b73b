"""List workbench on the Django side: columns, chips with "is not"/"is empty", exports (view, all
columns, ticked rows, manifest, XLSX jobs), saved views and their ownership, bad input."""

from __future__ import annotations

import csv
import io
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client, override_settings
from openpyxl import load_workbook

from numbersadmin.inventory.models import AuditLog, ExportJob, ListPreference, NumberNote, PhoneNumber, SavedView, Tag

from .support.helpers import export_manifest, export_rows, sync

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_client(django_user_model):
    """A second user in a client of its own (admin_client/ops_client share the "client" fixture)."""
    user = django_user_model.objects.create_user("carol", password="pw-carol-123")
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def synced(didww_account):
    assert sync(didww_account).state == "succeeded"
    return didww_account


def body(response) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def live():
    return PhoneNumber.objects.filter(removed_at=None)


def header_cols(html: str) -> list[str]:
    head = html.split("<thead>", 1)[1].split("</thead>", 1)[0]
    return re.findall(r'<th scope="col" data-col="([^"]+)"', head)


# --- columns ------------------------------------------------------------------------------------


def test_cols_param_sets_visible_columns_in_order(ops_client, synced):
    html = body(ops_client.get("/numbers/?cols=status,e164,owner"))
    assert header_cols(html) == ["status", "e164", "owner"]


def test_unknown_columns_are_reported_never_500(ops_client, synced):
    response = ops_client.get("/numbers/?cols=e164,password,<script>")
    assert response.status_code == 200
    html = body(response)
    assert "Unknown columns" in html and "<script>" not in html.split("<main", 1)[1].split("Unknown columns")[0][-50:]
    assert header_cols(html) == ["e164"]
    # nothing known at all: the defaults, with a message
    html = body(ops_client.get("/numbers/?cols=nope"))
    assert "showing the default columns" in html and "renews" in header_cols(html)


def test_column_choice_is_saved_per_user_and_keeps_filters(ops_client, other_client, synced, ops_user):
    response = ops_client.post("/lists/numbers/columns/", {"cols": ["country", "e164", "tags"],
                                                          "next": "country=US&status=active&sort=-e164"})
    assert response.status_code == 302
    target = urlsplit(response["Location"])
    assert target.path == "/numbers/" and parse_qs(target.query) == {"country": ["US"], "status": ["active"], "sort": ["-e164"]}
    assert ListPreference.objects.get(user=ops_user, list_name="numbers").columns == ["country", "e164", "tags"]
    assert header_cols(body(ops_client.get(response["Location"]))) == ["country", "e164", "tags"]
    # another user still sees the defaults
    assert "renews" in header_cols(body(other_client.get("/numbers/")))
    # a cols= already in the URL is replaced, not dropped; reset goes back to the defaults
    response = ops_client.post("/lists/numbers/columns/", {"cols": ["e164"], "next": "cols=status&country=US"})
    assert parse_qs(urlsplit(response["Location"]).query) == {"cols": ["e164"], "country": ["US"]}
    ops_client.post("/lists/numbers/columns/", {"reset": "1", "next": ""})
    assert "renews" in header_cols(body(ops_client.get("/numbers/")))


def test_column_chooser_rejects_get_and_unknown_lists(ops_client, synced):
    assert ops_client.get("/lists/numbers/columns/").status_code == 405
    assert ops_client.post("/lists/passwords/columns/", {"cols": ["x"]}).status_code == 404


def test_tags_and_note_columns_render_with_constant_queries(ops_client, synced, django_assert_max_num_queries):
    numbers = list(live().order_by("e164")[:3])
    tag = Tag.objects.create(name="porting")
    tag.numbers.add(*numbers)
    NumberNote.objects.create(number=numbers[0], text="ask finance")
    with django_assert_max_num_queries(18):
        html = body(ops_client.get("/numbers/?cols=e164,tags,note&per_page=100"))
    assert html.count('class="tag"') == 3 and "ask finance" in html


# --- chips, "is not", "is empty" ---------------------------------------------------------------


def test_negated_filter_and_chip(ops_client, synced):
    html = body(ops_client.get("/numbers/?country__n=US&per_page=25"))
    expected = live().exclude(country="US").count()
    assert f"of {expected}" in html
    assert 'class="chip chip-not"' in html and "is not</strong> United States" in html
    # the chip's invert link turns it back into "is"
    invert = re.search(r'href="([^"]+)" class="chip-invert"', html).group(1).replace("&amp;", "&")
    assert parse_qs(urlsplit(invert).query)["country"] == ["US"]


def test_empty_filters(ops_client, synced):
    no_trunk = live().filter(trunk=None).count()
    assert 0 < no_trunk < live().count()
    html = body(ops_client.get("/numbers/?trunk=null"))
    assert f"of {no_trunk}" in html and "<strong>is</strong> empty" in html
    html = body(ops_client.get("/numbers/?trunk__n=null"))
    assert f"of {live().exclude(trunk=None).count()}" in html
    no_region = live().filter(region="").count()
    assert no_region > 0  # the DIDWW seed has DIDs without a region: the filter has rows to show
    assert f"of {no_region}" in body(ops_client.get("/numbers/?region=null"))


def test_chip_remove_keeps_the_rest_and_clear_all_keeps_sort(ops_client, synced):
    html = body(ops_client.get("/numbers/?country=US&status=active&sort=-e164&cols=e164,status"))
    removes = {m.group(2): m.group(1).replace("&amp;", "&")
               for m in re.finditer(r'href="([^"]+)" class="chip-remove" aria-label="Remove filter ([^"]+)"', html)}
    assert parse_qs(urlsplit(removes["Status"]).query) == {"country": ["US"], "sort": ["-e164"], "cols": ["e164,status"]}
    clear_url = re.search(r'<a href="([^"]+)" id="clear-all"', html).group(1).replace("&amp;", "&")
    assert parse_qs(urlsplit(clear_url).query) == {"sort": ["-e164"], "cols": ["e164,status"], "view": ["none"]}


def test_nonsense_view_requests_never_500(ops_client, synced):
    for query in ("sort=password", "cols=%00", "country__n=ZZ", "trunk=abc", "view=abc", "view=99999", "per_page=7",
                  "page=zz", "cursor=!!", "tag=null&tag__n=whatever", "export=pdf", "export=csv&columns=some",
                  "export=csv&pk=abc", "export=csv&sort=nope", "export=xlsx&cols=bogus"):
        for url in ("/numbers/", "/caller-ids/", "/owners/", "/locations/", "/trunks/", "/trunk-groups/"):
            response = ops_client.get(f"{url}?{query}")
            assert response.status_code == 200, (url, query)
            assert response.get("Content-Disposition") is None, (url, query)


# --- exports ------------------------------------------------------------------------------------


def test_export_current_view_has_screen_columns_and_manifest(ops_client, synced, ops_user):
    text = body(ops_client.get("/numbers/?country=GB&sort=-e164&cols=e164,status,capabilities,owner&export=csv"))
    rows = export_rows(text)
    assert list(rows[0]) == ["e164", "status", "provider_status", "missing_since", "voice", "sms", "mms", "owner", "owner_type"]
    expected = list(live().filter(country="GB").order_by("-e164").values_list("e164", flat=True))
    assert [r["e164"] for r in rows] == expected
    manifest = export_manifest(text)
    assert manifest["rows"] == str(len(expected)) and manifest["generated_by"] == "bob"
    assert manifest["selection"] == "all matching rows" and manifest["columns"].startswith("current view")
    assert "country=GB" in manifest["query"] and "sort=-e164" in manifest["query"]
    assert re.match(r"last successful sync \d{4}-", manifest[f"account {synced.name} (didww)"])
    log = AuditLog.objects.get(action="export")
    assert log.rows == len(expected) and log.detail["format"] == "csv" and log.detail["columns"] == "view"
    assert log.username == "bob" and log.target == "numbers"


def test_export_all_columns_and_preference_columns(ops_client, synced, ops_user):
    ListPreference.objects.create(user=ops_user, list_name="numbers", columns=["e164", "country"])
    rows = export_rows(body(ops_client.get("/numbers/?export=csv")))
    assert list(rows[0]) == ["e164", "country"]
    rows = export_rows(body(ops_client.get("/numbers/?export=csv&columns=all")))
    assert list(rows[0])[:3] == ["e164", "number_raw", "valid"] and "tags" in rows[0] and "note" in rows[0]


def test_export_ticked_rows_only_those_still_matching(ops_client, synced):
    gb = list(live().filter(country="GB").order_by("e164")[:2])
    us = live().filter(country="US").first()
    query = "&".join(f"pk={n.pk}" for n in (*gb, us))
    rows = export_rows(body(ops_client.get(f"/numbers/?country=GB&export=csv&{query}")))
    assert [r["e164"] for r in rows] == [n.e164 for n in gb]  # the US row does not match the filter
    # scope=matching wins over ticks
    rows = export_rows(body(ops_client.get(f"/numbers/?country=GB&export=csv&scope=matching&{query}")))
    assert len(rows) == live().filter(country="GB").count()


def test_export_refused_with_message_on_bad_input(ops_client, synced):
    for query in ("country=XX", "sort=password", "cols=e164,secret", "columns=weird", "pk=1&pk=x"):
        response = ops_client.get(f"/numbers/?export=csv&{query}")
        assert response.status_code == 200 and "Content-Disposition" not in response, query
        assert "Nothing was exported" in body(response), query
    assert not AuditLog.objects.filter(action="export").exists()


def test_export_notes_and_tags(ops_client, synced):
    number = live().order_by("e164").first()
    for name in ("zeta", "alpha"):
        Tag.objects.create(name=name).numbers.add(number)
    NumberNote.objects.create(number=number, text="=cmd|' /C calc'!A0")
    rows = export_rows(body(ops_client.get(f"/numbers/?export=csv&cols=e164,tags,note&tag=alpha")))
    assert rows == [{"e164": number.e164, "tags": "alpha, zeta", "note": "'=cmd|' /C calc'!A0"}]


def test_export_file_name_is_safe_with_a_hostile_view_name(ops_client, synced, ops_user):
    view = SavedView.objects.create(owner=ops_user, list_name="numbers", name='x"\r\nSet-Cookie: a=b; ../../etc',
                                    params="country=GB")
    response = ops_client.get(f"/numbers/?country=GB&view={view.pk}&export=csv")
    disposition = response["Content-Disposition"]
    assert re.fullmatch(r'attachment; filename="numbers-[a-z0-9-]+-\d{8}-\d{6}\.csv"', disposition), disposition
    assert "\r" not in disposition and "\n" not in disposition and "/" not in disposition.split("filename=")[1]


def test_small_xlsx_is_immediate_with_screen_headers_and_manifest(ops_client, synced):
    response = ops_client.get("/numbers/?country=GB&export=xlsx&cols=e164,description")
    assert response["Content-Disposition"].endswith('.xlsx"')
    wb = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    rows = list(wb["export"].iter_rows(values_only=True))
    assert rows[0] == ("Number", "Description") and len(rows) - 1 == live().filter(country="GB").count()
    assert dict(wb["manifest"].iter_rows(values_only=True))["rows"] == str(len(rows) - 1)


@override_settings(EXPORT_XLSX_SYNC_ROWS=10)
def test_large_xlsx_runs_as_a_job_with_progress_and_download(ops_client, other_client, admin_user, synced, tmp_path,
                                                             settings, django_capture_on_commit_callbacks):
    settings.EXPORT_DIR = tmp_path
    with django_capture_on_commit_callbacks(execute=True):
        response = ops_client.get("/numbers/?country=US&export=xlsx&columns=all")
    job = ExportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/exports/{job.pk}/"
    job.refresh_from_db()  # the inline runner has finished it
    expected = live().filter(country="US").count()
    assert job.state == "succeeded" and job.rows_written == expected == job.rows_total
    page = body(ops_client.get(f"/exports/{job.pk}/"))
    assert f"/exports/{job.pk}/download/" in page
    download = ops_client.get(f"/exports/{job.pk}/download/")
    wb = load_workbook(io.BytesIO(b"".join(download.streaming_content)))
    assert wb["export"].max_row - 1 == expected
    assert AuditLog.objects.get(action="export").detail["job"] == job.pk
    # someone else's job is not visible to another ops user; admins may see it
    assert other_client.get(f"/exports/{job.pk}/").status_code == 404
    assert other_client.get(f"/exports/{job.pk}/download/").status_code == 404
    admin = Client()
    admin.force_login(admin_user)
    assert admin.get(f"/exports/{job.pk}/").status_code == 200


# --- saved views --------------------------------------------------------------------------------


def test_save_view_keeps_only_view_keys_and_opens_from_its_url(ops_client, synced, ops_user):
    response = ops_client.post("/lists/numbers/views/", {
        "name": "  GB   numbers ", "query": "country=GB&sort=-e164&cursor=abc&export=csv&bogus=1&per_page=25",
        "cols": "e164,status"})
    view = SavedView.objects.get()
    assert view.name == "GB numbers" and view.owner == ops_user and not view.shared
    assert parse_qs(view.params) == {"country": ["GB"], "sort": ["-e164"], "per_page": ["25"], "cols": ["e164,status"]}
    assert response["Location"] == f"/views/{view.pk}/"
    opened = ops_client.get(f"/views/{view.pk}/")
    assert parse_qs(urlsplit(opened["Location"]).query)["view"] == [str(view.pk)]
    html = body(ops_client.get(opened["Location"]))
    assert header_cols(html) == ["e164", "status"] and "GB numbers" in html and "Save changes to this view" in html
    # duplicate names on the same list: a message, nothing new
    ops_client.post("/lists/numbers/views/", {"name": "GB numbers", "query": ""})
    assert SavedView.objects.count() == 1


def test_private_views_are_private_and_only_owners_change_views(ops_client, other_client, synced, ops_user):
    mine = SavedView.objects.create(owner=ops_user, list_name="numbers", name="mine", params="country=GB")
    shared = SavedView.objects.create(owner=ops_user, list_name="numbers", name="team", params="country=US", shared=True)
    client = other_client
    assert client.get(f"/views/{mine.pk}/").status_code == 404
    assert "That saved view does not exist" in body(client.get(f"/numbers/?view={mine.pk}"))
    assert client.get(f"/views/{shared.pk}/").status_code == 302
    assert client.post(f"/views/{shared.pk}/update/", {"query": "country=DE"}).status_code == 403
    assert client.post(f"/views/{shared.pk}/delete/").status_code == 403
    assert client.post(f"/views/{mine.pk}/delete/").status_code == 404
    shared.refresh_from_db()
    assert shared.params == "country=US" and SavedView.objects.count() == 2
    # a shared view may be someone else's default; the owner deleting it clears that default
    assert client.post(f"/views/{shared.pk}/default/").status_code == 302
    assert client.get("/numbers/")["Location"] == f"/views/{shared.pk}/"
    ops_client.post(f"/views/{shared.pk}/delete/")
    assert client.get("/numbers/").status_code == 200


def test_default_view_opens_on_bare_url_only(ops_client, synced, ops_user):
    view = SavedView.objects.create(owner=ops_user, list_name="numbers", name="d", params="country=GB")
    ops_client.post(f"/views/{view.pk}/default/")
    assert ops_client.get("/numbers/")["Location"] == f"/views/{view.pk}/"
    assert ops_client.get("/numbers/?view=none").status_code == 200  # "clear all" does not bounce back
    assert ops_client.get("/numbers/", headers={"HX-Request": "true"}).status_code == 200
    ops_client.post(f"/views/{view.pk}/default/", {"make": "off"})
    assert ops_client.get("/numbers/").status_code == 200


def test_owner_updates_view_with_current_filters(ops_client, synced, ops_user):
    view = SavedView.objects.create(owner=ops_user, list_name="numbers", name="v", params="country=GB")
    ops_client.post(f"/views/{view.pk}/update/", {"query": "country=US&status=active&page=3", "cols": "e164"})
    view.refresh_from_db()
    assert parse_qs(view.params) == {"country": ["US"], "status": ["active"], "cols": ["e164"]}
    assert ops_client.get(f"/views/{view.pk}/update/").status_code == 405


def test_every_list_supports_views_columns_and_export(ops_client, synced):
    for name, url in (("caller_ids", "/caller-ids/"), ("owners", "/owners/"), ("locations", "/locations/"),
                      ("trunks", "/trunks/"), ("trunk_groups", "/trunk-groups/")):
        html = body(ops_client.get(url))
        assert 'id="column-chooser"' in html and 'id="views-menu"' in html and 'id="export-csv"' in html, name
        text = body(ops_client.get(f"{url}?export=csv&columns=all"))
        assert export_manifest(text)["export"].startswith("numbersadmin"), name
        ops_client.post(f"/lists/{name}/views/", {"name": f"{name} view", "query": ""})
        assert SavedView.objects.filter(list_name=name).exists(), name
    trunks = export_rows(body(ops_client.get("/trunks/?export=csv&cols=name,numbers")))
    assert list(trunks[0]) == ["name", "numbers"]


def test_column_definitions_are_checked_when_the_list_is_defined():
    """One definition per column: a doubled name or export header, a column exporting nothing or a
    sortable column the selector cannot sort fails at import, not on some user's export."""
    from numbersadmin.inventory.tables import Column, check_columns, data, value

    def col(name, *fields, sortable=False):
        return Column(name, name.title(), lambda row, t: "", tuple(fields), sortable=sortable)

    check_columns([col("a", value("a")), data("b", label="B")], {})
    for columns, sorts, message in (
        ([col("a", value("a")), col("a", value("b"))], {}, "duplicate column names: a"),
        ([col("a", value("x")), col("b", value("x", "other"))], {}, "duplicate field names: x"),
        ([col("a")], {}, "columns without fields: a"),
        ([col("a", value("a"), sortable=True)], {"b": "b"}, "sortable columns without a sort key: a"),
        # XLSX headers: a column of several fields names each one, and no two read the same
        ([col("a", value("x"), value("y", label="Y"))], {}, "fields without a label .*: x"),
        ([col("a", value("x")), col("b", value("y", label="A"))], {}, "duplicate field label names: A"),
    ):
        with pytest.raises(ValueError, match=message):
            check_columns(columns, sorts)


def test_all_columns_export_is_every_field_and_current_view_is_the_screen_columns(ops_client, synced):
    from numbersadmin.inventory.lists import LISTS

    def header(url):
        lines = [line for line in body(ops_client.get(url)).splitlines() if line and not line.startswith("# ")]
        return next(csv.reader(lines[:1]))

    for spec in LISTS.values():
        assert header(f"{spec.url}?export=csv&columns=all") == [f.header for f in spec.fields], spec.name
        assert header(f"{spec.url}?export=csv") == [f.header for c in spec.default_columns for f in c.fields], spec.name
    # A data-only column (exports, API) is in "all columns" but cannot be shown on screen.
    assert "number_raw" in [f.header for f in LISTS["numbers"].fields]
    html = body(ops_client.get("/numbers/?cols=number_raw,e164"))
    assert "Unknown column &#x27;number_raw&#x27; ignored." in html and 'data-col="number_raw"' not in html


@override_settings(EXPORT_XLSX_SYNC_ROWS=10, EXPORT_JOBS_PER_USER=1)
def test_export_jobs_are_limited_per_user_and_files_expire(ops_client, synced, tmp_path, settings, ops_user):
    import datetime as dt

    from django.utils import timezone

    from numbersadmin.inventory.export_jobs import cleanup_export_jobs

    settings.EXPORT_DIR = tmp_path
    busy = ExportJob.objects.create(requested_by=ops_user, list_name="numbers", state="running")
    html = body(ops_client.get("/numbers/?export=xlsx"))
    assert "already have 1 Excel exports being prepared" in html and ExportJob.objects.count() == 1
    # a worker that died long ago: the job fails instead of blocking the user forever
    ExportJob.objects.filter(pk=busy.pk).update(created_at=timezone.now() - dt.timedelta(days=1))
    old = ExportJob.objects.create(requested_by=ops_user, list_name="numbers", state="succeeded",
                                   file_name="numbers-x.xlsx", finished_at=timezone.now() - dt.timedelta(hours=30))
    (tmp_path / f"{old.pk}.xlsx").write_bytes(b"x")
    assert cleanup_export_jobs() == 1
    busy.refresh_from_db()
    old.refresh_from_db()
    assert busy.state == "failed" and old.file_name == "" and not (tmp_path / f"{old.pk}.xlsx").exists()
    page = ops_client.get(f"/exports/{old.pk}/download/")
    assert page.status_code == 302  # back to the job page, which says the file is gone
    assert "The file was deleted after" in body(ops_client.get(f"/exports/{old.pk}/"))


def test_saved_views_index_lists_own_and_shared_only(ops_client, other_client, synced, ops_user):
    SavedView.objects.create(owner=ops_user, list_name="numbers", name="mine-private", params="country=GB")
    SavedView.objects.create(owner=ops_user, list_name="owners", name="team-shared", params="", shared=True)
    mine = body(ops_client.get("/views/"))
    assert "mine-private" in mine and "team-shared" in mine
    theirs = body(other_client.get("/views/"))
    assert "team-shared" in theirs and "mine-private" not in theirs


def test_a_view_of_another_list_is_not_applied(ops_client, synced, ops_user):
    owners_view = SavedView.objects.create(owner=ops_user, list_name="owners", name="o", params="")
    html = body(ops_client.get(f"/numbers/?view={owners_view.pk}"))
    assert "That saved view does not exist" in html and 'id="view-bar"' not in html
