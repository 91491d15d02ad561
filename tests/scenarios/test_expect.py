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


# ------------------------------------------------------------------------------------------ why: the chain


LOW_ARN = "arn:down"
NO_STEP = ("Failed to execute AutoScaling action: No step adjustment found for metric value [{v}] and breach "
           "threshold 30.0")


def low(t: float, value: float) -> Event:
    return metric(t, "low", value)


def invoked(t: float, ok: bool, summary: str = "", detail: str = "") -> Event:
    return ev(t, "action", alarm="low", arn=LOW_ARN, ok=ok, summary=summary, detail=detail, state="ALARM")


def why_of(events: list[Event], want: str = "min_capacity") -> dict[str, Any]:
    v = run({"scales_to": want}, [ev(0, "phase", name="start"), *events, ev(900, "phase", name="end")])
    assert v["passed"] is False
    return v["why"]


def test_why_metric_when_no_datapoint_reached_the_alarm() -> None:
    why = why_of([])
    assert why["link"] == "metric" and why["chain"] == ["metric"]
    assert "no datapoint of AWS/ECS CPUUtilization" in why["text"] and "reached low" in why["text"]


def test_why_alarm_state_gives_the_range_and_the_rule() -> None:
    why = why_of([low(0, 40.0), low(60, 35.5)])
    assert why["link"] == "alarm state"
    assert why["text"] == ("low never went to ALARM: its 2 datapoint(s) ranged 35.5..40.0; it needs LessThanThreshold 30 "
                           "for 1 of 1 period(s) of 60 s")


def test_why_action_when_the_alarm_ran_nothing() -> None:
    why = why_of([low(0, 9.5), ev(120, "alarm", name="low", old="OK", new="ALARM")])
    assert why["link"] == "action" and "ran no action on down" in why["text"]


def test_why_policy_decision_quotes_aws_and_the_step_fix() -> None:
    """The issue's case: the article's ScaleDownPolicy (only step MetricIntervalLowerBound: 0) on a LessThanThreshold
    alarm is invoked every minute and never matches."""
    events = [low(0, 9.5), ev(120, "alarm", name="low", old="OK", new="ALARM")]
    events += [invoked(120 + 60 * k, False, NO_STEP.format(v=v)) for k, v in enumerate((9.5, 9.52, 9.4))]
    why = why_of(events)
    assert why["link"] == "policy decision"
    assert why["chain"] == ["metric", "alarm state", "action", "policy decision"]
    assert why["text"] == (
        "down was invoked 3 times by low in ALARM; each time: No step adjustment found for metric value [9.5] and "
        "breach threshold 30.0. Its only step covers breaches >= 0; a LessThanThreshold alarm's breaches are < 0: "
        "use MetricIntervalUpperBound: 0.")
    assert len(why["times"]) == 3


def test_why_policy_decision_counts_different_outcomes() -> None:
    events = [low(0, 9.5), ev(120, "alarm", name="low", old="OK", new="ALARM"),
              invoked(120, True, detail="scale-in cooldown of policy down until +05:00"),
              invoked(180, True, detail="scale-in cooldown of policy down until +05:00"),
              invoked(240, True, detail="desired count stays 2 within [2, 4]")]
    why = why_of(events)
    assert why["link"] == "policy decision"
    assert "2 time(s): scale-in cooldown of policy down until +05:00; 1 time(s): desired count stays 2" in why["text"]
    assert "MetricInterval" not in why["text"]  # the steps are not the problem here


def scaled(t: float, old: int, new: int) -> list[Event]:
    return [invoked(t, True, detail=f"Setting desired count to {new}."),
            ev(t, "scaling", alarm="low", policy="down", description=f"Setting desired count to {new}.", cause="c"),
            ev(t, "desired", policy="down", old=old, new=new)]


def test_why_desired_count_when_scaling_stops_short() -> None:
    roles_in_4 = [low(0, 9.5), ev(120, "alarm", name="low", old="OK", new="ALARM"), *scaled(120, 4, 3),
                  invoked(180, True, detail="scale-in cooldown of policy down until +07:00")]
    why = why_of(roles_in_4)
    assert why["link"] == "desired count"
    assert why["text"] == ("1 scaling activity of down (Setting desired count to 3.) took the desired count 4 -> 3, never "
                           "to 2; later invocations: each time: scale-in cooldown of policy down until +07:00")


def test_why_tasks_started_and_targets_healthy() -> None:
    base = [low(0, 9.5), ev(120, "alarm", name="low", old="OK", new="ALARM"), *scaled(120, 3, 2)]
    why = why_of(base + [ev(130, "tasks", desired=2, running=3, healthy=3),
                         ev(135, "task", task_id="t1", action="start-failed", reason="port in use")])
    assert why["link"] == "tasks started" and "desired count 2 from +02:00" in why["text"]
    why = why_of(base + [ev(130, "tasks", desired=2, running=2, healthy=1)])
    assert why["link"] == "targets healthy" and "at most 1 target(s) were healthy" in why["text"]
    assert why["chain"][-1] == "targets healthy" and len(why["chain"]) == 7


def test_passing_verdicts_carry_no_why() -> None:
    v = run({"scales_to": "min_capacity"}, [ev(0, "desired", old=2, new=3), ev(60, "desired", old=3, new=2)])
    assert v["passed"] is True and "why" not in v


def test_why_email_names_the_failed_notification() -> None:
    events = [metric(0, "page", 90.0), ev(360, "alarm", name="page", old="OK", new="ALARM"),
              ev(360, "action", alarm="page", arn="arn:aws:sns:us-east-1:1:alerts", ok=False,
                 summary="Failed to execute action arn:aws:sns:us-east-1:1:alerts. Received error: boom")]
    v = run({"email": "cpu_alert"}, events)
    assert v["passed"] is False and v["why"]["link"] == "action" and "Received error: boom" in v["why"]["text"]
