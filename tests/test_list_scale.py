"""The numbers list at scale (issue 18): the full page's query count does not grow with the table,
the filter dropdowns still offer every value, and the text search (one id IN (...) per word, one
part per table) finds exactly what the OR across joins found. Timing is tests/perf/bench.py's job."""

from __future__ import annotations

import html
import re

import phonenumbers
import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext

from numbersadmin.inventory.filters import NUMBER_TEXT_FIELDS, number_term_q, parse_search, search_q, words_q
from numbersadmin.inventory.models import Location, NumberGroup, NumberNote, Owner, PhoneNumber, Tag, Trunk, TrunkGroup

from .support.helpers import sync

pytestmark = pytest.mark.django_db(transaction=True)

URLS = ["/numbers/", "/numbers/?country=US&sort=city", "/numbers/?q=hotline&sort=-last_changed&per_page=25",
        "/numbers/?cols=e164,location,trunk_group,did_group,owner,tags,note,pools"]


@pytest.fixture
def synced(didww_account):
    run = sync(didww_account)
    assert run.state == "succeeded", run.error_message
    owner = Owner.objects.create(account=didww_account, external_id="o-1", name="Hotline desk", owner_type="WORKSPACE")
    Tag.objects.create(name="porting").numbers.add(PhoneNumber.objects.first())
    PhoneNumber.objects.filter(pk=PhoneNumber.objects.last().pk).update(owner=owner)
    # More than a page of matches, so the search is counted at every size (a first page holding
    # every match is its own count: one query fewer).
    PhoneNumber.objects.filter(pk__in=PhoneNumber.objects.order_by("pk").values("pk")[:30]).update(description="Hotline")
    return didww_account


