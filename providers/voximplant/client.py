"""Voximplant Management API client: GetPhoneNumbers + GetCallerIDs -> ``Inventory``.

Transport (providers/WIRE.md section 1): ``POST {base}/<Method>`` with form-encoded params
and ``Authorization: Bearer <RS256 JWT>``. Success is ``{"result": [...], "total_count", "count"}``;
failures usually come back as HTTP 200 with ``{"error": {"code", "msg"}}`` (Go's client also
models ``errors: [...]``), so both the status and the body decide. Paging is offset/count; the end
is ``offset + returned >= total_count``.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Sequence

from ..base import Closeable, CountedListing, Inventory, ProgressCallback, lookup_each, page_size
from ..errors import AuthError, BadResponse, InvalidRequest, ProviderError, RateLimited
from ..http import HttpClient, Redactor, Response, parse_retry_after
from ..paging import Gate, fetch_concurrency
from . import mapping
from .credentials import TokenSigner, parse_credentials

PAGE_SIZE = 100
MAX_PAGE_SIZE = 100
AUTH_CODES = {100: "authorization failed", 104: "command forbidden for this service account's role"}
RATE_LIMIT_CODES = {340, 429}
REQUEST_CODES = {101, 102, 103}
# (method, id field, progress stage)
NUMBERS = ("GetPhoneNumbers", "phone_id", "numbers")
CALLER_IDS = ("GetCallerIDs", "callerid_id", "caller_ids")

_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")


class TokenRedactor(Redactor):
    """Known secrets (the private key) plus anything shaped like a JWT: tokens are re-signed
    while the client lives, so no fixed list can name them all."""

    def __call__(self, text: str) -> str:
        return _JWT.sub("[redacted]", super().__call__(text))


def parse_error(response: Response) -> str:
    """In-body ``error.msg`` for HttpClient's non-2xx messages."""
    return mapping.error_summary(response.json())


class VoximplantClient(Closeable):
    def __init__(self, *, base_url: str, secrets: dict, config: dict | None = None,
                 clock: Callable[[], float] | None = None, **http_opts: Any):
        config = config or {}
        text = str((secrets or {}).get("credentials_json") or "").strip()
        if not text:
            raise AuthError("authentication failed: no Voximplant credentials.json configured")
        try:
            self.credentials = parse_credentials(text)
        except ValueError as exc:  # messages from parse_credentials never quote key material
            raise AuthError(f"authentication failed: {exc}") from None
        self.page_size = page_size(config, MAX_PAGE_SIZE, PAGE_SIZE)
        self.concurrency = fetch_concurrency(config)
        self.signer = TokenSigner(self.credentials, **({"clock": clock} if clock else {}))
        self.http = HttpClient(
            base_url,
            headers={"Accept": "application/json"},
            secrets=self.credentials.secret_strings(),
            error_parser=parse_error,
            **http_opts,
        )
        self.http.redact = TokenRedactor(self.http.redact.secrets)

    # -- ProviderClient ---------------------------------------------------------------------
    def test_connection(self) -> str:
        doc = self.call("GetCallerIDs", {"count": 1, "offset": 0})
        _, total = self._list_page(doc, "GetCallerIDs", "callerid_id")
        return f"OK: {total} caller IDs"

    def fetch_inventory(self, progress: ProgressCallback | None = None) -> Inventory:
        numbers, numbers_total, pages = self._fetch_all(*NUMBERS, progress)
        caller_ids, _, caller_pages = self._fetch_all(*CALLER_IDS, progress)
        inventory = mapping.build_inventory(numbers, caller_ids)
        inventory.total_reported = numbers_total
        inventory.pages_fetched = pages + caller_pages
        inventory.complete = True  # _fetch_all raised unless every listing matched its total
        return inventory

    def lookup_numbers(self, external_ids: Sequence[str]) -> dict[str, bool]:
        """``GetPhoneNumbers`` filtered by ``phone_id``: one row = still held, none = gone."""
        def probe(phone_id: str) -> bool:
            rows, total = self._list_page(self.call(NUMBERS[0], {"phone_id": phone_id, "count": 1, "offset": 0}),
                                          NUMBERS[0], NUMBERS[1])
            return any(str(row[NUMBERS[1]]) == phone_id for row in rows)

        return lookup_each(external_ids, probe)

    def close(self) -> None:
        self.http.close()

    # -- calls ------------------------------------------------------------------------------
    def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        """One Management API command; raises ProviderError for HTTP and in-body errors."""
        response = self.http.post(
            f"/{method}",
            data={k: str(v) for k, v in (params or {}).items()},
            headers={"Authorization": f"Bearer {self.signer.token()}"},
        )
        doc = response.json()
        found = mapping.error_of(doc)
        if found is not None:
            raise self._in_body_error(method, response, *found)
        return doc

    def _in_body_error(self, method: str, response: Response, code: int | None, msg: str) -> ProviderError:
        detail = self.http.redact(f"Voximplant error {code}: {msg}" if code is not None else msg)[:300]
        if code in AUTH_CODES:
            return AuthError(f"authentication failed: {method}: {detail}", status=response.status, detail=detail)
        if code in RATE_LIMIT_CODES:
            return RateLimited(
                f"rate limited: {method}: {detail}",
                retry_after=parse_retry_after(response.headers.get("retry-after")),
                status=response.status,
                detail=detail,
            )
        if code in REQUEST_CODES:
            return InvalidRequest(f"request refused: {method}: {detail}", status=response.status, detail=detail)
        return BadResponse(f"{method}: provider returned an error: {detail}", status=response.status, detail=detail)

    # -- paging -----------------------------------------------------------------------------
    def _fetch_all(self, method: str, id_field: str, stage: str,
                   progress: ProgressCallback | None) -> tuple[list[dict], int, int]:
        """Every item of one listing; (items, total_count, pages). The listing counts only if
        the unique ids received equal ``total_count`` and the total held still."""
        def fetch(offset: int) -> tuple[list[dict], int]:
            return self._list_page(self.call(method, {"count": self.page_size, "offset": offset}), method, id_field)

        # No published request rate: the walk's gate only waits out 340/429 answers.
        return CountedListing(method).walk_offsets(fetch, lambda item: str(item[id_field]), progress, stage,
                                                   concurrency=self.concurrency, gate=Gate())

    def _list_page(self, doc: Any, method: str, id_field: str) -> tuple[list[dict], int]:
        if not isinstance(doc, dict):
            raise BadResponse(f"{method}: response is not a JSON object")
        result = doc.get("result")
        if not isinstance(result, list):
            raise BadResponse(f"{method}: response has no 'result' list")
        total = doc.get("total_count")
        if not isinstance(total, int) or isinstance(total, bool) or total < 0:
            raise BadResponse(f"{method}: response has no usable total_count")
        for item in result:
            if not isinstance(item, dict) or item.get(id_field) in (None, ""):
                raise BadResponse(f"{method}: 'result' holds an item without {id_field}")
        return result, total
