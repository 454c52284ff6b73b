"""Plivo REST API v1 client: powerpacks -> number pools -> pool numbers, plus account numbers,
merged into one ``Inventory`` (one NumberRecord per number, ``pool_ids`` = pools holding it).

Transport (providers/WIRE.md section 5): HTTP Basic ``auth_id:auth_token``; every path is
``/Account/{auth_id}/...`` with a trailing slash (as the official SDK sends it). Lists page with
``limit`` (max 20) / ``offset`` and report ``meta.total_count``; ``meta.next`` is ``""`` or
``null`` at the end and is never followed: the end is ``offset + len(objects) >= total_count``.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Sequence
from urllib.parse import quote

from ..base import Closeable, CountedListing, Inventory, Progress, ProgressCallback, lookup_each, page_size
from ..errors import AuthError, BadResponse, NotFound
from ..http import HttpClient, Response
from ..paging import Gate, fetch_concurrency
from . import mapping

MAX_PAGE_SIZE = 20  # Plivo's cap on every list endpoint (the SDK validates 0 < limit <= 20)
MAX_RATE = 50.0  # requests/s; Plivo allows 300 per 5 s per account, this leaves room for others
_AUTH_ID = re.compile(r"^[A-Za-z0-9_-]+$")


def parse_error(response: Response) -> str:
    """``{"api_id", "error"}`` bodies for HttpClient's error messages."""
    return mapping.error_summary(response.json())


class PlivoClient(Closeable):
    def __init__(self, *, base_url: str, secrets: dict, config: dict | None = None, **http_opts: Any):
        config = config or {}
        secrets = secrets or {}
        auth_id = str(secrets.get("auth_id") or "").strip()
        auth_token = str(secrets.get("auth_token") or "").strip()
        if not auth_id or not auth_token:
            raise AuthError("authentication failed: Plivo auth_id and auth_token are both required")
        if not _AUTH_ID.match(auth_id):
            raise AuthError("authentication failed: the Plivo auth_id has an invalid format")
        self.page_size = page_size(config, MAX_PAGE_SIZE)
        self.concurrency = fetch_concurrency(config)
        self.account_path = f"/Account/{auth_id}"
        self.http = HttpClient(
            base_url,
            headers={"Accept": "application/json"},
            auth=(auth_id, auth_token),
            secrets=[auth_id, auth_token],
            error_parser=parse_error,
            **http_opts,
        )

    # -- ProviderClient ---------------------------------------------------------------------
    def test_connection(self) -> str:
        doc = self.http.get_json(f"{self.account_path}/Number/", params={"limit": 1, "offset": 0})
        _, total = self._list_page(doc, "numbers", lambda o: o.get("number"))
        return f"OK: {total} numbers"

    def fetch_inventory(self, progress: ProgressCallback | None = None) -> Inventory:
        pages = 0
        counter = {"items": 0}

        def pool_progress(p: Progress) -> None:  # one "pools" stage across powerpacks + pools
            if progress is not None:
                progress(Progress(pages + p.pages_fetched, counter["items"] + p.items_fetched, None, stage="pools"))

        powerpacks, _, fetched = self._fetch_all(
            f"{self.account_path}/Powerpack/", "powerpacks", lambda o: o.get("uuid"), pool_progress)
        pages += fetched
        counter["items"] += len(powerpacks)
        pool_numbers: dict[str, list[dict]] = {}
        for pp in powerpacks:
            uuid = mapping.pool_uuid_of(pp.get("number_pool"))
            if not uuid or uuid in pool_numbers:
                continue
            pool_numbers[uuid] = []
            # The pool's numbers, toll-free numbers and short codes are three lists (same paging).
            for sub, key_name in mapping.POOL_LISTS.items():
                try:
                    items, _, fetched = self._fetch_all(
                        f"{self.account_path}/NumberPool/{quote(uuid, safe='')}/{sub}/", f"number pool {uuid} {sub}",
                        lambda o, k=key_name: (o.get(k), o.get("service")) if o.get(k) else None, pool_progress)
                except NotFound:
                    # The pool exists (its Number/ list answered first); a 404 on its toll-free
                    # or short-code list means the pool has no such list, so nothing is on it.
                    if sub == "Number":
                        raise
                    items, fetched = [], 1
                pool_numbers[uuid].extend(items)
                pages += fetched
                counter["items"] += len(items)
        numbers, total, fetched = self._fetch_all(
            f"{self.account_path}/Number/", "numbers", lambda o: o.get("number"), progress)
        pages += fetched
        inventory = mapping.build_inventory(numbers, powerpacks, pool_numbers)
        inventory.total_reported = total
        inventory.pages_fetched = pages
        inventory.complete = True  # _fetch_all raised unless every listing matched its total
        return inventory

    def lookup_numbers(self, external_ids: Sequence[str]) -> dict[str, bool]:
        """``GET /Account/{auth_id}/Number/{number}/``: 200 = still rented, 404 = gone."""
        def probe(number: str) -> bool:
            doc = self.http.get_json(f"{self.account_path}/Number/{quote(number, safe='')}/")
            if not isinstance(doc, dict) or str(doc.get("number") or "") != number:
                raise BadResponse("Number/{number}: response is not the number asked for")
            return True

        return lookup_each(external_ids, probe)

    def close(self) -> None:
        self.http.close()

    # -- paging -----------------------------------------------------------------------------
    def _fetch_all(self, path: str, label: str, key: Callable[[dict], Any],
                   progress: ProgressCallback | None, stage: str = "numbers") -> tuple[list[dict], int, int]:
        """Every object of one listing: (objects, total_count, pages). Counts only if the unique
        keys received equal ``total_count`` and the total held still; ``meta.next`` is ignored,
        so a server that never says "end" (or ignores ``offset``) cannot loop us forever: every
        page must bring new, unseen objects until ``total_count`` is reached."""
        def fetch(offset: int) -> tuple[list[dict], int]:
            doc = self.http.get_json(path, params={"limit": self.page_size, "offset": offset})
            return self._list_page(doc, label, key)

        return CountedListing(label, redact=self.http.redact).walk_offsets(
            fetch, key, progress, stage, concurrency=self.concurrency, gate=Gate(MAX_RATE))

    def _list_page(self, doc: Any, label: str, key: Callable[[dict], Any]) -> tuple[list[dict], int]:
        if not isinstance(doc, dict):
            raise BadResponse(f"{label}: response is not a JSON object")
        objects = doc.get("objects")
        if not isinstance(objects, list):
            summary = self.http.redact(mapping.error_summary(doc))[:300]
            raise BadResponse(f"{label}: provider returned an error: {summary}" if summary
                              else f"{label}: response has no 'objects' list")
        meta = doc.get("meta")
        total = meta.get("total_count") if isinstance(meta, dict) else None
        if not isinstance(total, int) or isinstance(total, bool) or total < 0:
            raise BadResponse(f"{label}: response has no usable meta.total_count")
        for obj in objects:
            if not isinstance(obj, dict) or key(obj) in (None, ""):
                raise BadResponse(f"{label}: 'objects' holds an item without its id")
        return objects, total
