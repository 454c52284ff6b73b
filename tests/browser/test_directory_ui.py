"""Webex drill-down in a real browser: open a location, see its numbers, open one owner, see all
numbers of that owner."""

from __future__ import annotations

import re

import pytest

from numbersadmin.inventory.models import Location, Owner, PhoneNumber
from numbersadmin.inventory.services.accounts import account_create

from ..support.helpers import sync
from .conftest import login, shot

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def webex_account():
    from providers.simulators.registry import demo_secrets, simulator

    sim = simulator("webex", numbers=80, seed=5)
    sim.start()
    account = account_create(provider="webex", name="Webex org", base_url=sim.base_url, secrets=demo_secrets("webex"))
    run = sync(account)
    assert run.state == "succeeded", run.error_message
    yield account
    sim.stop()


def test_location_then_owner_drill_down(page, live_server, webex_account, ops_user):
    # A location whose owners hold more than one number makes the owner step meaningful.
    owner = next(o for o in Owner.objects.filter(account=webex_account).order_by("name")
                 if o.numbers.filter(removed_at=None).count() >= 1 and o.location_id)
    location = owner.location
    login(page, live_server, "bob", "pw-bob-123")
    page.goto(f"{live_server.url}/locations/")
    page.click(f"#locations-table a:text-is('{location.name}')")
    page.wait_for_url(re.compile(rf".*/locations/{location.pk}/"))
    shown = set(page.locator("#numbers-table td[data-col=e164] a.num").all_inner_texts())
    expected = set(PhoneNumber.objects.filter(location=location, removed_at=None).values_list("e164", flat=True))
    assert shown == expected or (len(shown) == 50 and shown <= expected)
    shot(page, "location-detail")
    page.click(f"a[href='/owners/{owner.pk}/']")
    page.wait_for_url(re.compile(rf".*/owners/{owner.pk}/"))
    owned = set(page.locator("#numbers-table td[data-col=e164] a.num").all_inner_texts())
    assert owned == set(owner.numbers.filter(removed_at=None).values_list("e164", flat=True))
    shot(page, "owner-detail")
