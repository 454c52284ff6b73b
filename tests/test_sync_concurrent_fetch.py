"""Syncs of counted listings whose pages are fetched concurrently (providers/paging.py): a
failure on any page fails the run and leaves the inventory exactly as it was; the account's
``fetch_concurrency`` is validated like ``page_size``."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from numbersadmin.inventory.choices import SyncState
from numbersadmin.inventory.models import PhoneNumber
from numbersadmin.inventory.services.accounts import account_create
from numbersadmin.inventory.validators import validate_config
from providers.simulators.registry import demo_secrets, simulator

from .support.helpers import snapshot, sync

pytestmark = pytest.mark.django_db(transaction=True)

# (provider, numbers listing path, config): pages small enough for a dozen pages.
CASES = {
    "voximplant": ("GetPhoneNumbers", {"page_size": 20}),
    "plivo": ("/Number/", {"page_size": 10}),
    "didww": ("/dids", {"page_size": 20}),
}


@pytest.fixture(params=sorted(CASES))
def case(request):
    slug = request.param
    path, config = CASES[slug]
    sim = simulator(slug, numbers=150, seed=9)
    sim.start()
    account = account_create(provider=slug, name=f"{slug} concurrent", base_url=sim.base_url,
                             secrets=demo_secrets(slug), config={**config, "fetch_concurrency": 4})
    yield slug, sim, account, path
    sim.stop()


def _listed(slug, sim) -> int:
    return len({"voximplant": lambda: sim.phone_numbers, "plivo": lambda: sim.numbers, "didww": lambda: sim.dids}[slug]())


def test_500_on_one_page_fails_the_sync_and_deletes_nothing(case):
    slug, sim, account, path = case
    first = sync(account)
    assert first.state == SyncState.SUCCEEDED, first.error_message
    assert PhoneNumber.objects.filter(account=account, removed_at__isnull=True).count() == _listed(slug, sim)
    before = snapshot(account)
    # Numbers gone at the provider would be removed by a complete listing; this one is not.
    {"voximplant": lambda: sim.remove_phone_number(sim.phone_numbers[0]["phone_id"]),
     "plivo": lambda: sim.numbers.pop(0),
     "didww": lambda: sim.remove_did(sim.dids[0]["id"])}[slug]()
    sim.faults.fail(500, page=4, path=path)
    run = sync(account)
    assert run.state == SyncState.FAILED and run.error_class == "unavailable", run.error_message
    assert snapshot(account) == before
    assert run.removed == 0 and run.added == 0


def test_concurrent_sync_matches_the_listing_and_a_resync_changes_nothing(case):
    slug, sim, account, _ = case
    run = sync(account)
    assert run.state == SyncState.SUCCEEDED and run.added == _listed(slug, sim)
    again = sync(account)
    assert again.state == SyncState.SUCCEEDED and again.added == again.changed == again.removed == 0


@pytest.mark.parametrize("value", [0, 9, "x", -1])
def test_fetch_concurrency_out_of_bounds_is_refused(value):
    with pytest.raises(ValidationError, match="fetch_concurrency"):
        validate_config("didww", {"fetch_concurrency": value})


def test_fetch_concurrency_only_for_counted_listings():
    assert validate_config("plivo", {"fetch_concurrency": 8}) == {"fetch_concurrency": 8}
    with pytest.raises(ValidationError, match="Unknown config key"):
        validate_config("apifonica", {"fetch_concurrency": 4})  # cursor paging: one page at a time
