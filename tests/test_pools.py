"""Plivo number pools as a drill-down, and pool memberships kept in step with the provider."""

from __future__ import annotations

import re

import pytest

from numbersadmin.inventory.models import NumberGroup, PhoneNumber

from .support.helpers import simulated_account, sync

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def plivo():
    with simulated_account("plivo", "Plivo", numbers=60, seed=4) as pair:
        yield pair


def pool_numbers(pool):
    return set(PhoneNumber.objects.filter(pools=pool).values_list("e164", flat=True))


def test_pool_page_lists_its_numbers_and_services(ops_client, plivo):
    sim, account = plivo
    pool = NumberGroup.objects.filter(account=account, group_type="number_pool").exclude(pool_numbers=None).first()
    assert pool is not None
    body = ops_client.get(f"/groups/{pool.pk}/").content.decode()
    listed = set(re.findall(r'class="num">([^<]+)</a>', body))
    assert listed and listed <= pool_numbers(pool)
    assert "number pool" in body and 'id="group-services"' in body
    filtered = ops_client.get(f"/numbers/?pool={pool.pk}&per_page=100").content.decode()
    assert set(re.findall(r'class="num">([^<]+)</a>', filtered)) == pool_numbers(pool)


def test_membership_changes_follow_the_provider(plivo):
    sim, account = plivo
    pool = NumberGroup.objects.filter(account=account, group_type="number_pool").exclude(pool_numbers=None).first()
    member = sorted(pool_numbers(pool))[0]
    uuid = pool.external_id
    sim.remove_from_pool(uuid, member.lstrip("+"))
    assert sync(account).state == "succeeded"
    assert member not in pool_numbers(pool)
    assert PhoneNumber.objects.filter(e164=member, removed_at=None).exists()  # still an account number


def test_groups_list_shows_pools_with_their_live_member_counts(ops_client, plivo):
    sim, account = plivo
    pools = NumberGroup.objects.filter(account=account, group_type="number_pool")
    body = ops_client.get("/groups/?kind=pool&cols=name,type,numbers").content.decode()
    for pool in pools:
        live = PhoneNumber.objects.filter(pools=pool, removed_at=None).count()
        assert re.search(rf'href="/groups/{pool.pk}/">{re.escape(pool.name)}</a></td>\s*<td[^>]*>Number pool</td>'
                         rf'\s*<td[^>]*>{live}</td>', body), pool.name
    assert "No DID groups or number pools." in ops_client.get("/groups/?kind=did_group").content.decode()
    detail = ops_client.get(f"/groups/{pools[0].pk}/").content.decode()
    assert 'href="/groups/"' in detail  # the breadcrumb leads back to the list
