"""The documented Webex example responses (and a hand-made second page like them), served from a
plain loopback server that paginates with Link headers, synced through the real CLI, exported."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from providers.simulators.server import SimResponse, Simulator
from .support.helpers import export_rows
from .support.fixtures import fixture_dir

pytestmark = pytest.mark.django_db(transaction=True)
FIXTURES = fixture_dir("webex")
if not FIXTURES.is_dir():
    pytest.skip(f"recorded Webex examples not found at {FIXTURES}", allow_module_level=True)

TOKEN = "recorded-webex-token-1"
PAGE_2 = {"phoneNumbers": [  # like the documented rows: a London virtual line, a toll-free, an unassigned one
    {"phoneNumber": "+442079460321", "extension": "2001", "state": "ACTIVE", "phoneNumberType": "PRIMARY",
     "mainNumber": True, "includedTelephonyTypes": "PSTN_NUMBER", "tollFreeNumber": False, "isServiceNumber": False,
     "location": {"id": "LOC-LONDON", "name": "London"},
     "owner": {"id": "VL-1", "type": "VIRTUAL_LINE", "firstName": "Reception", "lastName": "Line"}},
    {"phoneNumber": "+18005550142", "state": "INACTIVE", "phoneNumberType": "PRIMARY", "mainNumber": False,
     "includedTelephonyTypes": "PSTN_NUMBER", "tollFreeNumber": True, "isServiceNumber": True,
     "location": {"id": "LOC-LONDON", "name": "London"}},
]}


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


class RecordedWebex(Simulator):
    name = "webex-recorded"
    base_path = "/v1"

    def handle(self, req):
        if req.headers.get("authorization") != f"Bearer {TOKEN}":
            body = {"message": "The request requires a valid access token.", "errors": [], "trackingId": "ROUTER_REC_1"}
            return SimResponse(401, json.dumps(body).encode(),
                               {"Content-Type": "application/json", "TrackingID": "ROUTER_REC_1"})
        path = req.path
        if path == "/v1/telephony/config/numbers":
            if req.param("start", "0") == "0":
                doc = load("doc_example_telephony_config_numbers_200.json")
                nxt = f"http://{req.headers['host']}/v1/telephony/config/numbers?max=3&start=3"
                return SimResponse(200, json.dumps(doc).encode(),
                                   {"Content-Type": "application/json", "Link": f'<{nxt}>; rel="next"'}, page=1)
            return SimResponse.json(200, PAGE_2, page=2)
        if path == "/v1/telephony/config/locations":
            return SimResponse.json(200, load("doc_example_telephony_config_locations_list_200.json"))
        if path == "/v1/locations":
            return SimResponse.json(200, load("doc_example_locations_list_200.json"))
        if path.endswith("/externalCallerId/availableNumbers"):
            return SimResponse.json(200, load("doc_example_location_externalCallerId_availableNumbers_200.json"))
        return SimResponse.json(404, {"message": "not found", "errors": [], "trackingId": "ROUTER_REC_404"})


def export(name: str, tmp_path) -> list[dict]:
    out = tmp_path / f"{name}.csv"
    call_command("export", name, "-o", str(out), stderr=io.StringIO())
    return list(export_rows(out))


def test_documented_examples_sync_into_owners_and_locations(tmp_path):
    with RecordedWebex() as server:
        call_command("add_account", "webex", "wx", "--base-url", server.base_url, "--secret", f"access_token={TOKEN}",
                     stdout=io.StringIO())
        out = io.StringIO()
        call_command("sync", "wx", stdout=out)
        assert "Succeeded" in out.getvalue(), out.getvalue()
        assert any("start=3" in "&".join(f"{k}={v}" for k, v in r.query) for r in server.requests)  # Link followed

    numbers = {r["e164"]: r for r in export("numbers", tmp_path)}
    assert set(numbers) == {"+12056350001", "+12026282002", "+442079460321", "+18005550142"}  # extension-only row skipped
    assert (numbers["+12056350001"]["owner"], numbers["+12056350001"]["owner_type"]) == ("sadiqhussain96 sadiqhussain96", "PEOPLE")
    assert numbers["+12056350001"]["location"] == "Banglore"
    assert numbers["+12026282002"]["owner"] == "" and numbers["+12026282002"]["main_number"] == "yes"
    assert numbers["+12026282002"]["location"] == "Washington"
    assert (numbers["+442079460321"]["owner"], numbers["+442079460321"]["owner_type"]) == ("Reception Line", "VIRTUAL_LINE")
    assert numbers["+18005550142"]["kind"] == "toll_free" and numbers["+18005550142"]["status"] == "inactive"

    owners = {r["name"]: r for r in export("owners", tmp_path)}
    assert owners["sadiqhussain96 sadiqhussain96"]["type"] == "PEOPLE"
    assert "chandru_2 test_2" in owners  # holds only an extension, still an owner
    assert owners["Reception Line"]["numbers"] == "1"
    assert {"HUNT_GROUP", "VIRTUAL_LINE"} <= {r["type"] for r in owners.values()}

    locations = {r["name"]: r for r in export("locations", tmp_path)}
    assert {"Denver", "Banglore", "Washington", "London"} <= set(locations)
    assert locations["Denver"]["main_number"] == "+12145556985"
    assert locations["Banglore"]["numbers"] == "1"


def test_wrong_token_fails_as_authentication_with_tracking_id(capsys):
    from numbersadmin.inventory.models import SyncRun

    with RecordedWebex() as server:
        call_command("add_account", "webex", "wx2", "--base-url", server.base_url, "--secret", "access_token=nope-nope",
                     stdout=io.StringIO())
        with pytest.raises(SystemExit):
            call_command("sync", "wx2")
    run = SyncRun.objects.get(account__name="wx2")
    assert run.error_class == "auth" and "authentication failed" in run.error_message
    assert run.tracking_id == "ROUTER_REC_1"
