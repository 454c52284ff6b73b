"""Global search (/search/): any number format, owners, locations, trunks, caller IDs; every group's
count is the row count of the list page it links to."""

from __future__ import annotations

import html
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from numbersadmin.inventory.services import ingest
from numbersadmin.inventory.services.accounts import account_create
from providers.base import CallerIdRecord, Inventory, LocationRecord, NumberRecord, OwnerRecord, TrunkRecord

pytestmark = pytest.mark.django_db(transaction=True)

# 60 numbers +1415555 0100..0159 (more than one list page), plus a few in London.
SF_NUMBERS = [f"+1415555{n:04d}" for n in range(100, 160)]


def seed_inventory():
    account = account_create(provider="didww", name="Search org", base_url="http://127.0.0.1:9/v3",
                             secrets={"api_key": "k-12345"})
    numbers = [NumberRecord(f"sf{i}", e164, e164, "US", "local", location_id="L1",
                            owner_id="P1" if i < 2 else ("P2" if i == 2 else None),
                            trunk_id="T1" if i == 0 else None,
                            description="Reception line" if i == 0 else "")
               for i, e164 in enumerate(SF_NUMBERS)]
    numbers += [
        NumberRecord("ld1", "+442071234567", "+442071234567", "GB", "local", location_id="L2", trunk_id="T2"),
        NumberRecord("ld2", "+442079460000", "+442079460000", "GB", "local", location_id="L2",
                     description="Fax zephyr"),
    ]
    ingest.apply_inventory(account, Inventory(
        numbers=numbers,
        locations=[LocationRecord("L1", "Bay office", kind="site", country_code="US", city="San Francisco"),
                   LocationRecord("L2", "London HQ", kind="site", country_code="GB", city="London")],
        owners=[OwnerRecord("P1", "Margarethe Quimby", "PEOPLE", "Margarethe", "Quimby", "L1"),
                OwnerRecord("P2", "Margaret Lin", "PEOPLE", "Margaret", "Lin", "L1")],
        trunks=[TrunkRecord("T1", "sip-trunk-zephyr"), TrunkRecord("T2", "pstn-backup")],
        caller_ids=[CallerIdRecord("c1", "14155550100", "+14155550100", True),
                    CallerIdRecord("c2", "4930901820", "+4930901820", True)],
        complete=True,
    ))
    return account


@pytest.fixture
def inventory(db):
    return seed_inventory()


def search(client, q, **headers):
    response = client.get("/search/", {"q": q}, headers=headers)
    assert response.status_code == 200, q
    return response.content.decode()


def groups(body: str) -> dict[str, dict]:
    """{key: {"count", "url", "items"}} from the rendered groups."""
    found = {}
    for section in re.findall(r'<section class="gs-group".*?</section>', body, re.S):
        key = re.search(r'data-group="(\w+)"', section).group(1)
        url = html.unescape(re.search(r'<a id="gs-\w+" href="([^"]+)"', section).group(1))
        count = int(re.search(r'class="badge gs-count"[^>]*>≈?(\d+)<', section).group(1))
        items = [html.unescape(t) for t in re.findall(r'<li><a href="[^"]*">(?:<span class="num">)?([^<]+?)\s*(?:</span>|<span)', section)]
        found[key] = {"count": count, "url": url, "items": items}
    return found


def list_count(client, url: str) -> int:
    response = client.get(url)
    assert response.status_code == 200, url
    body = response.content.decode()
    if "No rows" in body:
        return 0
    return int(re.search(r"Rows \d+–\d+ of (\d+)", body).group(1))


@pytest.mark.parametrize("q", ["+1 (415) 555-0100", "14155550100", "415 555 0100", "1-415-555-0100"])
def test_number_found_in_any_format(ops_client, inventory, q):
    found = groups(search(ops_client, q))
    assert "+14155550100" in found["numbers"]["items"]
    assert found["numbers"]["count"] == 1


