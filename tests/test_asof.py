"""The numbers list "as of" a past moment and the diff between two moments agree with what the
syncs recorded at the time: snapshots taken right after each sync are replayed from history."""

from __future__ import annotations

import csv
import io
import random
import tempfile
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from numbersadmin.inventory import asof
from numbersadmin.inventory.models import PhoneNumber, Trunk
from numbersadmin.inventory.models import TRACKED_FIELDS

from .support.helpers import sync

pytestmark = pytest.mark.django_db(transaction=True)

REPLAYED = (*TRACKED_FIELDS, "removed_at", "missing_since", "first_seen")
# Export columns history cannot rebuild: times of the last listing and change, freshness, and local
# notes and tags (not provider history).
NOT_REPLAYED = {"last_seen", "last_changed_at", "account_last_sync", "note", "tags"}


def table() -> dict[int, dict]:
    return {row["id"]: row for row in PhoneNumber.objects.values("id", *REPLAYED)}


def rebuilt(moment, sort_column=None) -> dict[int, dict]:
    qs = asof.rebase(PhoneNumber.objects.all(), moment)
    if sort_column:  # the two halves a keyset page reads are the whole table between them
        a, b = asof.split(qs, sort_column)
        rows = list(a.values("id", *REPLAYED)) + list(b.values("id", *REPLAYED))
        assert len(rows) == len({r["id"] for r in rows})
        return {row["id"]: row for row in rows}
    return {row["id"]: row for row in qs.values("id", *REPLAYED)}


def export(*args) -> list[list[str]]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "numbers.csv"
        call_command("export", "numbers", "--filter", "removed=all", "--sort=e164", "--no-manifest", *args,
                     "-o", str(path), stderr=io.StringIO())
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    keep = [i for i, h in enumerate(rows[0]) if h not in NOT_REPLAYED]
    return [[r[i] for i in keep] for r in rows]


@pytest.fixture
def history(didww_sim, didww_account):
    """Four syncs with changes between them: moved trunks, suspended, re-described, removed,
    added, and a removed DID listed again. Returns [(moment, table, export rows)] after each."""
    rnd = random.Random(7)
    states = [(timezone.now(), {}, None)]  # before the first sync: nothing

    def record():
        assert sync(didww_account).state == "succeeded"
        states.append((timezone.now(), table(), export()))

    record()
    dids = list(PhoneNumber.objects.order_by("pk").values_list("external_id", flat=True))
    trunks = list(Trunk.objects.values_list("external_id", flat=True))
    for step in range(3):
        for did in rnd.sample(dids, 20):
            try:
                didww_sim.update_did(did, voice_in_trunk_id=rnd.choice(trunks), blocked=rnd.random() < 0.3,
                                     description=f"step {step} {rnd.randint(0, 99)}")
            except KeyError:
                pass  # removed in an earlier step
        if step == 0:
            gone = [didww_sim.remove_did(did) for did in dids[:4]]
        if step == 1:
            didww_sim.restore_did(gone[0])
            didww_sim.add_dids(3)
        record()
    return states


def test_rebuilt_table_equals_each_recorded_sync(history):
    for moment, recorded, _ in history:
        assert rebuilt(moment) == recorded
    # Split on a sort column (PostgreSQL), the rows are the same.
    for column in ("e164", "status", "trunk_id", "description"):
        assert rebuilt(history[2][0], column) == history[2][1]


def test_history_covers_what_the_test_changed(history):
    # The replay is only worth something if the syncs changed things: statuses, trunks, removal.
    _, (_, a, _), (_, b, _), (_, c, _), (_, d, _) = history
    assert any(a[k]["trunk_id"] != b[k]["trunk_id"] for k in a)
    assert any(a[k]["status"] != b[k]["status"] and b[k]["status"] != "removed" for k in a)
    assert sum(1 for k in b if b[k]["removed_at"]) == 4
    assert sum(1 for k in c if c[k]["removed_at"]) == 3  # one listed again
    assert len(c) == len(a) + 3


