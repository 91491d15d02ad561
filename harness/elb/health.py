"""ALB target health checks: the pure state rule, the success-code matcher, and the probing loop.

The rules are AWS's (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html):
a target becomes healthy after HealthyThresholdCount consecutive successful checks and unhealthy
after UnhealthyThresholdCount consecutive failures; a check fails when the target does not answer
within HealthCheckTimeoutSeconds or answers a code outside the Matcher. Draining targets are not checked.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from harness.clock import Clock
from harness.elb.targets import Target, TargetGroupRuntime, TargetState
from harness.errors import ConfigError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProbeResult:
    """One health check. `reason` is the ELBv2 reason code when the check failed."""

    ok: bool
    reason: str | None = None


PROBE_OK = ProbeResult(True)
# ELBv2 TargetHealth reason codes (DescribeTargetHealth API reference).
TIMEOUT = "Target.Timeout"
CODE_MISMATCH = "Target.ResponseCodeMismatch"
FAILED = "Target.FailedHealthChecks"
INITIAL_CHECKING = "Elb.InitialHealthChecking"


@dataclass(frozen=True)
class Health:
    state: TargetState
    successes: int
    failures: int
    reason: str | None


def next_health(state: TargetState, successes: int, failures: int, probe: ProbeResult,
                healthy_threshold: int, unhealthy_threshold: int) -> Health:
    """The target's health after one more check (pure).

    Counters are consecutive: a success resets the failure count and vice versa. A target leaves
    `initial` or `unhealthy` for `healthy` after `healthy_threshold` consecutive successes, and leaves
    `initial` or `healthy` for `unhealthy` after `unhealthy_threshold` consecutive failures.
    Draining (and unused) targets are not health checked, so their state does not change.
    """
    if state in (TargetState.DRAINING, TargetState.UNUSED):
        return Health(state, successes, failures, None)
    new = state
    if probe.ok:
        successes, failures = successes + 1, 0
        if successes >= healthy_threshold:
            new = TargetState.HEALTHY
    else:
        successes, failures = 0, failures + 1
        if failures >= unhealthy_threshold:
            new = TargetState.UNHEALTHY
    if new is TargetState.HEALTHY:
        reason = None
    elif new is TargetState.INITIAL:
        reason = INITIAL_CHECKING
    else:
        reason = probe.reason or FAILED
    return Health(new, successes, failures, reason)


class Matcher:
    """The target group's Matcher.HttpCode: "200", "200,302" or "200-299" (ALB allows 200-499)."""

    def __init__(self, spec: str) -> None:
        self.spec = spec
        self._ranges: list[tuple[int, int]] = []
        for part in spec.replace(" ", "").split(","):
            lo_s, dash, hi_s = part.partition("-")
            try:
                lo, hi = int(lo_s), int(hi_s if dash else lo_s)
            except ValueError:
                raise ConfigError(f"health check matcher {spec!r} is not a list of HTTP codes or ranges "
                                  "such as '200', '200,302' or '200-299'") from None
            # "For Application Load Balancers ... values from 200 to 499" (target-group-health-checks.html).
            if not (200 <= lo <= hi <= 499):
                raise ConfigError(f"health check matcher {spec!r}: codes must be from 200 to 499, low to high")
            self._ranges.append((lo, hi))

    def __contains__(self, code: object) -> bool:
        return isinstance(code, int) and any(lo <= code <= hi for lo, hi in self._ranges)

    def __repr__(self) -> str:
        return f"Matcher({self.spec!r})"


def probe_port(port_setting: str, target: Target) -> int:
    """HealthCheckPort: "traffic-port" means the port the target is registered with."""
    if port_setting == "traffic-port":
        return target.port
    try:
        return int(port_setting)
    except ValueError:
        raise ConfigError(f"health check port {port_setting!r} is neither 'traffic-port' nor a number") from None


Probe = Callable[[Target], Awaitable[ProbeResult]]


class HealthChecker:
    """Checks every target of `group` each `interval` template seconds with a real HTTP GET.

    `probe` is a seam for tests; by default it is `http_probe` with the group's path, port and matcher.
    """

    def __init__(self, group: TargetGroupRuntime, clock: Clock, probe: Probe | None = None) -> None:
        hc = group.config.health
        if hc.protocol.upper() != "HTTP":
            raise ConfigError(f"target group {group.name!r}: health check protocol {hc.protocol!r} "
                              "is not supported (only HTTP)")
        # AWS: "The timeout must be smaller than the interval" (target-group-health-checks.html).
        if not 0 < hc.timeout < hc.interval:
            raise ConfigError(f"target group {group.name!r}: health check timeout {hc.timeout} s must be "
                              f"positive and smaller than the interval {hc.interval} s")
        self.group = group
        self.clock = clock
        self.matcher = Matcher(hc.matcher)
        self._probe = probe or self._http_probe

    async def run(self) -> None:
        """Probe forever (cancel to stop). Each round checks all non-draining targets concurrently."""
        hc = self.group.config.health
        while True:
            started = self.clock.now()
            await self.check_once()
            await self.clock.sleep(max(0.0, hc.interval - (self.clock.now() - started)))

    async def check_once(self) -> None:
        """One round: probe each target (bounded by the timeout) and apply the state rule."""
        hc = self.group.config.health
        targets = [t for t in self.group.targets()
                   if t.state not in (TargetState.DRAINING, TargetState.UNUSED)]
        results = await asyncio.gather(*(self._timed_probe(t, self.clock.budget(hc.timeout)) for t in targets))
        for target, result in zip(targets, results):
            if self.group.get(target.id) is not target:
                continue  # deregistered or replaced while probing
            h = next_health(target.state, target.successes, target.failures, result,
                            hc.healthy_threshold, hc.unhealthy_threshold)
            self.group.set_health(target.id, h.state, h.reason, h.successes, h.failures)

    async def _timed_probe(self, target: Target, timeout: float) -> ProbeResult:
        # The timeout is template time; racing the clock keeps it right under ScaledClock and ManualClock.
        probe = asyncio.ensure_future(self._probe(target))
        timer = asyncio.ensure_future(self.clock.sleep(timeout))
        try:
            await asyncio.wait({probe, timer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
            if not probe.done():
                probe.cancel()
        if probe.cancelled() or not probe.done():
            with contextlib.suppress(asyncio.CancelledError):
                await probe
            return ProbeResult(False, TIMEOUT)
        exc = probe.exception()
        if exc is not None:  # a probe bug counts as a failed check, loudly
            log.warning("health probe of %s failed: %r", target.id, exc)
            return ProbeResult(False, FAILED)
        return probe.result()

    async def _http_probe(self, target: Target) -> ProbeResult:
        hc = self.group.config.health
        return await http_probe(target.host, probe_port(hc.port, target), hc.path, self.matcher)


async def http_probe(host: str, port: int, path: str, matcher: Matcher) -> ProbeResult:
    """GET `path` once on a fresh connection; success when the status code is in `matcher`."""
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError:
        return ProbeResult(False, FAILED)
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: ELB-HealthChecker/2.0\r\n"
                     "Connection: close\r\n\r\n".encode("latin-1"))
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        parts = head.split(b" ", 2)
        code = int(parts[1]) if len(parts) >= 2 and parts[0].startswith(b"HTTP/") else -1
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
        return ProbeResult(False, FAILED)
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
    return PROBE_OK if code in matcher else ProbeResult(False, CODE_MISMATCH)
