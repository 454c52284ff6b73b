"""The documented Apifonica example (seed 003) served on loopback: page 1 is the example itself
(its opaque `next` cursor rewritten to this server), page 2 a hand-made page in the same shape
ending with `next: null`; synced through the real CLI, exported."""

from __future__ import annotations

import base64
import copy
import io

import pytest
from django.core.management import call_command

from providers.simulators.server import SimResponse, Simulator

from .providers.test_apifonica_adapter import DOC_EXAMPLE
from .support.helpers import export_rows

pytestmark = pytest.mark.django_db(transaction=True)
SID, TOKEN = "ACrecorded0001", "recorded-apifonica-token"


class RecordedApifonica(Simulator):
    name = "apifonica-recorded"
    base_path = "/v2"

    def handle(self, req):
        if req.headers.get("authorization") != "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode():
            return SimResponse.json(401, {"status_code": 401, "status_message": "UNAUTHORIZED"})
        if req.path != f"/v2/accounts/{SID}/numbers":
            return SimResponse.json(404, {"status_code": 404, "status_message": "NOT FOUND"})
        if req.param("next") is None:
            doc = copy.deepcopy(DOC_EXAMPLE)
            doc["numbers"][0].update(number_sid="numDOC1", account_sid=SID)
            # The example's cursor, kept opaque, pointed at this server instead of the official host.
            doc["next"] = f"http://{req.headers['host']}/v2/accounts/{SID}/numbers?next=57e4f04a0c9b2dfe504f27e2"
            return SimResponse.json(200, doc, page=1)
        assert req.param("next") == "57e4f04a0c9b2dfe504f27e2"
        item = copy.deepcopy(DOC_EXAMPLE["numbers"][0])
        item.update(number_sid="numDOC2", account_sid=SID, number="447700900777", type="mobile", voice=True,
                    messaging=True, msg_controller="", created="Mon, 02 Jan 2023 09:00:00 +0000")
        return SimResponse.json(200, {"limit": 20, "prev": None, "next": None, "numbers": [item]}, page=2)


def test_documented_example_syncs_and_exports(tmp_path):
    with RecordedApifonica() as server:
        call_command("add_account", "apifonica", "af", "--base-url", server.base_url, "--secret", f"account_sid={SID}",
                     "--secret", f"auth_token={TOKEN}", stdout=io.StringIO())
        out = io.StringIO()
        call_command("sync", "af", stdout=out)
        assert "Succeeded" in out.getvalue(), out.getvalue()
        # the message controller in the data was never fetched: only the listing was requested
        assert all(r.path == f"/v2/accounts/{SID}/numbers" for r in server.requests)
    path = tmp_path / "numbers.csv"
    call_command("export", "numbers", "-o", str(path), stderr=io.StringIO())
    rows = {r["e164"]: r for r in export_rows(path)}
    assert set(rows) == {"+447480600503", "+447700900777"}
    doc = rows["+447480600503"]
    assert (doc["kind"], doc["voice"], doc["sms"], doc["country"]) == ("local", "no", "yes", "GB")
    assert doc["acquired_at"].startswith("2016-03-31T08:16:59")  # RFC 2822 +0300 -> UTC
    mobile = rows["+447700900777"]
    assert (mobile["kind"], mobile["sms"]) == ("mobile", "yes")


def test_controllers_are_data_never_links(ops_client, tmp_path):
    with RecordedApifonica() as server:
        call_command("add_account", "apifonica", "af2", "--base-url", server.base_url, "--secret", f"account_sid={SID}",
                     "--secret", f"auth_token={TOKEN}", stdout=io.StringIO())
        call_command("sync", "af2", stdout=io.StringIO())
    from numbersadmin.inventory.models import PhoneNumber

    number = PhoneNumber.objects.get(e164="+447480600503")
    body = ops_client.get(f"/numbers/{number.pk}/").content.decode()
    assert "http://172.16.102.175:8082/messages/events" in body  # shown in the raw data...
    assert 'href="http://172.16.102.175' not in body  # ...never as a link
