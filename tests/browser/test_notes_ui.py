"""Local notes and tags in a real browser: ops edit one number, an admin bulk-edits a filter."""

from __future__ import annotations

import re

import pytest

from numbersadmin.inventory.models import NumberNote, PhoneNumber

from ..support.helpers import sync
from .conftest import login, shot

pytestmark = pytest.mark.django_db(transaction=True)


def test_ops_adds_note_and_tags_then_follows_a_tag(page, live_server, didww_account, ops_user):
    assert sync(didww_account).state == "succeeded"
    number = PhoneNumber.objects.filter(country="US", removed_at=None).order_by("e164").first()
    login(page, live_server, "bob", "pw-bob-123", f"/numbers/{number.pk}/")

    card = page.locator("#notes-tags")
    assert "Notes and tags (local)" in card.inner_text() and "a sync never changes" in card.inner_text()
    page.fill("#id_note", "Reserved for the Paris office.\nAsk Dana before releasing.")
    page.fill("#id_tags", "Porting,  Paris Office")
    card.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(rf".*/numbers/{number.pk}/$"))
    assert "Saved notes and tags" in page.locator(".messages").inner_text()

    page.reload()  # persisted, not just echoed back
    assert page.input_value("#id_note") == "Reserved for the Paris office.\nAsk Dana before releasing."
    assert card.locator("a.tag-chip").all_inner_texts() == ["paris office", "porting"]
    assert NumberNote.objects.get(number=number).updated_by == ops_user
    shot(page, "number-notes-tags")

    card.locator("a.tag-chip", has_text="porting").click()
    page.wait_for_url(re.compile(r".*/numbers/\?tag=porting$"))
    page.wait_for_selector("#numbers-table")
    assert page.locator("#numbers-table td[data-col=e164] a.num").all_inner_texts() == [number.e164]
    shot(page, "numbers-filtered-by-tag")


def test_admin_bulk_tags_all_matching_numbers(page, live_server, didww_account, admin_user):
    assert sync(didww_account).state == "succeeded"
    us = PhoneNumber.objects.filter(country="US", removed_at=None)
    expected = us.count()
    login(page, live_server, "alice", "pw-alice-123", "/numbers/bulk-edit/?query=country%3DUS&scope=matching")

    assert page.locator("#bulk-count").inner_text() == str(expected)
    assert "(US)" in page.locator("#bulk-filters").inner_text()
    page.fill("#id_add_tags", "US fleet")
    shot(page, "bulk-edit-confirm")
    page.click("button:has-text('Apply to')")
    page.wait_for_url(re.compile(r".*/numbers/\?country=US$"))
    assert f"Updated {expected} numbers." in page.locator(".messages").inner_text()
    assert us.filter(tags__name="us fleet").count() == expected
    shot(page, "bulk-edit-done")
