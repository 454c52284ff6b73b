"""Webex Calling client: org numbers + calling locations + caller-ID candidates -> ``Inventory``.

Transport (providers/WIRE.md section 3): ``GET`` with ``Authorization: Bearer <token>``;
lists page with ``max``/``start`` and an RFC 8288 ``Link: <url>; rel="next"`` header, which is
the only end-of-list signal (no totals without ``details=true``). Every next URL goes through
``HttpClient.resolve`` (a foreign host is ``UnsafeURL``); a next URL seen before, an empty page
that still links a next one, or more than ``max_pages`` pages, is ``BadResponse``. A 504 asks for a smaller ``max``: the page is retried with
half of it (same ``start``) up to twice. 429 and 423 are ``RateLimited`` with ``Retry-After``.
Error bodies ``{message, errors[{description}], trackingId}`` give the message and the
``tracking_id`` (body, else the ``TrackingID`` header) of the raised ``ProviderError``.

Pages are fetched one at a time: only ``rel="next"`` is guaranteed and no total is stated, so
the bounded-concurrency walk of counted listings (providers/paging.py) cannot apply here.
"""

from __future__ import annotations

import re
from typing import Any, Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..base import Closeable, Inventory, Progress, ProgressCallback, begin, lookup_each, page_size
from ..errors import AuthError, BadResponse, NotFound, Unavailable
from ..http import HttpClient, Response
from . import mapping

DEFAULT_PAGE_SIZE = 1000
MAX_PAGE_SIZE = 2000  # Webex's documented default (and practical cap) for these lists
MAX_PAGES = 10_000  # per listing: a provider that never stops paging is a bad response
RETRIES_504 = 2  # "if your query uses max, try to reduce it"

NUMBERS = "/telephony/config/numbers"
CALLING_LOCATIONS = "/telephony/config/locations"
LOCATIONS = "/locations"
CALLER_IDS = "/telephony/config/locations/{}/externalCallerId/availableNumbers"


def parse_error(response: Response) -> str:
    return mapping.error_summary(response.json())


# -- RFC 8288 Link header ----------------------------------------------------------------------
_LINK_VALUE = re.compile(r"\s*<([^>]*)>\s*((?:;\s*[^;,\s=]+\s*(?:=\s*(?:\"(?:[^\"\\]|\\.)*\"|[^;,\"\s]*))?\s*)*)")
_LINK_PARAM = re.compile(r";\s*([^;,\s=]+)\s*(?:=\s*(\"(?:[^\"\\]|\\.)*\"|[^;,\"\s]*))?")


def parse_link_header(value: str | None) -> list[tuple[str, dict[str, str]]]:
    """``Link`` header -> [(target, {param: value})]; ``rel`` values are lower-cased and kept as
    a space-separated list (RFC 8288 3.3). URLs may contain commas and semicolons."""
    links: list[tuple[str, dict[str, str]]] = []
    text, pos = value or "", 0
    while pos < len(text):
        match = _LINK_VALUE.match(text, pos)
        if match is None:  # unparseable rest: skip to the next link-value
            nxt = text.find(",", pos)
            if nxt < 0:
                break
            pos = nxt + 1
            continue
        params: dict[str, str] = {}
        for name, raw in _LINK_PARAM.findall(match.group(2)):
            raw = raw or ""
            if raw.startswith('"'):
                raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
            params.setdefault(name.lower(), raw)  # first occurrence wins (RFC 8288 3)
        if "rel" in params:
            params["rel"] = " ".join(params["rel"].lower().split())
        links.append((match.group(1).strip(), params))
        pos = match.end()
        while pos < len(text) and text[pos] in " \t,":
            pos += 1
    return links


def next_link(value: str | None) -> str | None:
    for target, params in parse_link_header(value):
        if "next" in params.get("rel", "").split() and target:
            return target
    return None


