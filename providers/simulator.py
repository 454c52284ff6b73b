"""Shared machinery for provider simulators: a real HTTP server on 127.0.0.1 plus fault controls.

Each provider's ``<provider>/simulator.py`` implements ``handle(request) -> SimResponse`` in that
provider's wire format; this module serves it over sockets and injects faults so tests and the
demo exercise the same code paths a real provider would (5xx on page N, 429 + Retry-After,
stalls, truncated JSON). Faults can be set from Python (tests) or over HTTP with
``POST /__sim__/faults`` (for a simulator started with ``manage.py simulate``).
"""

from __future__ import annotations

import json
import random
import re
import socket
import threading
import time
from dataclasses import dataclass, field
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

    def params(self) -> dict[str, str]:
        return dict(self.query)


@dataclass
class SimResponse:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    page: int | None = None  # set by list endpoints so page-targeted faults can match

    @classmethod
    def json(cls, status: int, payload: Any, content_type: str = "application/json", **kw: Any) -> "SimResponse":
        return cls(status, json.dumps(payload).encode(), {"Content-Type": content_type}, **kw)


@dataclass
class Fault:
    kind: str  # "status" | "rate_limit" | "stall" | "truncate" | "reset"
    page: int | None = None  # None: any request
    path: str | None = None  # substring of the path; None: any path
    times: int | None = 1  # None: forever
    status: int = 500
    retry_after: float = 1.0
    seconds: float = 30.0

    def matches(self, req: SimRequest, page: int | None) -> bool:
        if self.path is not None and self.path not in req.path:
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

    def rate_limit(self, retry_after: float = 1.0, *, page: int | None = None, path: str | None = None, times: int | None = 1):
        return self.add("rate_limit", retry_after=retry_after, page=page, path=path, times=times)

    def stall(self, seconds: float = 30.0, *, page: int | None = None, path: str | None = None, times: int | None = 1):
        return self.add("stall", seconds=seconds, page=page, path=path, times=times)

    def truncate(self, *, page: int | None = None, path: str | None = None, times: int | None = 1):
        return self.add("truncate", page=page, path=path, times=times)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, req: SimRequest, page: int | None) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(req, page):
                    if fault.times is not None:
                        fault.times -= 1
                    return fault
        return None


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

    def __init__(self) -> None:
        self.faults = FaultPlan()
        self.requests: list[SimRequest] = []  # every request seen, for tests
        self.latency = 0.0  # seconds added to every response
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()

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
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"sim-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop like a crashed provider: stop listening and cut every open (keep-alive) connection."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self._conn_lock:
            conns, self._connections = list(self._connections), set()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()

    @property
    def port(self) -> int:
        assert self._server is not None, "simulator not started"
        return self._server.server_address[1]

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
        if fault is None:
            return response, None
        if fault.kind == "status":
            return self.error_response(fault.status, "simulated provider failure"), fault
        if fault.kind == "rate_limit":
            resp = self.rate_limited_response(fault.retry_after)
            return resp, fault
        return response, fault

    def rate_limited_response(self, retry_after: float) -> SimResponse:
        resp = self.error_response(429, "Too Many Requests")
        resp.headers["Retry-After"] = str(int(retry_after) if float(retry_after).is_integer() else retry_after)
        return resp

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
