"""The Application Load Balancer's data plane on loopback: listeners, routing, pooling, ELB errors.

Each listener of the template (say port 80) is served on a free 127.0.0.1 port, because the
harness cannot bind the template's port. Each request is matched against the listener's rules in
priority order, the default action last (harness.elb.rules, after
https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-condition-types.html); a
forward goes round robin to the routable targets of the chosen target group (weighted target groups
by their weights) over pooled keep-alive connections; fixed-response and redirect actions are
answered by the load balancer itself, as AWS answers them. Errors the ALB makes itself are
the ones AWS documents for HTTPCode_ELB_5XX_Count
(https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-troubleshooting.html):
503 when there is no target to route to, 502 when the target closes or resets the connection or
answers something that is not HTTP, 504 when the target does not answer within the idle timeout.

It must never be the bottleneck of a load test: no per-request connect while a pooled connection
exists, no per-request logging, and only the headers that frame a message are parsed.

TargetResponseTime samples are measured in real (event-loop) seconds: they describe how long the
task really took, which a time scale does not change.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from dataclasses import dataclass, field

from collections.abc import Mapping, Sequence

from harness.clock import Clock
from harness.elb.rules import Action, Request, Rule, ordered, redirect_location, rule_matches
from harness.elb.targets import Target, TargetGroupRuntime, TargetState
from harness.errors import CloudError

log = logging.getLogger(__name__)

_HEAD_LIMIT = 64 * 1024
_COPY_CHUNK = 64 * 1024
_HIGH_WATER = 256 * 1024
_REASONS = {200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 301: "Moved Permanently",
            302: "Found", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
            405: "Method Not Allowed", 409: "Conflict", 410: "Gone", 429: "Too Many Requests",
            500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway",
            503: "Service Temporarily Unavailable", 504: "Gateway Time-out"}
_UPSTREAM_ERRORS = (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, OSError, ValueError)


@dataclass
class GroupStats:
    """Counters for one target group (monotonic; the metrics agent publishes differences)."""

    request_count: int = 0
    target_2xx_count: int = 0
    target_3xx_count: int = 0
    target_4xx_count: int = 0
    target_5xx_count: int = 0
    elb_5xx: dict[int, int] = field(default_factory=lambda: {500: 0, 502: 0, 503: 0, 504: 0})
    response_times: list[float] = field(default_factory=list)

    @property
    def elb_5xx_count(self) -> int:
        return sum(self.elb_5xx.values())


class LoadBalancerStats:
    """The load balancer's CloudWatch inputs: totals over target groups, and `groups[name]`.

    `own` counts the requests the load balancer answered itself (fixed-response, redirect): they are in
    the load balancer's RequestCount but in no target group's."""

    def __init__(self) -> None:
        self.groups: dict[str, GroupStats] = {}
        self.own = GroupStats()

    def group(self, name: str) -> GroupStats:
        return self.groups.setdefault(name, GroupStats())

    def _sum(self, attr: str) -> int:
        return sum(int(getattr(g, attr)) for g in (*self.groups.values(), self.own))

    @property
    def request_count(self) -> int:
        return self._sum("request_count")

    @property
    def target_2xx_count(self) -> int:
        return self._sum("target_2xx_count")

    @property
    def target_3xx_count(self) -> int:
        return self._sum("target_3xx_count")

    @property
    def target_4xx_count(self) -> int:
        return self._sum("target_4xx_count")

    @property
    def target_5xx_count(self) -> int:
        return self._sum("target_5xx_count")

    @property
    def elb_5xx(self) -> dict[int, int]:
        total = {500: 0, 502: 0, 503: 0, 504: 0}
        for g in (*self.groups.values(), self.own):
            for code, n in g.elb_5xx.items():
                total[code] = total.get(code, 0) + n
        return total

    @property
    def elb_5xx_count(self) -> int:
        return sum(self.elb_5xx.values())

    def drain(self) -> dict[str, list[float]]:
        """TargetResponseTime samples (seconds) per target group name since the last drain."""
        out: dict[str, list[float]] = {}
        for name, g in self.groups.items():
            out[name], g.response_times = g.response_times, []
        return out


Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class _BadGateway(Exception):
    """The target closed, reset or answered something that is not HTTP (ALB answers 502)."""


class ListenerRouting:
    """One listener's rules (the default rule among them) and the runtimes of the groups they forward to.

    `decide()` is the per-request part: the first rule whose conditions all match, then its first
    action that answers (forward, fixed-response, redirect). A listener whose only rule is a default
    forward to one group skips rule evaluation entirely (the common, single-service case)."""

    def __init__(self, rules: Sequence[Rule], groups: Mapping[str, TargetGroupRuntime]) -> None:
        self.rules = ordered(rules)
        if not any(r.is_default for r in self.rules):
            raise CloudError("a listener needs a default rule (its DefaultActions)")
        self.groups = dict(groups)
        for rule in self.rules:
            for action in rule.actions:
                for arn, _ in action.target_groups:
                    if arn not in self.groups:
                        raise CloudError(f"rule {rule.arn} forwards to target group {arn}, which is not served")
        only = self.rules[0] if len(self.rules) == 1 else None
        single = only.actions[0] if only and len(only.actions) == 1 else None
        self.fixed_group: TargetGroupRuntime | None = (
            self.groups[single.target_groups[0][0]]
            if single and single.type == "forward" and len(single.target_groups) == 1 else None)
        self.needs_headers = self.fixed_group is None
        self._wrr: dict[tuple[str, int], dict[str, int]] = {}

    @classmethod
    def forward(cls, group: TargetGroupRuntime) -> ListenerRouting:
        """A listener whose default action forwards to `group` and that has no other rule."""
        return cls([Rule(f"{group.config.arn}/default", None, (), (Action("forward", target_groups=((group.config.arn, 1),)),))],
                   {group.config.arn: group})

    def decide(self, req: Request) -> tuple[Action | None, TargetGroupRuntime | None]:
        """(the answering action, the group a forward picked); (None, None) if no rule answers."""
        for rule in self.rules:
            if not rule_matches(rule, req):
                continue
            for action in rule.actions:
                if action.type == "forward":
                    return action, self._weighted(rule.arn, action)
                if action.type in ("fixed-response", "redirect"):
                    return action, None
                # authenticate-oidc / authenticate-cognito come before a forward: not emulated, passed.
            return None, None
        return None, None

    def _weighted(self, key: str, action: Action) -> TargetGroupRuntime | None:
        """Smooth weighted round robin over a forward's target groups (weight 0 gets nothing)."""
        groups = [(arn, w) for arn, w in action.target_groups if w > 0]
        if not groups:
            return None
        if len(groups) == 1:
            return self.groups[groups[0][0]]
        current = self._wrr.setdefault((key, action.order), {arn: 0 for arn, _ in groups})
        total = sum(w for _, w in groups)
        for arn, w in groups:
            current[arn] += w
        best = max(groups, key=lambda g: current[g[0]])[0]
        current[best] -= total
        return self.groups[best]


