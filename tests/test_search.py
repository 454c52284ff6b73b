"""Global search (/search/): any number format, owners, locations, trunks, caller IDs; every group's
count is the row count of the list page it links to."""

from __future__ import annotations

import html
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
