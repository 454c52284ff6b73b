"""XLSX is for people, CSV for machines (issue 13): the spreadsheet has the headers seen on screen,
display labels for codes, numbers and dates as typed cells (dates in the site's time zone), text
identifiers, the injection rule, a frozen header row, an autofilter and column widths; CSV keeps
field names and raw values. Both carry the manifest. Read back with openpyxl, through the web view,
the CLI and the API (one code path)."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.test import Client, override_settings
from openpyxl import load_workbook

from numbersadmin.inventory.lists import LISTS
from numbersadmin.inventory.models import CallerId, PhoneNumber
from numbersadmin.inventory.services import tokens
from providers import registry

from .support.helpers import export_manifest, export_rows, sync

pytestmark = pytest.mark.django_db(transaction=True)

UTC = dt.timezone.utc
# Berlin is UTC+1 in January: the spreadsheet shows the site's wall-clock time.
EXPIRES = dt.datetime(2031, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
EXPIRES_IN_BERLIN = dt.datetime(2031, 1, 2, 4, 4, 5)
FORMULA = "=HYPERLINK(\"http://x\",\"y\")"


@pytest.fixture
def numbers(didww_account):
    """Synced DIDWW numbers; one of them with a known cost, renewal date and a formula description."""
    assert sync(didww_account).state == "succeeded"
    number = PhoneNumber.objects.filter(removed_at=None, country="GB").order_by("e164").first()
    PhoneNumber.objects.filter(pk=number.pk).update(monthly_cost=Decimal("1234.5678"), currency="USD",
                                                    expires_at=EXPIRES, description=FORMULA, kind="toll_free")
    number.refresh_from_db()
    return number


@pytest.fixture
def caller_ids(numbers, didww_account):
    owned = CallerId.objects.create(account=didww_account, external_id="c1", number_raw=numbers.e164.lstrip("+"),
                                    e164=numbers.e164, active=True, verified_until=dt.date(2031, 3, 4),
                                    code_entering_attempts_left=3, verification_call_attempts_left=2)
    CallerId.objects.create(account=didww_account, external_id="c2", number_raw="0044 20", e164="",
                            active=False, verified_until=None, code_entering_attempts_left=None)
    return owned


def book(response):
    assert response.status_code == 200, response.status_code
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return load_workbook(io.BytesIO(content))


def table(sheet) -> tuple[list[str], list[dict]]:
    rows = list(sheet.iter_rows())
    header = [c.value for c in rows[0]]
    return header, [dict(zip(header, row)) for row in rows[1:]]


def screen_headers(html: str) -> list[str]:
    head = html.split("<thead>", 1)[1].split("</thead>", 1)[0]
    return [re.sub(r"<[^>]+>|[▲▼]", "", th).strip()
            for th in re.findall(r'<th scope="col" data-col="[^"]+"[^>]*>(.*?)</th>', head, re.S)]


def manifest(wb) -> dict[str, str]:
    return {k: v for k, v in wb["manifest"].iter_rows(values_only=True)}


def assert_spreadsheet_for_people(wb, number, rows_expected: int):
    sheet = wb["export"]
    header, rows = table(sheet)
    assert len(rows) == rows_expected
    assert sheet.freeze_panes == "A2"
    last = sheet.cell(row=1, column=len(header)).column_letter
    assert sheet.auto_filter.ref == f"A1:{last}{rows_expected + 1}"
    assert header[:4] == ["Number", "Number as received", "Valid number", "Provider"]
    assert {"Monthly cost", "Currency", "Renews", "Last sync", "Status", "Provider status", "Owner type"} <= set(header)
    assert not [h for h in header if "_" in h]  # no machine names
    row = next(r for r in rows if r["Number"].value == number.e164)
    e164 = row["Number"]
    assert e164.data_type == "s" and e164.value.startswith("+")  # an identifier stays text
    cost = row["Monthly cost"]
    assert cost.data_type == "n" and cost.value == pytest.approx(1234.5678) and cost.number_format == "#,##0.00##"
    renews = row["Renews"]
    assert renews.is_date and renews.value == EXPIRES_IN_BERLIN
    assert isinstance(row["Last sync"].value, dt.datetime)
    assert row["Provider"].value == registry.get("didww").name != "didww"  # the label, not the code
    assert row["Kind"].value == "Toll-free" and row["Status"].value == "Active"
    assert row["Description"].value == "'" + FORMULA  # injection rule kept for text cells
    assert all(c.data_type != "f" for r in rows for c in r.values())
    widths = [sheet.column_dimensions[c.column_letter].width for c in sheet[1]]
    assert all(6 <= w <= 50 for w in widths)
    assert sheet.column_dimensions["A"].width >= len("+44XXXXXXXXXX")
    meta = manifest(wb)
    assert meta["rows"] == str(rows_expected) and meta["time_zone"].startswith("Europe/Berlin")
    assert "Number = e164" in meta["headers"]
    return header, rows


@override_settings(TIME_ZONE="Europe/Berlin")
def test_numbers_xlsx_from_the_web_view_and_the_cli_is_for_people(numbers, ops_client, tmp_path):
    count = PhoneNumber.objects.filter(removed_at=None).count()
    web = book(ops_client.get("/numbers/?export=xlsx&columns=all"))
    assert_spreadsheet_for_people(web, numbers, count)
    out = tmp_path / "numbers.xlsx"
    call_command("export", "numbers", "--format", "xlsx", "-o", str(out), stderr=io.StringIO())
    cli = load_workbook(out)
    assert_spreadsheet_for_people(cli, numbers, count)
    assert [c.value for c in web["export"][1]] == [c.value for c in cli["export"][1]]


@override_settings(TIME_ZONE="Europe/Berlin")
def test_xlsx_headers_are_the_screen_headers_and_csv_keeps_field_names(numbers, ops_client):
    view = "country=GB&cols=e164,provider,kind,renews,description"
    html = ops_client.get(f"/numbers/?{view}").content.decode()
    shown = screen_headers(html)
    assert shown == ["Number", "Provider", "Kind", "Renews", "Description"]
    wb = book(ops_client.get(f"/numbers/?{view}&export=xlsx"))
    header, rows = table(wb["export"])
    assert header == shown
    assert wb["export"].auto_filter.ref == f"A1:E{len(rows) + 1}"
    # CSV is unchanged: machine names, raw codes, ISO-8601 UTC, same manifest lines
    response = ops_client.get(f"/numbers/?{view}&export=csv")
    text = b"".join(response.streaming_content).decode()
    csv_rows = export_rows(text)
    assert list(csv_rows[0]) == ["e164", "provider", "kind", "expires_at", "description"]
    row = next(r for r in csv_rows if r["e164"] == numbers.e164)
    assert row == {"e164": numbers.e164, "provider": "didww", "kind": "toll_free",
                   "expires_at": "2031-01-02T03:04:05.678000+00:00", "description": "'" + FORMULA}
    csv_manifest = export_manifest(text)
    assert "time_zone" not in csv_manifest
    xlsx_manifest = manifest(wb)
    for key in ("export", "rows", "selection", "columns", "filters", "query"):
        assert csv_manifest[key] == xlsx_manifest[key], key


@override_settings(TIME_ZONE="Europe/Berlin")
def test_caller_ids_xlsx_from_the_web_view_and_the_cli(caller_ids, ops_client, tmp_path):
    out = tmp_path / "cids.xlsx"
    call_command("export", "caller_ids", "--format", "xlsx", "-o", str(out), stderr=io.StringIO())
    for wb in (book(ops_client.get("/caller-ids/?export=xlsx&columns=all")), load_workbook(out)):
        sheet = wb["export"]
        header, rows = table(sheet)
        assert header == ["Caller ID", "Caller ID as received", "Account", "Provider", "Verification",
                          "Verified until", "Active", "Code attempts left", "Call attempts left", "Owned by",
                          "Provider ID", "Last sync", "Location", "Candidate owner", "Candidate owner type",
                          "Main number", "Toll-free number", "Service number"]
        assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == f"A1:R{len(rows) + 1}" and len(rows) == 2
        owned = next(r for r in rows if r["Caller ID"].value == caller_ids.e164)
        assert owned["Caller ID"].data_type == "s" and owned["Caller ID"].value.startswith("+")
        assert owned["Caller ID as received"].data_type == "s"  # digits, but an identifier: text
        assert owned["Verified until"].is_date and owned["Verified until"].value == dt.datetime(2031, 3, 4)
        assert owned["Verified until"].number_format == "yyyy-mm-dd"
        assert owned["Code attempts left"].data_type == "n" and owned["Code attempts left"].value == 3
        assert owned["Provider"].value == "DIDWW" and owned["Verification"].value == "Verified"
        assert owned["Owned by"].value == "DIDWW main" and owned["Active"].value == "yes"
        other = next(r for r in rows if r["Caller ID"].value is None)
        assert other["Verification"].value == "Unverified" and other["Verified until"].value is None
        assert other["Code attempts left"].value is None and other["Caller ID as received"].value == "0044 20"
        assert manifest(wb)["rows"] == "2"


@override_settings(TIME_ZONE="Europe/Berlin")
def test_api_xlsx_is_the_same_file_and_json_and_csv_are_unchanged(numbers, ops_user):
    api = Client(HTTP_AUTHORIZATION=f"Bearer {tokens.create_token(ops_user, 'report')[1]}")
    wb = book(api.get(f"/api/v1/numbers/export.xlsx?q={numbers.e164}&fields=e164,cost,renews,provider"))
    header, rows = table(wb["export"])
    assert header == ["Number", "Monthly cost", "Currency", "Renews", "Provider"]
    assert [r["Monthly cost"].data_type for r in rows] == ["n"] and rows[0]["Renews"].value == EXPIRES_IN_BERLIN
    assert rows[0]["Provider"].value == "DIDWW"
    text = b"".join(api.get(f"/api/v1/numbers/export.csv?q={numbers.e164}&fields=e164,cost,renews,provider")
                    .streaming_content).decode()
    assert export_rows(text) == [{"e164": numbers.e164, "monthly_cost": "1234.5678", "currency": "USD",
                                  "expires_at": "2031-01-02T03:04:05.678000+00:00", "provider": "didww"}]
    data = api.get(f"/api/v1/numbers/?q={numbers.e164}&fields=e164,cost,renews,provider").json()["results"]
    assert data == [{"id": numbers.pk, "e164": numbers.e164, "monthly_cost": "1234.5678", "currency": "USD",
                     "expires_at": "2031-01-02T03:04:05.678000+00:00", "provider": "didww"}]


def test_other_lists_type_their_counts_and_label_their_providers(numbers, ops_client):
    for name in ("trunks", "trunk_groups", "groups", "owners", "locations"):
        spec = LISTS[name]
        header, rows = table(book(ops_client.get(f"{spec.url}?export=xlsx&columns=all"))["export"])
        assert header == [f.label for f in spec.fields] and not [h for h in header if "_" in h], name
        assert rows or name in ("owners", "locations"), name  # DIDWW has trunks, groups and DID groups, no owners
        for row in rows:
            assert row["Numbers"].value is None or row["Numbers"].data_type == "n", name
            assert row["Provider"].value in (None, "DIDWW"), name


def test_kinds_and_labels_are_held_to_the_model():
    """A date, a number or a choices field exported without saying so fails at definition time."""
    from numbersadmin.inventory.tables import Column, check_columns, value

    def col(*fields):
        return Column("x", "X", lambda row, t: "", tuple(fields))

    check_columns([col(value("first_seen", kind="datetime"))], {}, PhoneNumber)
    check_columns([col(value("cost", "monthly_cost", kind="money"))], {}, PhoneNumber)
    for field, message in (
        (value("first_seen"), "first_seen is a DateTimeField: kind='datetime'"),
        (value("cost", "monthly_cost"), "cost is a DecimalField: kind='money'"),
        (value("cost", "e164", kind="money"), "cost is a CharField: kind='text', not 'money'"),
        (value("status"), "status holds codes with display labels"),
        (value("provider", "account__provider"), "provider holds codes"),
    ):
        with pytest.raises(ValueError, match=re.escape(message)):
            check_columns([col(field)], {}, PhoneNumber)
    with pytest.raises(ValueError, match="unknown kind 'date-ish'"):
        value("x", kind="date-ish")
    with pytest.raises(ValueError, match="display labels are for text codes"):
        value("x", kind="int", labels={"1": "one"})
