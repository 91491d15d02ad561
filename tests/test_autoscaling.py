"""Step scaling rules, each from the Application Auto Scaling / ECS documentation, at exact virtual times.

https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-step-scaling-policies.html
https://docs.aws.amazon.com/autoscaling/application/APIReference/API_StepScalingPolicyConfiguration.html
https://docs.aws.amazon.com/autoscaling/application/APIReference/API_StepAdjustment.html
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from harness.autoscaling import (
    NO_COOLDOWN,
    Cooldown,
    adjustment,
    decide,
    is_above,
    round_percent_change,
    select_step,
    validate_steps,
)
from harness.errors import DeployError


@dataclass(frozen=True)
class Step:
    lower: float | None
    upper: float | None
    adjustment: float


@dataclass(frozen=True)
class Policy:
    name: str
    steps: tuple[Step, ...]
    adjustment_type: str | None = "ChangeInCapacity"
    cooldown: float | None = 300
    min_adjustment_magnitude: int | None = None
    service_namespace: str = "ecs"


@dataclass(frozen=True)
class Target:
    min_capacity: int = 1
    max_capacity: int = 10


T = 1_800_000_000.0
THRESHOLD = 70.0
# Scale out: +2 from 0 to 15 above the threshold, +3 from 15 up (threshold 70: 70-85 -> +2, 85+ -> +3).
OUT = Policy("scale-out", (Step(0, 15, 2), Step(15, None, 3)))
# Scale in: -1 below the threshold (an alarm LessThanThreshold 30).
IN = Policy("scale-in", (Step(None, 0, -1),))


# ------------------------------------------------------------------------------------------------ steps

UPPER_STEPS = (Step(0, 10, 1), Step(10, 20, 2), Step(20, None, 3))
LOWER_STEPS = (Step(None, -20, -3), Step(-20, -10, -2), Step(-10, 0, -1))


@pytest.mark.parametrize(
    ("steps", "delta", "above", "want"),
    [
        # Above the threshold the lower bound is inclusive and the upper exclusive (step scaling doc,
        # "Step adjustments").
        (UPPER_STEPS, 0.0, True, 1),
        (UPPER_STEPS, 9.99, True, 1),
        (UPPER_STEPS, 10.0, True, 2),
        (UPPER_STEPS, 20.0, True, 3),
        (UPPER_STEPS, 1e9, True, 3),
        (UPPER_STEPS, -0.01, True, None),
        # Below it, the lower bound is exclusive and the upper inclusive.
        (LOWER_STEPS, 0.0, False, -1),
        (LOWER_STEPS, -9.99, False, -1),
        (LOWER_STEPS, -10.0, False, -2),
        (LOWER_STEPS, -19.99, False, -2),
        (LOWER_STEPS, -20.0, False, -3),
        (LOWER_STEPS, 0.01, False, None),
    ],
)
def test_select_step_bounds(steps: tuple[Step, ...], delta: float, above: bool, want: float | None) -> None:
    step = select_step(steps, delta, above)
    assert (step.adjustment if step else None) == want


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ((), "no step adjustments"),
        ((Step(None, None, 1),), "both bounds null"),
        ((Step(5, 5, 1), Step(5, None, 2)), "not below its upper bound"),
        ((Step(None, 0, -1), Step(None, -5, -2)), "more than one step with a null lower bound"),
        ((Step(0, None, 1), Step(5, None, 2)), "more than one step with a null upper bound"),
        ((Step(0, 10, 1), Step(5, None, 2)), "overlapping steps"),
        ((Step(0, 10, 1), Step(12, None, 2)), "gap between steps"),
        ((Step(-5, 0, -1),), "negative lower bound"),
        ((Step(0, 10, 1),), "positive upper bound"),
    ],
)
def test_invalid_steps_are_refused_naming_the_policy(steps: tuple[Step, ...], message: str) -> None:
    """API_StepAdjustment.html lists these constraints."""
    with pytest.raises(DeployError, match=message) as caught:
        validate_steps(steps, "my-policy")
    assert "my-policy" in str(caught.value)
    assert caught.value.resource == "my-policy"


def test_is_above_follows_the_operator() -> None:
    assert is_above("GreaterThanOrEqualToThreshold") and is_above("GreaterThanThreshold")
    assert not is_above("LessThanThreshold") and not is_above("LessThanOrEqualToThreshold")


# ------------------------------------------------------------------------------------------- adjustment


@pytest.mark.parametrize(
    ("raw", "want"),
    [(12.7, 12), (1.0, 1), (1.5, 1), (0.4, 1), (0.0, 0), (-0.4, -1), (-1.0, -1), (-6.67, -6), (-1.5, -1)],
)
def test_percent_rounding(raw: float, want: int) -> None:
    """Step scaling doc, "Scaling adjustment types": PercentChangeInCapacity rounding."""
    assert round_percent_change(raw) == want


@pytest.mark.parametrize(
    ("current", "value", "kind", "minimum", "want"),
    [
        (3, 2, "ChangeInCapacity", None, 2),
        (3, -1, "ChangeInCapacity", None, -1),
        (3, 2, None, None, 2),  # AdjustmentType defaults to ChangeInCapacity
        (3, 6, "ExactCapacity", None, 3),
        (8, 6, "ExactCapacity", None, -2),
        (4, 25, "PercentChangeInCapacity", None, 1),  # 25% of 4 is 1 ...
        (4, 25, "PercentChangeInCapacity", 2, 2),  # ... with a MinAdjustmentMagnitude of 2 it is 2
        (4, -25, "PercentChangeInCapacity", 2, -2),
        (100, 12.7, "PercentChangeInCapacity", None, 12),
        (3, 10, "PercentChangeInCapacity", None, 1),  # 0.3 -> 1
        (3, -10, "PercentChangeInCapacity", None, -1),  # -0.3 -> -1
        (30, -22.23, "PercentChangeInCapacity", None, -6),  # -6.669 -> -6
        (3, 6, "ExactCapacity", 5, 3),  # MinAdjustmentMagnitude is for percentages only
    ],
)
def test_adjustment(current: int, value: float, kind: str | None, minimum: int | None, want: int) -> None:
    """Step scaling doc, "Scaling adjustment types"; API_StepScalingPolicyConfiguration MinAdjustmentMagnitude."""
    assert adjustment(current, value, kind, minimum) == want


def test_unknown_adjustment_type() -> None:
    with pytest.raises(ValueError, match="AdjustmentType"):
        adjustment(1, 1, "Double", None)


# ----------------------------------------------------------------------------------------- decisions


def out(current: int, metric: float, now: float, state: Cooldown = NO_COOLDOWN, **kw: object):  # type: ignore[no-untyped-def]
    return decide(OUT, Target(), current=current, metric_value=metric, threshold=THRESHOLD, now=now,
                  cooldown_state=state, alarm_name="cpu-high", **kw)  # type: ignore[arg-type]


def inn(current: int, metric: float, now: float, state: Cooldown = NO_COOLDOWN, **kw: object):  # type: ignore[no-untyped-def]
    return decide(IN, Target(), current=current, metric_value=metric, threshold=30.0, now=now,
                  cooldown_state=state, alarm_name="cpu-low", **kw)  # type: ignore[arg-type]


def test_scale_out_records_an_activity_and_starts_the_cooldown() -> None:
    d = out(1, 75.0, T)
    assert d.new_desired == 3 and d.change == 2
    assert d.cooldown == Cooldown(scale_out_until=T + 300, scale_out_base=1)
    assert d.activity is not None
    assert d.activity.description == "Setting desired count to 3."
    assert d.activity.cause == "monitor alarm cpu-high in state ALARM triggered policy scale-out"
    assert (d.activity.start_time, d.activity.status_code) == (T, "Successful")


def test_capacity_added_during_the_scale_out_cooldown_counts_toward_a_larger_one() -> None:
    """API_StepScalingPolicyConfiguration "Cooldown": +2, then a +3 step during the cooldown adds only 1."""
    first = out(2, 75.0, T)
    assert first.new_desired == 4
    same = out(4, 75.0, T + 60, first.cooldown)  # the alarm invokes the policy again each minute
    assert same.new_desired is None and "cooldown" in same.reason
    larger = out(4, 90.0, T + 120, first.cooldown)
    assert (larger.new_desired, larger.change) == (5, 1)
    assert larger.cooldown == Cooldown(scale_out_until=T + 420, scale_out_base=2)
    again = out(5, 90.0, T + 180, larger.cooldown)
    assert again.new_desired is None


def test_scale_out_cooldown_ends_at_its_exact_time() -> None:
    first = out(2, 75.0, T)
    assert out(4, 75.0, T + 299.999, first.cooldown).new_desired is None
    assert out(4, 75.0, T + 300, first.cooldown).new_desired == 6


def test_scale_in_waits_for_the_scale_out_cooldown() -> None:
    first = out(2, 75.0, T)
    assert inn(4, 10.0, T + 299, first.cooldown).new_desired is None
    assert inn(4, 10.0, T + 300, first.cooldown).new_desired == 3


def test_scale_in_cooldown_blocks_scale_in_until_it_expires() -> None:
    """API_StepScalingPolicyConfiguration "Cooldown": scale-in requests are blocked until it expires."""
    first = inn(5, 10.0, T)
    assert first.new_desired == 4
    assert first.cooldown == Cooldown(scale_in_until=T + 300)
    assert first.activity is not None and first.activity.cause == "monitor alarm cpu-low in state ALARM triggered policy scale-in"
    blocked = inn(4, 10.0, T + 240, first.cooldown)
    assert blocked.new_desired is None and blocked.cooldown == first.cooldown
    assert inn(4, 10.0, T + 300, first.cooldown).new_desired == 3


def test_scale_out_cuts_a_scale_in_cooldown_short() -> None:
    """API_StepScalingPolicyConfiguration "Cooldown": a scale-out during a scale-in cooldown happens at once
    and the scale-in cooldown stops."""
    first = inn(5, 10.0, T)
    d = out(4, 75.0, T + 30, first.cooldown)
    assert d.new_desired == 6
    assert d.cooldown == Cooldown(scale_out_until=T + 330, scale_out_base=4, scale_in_until=None)


@pytest.mark.parametrize(
    ("namespace", "cooldown", "blocked_until"),
    [
        # API_StepScalingPolicyConfiguration "Cooldown": "Application Auto Scaling provides a default value of
        # 300 for the following scalable targets: ... ECS services ...; for all other scalable targets, the
        # default value is 0".
        ("ecs", None, 300.0),
        ("dynamodb", None, 0.0),
        ("ecs", 0, 0.0),      # set, even to 0: the template's own value
        ("ecs", 120, 120.0),
    ],
)
def test_a_policy_without_cooldown_runs_with_aws_default(namespace: str, cooldown: float | None,
                                                          blocked_until: float) -> None:
    policy = Policy("scale-in", IN.steps, cooldown=cooldown, service_namespace=namespace)
    first = decide(policy, Target(), current=5, metric_value=10.0, threshold=30.0, now=T,  # type: ignore[arg-type]
                   alarm_name="cpu-low")
    assert first.new_desired == 4
    if blocked_until:
        assert first.cooldown == Cooldown(scale_in_until=T + blocked_until)
        blocked = decide(policy, Target(), current=4, metric_value=10.0, threshold=30.0,  # type: ignore[arg-type]
                         now=T + blocked_until - 0.001, cooldown_state=first.cooldown, alarm_name="cpu-low")
        assert blocked.new_desired is None
    again = decide(policy, Target(), current=4, metric_value=10.0, threshold=30.0,  # type: ignore[arg-type]
                   now=T + blocked_until, cooldown_state=first.cooldown, alarm_name="cpu-low")
    assert again.new_desired == 3


@pytest.mark.parametrize(
    ("current", "policy", "metric", "threshold", "want"),
    [
        (9, OUT, 90.0, THRESHOLD, 10),  # clamped to MaxCapacity
        (10, OUT, 90.0, THRESHOLD, None),  # already at MaxCapacity
        (12, OUT, 90.0, THRESHOLD, None),  # above MaxCapacity a scale-out does nothing
        (12, IN, 10.0, 30.0, 9),  # above MaxCapacity a scale-in goes to MaxCapacity, then scales in
        (1, IN, 10.0, 30.0, None),  # at MinCapacity
        (0, IN, 10.0, 30.0, None),  # below MinCapacity a scale-in does nothing
        (0, OUT, 75.0, THRESHOLD, 3),  # below MinCapacity a scale-out goes to MinCapacity, then scales out
    ],
)
def test_capacity_limits(current: int, policy: Policy, metric: float, threshold: float, want: int | None) -> None:
    """https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-auto-scaling.html: desired count
    outside [MinCapacity, MaxCapacity]."""
    d = decide(policy, Target(1, 10), current=current, metric_value=metric, threshold=threshold, now=T)
    assert d.new_desired == want


def test_scale_in_is_suspended_during_a_deployment() -> None:
    d = inn(5, 10.0, T, scale_in_suspended=True)
    assert d.new_desired is None and "deployment" in d.reason
    assert out(5, 75.0, T, scale_in_suspended=True).new_desired == 7


def test_exact_and_percent_policies() -> None:
    exact = Policy("exact", (Step(0, None, 6),), adjustment_type="ExactCapacity")
    d = decide(exact, Target(), current=2, metric_value=80, threshold=70, now=T)
    assert d.new_desired == 6
    assert decide(exact, Target(), current=6, metric_value=80, threshold=70, now=T).new_desired is None
    pct = Policy("pct", (Step(0, None, 25),), adjustment_type="PercentChangeInCapacity", min_adjustment_magnitude=2)
    assert decide(pct, Target(), current=4, metric_value=80, threshold=70, now=T).new_desired == 6


def test_metric_outside_every_step_changes_nothing() -> None:
    d = out(3, 60.0, T)  # the alarm fired but the metric is back below the threshold
    assert d.new_desired is None and d.step is None and "no step" in d.reason


def test_value_on_the_threshold_uses_the_alarm_side() -> None:
    both = Policy("both", (Step(None, 0, -1), Step(0, None, 1)))
    up = decide(both, Target(), current=3, metric_value=70.0, threshold=70.0, now=T, above=True)
    down = decide(both, Target(), current=3, metric_value=70.0, threshold=70.0, now=T, above=False)
    assert (up.new_desired, down.new_desired) == (4, 2)
