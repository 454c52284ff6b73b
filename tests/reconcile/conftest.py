"""Simulators started per test and accounts pointing at them (real HTTP, real syncs)."""

from __future__ import annotations

import pytest

from providers.simulators.registry import demo_secrets, simulator


@pytest.fixture
def sim_account(db):
    """``sim_account(slug, name, numbers=.., seed=.., secrets=.., config=.., **sim_kw)`` ->
    (started simulator, ProviderAccount on it). Every simulator stops at the end of the test."""
    from numbersadmin.inventory.services.accounts import account_create

    started = []

    def make(slug: str, name: str, *, numbers: int = 30, seed: int = 1, secrets: dict | None = None,
             config: dict | None = None, sim=None, **kw):
        secrets = {**demo_secrets(slug), **(secrets or {})}
        if sim is None:
            sim = simulator(slug, secrets=secrets, numbers=numbers, seed=seed, **kw)
            sim.start()
            started.append(sim)
        account = account_create(provider=slug, name=name, base_url=sim.base_url, secrets=secrets,
                                 config=config or {})
        return sim, account

    yield make
    for sim in started:
        sim.stop()