def _query_count(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def _grow(account, copies: int) -> None:
    """``copies`` more rows per existing number (same relations), so the table is several times larger."""
    template = list(PhoneNumber.objects.filter(account=account))
    clones = []
    for i in range(copies):
        for n in template:
            n.pk = None
            n.external_id = f"{n.external_id}-copy{i}"
            clones.append(PhoneNumber(**{f.attname: getattr(n, f.attname) for f in PhoneNumber._meta.concrete_fields}))
    PhoneNumber.objects.bulk_create(clones, batch_size=500)


def test_full_numbers_page_query_count_does_not_grow_with_rows(ops_client, synced):
    small = {url: _query_count(ops_client, url) for url in URLS}
    rows = PhoneNumber.objects.count()
    _grow(synced, 5)
    assert PhoneNumber.objects.count() == rows * 6
    assert {url: _query_count(ops_client, url) for url in URLS} == small


def _options(body: str, name: str) -> list[str]:
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', body, re.S)
    assert select, f"no <select name={name}>"
    return [html.unescape(v) for v in re.findall(r'<option value="([^"]*)"', select.group(1))]


def test_filter_dropdowns_offer_every_value(ops_client, synced):
    # A number outside every location: its country is offered too (NumberCount, not locations).
    PhoneNumber.objects.filter(pk=PhoneNumber.objects.order_by("pk")[0].pk).update(country="JP")
    body = ops_client.get("/numbers/").content.decode()
    body += ops_client.get("/numbers/").content.decode()  # the same lists on a second request (no stale cache)
    ids = lambda qs: {str(pk) for pk in qs.values_list("pk", flat=True)}  # noqa: E731
    assert set(_options(body, "account")) == {""} | {str(synced.pk)}
    assert set(_options(body, "trunk")) == {"", "null"} | ids(Trunk.objects.all())
    assert set(_options(body, "trunk_group")) == {"", "null"} | ids(TrunkGroup.objects.all())
    assert set(_options(body, "location")) == {"", "null"} | ids(Location.objects.filter(removed_at__isnull=True))
    assert set(_options(body, "pool")) == {"", "null"} | ids(NumberGroup.objects.filter(group_type="number_pool"))
    assert set(_options(body, "tag")) == {"", "null", "porting"}
    assert set(_options(body, "owner_type")) == {"", "WORKSPACE"}
    locations = Location.objects.all()
    held = {c for c in PhoneNumber.objects.values_list("country", flat=True) if c}
    assert "JP" in _options(body, "country") and "JP" not in {c.upper() for c in locations.values_list("country_code", flat=True)}
    assert set(_options(body, "country")) == ({"", "null"} | held
                                              | {c.upper() for c in locations.values_list("country_code", flat=True) if c})
    assert set(_options(body, "city")) == {"", "null"} | {c for c in locations.values_list("city", flat=True) if c}
    assert set(_options(body, "region")) == {"", "null"} | {r for r in locations.values_list("region", flat=True) if r}
    assert len(_options(body, "trunk")) > 2 and len(_options(body, "location")) > 2  # the fixture has some


def test_country_filter_accepts_a_region_no_number_has(ops_client, synced):
    held = set(PhoneNumber.objects.values_list("country", flat=True))
    absent = next(c for c in sorted(phonenumbers.SUPPORTED_REGIONS) if c not in held)
    body = ops_client.get(f"/numbers/?country={absent}").content.decode()
    assert absent in _options(body, "country")  # offered while asked for: the chip and the select agree
    assert "not one of the available choices" not in body and 'data-pk="' not in body
    assert ops_client.get("/numbers/?country=XX").status_code == 200  # not a region: a message, not a 500


@pytest.mark.parametrize("text", ["hotline", "HOTLINE desk", "porting", "London", "zz-no-match", "ivr", "0", "desk 44"])
def test_search_matches_what_the_join_or_matched(synced, text):
    number = PhoneNumber.objects.filter(owner__isnull=True).order_by("pk")[1]
    NumberNote.objects.create(number=number, text="Ported from the legacy carrier")
    PhoneNumber.objects.filter(pk=number.pk).update(description="Support hotline")
    terms = parse_search(text)
    joined_or = words_q(terms.words, NUMBER_TEXT_FIELDS)  # the rule as it was written before issue 18
    for term in terms.numbers:
        joined_or &= number_term_q(term)
    old = PhoneNumber.objects.filter(joined_or)
    new = PhoneNumber.objects.filter(search_q(text))
    assert set(new.values_list("pk", flat=True)) == set(old.values_list("pk", flat=True))
    if text == "hotline":  # through the owner's name, and a description
        assert {number.pk, PhoneNumber.objects.get(owner__name="Hotline desk").pk} <= set(new.values_list("pk", flat=True))
    assert not PhoneNumber.objects.filter(search_q("hotline zz-no-match")).exists()  # words are ANDed
    assert not PhoneNumber.objects.filter(Q(pk__in=[]) & search_q(text)).exists()


def _single_row_loads(ctx) -> list[str]:
    """Queries Django runs to fetch a deferred field of one row (refresh_from_db)."""
    return [q["sql"] for q in ctx.captured_queries
            if re.search(r'WHERE "inventory_phonenumber"\."id" = \S+ LIMIT 21', q["sql"])]


def _tbody(body: str) -> str:
    return re.search(r"<tbody.*?</tbody>", body, re.S).group(0)


def test_numbers_page_loads_only_what_its_columns_read(ops_client, synced):
    from numbersadmin.inventory import lists
    from numbersadmin.inventory.tables import NUMBER_COLUMNS, unread_fields

    PhoneNumber.objects.filter(pk=PhoneNumber.objects.order_by("pk")[0].pk).update(
        description="Support hotline", is_main_number=True, is_valid=False, application="IVR", extension="12")
    spec = lists.LISTS["numbers"]
    on_screen = [c.name for c in NUMBER_COLUMNS if c.on_screen]
    default = [c for c in NUMBER_COLUMNS if c.on_screen and c.default]
    assert "raw_status" not in unread_fields(PhoneNumber, default) and "description" in unread_fields(PhoneNumber, default)
    urls = [f"/numbers/?cols={name}" for name in on_screen]  # each column alone reads only what it loads
    urls += [f"/numbers/?cols={','.join(on_screen)}&sort={key}" for key in (*spec.sorts, "-e164", "-cost")]
    lean = {}
    for url in urls:
        with CaptureQueriesContext(connection) as ctx:
            lean[url] = _tbody(ops_client.get(url).content.decode())
        assert not _single_row_loads(ctx), (url, _single_row_loads(ctx)[:1])
        assert 'data-pk="' in lean[url], url
    # The same pages with every column loaded: identical HTML.
    reads = spec.page_reads
    object.__setattr__(spec, "page_reads", None)  # a frozen dataclass; put back below
    try:
        for url in urls:
            assert _tbody(ops_client.get(url).content.decode()) == lean[url], url
    finally:
        object.__setattr__(spec, "page_reads", reads)