def test_partial_number_lists_five_and_links_to_all(ops_client, inventory):
    body = search(ops_client, "415 555")
    numbers = groups(body)["numbers"]
    assert numbers["count"] == len(SF_NUMBERS)
    assert numbers["items"] == SF_NUMBERS[:5]
    assert numbers["url"] == "/numbers/?q=415+555"
    assert f"Show all {len(SF_NUMBERS)}" in body


def test_national_trunk_zero(ops_client, inventory):
    found = groups(search(ops_client, "020 7123"))
    assert found["numbers"]["items"] == ["+442071234567"]


def test_international_prefix_00(ops_client, inventory):
    found = groups(search(ops_client, "0044 20 7123"))
    assert found["numbers"]["items"] == ["+442071234567"]


def test_owner_by_part_of_name(ops_client, inventory):
    found = groups(search(ops_client, "quimb"))
    assert found["owners"]["items"] == ["Margarethe Quimby"] and found["owners"]["count"] == 1
    assert found["numbers"]["count"] == 2  # the owner's numbers
    assert "locations" not in found and "trunks" not in found


def test_location_by_city(ops_client, inventory):
    found = groups(search(ops_client, "san franc"))
    assert found["locations"]["items"] == ["Bay office"]
    assert found["numbers"]["count"] == len(SF_NUMBERS)


def test_trunk_by_name_and_description(ops_client, inventory):
    found = groups(search(ops_client, "zephyr"))
    assert found["trunks"]["items"] == ["sip-trunk-zephyr"]
    # The trunk's number and the number whose description mentions it.
    assert sorted(found["numbers"]["items"]) == ["+14155550100", "+442079460000"]


def test_caller_id_by_digits(ops_client, inventory):
    found = groups(search(ops_client, "+49 30 901"))
    assert found["caller_ids"]["items"] == ["+4930901820"] and found["caller_ids"]["count"] == 1
    assert "numbers" not in found


@pytest.mark.parametrize("q", ["415 555", "quimb", "Margaret", "san franc", "zephyr", "London", "+1 (415) 555-0100",
                               "020 7", "4930", "e"])
def test_group_counts_match_the_linked_list_pages(ops_client, inventory, q):
    found = groups(search(ops_client, q))
    assert found
    for key, group in found.items():
        assert list_count(ops_client, group["url"]) == group["count"], (q, key, group["url"])


ODD = ['"', "'", "';--", "%", "_", "100%_", "\\", "ünïcödé 東京 😀", "\x00", "a\x00b", "\t\n", "()+-.", "0", "00",
       "<script>alert(1)</script>", "x" * 5000, "+" * 300, "%00", "\u202e", "\ud7ff"]


@pytest.mark.parametrize("q", ODD)
def test_odd_input_never_fails(ops_client, inventory, q):
    body = search(ops_client, q)
    partial = search(ops_client, q, **{"HX-Request": "true"})
    assert "<script>alert(1)</script>" not in body + partial
    for group in groups(body).values():
        assert len(re.search(r"[?&]q=([^&]*)", group["url"]).group(1)) <= 400  # q capped at 100 chars
        assert list_count(ops_client, group["url"]) == group["count"]


def test_long_query_is_truncated(ops_client, inventory):
    body = search(ops_client, "y" * 500)
    assert "y" * 100 in body and "y" * 101 not in body  # the filters' 100-character cap


@pytest.mark.parametrize("q", ["", "   ", "\x00"])
def test_blank_query_prompts_without_touching_big_tables(ops_client, inventory, q):
    with CaptureQueriesContext(connection) as queries:
        body = search(ops_client, q)
    assert "Type a number in any format" in body and "gs-group" not in body
    tables = " ".join(query["sql"] for query in queries.captured_queries)
    assert "inventory_phonenumber" not in tables and "inventory_callerid" not in tables


def test_query_count_small_and_independent_of_matches(ops_client, inventory):
    counts = []
    for q in ("415 555", "+1 (415) 555-0100", "Margaret"):
        with CaptureQueriesContext(connection) as queries:
            search(ops_client, q)
        counts.append(len(queries))
    assert max(counts) <= 20, counts


