"""Every sort key of every keyset list, both directions: paging forward with small pages returns
each row exactly once, in the order a Python sort with empty values (NULL, blank text) last gives;
previous links return the page before; tampered cursors are a message or a 400, never a 500."""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
import re
from decimal import Decimal

import pytest
from django.core.exceptions import ObjectDoesNotExist
from django.test import Client

from numbersadmin.inventory import lists as lists_module
from numbersadmin.inventory.lists import LISTS
from numbersadmin.inventory.models import (Location, NumberGroup, NumberNote, Owner, PhoneNumber, ProviderAccount, Trunk,
                                           TrunkGroup)
from numbersadmin.inventory.pagination import MAX_TEXT_KEY, SortKey, keyset_page
from numbersadmin.inventory.services import tokens

pytestmark = pytest.mark.django_db
KEYSET_LISTS = [name for name, spec in LISTS.items() if spec.keyset]
NOW = dt.datetime(2026, 6, 1, 12, tzinfo=dt.timezone.utc)


@pytest.fixture
def inventory():
    """Two accounts (one never synced) and objects with ties, NULLs and blanks in every column."""
    a = ProviderAccount.objects.create(provider="didww", name="beta", base_url="https://api.didww.com/v3",
                                       last_success_at=NOW)
    b = ProviderAccount.objects.create(provider="plivo", name="alpha", base_url="https://api.plivo.com/v1")
    loc = [Location.objects.create(account=acc, external_id=f"l{i}", name=name, kind=kind, country_code=cc,
                                   region=region, city=city, main_number=main)
           for i, (acc, name, kind, cc, region, city, main) in enumerate([
               (a, "riga", "city", "LV", "", "riga", "+37167000000"), (a, "berlin", "site", "", "be", "", ""),
               (b, "austin", "city", "US", "tx", "austin", ""), (b, "berlin", "city", "DE", "be", "berlin", "")])]
    tg = [TrunkGroup.objects.create(account=acc, external_id=f"g{i}", name=name, capacity_limit=cap)
          for i, (acc, name, cap) in enumerate([(a, "main", 10), (a, "backup", None), (b, "main", 10)])]
    tr = [Trunk.objects.create(account=acc, external_id=f"t{i}", name=name, kind=kind, trunk_group=group,
                               removed_at=removed)
          for i, (acc, name, kind, group, removed) in enumerate([
              (a, "sbc1", "sip", tg[0], None), (a, "sbc2", "", None, NOW), (b, "sbc1", "sip", tg[2], None),
              (b, "pbx", "pstn", tg[0], NOW - dt.timedelta(days=1))])]
    ow = [Owner.objects.create(account=acc, external_id=f"o{i}", name=name, owner_type=kind, location=where)
          for i, (acc, name, kind, where) in enumerate([
              (a, "zoe", "user", loc[0]), (a, "adam", "", None), (b, "adam", "place", loc[2]), (b, "mia", "user", None)])]
    ng = [NumberGroup.objects.create(account=acc, external_id=f"n{i}", name=name, prefix=prefix, group_type=kind,
                                     location=where)
          for i, (acc, name, prefix, kind, where) in enumerate([
              (a, "london", "4420", "Local", loc[1]), (a, "pool", "", "", None), (b, "london", "4420", "", None)])]
    for i in range(14):
        n = PhoneNumber.objects.create(
            account=(a, b)[i % 2], provider=("didww", "plivo")[i % 2], external_id=f"x{i}", number_raw=f"+1415555{i:04}",
            e164=f"+1415555{i % 5:04}", country=("US", "GB", "")[i % 3], region=("ca", "", "ny")[i % 3],
            city=("sf", "", "sf", "nyc")[i % 4], kind=("local", "mobile")[i % 2], status=("active", "pending")[i % 3 == 0],
            description=("", "fax", "main line")[i % 3],
            monthly_cost=(None, Decimal("1.5000"), Decimal("12.0000"))[i % 3],
            expires_at=None if i % 3 == 0 else NOW + dt.timedelta(days=i % 4),
            acquired_at=None if i % 2 else NOW - dt.timedelta(days=i % 3),
            first_seen=NOW - dt.timedelta(days=i % 2), last_changed_at=NOW - dt.timedelta(hours=i % 3),
            owner=(None, *ow)[i % 5], trunk=(None, *tr)[i % 5], trunk_group=(None, *tg)[i % 4],
            location=(None, *loc)[i % 5], number_group=(None, *ng)[i % 4], application=("", "ivr", "queue")[i % 3],
            extension=("", "100", "20")[i % 3])
        if i % 4 == 1:
            NumberNote.objects.create(number=n, text=("x" * 300 + str(i)) if i == 5 else f"note {i % 3}")
        if i % 3 == 1:
            n.pools.add(ng[1])
    # A related object whose name is empty sorts with the numbers that have none.
    PhoneNumber.objects.filter(external_id="x13").update(
        owner=Owner.objects.create(account=b, external_id="o-blank", name="", owner_type="user"))


