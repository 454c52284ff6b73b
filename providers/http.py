"""The only module that imports httpx.

Rules enforced here for every provider:
- explicit timeouts (a stalled provider becomes ``ProviderTimeout``, never a hung worker);
- redirects are never followed (a 3xx is a ``BadResponse``);
- requests go only to the scheme/host/port of the account's configured base URL, including
  pagination links the provider hands back (``UnsafeURL`` otherwise: no SSRF, no leaked keys);
- secrets are redacted from log lines and error messages.
"""

from __future__ import annotations

import email.utils
import json
import logging
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable
from urllib.parse import urljoin, urlsplit

import httpx

from .base import Closeable
from .errors import (
    AuthError,
    BadResponse,
    InvalidRequest,
    NotFound,
    ProviderError,
    ProviderTimeout,
    RateLimited,
    Unavailable,
    UnsafeURL,
)

logger = logging.getLogger("providers.http")

DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=30.0, write=10.0, pool=5.0)
USER_AGENT = "numbersadmin/1.0 (+inventory sync)"
REDACTED = "[redacted]"


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]  # lower-cased names
    body: bytes
    url: str

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadResponse(f"invalid or truncated JSON from provider (HTTP {self.status})") from exc

    def json_or_none(self) -> Any:
        """For error bodies, which may be anything: the parsed JSON, or None."""
        try:
            return json.loads(self.body) if self.body else None
        except (ValueError, UnicodeDecodeError):
            return None


ErrorParser = Callable[[Response], str]


def origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


def parse_retry_after(value: str | None, default: float | None = None) -> float | None:
    """Retry-After is either delta-seconds or an HTTP-date (RFC 9110 10.2.3)."""
    if not value:
        return default
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    return max(0.0, when.timestamp() - time.time())


class Redactor:
    def __init__(self, secrets: Iterable[str]):
        # Longest first so a secret containing another is fully hidden.
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text


class HttpClient(Closeable):
    def __init__(
        self,
        base_url: str,
        *,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        secrets: Iterable[str] = (),
        timeout: httpx.Timeout | float | None = None,
        error_parser: ErrorParser | None = None,
        tracking_id_parser: ErrorParser | None = None,
        rate_limit_statuses: tuple[int, ...] = (429,),
        transport: httpx.BaseTransport | None = None,
    ):
        if urlsplit(base_url).scheme not in ("http", "https"):
            raise UnsafeURL("base URL must be http or https")
        self.base_url = base_url.rstrip("/")
        self.origin = origin(self.base_url)
        self.redact = Redactor(list(secrets) + list(auth or ()))  # adapters name their secrets
        self.error_parser = error_parser
        self.tracking_id_parser = tracking_id_parser  # provider request id kept on errors (support tickets)
        self.rate_limit_statuses = rate_limit_statuses  # e.g. Webex also answers 423 + Retry-After
        self._client = httpx.Client(
            headers={"User-Agent": USER_AGENT, **(headers or {})},
            auth=httpx.BasicAuth(*auth) if auth else None,
            timeout=timeout if timeout is not None else DEFAULT_TIMEOUT,
            follow_redirects=False,
            transport=transport,
            trust_env=False,  # never route credentials through an ambient proxy
        )

    # -- URL policy -------------------------------------------------------------------------
    def resolve(self, path_or_url: str) -> str:
        """Absolute URLs must share the base URL's origin; relative paths are joined to it."""
        parts = urlsplit(path_or_url)
        base_path = urlsplit(self.base_url).path.rstrip("/")
        if parts.scheme or parts.netloc:
            url = path_or_url
        elif path_or_url.startswith("/") and base_path and (
            path_or_url == base_path or path_or_url.startswith(base_path + "/")
        ):
            # A server-relative link that already carries the base path (Plivo's meta.next).
            url = urljoin(self.base_url, path_or_url)
        else:
            url = self.base_url + "/" + path_or_url.lstrip("/")
        if origin(url) != self.origin:
            raise UnsafeURL(f"refused to request {origin(url)[1] or 'an unknown host'}: not the configured host")
        return url

    # -- requests -----------------------------------------------------------------------------
    def request(self, method: str, path_or_url: str, **kwargs: Any) -> Response:
        url = self.resolve(path_or_url)
        started = time.monotonic()
        try:
            raw = self._client.request(method, url, **kwargs)
            body = raw.read()
        except httpx.TimeoutException as exc:
            self._log(method, url, "timeout", started)
            raise ProviderTimeout(f"provider did not answer in time ({type(exc).__name__})") from None
        except httpx.HTTPError as exc:
            self._log(method, url, type(exc).__name__, started)
            raise Unavailable(f"could not reach provider ({type(exc).__name__})") from None
        response = Response(
            status=raw.status_code,
            headers={k.lower(): v for k, v in raw.headers.items()},
            body=body,
            url=str(raw.url),
        )
        self._log(method, url, response.status, started)
        if response.status >= 300:
            raise self._error_for(response)
        return response

    def get(self, path_or_url: str, params: Any = None, **kwargs: Any) -> Response:
        return self.request("GET", path_or_url, params=params, **kwargs)

    def post(self, path_or_url: str, **kwargs: Any) -> Response:
        return self.request("POST", path_or_url, **kwargs)

    def get_json(self, path_or_url: str, params: Any = None, **kwargs: Any) -> Any:
        return self.get(path_or_url, params=params, **kwargs).json()

    def close(self) -> None:
        self._client.close()

    # -- helpers ----------------------------------------------------------------------------
    def _detail(self, response: Response) -> str:
        detail = ""
        if self.error_parser is not None:
            try:
                detail = self.error_parser(response) or ""
            except Exception:  # an unparseable error body must not hide the status
                detail = ""
        return self.redact(detail)[:300]

    def _error_for(self, response: Response) -> ProviderError:
        error = self._classify(response)
        if self.tracking_id_parser is not None:
            try:
                error.tracking_id = self.redact(self.tracking_id_parser(response) or "")[:200]
            except Exception:  # a missing/odd tracking id must not hide the error itself
                pass
        return error

    def _classify(self, response: Response) -> ProviderError:
        status = response.status
        detail = self._detail(response)
        suffix = f": {detail}" if detail else ""
        if 300 <= status < 400:
            return BadResponse(f"HTTP {status} redirect not followed", status=status)
        if status in (401, 403):
            return AuthError(f"authentication failed (HTTP {status}){suffix}", status=status, detail=detail)
        if status in self.rate_limit_statuses:
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            return RateLimited(
                f"rate limited (HTTP {status}){suffix}", retry_after=retry_after, status=status, detail=detail
            )
        if status == 404:
            return NotFound(f"not found (HTTP 404){suffix}", status=status, detail=detail)
        if 400 <= status < 500:
            return InvalidRequest(f"request refused (HTTP {status}){suffix}", status=status, detail=detail)
        return Unavailable(f"provider error (HTTP {status}){suffix}", status=status, detail=detail)

    def _log(self, method: str, url: str, outcome: object, started: float) -> None:
        logger.info(
            "%s %s -> %s in %.0f ms", method, self.redact(url), outcome, (time.monotonic() - started) * 1000
        )