def test_htmx_request_gets_the_partial(ops_client, inventory):
    partial = search(ops_client, "quimb", **{"HX-Request": "true"})
    assert "<html" not in partial and "Margarethe Quimby" in partial and "Enter opens the numbers table" in partial
    full = search(ops_client, "quimb")
    assert "<html" in full and "Margarethe Quimby" in full


def test_no_matches_says_so(ops_client, inventory):
    assert "Nothing matches" in search(ops_client, "no-such-thing-anywhere")


def test_header_search_form_on_every_page(ops_client, inventory):
    body = ops_client.get("/owners/").content.decode()
    form = re.search(r'<form class="gsearch".*?</form>', body, re.S).group(0)
    assert 'action="/numbers/"' in form and 'name="q"' in form and 'hx-get="/search/"' in form
    assert 'role="search"' in form and '<label for="global-q"' in form and 'aria-live="polite"' in form


def test_login_required(client):
    response = client.get("/search/?q=415")
    assert response.status_code == 302 and "/login/" in response["Location"]


# -- the q= rule (issue 13): terms ANDed, number fragments matched as digits anywhere -------------------
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from hypothesis import HealthCheck, example, given, settings as hsettings, strategies as st  # noqa: E402

from numbersadmin.inventory import selectors  # noqa: E402
from numbersadmin.inventory.filters import NumberTerm, parse_search, trunk_zero_regions  # noqa: E402
from numbersadmin.inventory.lists import LISTS  # noqa: E402
from numbersadmin.inventory.models import CallerId, PhoneNumber  # noqa: E402
from numbersadmin.inventory.services import annotations, tokens  # noqa: E402

from .support.helpers import export_rows  # noqa: E402

RIGA_OFFICE = ["+37167000101", "+37167000103", "+37167000105", "+37167000107", "+37167000112", "+37167000129"]
LONDON_DESK = "+442032402344"  # owner "Ops desk", trunk "lon-sbc-1", note "Front desk overflow"
LONDON_DESK_2 = "+442032409999"  # owner "Ops desk"
LONDON_OTHER_2344 = "+442071112344"
ROME = "+390612345678"
PINNEBERG = "+4941511234567"  # German, dialled 04151 123 4567 at home
NEW_YORK_0415 = "+12125550415"


def seed_offices():
    """A second account: the issue's "Riga office" and "+44 (0)20 3240 2344" cases, and numbers
    whose digits tell the national-prefix rule apart."""
    account = account_create(provider="didww", name="Offices", base_url="http://127.0.0.1:9/v3",
                             secrets={"api_key": "k-67890"})
    riga = [NumberRecord(f"riga{i}", e164, e164, "LV", "local", location_id="RIGA") for i, e164 in enumerate(RIGA_OFFICE)]
    ingest.apply_inventory(account, Inventory(
        numbers=riga + [
            NumberRecord("wh", "+37126000200", "+37126000200", "LV", "mobile", location_id="RIGA-WH"),
            NumberRecord("desk", LONDON_DESK, LONDON_DESK, "GB", "local", location_id="LON", owner_id="OPS",
                         trunk_id="SBC"),
            NumberRecord("desk2", LONDON_DESK_2, LONDON_DESK_2, "GB", "local", location_id="LON", owner_id="OPS"),
            NumberRecord("lon", LONDON_OTHER_2344, LONDON_OTHER_2344, "GB", "local", location_id="LON"),
            NumberRecord("rome", ROME, ROME, "IT", "local"),
            NumberRecord("pinneberg", PINNEBERG, PINNEBERG, "DE", "local"),
            NumberRecord("ny", NEW_YORK_0415, NEW_YORK_0415, "US", "local"),
        ],
        locations=[LocationRecord("RIGA", "Riga office", kind="site", country_code="LV", city="Riga"),
                   LocationRecord("RIGA-WH", "Riga warehouse", kind="site", country_code="LV", city="Riga"),
                   LocationRecord("LON", "London Bridge", kind="site", country_code="GB", city="London")],
        owners=[OwnerRecord("OPS", "Ops desk", "PLACE", "", "", "LON")],
        trunks=[TrunkRecord("SBC", "lon-sbc-1")],
        caller_ids=[CallerIdRecord("c9", "442032402344", LONDON_DESK, True),
                    CallerIdRecord("c10", "390612345678", ROME, True)],
        complete=True,
    ))
    annotations.set_note(PhoneNumber.objects.get(e164=LONDON_DESK), "Front desk overflow")
    return account


