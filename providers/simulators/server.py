"""Shared machinery for provider simulators: a real HTTP server on 127.0.0.1 plus fault controls.

Each provider's module in this package (``simulators/<slug>.py``) implements ``handle(request) ->
SimResponse`` in that provider's wire format; this module serves it over sockets and injects
faults so tests and the demo exercise the same code paths a real provider would (5xx on page N,
429 + Retry-After, stalls, truncated JSON). Faults can be set from Python (tests) or over HTTP with
``POST /__sim__/faults`` (for a simulator started with ``manage.py simulate``).

Fault kinds (``sim.faults.add(kind, page=..., path=..., times=...)``; ``page`` is 1-based):

* ``status`` (``status``): answer with that HTTP error in the provider's error shape.
* ``rate_limit`` (``retry_after``; ``None`` sends no Retry-After header): the provider's 429 /
  rate-limit answer.
* ``stall`` (``seconds``): wait before answering. ``truncate``: cut the body in half.

List-page kinds only match responses that carry a page number (list endpoints). The first
three rewrite the document; they all apply together, and with a stall, truncate or
die_after_page on the same page (a status or rate_limit answer replaces the page and leaves
them for the next time it is served):

* ``total_offset`` (``delta``): the stated total is off by ``delta`` (no-op for providers that
  state no total: Webex, Apifonica). With ``page=None, times=None`` every page lies alike.
* ``empty_page`` (``keep_next=True``): no items on the page; ``keep_next=False`` also drops the
  continuation, so the listing looks finished early.
* ``drop_next``: the continuation is gone, so the listing looks finished (no-op for providers
  without one: Voximplant pages by offset).
* ``die_after_page``: the page is served, then the simulator is down like a crashed provider
  (connections refused) until ``restart()``.

Each simulator says where its list documents keep items, total and continuation (``list_*``
attributes, ``drop_next()`` when the continuation is not a body field).
"""

from __future__ import annotations

import json
import random
import re
import socket
import threading
import time
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class SimRequest:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def param(self, name: str, default: str | None = None) -> str | None:
        for key, value in self.query:
            if key == name:
                return value
        return default


@dataclass
class SimResponse:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    page: int | None = None  # set by list endpoints so page-targeted faults can match

    @classmethod
    def json(cls, status: int, payload: Any, content_type: str = "application/json", **kw: Any) -> "SimResponse":
        return cls(status, json.dumps(payload).encode(), {"Content-Type": content_type}, **kw)


RESHAPE_KINDS = frozenset({"total_offset", "empty_page", "drop_next"})  # rewrite a list page's JSON
LIST_KINDS = RESHAPE_KINDS | {"die_after_page"}  # only ever match list pages


@dataclass
class Fault:
    kind: str  # see the module docstring
    page: int | None = None  # None: any request (list kinds: any list page)
    path: str | None = None  # substring of the path; None: any path
    times: int | None = 1  # None: forever
    status: int = 500
    retry_after: float | None = 1.0
    seconds: float = 30.0
    delta: int = 0  # total_offset
    keep_next: bool = True  # empty_page

    def matches(self, req: SimRequest, page: int | None) -> bool:
        if self.path is not None and self.path not in req.path:
            return False
        if self.kind in LIST_KINDS and page is None:
            return False
        if self.page is not None and self.page != page:
            return False
        return self.times is None or self.times > 0