def _value(row, field):
    """What the database sorts on, computed in Python: None for empty."""
    if isinstance(field, SortKey):
        value = row
        for part in field.path.split("__"):
            try:
                value = getattr(value, part) if value is not None else None
            except ObjectDoesNotExist:  # no note
                value = None
        if field.text:
            value = (value or "")[:MAX_TEXT_KEY] or None
        return value
    return getattr(row, field)


def expected_ids(spec, field, descending: bool) -> list[int]:
    rows = list(spec.filterset({}).qs)
    values = [(_value(r, field), r.pk) for r in rows]
    present = sorted((v for v in values if v[0] is not None), reverse=descending)
    empty = sorted((v for v in values if v[0] is None), reverse=descending)
    return [pk for _, pk in present + empty]


CASES = [(name, key, desc) for name in KEYSET_LISTS for key in LISTS[name].sorts for desc in (False, True)]


@pytest.fixture
def api(ops_user):
    _, secret = tokens.create_token(ops_user, "tests", read_only=True)
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def test_every_on_screen_column_with_one_value_sorts():
    unsortable = {(name, c.name) for name, spec in LISTS.items() for c in spec.columns if c.on_screen and not c.sortable}
    assert unsortable == {("numbers", "capabilities"), ("numbers", "tags"), ("numbers", "pools"), ("groups", "services")}


@pytest.mark.parametrize("list_name, key, descending", CASES)
def test_api_pages_every_sort_both_ways(inventory, api, list_name, key, descending):
    spec = LISTS[list_name]
    want = expected_ids(spec, spec.sorts[key], descending)
    assert len(want) >= 3
    url = f"/api/v1/{list_name.replace('_', '-')}/?sort={'-' if descending else ''}{key}&limit=2&fields=name" \
          if list_name != "numbers" else f"/api/v1/numbers/?sort={'-' if descending else ''}{key}&limit=2&fields=e164"
    pages = []
    while url:
        response = api.get(url)
        assert response.status_code == 200, response.content[:300]
        pages.append(response.json())
        url = pages[-1]["next"]
        assert len(pages) < 50
    got = [r["id"] for p in pages for r in p["results"]]
    assert got == want, (list_name, key, descending)
    for before, page in zip(pages, pages[1:]):  # "previous" gives the page before, across NULLs too
        assert api.get(page["previous"]).json()["results"] == before["results"]


@pytest.mark.parametrize("list_name, key, descending", CASES)
def test_keyset_page_backwards_and_last_page(inventory, list_name, key, descending):
    spec = LISTS[list_name]
    field, qs = spec.sorts[key], spec.filterset({}).qs
    want = expected_ids(spec, field, descending)
    last = keyset_page(qs, field=field, descending=descending, cursor=None, per_page=3, last=True)
    got = [r.pk for r in last.rows]
    cursor = last.prev_cursor
    while cursor:
        page = keyset_page(qs, field=field, descending=descending, cursor=cursor, per_page=3)
        got = [r.pk for r in page.rows] + got
        cursor = page.prev_cursor
    assert got == want


def _web_pages(client, url):
    ids, pages = [], []
    while url:
        body = client.get(url).content.decode()
        assert "page link is not valid" not in body
        rows = [int(pk) for pk in re.findall(r'<tr data-pk="(\d+)"', body)]
        pages.append((url, rows))
        ids += rows
        nxt = re.search(r'<a href="([^"]+)"[^>]*rel="next"', body)
        url = "/numbers/" + html.unescape(nxt.group(1)) if nxt else None
        prev = re.search(r'<a href="([^"]+)"[^>]*rel="prev"', body)
        if prev:
            before = client.get("/numbers/" + html.unescape(prev.group(1))).content.decode()
            assert [int(pk) for pk in re.findall(r'<tr data-pk="(\d+)"', before)] == pages[-2][1]
        assert len(pages) < 50
    return ids


@pytest.mark.parametrize("sort", ["renews", "-renews", "owner", "-cost", "note", "-freshness"])
def test_web_pages_numbers_with_empty_values_last(inventory, ops_client, monkeypatch, sort):
    monkeypatch.setattr(lists_module, "PER_PAGE_CHOICES", (2, 25, 50, 100))
    spec = LISTS["numbers"]
    want = expected_ids(spec, spec.sorts[sort.lstrip("-")], sort.startswith("-"))
    assert _web_pages(ops_client, f"/numbers/?sort={sort}&per_page=2") == want


def test_renews_sorts_with_blank_dates_last_and_a_header_link(inventory, ops_client):
    for sort, dates in (("renews", sorted), ("-renews", lambda d: sorted(d, reverse=True))):
        body = ops_client.get(f"/numbers/?sort={sort}&per_page=100").content.decode()
        assert "Unknown sort" not in body and 'data-sort="renews"' in body
        ids = [int(pk) for pk in re.findall(r'<tr data-pk="(\d+)"', body)]
        values = [PhoneNumber.objects.get(pk=pk).expires_at for pk in ids]
        present = [v for v in values if v is not None]
        assert present == dates(present) and values == present + [None] * (len(values) - len(present))


