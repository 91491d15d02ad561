"""`cooldown_respected` with a multi-step scale-out policy: inside the cooldown only a larger scale-out,
computed from the capacity before the activity that started the cooldown, may happen.
https://docs.aws.amazon.com/autoscaling/application/userguide/step-scaling-policy-overview.html#step-scaling-cooldown
(tests/data/size templates: steps +50% / +100% of 3 tasks give 4, then 6 within the cooldown.)"""

from __future__ import annotations

import dataclasses

import pytest

from harness.scenarios.expect import check
from harness.stack import ScalableTarget, ScalingPolicy, StepAdjustment
from tests.scenarios.test_expect import ROLES, T0, ev

STEPPED = ScalingPolicy(arn="arn:up", name="up", resource_id="service/c/s", policy_type="StepScaling",
                        adjustment_type="PercentChangeInCapacity", cooldown=300.0, min_adjustment_magnitude=1,
                        metric_aggregation_type="Average",
                        steps=(StepAdjustment(0.0, 15.0, 50.0), StepAdjustment(15.0, None, 100.0)))
ROLES12 = dataclasses.replace(ROLES, policies={**ROLES.policies, "scale_out": STEPPED},
                              target=ScalableTarget("ecs", "service/c/s", "ecs:service:DesiredCount", 3, 12))


def activities(path: list[tuple[float, int, int]], policy: str = "up", alarm: str = "high") -> list:  # type: ignore[type-arg]
    out = []
    for t, old, new in path:
        out.append(ev(t, "scaling", alarm=alarm, policy=policy, description=f"Setting desired count to {new}."))
        out.append(ev(t, "desired", old=old, new=new, policy=policy))
    return out


@pytest.mark.parametrize("path, passed", [
    ([(0, 3, 4), (120, 4, 6), (420, 6, 12)], True),   # +50% of 3, then +100% of 3 within the cooldown
    ([(0, 3, 4), (120, 4, 8), (420, 8, 12)], False),  # +100% of 4 within the cooldown: from the wrong base
    ([(0, 3, 6), (120, 6, 4)], False),                 # not a scale-out
    ([(0, 3, 4), (120, 4, 4)], False),                 # not larger
    ([(0, 3, 4), (300, 4, 6), (600, 6, 12)], True),    # no activity inside a cooldown
])
def test_a_larger_scale_out_within_the_cooldown(path: list[tuple[float, int, int]], passed: bool) -> None:
    verdict = check({"cooldown_respected": "scale_out"}, activities(path), ROLES12, {}, T0)
    assert verdict["passed"] is passed, verdict


def test_a_scale_in_within_its_cooldown_always_fails() -> None:
    events = activities([(0, 6, 5), (120, 5, 4)], policy="down", alarm="low")
    assert not check({"cooldown_respected": "scale_in"}, events, ROLES12, {}, T0)["passed"]
