"""The benchmark's admin peers sort by the column ours sorts by (default suite: no database
size, no timing). The admin's ``o=`` is an index into list_display; bench.admin_sort looks it up."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench  # noqa: E402

SQL_COLUMN = {"city": '"inventory_phonenumber"."city"', "country": '"inventory_phonenumber"."country"',
              "kind": '"inventory_phonenumber"."kind"', "trunk": '"inventory_trunk"."name"',
              "account": '"inventory_provideraccount"."name"'}


@pytest.mark.django_db
@pytest.mark.parametrize("ours,filters,column", [p for p in bench.FILTER_SORT_PAIRS if p[2]])
def test_admin_peer_sorts_by_our_column(client, django_user_model, ours, filters, column):
    client.force_login(django_user_model.objects.create_superuser("peer", "peer@example.com", "x" * 20))
    url = "/django-admin/inventory/phonenumber/?" + "&".join(p for p in (filters, bench.admin_sort(column)) if p)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    page = [q["sql"] for q in ctx.captured_queries if "ORDER BY" in q["sql"] and '"inventory_phonenumber"."e164"' in q["sql"]]
    assert page, [q["sql"][:200] for q in ctx.captured_queries]
    page = page[0]
    order = page[page.rindex("ORDER BY"):]
    want = SQL_COLUMN[column.lstrip("-")] + (" DESC" if column.startswith("-") else " ASC")
    assert order.startswith("ORDER BY " + want), (url, order)
    assert f"sort={column}" in ours  # the same column and direction on our side
