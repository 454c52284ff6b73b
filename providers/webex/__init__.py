"""Webex Calling (webexapis.com/v1). Docs: developer.webex.com/docs/api/v1/numbers ; wire facts
in providers/WIRE.md section 3."""

from __future__ import annotations

from ..base import ProviderSpec
from ..redaction import RawRedaction


def _client(**kw):
    from .client import WebexClient

    return WebexClient(**kw)


SPEC = ProviderSpec(
    slug="webex",
    name="Webex Calling",
    default_base_url="https://webexapis.com/v1",
    secret_fields=("access_token",),
    config_fields=("org_id",),
    client_factory=_client,
    raw_redaction=RawRedaction(keys=frozenset({"orgId"})),  # the organisation id, on every location
    docs="Access token of a full or read-only administrator (or location administrator) with the "
    "spark-admin:telephony_config_read scope; spark-admin:locations_read adds location addresses. "
    "org_id is optional (partner administrators: the customer organization's id).",
)
