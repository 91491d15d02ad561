"""Target tracking as pure functions, from tables: the alarms AWS creates for a policy, and what an invocation
of the policy does to the desired count (exact template times).

How it works: https://docs.aws.amazon.com/autoscaling/application/userguide/target-tracking-scaling-policy-overview.html
Policy API: https://docs.aws.amazon.com/autoscaling/application/APIReference/API_TargetTrackingScalingPolicyConfiguration.html
Predefined metrics: https://docs.aws.amazon.com/autoscaling/application/APIReference/API_PredefinedMetricSpecification.html
ECS: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-autoscaling-targettracking.html
The alarms' shape (3 of 3 above the target, 15 of 15 below 90% of it, period 60, TreatMissingData missing)
is what AWS creates, as exported from real accounts (see harness/autoscaling/target_tracking.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from harness.autoscaling.step import NO_COOLDOWN, Cooldown
from harness.autoscaling.target_tracking import (
    AlarmSpec,
    TargetTrackingError,
    alarm_description,
    alarm_specs,
    cooldowns,
    decide,
    low_threshold,
    proportional_capacity,
)

RID = "service/demo/web"
ECS_DIMS = (("ClusterName", "demo"), ("ServiceName", "web"))
LABEL = "app/web-lb/50dc6c495c0c9188/targetgroup/web-tg/73e2d6bc24d8a067"


def high(ns: str, name: str, dims: Any, stat: str, unit: str | None, threshold: float) -> AlarmSpec:
    return AlarmSpec("AlarmHigh", ns, name, dims, stat, unit, 60, 3, 3, threshold, "GreaterThanThreshold")


def low(ns: str, name: str, dims: Any, stat: str, unit: str | None, threshold: float) -> AlarmSpec:
    return AlarmSpec("AlarmLow", ns, name, dims, stat, unit, 60, 15, 15, threshold, "LessThanThreshold")


def predefined(kind: str, target: Any, **more: Any) -> dict[str, Any]:
    return {"PredefinedMetricSpecification": {"PredefinedMetricType": kind}, "TargetValue": target, **more}


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        # CPU at 70: high > 70 on 3 of 3 minutes, low < 63 on 15 of 15 (observed on AWS: 70 -> 63)
        (predefined("ECSServiceAverageCPUUtilization", 70),
         [high("AWS/ECS", "CPUUtilization", ECS_DIMS, "Average", "Percent", 70.0),
          low("AWS/ECS", "CPUUtilization", ECS_DIMS, "Average", "Percent", 63.0)]),
        # a CloudFormation parameter arrives as a string; 50 -> 45 as observed
        (predefined("ECSServiceAverageCPUUtilization", "50"),
         [high("AWS/ECS", "CPUUtilization", ECS_DIMS, "Average", "Percent", 50.0),
          low("AWS/ECS", "CPUUtilization", ECS_DIMS, "Average", "Percent", 45.0)]),
        # memory at 75 -> 67.5 (observed)
        (predefined("ECSServiceAverageMemoryUtilization", 75),
         [high("AWS/ECS", "MemoryUtilization", ECS_DIMS, "Average", "Percent", 75.0),
          low("AWS/ECS", "MemoryUtilization", ECS_DIMS, "Average", "Percent", 67.5)]),
        # DisableScaleIn: no low alarm (the policy never removes capacity); also as CloudFormation's "true"
        (predefined("ECSServiceAverageMemoryUtilization", 75, DisableScaleIn=True),
         [high("AWS/ECS", "MemoryUtilization", ECS_DIMS, "Average", "Percent", 75.0)]),
        (predefined("ECSServiceAverageCPUUtilization", 60, DisableScaleIn="true"),
         [high("AWS/ECS", "CPUUtilization", ECS_DIMS, "Average", "Percent", 60.0)]),
        # request count per target: the target group of the ResourceLabel, Sum ("the only valid statistic")
        ({"PredefinedMetricSpecification": {"PredefinedMetricType": "ALBRequestCountPerTarget", "ResourceLabel": LABEL},
          "TargetValue": 1000},
         [high("AWS/ApplicationELB", "RequestCountPerTarget",
               (("LoadBalancer", "app/web-lb/50dc6c495c0c9188"), ("TargetGroup", "targetgroup/web-tg/73e2d6bc24d8a067")),
               "Sum", "None", 1000.0),
          low("AWS/ApplicationELB", "RequestCountPerTarget",
              (("LoadBalancer", "app/web-lb/50dc6c495c0c9188"), ("TargetGroup", "targetgroup/web-tg/73e2d6bc24d8a067")),
              "Sum", "None", 900.0)]),
        # a customized metric: its namespace, name, dimensions, statistic and unit as given
        ({"CustomizedMetricSpecification": {"Namespace": "AWS/ApplicationELB", "MetricName": "TargetResponseTime",
                                            "Dimensions": [{"Name": "LoadBalancer", "Value": "app/web-lb/1"}],
                                            "Statistic": "Average", "Unit": "Seconds"},
          "TargetValue": 0.25},
         [high("AWS/ApplicationELB", "TargetResponseTime", (("LoadBalancer", "app/web-lb/1"),), "Average", "Seconds", 0.25),
          low("AWS/ApplicationELB", "TargetResponseTime", (("LoadBalancer", "app/web-lb/1"),), "Average", "Seconds", 0.225)]),
        ({"CustomizedMetricSpecification": {"Namespace": "App", "MetricName": "QueueDepthPerTask", "Statistic": "Maximum"},
          "TargetValue": 10},
         [high("App", "QueueDepthPerTask", (), "Maximum", None, 10.0),
          low("App", "QueueDepthPerTask", (), "Maximum", None, 9.0)]),
    ],
)
def test_alarm_specs(config: dict[str, Any], expected: list[AlarmSpec]) -> None:
    assert alarm_specs(config, RID) == expected


def test_alarm_names_and_description() -> None:
    spec = alarm_specs(predefined("ECSServiceAverageCPUUtilization", 70), RID)[1]
    assert spec.name(RID, "0b7c") == "TargetTracking-service/demo/web-AlarmLow-0b7c"
    assert spec.treat_missing_data == "missing"
    action = "arn:aws:autoscaling:us-east-1:1:scalingPolicy:9:resource/ecs/service/demo/web:policyName/tt:createdBy/5"
    assert alarm_description(action) == f"DO NOT EDIT OR DELETE. For TargetTrackingScaling policy {action}."


@pytest.mark.parametrize(
    ("target", "expected"),
    [(70, 63.0), (50, 45.0), (75, 67.5), (60, 54.0), (0.25, 0.225), (1000, 900.0), (33.3, 29.97)],
)
def test_low_threshold_is_ninety_percent_in_decimal(target: float, expected: float) -> None:
    assert low_threshold(target) == expected


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}}, "no TargetValue"),
        (predefined("ECSServiceAverageCPUUtilization", "high"), "TargetValue must be a number"),
        ({"TargetValue": 50}, "needs a PredefinedMetricSpecification or a CustomizedMetricSpecification"),
        (predefined("ALBRequestCountPerTarget", 100), "needs a ResourceLabel"),
        ({"PredefinedMetricSpecification": {"PredefinedMetricType": "ALBRequestCountPerTarget", "ResourceLabel": "web-tg"},
          "TargetValue": 100}, "is not app/<load-balancer-name>"),
        (predefined("DynamoDBReadCapacityUtilization", 70), "is not one the harness tracks"),
        ({"CustomizedMetricSpecification": {"Metrics": [{"Id": "m1"}]}, "TargetValue": 1}, "metric math"),
        ({"CustomizedMetricSpecification": {"Namespace": "App"}, "TargetValue": 1}, "no MetricName, Statistic"),
    ],
)
def test_alarm_specs_refuse(config: dict[str, Any], message: str) -> None:
    with pytest.raises(TargetTrackingError, match=message):
        alarm_specs(config, RID)


def test_cooldown_defaults() -> None:
    # "Application Auto Scaling provides a default value of 300 for ... ECS services"; 0 for DynamoDB tables.
    assert cooldowns({}, "ecs") == (300.0, 300.0)
    assert cooldowns({"ScaleOutCooldown": 60, "ScaleInCooldown": "120"}, "ecs") == (60.0, 120.0)
    assert cooldowns({"ScaleOutCooldown": 0}, "dynamodb") == (0.0, 0.0)


@pytest.mark.parametrize(
    ("current", "metric", "target", "expected"),
    [
        (2, 90, 60, 3),  # 2 x 1.5 = 3 exactly
        (2, 61, 60, 3),  # a hair above the target still adds a task (rounded up)
        (4, 100, 60, 7),  # 6.67 -> 7
        (3, 70, 70, 3),  # on target: no change
        (6, 30, 60, 3),  # half the target: half the capacity
        (6, 50, 60, 5),  # 5.0 exactly: no extra task from float noise
        (5, 40, 60, 4),  # 3.33 -> 4: scale-in rounds up, removing no more than the metric allows
        (4, 0, 60, 0),  # idle: the caller clamps to MinCapacity
        (3, 0.3, 0.1, 9),  # 0.3 / 0.1 = 3 exactly in decimal (2.9999999999999996 in float)
    ],
)
def test_proportional_capacity(current: int, metric: float, target: float, expected: int) -> None:
    assert proportional_capacity(current, metric, target) == expected


# ------------------------------------------------------------------------------------------------ decide


@dataclass(frozen=True)
class Policy:
    name: str = "web-target-tracking"
    target_value: float = 60.0
    scale_out_cooldown: float = 60.0
    scale_in_cooldown: float = 120.0
    disable_scale_in: bool = False


@dataclass(frozen=True)
class Target:
    min_capacity: int = 2
    max_capacity: int = 6


T = 1_000_000.0
HIGH_ALARM = "TargetTracking-service/demo/web-AlarmHigh-1"
LOW_ALARM = "TargetTracking-service/demo/web-AlarmLow-2"


@pytest.mark.parametrize(
    ("case", "current", "metric", "scale_out", "state", "policy", "expected_new", "expected_state"),
    [
        ("proportional scale-out", 2, 90.0, True, NO_COOLDOWN, Policy(), 3,
         Cooldown(scale_out_until=T + 60, scale_out_base=2)),
        ("large jump in one go", 2, 170.0, True, NO_COOLDOWN, Policy(), 6,
         Cooldown(scale_out_until=T + 60, scale_out_base=2)),
        ("clamped to MaxCapacity", 4, 200.0, True, NO_COOLDOWN, Policy(), 6,
         Cooldown(scale_out_until=T + 60, scale_out_base=4)),
        ("already at MaxCapacity", 6, 200.0, True, NO_COOLDOWN, Policy(), None, NO_COOLDOWN),
        ("below MinCapacity: from MinCapacity", 1, 61.0, True, NO_COOLDOWN, Policy(), 3,
         Cooldown(scale_out_until=T + 60, scale_out_base=1)),
        ("metric not above the target", 3, 60.0, True, NO_COOLDOWN, Policy(), None, NO_COOLDOWN),
        # within ScaleOutCooldown the capacity before the initiating scale-out is the base: from 2 at 90,
        # 3 is already there; at 150 from 2 it is 5 > 3, a larger scale-out, which restarts the cooldown
        ("scale-out cooldown covers it", 3, 90.0, True, Cooldown(T + 30, 2), Policy(), None, Cooldown(T + 30, 2)),
        ("larger scale-out in the cooldown", 3, 150.0, True, Cooldown(T + 30, 2), Policy(), 5,
         Cooldown(scale_out_until=T + 60, scale_out_base=2)),
        ("after the cooldown: from the current count", 3, 90.0, True, Cooldown(T - 1, 2), Policy(), 5,
         Cooldown(scale_out_until=T + 60, scale_out_base=3)),
        # a scale-out ends a running scale-in cooldown
        ("scale-out stops the scale-in cooldown", 3, 90.0, True, Cooldown(scale_in_until=T + 100), Policy(), 5,
         Cooldown(scale_out_until=T + 60, scale_out_base=3)),
        # scale-in: proportional, rounded up, clamped to MinCapacity, then ScaleInCooldown
        ("proportional scale-in", 6, 30.0, False, NO_COOLDOWN, Policy(), 3, Cooldown(scale_in_until=T + 120)),
        ("idle: to MinCapacity", 6, 1.0, False, NO_COOLDOWN, Policy(), 2, Cooldown(scale_in_until=T + 120)),
        ("rounded up: nothing to remove", 3, 50.0, False, NO_COOLDOWN, Policy(), None, NO_COOLDOWN),
        ("at MinCapacity", 2, 1.0, False, NO_COOLDOWN, Policy(), None, NO_COOLDOWN),
        ("scale-in cooldown blocks", 6, 1.0, False, Cooldown(scale_in_until=T + 1), Policy(), None,
         Cooldown(scale_in_until=T + 1)),
        ("scale-out cooldown blocks scale-in", 6, 1.0, False, Cooldown(T + 1, 4), Policy(), None, Cooldown(T + 1, 4)),
        ("DisableScaleIn", 6, 1.0, False, NO_COOLDOWN, Policy(disable_scale_in=True), None, NO_COOLDOWN),
        ("above MaxCapacity: scale-in from MaxCapacity", 8, 30.0, False, NO_COOLDOWN, Policy(), 3,
         Cooldown(scale_in_until=T + 120)),
    ],
)
def test_decide(case: str, current: int, metric: float, scale_out: bool, state: Cooldown, policy: Policy,
                expected_new: int | None, expected_state: Cooldown) -> None:
    alarm = HIGH_ALARM if scale_out else LOW_ALARM
    d = decide(policy, Target(), current=current, metric_value=metric, now=T, scale_out=scale_out,
               cooldown_state=state, alarm_name=alarm, resource_id=RID)
    assert d.new_desired == expected_new, (case, d.reason)
    assert d.cooldown == expected_state, case
    if expected_new is None:
        assert d.activity is None
    else:
        assert d.change == expected_new - current
        assert d.activity is not None
        assert d.activity.description == f"Setting desired count to {expected_new}."
        assert d.activity.cause == f"monitor alarm {alarm} in state ALARM triggered policy {policy.name}"
        assert (d.activity.start_time, d.activity.status_code, d.activity.resource_id) == (T, "Successful", RID)


def test_scale_in_suspended_during_deployment() -> None:
    d = decide(Policy(), Target(), current=6, metric_value=1.0, now=T, scale_out=False, scale_in_suspended=True)
    assert d.new_desired is None and "deployment" in d.reason
    # scale-out is not suspended by a deployment
    d = decide(Policy(), Target(), current=2, metric_value=90.0, now=T, scale_out=True, scale_in_suspended=True)
    assert d.new_desired == 3


# -------------------------------------------------- cooldown_respected where no second scale-in can happen

@pytest.mark.parametrize("path, skipped, observed", [
    # ceil(4 x 3 / 60) = 1, clamped to MinCapacity 2: one activity, and then nothing left to remove.
    ([(0, 4, 2)], True, "not applicable: the one activity (at +00:00) set the desired count 4 -> 2 = MinCapacity"),
    # One activity that stopped above MinCapacity: a second could have come, and did not: not exercised.
    ([(0, 8, 5)], False, "cooldown not exercised"),
    ([(0, 8, 5), (600, 5, 2)], False, "gaps 600 s"),  # checked (and passes: one ScaleInCooldown apart)
])
def test_scale_in_cooldown_is_not_applicable_when_the_first_scale_in_reaches_min_capacity(
        path: list[tuple[float, int, int]], skipped: bool, observed: str) -> None:
    """Target tracking scales in proportionally to the metric (`proportional_capacity`); AWS documents no
    smaller scale-in step ("scales in more gradually" is all its pages say), so an idle service can reach
    MinCapacity in one activity. ScaleInCooldown only holds back a *second* scale-in; with none possible the
    expectation is judged not applicable, with the reason, and is not counted as passed."""
    from harness.scenarios.expect import check
    from tests.scenarios.test_cooldown_larger_step import activities
    from tests.scenarios.test_expect import T0
    from tests.scenarios.test_target_tracking_expect import ROLES_TT

    verdict = check({"cooldown_respected": "scale_in"}, activities(path, policy="tt", alarm="low"), ROLES_TT, {}, T0)
    assert bool(verdict.get("skipped")) is skipped and observed in verdict["observed"], verdict
    assert verdict["passed"] is (len(path) == 2)
