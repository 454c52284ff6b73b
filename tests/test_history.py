"""A number's timeline reads like a sentence: names and labels, never raw ids or codes."""

from __future__ import annotations

import re

import pytest

from numbersadmin.inventory.models import PhoneNumber, Trunk

from .support.helpers import sync

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def moved(didww_sim, didww_account):
    """A DID moved from one trunk to another, suspended and re-described between two syncs."""
    assert sync(didww_account).state == "succeeded"
    number = PhoneNumber.objects.exclude(trunk=None).filter(status="active").order_by("pk").first()
    old_trunk = number.trunk
    new_trunk = Trunk.objects.exclude(pk=old_trunk.pk).order_by("pk").first()
    didww_sim.update_did(number.external_id, voice_in_trunk_id=new_trunk.external_id, blocked=True,
                         description="Moved to the new PBX")
    assert sync(didww_account).state == "succeeded"
    return number, old_trunk, new_trunk


def test_number_page_timeline_names_trunks_and_labels_statuses(moved, admin_client):
    number, old_trunk, new_trunk = moved
    admin_client.post(f"/numbers/{number.pk}/notes/", {"note": "Port-out requested", "tags": "porting"})
    body = admin_client.get(f"/numbers/{number.pk}/").content.decode()
    timeline = body[body.index("<h2>Timeline</h2>"):]
    timeline = timeline[:timeline.index("</table>")]
    rows = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "|", r)).strip("| ") for r in timeline.split("<tr>")[2:]]
    assert any("Trunk|" in r.replace("| |", "|") and old_trunk.name in r and new_trunk.name in r for r in rows), rows
    assert any("Status" in r and "Active" in r and "Suspended" in r for r in rows), rows
    assert any("Tags added porting" in r and "alice" in r for r in rows), rows
    assert any("Note written" in r for r in rows), rows
    assert any("First seen" in r for r in rows), rows
    # No raw ids or field names anywhere in the timeline.
    assert "trunk_id" not in timeline and "_id<" not in timeline
    assert f">{old_trunk.pk}<" not in timeline and f">{new_trunk.pk}<" not in timeline
    # The provider's own status words stay as the provider wrote them, under their own label.
    assert any(r.startswith(r.split("|")[0]) and "Provider status" in r and "blocked" in r for r in rows), rows


def test_api_history_keeps_stored_values_and_adds_readable_ones(moved, admin_user):
    from rest_framework.test import APIClient

    number, old_trunk, new_trunk = moved
    api = APIClient()
    api.force_authenticate(admin_user)
    history = api.get(f"/api/v1/numbers/{number.pk}/history/").json()
    trunk = next(h for h in history if h["field"] == "trunk_id")
    assert (trunk["old_value"], trunk["new_value"]) == (str(old_trunk.pk), str(new_trunk.pk))
    assert (trunk["field_label"], trunk["old_display"], trunk["new_display"]) == ("Trunk", old_trunk.name, new_trunk.name)
    status = next(h for h in history if h["field"] == "status")
    assert (status["old_display"], status["new_display"]) == ("Active", "Suspended")


def test_a_deleted_related_object_reads_as_deleted(moved, admin_client):
    from numbersadmin.inventory.history import readable

    assert readable("trunk_id", "987654", {}) == "#987654 (deleted)"
    assert readable("trunk_id", "", {}) == "—"
    assert readable("sms", "True", {}) == "Yes"