def with_query(url: str, **changes: Any) -> str:
    """``url`` with query parameters replaced/added (order kept, others untouched)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    out, done = [], set()
    for key, value in query:
        if key in changes:
            if key not in done:
                out.append((key, str(changes[key])))
                done.add(key)
        else:
            out.append((key, value))
    out += [(k, str(v)) for k, v in changes.items() if k not in done]
    return urlunsplit(parts._replace(query=urlencode(out)))


class WebexClient(Closeable):
    def __init__(self, *, base_url: str, secrets: dict, config: dict | None = None, **http_opts: Any):
        config = config or {}
        token = str((secrets or {}).get("access_token") or "").strip()
        if not token:
            raise AuthError("authentication failed: no Webex access token configured")
        self.page_size = page_size(config, MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE)
        self.org_id = str(config.get("org_id") or "").strip() or None
        self.max_pages = MAX_PAGES
        self._pages = 0  # pages fetched by the current fetch_inventory
        self.http = HttpClient(
            base_url,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            secrets=[token],
            error_parser=parse_error,
            # Webex: every error carries a trackingId; 423 (resource locked) is retried like a 429.
            tracking_id_parser=lambda r: mapping.tracking_id(r.json_or_none(), r.headers),
            rate_limit_statuses=(429, 423),
            **http_opts,
        )

    # -- ProviderClient ---------------------------------------------------------------------
    def test_connection(self) -> str:
        doc = self.http.get_json(CALLING_LOCATIONS, params=self._params(max=1, start=0))
        self._items(doc, CALLING_LOCATIONS, "locations")
        return "OK: token accepted"

    def fetch_inventory(self, progress: ProgressCallback | None = None) -> Inventory:
        self._pages = 0
        numbers = self._list(NUMBERS, "phoneNumbers", "numbers", progress, unique="phoneNumber")
        calling = self._list(CALLING_LOCATIONS, "locations", "locations", progress, unique="id")
        try:  # addresses: needs spark-admin:locations_read as well; without it, no addresses
            locations = self._list(LOCATIONS, "items", "locations", progress, unique="id")
        except (AuthError, NotFound) as exc:
            if exc.status not in (403, 404):
                raise
            locations = []
        candidates: list[tuple[str, dict]] = []
        for loc in calling:
            loc_id = str(loc["id"])
            path = CALLER_IDS.format(loc_id)
            for item in self._list(path, "phoneNumbers", "caller_ids", progress, offset=len(candidates)):
                candidates.append((loc_id, item))
        inventory = mapping.build_inventory(numbers, calling, locations, candidates)
        inventory.total_reported = None  # Webex reports no total without details=true
        inventory.pages_fetched = self._pages
        inventory.complete = True  # _list raised unless every listing reached its last page
        return inventory

    def lookup_numbers(self, external_ids: Sequence[str]) -> dict[str, bool]:
        """The org numbers listing filtered by ``phoneNumber``: a row = still held, none = gone."""
        def probe(number: str) -> bool:
            doc = self.http.get_json(NUMBERS, params=self._params(phoneNumber=number, max=10, start=0))
            return any(str(item.get("phoneNumber") or "") == number for item in self._items(doc, NUMBERS, "phoneNumbers"))

        return lookup_each(external_ids, probe)

    def close(self) -> None:
        self.http.close()

    # -- paging -----------------------------------------------------------------------------
    def _params(self, **params: Any) -> dict[str, Any]:
        return {**({"orgId": self.org_id} if self.org_id else {}), **params}

    def _list(
        self,
        path: str,
        key: str,
        stage: str,
        progress: ProgressCallback | None,
        *,
        unique: str | None = None,
        offset: int = 0,
    ) -> list[dict]:
        """Every item of one listing, following ``rel="next"`` links to the end."""
        url = self.http.resolve(path) + "?" + urlencode(self._params(max=self.page_size, start=0))
        seen_urls = {url}
        seen_keys: set[str] = set()
        items: list[dict] = []
        pages = 0
        begin(progress, stage, self._pages, offset)
        while True:
            response = self._get_page(url)
            pages += 1
            self._pages += 1
            page_items = self._items(response.json(), path, key)
            for item in page_items:
                if unique and item.get(unique):
                    value = str(item[unique])
                    if value in seen_keys:
                        raise BadResponse(f"{path}: {unique} {value} repeated on page {pages} (listing shifted)")
                    seen_keys.add(value)
            items.extend(page_items)
            if progress is not None:
                progress(Progress(self._pages, offset + len(items), None, stage=stage))
            target = next_link(response.headers.get("link"))
            if target is None:
                return items
            if not page_items:  # an empty page that says "more" is not an end we can trust
                raise BadResponse(f"{path}: page {pages} is empty but has a next link")
            url = self.http.resolve(target)  # UnsafeURL for any other host
            if url in seen_urls:
                raise BadResponse(f"{path}: next link repeats a page already fetched (page {pages + 1})")
            seen_urls.add(url)
            if pages >= self.max_pages:
                raise BadResponse(f"{path}: more than {self.max_pages} pages; refusing to page on")

    def _get_page(self, url: str) -> Response:
        """GET one page; on 504 retry it with half the ``max`` (same ``start``), twice at most."""
        attempt = 0
        while True:
            try:
                return self.http.get(url)
            except Unavailable as exc:
                if exc.status != 504 or attempt >= RETRIES_504:
                    raise
                query = dict(parse_qsl(urlsplit(url).query))
                try:
                    current = int(query.get("max") or self.page_size)
                except ValueError:
                    current = self.page_size
                if current <= 1:
                    raise
                url = with_query(url, max=max(1, current // 2))
                attempt += 1

    def _items(self, doc: Any, path: str, key: str) -> list[dict]:
        if not isinstance(doc, dict):
            raise BadResponse(f"{path}: response is not a JSON object")
        items = doc.get(key)
        if items is None and not doc:
            items = []  # an empty listing may come back as {}
        if not isinstance(items, list):
            raise BadResponse(f"{path}: response has no '{key}' list")
        if not all(isinstance(item, dict) for item in items):
            raise BadResponse(f"{path}: '{key}' holds something other than objects")
        if key == "locations" or key == "items":
            if any(not item.get("id") for item in items):
                raise BadResponse(f"{path}: a location has no id")
        return items
