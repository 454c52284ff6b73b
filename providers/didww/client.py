"""DIDWW API v3 client: paged JSON:API listings -> ``Inventory``.

End of list is computed from ``meta.total_records`` and page math; ``links`` are never followed
(DIDWW fixtures show ``links.next`` on last pages and malformed ``.../dids&page...`` links).
"""

from __future__ import annotations

import contextlib
import math
from typing import Any, Sequence
from urllib.parse import quote

from ..base import Closeable, CountedListing, Inventory, Progress, ProgressCallback, begin, lookup_each, page_size
from ..errors import AuthError, BadResponse
from ..http import HttpClient, Response
from ..paging import Gate, fetch_concurrency, fetch_in_order
from . import mapping

API_VERSION = "2026-04-16"  # 2026-11-19 refuses Api-Key auth on /v3 (bearer tokens only)
JSONAPI = "application/vnd.api+json"
MAX_PAGE_SIZE = 100  # DIDWW's documented maximum for /v3/dids
MAX_RATE = 20.0  # requests/s per API key (DIDWW's published limit; above it: 429)
DID_INCLUDE = ",".join(
    (
        "voice_in_trunk",
        "voice_in_trunk_group",
        "did_group",
        "did_group.country",
        "did_group.region",
        "did_group.city",
        "did_group.did_group_type",
    )
)
# (path, include, resource type, progress stage)
LISTINGS = (
    ("/dids", DID_INCLUDE, mapping.DIDS, "numbers"),
    ("/voice_in_trunks", "voice_in_trunk_group", mapping.TRUNKS, "trunks"),
    ("/voice_in_trunk_groups", None, mapping.TRUNK_GROUPS, "trunk_groups"),
)


def parse_error(response: Response) -> str:
    """JSON:API ``errors[].title/detail`` for HttpClient's error messages."""
    return mapping.error_summary(response.json())


