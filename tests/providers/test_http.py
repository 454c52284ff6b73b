"""providers.http policy over real sockets: host pinning, no redirects, error mapping, redaction."""

from __future__ import annotations

import logging

import pytest

from providers import errors
from providers.http import HttpClient, parse_retry_after
from providers.simulators.server import SimResponse, Simulator


class Echo(Simulator):
    name = "echo"
    base_path = "/api"

    def handle(self, req):
        if req.path.endswith("/redirect"):
            return SimResponse(302, b"", {"Location": "http://203.0.113.5/steal"})
        if req.path.endswith("/limited"):
            return SimResponse(429, b"{}", {"Retry-After": "12"})
        if req.path.endswith("/denied"):
            return SimResponse.json(401, {"error": "bad token tok-SECRET-123"})
        if req.path.endswith("/broken"):
            return SimResponse(200, b'{"data": [1, 2')
        return SimResponse.json(200, {"ok": True, "auth": req.headers.get("authorization", "")})


@pytest.fixture
def server():
    with Echo() as sim:
        yield sim


def client(server, **kw):
    return HttpClient(server.base_url, headers={"Authorization": "Bearer tok-SECRET-123"},
                      secrets=["tok-SECRET-123"], error_parser=lambda r: r.body.decode(), **kw)


def test_requests_only_go_to_the_configured_origin(server):
    with client(server) as http:
        assert http.get_json("/ok")["ok"] is True
        assert http.get_json(server.base_url + "/ok?page=2")["ok"] is True
        for foreign in ("http://203.0.113.5/api/ok", f"http://localhost:{server.port}/api/ok",
                        f"https://127.0.0.1:{server.port}/api/ok", "//203.0.113.5/api/ok"):
            with pytest.raises(errors.UnsafeURL):
                http.get(foreign)
    assert all(r.path.startswith("/api") for r in server.requests)


def test_redirects_are_not_followed(server):
    with client(server) as http, pytest.raises(errors.BadResponse, match="redirect not followed"):
        http.get("/redirect")
    assert len(server.requests) == 1


def test_error_mapping_and_redaction(server, caplog):
    caplog.set_level(logging.DEBUG, logger="providers.http")
    with client(server) as http:
        with pytest.raises(errors.RateLimited) as limited:
            http.get("/limited")
        assert limited.value.retry_after == 12
        with pytest.raises(errors.AuthError) as denied:
            http.get("/denied")
        assert "tok-SECRET-123" not in str(denied.value) and "[redacted]" in str(denied.value)
        with pytest.raises(errors.BadResponse, match="truncated"):
            http.get_json("/broken")
    assert "tok-SECRET-123" not in caplog.text


def test_stall_becomes_timeout_and_dead_server_unavailable(server):
    server.faults.stall(2)
    with client(server, timeout=0.3) as http, pytest.raises(errors.ProviderTimeout):
        http.get("/ok")
    port = server.port
    server.stop()
    with HttpClient(f"http://127.0.0.1:{port}/api") as http, pytest.raises(errors.Unavailable):
        http.get("/ok")


def test_retry_after_forms():
    assert parse_retry_after("7") == 7
    assert parse_retry_after("garbage", default=30) == 30
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0  # in the past: retry now
