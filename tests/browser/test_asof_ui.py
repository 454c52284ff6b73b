"""The numbers list "as of" a past moment and "what changed since", in a real browser."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from numbersadmin.inventory.models import PhoneNumber

from ..support.helpers import sync
from .conftest import login, numbers_in_table, shot

pytestmark = pytest.mark.django_db(transaction=True)


def test_as_of_list_and_what_changed_since(page, live_server, didww_sim, didww_account, ops_user):
    assert sync(didww_account).state == "succeeded"
    before = timezone.now()
    active = list(PhoneNumber.objects.filter(status="active").order_by("e164")[:3])
    for number in active:
        didww_sim.update_did(number.external_id, blocked=True)
    assert sync(didww_account).state == "succeeded"
    assert PhoneNumber.objects.filter(pk__in=[n.pk for n in active], status="suspended").count() == 3

    login(page, live_server, "bob", "pw-bob-123", next_path="/numbers/?status=suspended&per_page=100")
    now_suspended = set(numbers_in_table(page))
    assert {n.e164 for n in active} <= now_suspended

    # The same filter as of the first sync: those three were still active then.
    page.locator("details.more-filters summary, summary:has-text('More filters')").first.click()
    page.fill("input[name=as_of]", before.isoformat())
    page.press("input[name=as_of]", "Enter")
    page.wait_for_url(re.compile(r".*as_of=.*"))
    page.wait_for_selector(".as-of-note")
    then_suspended = set(numbers_in_table(page))
    assert then_suspended == now_suspended - {n.e164 for n in active}
    shot(page, "numbers-as-of")

    page.click(".as-of-note a")
    page.wait_for_url(re.compile(r".*/numbers/diff/.*"))
    rows = page.locator("#diff-table tbody tr[data-change]")
    # Filtered to numbers suspended at "to" (now): exactly the three, each with its status change.
    texts = rows.all_inner_texts()
    for number in active:
        assert any(number.e164 in t and "Active" in t and "Suspended" in t for t in texts), texts
    shot(page, "numbers-diff")

    page.fill("input[name=from]", "not a date")
    page.click("form.diff-form button[type=submit]")
    page.wait_for_selector(".msg-warning")
    assert "Enter a date" in page.locator(".msg-warning").first.inner_text()
