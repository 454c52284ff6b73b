import pytest


@pytest.fixture
def sim(shared_sim):
    """The test module's shared (module-scoped) simulator, with its faults cleared afterwards."""
    yield shared_sim
    shared_sim.faults.clear()
