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


def test_redaction_to_json_text_matches_the_walk():
    """``dumps`` (what the PostgreSQL apply COPYs) walks a payload only when its text shows a key
    or a segment; its text is always that of the redacted payload, whatever the nesting."""
    redact = RawRedaction(keys=frozenset({"token", "sub_account"}), segments=("Account", "accounts"))
    payloads = [
        {}, [], "plain", 5, None,
        {"token": "s3cret", "a": [{"b": {"token": "x", "sub_account": 7}}, "/v1/Account/SECRET/Number/1/"]},
        {"uri": "/v1/ACCOUNT/abc", "other": "/v2/accounts/", "tail": "x/accounts/ID?q=1#f"},
        {"token": "", "sub_account": None, "text": "token: not a key", "nested": [[["/Account/deep/"]]]},
        {"caf\u00e9": "/Account/\u00e9t\u00e9/x", "k": "no slash here"},
        {"a": {"b": {"c": "nothing to hide"}}, "list": [1, 2.5, True, None, "x"]},
    ]
    for payload in payloads:
        assert redact.dumps(payload) == json.dumps(redact(payload)), payload
    nothing = RawRedaction()
    assert nothing.dumps({"token": "kept"}) == json.dumps({"token": "kept"})
    # Keys only: the walk leaves strings alone, a key is replaced only when set.
    keys_only = RawRedaction(keys=frozenset({"orgId"}))
    assert keys_only({"orgId": "o", "x": "/Account/a/", "l": [{"orgId": ""}]}) == {
        "orgId": REDACTED, "x": "/Account/a/", "l": [{"orgId": ""}]}
    assert keys_only.dumps({"id": "L1", "name": "orgId"}) == json.dumps({"id": "L1", "name": "orgId"})