def test_export_as_of_matches_the_export_taken_then(history):
    for moment, _, exported in history[1:]:
        assert export("--as-of", moment.isoformat()) == exported


def test_list_page_as_of_filters_and_sorts_the_rebuilt_rows(history, admin_client):
    moment, recorded, _ = history[2]
    removed = sorted(r["e164"] for r in recorded.values() if r["removed_at"])
    page = admin_client.get("/numbers/", {"as_of": moment.isoformat(), "removed": "only", "sort": "e164"})
    body = page.content.decode()
    assert page.status_code == 200
    assert [e for e in removed if e in body] == removed
    assert "As of" in body
    suspended = {r["e164"] for r in recorded.values() if r["status"] == "suspended"}
    now_suspended = set(PhoneNumber.objects.filter(status="suspended").values_list("e164", flat=True))
    assert suspended != now_suspended  # otherwise this test shows nothing
    page = admin_client.get("/numbers/", {"as_of": moment.isoformat(), "status": "suspended", "per_page": 100})
    body = page.content.decode()
    assert all(e in body for e in suspended)
    assert not any(e in body for e in now_suspended - suspended)


def test_bad_as_of_is_a_message_not_an_error(admin_client):
    page = admin_client.get("/numbers/", {"as_of": "yesterday-ish"})
    assert page.status_code == 200
    assert "Enter a date" in page.content.decode()


def expected_diff(before: dict, after: dict) -> set[tuple]:
    """The differences between two recorded tables, by the diff's rules."""
    from numbersadmin.inventory.history import field_label

    out = set()
    for pk, a in after.items():
        b = before.get(pk)
        if b is None:
            out.add((pk, "added", ""))
            continue
        events = (b["status"] == "removed") != (a["status"] == "removed")
        if events:
            out.add((pk, "removed" if a["status"] == "removed" else "restored", ""))
        out |= {(pk, "changed", field_label(f)) for f in TRACKED_FIELDS
                if b[f] != a[f] and not (f == "status" and events)}
    return out


def test_diff_between_recorded_syncs_matches_the_tables_then(history):
    from numbersadmin.inventory import diff

    moments = [m for m, _, _ in history]
    tables = [t for _, t, _ in history]
    for i, j in ((0, 1), (1, 2), (2, 3), (3, 4), (1, 4), (0, 4)):
        got = {(r.number_id, r.change, r.field) for r in diff.diff(moments[i], moments[j])}
        assert got == expected_diff(tables[i], tables[j]), (i, j)
    kinds = {c for _, c, _ in expected_diff(tables[1], tables[4])}
    assert kinds == {"added", "removed", "changed"}  # restored: within 2 -> 3
    assert "restored" in {c for _, c, _ in expected_diff(tables[2], tables[3])}


def test_diff_page_reads_names_and_exports_every_row(history, admin_client):
    moment_a, table_a, _ = history[1]
    moment_b, table_b, _ = history[3]
    expected = expected_diff(table_a, table_b)
    page = admin_client.get("/numbers/diff/", {"from": moment_a.isoformat(), "to": moment_b.isoformat()})
    body = page.content.decode()
    assert page.status_code == 200
    assert body.count('<tr data-change="') == len(expected)
    moved = next(pk for pk in table_b if pk in table_a and table_a[pk]["trunk_id"] != table_b[pk]["trunk_id"])
    new_trunk = Trunk.objects.get(pk=table_b[moved]["trunk_id"]).name
    assert new_trunk in body and "trunk_id" not in body
    response = admin_client.get("/numbers/diff/", {"from": moment_a.isoformat(), "to": moment_b.isoformat(),
                                                    "export": "csv"})
    text = b"".join(response.streaming_content).decode()
    data = [r for r in csv.reader(io.StringIO(text)) if r and not r[0].startswith("#")]
    assert data[0] == ["e164", "provider", "account", "change", "field", "before", "after"]
    assert len(data) - 1 == len(expected)
    # The list filters narrow the diff: one account's numbers only (the only account: all of them).
    narrowed = admin_client.get("/numbers/diff/", {"from": moment_a.isoformat(), "to": moment_b.isoformat(),
                                                   "status": "suspended"}).content.decode()
    assert narrowed.count('<tr data-change="') < len(expected)


