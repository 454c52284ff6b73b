"""Caller-ID page in a real browser: filter to "expiring in 30 days", follow the link to the DIDWW
number that owns the caller ID."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from numbersadmin.inventory.models import PhoneNumber
from numbersadmin.inventory.services.accounts import account_create

from ..support.helpers import sync
from .conftest import login, shot

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def vox(didww_sim):
    from providers.simulators.voximplant import VoximplantSimulator

    owned = ["+" + d["number"] for d in didww_sim.dids[:3]]
    sim = VoximplantSimulator(caller_ids=30, numbers=20, seed=4, owned_numbers=owned)
    # Make the owned caller IDs expire within the window, so the filtered view must show them.
    soon = (timezone.localdate() + dt.timedelta(days=12)).isoformat()
    for item in sim.caller_ids:
        if "+" + str(item["callerid_number"]).lstrip("+") in owned:
            item["verified_until"] = soon
            item["active"] = True
    sim.start()
    yield sim, owned
    sim.stop()


def test_expiring_caller_ids_link_to_the_owning_didww_number(page, live_server, didww_account, ops_user, vox):
    sim, owned = vox
    from providers.simulators.registry import demo_secrets

    account = account_create(provider="voximplant", name="Vox main", base_url=sim.base_url,
                             secrets=demo_secrets("voximplant"))
    assert sync(didww_account).state == "succeeded"
    run = sync(account)
    assert run.state == "succeeded", run.error_message
    login(page, live_server, "bob", "pw-bob-123")
    page.goto(f"{live_server.url}/caller-ids/")
    page.click("#quick-expiring")
    page.wait_for_url(re.compile(r".*expires_within=30.*"))
    states = page.locator("#caller-ids-table td[data-col=state]").all_inner_texts()
    assert states and set(states) == {"Expiring"}
    shot(page, "caller-ids-expiring")
    target = owned[0]
    row = page.locator("#caller-ids-table tr", has_text=target)
    row.locator("a.owner-link").click()
    number = PhoneNumber.objects.get(e164=target, account=didww_account)
    page.wait_for_url(re.compile(rf".*/numbers/{number.pk}/"))
    assert "DIDWW" in page.content() and "Also a caller ID" in page.content()
    shot(page, "caller-id-owner-number")
