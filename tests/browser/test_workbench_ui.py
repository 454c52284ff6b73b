"""Ops workbench in a real browser: filter, hide a column, export the view as CSV and XLSX and read
the files back, export three ticked rows, save a view and reopen it from its URL, remove a chip."""

from __future__ import annotations

import csv
import io
import re

import pytest
from openpyxl import load_workbook

from numbersadmin.inventory.models import PhoneNumber, SavedView

from ..support.helpers import export_manifest, export_rows, sync
from .conftest import login, numbers_in_table, shot

pytestmark = pytest.mark.django_db(transaction=True)

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def header_names(page) -> list[str]:
    return page.eval_on_selector_all("#numbers-table thead th[data-col]", "ths => ths.map(t => t.dataset.col)")


def open_export_menu(page):
    if page.locator("#export-menu[open]").count() == 0:
        page.click("#export-menu summary")


def download(page, click_selector: str):
    open_export_menu(page)
    with page.expect_download() as info:
        page.click(click_selector)
    return info.value


def assert_no_formula(value: str) -> None:
    # E.164 numbers keep their "+" (documented rule); anything else starting like a formula is neutralised.
    if value.startswith(FORMULA_START):
        assert re.fullmatch(r"\+[1-9]\d{0,14}", value), value


def test_filter_hide_column_export_view_and_selection(page, live_server, didww_account, ops_user, tmp_path):
    assert sync(didww_account).state == "succeeded"
    # A description that would be a formula in a spreadsheet.
    PhoneNumber.objects.filter(country="GB").update(description="=HYPERLINK(\"http://x\")")
    login(page, live_server, "bob", "pw-bob-123")

    page.select_option("#id_country", "GB")
    page.wait_for_url(re.compile(r".*country=GB.*"))
    expected = list(PhoneNumber.objects.filter(country="GB", removed_at=None).order_by("e164").values_list("e164", flat=True))

    # Hide the "Kind" column and show "Description" (not a default column) with the chooser; the
    # country filter survives.
    page.click("#column-chooser summary")
    page.uncheck("#column-chooser input[value=kind]")
    page.check("#column-chooser input[value=description]")
    page.click("#apply-columns")
    page.wait_for_load_state()
    assert "country=GB" in page.url
    headers = header_names(page)
    assert "kind" not in headers and "trunk_group" not in headers and "e164" in headers and "trunk" in headers
    assert "description" in headers
    assert page.locator("#chips .chip", has_text="Country").count() == 1
    shot(page, "workbench-filtered-column-hidden")

    # Export the current view as CSV: same rows, same columns as on screen, manifest first.
    csv_file = download(page, "#export-csv")
    assert re.fullmatch(r"numbers-\d{8}-\d{6}\.csv", csv_file.suggested_filename)
    text = open(csv_file.path(), encoding="utf-8").read()
    manifest = export_manifest(text)
    assert manifest["rows"] == str(len(expected)) and "Country: " in manifest["filters"] and manifest["generated_by"] == "bob"
    assert any(k.startswith("account ") for k in manifest)
    rows = export_rows(text)
    assert [r["e164"] for r in rows] == expected
    assert "kind" not in rows[0] and "trunk_group" not in rows[0] and "trunk" in rows[0] and "description" in rows[0]
    assert all(r["description"].startswith("'=") for r in rows)
    for r in rows:
        for value in r.values():
            assert_no_formula(value)

    # Same view as XLSX: the same rows and columns (headers as on screen, typed numbers and dates,
    # never a formula), a manifest sheet. tests/browser/test_xlsx_ui.py reads the cells in detail.
    xlsx_file = download(page, "#export-xlsx")
    assert xlsx_file.suggested_filename.endswith(".xlsx")
    wb = load_workbook(io.BytesIO(open(xlsx_file.path(), "rb").read()))
    sheet = list(wb["export"].iter_rows(values_only=True))
    assert len(sheet[0]) == len(rows[0]) and sheet[0][0] == "Number" and "Trunk" in sheet[0]
    assert "Trunk group" not in sheet[0]
    assert [r[0] for r in sheet[1:]] == expected
    for cell_row in wb["export"].iter_rows():
        for cell in cell_row:
            assert cell.data_type != "f"  # never a formula
            if cell.data_type == "s":
                assert_no_formula(cell.value or "")
    assert dict((r[0], r[1]) for r in wb["manifest"].iter_rows(values_only=True))["rows"] == str(len(expected))

    # Tick three rows and export only those (all columns this time).
    boxes = page.locator("#numbers-table td.select input[type=checkbox]")
    for i in range(3):
        boxes.nth(i).check()
    ticked = numbers_in_table(page)[:3]
    assert "3 ticked rows" in page.locator("#selection-status").inner_text()
    open_export_menu(page)
    page.check("#export-menu input[name=columns][value=all]")
    with page.expect_download() as info:
        page.click("#export-csv")
    picked = export_rows(open(info.value.path(), encoding="utf-8").read())
    assert [r["e164"] for r in picked] == ticked
    assert "trunk_group" in picked[0] and "number_raw" in picked[0]  # all columns


