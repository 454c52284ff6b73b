"""Provider account writes: create/update with validated base URL and write-only secrets."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from providers import registry
from providers.base import ProviderClient
from providers.errors import ProviderError, UnsafeURL

from ..crypto import SecretsUnavailable
from ..validators import validate_base_url
from .audit import audit
from ..models import ProviderAccount


def clean_secrets(provider: str, secrets: dict[str, str], *, partial: bool) -> dict[str, str]:
    spec = registry.get(provider)
    unknown = set(secrets) - set(spec.secret_fields)
    if unknown:
        raise ValidationError(f"Unknown secret(s) for {spec.name}: {', '.join(sorted(unknown))}. Expected: {', '.join(spec.secret_fields)}.")
    cleaned = {k: v.strip() for k, v in secrets.items() if v and v.strip()}
    missing = [k for k in spec.secret_fields if k not in cleaned]
    if missing and not partial:
        raise ValidationError(f"Missing secret(s): {', '.join(missing)}.")
    if cleaned and spec.validate_secrets is not None:
        try:
            spec.validate_secrets(cleaned)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
    return cleaned


@transaction.atomic
def account_create(
    *, provider: str, name: str, base_url: str = "", config: dict | None = None, secrets: dict[str, str],
    sync_interval_minutes: int | None = None, enabled: bool = True, user=None,
) -> ProviderAccount:
    if provider not in registry.PROVIDERS:
        raise ValidationError(f"Unknown provider {provider!r}. Known: {', '.join(registry.PROVIDERS)}.")
    if ProviderAccount.objects.filter(name=name).exists():
        raise ValidationError(f"An account named {name!r} already exists.")
    account = ProviderAccount(
        provider=provider,
        name=name,
        base_url=validate_base_url(provider, base_url),
        config=config or {},
        enabled=enabled,
        sync_interval_minutes=sync_interval_minutes or settings.DEFAULT_SYNC_INTERVAL_MINUTES,
    )
    account.set_secrets(clean_secrets(provider, secrets, partial=False))
    account.full_clean(exclude=["secrets_encrypted"])
    account.save()
    audit(user, "account.create", account, {"provider": provider, "base_url": account.base_url})
    return account


@transaction.atomic
def account_update(account: ProviderAccount, *, secrets: dict[str, str] | None = None, user=None, **fields) -> ProviderAccount:
    """Blank secret fields keep the stored value (secrets are write-only)."""
    if "base_url" in fields:
        fields["base_url"] = validate_base_url(account.provider, fields["base_url"])
    for key, value in fields.items():
        setattr(account, key, value)
    changed_secrets = clean_secrets(account.provider, secrets or {}, partial=True)
    if changed_secrets:
        try:
            current = account.get_secrets()
        except SecretsUnavailable:
            current = {}
        account.set_secrets({**current, **changed_secrets})
    account.full_clean(exclude=["secrets_encrypted"])
    account.save()
    audit(user, "account.update", account, {"fields": sorted(fields), "secrets_changed": sorted(changed_secrets)})
    return account


def build_client(account: ProviderAccount, **http_opts) -> ProviderClient:
    """Re-checks the stored base URL (a row written before validation, or by hand in the
    database, must not receive credentials either)."""
    try:
        validate_base_url(account.provider, account.base_url)
    except ValidationError as exc:
        raise UnsafeURL(f"refused to connect: {' '.join(exc.messages)}") from None
    http_opts.setdefault("timeout", settings.PROVIDER_HTTP_TIMEOUT)
    return account.spec.client(
        base_url=account.base_url, secrets=account.get_secrets(), config=account.config, **http_opts
    )


@dataclass
class ConnectionResult:
    ok: bool
    message: str
    error_class: str = ""


def account_test_connection(account: ProviderAccount, user=None) -> ConnectionResult:
    try:
        client = build_client(account, timeout=min(15.0, settings.PROVIDER_HTTP_TIMEOUT))
    except SecretsUnavailable as exc:
        return ConnectionResult(False, str(exc), "secrets")
    except ProviderError as exc:  # e.g. a stored base URL that fails validation
        return ConnectionResult(False, str(exc), exc.error_class)
    try:
        result = ConnectionResult(True, client.test_connection())
    except ProviderError as exc:
        result = ConnectionResult(False, str(exc), exc.error_class)
    finally:
        client.close()
    audit(user, "account.test", account, {"ok": result.ok, "error_class": result.error_class})
    return result