class FaultPlan:
    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, kind: str, **kw: Any) -> Fault:
        fault = Fault(kind=kind, **kw)
        with self._lock:
            self._faults.append(fault)
        return fault

    # Convenience names used by tests and docs.
    def fail(self, status: int = 500, *, page: int | None = None, path: str | None = None, times: int | None = 1):
        return self.add("status", status=status, page=page, path=path, times=times)

    def rate_limit(self, retry_after: float | None = 1.0, *, page: int | None = None, path: str | None = None, times: int | None = 1):
        return self.add("rate_limit", retry_after=retry_after, page=page, path=path, times=times)

    def stall(self, seconds: float = 30.0, *, page: int | None = None, path: str | None = None, times: int | None = 1):
        return self.add("stall", seconds=seconds, page=page, path=path, times=times)

    def truncate(self, *, page: int | None = None, path: str | None = None, times: int | None = 1):
        return self.add("truncate", page=page, path=path, times=times)

    def total_offset(self, delta: int, *, page: int | None = None, path: str | None = None,
                     times: int | None = 1):
        return self.add("total_offset", delta=delta, page=page, path=path, times=times)

    def empty_page(self, keep_next: bool = True, *, page: int | None = None, path: str | None = None,
                   times: int | None = 1):
        return self.add("empty_page", keep_next=keep_next, page=page, path=path, times=times)

    def drop_next(self, *, page: int | None = None, path: str | None = None, times: int | None = 1):
        return self.add("drop_next", page=page, path=path, times=times)

    def die_after_page(self, page: int, *, path: str | None = None, times: int | None = 1):
        return self.add("die_after_page", page=page, path=path, times=times)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, req: SimRequest, page: int | None) -> Fault | None:
        """The first matching fault that decides how the response is sent (one per request)."""
        with self._lock:
            for fault in self._faults:
                if fault.kind not in RESHAPE_KINDS and fault.matches(req, page):
                    if fault.times is not None:
                        fault.times -= 1
                    return fault
        return None

    def take_reshapes(self, req: SimRequest, page: int | None) -> list[Fault]:
        """Every matching fault that rewrites the list page: a lying total set for a whole listing
        must not hide (or be hidden by) a 500 or an empty page aimed at one of its pages."""
        with self._lock:
            taken = [f for f in self._faults if f.kind in RESHAPE_KINDS and f.matches(req, page)]
            for fault in taken:
                if fault.times is not None:
                    fault.times -= 1
        return taken


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        # Clients hanging up (or stop() cutting connections) are expected here, not errors.
        import sys

        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class Simulator:
    """Base class: subclasses set ``name``/``base_path`` and implement ``handle``."""

    name = "provider"
    base_path = ""

    # Where list documents keep things, for the list-page faults. Dotted key paths into the JSON
    # body; None: this provider has no such field and the faults acting on it do nothing.
    list_items: tuple[str, ...] = ()  # item arrays that empty_page clears (any one marks a list)
    list_count: str | None = None  # stated number of items on the page (kept in step)
    list_total: str | None = None  # stated total across all pages (total_offset)
    list_next: str | None = None  # continuation link (drop_next; see drop_next())
    list_next_omitted = False  # True: a last page omits list_next instead of sending null

    def __init__(self) -> None:
        self.faults = FaultPlan()
        self.requests: list[SimRequest] = []  # every request seen, for tests
        self.latency = 0.0  # seconds added to every response
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        self._address: tuple[str, int] | None = None  # kept across stop() for restart()

    # -- to implement ---------------------------------------------------------------------
    def handle(self, req: SimRequest) -> SimResponse:  # pragma: no cover - abstract
        raise NotImplementedError

    def error_response(self, status: int, message: str) -> SimResponse:
        return SimResponse.json(status, {"error": message})

    # -- serving --------------------------------------------------------------------------
    def start(self, port: int = 0, host: str = "127.0.0.1") -> "Simulator":
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError("simulators listen on loopback only")
        self._server = _Server((host, port), _make_handler(self))
        self._address = self._server.server_address[:2]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"sim-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self, *, spare: socket.socket | None = None) -> None:
        """Stop like a crashed provider: stop listening and cut every open (keep-alive) connection
        but ``spare`` (the one still sending a die_after_page page)."""
        server, self._server = self._server, None
        if server is not None:
            # Safe from a request thread too: requests run in their own (daemon) threads, so
            # shutdown() only waits for serve_forever's poll and server_close() joins nothing.
            server.shutdown()
            server.server_close()
        with self._conn_lock:
            conns = [conn for conn in self._connections if conn is not spare]
            self._connections.difference_update(conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()

    def restart(self) -> "Simulator":
        """Listen again on the port used before stop() / die_after_page: the provider is back."""
        assert self._address is not None, "simulator never started"
        if self._server is None:
            self.start(port=self._address[1], host=self._address[0])
        return self

    @property
    def port(self) -> int:
        # Still known while stopped, so a test can point a client at a dead provider.
        assert self._address is not None, "simulator not started"
        return self._address[1]

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return self.root_url + self.base_path

    def __enter__(self) -> "Simulator":
        if self._server is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- dispatch with faults -------------------------------------------------------------
    def dispatch(self, req: SimRequest) -> tuple[SimResponse, Fault | None]:
        if req.path == "/__sim__/faults" and req.method == "POST":
            return self._control(req), None
        self.requests.append(req)
        response = self.handle(req)
        fault = self.faults.take(req, response.page)
        if fault is not None and fault.kind == "status":
            return self.error_response(fault.status, "simulated provider failure"), fault
        if fault is not None and fault.kind == "rate_limit":
            resp = self.rate_limited_response(fault.retry_after)
            return resp, fault
        # Only a page that is actually served uses up the faults that rewrite it.
        if response.page is not None:
            response = self._reshape(response, self.faults.take_reshapes(req, response.page))
        return response, fault

    def _reshape(self, response: SimResponse, faults: list[Fault]) -> SimResponse:
        """Apply total_offset / empty_page / drop_next to a list page."""
        if not faults:
            return response
        try:
            doc = json.loads(response.body)
        except ValueError:
            return response
        if not isinstance(doc, dict) or not any(isinstance(doc.get(k), list) for k in self.list_items):
            return response
        headers = dict(response.headers)
        for fault in faults:
            if fault.kind == "total_offset" and (slot := _slot(doc, self.list_total)):
                slot[0][slot[1]] += fault.delta
            elif fault.kind == "empty_page":
                for key in self.list_items:
                    if key in doc:
                        doc[key] = []
                if slot := _slot(doc, self.list_count):
                    slot[0][slot[1]] = 0
                if not fault.keep_next:
                    self.drop_next(doc, headers)
            elif fault.kind == "drop_next":
                self.drop_next(doc, headers)
        return replace(response, body=json.dumps(doc).encode(), headers=headers)

    def drop_next(self, doc: dict, headers: dict[str, str]) -> None:
        """Make a list page look like the last one; override if the continuation is not in the body."""
        if slot := _slot(doc, self.list_next):
            parent, key = slot
            if self.list_next_omitted:
                del parent[key]
            else:
                parent[key] = None

    def rate_limited_response(self, retry_after: float | None) -> SimResponse:
        resp = self.error_response(429, "Too Many Requests")
        return with_retry_after(resp, retry_after)

    def _control(self, req: SimRequest) -> SimResponse:
        try:
            spec = json.loads(req.body or b"{}")
            if spec.get("clear"):
                self.faults.clear()
            for item in spec.get("faults", []):
                self.faults.add(**item)
        except (ValueError, TypeError) as exc:
            return SimResponse.json(400, {"error": f"bad fault spec: {exc}"})
        return SimResponse.json(200, {"ok": True})


def _slot(doc: dict, path: str | None) -> tuple[dict, str] | None:
    """(parent, key) of a dotted path that exists in ``doc``, else None."""
    if path is None:
        return None
    *parents, key = path.split(".")
    for name in parents:
        doc = doc.get(name)
        if not isinstance(doc, dict):
            return None
    return (doc, key) if key in doc else None


def _make_handler(sim: Simulator):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = f"{sim.name}-simulator"

        def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read sim.requests
            pass

        def setup(self) -> None:
            super().setup()
            # Headers and body go out in separate writes; without NODELAY, Nagle + delayed ACK
            # adds ~40 ms to every small response.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with sim._conn_lock:
                sim._connections.add(self.connection)

        def finish(self) -> None:
            with sim._conn_lock:
                sim._connections.discard(self.connection)
            try:
                super().finish()
            except OSError:
                pass

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            req = SimRequest(
                method=self.command,
                path=parts.path,
                query=parse_qsl(parts.query, keep_blank_values=True),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
            try:
                response, fault = sim.dispatch(req)
            except Exception as exc:  # a simulator bug must look like a provider 500, not hang
                response, fault = SimResponse.json(500, {"error": f"simulator error: {type(exc).__name__}"}), None
            if sim.latency:
                time.sleep(sim.latency)
            payload = response.body
            if fault is not None and fault.kind == "stall":
                time.sleep(fault.seconds)
            if fault is not None and fault.kind == "truncate":
                payload = payload[: max(1, len(payload) // 2)]
            if fault is not None and fault.kind == "die_after_page":
                # Go down before the page leaves rather than after: once the client has the page,
                # its next request is refused for sure instead of racing a background shutdown.
                # Connection: close stops it from trying this (soon closed) connection again.
                sim.stop(spare=self.connection)
                response.headers["Connection"] = "close"
            self.send_response(response.status)
            for key, value in response.headers.items():
                self.send_header(key, value)
            # Truncation keeps the honest Content-Length of the cut body: the client gets a
            # complete HTTP message whose JSON is broken, like a buggy proxy would produce.
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            try:
                self.wfile.write(payload)
            except OSError:  # client gone, or the simulator was stopped mid-response
                self.close_connection = True

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    return Handler


def with_retry_after(resp: SimResponse, retry_after: float | None) -> SimResponse:
    if retry_after is not None:
        resp.headers["Retry-After"] = str(int(retry_after) if float(retry_after).is_integer() else retry_after)
    return resp


def expand_pattern(pattern: str, rng: random.Random) -> str:
    """Seed helper for simulators: "415NXXXXXX" -> a number; X any digit, N 2-9, [2-5] a class."""
    out = []
    for cls, ch in re.findall(r"\[([^\]]+)\]|(.)", pattern):
        if cls:
            ranges = re.findall(r"(\d)(?:-(\d))?", cls)
            out.append(rng.choice("".join(chr(c) for a, b in ranges for c in range(ord(a), ord(b or a) + 1))))
        else:
            out.append(rng.choice("0123456789") if ch == "X" else rng.choice("23456789") if ch == "N" else ch)
    return "".join(out)
