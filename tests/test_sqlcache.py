"""sqlcache: a small queryset's SQL compiled once per key, run with new parameters; the rows are
always read afresh (only SQL is kept), and a key whose parameters are not where it says is never kept."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Q, Value
from django.test.utils import CaptureQueriesContext

from numbersadmin.inventory import selectors, sqlcache
from numbersadmin.inventory.models import ListPreference, ProviderAccount, SavedView

pytestmark = pytest.mark.django_db


def _account(name):
    return ProviderAccount.objects.create(provider="didww", name=name, base_url="https://example.invalid")


def test_kept_sql_reads_fresh_rows_with_new_parameters():
    a, b = _account("A"), _account("B")
    build = lambda name: lambda: ProviderAccount.objects.filter(name=name).only("id", "name")  # noqa: E731
    assert [x.pk for x in sqlcache.rows(ProviderAccount, ("t-by-name",), build("A"), ("A",))] == [a.pk]
    assert ("inventory.ProviderAccount", "default", connection.vendor, "t-by-name") in sqlcache._SQL
    with CaptureQueriesContext(connection) as ctx:
        found = sqlcache.rows(ProviderAccount, ("t-by-name",), build("B"), ("B",))
    assert [x.pk for x in found] == [b.pk] and found[0].name == "B" and len(ctx.captured_queries) == 1
    ProviderAccount.objects.filter(pk=b.pk).update(name="B2")
    assert sqlcache.rows(ProviderAccount, ("t-by-name",), build("B"), ("B",)) == []
    assert [x.name for x in sqlcache.rows(ProviderAccount, ("t-by-name",), build("B2"), ("B2",))] == ["B2"]


def test_parameters_elsewhere_in_the_query_are_never_kept():
    _account("A")
    key = ("t-wrong-tail",)
    # The compiled parameters end with "A", not with what the caller says changes: not kept.
    rows = sqlcache.rows(ProviderAccount, key, lambda: ProviderAccount.objects.filter(name="A"), ("Z",))
    assert [r.name for r in rows] == ["A"]
    assert not any(k[-1] == "t-wrong-tail" for k in sqlcache._SQL)


def test_related_objects_are_refused():
    with pytest.raises(ValueError):
        sqlcache.rows(ListPreference, ("t-related",), lambda: ListPreference.objects.select_related("default_view"))


def test_list_preference_is_the_users_own_for_that_list(django_user_model):
    ann, bob = django_user_model.objects.create(username="ann"), django_user_model.objects.create(username="bob")
    view = SavedView.objects.create(owner=ann, list_name="numbers", name="mine", params="country=US")
    ListPreference.objects.create(user=ann, list_name="numbers", columns=["e164"], default_view=view)
    ListPreference.objects.create(user=bob, list_name="owners", columns=["name"])
    assert selectors.list_preference(ann, "numbers").columns == ["e164"]
    assert selectors.list_preference(ann, "numbers").default_view == view
    assert selectors.list_preference(ann, "owners") is None
    assert selectors.list_preference(bob, "numbers") is None
    assert selectors.list_preference(bob, "owners").columns == ["name"]


def test_list_views_are_own_and_shared_ones_with_their_owners(django_user_model):
    ann, bob = django_user_model.objects.create(username="ann"), django_user_model.objects.create(username="bob")
    mine = SavedView.objects.create(owner=ann, list_name="numbers", name="mine")
    shared = SavedView.objects.create(owner=bob, list_name="numbers", name="bob's", shared=True)
    SavedView.objects.create(owner=bob, list_name="numbers", name="private")
    SavedView.objects.create(owner=ann, list_name="owners", name="other list")
    for user in (ann, bob):
        expected = list(selectors.visible_views(user, "numbers").order_by("list_name", "name", "id"))
        with CaptureQueriesContext(connection) as ctx:
            views = selectors.list_views(user, "numbers")
            names = [(v.name, v.owner.get_username()) for v in views]
        assert views == expected
        assert names == [(v.name, v.owner.get_username()) for v in expected]
        assert len(ctx.captured_queries) == (2 if user == ann else 1)  # ann sees bob's shared view: his name
    assert [v.name for v in selectors.list_views(ann, "numbers")] == ["bob's", "mine"] and mine and shared


def test_a_query_that_can_match_nothing_is_run_not_kept():
    _account("A")
    rows = sqlcache.rows(ProviderAccount, ("t-empty",), lambda: ProviderAccount.objects.filter(pk__in=[]))
    assert rows == [] and not any(k[-1] == "t-empty" for k in sqlcache._SQL)


def test_an_int_never_passes_for_a_true():
    # Compiled (1, True, "A"); declared (1, "A"): the tail (True, "A") equals (1, "A") in Python,
    # but keeping it would run with (1, 1, "A") shifted: enabled=1, interval=True. Never kept.
    a = _account("A")
    build = lambda: ProviderAccount.objects.filter(Q(sync_interval_minutes=1) | Q(enabled=Value(True))).filter(name="A")  # noqa: E731
    assert [r.pk for r in sqlcache.rows(ProviderAccount, ("t-bool",), build, (1, "A"))] == [a.pk]
    assert not any(k[-1] == "t-bool" for k in sqlcache._SQL)


def test_list_views_sql_is_kept_and_right_for_user_one(django_user_model):
    # User pk 1 and the shared=True parameter once made a kept query that showed no shared views.
    one, bob = django_user_model.objects.create(pk=1, username="one"), django_user_model.objects.create(username="bob")
    SavedView.objects.create(owner=one, list_name="numbers", name="one's", shared=True)
    SavedView.objects.create(owner=bob, list_name="numbers", name="bob's", shared=True)
    SavedView.objects.create(owner=bob, list_name="numbers", name="bob private")
    assert [v.name for v in selectors.list_views(one, "numbers")] == ["bob's", "one's"]
    assert ("inventory.SavedView", "default", connection.vendor, "list_views") in sqlcache._SQL
    assert [v.name for v in selectors.list_views(bob, "numbers")] == ["bob private", "bob's", "one's"]
    assert [v.name for v in selectors.list_views(one, "numbers")] == ["bob's", "one's"]


def test_kept_rows_convert_like_the_orm(django_user_model):
    # Read by a plain cursor and Model.from_db: datetimes (aware on SQLite too), JSON and deferred
    # fields come out as the queryset gives them.
    ann = django_user_model.objects.create(username="ann")
    view = SavedView.objects.create(owner=ann, list_name="numbers", name="v", params="q=1", shared=True)
    pref = ListPreference.objects.create(user=ann, list_name="numbers", columns=["e164", "owner"])
    for _ in range(2):  # compiled and kept, then read through the kept SQL
        got = selectors.list_views(ann, "numbers")[0]
        found = selectors.list_preference(ann, "numbers")
    assert (got.pk, got.created_at, got.updated_at, got.params, got.shared) == (
        view.pk, view.created_at, view.updated_at, "q=1", True)
    assert got.created_at.tzinfo is not None and not got._state.adding and got._state.db == "default"
    assert found.columns == ["e164", "owner"] and found.pk == pref.pk
    kept = sqlcache._SQL[("inventory.SavedView", "default", connection.vendor, "list_views")]
    assert kept[2] is not None  # the plain-cursor path, not raw()


def test_only_columns_load_the_rest_deferred():
    a = _account("A")
    build = lambda: ProviderAccount.objects.filter(name="A").only("name")  # noqa: E731
    sqlcache.rows(ProviderAccount, ("t-only",), build, ("A",))
    row = sqlcache.rows(ProviderAccount, ("t-only",), build, ("A",))[0]
    assert row.pk == a.pk and row.name == "A" and row.get_deferred_fields() >= {"provider", "base_url"}
    with CaptureQueriesContext(connection) as ctx:
        assert row.provider == "didww"  # a deferred field loads on access, as with the queryset
    assert len(ctx.captured_queries) == 1
