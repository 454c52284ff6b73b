"""Plivo responses recorded in the official SDKs' test suites (objects taken verbatim; the
placeholder "{your_number}" pool entries filled with the recorded account numbers, and GB mobile
numbers written in the same shape), re-paged with consistent meta on a loopback server, synced
through the real CLI, then exported."""

from __future__ import annotations

import copy
import io
import json

import pytest
from django.core.management import call_command

from providers.simulators.server import SimResponse, Simulator
from .support.helpers import export_rows
from .support.fixtures import fixture_dir

pytestmark = pytest.mark.django_db(transaction=True)
FIXTURES = fixture_dir("plivo")
if not FIXTURES.is_dir():
    pytest.skip(f"recorded Plivo responses not found at {FIXTURES}", allow_module_level=True)

AUTH_ID, TOKEN = "MANWVLYTK4ZWU1YTY4ZT", "recorded-plivo-token"


def load(name):
    return json.loads((FIXTURES / name).read_text())


def build():
    numbers = copy.deepcopy(load("python_numberListResponse.json")["objects"])
    gb = copy.deepcopy(numbers[0])  # same shape, a GB SMS-capable mobile
    gb.update(number="447700900123", number_type="mobile", country="United Kingdom", region="London, UNITED KINGDOM",
              city="London", sms_enabled=True, mms_enabled=False, monthly_rental_rate="1.20000", alias="UK support",
              resource_uri=f"/v1/Account/{AUTH_ID}/Number/447700900123/", renewal_date="2026-12-20")
    numbers.append(gb)
    powerpacks = copy.deepcopy(load("python_powerpackListResponse.json")["objects"])
    template = load("python_powerpackListNumbersResponse.json")["objects"][0]
    pool_uuid = powerpacks[0]["number_pool"].rstrip("/").split("/")[-1]
    pool = []
    for n in (numbers[0]["number"], gb["number"]):
        entry = copy.deepcopy(template)
        entry.update(number=n, number_pool_uuid=pool_uuid, service="sms",
                     account_phone_number_resource=f"/v1/Account/{AUTH_ID}/Number/{n}/",
                     country_iso2="GB" if n.startswith("44") else "US", type="mobile" if n.startswith("44") else "fixed")
        pool.append(entry)
    return numbers, powerpacks, {pool_uuid: pool}


class RecordedPlivo(Simulator):
    name = "plivo-recorded"
    base_path = "/v1"

    def __init__(self):
        super().__init__()
        self.numbers, self.powerpacks, self.pools = build()

    def handle(self, req):
        import base64

        expected = "Basic " + base64.b64encode(f"{AUTH_ID}:{TOKEN}".encode()).decode()
        if req.headers.get("authorization") != expected:
            return SimResponse.json(401, {"api_id": "rec-401", "error": "Authentication credentials invalid."})
        prefix = f"/v1/Account/{AUTH_ID}/"
        path = req.path
        if path == prefix + "Powerpack/":
            items = self.powerpacks
        elif path == prefix + "Number/":
            items = self.numbers
        elif path.startswith(prefix + "NumberPool/") and path.endswith("/Number/"):
            items = self.pools.get(path.split("/")[-3], [])
        else:
            return SimResponse.json(404, {"api_id": "rec-404", "error": "not found"})
        limit, offset = int(req.param("limit", "20")), int(req.param("offset", "0"))
        page = items[offset:offset + limit]
        more = offset + limit < len(items)
        meta = {"limit": limit, "offset": offset, "total_count": len(items), "previous": None,
                "next": f"{path}?limit={limit}&offset={offset + limit}" if more else None}
        return SimResponse.json(200, {"api_id": "rec", "meta": meta, "objects": page}, page=offset // limit + 1)


def test_recorded_plivo_syncs_with_capabilities_type_cost_and_pools(tmp_path):
    with RecordedPlivo() as server:
        call_command("add_account", "plivo", "pl", "--base-url", server.base_url, "--secret", f"auth_id={AUTH_ID}",
                     "--secret", f"auth_token={TOKEN}", "--config", "page_size=2", stdout=io.StringIO())
        out = io.StringIO()
        call_command("sync", "pl", stdout=out)
        assert "Succeeded" in out.getvalue(), out.getvalue()
    path = tmp_path / "numbers.csv"
    call_command("export", "numbers", "-o", str(path), stderr=io.StringIO())
    rows = {r["e164"]: r for r in export_rows(path)}
    assert set(rows) == {"+18135401302", "+14153661106", "+14152753408", "+447700900123"}
    first = rows["+18135401302"]
    assert (first["voice"], first["sms"], first["mms"]) == ("yes", "yes", "no")
    assert first["kind"] == "local" and first["monthly_cost"].startswith("0.8") and first["currency"] == "USD"
    gb = rows["+447700900123"]
    assert gb["kind"] == "mobile" and gb["sms"] == "yes" and gb["country"] == "GB" and gb["description"] == "UK support"
    from numbersadmin.inventory.models import NumberGroup, PhoneNumber

    pool = NumberGroup.objects.get(group_type="number_pool", name="vishnu_sep_01")
    assert set(PhoneNumber.objects.filter(pools=pool).values_list("e164", flat=True)) == {"+18135401302", "+447700900123"}


def test_wrong_credentials_fail_as_authentication():
    with RecordedPlivo() as server:
        call_command("add_account", "plivo", "pl2", "--base-url", server.base_url, "--secret", f"auth_id={AUTH_ID}",
                     "--secret", "auth_token=wrong-token", stdout=io.StringIO())
        err = io.StringIO()
        with pytest.raises(SystemExit):
            call_command("sync", "pl2", stderr=err)
    assert "authentication failed" in err.getvalue() and "wrong-token" not in err.getvalue()
