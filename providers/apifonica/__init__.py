"""Apifonica REST v2 (api.apifonica.com/v2). Docs: apifonica.com/en/docs/api/rest/get-list-rented-numbers/
; wire facts in providers/WIRE.md section 4."""

from __future__ import annotations

from ..base import ProviderSpec
from ..redaction import RawRedaction


def _client(**kw):
    from .client import ApifonicaClient

    return ApifonicaClient(**kw)


def _simulator(*, secrets: dict, numbers: int = 200, seed: int = 1, **kw):
    from ..simulators.apifonica import ApifonicaSimulator

    return ApifonicaSimulator(account_sid=secrets["account_sid"], auth_token=secrets["auth_token"],
                              numbers=numbers, seed=seed, **kw)


SPEC = ProviderSpec(
    slug="apifonica",
    name="Apifonica",
    default_base_url="https://api.apifonica.com/v2",
    secret_fields=("account_sid", "auth_token"),
    config_fields=(),
    client_factory=_client,
    simulator_factory=_simulator,
    demo_secrets={"account_sid": "AC0000demo0000apifonica", "auth_token": "demo-apifonica-token"},
    # Every number carries the account SID (the Basic-auth user) and SIP numbers a ``token``
    # (a credential, per the API docs); URIs embed the SID after /accounts/.
    raw_redaction=RawRedaction(keys=frozenset({"account_sid", "token"}), segments=("accounts",)),
    docs="Account SID and auth token from the Apifonica dashboard (used as HTTP Basic credentials). "
    "Read-only: the sync lists rented numbers (GET /accounts/{accountSID}/numbers, 20 per page).",
)
