"""The one validation path for provider account settings. ``ProviderAccount.clean()`` calls these,
so the web form, the CLI (services), Django admin and any API all refuse the same input: the
provider's own host only over https on its default port, other hosts only from
PROVIDER_ALLOWED_HOSTS, valid ports, and only the config keys the adapter reads."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

from providers import registry
from providers.paging import MAX_CONCURRENCY

MAX_CONFIG_VALUE = 200


def validate_base_url(provider: str, base_url: str) -> str:
    """The official URL is always fine; anything else must be http(s) on an allowed host."""
    spec = registry.get(provider)
    base_url = (base_url or "").strip().rstrip("/") or spec.default_base_url
    if base_url == spec.default_base_url:
        return base_url
    if len(base_url) > 300 or any(ord(c) < 32 or c.isspace() for c in base_url):
        raise ValidationError("Base URL must be a single http(s) URL of at most 300 characters.")
    try:
        parts = urlsplit(base_url)
        port = parts.port  # ValueError for a port out of range or not a number
    except ValueError:
        raise ValidationError("Base URL has an invalid port (1-65535).") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("Base URL must be an http(s) URL.")
    if parts.username or parts.password:
        raise ValidationError("Base URL must not contain credentials.")
    if port == 0:
        raise ValidationError("Base URL has an invalid port (1-65535).")
    official = urlsplit(spec.default_base_url)
    host = parts.hostname.lower()
    if host == official.hostname:
        # The provider's own host: only as the provider serves it (https, default port).
        if parts.scheme != "https" or port not in (None, 443):
            raise ValidationError(f"{spec.name}'s own host is only reachable over https on its default port.")
        return base_url
    allowed = {h.lower() for h in settings.PROVIDER_ALLOWED_HOSTS}
    if host not in allowed:
        raise ValidationError(
            f"Host {parts.hostname!r} is not allowed. Use the official URL or a host listed in PROVIDER_ALLOWED_HOSTS."
        )
    return base_url


def validate_config(provider: str, config) -> dict:
    """Only keys the adapter reads (shown ``config_fields`` + ``tuning_fields``), scalar values."""
    spec = registry.get(provider)
    if not isinstance(config, dict):
        raise ValidationError("Config must be an object of KEY: value settings.")
    allowed = set(spec.config_fields) | set(spec.tuning_fields)
    unknown = sorted(str(k)[:40] for k in config if k not in allowed)
    if unknown:
        raise ValidationError(f"Unknown config key(s) for {spec.name}: {', '.join(unknown)}. "
                              f"Allowed: {', '.join(sorted(allowed)) or 'none'}.")
    for key, value in config.items():
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise ValidationError(f"Config {key} must be text or a whole number.")
        if isinstance(value, str) and (len(value) > MAX_CONFIG_VALUE or "\x00" in value):
            raise ValidationError(f"Config {key} must be at most {MAX_CONFIG_VALUE} characters of text.")
    if "page_size" in config:
        try:
            size = int(config["page_size"])
        except (TypeError, ValueError):
            size = 0
        if not 1 <= size <= 10_000:
            raise ValidationError("Config page_size must be a whole number from 1 to 10000.")
    if "fetch_concurrency" in config:
        try:
            pages = int(config["fetch_concurrency"])
        except (TypeError, ValueError):
            pages = 0
        if not 1 <= pages <= MAX_CONCURRENCY:
            raise ValidationError(f"Config fetch_concurrency must be a whole number from 1 to {MAX_CONCURRENCY}.")
    return config
