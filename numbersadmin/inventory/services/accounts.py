"""Provider account writes: create/update with validated base URL and write-only secrets."""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from providers import registry
from providers.base import ProviderClient
from providers.errors import ProviderError, UnsafeURL

from ..crypto import SecretsUnavailable
from ..validators import validate_base_url
from .audit import audit
from ..models import (CallerId, CallerIdChange, Location, LocationChange, NumberChange, NumberGroup, Owner, OwnerChange,
                      PhoneNumber, ProviderAccount, SyncRun, Trunk, TrunkGroup)


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


# --- lifecycle: archive, delete, duplicates ------------------------------------------------------


@transaction.atomic
def account_archive(account: ProviderAccount, user=None) -> ProviderAccount:
    """Stop syncing it and take its rows out of lists and totals; everything (history too) is kept."""
    if account.archived_at is None:
        account.archived_at, account.enabled = timezone.now(), False
        account.save(update_fields=["archived_at", "enabled", "updated_at"])
        audit(user, "account.archive", account, {"provider": account.provider})
    return account


@transaction.atomic
def account_unarchive(account: ProviderAccount, user=None) -> ProviderAccount:
    """Back in lists and totals; syncing stays off until someone enables it."""
    if account.archived_at is not None:
        account.archived_at = None
        account.save(update_fields=["archived_at", "updated_at"])
        audit(user, "account.unarchive", account, {"provider": account.provider})
    return account


def account_footprint(account: ProviderAccount) -> dict[str, int]:
    """What deleting the account deletes, counted (the confirmation page shows it)."""
    return {
        "numbers": PhoneNumber.objects.filter(account=account).count(),
        "history rows": sum(model.objects.filter(**{f"{subject}__account": account}).count() for model, subject in (
            (NumberChange, "number"), (CallerIdChange, "caller_id"), (OwnerChange, "owner"), (LocationChange, "location"))),
        "caller IDs": CallerId.objects.filter(account=account).count(),
        "owners": Owner.objects.filter(account=account).count(),
        "locations": Location.objects.filter(account=account).count(),
        "trunks": Trunk.objects.filter(account=account).count(),
        "trunk groups": TrunkGroup.objects.filter(account=account).count(),
        "DID groups and pools": NumberGroup.objects.filter(account=account).count(),
        "sync runs": SyncRun.objects.filter(account=account).count(),
    }


@transaction.atomic
def account_delete(account: ProviderAccount, *, confirm_name: str, user=None) -> dict[str, int]:
    """Delete the account and everything mirrored from it, in one transaction; the audit row
    keeps the name and the counts. ``confirm_name`` must repeat the account's name."""
    if (confirm_name or "").strip() != account.name:
        raise ValidationError({"confirm_name": "Type the account's name exactly to delete it."})
    if account.sync_lease_until is not None and account.sync_runs.filter(state="running").exists():
        raise ValidationError("A sync of this account is running; wait for it to finish (or disable the account first).")
    counts = account_footprint(account)
    # Children first: inventory rows PROTECT their account (no cascade by accident elsewhere).
    for model in (PhoneNumber, CallerId, Owner, Trunk, TrunkGroup, NumberGroup, Location):
        model.objects.filter(account=account).delete()
    name, provider, pk = account.name, account.provider, account.pk
    account.delete()
    audit(user, "account.delete", name, {"provider": provider, "account_id": pk, "deleted": counts})
    return counts


def _voximplant_account_id(secrets: dict) -> str:
    try:
        doc = json.loads(secrets.get("credentials_json") or "")
    except (TypeError, ValueError):
        return ""
    return str(doc.get("account_id") or "") if isinstance(doc, dict) else ""


# provider -> (secrets, config) -> the provider-side account it reaches ("" = unknown). DIDWW has no
# identity besides its API key (compared with the other credentials).
IDENTITY = {
    "webex": lambda secrets, config: str(config.get("org_id") or ""),
    "plivo": lambda secrets, config: str(secrets.get("auth_id") or ""),
    "apifonica": lambda secrets, config: str(secrets.get("account_sid") or ""),
    "voximplant": lambda secrets, config: _voximplant_account_id(secrets),
}


def same_provider_account(provider: str, a: tuple[str, dict, dict], b: tuple[str, dict, dict]) -> str:
    """Why two configurations (base URL, secrets, config) of ``provider`` reach one provider-side
    account, or "": the same credentials, or the same base URL and the same provider account id."""
    (url_a, secrets_a, config_a), (url_b, secrets_b, config_b) = a, b
    secrets_a = {k: v for k, v in secrets_a.items() if v}
    secrets_b = {k: v for k, v in secrets_b.items() if v}
    if secrets_a and secrets_a == secrets_b:
        return "the same credentials"
    identity = IDENTITY.get(provider, lambda secrets, config: "")
    if (url_a.rstrip("/").lower() == url_b.rstrip("/").lower()
            and (ident := identity(secrets_a, config_a or {})) and ident == identity(secrets_b, config_b or {})):
        return "the same base URL and provider account"
    return ""


def stored_secrets(account: ProviderAccount) -> dict[str, str]:
    try:
        return account.get_secrets()
    except SecretsUnavailable:
        return {}


def find_duplicates(provider: str, base_url: str, secrets: dict[str, str], config: dict | None = None,
                    exclude_pk: int | None = None) -> list[ProviderAccount]:
    """Existing accounts that are the provider account this configuration reaches
    (``same_provider_account``; the reconciliation centre uses the same rule). Secrets are compared
    in memory only."""
    base_url = validate_base_url(provider, base_url)
    mine = (base_url, secrets, config or {})
    return [other for other in ProviderAccount.objects.filter(provider=provider).exclude(pk=exclude_pk)
            if same_provider_account(provider, mine, (other.base_url, stored_secrets(other), other.config or {}))]


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
