"""CLI contract: export filters, formats and errors (scripts depend on these)."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from openpyxl import load_workbook

from numbersadmin.inventory.models import AuditLog, PhoneNumber

from .support.helpers import sync
from .support.helpers import export_rows

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def synced(didww_account):
    assert sync(didww_account).state == "succeeded"
    return didww_account


def test_export_csv_with_filter_search_and_sort(synced, tmp_path):
    out = tmp_path / "gb.csv"
    call_command("export", "numbers", "--filter", "country=GB", "--sort=-e164", "-o", str(out), stderr=io.StringIO())
    rows = list(export_rows(out))
    expected = list(PhoneNumber.objects.filter(country="GB").order_by("-e164", "-pk").values_list("e164", flat=True))
    assert [r["e164"] for r in rows] == expected
    first = expected[0]
    call_command("export", "numbers", "--search", f"{first[:3]} {first[3:7]}", "-o", str(out), stderr=io.StringIO())
    assert first in [r["e164"] for r in export_rows(out)]
    assert AuditLog.objects.filter(action="export", username="cli").count() == 2


def test_export_xlsx_cells_are_never_formulas(synced, didww_sim, tmp_path):
    didww_sim.update_did(didww_sim.dids[0]["id"], description="=cmd|' /C calc'!A0")
    sync(synced)
    out = tmp_path / "all.xlsx"
    call_command("export", "numbers", "--format", "xlsx", "-o", str(out), stderr=io.StringIO())
    sheet = load_workbook(out, read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    assert len(body) == PhoneNumber.objects.count()
    e164 = header.index("Number")
    assert all(isinstance(r[e164], str) and r[e164].startswith("+") for r in body)
    descriptions = [r[header.index("Description")] for r in body]
    assert "'=cmd|' /C calc'!A0" in descriptions
    for row in load_workbook(out).active.iter_rows(min_row=2):
        assert all(cell.data_type != "f" for cell in row)


def test_export_rejects_unknown_filters_and_bad_values(synced, tmp_path):
    with pytest.raises(CommandError, match="Unknown filter"):
        call_command("export", "numbers", "--filter", "colour=red", "-o", str(tmp_path / "x.csv"))
    with pytest.raises(CommandError, match="country"):
        call_command("export", "numbers", "--filter", "country=XX", "-o", str(tmp_path / "x.csv"))
    with pytest.raises(CommandError, match="Unknown sort"):
        call_command("export", "numbers", "--sort", "password", "-o", str(tmp_path / "x.csv"))


def test_trunk_exports(synced, didww_sim, tmp_path):
    for name, count in (("trunks", len(didww_sim.voice_in_trunks)), ("trunk_groups", len(didww_sim.voice_in_trunk_groups))):
        out = tmp_path / f"{name}.csv"
        call_command("export", name, "-o", str(out), stderr=io.StringIO())
        assert len(list(export_rows(out))) == count


def test_sync_command_exit_code(synced, didww_sim, capsys):
    call_command("sync", synced.name)
    assert "Succeeded" in capsys.readouterr().out
    didww_sim.faults.fail(500, page=1, path="/dids")
    with pytest.raises(SystemExit) as exc:
        call_command("sync", synced.name)
    assert exc.value.code == 1 and "[unavailable]" in capsys.readouterr().err
    with pytest.raises(CommandError):
        call_command("sync", "no-such-account")
