"""A caller ID's country and search digits come from one shared phonenumbers parse (ingest
``_parsed``): the same values as two separate parses."""

from __future__ import annotations

import phonenumbers

from numbersadmin.inventory.services import ingest
from providers import registry
from providers.base import country_of
from providers.simulators.registry import demo_secrets, simulator


def test_one_parse_gives_the_same_country_and_national_digits_as_two():
    """A caller ID's country and search digits come from one shared parse: the same values as
    ``providers.base.country_of`` and a fresh ``phonenumbers`` parse give, on every simulator's
    numbers and on awkward ones (Italian leading zero, NANP regions, non-geographic, invalid)."""
    numbers = ["+390612345678", "+393123456789", "+12425551234", "+18095551234", "+14155550123", "+16135550123",
               "+882345678901", "+80012345678", "+4420712345", "+2250712345678", "+99912345", "+1", "", "+abc"]
    for slug in ("voximplant", "didww", "webex", "apifonica", "plivo"):
        with simulator(slug, numbers=300, seed=11) as sim:
            with build_client_for(slug, sim) as client:
                numbers += [rec.e164 for rec in client.fetch_inventory().numbers]
    for e164 in numbers:
        try:
            national = str(phonenumbers.parse(e164, None).national_number) if e164 else ""
        except phonenumbers.NumberParseException:
            national = ""
        assert (ingest._country_of(e164), ingest.national_digits(e164)) == (country_of(e164), national), e164


def build_client_for(slug, sim):
    return registry.get(slug).client(base_url=sim.base_url, secrets=demo_secrets(slug), config={})