@pytest.fixture
def offices(inventory):
    """Both seeds: the 62 numbers of ``inventory`` and the offices."""
    return seed_offices()


def found(q: str, list_name: str = "numbers", *, only_q: bool = False) -> set[str]:
    """The rows the list's selector gives for ``q`` (numbers and caller IDs by E.164, others by name).
    ``only_q``: just the list's q filter on its base rows (what the property tests vary; a tenth of
    the time of validating the whole filter form)."""
    filterset = LISTS[list_name].filterset({"q": q})
    qs = filterset.filters["q"].filter(filterset.queryset, q) if only_q else filterset.qs
    field = "e164" if list_name in ("numbers", "caller_ids") else "name"
    return set(qs.values_list(field, flat=True))


@pytest.mark.parametrize("text, numbers, words", [
    ("+44 (0)20 3240 2344", [("442032402344", True)], []),
    ("+44(0)2032402344", [("442032402344", True)], []),
    ("44 (0) 20 3240", [("4420 3240".replace(" ", ""), False)], []),
    ("020 3240 2344", [("02032402344", False)], []),
    ("020-3240-2344", [("02032402344", False)], []),
    ("(020) 3240.2344", [("02032402344", False)], []),
    ("3240 2344", [("32402344", False)], []),
    ("Riga office 2", [("2", False)], ["Riga", "office"]),
    ("415 x 555", [("415", False), ("555", False)], ["x"]),
    ("415, 212", [("415", False), ("212", False)], []),
    ("415 +1 212", [("415", False), ("1212", True)], []),
    ("0044 20 3240", [("0044203240", False)], []),
    ("sip-trunk-2 L2", [], ["sip-trunk-2", "L2"]),
    ("()+-.", [], []),
    ("+", [], []),
    ("", [], []),
])
def test_parse_search(text, numbers, words):
    terms = parse_search(text)
    assert [(t.digits, t.international) for t in terms.numbers] == numbers
    assert list(terms.words) == words


NUMBER_CASES = [
    ("2344", {LONDON_DESK, LONDON_OTHER_2344}),  # last digits
    ("3240", {LONDON_DESK, LONDON_DESK_2}),  # middle digits
    ("3240 2344", {LONDON_DESK}),
    ("2032 4023", {LONDON_DESK}),
    ("+44 (0)20 3240 2344", {LONDON_DESK}),
    ("44 (0)20 3240 2344", {LONDON_DESK}),
    ("020 3240 2344", {LONDON_DESK}),  # national form: trunk 0 + national significant number
    ("02032402344", {LONDON_DESK}),
    ("0044 20 3240 2344", {LONDON_DESK}),
    ("+44 20 3240", {LONDON_DESK, LONDON_DESK_2}),
    ("06 1234 5678", {ROME}),  # Italy: the 0 is part of the number
    ("+39 06 1234 5678", {ROME}),
    ("04151 123 4567", {PINNEBERG}),
    # Last digits that start with 0: the number ending in 0415, and the German number dialled
    # 0415… at home, but not every +1 415 number (the US is not dialled with a 0 trunk prefix).
    ("0415", {NEW_YORK_0415, PINNEBERG}),
    ("0100", {"+14155550100"}),
    ("+1 415 555 0100", {"+14155550100"}),
    ("+44", {LONDON_DESK, LONDON_DESK_2, LONDON_OTHER_2344, "+442071234567", "+442079460000"}),
]


def test_number_fragments(offices):
    # One seeded database for every case (seeding is most of the time); each wrong case is listed.
    wrong = {q: (got, expected) for q, expected in NUMBER_CASES if (got := found(q)) != expected}
    assert not wrong


