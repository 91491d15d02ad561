"""`cooldown_respected` on a target tracking policy: inside ScaleOutCooldown only a larger scale-out may
happen (its count is proportional to the metric from the capacity before the cooldown, so any count above
the last one); a scale-in inside ScaleInCooldown fails; the roles' cooldowns are the policy's two.
https://docs.aws.amazon.com/autoscaling/application/userguide/target-tracking-scaling-policy-overview.html
https://docs.aws.amazon.com/autoscaling/application/APIReference/API_TargetTrackingScalingPolicyConfiguration.html"""

from __future__ import annotations

import dataclasses

import pytest

from harness.scenarios.expect import check
from harness.stack import ScalableTarget, ScalingPolicy, TargetTracking
from tests.scenarios.test_cooldown_larger_step import activities
from tests.scenarios.test_expect import ROLES, T0


def tracking(out: float | None, in_: float | None) -> ScalingPolicy:
    return ScalingPolicy(
        arn="arn:tt", name="tt", resource_id="service/c/s", policy_type="TargetTrackingScaling", adjustment_type=None,
        cooldown=None, min_adjustment_magnitude=None, metric_aggregation_type=None, steps=(),
        target_tracking=TargetTracking(target_value=60.0, predefined_metric_type="ECSServiceAverageCPUUtilization",
                                       resource_label=None, customized_metric=None, scale_out_cooldown=out,
                                       scale_in_cooldown=in_, disable_scale_in=False))


TT = tracking(300.0, 600.0)
ROLES_TT = dataclasses.replace(ROLES, policies={"scale_out": TT, "scale_in": TT},
                               target=ScalableTarget("ecs", "service/c/s", "ecs:service:DesiredCount", 2, 12))


def test_cooldowns_are_the_policys_two_with_aws_defaults() -> None:
    assert (ROLES_TT.cooldown("scale_out"), ROLES_TT.cooldown("scale_in")) == (300.0, 600.0)
    defaults = dataclasses.replace(ROLES_TT, policies={"scale_out": tracking(None, None), "scale_in": tracking(None, None)})
    assert (defaults.cooldown("scale_out"), defaults.cooldown("scale_in")) == (300.0, 300.0)  # ECS's default


@pytest.mark.parametrize("path, passed", [
    ([(0, 2, 3), (300, 3, 5), (600, 5, 8)], True),   # one cooldown apart
    ([(0, 2, 3), (120, 3, 6), (420, 6, 9)], True),   # a larger scale-out within the cooldown
    ([(0, 2, 3), (120, 3, 3)], False),                # not larger
    ([(0, 2, 4), (120, 4, 3)], False),                # not a scale-out
])
def test_scale_out_cooldown(path: list[tuple[float, int, int]], passed: bool) -> None:
    verdict = check({"cooldown_respected": "scale_out"}, activities(path, policy="tt"), ROLES_TT, {}, T0)
    assert verdict["passed"] is passed, verdict


@pytest.mark.parametrize("path, passed", [
    ([(0, 8, 5), (600, 5, 3)], True),
    ([(0, 8, 5), (300, 5, 3)], False),  # inside ScaleInCooldown (600 s)
    ([(0, 8, 2)], False),  # straight to MinCapacity: the cooldown was never put to the test
])
def test_scale_in_cooldown(path: list[tuple[float, int, int]], passed: bool) -> None:
    verdict = check({"cooldown_respected": "scale_in"}, activities(path, policy="tt", alarm="low"), ROLES_TT, {}, T0)
    assert verdict["passed"] is passed, verdict
