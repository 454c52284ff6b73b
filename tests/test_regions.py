"""One region vocabulary per country: codes and local names become the subdivision's English
name, whichever provider sent them; what does not map is kept as sent."""

from __future__ import annotations

import pytest

from numbersadmin.inventory.models import Location, PhoneNumber
from numbersadmin.inventory.services.accounts import account_create
from providers.regions import region_name
from providers.simulators.registry import demo_secrets, simulator

from .support.helpers import sync


@pytest.mark.parametrize("country, sent, expected", [
    ("US", "CA", "California"), ("US", "ca", "California"), ("US", "California", "California"),
    ("AU", "NSW", "New South Wales"), ("AU", "New South Wales", "New South Wales"),
    ("DE", "BY", "Bavaria"), ("DE", "Bayern", "Bavaria"), ("DE", "Bavaria", "Bavaria"),
    ("IN", "KA", "Karnataka"), ("IN", "Karnātaka", "Karnataka"),
    ("FR", "Provence-Alpes-Cote d'Azur", "Provence-Alpes-Cote-d'Azur"), ("FR", "Île-de-France", "Ile-de-France"),
    ("GB", "ENG", "England"),
    # Not a subdivision of that country: kept as sent (a city sent as a region, an unknown country).
    ("GB", "Manchester", "Manchester"), ("DE", "Munich", "Munich"), ("US", "NSW", "NSW"), ("XX", "CA", "CA"),
    ("", "CA", "CA"), ("US", "", ""), ("US", "  CA ", "California"),
])
def test_region_names(country, sent, expected):
    assert region_name(country, sent) == expected


@pytest.mark.django_db(transaction=True)
def test_webex_state_codes_and_didww_names_meet_in_one_region():
    """Webex sends US states as codes ("CA"), DIDWW as names ("California"): after a sync of
    both, the numbers of both sit in one region and the region filter offers it once."""
    sims = {p: simulator(p, numbers=80, seed=3) for p in ("webex", "didww")}
    for sim in sims.values():
        sim.start()
    try:
        for provider, sim in sims.items():
            account = account_create(provider=provider, name=provider, base_url=sim.base_url,
                                     secrets=demo_secrets(provider))
            assert sync(account).state == "succeeded"
        regions = set(Location.objects.filter(country_code="US").values_list("region", flat=True))
        assert "CA" not in regions and "California" in regions
        providers = set(PhoneNumber.objects.filter(region="California").values_list("account__provider", flat=True))
        assert providers == {"webex", "didww"}
        assert not PhoneNumber.objects.filter(country="US", region="CA").exists()
    finally:
        for sim in sims.values():
            sim.stop()
