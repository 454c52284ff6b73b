"""The reconciliation centre: list, detail, actions (audited), CLI export, dashboard figures, API."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.test import Client

from numbersadmin.inventory.models import AuditLog
from numbersadmin.inventory.services import tokens
from numbersadmin.reconcile.models import Finding, FindingKind, FindingState

from ..support.helpers import export_manifest, export_rows, sync
from ..test_dashboard import figure_links, rows_shown

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def findings(sim_account):
    """A DIDWW account (unrouted DIDs) and a Webex one (inactive unassigned numbers), synced."""
    _, didww = sim_account("didww", "DIDWW", numbers=40, seed=3)
    wx_sim, webex = sim_account("webex", "Webex", numbers=30, seed=3)
    wx_sim.add_number(wx_sim.calling_locations[0]["id"], state="INACTIVE")
    for account in (didww, webex):
        assert sync(account).state == "succeeded"
    assert Finding.objects.filter(kind=FindingKind.DIDWW_UNROUTED).count() >= 2
    assert Finding.objects.filter(kind=FindingKind.WEBEX_INACTIVE_UNASSIGNED).exists()
    return {"didww": didww, "webex": webex}


def one(kind=FindingKind.DIDWW_UNROUTED) -> Finding:
    return Finding.objects.filter(kind=kind).order_by("pk").first()


def test_list_page_filters_and_links_to_details(admin_client, findings):
    page = admin_client.get("/reconcile/")
    assert page.status_code == 200
    body = page.content.decode()
    assert 'id="findings-table"' in body and 'href="/reconcile/"' in body  # the nav entry
    f = one()
    assert f.get_absolute_url() in body
    only = admin_client.get(f"/reconcile/?kind={FindingKind.WEBEX_INACTIVE_UNASSIGNED}").content.decode()
    assert f.get_absolute_url() not in only and "Webex number inactive and unassigned" in only
    by_account = admin_client.get(f"/reconcile/?account={findings['webex'].pk}").content.decode()
    assert f.get_absolute_url() not in by_account
    searched = admin_client.get("/reconcile/", {"q": f.rows[0]["label"].split(" ")[0]}).content.decode()
    assert f.get_absolute_url() in searched


def test_detail_links_the_rows_involved(ops_client, findings):
    f = one()
    body = ops_client.get(f.get_absolute_url()).content.decode()
    assert f'/numbers/{f.rows[0]["id"]}/' in body
    assert 'id="finding-actions"' not in body  # ops read; admins act


def test_acknowledge_ignore_reopen_are_audited(admin_client, findings):
    f = one()
    assert admin_client.post(f"/reconcile/{f.pk}/acknowledge/").status_code == 302
    f.refresh_from_db()
    assert f.state == FindingState.ACKNOWLEDGED and f.state_changed_by == "alice"
    assert admin_client.post(f"/reconcile/{f.pk}/ignore/", {"reason": "porting in progress"}).status_code == 302
    f.refresh_from_db()
    assert f.state == FindingState.IGNORED and f.reason == "porting in progress"
    assert "porting in progress" in admin_client.get(f.get_absolute_url()).content.decode()
    assert admin_client.post(f"/reconcile/{f.pk}/reopen/").status_code == 302
    f.refresh_from_db()
    assert f.state == FindingState.OPEN and f.reason == ""
    log = list(AuditLog.objects.filter(action__startswith="finding.").order_by("pk"))
    assert [a.action for a in log] == ["finding.acknowledge", "finding.ignore", "finding.reopen"]
    assert all(a.username == "alice" and a.target == str(f) for a in log)
    assert log[1].detail["reason"] == "porting in progress"
    # A still-present cause keeps an acknowledged finding acknowledged through the next sync.
    admin_client.post(f"/reconcile/{f.pk}/acknowledge/")
    sync(findings["didww"])
    f.refresh_from_db()
    assert f.state == FindingState.ACKNOWLEDGED


def test_ignore_without_reason_is_a_form_error(admin_client, findings):
    f = one()
    for data in ({}, {"reason": "   "}):
        response = admin_client.post(f"/reconcile/{f.pk}/ignore/", data)
        assert response.status_code == 400
        assert "Say why this finding is ignored." in response.content.decode()
    f.refresh_from_db()
    assert f.state == FindingState.OPEN
    assert not AuditLog.objects.filter(action="finding.ignore").exists()


def test_actions_need_admin_and_post(ops_user, admin_client, findings):
    f = one()
    ops_client = Client()
    ops_client.force_login(ops_user)
    assert ops_client.post(f"/reconcile/{f.pk}/acknowledge/").status_code == 403
    assert admin_client.get(f"/reconcile/{f.pk}/acknowledge/").status_code == 405
    # Not allowed from this state: a message, no change.
    response = admin_client.post(f"/reconcile/{f.pk}/reopen/", follow=True)
    assert "cannot be" in response.content.decode()
    f.refresh_from_db()
    assert f.state == FindingState.OPEN


def test_export_cli_with_kind_filter(findings, tmp_path):
    out = tmp_path / "findings.csv"
    call_command("export", "findings", "--filter", f"kind={FindingKind.DIDWW_UNROUTED}", "-o", str(out),
                 stderr=io.StringIO())
    rows = export_rows(out)
    expected = Finding.objects.filter(kind=FindingKind.DIDWW_UNROUTED)
    assert len(rows) == expected.count() > 0
    assert {r["kind"] for r in rows} == {FindingKind.DIDWW_UNROUTED}
    assert {r["summary"] for r in rows} == set(expected.values_list("summary", flat=True))
    manifest = export_manifest(out.read_text(encoding="utf-8"))
    assert "DIDWW" in str(manifest)
    xlsx = tmp_path / "findings.xlsx"
    call_command("export", "findings", "--format", "xlsx", "--filter", "state=open", "-o", str(xlsx),
                 stderr=io.StringIO())
    assert xlsx.stat().st_size > 0


def test_reconcile_command_recomputes(findings):
    Finding.objects.all().delete()
    out = io.StringIO()
    call_command("reconcile", stdout=out)
    assert Finding.objects.filter(kind=FindingKind.DIDWW_UNROUTED, state=FindingState.OPEN).exists()
    assert "didww_unrouted:" in out.getvalue()


def test_dashboard_open_findings_equal_the_list_counts(admin_client, findings):
    one().delete()  # whatever: the figures follow the table
    f = one(FindingKind.DIDWW_UNROUTED)
    admin_client.post(f"/reconcile/{f.pk}/acknowledge/")  # acknowledged: not open
    body = admin_client.get("/").content.decode()
    section = body[body.index('id="open-findings"'):]
    section = section[:section.index("</section>")]
    links = figure_links(section)
    assert len(links) == len(FindingKind.choices)
    for link in links:
        assert rows_shown(admin_client, link["href"]) == link["count"], link
    by_kind = {link["href"]: link["count"] for link in links}
    unrouted = f"/reconcile/?kind={FindingKind.DIDWW_UNROUTED}&state=open"
    assert by_kind[unrouted] == Finding.objects.filter(kind=FindingKind.DIDWW_UNROUTED, state="open").count() > 0


@pytest.mark.parametrize("query", [
    "kind=nonsense", "state=%3Cscript%3E", "account=abc", "account=999999", "sort=-nope", "page=9999", "page=x",
    "per_page=7", "cols=bogus,kind", "kind__n=zzz&state__n=1", "q=" + "x" * 500, "q=%00%01", "view=123",
])
def test_bad_filter_input_never_500s(admin_client, findings, query):
    response = admin_client.get(f"/reconcile/?{query}")
    assert response.status_code == 200
    assert admin_client.get(f"/reconcile/?{query}&export=csv").status_code == 200  # refused with a notice


def test_api_lists_findings(ops_user, findings):
    _, secret = tokens.create_token(ops_user, "tests", read_only=True)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    response = api.get("/api/v1/findings/", {"kind": FindingKind.DIDWW_UNROUTED})
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["count"] == Finding.objects.filter(kind=FindingKind.DIDWW_UNROUTED).count()
    pk = data["results"][0]["id"]
    detail = api.get(f"/api/v1/findings/{pk}/")
    assert detail.status_code == 200 and detail.json()["fields"]["kind"] == FindingKind.DIDWW_UNROUTED
    assert api.get("/api/v1/findings/", {"kind": "nonsense"}).status_code == 400
