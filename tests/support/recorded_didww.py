"""Recorded DIDWW responses served over loopback: a replay server, not a simulator of behaviour.

Every resource object served is one recorded by an official DIDWW SDK test suite
(``tests/fixtures/didww``, see SOURCE.txt) or passed in ``extra_documents`` (same wire shape),
byte-for-byte apart from re-paging:

* DIDs: the ``dids`` resources of every list/show document. A resource recorded more than once
  (same type and id, e.g. DID 9df99644 in three recordings) is served once: the copy whose
  relationships carry the most linkage ``data`` wins, ties go to the first seen (files in name
  order, then ``extra_documents`` in order). Each DID page's ``included`` holds, de-duplicated by
  (type, id), the resources of the DID's own document reachable from it through linkage.
* voice_in_trunks / voice_in_trunk_groups: every such resource recorded anywhere (list
  fixtures and includes), same de-duplication; includes follow the same rule.
* Includes are not re-computed: a recording only carries relationship ``data`` for what was
  included when it was recorded. When our client asks for an include the recording lacks, the
  relationship is served as recorded (links only, no ``data``), as a replay cannot invent
  linkage; the client must treat such a relationship as "unknown", not as "none".
* ``page[number]`` / ``page[size]`` (default 50, max 100) re-page the collection and
  ``meta.total_records`` is recomputed from what is served (recorded totals such as 68 or 13
  describe the sandbox account, not this collection). ``links`` are not served.
* ``Api-Key`` must equal ``api_key`` (settable, e.g. to mimic a revoked key), else a JSON:API
  401. No 401 body was ever recorded, so its wording is ours.
"""

from __future__ import annotations

import json
from pathlib import Path

from providers.simulators.server import SimRequest, SimResponse, Simulator
from .fixtures import fixture_dir

FIXTURE_DIR = fixture_dir("didww")
JSONAPI = "application/vnd.api+json"
LISTINGS = {"/v3/dids": "dids", "/v3/voice_in_trunks": "voice_in_trunks",
            "/v3/voice_in_trunk_groups": "voice_in_trunk_groups"}
MAX_PAGE_SIZE = 100


def linkage_count(resource: dict) -> int:
    rels = resource.get("relationships") or {}
    return sum(1 for rel in rels.values() if isinstance(rel, dict) and "data" in rel)


def linked_keys(resource: dict) -> list[tuple[str, str]]:
    keys = []
    for rel in (resource.get("relationships") or {}).values():
        data = rel.get("data") if isinstance(rel, dict) else None
        for ref in data if isinstance(data, list) else [data] if isinstance(data, dict) else []:
            keys.append((ref["type"], str(ref["id"])))
    return keys


def load_recorded(directory: Path = FIXTURE_DIR) -> list[dict]:
    """Every recorded JSON:API document with resources (error documents carry none)."""
    docs = [json.loads(path.read_text(encoding="utf-8")) for path in sorted(directory.glob("*.json"))]
    return [doc for doc in docs if isinstance(doc, dict) and doc.get("data")]


class RecordedDidwwServer(Simulator):
    name = "didww-recorded"
    base_path = "/v3"

    def __init__(self, api_key: str, *, extra_documents: list[dict] | None = None,
                 fixture_dir: Path = FIXTURE_DIR) -> None:
        super().__init__()
        self.api_key = api_key
        self.documents = load_recorded(fixture_dir) + list(extra_documents or [])
        # (type, id) -> (resource, the document it was recorded in)
        self.chosen: dict[tuple[str, str], tuple[dict, dict]] = {}
        for doc in self.documents:
            data = doc["data"] if isinstance(doc["data"], list) else [doc["data"]]
            for res in data + list(doc.get("included") or []):
                key = (res["type"], str(res["id"]))
                if key not in self.chosen or linkage_count(res) > linkage_count(self.chosen[key][0]):
                    self.chosen[key] = (res, doc)

    # -- what is served (tests compute expectations from these) ---------------------------
    def of_type(self, type_: str) -> list[dict]:
        return [res for (t, _), (res, _doc) in self.chosen.items() if t == type_]

    @property
    def dids(self) -> list[dict]:
        return self.of_type("dids")

    def get(self, type_: str, id_: str) -> dict | None:
        hit = self.chosen.get((type_, str(id_)))
        return hit[0] if hit else None

    def included_for(self, resource: dict) -> list[dict]:
        """Resources of ``resource``'s own recording reachable from it through linkage."""
        _res, doc = self.chosen[(resource["type"], str(resource["id"]))]
        pool = {(r["type"], str(r["id"])): r for r in doc.get("included") or []}
        found: dict[tuple[str, str], dict] = {}
        todo = linked_keys(resource)
        while todo:
            key = todo.pop()
            if key in pool and key not in found:
                found[key] = pool[key]
                todo.extend(linked_keys(pool[key]))
        return list(found.values())

    # -- HTTP -------------------------------------------------------------------------------
    def error_response(self, status: int, message: str) -> SimResponse:
        error = {"title": message, "detail": message, "code": str(status), "status": str(status)}
        return SimResponse.json(status, {"errors": [error]}, content_type=JSONAPI)

    def handle(self, req: SimRequest) -> SimResponse:
        if req.headers.get("api-key") != self.api_key:
            return self.error_response(401, "Unauthorized")
        type_ = LISTINGS.get(req.path.rstrip("/"))
        if req.method != "GET" or type_ is None:
            return self.error_response(404, "Record not found")
        try:
            number = int(req.param("page[number]", "1"))
            size = int(req.param("page[size]", "50"))
        except ValueError:
            number = size = 0
        if number < 1 or not 1 <= size <= MAX_PAGE_SIZE:
            return self.error_response(400, "Invalid page value")
        items = self.of_type(type_)
        page = items[(number - 1) * size: number * size]
        included: dict[tuple[str, str], dict] = {}
        for res in page:
            for inc in self.included_for(res):
                included.setdefault((inc["type"], str(inc["id"])), inc)
        doc = {"data": page, "meta": {"total_records": len(items)}}
        if included:
            doc["included"] = list(included.values())
        return SimResponse.json(200, doc, content_type=JSONAPI, page=number)
