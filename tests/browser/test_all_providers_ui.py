"""All five providers in one table: filter to "SMS-capable mobile numbers in GB" across providers."""

from __future__ import annotations

import re

import pytest

from numbersadmin.inventory.models import PhoneNumber

from .conftest import every_provider_synced, login, shot

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def five_accounts():
    yield from every_provider_synced(numbers=120, seed=11, suffix="acct")


def test_sms_capable_mobile_numbers_in_gb_across_providers(page, live_server, five_accounts, ops_user):
    assert len({a.provider for a in five_accounts}) == 5
    login(page, live_server, "bob", "pw-bob-123")
    page.select_option("#id_country", "GB")
    page.wait_for_url(re.compile(r".*country=GB.*"))
    page.select_option("#id_kind", "mobile")
    page.wait_for_url(re.compile(r".*kind=mobile.*"))
    page.click("details.more-filters summary")  # capability filters sit under "More filters"
    page.select_option("#id_sms", "yes")
    page.wait_for_url(re.compile(r".*sms=yes.*"))
    page.select_option("#id_per_page", "100")
    page.wait_for_url(re.compile(r".*per_page=100.*"))
    page.wait_for_function("() => document.querySelectorAll('#numbers-table td[data-col=e164] a.num').length > 0")
    shown = page.locator("#numbers-table td[data-col=e164] a.num").all_inner_texts()
    providers = set(page.locator("#numbers-table td[data-col=provider]").all_inner_texts())
    expected = PhoneNumber.objects.filter(country="GB", kind="mobile", sms=True, removed_at=None)
    assert sorted(shown) == sorted(expected.values_list("e164", flat=True))
    assert all(n.startswith("+447") for n in shown)
    assert len(providers) >= 2, providers  # the point: one view across providers
    shot(page, "gb-sms-mobile-all-providers")