def test_riga_office_narrows_when_a_digit_is_added(offices):
    assert found("Riga") == set(RIGA_OFFICE) | {"+37126000200"}
    assert found("Riga office") == set(RIGA_OFFICE)
    assert found("Riga office 2") == {"+37167000112", "+37167000129"}
    assert found("Riga office 2 9") == {"+37167000129"}  # "2 9" is one number: 29


def test_text_terms_are_anded_across_owner_location_trunk_and_note(offices):
    assert found("desk") == {LONDON_DESK, LONDON_DESK_2}  # owner name (and the note)
    assert found("overflow") == {LONDON_DESK}  # note
    assert found("desk sbc") == {LONDON_DESK}  # owner + trunk
    assert found("London desk") == {LONDON_DESK, LONDON_DESK_2}  # city + owner
    assert found("bridge 9999") == {LONDON_DESK_2}  # location + digits
    assert found("desk sbc overflow bridge") == {LONDON_DESK}
    assert found("desk sbc nothing-like-this") == set()
    assert found("DESK Overflow") == {LONDON_DESK}  # case-insensitive


def test_caller_ids_follow_the_same_rule(offices):
    assert found("2344", "caller_ids") == {LONDON_DESK}
    assert found("020 3240 2344", "caller_ids") == {LONDON_DESK}
    assert found("+44 (0)20 3240 2344", "caller_ids") == {LONDON_DESK}
    assert found("06 1234", "caller_ids") == {ROME}
    assert found("0415", "caller_ids") == set()
    assert found("+49 30 901", "caller_ids") == {"+4930901820"}
    assert CallerId.objects.get(e164=LONDON_DESK).country == "GB"


def test_name_lists_and_every_word(offices):
    assert found("riga office", "locations") == {"Riga office"}
    assert found("office riga", "locations") == {"Riga office"}
    assert found("riga", "locations") == {"Riga office", "Riga warehouse"}
    assert found("margaret lin", "owners") == {"Margaret Lin"}
    assert found("lin margaret", "owners") == {"Margaret Lin"}
    assert found("sbc 1", "trunks") == {"lon-sbc-1"}


# Words and number pieces the property test combines (an appended piece may join the number before it).
VOCABULARY = ["Riga", "office", "desk", "sbc", "London", "bridge", "e", "2", "9", "0", "00", "1", "415", "0415",
              "2344", "3240", "020", "+44", "+1", "(0)", "(0)20", "44", "06", "+", "-", "()", ",", "0044", "12",
              "zzz", "Margaret"]
# ... and pieces of the seeded numbers as people write them, so that a query and its next term often
# hit the same number from different sides (international, national, with "(0)", last digits).
WRITTEN = ["+44 (0)20 3240 2344", "020 3240 2344", "0044 20 3240 9999", "+371 6700 0112", "06 1234 5678",
           "04151 123 4567", "+1 212 555 0415", "(415) 555-0100", "+44 20 7123 4567"]


def _slice(text: str):
    return st.tuples(st.integers(0, len(text)), st.integers(0, len(text))).map(lambda ij: text[min(ij):max(ij)])


piece = st.sampled_from(WRITTEN).flatmap(_slice)
query = st.lists(st.one_of(st.sampled_from(VOCABULARY), piece), max_size=4).map(" ".join)
term = st.one_of(st.sampled_from(VOCABULARY), piece, st.from_regex(r"\+?[0-9]{1,4}", fullmatch=True))


@pytest.mark.parametrize("list_name", ["numbers", "caller_ids", "owners", "locations", "trunks", "groups"])
def test_adding_a_term_never_widens(offices, list_name):
    """rows(q + " " + t) is a subset of rows(q), whatever q and t are."""
    @hsettings(max_examples=150 if list_name in ("numbers", "caller_ids") else 40, deadline=None,
               suppress_health_check=list(HealthCheck), database=None)
    @given(q=query, t=term)
    @example(q="Riga office", t="2")
    @example(q="0415", t="1")  # 04151: the German number is already among "0415"'s rows
    @example(q="+44", t="(0)20")
    @example(q="0", t="0 44")
    @example(q="020", t="3240 2344")
    def check(q, t):
        assert found(f"{q} {t}", list_name, only_q=True) <= found(q, list_name, only_q=True), (q, t)

    check()


