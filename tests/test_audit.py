"""Audit log page (/audit/): admins only, newest first, filters, paging, safe rendering of details."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from numbersadmin.inventory.models import AuditLog

from .test_search import seed_inventory

pytestmark = pytest.mark.django_db(transaction=True)


def at(year, month, day):
    return timezone.make_aware(dt.datetime(year, month, day, 12, 0))


@pytest.fixture
def entries(admin_user):
    AuditLog.objects.create(user=admin_user, username="alice", action="export", target="numbers", rows=5,
                            detail={"format": "csv", "columns": "view", "filters": ["Country: GB"]}, at=at(2024, 1, 10))
    AuditLog.objects.create(username="bob", action="account.update", target="DIDWW main",
                            detail={"fields": ["name"], "secrets_changed": ["api_key"]}, at=at(2024, 2, 1))
    AuditLog.objects.create(username="cli", action="secrets.rotate", target="all accounts", rows=3, at=at(2024, 3, 5))


def actions(body: str) -> list[str]:
    return re.findall(r'<td data-col="action"><span class="badge">([^<]+)</span>', body)


def targets(body: str) -> list[str]:
    return re.findall(r'<td data-col="target" class="wrap">([^<]+)</td>', body)


def get(client, params=None, **headers):
    response = client.get("/audit/", params or {}, headers=headers)
    assert response.status_code == 200
    return response.content.decode()


def test_ops_users_are_refused(ops_client, entries):
    assert ops_client.get("/audit/").status_code == 403
    assert ops_client.get("/audit/", headers={"HX-Request": "true"}).status_code == 403


def test_login_required(client):
    response = client.get("/audit/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_admin_sees_their_export(admin_client):
    seed_inventory()
    response = admin_client.get("/numbers/", {"export": "csv", "q": "415 555"})
    assert response.status_code == 200
    exported = b"".join(response.streaming_content).decode()
    body = get(admin_client)
    assert actions(body)[0] == "export" and targets(body)[0] == "numbers"
    row = re.search(r"<tr>\s*<td data-col=\"at\">.*?</tr>", body, re.S).group(0)
    assert "alice" in row and "CSV" in row and "415 555" in row and "current view" in row
    rows = int(re.search(r'<td data-col="rows">(\d+)</td>', row).group(1))
    assert rows == 60 and "+14155550159" in exported


def test_newest_first_with_readable_details(admin_client, entries):
    body = get(admin_client)
    assert actions(body) == ["secrets.rotate", "account.update", "export"]
    assert "Country: GB" in body and "Fields changed:</span> name" in body and "Secrets replaced:</span> api_key" in body
    assert "Rows 1–3 of 3" in body


@pytest.mark.parametrize("params, expected", [
    ({"action": "export"}, ["export"]),
    ({"user": "ALI"}, ["export"]),
    ({"target": "didww"}, ["account.update"]),
    ({"date_from": "2024-02-01", "date_to": "2024-02-29"}, ["account.update"]),
    ({"date_from": "2024-02-02"}, ["secrets.rotate"]),
    ({"date_to": "2024-01-10"}, ["export"]),
    ({"action": "export", "user": "bob"}, []),
])
def test_filters(admin_client, entries, params, expected):
    body = get(admin_client, params)
    assert actions(body) == expected
    if not expected:
        assert "No audit entries match these filters." in body


def test_action_choices_come_from_the_log(admin_client, entries):
    body = get(admin_client)
    select = re.search(r'<select[^>]*name="action".*?</select>', body, re.S).group(0)
    assert re.findall(r'<option value="([^"]+)"', select) == ["account.update", "export", "secrets.rotate"]


@pytest.mark.parametrize("params, notice", [
    ({"action": "nope"}, "Ignored filter Action"),
    ({"date_from": "2024-13-40"}, "Ignored filter From"),
    ({"date_to": "yesterday"}, "Ignored filter To"),
    ({"user": "a\x00b"}, "Ignored filter User"),
    ({"page": "abc"}, "There is no page"),
    ({"page": "99"}, "There is no page"),
    ({"page": "-1"}, "There is no page"),
    ({"date_from": "2024-03-01", "date_to": "2024-01-01"}, "is after"),
])
def test_bad_values_give_a_message_not_an_error(admin_client, entries, params, notice):
    body = get(admin_client, params)
    assert notice in body
    if "page" in params or "action" in params:
        assert len(actions(body)) == 3  # the bad value is ignored, everything else still shows


def test_paging_fifty_per_page(admin_client, admin_user):
    now = timezone.now()
    AuditLog.objects.bulk_create([AuditLog(username="alice", action="export", target=f"t{i:03d}",
                                           at=now - dt.timedelta(minutes=i)) for i in range(120)])
    first = get(admin_client)
    assert targets(first) == [f"t{i:03d}" for i in range(50)] and "Rows 1–50 of 120" in first
    assert 'rel="next"' in first
    last = get(admin_client, {"page": 3})
    assert targets(last) == [f"t{i:03d}" for i in range(100, 120)] and 'rel="next"' not in last


def test_details_escaped_and_secret_looking_values_hidden(admin_client, admin_user):
    AuditLog.objects.create(username="alice", action="export", target="<b>numbers</b>", detail={
        "format": "csv", "api_key": "sk-live-SHOULD-NOT-SHOW", "filters": {"q": "<script>alert(1)</script>",
                                                                          "token": "tok-SHOULD-NOT-SHOW"}})
    body = get(admin_client)
    assert "SHOULD-NOT-SHOW" not in body
    assert "<script>alert(1)</script>" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<b>numbers</b>" not in body and "&lt;b&gt;numbers&lt;/b&gt;" in body


def test_htmx_gets_the_results_partial(admin_client, entries):
    body = get(admin_client, {"action": "export"}, **{"HX-Request": "true"})
    assert "<html" not in body and 'id="audit-table"' in body and actions(body) == ["export"]