class DidwwClient(Closeable):
    def __init__(self, *, base_url: str, secrets: dict, config: dict | None = None, **http_opts: Any):
        config = config or {}
        api_key = str((secrets or {}).get("api_key") or "").strip()
        if not api_key:
            raise AuthError("authentication failed: no DIDWW API key configured")
        self.page_size = page_size(config, MAX_PAGE_SIZE)
        self.concurrency = fetch_concurrency(config)
        self.http = HttpClient(
            base_url,
            headers={
                "Api-Key": api_key,
                "Accept": JSONAPI,
                "X-DIDWW-API-Version": str(config.get("api_version") or API_VERSION),
            },
            secrets=[api_key],
            error_parser=parse_error,
            **http_opts,
        )

    # -- ProviderClient ---------------------------------------------------------------------
    def test_connection(self) -> str:
        doc = self.http.get_json("/dids", params={"page[size]": 1})
        _, total = self._list_page(doc, "/dids", mapping.DIDS)
        return f"OK: {total} DIDs"

    def fetch_inventory(self, progress: ProgressCallback | None = None) -> Inventory:
        store = mapping.ResourceStore()
        totals: dict[str, int] = {}
        pages = 0
        for path, include, type_, stage in LISTINGS:
            totals[stage], fetched = self._fetch_all(path, include, type_, stage, store, progress)
            pages += fetched
        inventory = mapping.build_inventory(store)
        inventory.total_reported = totals["numbers"]
        inventory.pages_fetched = pages
        inventory.complete = True  # _fetch_all raised unless every listing matched its total
        return inventory

    def close(self) -> None:
        self.http.close()

    # -- paging -----------------------------------------------------------------------------
    def _fetch_all(
        self,
        path: str,
        include: str | None,
        type_: str,
        stage: str,
        store: mapping.ResourceStore,
        progress: ProgressCallback | None,
    ) -> tuple[int, int]:
        """Fetch pages 1..N of one listing into ``store``; return (total_records, pages).

        A listing counts only if the unique ids received equal ``total_records`` and the total
        held still: records shifting between pages would otherwise be silently lost or doubled.
        """
        listing = CountedListing(path, "total_records")
        gate = Gate(MAX_RATE)

        def fetch(page: int) -> tuple[list[dict], int, Any]:
            doc = self._get_page(path, include, page)
            return (*self._list_page(doc, path, type_), doc)

        def take(page: int, items: list[dict], page_total: int, doc: Any) -> bool:
            """One page in page order; True once the page math (or the records) say it was the last."""
            listing.add_page([str(item["id"]) for item in items], page_total, f"on page {page}",
                             empty=f"page {page} is empty")
            store.add_document(doc)
            if progress is not None:
                progress(Progress(page, listing.received, listing.total, stage=stage))
            # Page math decides the end; having every unique record already also ends it
            # (a server that ignores page[size] must not be asked for phantom pages).
            return page * self.page_size >= listing.total or listing.received == listing.total

        begin(progress, stage)
        if self.concurrency > 1:
            gate.wait()  # pacing only: a 429 on the first page is raised as before
        page = 1
        done = take(page, *fetch(page))
        past_end = None
        if not done and self.concurrency > 1:
            # The first page stated the total: pages 2..last and the one past the end are known
            # now, so fetch them concurrently and take them in page order (providers/paging.py).
            last = math.ceil(listing.total / self.page_size)
            with contextlib.closing(fetch_in_order(fetch, range(2, last + 2), self.concurrency, gate)) as pages:
                for number, fetched in enumerate(pages, start=2):
                    if done:
                        past_end = fetched  # number == page + 1
                        break
                    page = number
                    done = take(page, *fetched)
        while not done:
            page += 1
            done = take(page, *fetch(page))
        total = listing.finish()
        # One page past the stated total must be empty: a total short by exactly one page
        # would otherwise end the listing early and its last page would look removed.
        items, page_total, _ = past_end if past_end is not None else fetch(page + 1)
        listing.check_past_end([str(item["id"]) for item in items], page_total, f"on page {page + 1}")
        return total, page + 1

    def _get_page(self, path: str, include: str | None, page: int) -> Any:
        params = {"page[number]": page, "page[size]": self.page_size}
        if include:
            params["include"] = include
        return self.http.get_json(path, params=params)

    # -- lookups ----------------------------------------------------------------------------
    def lookup_numbers(self, external_ids: Sequence[str]) -> dict[str, bool]:
        """``GET /v3/dids/{id}``: 200 = still held, 404 = gone."""
        def probe(did_id: str) -> bool:
            doc = self.http.get_json(f"/dids/{quote(did_id, safe='')}")
            data = doc.get("data") if isinstance(doc, dict) else None
            if not isinstance(data, dict) or str(data.get("id")) != did_id or data.get("type") != mapping.DIDS:
                raise BadResponse("/dids/{id}: response is not the DID asked for")
            return True

        return lookup_each(external_ids, probe)

    def _list_page(self, doc: Any, path: str, type_: str) -> tuple[list[dict], int]:
        """Validate one JSON:API list document; return (data, meta.total_records)."""
        if not isinstance(doc, dict):
            raise BadResponse(f"{path}: response is not a JSON:API document")
        if doc.get("errors"):
            # Provider text may echo request data: redact like HttpClient does for error bodies.
            summary = self.http.redact(mapping.error_summary(doc))[:300] or "unknown"
            raise BadResponse(f"{path}: provider returned errors: {summary}")
        data = doc.get("data")
        if not isinstance(data, list):
            raise BadResponse(f"{path}: response has no JSON:API 'data' list")
        meta = doc.get("meta")
        total = meta.get("total_records") if isinstance(meta, dict) else None
        if not isinstance(total, int) or isinstance(total, bool) or total < 0:
            raise BadResponse(f"{path}: response has no usable meta.total_records")
        for item in data:
            if not isinstance(item, dict) or item.get("id") in (None, "") or item.get("type") != type_:
                raise BadResponse(f"{path}: 'data' holds something other than {type_} resources")
        return data, total
