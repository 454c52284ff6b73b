"""Token authentication (``Authorization: Bearer <token>``), read-only tokens, per-token throttle."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions, throttling

from ..services import tokens
from ..services.audit import acting


class TokenAuthentication(authentication.BaseAuthentication):
    keywords = ("bearer", "token")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower().decode(errors="replace") not in self.keywords:
            return None  # not ours: session auth may still apply
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header: use 'Bearer <token>'.")
        try:
            raw = header[1].decode()
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        token = tokens.find_token(raw)
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid token.")
        if not token.usable():
            raise exceptions.AuthenticationFailed(f"Token {token.state}.")
        tokens.touch(token)
        return token.user, token

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'  # makes DRF answer 401 (not 403) without credentials


class TokenScope(permissions.BasePermission):
    """A read-only token may only read, whatever its user could do."""

    message = "This token is read-only."

    def has_permission(self, request, view) -> bool:
        token = request.auth
        if token is None or not hasattr(token, "read_only") or request.method in permissions.SAFE_METHODS:
            return True
        return not token.read_only


class PerTokenThrottle(throttling.SimpleRateThrottle):
    """One bucket per token (or per user for browser sessions); API_RATE, e.g. "1200/min"."""

    scope = "api"

    def get_cache_key(self, request, view):
        if request.auth is not None and hasattr(request.auth, "pk"):
            ident = f"token-{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


class TokenScheme(OpenApiAuthenticationExtension):
    """How the schema documents the token (drf-spectacular picks this up by target class)."""

    target_class = "numbersadmin.inventory.api.auth.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "A personal API token (page: API tokens)."}


def audited_as(request):
    """Audit entries written inside carry how the request acts: via the API, with which token
    (None for a browser session)."""
    token = request.auth if hasattr(request.auth, "read_only") else None
    return acting(via="api", token=token.name if token else None)