def reference_rows(q: str) -> set[str]:
    """The README's rule, in Python, over every live number: what the SQL must return."""
    terms = parse_search(q)
    zero = set(trunk_zero_regions())
    out = set()
    for n in selectors.number_list({}).queryset.select_related("note"):
        def number_ok(t: NumberTerm) -> bool:
            d = t.digits
            if t.international:
                return n.digits.startswith(d)
            return (d in n.digits or (d.startswith("0") and n.country in zero and n.national_digits.startswith(d[1:]))
                    or (d.startswith("00") and n.digits.startswith(d[2:])))
        note = getattr(n, "note", None)
        texts = [n.description, n.number_raw, n.owner and n.owner.name, n.location and n.location.name, n.city,
                 n.trunk and n.trunk.name, note and note.text, n.application]
        if all(map(number_ok, terms.numbers)) and all(any(w.lower() in (s or "").lower() for s in texts)
                                                         for w in terms.words):
            out.add(n.e164)
    return out


def test_sql_follows_the_documented_rule(offices):
    @hsettings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(q=query)
    def check(q):
        assert found(q, only_q=True) == reference_rows(q), q

    check()


AGREE = {"numbers": ["2344", "Riga office 2", "+44 (0)20 3240 2344", "020 3240 2344", "desk sbc overflow", "0415"],
         "caller_ids": ["2344", "020 3240 2344"],
         "locations": ["riga office"]}


@pytest.mark.parametrize("list_name", sorted(AGREE))
def test_page_api_and_cli_agree(offices, ops_client, ops_user, tmp_path, list_name):
    """The page's export, the CLI export and /api/v1/...?q= give the same rows for the same q."""
    _, secret = tokens.create_token(ops_user, "search", read_only=True)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    spec = LISTS[list_name]
    key = spec.fields[0].header
    for q in AGREE[list_name]:
        page = export_rows(b"".join(ops_client.get(spec.url, {"q": q, "export": "csv", "columns": "all"})
                                    .streaming_content).decode())
        out = tmp_path / "cli.csv"
        call_command("export", list_name, f"--search={q}", "-o", str(out), stderr=io.StringIO())
        response = api.get(f"/api/v1/{list_name.replace('_', '-')}/", {"q": q, "limit": 100})
        assert response.status_code == 200
        web = [r[key] for r in page]
        assert web, (list_name, q)
        assert [r[key] for r in export_rows(out)] == web, (list_name, q)
        assert [str(r[key]) for r in response.json()["results"]] == web, (list_name, q)
        assert response.json()["count"] == len(web)
    if list_name == "numbers":
        assert len(web) == 2  # 0415: +1 212 555 0415 and Pinneberg


def test_list_page_counts_and_global_search_agree(offices, ops_client):
    assert list_count(ops_client, "/numbers/?q=Riga+office") == 6
    assert list_count(ops_client, "/numbers/?q=Riga+office+2") == 2
    assert list_count(ops_client, "/numbers/?q=%2B44+%280%2920+3240+2344") == 1
    numbers = groups(search(ops_client, "Riga office 2"))["numbers"]
    assert numbers["count"] == 2 and list_count(ops_client, numbers["url"]) == 2
    assert groups(search(ops_client, "3240 2344"))["numbers"]["items"] == [LONDON_DESK]


ODD_SEARCHES = ["+", "(0)", "0", "00", ",", ";;", "+44 (0", "((((", "0" * 100, "+" + "9" * 99, "- - -", "1 , , 2",
                "\\%_", "٣٢٤٠", "+44 (0)20 3240 2344 " * 5]


def test_odd_searches_are_never_errors(offices, ops_client, ops_user):
    _, secret = tokens.create_token(ops_user, "odd", read_only=True)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    for q in ODD_SEARCHES:
        for name in LISTS:
            assert ops_client.get(LISTS[name].url, {"q": q}).status_code == 200, (name, q)
            assert api.get(f"/api/v1/{name.replace('_', '-')}/", {"q": q}).status_code == 200, (name, q)