def test_diff_cli_writes_the_same_rows(history, tmp_path):
    moment_a, table_a, _ = history[1]
    moment_b, table_b, _ = history[3]
    out = tmp_path / "diff.csv"
    call_command("export", "numbers", "--diff-from", moment_a.isoformat(), "--as-of", moment_b.isoformat(),
                 "-o", str(out), stderr=io.StringIO())
    lines = out.read_text(encoding="utf-8").splitlines()
    assert any(line.startswith("# export: numbersadmin Numbers changed from") for line in lines)
    data = [r for r in csv.reader(lines) if r and not r[0].startswith("#")]
    assert len(data) - 1 == len(expected_diff(table_a, table_b))


@pytest.mark.parametrize("params, message", [
    ({"from": "last tuesday"}, "Enter a date"),
    ({"from": "2026-03-02", "to": "2026-03-01"}, "must be before"),
    ({"from": "1999-01-01"}, "after 2000"),
])
def test_bad_diff_input_is_a_message(admin_client, params, message):
    page = admin_client.get("/numbers/diff/", params)
    assert page.status_code == 200 and message in page.content.decode()


def test_api_and_cost_total_read_the_rebuilt_table(history, admin_user, admin_client):
    from rest_framework.test import APIClient

    moment, recorded, _ = history[2]
    api = APIClient()
    api.force_authenticate(admin_user)
    rows, url = [], f"/api/v1/numbers/?as_of={moment.isoformat()}&removed=all&limit=100"
    while url:
        page = api.get(url).json()
        rows += page["results"]
        url = page.get("next")
    assert {r["id"]: r["status"] for r in rows} == {pk: r["status"] for pk, r in recorded.items()}
    cost = admin_client.get("/numbers/cost/", {"as_of": moment.isoformat()})
    assert cost.status_code == 200


@pytest.mark.parametrize("sort", ["status", "-status", "e164", "-kind", "trunk", "-renews"])
def test_keyset_pages_of_the_rebuilt_table_walk_every_row_in_order(history, sort):
    """Page by page, forwards then back, an as-of list in a sort whose column changed after T
    gives every row once, in the order of the recorded table (the halves and their merge)."""
    from django.http import QueryDict

    from numbersadmin.inventory import selectors
    from numbersadmin.inventory.pagination import keyset_page

    moment, recorded, _ = history[2]
    params = QueryDict(mutable=True)
    params.update({"as_of": moment.isoformat(), "removed": "all", "sort": sort})
    parsed, _ = selectors.parse_sort(sort, selectors.NUMBER_SORTS, selectors.DEFAULT_NUMBER_SORT)
    qs = selectors.number_list(params).qs

    def walk(backwards=False):
        pages, cursor = [], None
        while True:
            page = keyset_page(qs, field=parsed.field, descending=parsed.descending, cursor=cursor, per_page=25,
                               last=backwards and cursor is None)
            pages.append([r.pk for r in page.rows])
            cursor = page.prev_cursor if backwards else page.next_cursor
            if not cursor:
                return pages

    forward = [pk for rows in walk() for pk in rows]
    assert sorted(forward) == sorted(recorded)  # every row once
    column = {"status": "status", "e164": "e164", "kind": "kind", "trunk": "trunk_id", "renews": "expires_at"}[
        sort.lstrip("-")]
    if column in ("status", "e164", "kind"):  # plain columns: the order is the recorded values' order
        key = [(recorded[pk][column], pk) for pk in forward]
        assert key == sorted(key, reverse=sort.startswith("-"))
    backward = walk(backwards=True)
    assert [pk for rows in reversed(backward) for pk in rows] == forward
