"""The load balancer proxy with real sample app processes and tiny raw-socket targets.

ELB error rules: https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-troubleshooting.html
"""

from __future__ import annotations

import asyncio
import http.client
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import pytest
from sample_app_process import App

from harness.clock import ScaledClock
from harness.elb.health import HealthChecker
from harness.elb.proxy import LoadBalancerProxy
from harness.elb.targets import TargetGroupRuntime, TargetState
from harness.stack import TargetGroup
from tests.elb.config import health_check, target_group

H = TargetState.HEALTHY


HC = partial(health_check, interval=10.0, healthy_threshold=2)


def TG(**kw: Any) -> TargetGroup:
    return target_group(**{"health": HC(), "name": "web", **kw})


@dataclass
class Resp:
    status: int
    headers: dict[str, str]
    body: bytes


class Client:
    """A blocking keep-alive HTTP client run in a thread, so the proxy's loop keeps serving."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    def _do(self, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> Resp:
        self.conn.request(method, path, body=body, headers=headers)
        r = self.conn.getresponse()
        data = r.read()
        return Resp(r.status, {k.lower(): v for k, v in r.getheaders()}, data)

    async def get(self, path: str = "/", method: str = "GET", body: bytes | None = None,
                  headers: dict[str, str] | None = None) -> Resp:
        return await asyncio.to_thread(self._do, method, path, body, headers or {})

    def close(self) -> None:
        self.conn.close()


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class RawTarget:
    """A loopback server whose behaviour the test writes; counts connections."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.server: asyncio.base_events.Server | None = None
        self.port = 0
        self._writers: list[asyncio.StreamWriter] = []

    async def __aenter__(self) -> RawTarget:
        async def serve(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            self.connections += 1
            self._writers.append(w)
            try:
                await self.handler(r, w)
            except (ConnectionError, asyncio.IncompleteReadError):
                pass
            finally:
                w.close()

        self.server = await asyncio.start_server(serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        for w in self._writers:
            w.close()
        await self.server.wait_closed()


def healthy_group(clock: ScaledClock, **targets: int) -> TargetGroupRuntime:
    group = TargetGroupRuntime(TG(), clock)
    for tid, port in targets.items():
        group.register(tid, port)
        group.set_health(tid, H, None, 2, 0)
    return group


def test_round_robin_across_two_real_tasks_with_keep_alive(start: Callable[[], App]) -> None:
    a, b = start(), start()

    async def scenario() -> None:
        clock = ScaledClock(30)
        group = healthy_group(clock, a=a.port, b=b.port)
        async with LoadBalancerProxy({80: group}, clock) as lb:
            assert lb.url(80) == f"http://127.0.0.1:{lb.bound_ports[80]}" == lb.url()
            client = Client(lb.bound_ports[80])
            served = [(await client.get("/5")).headers["x-served-by"] for _ in range(20)]
            client.close()
            assert Counter(served) == {str(a.port): 10, str(b.port): 10}
            assert all(served[i] != served[i + 1] for i in range(19))
            resp = Client(lb.bound_ports[80])
            r = await resp.get("/error?status=503")
            resp.close()
            assert r.status == 503 and r.body == b"error 503 on purpose"
            s = lb.stats
            assert (s.request_count, s.target_2xx_count, s.target_5xx_count, s.elb_5xx_count) == (21, 20, 1, 0)
            assert s.groups["web"].request_count == 21
            samples = s.drain()["web"]
            assert len(samples) == 21 and all(0 <= x < 5 for x in samples)
            assert s.drain() == {"web": []}

    asyncio.run(scenario())


def test_503_when_no_target_to_route_to_and_the_connection_stays_open() -> None:
    async def scenario() -> None:
        clock = ScaledClock(30)
        group = TargetGroupRuntime(TG(), clock)
        async with LoadBalancerProxy({80: group, 8080: group}, clock) as lb:
            with pytest.raises(ValueError, match="name one"):
                lb.url()
            client = Client(lb.bound_ports[8080])
            r1 = await client.get("/", method="POST", body=b"x" * 1000)
            group.register("gone", 1)
            group.deregister("gone")  # draining targets get no new requests
            r2 = await client.get("/")
            client.close()
            for r in (r1, r2):
                assert r.status == 503
                assert b"no registered target in target group web" in r.body
                assert r.headers["server"] == "awselb/2.0"
            assert lb.stats.elb_5xx == {500: 0, 502: 0, 503: 2, 504: 0}
            assert lb.stats.request_count == 2

    asyncio.run(scenario())


def test_a_listener_can_have_a_fixed_port_and_a_taken_one_is_named() -> None:
    from harness.errors import CloudError
    from harness.net import free_port

    async def scenario() -> None:
        clock = ScaledClock(30)
        group = TargetGroupRuntime(TG(), clock)
        port = free_port()
        async with LoadBalancerProxy({80: group, 8080: group}, clock, ports={80: port}) as lb:
            assert lb.url(80) == f"http://127.0.0.1:{port}"
            assert lb.bound_ports[8080] not in (0, port)  # the other listener: any free port
            # The port is now taken: a second load balancer asking for it fails, naming listener and port.
            other = LoadBalancerProxy({80: group}, clock, ports={80: port})
            with pytest.raises(CloudError, match=rf"listener :80 could not listen on 127\.0\.0\.1:{port}"):
                await other.start()
            assert other.bound_ports == {}

    asyncio.run(scenario())


@pytest.mark.parametrize("behaviour", ["close", "garbage", "refused"])
def test_502_when_the_target_closes_answers_garbage_or_refuses(behaviour: str) -> None:
    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await r.readuntil(b"\r\n\r\n")
        if behaviour == "garbage":
            w.write(b"hello there\r\n\r\n")
            await w.drain()
        # either way: close the connection mid-request

    async def scenario() -> None:
        clock = ScaledClock(30)
        async with RawTarget(handler) as raw:
            port = raw.port
            if behaviour == "refused":
                await raw.__aexit__()
            group = healthy_group(clock, t=port)
            async with LoadBalancerProxy({80: group}, clock) as lb:
                client = Client(lb.bound_ports[80])
                r = await client.get("/")
                client.close()
                assert r.status == 502, r
                assert r.body.startswith(b"502 Bad Gateway: target t ")
                assert lb.stats.elb_5xx[502] == 1
                assert lb.stats.target_5xx_count == 0
                assert group.get("t") is not None and group.get("t").in_flight == 0  # type: ignore[union-attr]

    asyncio.run(scenario())


def test_504_when_the_target_does_not_answer_within_the_idle_timeout() -> None:
    stalled = asyncio.Event()

    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await r.readuntil(b"\r\n\r\n")
        await stalled.wait()

    async def scenario() -> None:
        clock = ScaledClock(60)  # idle timeout 30 template s = 0.5 wall s
        async with RawTarget(handler) as raw:
            group = healthy_group(clock, t=raw.port)
            async with LoadBalancerProxy({80: group}, clock, idle_timeout=30) as lb:
                client = Client(lb.bound_ports[80])
                loop = asyncio.get_running_loop()
                t0 = loop.time()
                r = await client.get("/")
                elapsed = loop.time() - t0
                client.close()
                stalled.set()
                assert r.status == 504
                assert 0.45 <= elapsed < 5
                assert lb.stats.elb_5xx == {500: 0, 502: 0, 503: 0, 504: 1}

    asyncio.run(scenario())


def test_pooled_keep_alive_forwarded_headers_bodies_and_chunked_answers() -> None:
    requests: list[bytes] = []

    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        while True:
            head = await r.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            body = await r.readexactly(length)
            requests.append(head + body)
            w.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                    b"5\r\nhello\r\n" + f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n")
            await w.drain()

    async def scenario() -> None:
        clock = ScaledClock(30)
        async with RawTarget(handler) as raw:
            group = healthy_group(clock, t=raw.port)
            async with LoadBalancerProxy({80: group}, clock) as lb:
                answers = []
                for i in range(3):
                    client = Client(lb.bound_ports[80])  # a new client connection each time
                    answers.append(await client.get("/p", method="POST", body=b"x" * (i + 1),
                                                    headers={"X-Forwarded-For": "10.0.0.1"}))
                    client.close()
                assert [a.body for a in answers] == [b"hellox", b"helloxx", b"helloxxx"]
                assert raw.connections == 1  # one pooled upstream connection served all three
                first = requests[0].decode()
                assert first.startswith("POST /p HTTP/1.1\r\n")
                assert "X-Forwarded-For: 10.0.0.1, 127.0.0.1\r\n" in first
                assert "X-Forwarded-Proto: http\r\n" in first
                assert "X-Forwarded-Port: 80\r\n" in first  # the template's listener port
                assert first.endswith("\r\n\r\nx")

    asyncio.run(scenario())



def test_a_pooled_connection_the_target_closed_is_retried_transparently() -> None:
    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await r.readuntil(b"\r\n\r\n")
        w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await w.drain()  # then close although the answer promised keep-alive

    async def scenario() -> None:
        clock = ScaledClock(30)
        async with RawTarget(handler) as target:
            group = healthy_group(clock, t=target.port)
            async with LoadBalancerProxy({80: group}, clock) as lb:
                client = Client(lb.bound_ports[80])
                statuses = [(await client.get("/")).status for _ in range(5)]
                client.close()
                assert statuses == [200] * 5
                assert target.connections == 5
                assert lb.stats.elb_5xx_count == 0

    asyncio.run(scenario())


def test_failover_when_a_task_dies_and_draining(start: Callable[[], App]) -> None:
    """Health checks every 10 template s at x100; thresholds 2/2 from the config."""
    a, b, c = start(), start(), start()

    async def scenario() -> None:
        clock = ScaledClock(100)
        group = TargetGroupRuntime(TG(), clock)
        for tid, app in (("a", a), ("b", b), ("c", c)):
            group.register(tid, app.port)
        checker = asyncio.create_task(HealthChecker(group, clock).run())
        try:
            async with LoadBalancerProxy({80: group}, clock) as lb:
                client = Client(lb.bound_ports[80])
                await _until(lambda: group.healthy_count() == 3, 10)
                a.stop()
                await _until(lambda: group.state("a") is TargetState.UNHEALTHY, 10)
                served = [(await client.get("/")).headers["x-served-by"] for _ in range(10)]
                assert Counter(served) == {str(b.port): 5, str(c.port): 5}
                group.deregister("c")
                served = [(await client.get("/")).headers["x-served-by"] for _ in range(6)]
                assert set(served) == {str(b.port)}
                await asyncio.wait_for(group.wait_drained("c"), 5)
                client.close()
        finally:
            checker.cancel()

    asyncio.run(scenario())


async def _until(cond: Callable[[], bool], wall_seconds: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wall_seconds
    while not cond():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


def test_chunked_request_body_and_close_delimited_answer_pass_through() -> None:
    received: list[bytes] = []

    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        head = await r.readuntil(b"\r\n\r\n")
        body = b""
        while (chunk := await r.readuntil(b"\r\n")) != b"0\r\n":
            body += (await r.readexactly(int(chunk, 16) + 2))[:-2]
        await r.readuntil(b"\r\n")  # end of trailers
        received.append(head)
        w.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\ngot " + body)  # no length: ends at close
        await w.drain()

    async def scenario() -> None:
        clock = ScaledClock(30)
        async with RawTarget(handler) as raw:
            group = healthy_group(clock, t=raw.port)
            async with LoadBalancerProxy({80: group}, clock) as lb:
                conn = http.client.HTTPConnection("127.0.0.1", lb.bound_ports[80], timeout=10)

                def post() -> tuple[int, bytes, str | None]:
                    conn.request("POST", "/", body=iter([b"ab", b"cde"]), encode_chunked=True)
                    r = conn.getresponse()
                    return r.status, r.read(), r.getheader("Connection")

                status, body, connection = await asyncio.to_thread(post)
                conn.close()
                assert (status, body, connection) == (200, b"got abcde", "close")
                assert b"transfer-encoding: chunked" in received[0].lower()

    asyncio.run(scenario())