class LoadBalancerProxy:
    """One ALB: `routes` maps each listener port to its rules (or, simply, to one default target group)."""

    def __init__(self, routes: Mapping[int, TargetGroupRuntime | ListenerRouting], clock: Clock,
                 host: str = "127.0.0.1", idle_timeout: float = 60.0, max_idle_per_target: int = 256,
                 ports: dict[int, int] | None = None) -> None:
        if host != "127.0.0.1":
            raise CloudError(f"the load balancer binds 127.0.0.1 only, not {host!r}")
        self.routes: dict[int, ListenerRouting] = {
            port: r if isinstance(r, ListenerRouting) else ListenerRouting.forward(r) for port, r in routes.items()}
        self.clock = clock
        self.host = host
        # The idle_timeout.timeout_seconds load balancer attribute (AWS default 60 s), template seconds.
        self.idle_timeout = idle_timeout
        self.max_idle_per_target = max_idle_per_target
        self.stats = LoadBalancerStats()
        self.ports = dict(ports or {})  # listener port -> the 127.0.0.1 port to bind (default: any free one)
        self.bound_ports: dict[int, int] = {}
        self._servers: list[asyncio.base_events.Server] = []
        self._clients: set[asyncio.Task[None]] = set()
        self._pool: dict[tuple[str, int], list[Conn]] = {}
        seen: set[int] = set()
        for routing in self.routes.values():
            for group in routing.groups.values():
                self.stats.group(group.name)
                if id(group) not in seen:
                    seen.add(id(group))
                    group.add_listener(self._on_target_change)

    # -- lifecycle ------------------------------------------------------------------------------
    async def start(self) -> None:
        for listener_port, routing in self.routes.items():
            port = self.ports.get(listener_port, 0)
            try:
                server = await asyncio.start_server(
                    functools.partial(self._serve_client, listener_port, routing),
                    self.host, port, limit=_HEAD_LIMIT)
            except OSError as exc:
                await self.stop()
                raise CloudError(f"the load balancer's listener :{listener_port} could not listen on "
                                 f"{self.host}:{port}: {exc.strerror or exc}") from exc
            self._servers.append(server)
            self.bound_ports[listener_port] = server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        for server in self._servers:
            server.close()
        for server in self._servers:
            await server.wait_closed()
        self._servers.clear()
        for task in list(self._clients):
            task.cancel()
        if self._clients:
            await asyncio.gather(*self._clients, return_exceptions=True)
        for key in list(self._pool):
            self._close_pool(key)

    async def __aenter__(self) -> LoadBalancerProxy:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def url(self, listener_port: int | None = None) -> str:
        """The loopback URL of a listener (the only one if `listener_port` is None)."""
        if listener_port is None:
            if len(self.bound_ports) != 1:
                raise ValueError(f"the load balancer has listeners {sorted(self.bound_ports)}: name one")
            listener_port = next(iter(self.bound_ports))
        return f"http://{self.host}:{self.bound_ports[listener_port]}"

    # -- connection pool ------------------------------------------------------------------------
    def _on_target_change(self, target: Target, old: TargetState, new: TargetState) -> None:
        if new is TargetState.UNUSED:
            self._close_pool((target.host, target.port))

    def _close_pool(self, key: tuple[str, int]) -> None:
        for _, w in self._pool.pop(key, []):
            w.close()

    async def _connection(self, target: Target) -> tuple[Conn, bool]:
        """A pooled idle connection to `target` if one is alive, else a new one. Second item: reused."""
        idle = self._pool.get((target.host, target.port))
        while idle:
            r, w = idle.pop()
            if not r.at_eof() and not w.is_closing():
                return (r, w), True
            w.close()
        r, w = await asyncio.open_connection(target.host, target.port, limit=_HEAD_LIMIT)
        return (r, w), False

    def _give_back(self, target: Target, conn: Conn) -> None:
        idle = self._pool.setdefault((target.host, target.port), [])
        if len(idle) < self.max_idle_per_target and target.state is not TargetState.UNUSED:
            idle.append(conn)
        else:
            conn[1].close()

    # -- client side ------------------------------------------------------------------------------
    def _idle_wall(self) -> float | None:
        # ManualClock maps every template duration to 0 wall seconds: no socket timeout then.
        wall = self.clock.wall(self.clock.budget(self.idle_timeout))
        return wall if wall > 0 else None

    async def _serve_client(self, listener_port: int, routing: ListenerRouting,
                            reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._clients.add(task)
        peer = writer.get_extra_info("peername")
        client_ip = peer[0] if peer else "127.0.0.1"
        forwarded = f"X-Forwarded-Proto: http\r\nX-Forwarded-Port: {listener_port}\r\n".encode()
        try:
            while True:
                try:
                    # The ALB closes a client connection idle for longer than the idle timeout.
                    async with asyncio.timeout(self._idle_wall()):
                        head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.LimitOverrunError:
                    self._error(writer, 400, "request headers too large", keep=False)
                    return
                except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
                    return
                if not await self._exchange(head, reader, writer, listener_port, routing, client_ip, forwarded):
                    return
        except _UPSTREAM_ERRORS:
            pass  # the client went away or sent a body we cannot frame: drop its connection
        finally:
            self._clients.discard(task)
            writer.close()

    def _answer(self, writer: asyncio.StreamWriter, action: Action, req: Request, listener_port: int,
                method: bytes, keep: bool) -> None:
        """The load balancer's own answer: a fixed-response or a redirect action, as AWS sends them.
        https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-listeners.html#rule-action-types
        """
        if action.type == "redirect":
            code = 301 if action.redirect_code == "HTTP_301" else 302
            extra = f"Location: {redirect_location(action, req, 'HTTP', listener_port)}\r\n"
            body, ctype = b"", "text/html"
        else:
            code = int(action.status_code or 200)
            body = (action.message_body or "").encode()
            ctype, extra = action.content_type or "text/plain", ""
        if code >= 500:
            self.stats.own.elb_5xx[code] = self.stats.own.elb_5xx.get(code, 0) + 1
        writer.write(
            f"HTTP/1.1 {code} {_REASONS.get(code, 'Unknown')}\r\nServer: awselb/2.0\r\n{extra}"
            f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
            f"Connection: {'keep-alive' if keep else 'close'}\r\n\r\n".encode()
            + (b"" if method == b"HEAD" else body))

    def _error(self, writer: asyncio.StreamWriter, code: int, detail: str, keep: bool) -> None:
        body = f"{code} {_REASONS[code]}: {detail}\n".encode()
        writer.write(
            f"HTTP/1.1 {code} {_REASONS[code]}\r\nServer: awselb/2.0\r\nContent-Type: text/plain\r\n"
            f"Content-Length: {len(body)}\r\nConnection: {'keep-alive' if keep else 'close'}\r\n\r\n".encode()
            + body)

    async def _exchange(self, head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                        listener_port: int, routing: ListenerRouting, client_ip: str,
                        forwarded: bytes) -> bool:
        """Serve one request; return whether the client connection stays open."""
        lines = head[:-4].split(b"\r\n")
        parts = lines[0].split(b" ")
        if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
            self._error(writer, 400, "malformed request line", keep=False)
            return False
        method, version = parts[0], parts[2]
        content_length = 0
        chunked = expect_continue = False
        connection = b""
        xff = b""
        out = [lines[0]]
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            lname = name.strip().lower()
            if lname == b"content-length":
                try:
                    content_length = int(value)
                except ValueError:
                    self._error(writer, 400, "bad Content-Length", keep=False)
                    return False
            elif lname == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif lname in (b"connection", b"keep-alive", b"proxy-connection"):
                if lname == b"connection":
                    connection = value.strip().lower()
                continue  # hop-by-hop: the upstream connection is ours and always keep-alive
            elif lname == b"expect":
                expect_continue = b"100-continue" in value.lower()
                continue
            elif lname == b"x-forwarded-for":
                xff = value.strip() + b", "  # the ALB appends the client address
                continue
            elif lname in (b"x-forwarded-proto", b"x-forwarded-port"):
                continue
            out.append(line)
        has_body = chunked or content_length > 0
        keep = version == b"HTTP/1.1" and b"close" not in connection
        group = routing.fixed_group
        if group is None:
            req = _request(parts[0], parts[1], lines[1:], client_ip)
            action, group = routing.decide(req)
            if group is None:
                self.stats.own.request_count += 1
                with contextlib.suppress(*_UPSTREAM_ERRORS):
                    await _relay_body(reader, None, content_length, chunked, None)
                    if action is None or action.type == "forward":
                        self.stats.own.elb_5xx[503] += 1
                        self._error(writer, 503, "no rule of the listener forwards this request to a target group"
                                    if action is None else "the forward action has no target group with weight", keep)
                    else:
                        self._answer(writer, action, req, listener_port, method, keep)
                    await writer.drain()
                    return keep
                return False
        stats = self.stats.group(group.name)
        stats.request_count += 1

        target = group.pick()
        if target is None:
            stats.elb_5xx[503] += 1
            with contextlib.suppress(*_UPSTREAM_ERRORS):
                await _relay_body(reader, None, content_length, chunked, None)
                self._error(writer, 503, f"no registered target in target group {group.name}", keep)
                await writer.drain()
                return keep
            return False

        if expect_continue:
            # The ALB answers 100 Continue itself, then streams the body to the target.
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        upstream_head = (b"\r\n".join(out) + b"\r\nX-Forwarded-For: " + xff + client_ip.encode()
                         + b"\r\n" + forwarded + b"\r\n")
        idle = self._idle_wall()
        loop = asyncio.get_running_loop()
        group.acquire(target)
        conn: Conn | None = None
        try:
            # A pooled connection the target closed meanwhile fails with no bytes: retry once on a
            # fresh connection, which is safe only when no request body has been consumed.
            for attempt in range(2):
                conn = None
                try:
                    conn, reused = await self._connection(target)
                except OSError:
                    stats.elb_5xx[502] += 1
                    await _relay_body(reader, None, content_length, chunked, None)
                    self._error(writer, 502, f"target {target.id} refused the connection", keep)
                    return keep
                up_r, up_w = conn
                try:
                    up_w.write(upstream_head)
                    if has_body:
                        await _relay_body(reader, up_w, content_length, chunked, None)
                    await up_w.drain()
                    sent = loop.time()
                    async with asyncio.timeout(idle):
                        resp_head = await up_r.readuntil(b"\r\n\r\n")
                        code = _status(resp_head)
                        while 100 <= code < 200 and code != 101:  # interim answers go through as they are
                            writer.write(resp_head)
                            resp_head = await up_r.readuntil(b"\r\n\r\n")
                            code = _status(resp_head)
                    break
                except TimeoutError:
                    up_w.close()
                    conn = None
                    stats.elb_5xx[504] += 1
                    self._error(writer, 504, f"target {target.id} did not answer within the idle timeout",
                                keep=False)
                    return False
                except (*_UPSTREAM_ERRORS, _BadGateway) as exc:
                    up_w.close()
                    conn = None
                    stale = isinstance(exc, (asyncio.IncompleteReadError, ConnectionResetError, BrokenPipeError))
                    if attempt == 0 and reused and not has_body and stale and not getattr(exc, "partial", b""):
                        continue
                    stats.elb_5xx[502] += 1
                    self._error(writer, 502, f"target {target.id} closed the connection or answered "
                                "something that is not HTTP", keep=False)
                    return False
            else:
                raise AssertionError("unreachable: the second attempt breaks or returns")
            assert conn is not None
            up_r, up_w = conn
            stats.response_times.append(loop.time() - sent)
            if code >= 500:
                stats.target_5xx_count += 1
            elif code >= 400:
                stats.target_4xx_count += 1
            elif code >= 300:
                stats.target_3xx_count += 1
            elif code >= 200:
                stats.target_2xx_count += 1

            lh = resp_head.lower()
            resp_chunked = b"chunked" in _header(lh, b"transfer-encoding")
            resp_conn = _header(lh, b"connection")
            upstream_keep = b"close" not in resp_conn and not lh.startswith(b"http/1.0")
            resp_length = -1
            no_body = method == b"HEAD" or code in (204, 304)
            if not no_body and not resp_chunked:
                raw = _header(lh, b"content-length")
                if raw:
                    resp_length = int(raw)
                else:
                    upstream_keep = keep = False  # the body ends when the target closes
            if resp_conn or not keep:
                resp_head = _set_connection(resp_head, keep)
            writer.write(resp_head)
            try:
                async with asyncio.timeout(idle) as cm:
                    if not no_body:
                        if resp_chunked:
                            await _relay_body(up_r, writer, 0, True, _IdleTimer(cm, idle))
                        elif resp_length >= 0:
                            await _relay_body(up_r, writer, resp_length, False, _IdleTimer(cm, idle))
                        else:
                            await _relay_until_eof(up_r, writer, _IdleTimer(cm, idle))
            except (TimeoutError, *_UPSTREAM_ERRORS):
                up_w.close()
                conn = None
                return False  # the head is out: all we can do is cut the client connection
            if upstream_keep:
                self._give_back(target, conn)
            else:
                up_w.close()
            conn = None
            await writer.drain()
            return keep
        except BaseException:
            if conn is not None:
                conn[1].close()
            raise
        finally:
            group.release(target)


def _request(method: bytes, target: bytes, header_lines: list[bytes], client_ip: str) -> Request:
    """What rule conditions look at, from the raw head (header names lower-cased, first value kept)."""
    headers: dict[str, str] = {}
    for line in header_lines:
        name, _, value = line.partition(b":")
        headers.setdefault(name.strip().lower().decode("latin-1"), value.strip().decode("latin-1"))
    return Request(method.decode("latin-1"), target.decode("latin-1"), headers, client_ip)


def _status(head: bytes) -> int:
    if not head.startswith(b"HTTP/1.") or len(head) < 12:
        raise _BadGateway()
    try:
        return int(head[9:12])
    except ValueError:
        raise _BadGateway() from None


def _header(lower_head: bytes, name: bytes) -> bytes:
    """The value of header `name` in an already lower-cased head, or b"" (first occurrence)."""
    i = lower_head.find(b"\r\n" + name + b":")
    if i < 0:
        return b""
    start = i + len(name) + 3
    end = lower_head.find(b"\r\n", start)
    return lower_head[start:end].strip()


def _set_connection(head: bytes, keep: bool) -> bytes:
    lines = [line for line in head[:-4].split(b"\r\n")
             if not line.lower().startswith((b"connection:", b"keep-alive:"))]
    if not keep:
        lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n"


class _IdleTimer:
    """The idle timeout of a transfer: every chunk that arrives restarts it."""

    __slots__ = ("cm", "span")

    def __init__(self, cm: asyncio.Timeout, span: float | None) -> None:
        self.cm, self.span = cm, span

    def bump(self) -> None:
        if self.span is not None:
            self.cm.reschedule(asyncio.get_running_loop().time() + self.span)


def _bump(timer: _IdleTimer | None) -> None:
    if timer is not None:
        timer.bump()


async def _copy_exact(src: asyncio.StreamReader, dst: asyncio.StreamWriter | None, n: int,
                      timer: _IdleTimer | None) -> None:
    while n > 0:
        chunk = await src.read(min(n, _COPY_CHUNK))
        if not chunk:
            raise asyncio.IncompleteReadError(b"", n)
        n -= len(chunk)
        if dst is not None:
            dst.write(chunk)
            if dst.transport.get_write_buffer_size() > _HIGH_WATER:
                await dst.drain()
        _bump(timer)


async def _relay_body(src: asyncio.StreamReader, dst: asyncio.StreamWriter | None, length: int,
                      chunked: bool, timer: _IdleTimer | None) -> None:
    """Copy one message body framed by Content-Length or chunked encoding (dst None: discard it)."""
    if not chunked:
        if length > 0:
            await _copy_exact(src, dst, length, timer)
        return
    while True:
        line = await src.readuntil(b"\r\n")
        if dst is not None:
            dst.write(line)
        size = int(line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            while True:  # trailers, up to the empty line
                trailer = await src.readuntil(b"\r\n")
                if dst is not None:
                    dst.write(trailer)
                if trailer == b"\r\n":
                    return
        await _copy_exact(src, dst, size + 2, timer)


async def _relay_until_eof(src: asyncio.StreamReader, dst: asyncio.StreamWriter, timer: _IdleTimer | None) -> None:
    while chunk := await src.read(_COPY_CHUNK):
        dst.write(chunk)
        if dst.transport.get_write_buffer_size() > _HIGH_WATER:
            await dst.drain()
        _bump(timer)
