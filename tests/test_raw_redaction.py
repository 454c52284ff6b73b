"""Raw provider payloads are stored without account identifiers or per-number credentials
(Plivo auth_id in every resource_uri, Apifonica account_sid and SIP token), and what was stored
before redaction existed is scrubbed by a data migration."""

from __future__ import annotations

import importlib
import json

import pytest
from django.apps import apps

from numbersadmin.inventory.models import CallerId, Location, NumberGroup, Owner, PhoneNumber
from providers.redaction import REDACTED, RawRedaction

from .faults.harness import CASES, make_account
from .support.helpers import sync

pytestmark = pytest.mark.django_db(transaction=True)


def stored_raw(account) -> str:
    return json.dumps([list(m.objects.filter(account=account).values_list("raw", flat=True))
                       for m in (PhoneNumber, CallerId, Location, Owner, NumberGroup)])


@pytest.fixture
def synced():
    sims = []

    def make(slug):
        case = CASES[slug](60, 9)
        case.sim.start()
        sims.append(case.sim)
        account = make_account(case)
        assert sync(account).state == "succeeded"
        return case, account

    yield make
    for sim in sims:
        sim.stop()


def test_plivo_auth_id_never_stored(synced, admin_client):
    case, account = synced("plivo")
    auth_id = case.secrets["auth_id"]
    assert auth_id in json.dumps(case.sim.numbers)  # the provider does send it
    raw = stored_raw(account)
    assert auth_id not in raw and "/Account/[redacted]/" in raw
    number = PhoneNumber.objects.filter(account=account).first()
    page = admin_client.get(number.get_absolute_url()).content.decode()
    assert auth_id not in page and "resource_uri" in page  # structure kept


def test_apifonica_account_sid_and_sip_token_never_stored(synced):
    case, account = synced("apifonica")
    sid = case.secrets["account_sid"]
    tokens = [n["token"] for n in case.sim.numbers if n.get("token")]
    assert tokens, "the seed has SIP numbers with a token"
    raw = stored_raw(account)
    assert sid not in raw and not any(t in raw for t in tokens)
    sample = PhoneNumber.objects.filter(account=account).first().raw
    assert sample["account_sid"] == REDACTED and "number_sid" in sample


def test_migration_scrubs_payloads_stored_before(synced):
    case, account = synced("plivo")
    number = PhoneNumber.objects.filter(account=account).first()
    leaked = {"resource_uri": f"/v1/Account/{case.secrets['auth_id']}/Number/{number.external_id}/"}
    PhoneNumber.objects.filter(pk=number.pk).update(raw=leaked)
    migration = importlib.import_module("numbersadmin.inventory.migrations.0007_scrub_raw_payloads")
    migration.scrub(apps, None)
    number.refresh_from_db()
    assert number.raw == {"resource_uri": f"/v1/Account/{REDACTED}/Number/{number.external_id}/"}


def test_redaction_keeps_structure_and_other_values():
    redact = RawRedaction(keys=frozenset({"token"}), segments=("accounts",))
    raw = {"token": "s3cret", "empty": None, "token_list": [{"token": None}],
           "uri": "https://h/v2/accounts/AC123/numbers/N1?x=1", "n": 5}
    assert redact(raw) == {"token": REDACTED, "empty": None, "token_list": [{"token": None}],
                           "uri": f"https://h/v2/accounts/{REDACTED}/numbers/N1?x=1", "n": 5}


def test_didww_trunk_sip_credentials_never_stored(synced):
    from numbersadmin.inventory.models import Trunk

    case, account = synced("didww")
    trunk = next(t for t in case.sim.voice_in_trunks if (t.get("configuration") or {}).get("type") == "sip_configurations")
    config = trunk["configuration"]["attributes"]
    config.update(auth_user="sip-user-CNRY", auth_password="sip-pass-CNRY", auth_from_user="from-CNRY")
    sync(account)
    raw = json.dumps(list(Trunk.objects.filter(account=account).values_list("raw", flat=True)))
    assert "CNRY" not in raw and '"auth_password": "[redacted]"' in raw
