"""Header search in a real browser: type an owner's name, see grouped results with counts, press
Enter, land on the numbers table filtered by the same text."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest

from ..test_search import LONDON_DESK, LONDON_OTHER_2344, RIGA_OFFICE, SF_NUMBERS, seed_inventory, seed_offices
from .conftest import login, numbers_in_table, shot

pytestmark = pytest.mark.django_db(transaction=True)


def dropdown_counts(page) -> dict[str, str]:
    groups = page.locator("#global-search-results .gs-group")
    return {groups.nth(i).get_attribute("data-group"): groups.nth(i).locator(".gs-count").inner_text()
            for i in range(groups.count())}


def test_type_owner_see_groups_enter_opens_filtered_numbers(page, live_server, ops_user):
    seed_inventory()
    login(page, live_server, "bob", "pw-bob-123")
    page.goto(f"{live_server.url}/owners/")  # the box is in the header of every page

    box = page.get_by_role("searchbox", name="Search numbers, owners, locations, trunks and caller IDs")
    box.press_sequentially("Quimby", delay=20)
    page.wait_for_selector("#global-search-results .gs-group[data-group=owners]")
    assert dropdown_counts(page) == {"numbers": "2", "owners": "1"}
    assert page.locator("#global-search-results [data-group=owners] li").inner_text().startswith("Margarethe Quimby")
    shot(page, "global-search-owner")

    # Escape closes the dropdown; clearing the box keeps it closed; typing again reopens it.
    box.press("Escape")
    assert page.locator("#global-search-results").inner_html() == ""
    box.fill("")
    page.wait_for_timeout(400)
    assert not page.locator("#global-search-results").is_visible()
    box.press_sequentially("Quimby", delay=20)
    page.wait_for_selector("#global-search-results .gs-group[data-group=numbers]")

    box.press("Enter")
    page.wait_for_url(re.compile(r".*/numbers/\?q=Quimby$"))
    assert numbers_in_table(page) == SF_NUMBERS[:2]
    assert "of 2" in page.locator(".pager .count").first.inner_text()
    assert page.locator("#id_q").input_value() == "Quimby"
    shot(page, "global-search-enter")


def test_several_groups_and_group_link(page, live_server, ops_user):
    seed_inventory()
    login(page, live_server, "bob", "pw-bob-123")
    page.locator("#global-q").press_sequentially("e", delay=20)
    page.wait_for_selector("#global-search-results .gs-group[data-group=trunks]")
    counts = dropdown_counts(page)
    assert set(counts) == {"numbers", "owners", "locations", "trunks"} and int(counts["numbers"]) > 5
    assert page.locator("#global-search-results [data-group=numbers] li").count() == 5
    shot(page, "global-search-groups")

    # A click outside closes it; the group link opens that list with as many rows as counted.
    page.locator("h1").click()
    assert page.locator("#global-search-results").inner_html() == ""
    page.locator("#global-q").press_sequentially(" ", delay=20)  # "e " searches "e" again
    page.click("#global-search-results #gs-owners")
    page.wait_for_url(re.compile(r".*/owners/\?q=e"))
    assert f"of {counts['owners']}" in page.locator(".pager .count").first.inner_text()


def _wait_for_q(page, q: str) -> None:
    """The HTMX form pushed ?q=<q> and swapped the table in."""
    page.wait_for_url(lambda url: parse_qs(urlparse(url).query).get("q") == [q])
    page.wait_for_load_state("networkidle")


def test_search_narrows_as_terms_are_added_and_finds_last_digits(page, live_server, ops_user):
    """Issue 13: "Riga office" then "Riga office 2" must not widen; the last 4 digits find a number."""
    seed_inventory()
    seed_offices()
    login(page, live_server, "bob", "pw-bob-123")
    box = page.locator("#id_q")

    box.press_sequentially("Riga office", delay=20)
    _wait_for_q(page, "Riga office")
    riga = numbers_in_table(page)
    assert sorted(riga) == RIGA_OFFICE

    box.press_sequentially(" 2", delay=20)
    _wait_for_q(page, "Riga office 2")
    narrowed = numbers_in_table(page)
    assert 0 < len(narrowed) <= len(riga) and set(narrowed) <= set(riga)
    assert all("2" in n for n in narrowed)
    assert f"of {len(narrowed)}" in page.locator(".pager .count").first.inner_text()
    shot(page, "search-narrows")

    box.fill("")
    box.press_sequentially("2344", delay=20)
    _wait_for_q(page, "2344")
    assert sorted(numbers_in_table(page)) == sorted([LONDON_DESK, LONDON_OTHER_2344])
    shot(page, "search-last-digits")

    box.fill("")
    box.press_sequentially("+44 (0)20 3240 2344", delay=10)
    _wait_for_q(page, "+44 (0)20 3240 2344")
    assert numbers_in_table(page) == [LONDON_DESK]
    assert box.input_value() == "+44 (0)20 3240 2344"
    shot(page, "search-international-format")
