"""Voximplant Management API (GetPhoneNumbers, GetCallerIDs). Docs:
voximplant.com/docs/references/httpapi ; wire facts in providers/WIRE.md section 1."""

from __future__ import annotations

from ..base import ProviderSpec


def parse_credentials(text):
    """Validate a service account's credentials.json text -> ``Credentials``; ``ValueError``
    (message safe to show, never quoting key material) otherwise. For the account form."""
    from .credentials import parse_credentials as parse

    return parse(text)


def _validate(secrets: dict) -> None:
    if "credentials_json" in secrets:
        parse_credentials(secrets["credentials_json"])


def _client(**kw):
    from .client import VoximplantClient

    return VoximplantClient(**kw)


SPEC = ProviderSpec(
    slug="voximplant",
    name="Voximplant",
    default_base_url="https://api.voximplant.com/platform_api",
    secret_fields=("credentials_json",),
    config_fields=(),
    tuning_fields=("page_size", "fetch_concurrency"),
    client_factory=_client,
    file_secrets=("credentials_json",),
    validate_secrets=_validate,
    docs="Upload the credentials.json of a service account (Control panel > Service accounts > "
    "Generate key) with the Owner or Admin role. Requests are signed with a short-lived RS256 JWT.",
)
