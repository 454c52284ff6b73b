"""The numbers search picks a query form by how many numbers its words match (filters.search_plan):
the OR across the joins when they match many together (the page walks its sort index), the
UNIONs otherwise. Both forms give the same rows; the form only changes speed and the count estimate.

The planner-dependent cases need PostgreSQL: tests/integration/test_search_plan_postgres.py runs
this file there. On SQLite (no planner) every word takes the UNIONs."""

from __future__ import annotations

import re

import pytest
from django.db import connection

from numbersadmin.inventory import filters, planner
from numbersadmin.inventory.filters import NUMBER_TEXT_FIELDS, search_plan, words_q
from numbersadmin.inventory.models import NumberNote, Owner, PhoneNumber, ProviderAccount
from numbersadmin.inventory.pagination import count_rows

pytestmark = pytest.mark.django_db
on_postgres = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="planner estimates: PostgreSQL only")

# 2,000 live numbers: "support" always comes with "line" (in "hotline"), "sales" and "reception"
# are each frequent and never meet, "fax" is rare; one owner name and one note also match.
DESCRIPTIONS = [("Support hotline", 800), ("Sales desk", 500), ("Reception", 500), ("Fax to email", 20), ("", 180)]
LIMIT = 300  # EXACT_COUNT_LIMIT for these tests: "many" is 300 numbers here


@pytest.fixture
def numbers(monkeypatch):
    monkeypatch.setattr(filters, "EXACT_COUNT_LIMIT", LIMIT)
    monkeypatch.setattr("numbersadmin.inventory.pagination.EXACT_COUNT_LIMIT", LIMIT)
    account = ProviderAccount.objects.create(provider="didww", name="acct", base_url="https://api.didww.com/v3")
    owner = Owner.objects.create(account=account, external_id="o1", name="Sales line desk")
    rows, i = [], 0
    for text, n in DESCRIPTIONS:
        for _ in range(n):
            rows.append(PhoneNumber(account=account, provider="didww", external_id=f"x{i}", number_raw=f"+1415{i:07}",
                                    e164=f"+1415{i:07}", digits=f"1415{i:07}", country="US", description=text,
                                    owner=owner if i == 1999 else None))
            i += 1
    PhoneNumber.objects.bulk_create(rows)
    NumberNote.objects.create(number=PhoneNumber.objects.get(external_id="x1998"), text="reception overflow, sales")
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("ANALYZE")
    return account


def _pks(q):
    return set(PhoneNumber.objects.filter(q).values_list("pk", flat=True))


def _uses_union(q) -> bool:
    return "UNION" in str(PhoneNumber.objects.filter(q).query)


@pytest.mark.parametrize("text", ["support line", "sales reception", "support", "fax", "line support hotline",
                                  "sales desk", "reception sales", "zz-none support"])
def test_either_form_gives_the_rows_of_the_or(numbers, text):
    words = tuple(text.split())
    assert _pks(search_plan(text).q) == _pks(words_q(words, NUMBER_TEXT_FIELDS))
    assert bool(_pks(search_plan(text).q)) == (text != "zz-none support")


def test_words_that_never_meet_find_only_the_rows_holding_both(numbers):
    # The owner's name and the note are the only places "sales" meets "reception" / "line".
    assert {p.external_id for p in PhoneNumber.objects.filter(search_plan("sales reception").q)} == {"x1998"}
    assert "x1999" in {p.external_id for p in PhoneNumber.objects.filter(search_plan("sales line").q)}


def test_sqlite_has_no_planner_so_words_take_the_unions(numbers):
    if connection.vendor == "postgresql":
        pytest.skip("SQLite only")
    for text in ("support", "support line", "sales reception"):
        plan = search_plan(text)
        assert _uses_union(plan.q) and plan.estimate_factor is None


@on_postgres
def test_words_that_come_together_walk_the_index(numbers):
    plan = search_plan("support line")
    assert not _uses_union(plan.q)
    # The planner multiplies the two words' frequencies; the probe saw "line" in every "support" row.
    assert plan.estimate_factor and plan.estimate_factor > 1.5


@on_postgres
def test_frequent_words_that_never_meet_intersect_their_id_sets(numbers):
    plan = search_plan("sales reception")
    assert "INTERSECT" in str(PhoneNumber.objects.filter(plan.q).query)
    # The UNIONs' estimate treats the words as independent (hundreds here); the probe saw none meet.
    assert plan.estimate_factor is not None and plan.estimate_factor < 0.1
    qs = filters.NumberFilterSet({"q": "sales reception"}, queryset=PhoneNumber.objects.all()).qs
    assert planner.estimate_rows(qs) < 20


@on_postgres
def test_a_corrected_estimate_never_reads_as_nothing(numbers):
    qs = planner.correct_estimate(PhoneNumber.objects.filter(description="Fax to email"), 1e-9)
    assert planner.estimate_rows(qs) == 1  # 0 would mean "Django knows it matches nothing"


@on_postgres
def test_one_frequent_word_walks_the_index_and_a_rare_one_takes_the_unions(numbers):
    assert not _uses_union(search_plan("support").q)
    assert search_plan("support").estimate_factor is None  # one word: the planner's own estimate holds
    assert _uses_union(search_plan("fax").q)
    assert _uses_union(search_plan("support fax").q)  # the rarest word decides


@on_postgres
def test_number_terms_keep_the_unions(numbers):
    assert _uses_union(search_plan("support line 1415").q)


@on_postgres
def test_the_list_count_estimate_is_corrected_by_the_probe(numbers):
    true = PhoneNumber.objects.filter(words_q(("support", "line"), NUMBER_TEXT_FIELDS)).count()
    qs = filters.NumberFilterSet({"q": "support line"}, queryset=PhoneNumber.objects.all()).qs
    count, estimated = count_rows(qs)
    assert estimated and abs(count - true) <= true * 0.3, (count, true)
    uncorrected = planner.estimate_rows(PhoneNumber.objects.filter(words_q(("support", "line"), NUMBER_TEXT_FIELDS),
                                                                   removed_at__isnull=True))
    assert abs(uncorrected - true) > abs(count - true)  # the correction is what brought it close


@on_postgres
def test_the_page_shows_the_same_rows_and_an_estimate(numbers, ops_client):
    body = ops_client.get("/numbers/", {"q": "support line", "sort": "-e164", "per_page": 25}).content.decode()
    shown = re.findall(r'class="num">([^<]+)</a>', body)
    expected = list(PhoneNumber.objects.filter(description="Support hotline").order_by("-e164")
                    .values_list("e164", flat=True)[:len(shown)])
    assert shown and shown == expected
    assert "≈" in body


def test_words_that_meet_once_show_that_one_row_and_an_exact_count(numbers, ops_client):
    body = ops_client.get("/numbers/", {"q": "sales reception"}).content.decode()
    assert re.findall(r'class="num">([^<]+)</a>', body) == [PhoneNumber.objects.get(external_id="x1998").e164]
    assert "Rows 1–1 of 1" in body and "≈" not in body
