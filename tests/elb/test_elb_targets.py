"""The target registry: routing choice (fail open), round robin, deregistration and draining, on ManualClock.

https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-target-groups.html#deregistration-delay
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from harness.clock import ManualClock
from harness.elb.targets import (
    Target,
    TargetGroupRuntime,
    TargetState,
    routable_targets,
)
from harness.stack import TargetGroup
from tests.elb.config import health_check, target_group

I, H, U, D = TargetState.INITIAL, TargetState.HEALTHY, TargetState.UNHEALTHY, TargetState.DRAINING


HC = health_check


def TG(**kw: Any) -> TargetGroup:
    return target_group(**kw)


@pytest.mark.parametrize(("states", "expected"), [
    ("", ""),
    ("H", "0"),
    ("HU", "0"),
    ("UHIH", "13"),      # only healthy targets while there is one
    ("UU", "01"),        # all unhealthy: fail open to all
    ("IU", "01"),        # initial counts as not healthy: fail open to all
    ("II", "01"),
    ("DU", "1"),         # draining never gets new requests, even failing open
    ("DD", ""),
    ("DH", "1"),
])
def test_routable_targets(states: str, expected: str) -> None:
    by_letter = {"H": H, "U": U, "I": I, "D": D}
    targets = [Target(id=str(i), host="127.0.0.1", port=i, state=by_letter[c]) for i, c in enumerate(states)]
    assert "".join(t.id for t in routable_targets(targets)) == expected


def test_round_robin_over_healthy_targets_and_counts() -> None:
    group = TargetGroupRuntime(TG(), ManualClock())
    for i, tid in enumerate("abc"):
        group.register(tid, 1000 + i)
    assert group.state("a") is I and group.healthy_count() == 0 and group.unhealthy_count() == 0
    group.set_health("a", H, None, 5, 0)
    group.set_health("b", H, None, 5, 0)
    group.set_health("c", U, "Target.Timeout", 0, 2)
    picks = [t.id for t in (group.pick() for _ in range(6)) if t]
    assert sorted(picks) == ["a", "a", "a", "b", "b", "b"]
    assert all(picks[i] != picks[i + 1] for i in range(5))
    assert (group.healthy_count(), group.unhealthy_count()) == (2, 1)


def test_deregister_without_in_flight_completes_at_once_but_shows_draining_until_the_delay() -> None:
    async def scenario() -> None:
        clock = ManualClock(start=0.0)
        group = TargetGroupRuntime(TG(deregistration_delay=300), clock)
        group.register("a", 1)
        group.register("b", 2)
        group.set_health("a", H, None, 5, 0)
        group.set_health("b", H, None, 5, 0)
        group.deregister("a")
        assert group.state("a") is D
        assert {group.pick().id for _ in range(4)} == {"b"}  # type: ignore[union-attr]
        await asyncio.wait_for(group.wait_drained("a"), 1)  # no in-flight request: done now
        assert clock.now() == 0.0
        await clock.run_until(299.0)
        assert group.state("a") is D
        await clock.run_until(300.0)
        assert group.state("a") is None
        assert [t.id for t in group.targets()] == ["b"]

    asyncio.run(scenario())


def test_draining_completes_when_the_last_in_flight_request_ends() -> None:
    async def scenario() -> None:
        clock = ManualClock(start=0.0)
        group = TargetGroupRuntime(TG(deregistration_delay=300), clock)
        target = group.register("a", 1)
        group.acquire(target)
        group.deregister("a")
        waiter = asyncio.create_task(group.wait_drained("a"))
        await clock.run_until(100.0)
        assert not waiter.done()
        group.release(target)
        await asyncio.wait_for(waiter, 1)
        assert clock.now() == 100.0

    asyncio.run(scenario())


def test_draining_ends_at_the_delay_even_with_a_request_in_flight() -> None:
    async def scenario() -> None:
        clock = ManualClock(start=0.0)
        group = TargetGroupRuntime(TG(deregistration_delay=45), clock)
        target = group.register("a", 1)
        group.acquire(target)
        group.deregister("a")
        waiter = asyncio.create_task(group.wait_drained("a"))
        await clock.run_until(44.0)
        assert not waiter.done()
        await clock.run_until(45.0)
        await asyncio.wait_for(waiter, 1)
        assert group.state("a") is None
        assert target.state is TargetState.UNUSED

    asyncio.run(scenario())


def test_listener_failure_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    group = TargetGroupRuntime(TG(), ManualClock())
    changes: list[tuple[str, TargetState, TargetState]] = []

    def broken(t: Target, old: TargetState, new: TargetState) -> None:
        raise RuntimeError("boom")

    group.add_listener(broken)
    group.add_listener(lambda t, old, new: changes.append((t.id, old, new)))
    group.register("a", 1)
    group.deregister("a")
    assert changes == [("a", TargetState.UNUSED, I), ("a", I, D)]
    assert "boom" in caplog.text


def test_deregister_unknown_target_names_it() -> None:
    group = TargetGroupRuntime(TG(name="web"), ManualClock())
    with pytest.raises(KeyError, match="'x'.*'web'"):
        group.deregister("x")
