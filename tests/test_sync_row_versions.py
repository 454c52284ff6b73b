"""What a real sync writes, row by row (issue 18: on PostgreSQL the apply step COPYs into a staging
table and upserts with one INSERT ... ON CONFLICT ... WHERE <row differs>; SQLite keeps the ORM
path). The same checks run on both; on PostgreSQL each row's version (xmin, ctid) must also stay
put unless the row really changed (tests/integration/test_sync_postgres.py runs this file there)."""

from __future__ import annotations

import pytest
from django.db import connection

from numbersadmin.inventory.choices import ChangeKind, NumberStatus, SyncState
from numbersadmin.inventory.models import NumberChange, PhoneNumber
from numbersadmin.inventory.services.ingest import stored_text

from .support.helpers import sync

pytestmark = pytest.mark.django_db(transaction=True)


def row_versions(account) -> dict[str, tuple]:
    """external_id -> the row's version: (xmin, ctid) on PostgreSQL (a new version on any write,
    HOT or not), the whole row elsewhere."""
    if connection.vendor != "postgresql":
        return {n["external_id"]: tuple(sorted(n.items())) for n in PhoneNumber.objects.filter(account=account).values()}
    with connection.cursor() as cur:
        cur.execute("SELECT external_id, xmin::text, ctid::text FROM inventory_phonenumber WHERE account_id = %s",
                    [account.pk])
        return {ext: (xmin, ctid) for ext, xmin, ctid in cur.fetchall()}


def test_first_sync_inserts_everything_without_history(didww_account, didww_sim):
    run = sync(didww_account)
    assert run.state == SyncState.SUCCEEDED, run.error_message
    assert run.added == len(didww_sim.dids) == PhoneNumber.objects.filter(account=didww_account).count()
    assert NumberChange.objects.count() == 0  # first_seen says "added"
    number = PhoneNumber.objects.get(external_id=didww_sim.dids[0]["id"])
    assert number.first_seen == number.last_seen == number.last_changed_at
    assert number.content_hash and number.e164.startswith("+") and number.digits == number.e164[1:]
    assert number.national_digits and number.e164.endswith(number.national_digits)
    assert isinstance(number.raw, dict) and number.raw  # stored as JSON, not as a string


def test_noop_resync_writes_no_row_version(didww_account):
    sync(didww_account)
    before = row_versions(didww_account)
    run = sync(didww_account)
    assert (run.added, run.changed, run.removed, run.unchanged) == (0, 0, 0, len(before))
    assert row_versions(didww_account) == before
    assert NumberChange.objects.count() == 0


def test_changed_listing_writes_exactly_the_changed_rows_and_their_history(didww_account, didww_sim):
    sync(didww_account)
    stored = {n.external_id: n for n in PhoneNumber.objects.filter(account=didww_account)}
    before = row_versions(didww_account)
    first, second = didww_sim.dids[0], didww_sim.dids[1]
    didww_sim.update_did(first["id"], description="moved to support line")
    didww_sim.update_did(second["id"], capacity_limit=(second["capacity_limit"] or 0) + 7)
    (added,) = didww_sim.add_dids(1)
    run = sync(didww_account)
    assert (run.changed, run.added, run.removed) == (2, 1, 0)

    after = row_versions(didww_account)
    rewritten = {ext for ext in before if after[ext] != before[ext]}
    assert rewritten == {first["id"], second["id"]}
    assert set(after) - set(before) == {added["id"]}

    history = {(c.number.external_id, c.kind, c.field, c.old_value, c.new_value)
               for c in NumberChange.objects.select_related("number")}
    old_first, old_second = stored[first["id"]], stored[second["id"]]
    assert history == {
        (first["id"], ChangeKind.CHANGED, "description", old_first.description, "moved to support line"),
        (second["id"], ChangeKind.CHANGED, "capacity_limit", stored_text(old_second.capacity_limit),
         stored_text((second["capacity_limit"]))),
        (added["id"], ChangeKind.ADDED, "", "", ""),
    }
    new_first = PhoneNumber.objects.get(pk=old_first.pk)
    assert new_first.first_seen == old_first.first_seen  # kept by the upsert
    assert new_first.last_changed_at > old_first.last_changed_at and new_first.content_hash != old_first.content_hash

    # And the next unchanged re-sync writes nothing again.
    settled = row_versions(didww_account)
    assert sync(didww_account).unchanged == len(settled)
    assert row_versions(didww_account) == settled


def test_removed_number_listed_again_is_restored_with_its_status(didww_account, didww_sim):
    sync(didww_account)
    gone = didww_sim.remove_did(didww_sim.dids[3]["id"])
    sync(didww_account)  # the provider's lookup says "not found": removed
    number = PhoneNumber.objects.get(external_id=gone["id"])
    assert number.removed_at is not None and number.status == NumberStatus.REMOVED
    didww_sim.restore_did(gone)
    before = row_versions(didww_account)
    run = sync(didww_account)
    assert run.restored == 1 and run.changed == 1
    after = row_versions(didww_account)
    assert {ext for ext in before if after[ext] != before[ext]} == {gone["id"]}
    number.refresh_from_db()
    assert number.removed_at is None and number.status != NumberStatus.REMOVED
    kinds = set(NumberChange.objects.filter(number=number, run=run).values_list("kind", "field"))
    assert kinds == {(ChangeKind.RESTORED, "")}  # the status coming back is part of "restored"
