"""Plivo REST API v1 (numbers + Powerpack number pools). Docs: plivo.com/docs/numbers/api ;
wire facts in providers/WIRE.md section 5."""

from __future__ import annotations

from ..base import ProviderSpec
from ..redaction import RawRedaction


def _client(**kw):
    from .client import PlivoClient

    return PlivoClient(**kw)


SPEC = ProviderSpec(
    slug="plivo",
    name="Plivo",
    default_base_url="https://api.plivo.com/v1",
    secret_fields=("auth_id", "auth_token"),
    config_fields=(),
    tuning_fields=("page_size", "fetch_concurrency"),
    client_factory=_client,
    # The auth_id (the Basic-auth user) sits in every resource_uri / number_pool path.
    # and a subaccount's auth_id is the bare ``sub_account`` field.
    raw_redaction=RawRedaction(keys=frozenset({"sub_account"}), segments=("Account",)),
    docs="Auth ID and Auth Token from the Plivo console overview page (HTTP Basic auth). Reads "
    "account numbers and the number pools of every Powerpack; monthly rates are in USD.",
)
