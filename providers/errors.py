"""One error vocabulary for every provider.

Each error carries a stable ``error_class`` (stored on the sync run and shown to admins) and a
message that never contains a secret: adapters build messages from status codes and provider
error titles only, and ``http.py`` redacts known secret values as a second line of defence.
"""

from __future__ import annotations


class ProviderError(Exception):
    error_class = "provider_error"
    label = "provider error"

    def __init__(self, message: str = "", *, status: int | None = None, detail: str = "", tracking_id: str = ""):
        super().__init__(message or self.label)
        self.message = message or self.label
        self.status = status
        self.detail = detail
        self.tracking_id = tracking_id  # provider's request id for support tickets (Webex trackingId)

    def __str__(self) -> str:
        return self.message


class AuthError(ProviderError):
    error_class = "auth"
    label = "authentication failed"


class RateLimited(ProviderError):
    error_class = "rate_limited"
    label = "rate limited"

    def __init__(self, message: str = "", *, retry_after: float | None = None, **kw):
        super().__init__(message, **kw)
        self.retry_after = retry_after


class Unavailable(ProviderError):
    """Connection refused/reset, 5xx: the provider could not answer."""

    error_class = "unavailable"
    label = "provider unavailable"


class ProviderTimeout(ProviderError):
    error_class = "timeout"
    label = "provider timed out"


class BadResponse(ProviderError):
    """The provider answered, but not with something we can trust (truncated JSON, wrong shape,
    inconsistent totals, a pagination link to a foreign host...)."""

    error_class = "bad_response"
    label = "bad response from provider"


class NotFound(ProviderError):
    error_class = "not_found"
    label = "not found"


class InvalidRequest(ProviderError):
    """4xx other than auth / not found / rate limit (400, 422...): our request was refused."""

    error_class = "invalid_request"
    label = "request refused by provider"


class UnsafeURL(ProviderError):
    """A URL outside the account's configured host: never requested (SSRF / credential leak)."""

    error_class = "unsafe_url"
    label = "refused to follow a URL outside the configured host"
