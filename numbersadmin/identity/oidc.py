"""OIDC configuration as mozilla-django-oidc reads it, with discovery.

Endpoints come from the explicit settings (OIDC_OP_AUTHORIZATION_ENDPOINT, ..._TOKEN_..., ..._USER_...,
..._JWKS_...) or, for those left empty, from OIDC_OP_DISCOVERY_URL (the provider's
``/.well-known/openid-configuration``), fetched on first use and kept for DISCOVERY_TTL seconds. The
issuer (checked against every ID token's ``iss``) is OIDC_OP_ISSUER or the discovered one.
The client secret is only ever sent to the token endpoint; it is never logged or shown."""

from __future__ import annotations

import threading
import time

import requests
from django.conf import settings
from mozilla_django_oidc.utils import import_from_settings

DISCOVERY_TTL = 3600.0
ENDPOINTS = {  # our setting -> discovery document key
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
    "OIDC_OP_ISSUER": "issuer",
}

_lock = threading.Lock()
_cache: dict[str, tuple[float, dict]] = {}


class SsoUnavailable(Exception):
    """The identity provider's configuration could not be loaded."""


def enabled() -> bool:
    """SSO is on when a client id is set and the provider is known (discovery or endpoints):
    settings.OIDC_ENABLED, computed once in settings.py."""
    return bool(getattr(settings, "OIDC_ENABLED", False))


def discovery() -> dict:
    url = settings.OIDC_OP_DISCOVERY_URL
    if not url:
        return {}
    now = time.monotonic()
    with _lock:
        hit = _cache.get(url)
        if hit and now - hit[0] < DISCOVERY_TTL:
            return hit[1]
    try:
        response = requests.get(url, timeout=settings.OIDC_TIMEOUT, allow_redirects=False)
        response.raise_for_status()
        document = response.json()
        if not isinstance(document, dict):
            raise ValueError("not a JSON object")
    except (requests.RequestException, ValueError) as exc:
        raise SsoUnavailable(f"OIDC discovery failed ({type(exc).__name__})") from None
    with _lock:
        _cache[url] = (now, document)
    return document


def forget_discovery() -> None:
    with _lock:
        _cache.clear()


def setting(attr: str, *default):
    """What mozilla-django-oidc's get_settings returns: an endpoint falls back to discovery."""
    if attr in ENDPOINTS:
        value = getattr(settings, attr, "") or discovery().get(ENDPOINTS[attr]) or ""
        if value or attr in ("OIDC_OP_ISSUER", "OIDC_OP_JWKS_ENDPOINT"):
            return value or (default[0] if default else None)
        if default:
            return default[0]
        raise SsoUnavailable(f"{attr} is not set and discovery did not provide it")
    return import_from_settings(attr, *default)
