"""Voximplant-style responses (the documented envelope and item shapes, written out by hand since
no official fixture exists for these methods) served from a plain loopback server, synced through
the real CLI, then exported."""

from __future__ import annotations

import datetime as dt
import io
import json
import urllib.parse

import pytest
from django.core.management import call_command
from django.utils import timezone

from providers.simulators.server import SimResponse, Simulator
from providers.simulators.registry import demo_secrets
from .support.helpers import export_rows

pytestmark = pytest.mark.django_db(transaction=True)
TODAY = timezone.localdate()


def day(n: int) -> str:
    return (TODAY + dt.timedelta(days=n)).isoformat()


CALLER_IDS = [  # CallerIDInfoType, as documented
    {"callerid_id": 501, "callerid_number": "14155550101", "active": True, "verified_until": day(120)},
    {"callerid_id": 502, "callerid_number": "442079460958", "active": True, "verified_until": day(9)},
    {"callerid_id": 503, "callerid_number": "4930120333", "active": False, "verified_until": day(-15),
     "code_entering_attempts_left": 0, "verification_call_attempts_left": 1},
    {"callerid_id": 504, "callerid_number": "79261234567", "active": False,
     "code_entering_attempts_left": 5, "verification_call_attempts_left": 3},
]
PHONE_NUMBERS = [  # AttachedPhoneInfoType, as documented
    {"phone_id": 9001, "phone_number": "14155550199", "phone_price": 1.5, "phone_country_code": "US",
     "phone_next_renewal": day(20), "phone_purchase_date": "2025-01-15 10:00:00", "deactivated": False,
     "canceled": False, "auto_charge": True, "application_id": 77, "application_name": "ivr.demo",
     "category_name": "GEOGRAPHIC", "phone_region_name": "San Francisco", "is_sms_enabled": True,
     "is_sms_supported": True},
    {"phone_id": 9002, "phone_number": "442079460100", "phone_price": 3.0, "phone_country_code": "GB",
     "phone_next_renewal": day(3), "phone_purchase_date": "2024-06-01 08:30:00", "deactivated": True,
     "canceled": False, "auto_charge": False, "category_name": "GEOGRAPHIC", "phone_region_name": "London",
     "is_sms_enabled": False, "is_sms_supported": False},
    {"phone_id": 9003, "phone_number": "18005550123", "phone_price": 10, "phone_country_code": "US",
     "phone_next_renewal": day(40), "phone_purchase_date": "2023-03-03 03:03:03", "deactivated": False,
     "canceled": True, "auto_charge": False, "category_name": "TOLLFREE", "is_sms_enabled": False},
]


class RecordedVoximplant(Simulator):
    """Answers GetCallerIDs / GetPhoneNumbers with the documents above, paged by count/offset;
    requires a Bearer token; an unknown command gets the recorded in-body error (HTTP 200)."""

    name = "voximplant-recorded"
    base_path = "/platform_api"

    def handle(self, req):
        params = dict(req.query)
        params.update(urllib.parse.parse_qsl(req.body.decode()))
        method = req.path.rstrip("/").rsplit("/", 1)[-1]
        if method == "platform_api":
            method = params.get("cmd", "")
        if not req.headers.get("authorization", "").startswith("Bearer "):
            return SimResponse.json(200, {"error": {"msg": "Authorization failed", "code": 100}})
        items = {"GetCallerIDs": CALLER_IDS, "GetPhoneNumbers": PHONE_NUMBERS}.get(method)
        if items is None:
            return SimResponse.json(200, {"error": {"msg": "Unknown command.", "code": 103}})
        count, offset = int(params.get("count", 20)), int(params.get("offset", 0))
        page = items[offset:offset + min(count, 2)]  # small pages: paging must be exercised
        return SimResponse.json(200, {"result": page, "total_count": len(items), "count": len(page)},
                                page=offset // max(count, 1) + 1)


def test_recorded_voximplant_sync_exports_caller_ids_and_numbers(tmp_path):
    creds = tmp_path / "credentials.json"
    creds.write_text(demo_secrets("voximplant")["credentials_json"])
    with RecordedVoximplant() as server:
        call_command("add_account", "voximplant", "vox", "--base-url", server.base_url,
                     "--secret", f"credentials_json=@{creds}", stdout=io.StringIO())
        out = io.StringIO()
        call_command("sync", "vox", stdout=out)
        assert "Succeeded" in out.getvalue(), out.getvalue()
        # Our adapter signed every request with a JWT.
        assert all(r.headers["authorization"].startswith("Bearer ey") for r in server.requests)

    cids = tmp_path / "cids.csv"
    call_command("export", "caller_ids", "-o", str(cids), stderr=io.StringIO())
    states = {r["e164"]: r["verification_state"] for r in export_rows(cids)}
    assert states == {"+14155550101": "verified", "+442079460958": "expiring", "+4930120333": "expired",
                      "+79261234567": "unverified"}

    nums = tmp_path / "numbers.csv"
    call_command("export", "numbers", "--filter", "removed=all", "-o", str(nums), stderr=io.StringIO())
    rows = {r["e164"]: r for r in export_rows(nums)}
    assert set(rows) == {"+14155550199", "+442079460100", "+18005550123"}
    assert rows["+14155550199"]["provider"] == "voximplant" and rows["+14155550199"]["application"] == "ivr.demo"
    assert rows["+14155550199"]["status"] == "active" and rows["+14155550199"]["sms"] == "yes"
    assert rows["+14155550199"]["kind"] == "local" and rows["+14155550199"]["city"] in ("", "San Francisco")
    assert rows["+442079460100"]["status"] == "inactive"
    assert rows["+18005550123"]["status"] == "cancelling" and rows["+18005550123"]["kind"] == "toll_free"


@pytest.mark.parametrize("bad, message", [
    ("not json at all", "JSON"),
    (json.dumps({"account_id": 1, "key_id": "k"}), "private_key"),
])
def test_bad_credentials_file_is_refused_without_echo(tmp_path, bad, message):
    from django.core.management.base import CommandError

    path = tmp_path / "c.json"
    path.write_text(bad)
    with pytest.raises(CommandError) as exc:
        call_command("add_account", "voximplant", "vox2", "--secret", f"credentials_json=@{path}")
    assert message in str(exc.value) and bad not in str(exc.value)
