"""Health checks: the AWS state rule from a table, the matcher, the checker on ManualClock and for real.

Rules: https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from sample_app_process import App

from harness.clock import ManualClock, ScaledClock
from harness.elb.health import (
    HealthChecker,
    Matcher,
    ProbeResult,
    http_probe,
    next_health,
)
from harness.elb.targets import Target, TargetGroupRuntime, TargetState
from harness.errors import ConfigError
from harness.stack import TargetGroup
from tests.elb.config import health_check, target_group

I, H, U, D = TargetState.INITIAL, TargetState.HEALTHY, TargetState.UNHEALTHY, TargetState.DRAINING
OK, BAD = ProbeResult(True), ProbeResult(False, "Target.Timeout")


HC = partial(health_check, healthy_threshold=3)


def TG(**kw: Any) -> TargetGroup:
    return target_group(**{"health": HC(), **kw})


# (state, successes, failures, probe, healthy_threshold, unhealthy_threshold) -> (state, successes, failures)
TABLE = [
    (I, 0, 0, OK, 3, 2, (I, 1, 0)),
    (I, 1, 0, OK, 3, 2, (I, 2, 0)),
    (I, 2, 0, OK, 3, 2, (H, 3, 0)),      # initial -> healthy after HealthyThresholdCount successes
    (I, 0, 0, BAD, 3, 2, (I, 0, 1)),
    (I, 0, 1, BAD, 3, 2, (U, 0, 2)),     # initial -> unhealthy after UnhealthyThresholdCount failures
    (I, 2, 0, BAD, 3, 2, (I, 0, 1)),     # a failure resets the consecutive successes
    (H, 5, 0, OK, 3, 2, (H, 6, 0)),
    (H, 5, 0, BAD, 3, 2, (H, 0, 1)),
    (H, 0, 1, BAD, 3, 2, (U, 0, 2)),     # healthy -> unhealthy
    (H, 0, 1, OK, 3, 2, (H, 1, 0)),      # a success resets the consecutive failures
    (U, 0, 4, OK, 3, 2, (U, 1, 0)),
    (U, 2, 0, OK, 3, 2, (H, 3, 0)),      # unhealthy -> healthy after HealthyThresholdCount successes
    (U, 2, 0, BAD, 3, 2, (U, 0, 1)),
    (I, 0, 0, OK, 1, 1, (H, 1, 0)),      # thresholds of 1
    (I, 0, 0, BAD, 1, 1, (U, 0, 1)),
    (D, 0, 0, OK, 1, 1, (D, 0, 0)),      # draining targets are not health checked
    (D, 0, 0, BAD, 1, 1, (D, 0, 0)),
]


@pytest.mark.parametrize(("state", "succ", "fail", "probe", "ht", "ut", "expected"), TABLE)
def test_next_health_follows_the_aws_thresholds(state: TargetState, succ: int, fail: int, probe: ProbeResult,
                                                ht: int, ut: int, expected: tuple[TargetState, int, int]) -> None:
    h = next_health(state, succ, fail, probe, ht, ut)
    assert (h.state, h.successes, h.failures) == expected


def test_next_health_reasons() -> None:
    assert next_health(I, 0, 0, OK, 3, 2).reason == "Elb.InitialHealthChecking"
    assert next_health(H, 0, 1, BAD, 3, 2).reason == "Target.Timeout"
    assert next_health(H, 0, 0, OK, 3, 2).reason is None
    assert next_health(U, 0, 2, ProbeResult(False, "Target.ResponseCodeMismatch"), 3, 2).reason == \
        "Target.ResponseCodeMismatch"


@pytest.mark.parametrize(("spec", "inside", "outside"), [
    ("200", [200], [201, 302, 500]),
    ("200-299", [200, 250, 299], [199, 300, 404]),
    ("200,302", [200, 302], [201, 301, 303]),
    ("200, 301-302,404", [200, 301, 302, 404], [303, 403]),
])
def test_matcher(spec: str, inside: list[int], outside: list[int]) -> None:
    m = Matcher(spec)
    assert all(c in m for c in inside)
    assert not any(c in m for c in outside)


@pytest.mark.parametrize("spec", ["", "abc", "200-", "299-200", "100", "500", "200-500"])
def test_matcher_rejects_bad_specs_naming_them(spec: str) -> None:
    with pytest.raises(ConfigError, match="matcher"):
        Matcher(spec)


def test_checker_rejects_a_timeout_not_below_the_interval() -> None:
    group = TargetGroupRuntime(TG(health=HC(interval=5, timeout=5)), ManualClock())
    with pytest.raises(ConfigError, match="timeout 5.* interval 5"):
        HealthChecker(group, ManualClock())


def test_checker_transitions_at_exact_interval_times_on_manual_clock() -> None:
    """Probes at t0, t0+30, t0+60...: healthy at the 3rd success, unhealthy at the 2nd failure."""
    async def scenario() -> list[tuple[float, str, TargetState, str | None]]:
        clock = ManualClock(start=0.0)
        group = TargetGroupRuntime(TG(), clock)
        alive = {"a": True}
        seen: list[tuple[float, str, TargetState, str | None]] = []
        group.add_listener(lambda t, old, new: seen.append((clock.now(), t.id, new, t.reason)))

        async def probe(target: Target) -> ProbeResult:
            return OK if alive[target.id] else ProbeResult(False, "Target.FailedHealthChecks")

        group.register("a", 1)
        seen.clear()
        task = asyncio.create_task(HealthChecker(group, clock, probe=probe).run())
        await clock.run_until(60.0)
        assert group.state("a") is H  # probes at 0, 30, 60
        alive["a"] = False
        await clock.run_until(119.0)
        assert group.state("a") is H  # one failure at 90
        await clock.run_until(120.0)
        assert group.state("a") is U  # second at 120
        task.cancel()
        return seen

    assert asyncio.run(scenario()) == [(60.0, "a", H, None), (120.0, "a", U, "Target.FailedHealthChecks")]


def test_probe_that_does_not_answer_within_the_timeout_fails_as_timeout() -> None:
    async def scenario() -> tuple[TargetState | None, str | None, float]:
        clock = ManualClock(start=0.0)
        group = TargetGroupRuntime(TG(health=HC(unhealthy_threshold=1)), clock)
        stalled = asyncio.Event()

        async def probe(target: Target) -> ProbeResult:
            await stalled.wait()
            return OK

        group.register("a", 1)
        checker = HealthChecker(group, clock, probe=probe)
        round_ = asyncio.create_task(checker.check_once())
        await clock.advance(4.9)
        assert not round_.done()
        await clock.advance(0.1)
        await round_
        target = group.get("a")
        assert target is not None
        return group.state("a"), target.reason, clock.now()

    assert asyncio.run(scenario()) == (U, "Target.Timeout", 5.0)


def test_real_probe_against_the_sample_app(app: App) -> None:
    async def scenario() -> list[ProbeResult]:
        return [
            await http_probe("127.0.0.1", app.port, "/", Matcher("200")),
            await http_probe("127.0.0.1", app.port, "/15", Matcher("200-299")),  # 400
            await http_probe("127.0.0.1", app.port, "/15", Matcher("400")),
        ]

    assert asyncio.run(scenario()) == [ProbeResult(True), ProbeResult(False, "Target.ResponseCodeMismatch"),
                                       ProbeResult(True)]
    app.stop()
    assert asyncio.run(http_probe("127.0.0.1", app.port, "/", Matcher("200"))) == \
        ProbeResult(False, "Target.FailedHealthChecks")


def test_real_checker_marks_a_killed_task_unhealthy(start: Callable[[], App]) -> None:
    """Scaled time (x100): interval 10 s = 0.1 wall s. Thresholds 2/2 from the config."""
    a, b = start(), start()

    async def scenario() -> None:
        clock = ScaledClock(100)
        group = TargetGroupRuntime(TG(health=HC(interval=10, timeout=5, healthy_threshold=2,
                                                unhealthy_threshold=2)), clock)
        group.register("a", a.port)
        group.register("b", b.port)
        task = asyncio.create_task(HealthChecker(group, clock).run())
        try:
            await _until(lambda: group.healthy_count() == 2, 10)
            a.stop()
            await _until(lambda: group.state("a") is U, 10)
            assert group.state("b") is H
            assert (group.healthy_count(), group.unhealthy_count()) == (1, 1)
            assert [t.id for t in group.routable()] == ["b"]
        finally:
            task.cancel()

    asyncio.run(scenario())


async def _until(cond: Callable[[], bool], wall_seconds: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wall_seconds
    while not cond():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)
