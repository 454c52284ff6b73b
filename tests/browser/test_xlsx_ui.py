"""Issue 13: the XLSX downloaded from the numbers page is for people. Read back with openpyxl: the
headers seen on screen, provider names, a numeric cost, a typed date, E.164 as text, the injection
rule, a frozen header row and an autofilter over the data."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.test import override_settings
from openpyxl import load_workbook

from numbersadmin.inventory.models import PhoneNumber

from ..support.helpers import sync
from .conftest import login, numbers_in_table, shot

pytestmark = pytest.mark.django_db(transaction=True)

VIEW = "/numbers/?country=GB&cols=e164,provider,kind,renews,cost,description"


@override_settings(TIME_ZONE="Asia/Kolkata")  # UTC+5:30, no daylight saving
def test_xlsx_download_from_the_numbers_page_reads_back_typed(page, live_server, didww_account, ops_user):
    assert sync(didww_account).state == "succeeded"
    number = PhoneNumber.objects.filter(country="GB", removed_at=None).order_by("e164").first()
    PhoneNumber.objects.filter(pk=number.pk).update(
        monthly_cost=Decimal("12.5"), currency="EUR", description="=1+2",
        expires_at=dt.datetime(2030, 6, 30, 20, 0, tzinfo=dt.timezone.utc))
    login(page, live_server, "bob", "pw-bob-123", next_path=VIEW)
    # textContent: the header's words as written (CSS shows them in capitals), minus the sort arrow
    screen = [t.strip(" ▲▼") for t in page.eval_on_selector_all(
        "#numbers-table thead th[data-col]", "ths => ths.map(t => t.textContent.trim())")]
    assert screen == ["Number", "Provider", "Kind", "Renews", "Monthly", "Description"]
    shown = numbers_in_table(page)

    page.click("#export-menu summary")
    with page.expect_download() as info:
        page.click("#export-xlsx")
    download = info.value
    assert re.fullmatch(r"numbers-\d{8}-\d{6}\.xlsx", download.suggested_filename)
    wb = load_workbook(io.BytesIO(open(download.path(), "rb").read()))
    sheet = wb["export"]
    header = [c.value for c in sheet[1]]
    # one header per value: the screen's, the "Monthly" column being cost and currency
    assert header == ["Number", "Provider", "Kind", "Renews", "Monthly cost", "Currency", "Description"]
    assert sheet.freeze_panes == "A2"
    rows = list(sheet.iter_rows(min_row=2))
    assert sheet.auto_filter.ref == f"A1:G{len(rows) + 1}"
    assert [r[0].value for r in rows][:len(shown)] == shown
    assert len(rows) == PhoneNumber.objects.filter(country="GB", removed_at=None).count()
    cells = {h: c for h, c in zip(header, next(r for r in rows if r[0].value == number.e164))}
    assert cells["Number"].data_type == "s" and cells["Number"].value.startswith("+44")
    assert cells["Provider"].value == "DIDWW"
    assert cells["Monthly cost"].data_type == "n" and cells["Monthly cost"].value == 12.5
    assert cells["Currency"].value == "EUR"
    # 20:00 UTC is 01:30 the next day in the site's zone: the cell is that wall-clock time
    assert cells["Renews"].is_date and cells["Renews"].value == dt.datetime(2030, 7, 1, 1, 30)
    assert cells["Description"].value == "'=1+2" and cells["Description"].data_type == "s"
    for row in rows:
        assert all(c.data_type != "f" for c in row)
        assert row[0].data_type == "s" and row[0].value.startswith("+")
    manifest = dict(wb["manifest"].iter_rows(values_only=True))
    assert manifest["rows"] == str(len(rows)) and manifest["generated_by"] == "bob"
    assert manifest["time_zone"].startswith("Asia/Kolkata") and "Country: " in manifest["filters"]
    shot(page, "numbers-xlsx-exported-view")
