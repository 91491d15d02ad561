"""Expectations on a synthetic timeline: each can fail, and says why."""

from __future__ import annotations

from typing import Any

import pytest

from harness.events import Event
from harness.scenarios.expect import check
from harness.scenarios.roles import Roles
from harness.stack import Alarm, ScalableTarget, ScalingPolicy, Service, StepAdjustment, TaskDefinition

T0 = 1_000_000.0


def alarm(name: str, op: str, threshold: float, period: int = 60) -> Alarm:
    return Alarm(name=name, arn=f"arn:{name}", namespace="AWS/ECS", metric_name="CPUUtilization", dimensions={},
                 statistic="Average", extended_statistic=None, period=period, evaluation_periods=1,
                 datapoints_to_alarm=1, threshold=threshold, comparison_operator=op, treat_missing_data="missing",
                 alarm_actions=(), ok_actions=(), insufficient_data_actions=(), state="INSUFFICIENT_DATA")


def policy(name: str, adj: float) -> ScalingPolicy:
    return ScalingPolicy(arn=f"arn:{name}", name=name, resource_id="service/c/s", policy_type="StepScaling",
                         adjustment_type="ChangeInCapacity", cooldown=300.0, min_adjustment_magnitude=None,
                         metric_aggregation_type="Average", steps=(StepAdjustment(0.0, None, adj),))


ROLES = Roles(
    service=Service(cluster="c", name="s", arn="arn:s", desired_count=2,
                    task_definition=TaskDefinition("arn:td", "td", None, None, "bridge", ()),
                    load_balancers=(), minimum_healthy_percent=50, maximum_percent=200),
    target=ScalableTarget("ecs", "service/c/s", "ecs:service:DesiredCount", 2, 4),
    alarms={"scale_out": alarm("high", "GreaterThanThreshold", 70.0), "scale_in": alarm("low", "LessThanThreshold", 30.0),
            "cpu_alert": alarm("page", "GreaterThanThreshold", 85.0, 300)},
    policies={"scale_out": policy("up", 1), "scale_in": policy("down", -1)},
    emails=("admin@example.com",),
)


def ev(t: float, kind: str, **data: Any) -> Event:
    return Event(T0 + t, kind, data)


def metric(t: float, name: str, value: float) -> Event:
    return ev(t + 60, "metric", alarm=name, period_start=T0 + t, value=value)


def run(expectation: dict[str, Any], events: list[Event], spans: dict[str, tuple[float, float]] | None = None) -> dict[str, Any]:
    return check(expectation, events, ROLES, {k: (T0 + a, T0 + b) for k, (a, b) in (spans or {}).items()}, T0)


@pytest.mark.parametrize("alarm_at, passed", [(120.0, True), (180.0, True), (181.0, False)])
def test_an_alarm_must_follow_its_crossing_within_one_evaluation(alarm_at: float, passed: bool) -> None:
    events = [metric(0, "high", 50.0), metric(60, "high", 80.0),
              ev(alarm_at, "alarm", name="high", old="OK", new="ALARM")]
    verdict = run({"alarm_follows_crossing": "scale_out"}, events)
    assert verdict["passed"] is passed, verdict


def test_no_crossing_fails_rather_than_passing_vacuously() -> None:
    verdict = run({"alarm_follows_crossing": "scale_out"}, [metric(0, "high", 50.0)])
    assert not verdict["passed"] and "never crossed" in verdict["observed"]


@pytest.mark.parametrize("times, passed, why", [
    ([60.0, 360.0], True, "gaps 300 s"),
    ([60.0, 300.0], False, "gaps 240 s"),
    ([60.0], False, "not exercised"),
])
def test_cooldown_between_activities(times: list[float], passed: bool, why: str) -> None:
    events = [ev(t, "scaling", alarm="high", description="Setting desired count to 3.") for t in times]
    verdict = run({"cooldown_respected": "scale_out"}, events)
    assert verdict["passed"] is passed and why in verdict["observed"], verdict


@pytest.mark.parametrize("path, reaches, above", [([3, 4], True, True), ([3, 4, 5], True, False), ([3], False, True)])
def test_desired_count_bounds(path: list[int], reaches: bool, above: bool) -> None:
    old, events = 2, []
    for i, n in enumerate(path):
        events.append(ev(60.0 * (i + 1), "desired", old=old, new=n))
        old = n
    assert run({"scales_to": "max_capacity"}, events)["passed"] is reaches
    assert run({"never_above": "max_capacity"}, events)["passed"] is above


def test_the_email_must_reach_every_subscriber() -> None:
    mail = ev(300, "mail", subject='ALARM: "page" in US East (N. Virginia)', to=["admin@example.com"])
    other = ev(300, "mail", subject='ALARM: "pager" in US East (N. Virginia)', to=["admin@example.com"])
    assert run({"email": "cpu_alert"}, [mail])["passed"]
    assert not run({"email": "cpu_alert"}, [other])["passed"]  # another alarm's mail does not count


def test_no_alarm_during_a_phase_also_fails_when_the_alarm_was_already_in_alarm() -> None:
    events = [ev(0, "alarm", name="high", old="OK", new="ALARM")]
    verdict = run({"during": "quiet", "no_alarm": "scale_out"}, events, {"quiet": (60.0, 600.0)})
    assert not verdict["passed"]
    calm = run({"during": "quiet", "no_alarm": "scale_out"}, [], {"quiet": (60.0, 600.0)})
    assert calm["passed"]