def test_save_view_reload_from_url_and_remove_chip(page, live_server, didww_account, ops_user):
    assert sync(didww_account).state == "succeeded"
    login(page, live_server, "bob", "pw-bob-123")
    page.select_option("#id_country", "US")
    page.wait_for_url(re.compile(r".*country=US.*"))
    page.select_option("#id_status", "active")
    page.wait_for_url(re.compile(r".*status=active.*"))
    page.wait_for_selector("#chips .chip:has-text('Status')")
    page.click("#numbers-table th a[data-sort=e164]")
    page.wait_for_url(re.compile(r".*sort=-e164.*"))
    page.wait_for_selector("#numbers-table th[aria-sort=descending]")
    shown = numbers_in_table(page)

    page.click("#views-menu summary")
    page.fill("#view-name", "US active, newest first")
    page.click("#save-view")
    page.wait_for_url(re.compile(r".*view=\d+.*"))
    view = SavedView.objects.get(name="US active, newest first")
    assert "country=US" in view.params and "status=active" in view.params and "sort=-e164" in view.params

    # A fresh tab opening the view's stable URL shows the same rows in the same order.
    other = page.context.new_page()
    other.goto(f"{live_server.url}/views/{view.pk}/")
    other.wait_for_selector("#view-bar")
    assert numbers_in_table(other) == shown
    assert "US active, newest first" in other.locator("#view-bar").inner_text()
    shot(other, "workbench-saved-view")

    # Remove the status chip: the country filter and the sort stay.
    other.click("#chips .chip:has-text('Status') .chip-remove")
    other.wait_for_load_state()
    assert "status=" not in other.url and "country=US" in other.url and "sort=-e164" in other.url
    assert other.locator("#chips .chip", has_text="Status").count() == 0
    assert other.locator("#chips .chip", has_text="Country").count() == 1
    expected = PhoneNumber.objects.filter(country="US", removed_at=None).count()
    assert f"of {expected}" in other.locator(".pager .count").first.inner_text()
    assert "changed" in other.locator("#view-bar").inner_text()

    # "Clear all" drops every filter but keeps the sort.
    other.click("#clear-all")
    other.wait_for_load_state()
    assert other.locator("#chips .chip").count() == 0 and "sort=-e164" in other.url


def test_sort_and_columns_survive_a_filter_change(page, live_server, didww_account, ops_user):
    """sort/cols live in the swapped results (form= attribute), so the filter form sends the current ones."""
    assert sync(didww_account).state == "succeeded"
    login(page, live_server, "bob", "pw-bob-123", "/numbers/?cols=e164,country,status")
    page.click("#numbers-table th a[data-sort=e164]")
    page.wait_for_url(re.compile(r".*sort=-e164.*"))
    page.wait_for_selector("#numbers-table th[aria-sort=descending]")
    page.select_option("#id_country", "GB")
    page.wait_for_url(re.compile(r".*country=GB.*"))
    page.wait_for_function("() => [...document.querySelectorAll('#numbers-table td[data-col=e164] a.num')].every(a => a.textContent.startsWith('+44'))")
    assert "sort=-e164" in page.url and "cols=e164" in page.url
    shown = numbers_in_table(page)
    assert shown == sorted(shown, reverse=True)
    assert page.eval_on_selector_all("#numbers-table thead th[data-col]", "ths => ths.map(t => t.dataset.col)") == [
        "e164", "country", "status"]
