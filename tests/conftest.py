"""Shared fixtures: users with the two roles, running DIDWW simulators, accounts pointing at them.

Simulators are real HTTP servers on 127.0.0.1; nothing here mocks the network.
"""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("NUMBERSADMIN_VAR_DIR", os.path.join(os.path.dirname(__file__), "..", "var", "test"))


@pytest.fixture(autouse=True)
def _inline_tasks(settings):
    # Unit/view tests run syncs synchronously in the test thread; the integration suite
    # overrides this with a real Celery worker.
    settings.TASK_RUNNER = "inline"
    settings.PROVIDER_ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    settings.PROVIDER_HTTP_TIMEOUT = 5.0


@pytest.fixture
def admin_user(django_user_model):
    from django.contrib.auth.models import Group, Permission

    group, _ = Group.objects.get_or_create(name="admins")
    group.permissions.add(Permission.objects.get(codename="manage_accounts"))
    user = django_user_model.objects.create_user("alice", password="pw-alice-123")
    user.groups.add(group)
    return user


@pytest.fixture
def ops_user(django_user_model):
    return django_user_model.objects.create_user("bob", password="pw-bob-123")


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def ops_client(client, ops_user):
    client.force_login(ops_user)
    return client


@pytest.fixture
def didww_sim():
    from providers.simulators.didww import DidwwSimulator

    sim = DidwwSimulator(api_key="sim-key-0123456789", dids=250, trunks=5, trunk_groups=2, seed=3)
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture
def didww_account(db, didww_sim):
    from numbersadmin.inventory.services.accounts import account_create

    return account_create(provider="didww", name="DIDWW main", base_url=didww_sim.base_url,
                          secrets={"api_key": "sim-key-0123456789"})


@pytest.fixture(scope="session")
def loopback_idp(tmp_path_factory):
    """A real OpenID provider (django-oauth-toolkit, tests/idp/) on 127.0.0.1 in its own process."""
    from tests.idp.harness import LoopbackIdP

    idp = LoopbackIdP(tmp_path_factory.mktemp("idp")).start()
    yield idp
    idp.stop()


@pytest.fixture
def sso_settings(settings, loopback_idp):
    """The app configured against the loopback IdP (as the OIDC_* environment variables would)."""
    from numbersadmin.identity import oidc

    for key, value in loopback_idp.rp_settings().items():
        setattr(settings, key, value)
    oidc.forget_discovery()
    yield settings
    oidc.forget_discovery()
