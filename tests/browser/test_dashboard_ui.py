"""Dashboard in a real browser: charts render under the CSP, a provider bar opens the numbers list
filtered to that provider with the same count."""

from __future__ import annotations

import re

import pytest

from numbersadmin.inventory.models import PhoneNumber

from ..support.helpers import sync
from .conftest import login, shot

pytestmark = pytest.mark.django_db(transaction=True)


def test_provider_bar_opens_the_numbers_it_counts(page, live_server, didww_account, ops_user):
    assert sync(didww_account).state == "succeeded"
    login(page, live_server, "bob", "pw-bob-123", "/")
    bar = page.locator("#chart-provider a.bar-row", has_text="DIDWW")
    count = int(bar.get_attribute("data-count"))
    assert count == PhoneNumber.objects.filter(provider="didww", removed_at=None).count() > 0
    assert bar.locator(".bar-count").inner_text().replace(",", "") == str(count)
    # Bars are sized by SVG attributes (no inline style under the CSP) and actually drawn.
    box = bar.locator("rect.bar-fill").bounding_box()
    assert box and box["width"] > 50 and box["height"] > 5
    shot(page, "dashboard")

    bar.click()
    page.wait_for_url(re.compile(r".*/numbers/\?provider=didww$"))
    assert f"of {count}" in page.locator(".pager .count").first.inner_text()
