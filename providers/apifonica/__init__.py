"""Apifonica REST v2 (api.apifonica.com/v2). Docs: apifonica.com/en/docs/api/rest/get-list-rented-numbers/
; wire facts in providers/WIRE.md section 4."""

from __future__ import annotations

from ..base import ProviderSpec
from ..redaction import RawRedaction


def _client(**kw):
    from .client import ApifonicaClient

    return ApifonicaClient(**kw)


SPEC = ProviderSpec(
    slug="apifonica",
    name="Apifonica",
    default_base_url="https://api.apifonica.com/v2",
    secret_fields=("account_sid", "auth_token"),
    config_fields=(),
    client_factory=_client,
    # Every number carries the account SID (the Basic-auth user) and SIP numbers a ``token``
    # (a credential, per the API docs); URIs embed the SID after /accounts/.
    raw_redaction=RawRedaction(keys=frozenset({"account_sid", "token"}), segments=("accounts",)),
    docs="Account SID and auth token from the Apifonica dashboard (used as HTTP Basic credentials). "
    "Read-only: the sync lists rented numbers (GET /accounts/{accountSID}/numbers, 20 per page).",
)
