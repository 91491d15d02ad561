"""The sample app as a real process: endpoints, keep-alive, logging, SIGTERM."""

from __future__ import annotations

import http.client
import time

import pytest

from sample_app_process import App
from sample_app.app import route


@pytest.mark.parametrize(("target", "status", "body"), [
    ("/", 200, "ok"),
    ("/0", 200, "1"),
    ("/5", 200, "120"),
    ("/14", 200, "87178291200"),
    ("/15", 400, None),
    ("/-1", 400, None),
    ("/abc", 400, None),
    ("/cpu", 400, None),
    ("/cpu?ms=-1", 400, None),
    ("/cpu?ms=abc", 400, None),
    ("/cpu?ms=nan", 400, None),
    ("/cpu?ms=10001", 400, None),
    ("/error?status=503", 503, "error 503 on purpose"),
    ("/error?status=599", 599, "error 599 on purpose"),
    ("/error?status=404", 400, None),
    ("/error?status=600", 400, None),
    ("/error", 400, None),
    # below a listener rule's path prefix (the load balancer forwards /service/5 as it is)
    ("/service/", 200, "ok"),
    ("/service/5", 200, "120"),
    ("/api/v1/cpu?ms=0", 200, None),
    ("/service/error?status=502", 502, "error 502 on purpose"),
    ("/service/15", 400, None),
])
def test_routes(target: str, status: int, body: str | None) -> None:
    got_status, got_body = route("GET", target)
    assert got_status == status
    if body is not None:
        assert got_body == body


def test_cpu_burns_thread_cpu_time() -> None:
    start = time.thread_time()
    status, body = route("GET", "/cpu?ms=30")
    spent = (time.thread_time() - start) * 1000
    assert status == 200 and body.startswith("burned ")
    assert spent >= 30.0


def test_real_process_keep_alive_header_and_log(app: App) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", app.port, timeout=10)
    try:
        for target, status, body in [("/5", 200, b"120"), ("/15", 400, None), ("/error?status=502", 502, None),
                                     ("/cpu?ms=5", 200, None)]:
            conn.request("GET", target)
            resp = conn.getresponse()
            data = resp.read()
            assert resp.status == status
            assert resp.getheader("X-Served-By") == str(app.port)
            assert int(resp.getheader("Content-Length") or -1) == len(data)
            assert not resp.will_close  # HTTP/1.1 keep-alive: one connection for all four
            if body is not None:
                assert data == body
        first_sock = conn.sock
        conn.request("GET", "/")
        conn.getresponse().read()
        assert conn.sock is first_sock
    finally:
        conn.close()
    assert app.stop() == 0  # SIGTERM: clean exit
    lines = app.log.read_text().splitlines()
    assert "GET /5 200" in lines
    assert "GET /error?status=502 502" in lines


def test_sigterm_exits_promptly_with_an_idle_keepalive_connection_open(app: App) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", app.port, timeout=10)
    conn.request("GET", "/")
    conn.getresponse().read()
    started = time.monotonic()
    assert app.stop() == 0
    assert time.monotonic() - started < 3
    conn.close()
