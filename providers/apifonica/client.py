"""Apifonica client: rented numbers -> ``Inventory``.

Transport (providers/WIRE.md section 4, seed 003): ``GET {base}/accounts/{accountSID}/
numbers?limit=20`` with HTTP Basic ``accountSID:authToken``. The response is ``{limit, prev, next,
numbers[]}``; ``next`` is an absolute URL carrying an opaque cursor (``?next=<24 hex>``) and is
``null`` on the last page. ``next`` is followed verbatim (never parsed or rebuilt) and only through
``HttpClient`` (another host is ``UnsafeURL``, never requested). A cursor seen before, an empty
page that still has a ``next``, a ``number_sid`` listed twice, or more than ``max_pages`` pages is
``BadResponse``. Error bodies are undocumented: any non-2xx fails with the HTTP status as its
class (``HttpClient``: 401/403 auth, 404 not found, 429 rate limited, other 4xx refused, 5xx
unavailable). Both secrets are redacted; messages never name the URL (it holds the account SID).

Pages are fetched one at a time: each page's address is the cursor of the page before it, and no
total is stated, so the bounded-concurrency walk of counted listings (providers/paging.py) cannot
apply here.
"""

from __future__ import annotations

from typing import Any, Sequence
from urllib.parse import quote, urlencode

from ..base import Closeable, Inventory, Progress, ProgressCallback, begin, page_size
from ..errors import AuthError, BadResponse
from ..http import HttpClient, Response
from . import mapping

MAX_LIMIT = 20  # documented default and maximum of ``limit``
MAX_PAGES = 50_000  # a listing that never ends is a bad response (1,000,000 numbers at 20/page)
WHAT = "Apifonica numbers listing"


def parse_error(response: Response) -> str:
    return mapping.error_summary(response.json())


class ApifonicaClient(Closeable):
    def __init__(self, *, base_url: str, secrets: dict, config: dict | None = None, **http_opts: Any):
        config = config or {}
        secrets = secrets or {}
        account_sid = str(secrets.get("account_sid") or "").strip()
        auth_token = str(secrets.get("auth_token") or "").strip()
        if not account_sid or not auth_token:
            raise AuthError("authentication failed: Apifonica account SID and auth token are both required")
        self.page_size = page_size(config, MAX_LIMIT)
        self.max_pages = MAX_PAGES
        self.numbers_path = f"/accounts/{quote(account_sid, safe='')}/numbers"
        self.http = HttpClient(
            base_url,
            headers={"Accept": "application/json"},
            auth=(account_sid, auth_token),
            secrets=[account_sid, auth_token],
            error_parser=parse_error,
            **http_opts,
        )

    # -- ProviderClient ---------------------------------------------------------------------
    def test_connection(self) -> str:
        self._page(self.http.get_json(self._first_url(1)))
        return "OK: credentials accepted"

    def fetch_inventory(self, progress: ProgressCallback | None = None) -> Inventory:
        items, pages = self._list(progress)
        inventory = mapping.build_inventory(items)
        inventory.total_reported = None  # Apifonica reports no total
        inventory.pages_fetched = pages
        inventory.complete = True  # _list raised unless the listing reached next=null
        return inventory

    def lookup_numbers(self, external_ids: Sequence[str]) -> dict[str, bool]:
        """Apifonica documents no per-number lookup (only list, rent and release): every number
        a listing drops stays "missing" until a later complete listing confirms it."""
        return {}

    def close(self) -> None:
        self.http.close()

    # -- paging -----------------------------------------------------------------------------
    def _first_url(self, limit: int) -> str:
        return self.http.resolve(self.numbers_path) + "?" + urlencode({"limit": limit})

    def _list(self, progress: ProgressCallback | None) -> tuple[list[dict], int]:
        url = self._first_url(self.page_size)
        seen_cursors: set[str] = {url}
        seen_sids: set[str] = set()
        items: list[dict] = []
        pages = 0
        begin(progress, "numbers")
        while True:
            page_items, nxt = self._page(self.http.get_json(url))
            pages += 1
            for item in page_items:
                sid = str(item["number_sid"])
                if sid in seen_sids:
                    raise BadResponse(f"{WHAT}: number_sid {sid} repeated on page {pages} (listing shifted)")
                seen_sids.add(sid)
            items.extend(page_items)
            if progress is not None:
                progress(Progress(pages, len(items), None, stage="numbers"))
            if nxt is None:
                return items, pages
            if not page_items:
                raise BadResponse(f"{WHAT}: page {pages} is empty but has a next cursor")
            if nxt in seen_cursors:
                raise BadResponse(f"{WHAT}: cursor repeated on page {pages} (next points to a page already fetched)")
            if pages >= self.max_pages:
                raise BadResponse(f"{WHAT}: more than {self.max_pages} pages; refusing to page on")
            seen_cursors.add(nxt)
            url = self.http.resolve(nxt)  # UnsafeURL for any other host; the URL itself is untouched

    def _page(self, doc: Any) -> tuple[list[dict], str | None]:
        """Validate one page; return (numbers, next) with next None at the end."""
        if not isinstance(doc, dict):
            raise BadResponse(f"{WHAT}: response is not a JSON object")
        numbers = doc.get("numbers")
        if not isinstance(numbers, list):
            raise BadResponse(f"{WHAT}: response has no 'numbers' list")
        for item in numbers:
            if not isinstance(item, dict):
                raise BadResponse(f"{WHAT}: 'numbers' holds something other than objects")
            if item.get("number_sid") in (None, ""):
                raise BadResponse(f"{WHAT}: a number has no number_sid")
        if "next" not in doc:
            raise BadResponse(f"{WHAT}: response has no 'next' field (end of list unknown)")
        nxt = doc["next"]
        if nxt is not None and (not isinstance(nxt, str) or not nxt.strip()):
            raise BadResponse(f"{WHAT}: 'next' is neither a URL nor null")
        return numbers, nxt
