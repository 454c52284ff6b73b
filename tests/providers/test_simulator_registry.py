"""The simulator registry mirrors the provider registry: every provider has a simulator, and the
adapter accepts what that simulator accepts by default."""

from __future__ import annotations

import pytest

from providers import registry
from providers.simulators import registry as simulators


def test_every_provider_has_a_simulator():
    assert set(simulators.SIMULATORS) == set(registry.PROVIDERS)
    with pytest.raises(KeyError, match="no simulator for provider 'nope'"):
        simulators.simulator("nope")


@pytest.mark.parametrize("slug", sorted(registry.PROVIDERS))
def test_demo_secrets_connect_the_adapter(slug):
    spec = registry.get(slug)
    secrets = simulators.demo_secrets(slug)
    assert set(secrets) == set(spec.secret_fields)
    with simulators.simulator(slug, numbers=5) as sim, spec.client(base_url=sim.base_url, secrets=secrets) as client:
        assert client.test_connection().startswith("OK")
    secrets[spec.secret_fields[-1]] = "changed"  # a copy: the registry's demo secrets stay as they are
    assert simulators.demo_secrets(slug) != secrets
