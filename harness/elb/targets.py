"""A target group at run time: which tasks are registered, their health state, and draining.

ELBv2 keeps this registry for the real ALB; here the health checker writes it, the proxy reads it
(`pick()` per request) and the ECS scheduler registers, deregisters and waits for draining.
Target states and reason codes are the ones `DescribeTargetHealth` shows:
https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum
from harness.clock import Clock
from harness.stack import TargetGroup

log = logging.getLogger(__name__)


class TargetState(str, Enum):
    """ELBv2 TargetHealth.State values (the ones an instance/ip target of an ALB can have)."""

    INITIAL = "initial"
    HEALTHY = "healthy"
    UNHEALTHY = "unhealthy"
    DRAINING = "draining"
    UNUSED = "unused"


@dataclass(eq=False)
class Target:
    """One registered task. `successes`/`failures` count consecutive health-check results."""

    id: str
    host: str
    port: int
    state: TargetState = TargetState.INITIAL
    # ELBv2 TargetHealth.Reason, e.g. Elb.RegistrationInProgress, Target.Timeout.
    reason: str | None = "Elb.RegistrationInProgress"
    successes: int = 0
    failures: int = 0
    in_flight: int = 0
    drain_deadline: float | None = None
    drained: asyncio.Event = field(default_factory=asyncio.Event, repr=False)


StateListener = Callable[[Target, TargetState, TargetState], None]


def routable_targets(targets: Iterable[Target]) -> list[Target]:
    """The targets a new request may go to, in registration order.

    Healthy targets only. If none is healthy the ALB fails open: "If a target group contains only
    unhealthy registered targets, the load balancer routes requests to all those targets, regardless
    of their health status" (target-group-health-checks.html). We count targets still in `initial`
    as not healthy for that rule, so a group whose only targets are initial/unhealthy routes to all of
    them. Draining targets never get new requests (load-balancer-target-groups.html#deregistration-delay).
    """
    live = [t for t in targets if t.state is not TargetState.DRAINING and t.state is not TargetState.UNUSED]
    healthy = [t for t in live if t.state is TargetState.HEALTHY]
    return healthy or live


class TargetGroupRuntime:
    """The registered targets of one target group, their health, and round-robin picking."""

    def __init__(self, config: TargetGroup, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self.name = config.name
        self.full_name = config.full_name
        self._targets: dict[str, Target] = {}
        self._routable: list[Target] | None = None  # cache, rebuilt after any state change
        self._rr = 0
        self._listeners: list[StateListener] = []

    # -- registration ---------------------------------------------------------------------------
    def register(self, target_id: str, port: int, host: str = "127.0.0.1") -> Target:
        """Register a target; it starts in `initial` until health checks decide (re-registering resets it)."""
        old = self._targets.get(target_id)
        target = Target(id=target_id, host=host, port=port)
        self._targets[target_id] = target
        if old is not None:
            old.drained.set()
        self._changed(target, old.state if old else TargetState.UNUSED, TargetState.INITIAL)
        return target

    def deregister(self, target_id: str) -> None:
        """Start draining: no new requests; forgotten after the deregistration delay.

        AWS: "If a deregistering target has no in-flight requests and no active connections, Elastic
        Load Balancing immediately completes the deregistration process, without waiting for the
        deregistration delay to elapse. However, even though target deregistration is complete, the
        status of the target is displayed as draining until the deregistration delay timeout expires."
        https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-target-groups.html#deregistration-delay
        So `wait_drained()` returns once in-flight requests finish (or at the delay), while `state()`
        says DRAINING until the delay has passed and None (forgotten) after it.
        """
        self._expire()
        target = self._targets.get(target_id)
        if target is None:
            raise KeyError(f"target {target_id!r} is not registered in target group {self.name!r}")
        if target.state is TargetState.DRAINING:
            return
        old = target.state
        target.state = TargetState.DRAINING
        target.reason = "Target.DeregistrationInProgress"
        target.drain_deadline = self.clock.now() + self.config.deregistration_delay
        if target.in_flight == 0:
            target.drained.set()
        self._changed(target, old, TargetState.DRAINING)

    async def wait_drained(self, target_id: str) -> None:
        """Return when deregistration of `target_id` completes: no in-flight request, or the delay is over."""
        target = self._targets.get(target_id)
        if target is None or target.drain_deadline is None:
            return
        if target.drained.is_set():
            return
        remaining = target.drain_deadline - self.clock.now()
        waiter = asyncio.ensure_future(target.drained.wait())
        timer = asyncio.ensure_future(self.clock.sleep(remaining))
        try:
            await asyncio.wait({waiter, timer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            timer.cancel()

    # -- queries ----------------------------------------------------------------------------------
    def state(self, target_id: str) -> TargetState | None:
        self._expire()
        target = self._targets.get(target_id)
        return target.state if target else None

    def get(self, target_id: str) -> Target | None:
        self._expire()
        return self._targets.get(target_id)

    def targets(self) -> list[Target]:
        self._expire()
        return list(self._targets.values())

    def routable(self) -> list[Target]:
        self._expire()
        if self._routable is None:
            self._routable = routable_targets(self._targets.values())
        return self._routable

    def healthy_count(self) -> int:
        """HealthyHostCount: targets in `healthy`."""
        return sum(1 for t in self.targets() if t.state is TargetState.HEALTHY)

    def unhealthy_count(self) -> int:
        """UnHealthyHostCount: targets in `unhealthy` (initial and draining are neither)."""
        return sum(1 for t in self.targets() if t.state is TargetState.UNHEALTHY)

    # -- used by the proxy and the health checker ----------------------------------------------
    def pick(self) -> Target | None:
        """Round robin (the ALB's default routing algorithm) over `routable()`; None if empty."""
        if self._draining_pending:
            self._expire()
        targets = self._routable if self._routable is not None else self.routable()
        if not targets:
            return None
        self._rr += 1
        return targets[self._rr % len(targets)]

    def acquire(self, target: Target) -> None:
        target.in_flight += 1

    def release(self, target: Target) -> None:
        target.in_flight -= 1
        if target.in_flight == 0 and target.state is TargetState.DRAINING:
            target.drained.set()

    def set_health(self, target_id: str, state: TargetState, reason: str | None,
                   successes: int, failures: int) -> None:
        """Record a health-check outcome (from `health.next_health`)."""
        target = self._targets.get(target_id)
        if target is None or target.state is TargetState.DRAINING:
            return  # deregistered while the probe was running
        target.successes, target.failures, target.reason = successes, failures, reason
        if target.state is not state:
            old = target.state
            target.state = state
            self._changed(target, old, state)

    def add_listener(self, listener: StateListener) -> None:
        """Call `listener(target, old, new)` on every state change; its errors are logged, not raised."""
        self._listeners.append(listener)

    # -- internals --------------------------------------------------------------------------------
    @property
    def _draining_pending(self) -> bool:
        return any(t.drain_deadline is not None for t in self._targets.values())

    def _expire(self) -> None:
        """Forget draining targets whose deregistration delay is over (their state becomes `unused`)."""
        now = self.clock.now()
        for target in [t for t in self._targets.values()
                       if t.drain_deadline is not None and now >= t.drain_deadline]:
            del self._targets[target.id]
            target.state = TargetState.UNUSED
            target.reason = "Target.NotRegistered"
            target.drained.set()
            self._changed(target, TargetState.DRAINING, TargetState.UNUSED)

    def _changed(self, target: Target, old: TargetState, new: TargetState) -> None:
        self._routable = None
        for listener in list(self._listeners):
            try:
                listener(target, old, new)
            except Exception:  # a listener's failure must not break routing
                log.exception("target state listener %r failed for %s", listener, target.id)
