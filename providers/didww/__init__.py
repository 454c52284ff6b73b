"""DIDWW API v3 (JSON:API). Docs: doc.didww.com/api3 ; wire facts in providers/WIRE.md."""

from __future__ import annotations

from ..base import ProviderSpec
from ..redaction import RawRedaction


def _client(**kw):
    from .client import DidwwClient

    return DidwwClient(**kw)


SPEC = ProviderSpec(
    slug="didww",
    name="DIDWW",
    default_base_url="https://api.didww.com/v3",
    secret_fields=("api_key",),
    config_fields=(),
    tuning_fields=("page_size", "api_version", "fetch_concurrency"),
    # SIP trunk credentials (voice_in_trunks configuration) are kept out of the stored raw payload.
    raw_redaction=RawRedaction(keys=frozenset({"auth_user", "auth_password", "auth_from_user"})),
    client_factory=_client,
    docs="API key from the DIDWW portal (Settings > API). Requests pin X-DIDWW-API-Version 2026-04-16.",
)