def _token(payload: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize("sort, value", [
    ("e164", None), ("-first_seen", None),  # null on a non-null sort
    ("renews", "soon"), ("cost", {"n": "NaN"}), ("cost", {"n": "1e999999"}), ("cost", {"n": "abc"}),
    ("cost", {"n": 5}), ("owner", 7), ("renews", {"d": "2026-01-01"}),
])
def test_tampered_cursors_are_a_message_or_a_400(inventory, ops_client, api, sort, value):
    token = _token({"v": value, "i": 1, "d": "n", "p": 1})
    response = ops_client.get(f"/numbers/?sort={sort}&cursor={token}")
    assert response.status_code == 200 and "page link is not valid" in response.content.decode()
    response = api.get(f"/api/v1/numbers/?sort={sort}&cursor={token}")
    assert response.status_code == 400 and "cursor" in response.json()


def test_null_cursor_on_a_nullable_sort_is_accepted(inventory, api):
    token = _token({"v": None, "i": 0, "d": "n", "p": 0})
    response = api.get(f"/api/v1/numbers/?sort=renews&cursor={token}&limit=100")
    assert response.status_code == 200
    ids = [r["id"] for r in response.json()["results"]]
    assert ids == sorted(PhoneNumber.objects.filter(expires_at=None).values_list("pk", flat=True))


def test_exports_follow_the_same_order(inventory, ops_client):
    from .support.helpers import export_rows

    spec = LISTS["numbers"]
    want = [PhoneNumber.objects.get(pk=pk).number_raw for pk in expected_ids(spec, spec.sorts["renews"], True)]
    rows = export_rows(b"".join(ops_client.get("/numbers/?sort=-renews&export=csv&columns=all").streaming_content)
                       .decode())
    assert [r["number_raw"] for r in rows] == want


RELATION_SORTS = [(key, desc) for key, field in LISTS["numbers"].sorts.items()
                  if isinstance(field, SortKey) and "__" in field.path and field.expression is None
                  and key != "note" for desc in (False, True)]


@pytest.mark.parametrize("params", [{}, {"country": "US"}, {"account": "beta"}, {"country": "GB", "kind": "mobile"}])
@pytest.mark.parametrize("key, descending", RELATION_SORTS)
def test_relation_sorts_read_groups_in_key_order(inventory, monkeypatch, key, descending, params):
    """Sorts through a relation read the related table in key order (pagination._relation_rows),
    never the general query, and give the general query's rows, page after page, filtered too."""
    from numbersadmin.inventory import pagination

    spec = LISTS["numbers"]
    if "account" in params:
        params = {"account": str(ProviderAccount.objects.get(name=params["account"]).pk)}
    field, qs = spec.sorts[key], spec.filterset(params).qs
    want = list(pagination.order_by_sort(qs, field, descending).values_list("pk", flat=True))

    def general(*args, **kwargs):
        raise AssertionError("the general query ran")

    monkeypatch.setattr(pagination, "_first_rows", general)
    got, cursor = [], None
    for _ in range(20):
        page = keyset_page(qs, field=field, descending=descending, cursor=cursor, per_page=2)
        got += [r.pk for r in page.rows]
        cursor = page.next_cursor
        if not cursor:
            break
    assert got == want and want, (key, descending, params)


def test_relation_sort_gives_up_on_many_empty_groups(inventory, monkeypatch):
    from numbersadmin.inventory import pagination

    spec = LISTS["numbers"]
    field, qs = spec.sorts["owner"], spec.filterset({"country": "GB"}).qs
    want = list(pagination.order_by_sort(qs, field, False).values_list("pk", flat=True))
    monkeypatch.setattr(pagination, "RELATION_GROUPS_MAX", 0)  # after the first group: the general query
    calls = []
    first_rows = pagination._first_rows
    monkeypatch.setattr(pagination, "_first_rows", lambda *a: calls.append(1) or first_rows(*a))
    got, cursor = [], None
    while True:
        page = keyset_page(qs, field=field, descending=False, cursor=cursor, per_page=2)
        got += [r.pk for r in page.rows]
        cursor = page.next_cursor
        if not cursor:
            break
    assert got == want and calls


def test_a_first_page_holding_every_row_is_its_own_exact_count(inventory, monkeypatch):
    """No count query when the first page is not full: its rows are the count (a search that
    finds a handful of numbers would otherwise be counted again, or shown as a planner's "≈")."""
    from numbersadmin.inventory import pagination

    def no_count(qs):
        raise AssertionError("counted")

    qs = LISTS["numbers"].filterset({}).qs
    total = qs.count()
    monkeypatch.setattr(pagination, "count_rows", no_count)
    page = keyset_page(qs, field="e164", descending=False, cursor=None, per_page=total + 1)
    assert (page.count, page.count_is_estimate, len(page.rows)) == (total, False, total)
    with pytest.raises(AssertionError, match="counted"):  # a full first page may hold more: counted
        keyset_page(qs, field="e164", descending=False, cursor=None, per_page=total - 1)
    with pytest.raises(AssertionError, match="counted"):  # the last page needs the count for its position
        keyset_page(qs, field="e164", descending=False, cursor=None, per_page=total + 1, last=True)
