"""Application Auto Scaling step scaling as pure functions: which step, how much, and whether cooldown allows it.

moto stores scalable targets and policies but never runs them, so the harness decides what a policy does
when its alarm invokes it. Everything here is a function of the policy and target read from the deployed
stack, the current desired count, the metric value and template time; the caller applies the decision
(UpdateService) and keeps the returned `Cooldown` for the next call.
Doc: https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-step-scaling-policies.html
API: https://docs.aws.amazon.com/autoscaling/application/APIReference/API_StepScalingPolicyConfiguration.html
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from harness.errors import DeployError

CHANGE_IN_CAPACITY = "ChangeInCapacity"
EXACT_CAPACITY = "ExactCapacity"
PERCENT_CHANGE_IN_CAPACITY = "PercentChangeInCapacity"
ADJUSTMENT_TYPES = (CHANGE_IN_CAPACITY, EXACT_CAPACITY, PERCENT_CHANGE_IN_CAPACITY)

SUCCESSFUL = "Successful"


class StepLike(Protocol):
    """`harness.stack.StepAdjustment`: bounds relative to the alarm threshold, None = unbounded."""

    @property
    def lower(self) -> float | None: ...
    @property
    def upper(self) -> float | None: ...
    @property
    def adjustment(self) -> float: ...


# A policy that sets no cooldown gets Application Auto Scaling's default: "Application Auto Scaling provides
# a default value of 300 for the following scalable targets: ... ECS services ...; for all other scalable
# targets, the default value is 0" (Cooldown in API_StepScalingPolicyConfiguration, ScaleOutCooldown and
# ScaleInCooldown in API_TargetTrackingScalingPolicyConfiguration). AWS constants, not template numbers.
# https://docs.aws.amazon.com/autoscaling/application/APIReference/API_StepScalingPolicyConfiguration.html
DEFAULT_COOLDOWN = {"ecs": 300.0}


def cooldown_or_default(cooldown: float | None, service_namespace: str) -> float:
    """The cooldown a policy runs with: its own, or AWS's default for its scalable target's service."""
    return float(DEFAULT_COOLDOWN.get(service_namespace, 0.0) if cooldown is None else cooldown)


class PolicyLike(Protocol):
    """`harness.stack.ScalingPolicy` (the fields read here)."""

    @property
    def name(self) -> str: ...
    @property
    def service_namespace(self) -> str: ...
    @property
    def adjustment_type(self) -> str | None: ...
    @property
    def cooldown(self) -> float | None: ...
    @property
    def min_adjustment_magnitude(self) -> int | None: ...
    @property
    def steps(self) -> Sequence[StepLike]: ...


class TargetLike(Protocol):
    """`harness.stack.ScalableTarget` (the fields read here)."""

    @property
    def min_capacity(self) -> int: ...
    @property
    def max_capacity(self) -> int: ...


# ------------------------------------------------------------------------------------------------- steps


def _lo(step: StepLike) -> float:
    return -math.inf if step.lower is None else float(step.lower)


def _hi(step: StepLike) -> float:
    return math.inf if step.upper is None else float(step.upper)


def _fmt(bound: float | None) -> str:
    return "null" if bound is None else f"{bound:g}"


def _invalid(policy: str, message: str) -> DeployError:
    # AWS rejects such a policy in PutScalingPolicy (ValidationException), so the stack cannot deploy.
    return DeployError(message, resource=policy)


def validate_steps(steps: Sequence[StepLike], policy: str = "<unnamed>") -> list[StepLike]:
    """Check a policy's step adjustments as AWS does and return them sorted by lower bound.

    https://docs.aws.amazon.com/autoscaling/application/APIReference/API_StepAdjustment.html: the ranges
    can't overlap or have a gap; at most one step has a null lower bound and at most one a null upper
    bound; a negative lower bound needs a step with a null lower bound and a positive upper bound needs a
    step with a null upper bound; a step can't have both bounds null.
    """
    if not steps:
        raise _invalid(policy, f"scaling policy {policy!r} has no step adjustments")
    for s in steps:
        if s.lower is None and s.upper is None:
            raise _invalid(policy, f"scaling policy {policy!r} has a step with both bounds null; AWS requires at least one bound")
        if s.lower is not None and s.upper is not None and not s.lower < s.upper:
            raise _invalid(policy, 
                f"scaling policy {policy!r} has a step whose lower bound {_fmt(s.lower)} is not below its upper bound {_fmt(s.upper)}"
            )
    if sum(s.lower is None for s in steps) > 1:
        raise _invalid(policy, f"scaling policy {policy!r} has more than one step with a null lower bound")
    if sum(s.upper is None for s in steps) > 1:
        raise _invalid(policy, f"scaling policy {policy!r} has more than one step with a null upper bound")
    ordered = sorted(steps, key=_lo)
    for a, b in zip(ordered, ordered[1:]):
        if _hi(a) > _lo(b):
            raise _invalid(policy, 
                f"scaling policy {policy!r} has overlapping steps [{_fmt(a.lower)}, {_fmt(a.upper)}] and [{_fmt(b.lower)}, {_fmt(b.upper)}]"
            )
        if _hi(a) < _lo(b):
            raise _invalid(policy, 
                f"scaling policy {policy!r} has a gap between steps [{_fmt(a.lower)}, {_fmt(a.upper)}] and [{_fmt(b.lower)}, {_fmt(b.upper)}]"
            )
    first, last = ordered[0], ordered[-1]
    if first.lower is not None and first.lower < 0:
        raise _invalid(policy, 
            f"scaling policy {policy!r} has a negative lower bound ({_fmt(first.lower)}) but no step with a null lower bound"
        )
    if last.upper is not None and last.upper > 0:
        raise _invalid(policy, 
            f"scaling policy {policy!r} has a positive upper bound ({_fmt(last.upper)}) but no step with a null upper bound"
        )
    return ordered


def select_step(
    steps: Sequence[StepLike], breach_delta: float, above: bool, *, policy: str = "<unnamed>"
) -> StepLike | None:
    """The step whose range holds `breach_delta` (metric value minus the alarm threshold), or None.

    "If the metric value is above the breach threshold, the lower bound is inclusive and the upper bound is
    exclusive. If the metric value is below the breach threshold, the lower bound is exclusive and the upper
    bound is inclusive." (step scaling doc, "Step adjustments"). `above` says which side the alarm watches:
    true for the GreaterThan operators (see `is_above`).
    """
    for step in validate_steps(steps, policy):
        lo, hi = _lo(step), _hi(step)
        inside = lo <= breach_delta < hi if above else lo < breach_delta <= hi
        if inside:
            return step
    return None


def is_above(comparison_operator: str) -> bool:
    """Whether an alarm with this operator breaches above its threshold (GreaterThan...) or below it."""
    if comparison_operator.startswith("GreaterThan"):
        return True
    if comparison_operator.startswith("LessThan"):
        return False
    raise ValueError(f"unknown comparison operator {comparison_operator!r}")


# ------------------------------------------------------------------------------------------- adjustment


def round_percent_change(change: float) -> int:
    """AWS's rounding of a PercentChangeInCapacity result (step scaling doc, "Scaling adjustment types").

    "Values greater than 1 are rounded down (12.7 -> 12); values between 0 and 1 are rounded to 1; values
    between 0 and -1 are rounded to -1; values less than -1 are rounded up (-6.67 -> -6)".
    """
    if change >= 1:
        return math.floor(change)
    if change > 0:
        return 1
    if change == 0:
        return 0
    if change > -1:
        return -1
    return math.ceil(change)


def adjustment(current: int, step_adjustment: float, adjustment_type: str | None, min_adjustment_magnitude: int | None) -> int:
    """The signed change in capacity a step asks for, from `current` (the capacity it applies to).

    ChangeInCapacity adds the step's value; ExactCapacity sets it (the change is value - current);
    PercentChangeInCapacity adds value% of current, rounded as `round_percent_change`, and then at least
    MinAdjustmentMagnitude units ("25% of 4 is 1; with a MinAdjustmentMagnitude of 2 it is 2").
    MinAdjustmentMagnitude applies to PercentChangeInCapacity only (API_StepScalingPolicyConfiguration).
    """
    kind = adjustment_type or CHANGE_IN_CAPACITY
    if kind == CHANGE_IN_CAPACITY:
        return int(step_adjustment)
    if kind == EXACT_CAPACITY:
        return int(step_adjustment) - current
    if kind == PERCENT_CHANGE_IN_CAPACITY:
        change = round_percent_change(current * float(step_adjustment) / 100.0)
        if min_adjustment_magnitude and change != 0 and abs(change) < min_adjustment_magnitude:
            change = int(math.copysign(min_adjustment_magnitude, change))
        return change
    raise ValueError(f"unknown AdjustmentType {adjustment_type!r}: expected one of {', '.join(ADJUSTMENT_TYPES)}")


# --------------------------------------------------------------------------------------------- cooldown


@dataclass(frozen=True)
class Cooldown:
    """Cooldown state of one scalable target; `decide` returns a new one (empty = no cooldown running).

    scale_out_until / scale_out_base: end of the running scale-out cooldown and the capacity before the
    scale-out that started it ("capacity added by the initiating scale-out activity is calculated as part
    of the desired capacity for the next scale-out activity"). scale_in_until: end of the scale-in cooldown.
    """

    scale_out_until: float | None = None
    scale_out_base: int | None = None
    scale_in_until: float | None = None

    def scale_out_active(self, now: float) -> bool:
        return self.scale_out_until is not None and now < self.scale_out_until

    def scale_in_active(self, now: float) -> bool:
        return self.scale_in_until is not None and now < self.scale_in_until


NO_COOLDOWN = Cooldown()


def desired_count_activity(new: int, alarm_name: str, policy_name: str, now: float, resource_id: str) -> ScalingActivity:
    """The activity an alarm-invoked policy records when it sets an ECS service's desired count, worded as
    DescribeScalingActivities words it (step and target tracking alike)."""
    return ScalingActivity(
        description=f"Setting desired count to {new}.",
        cause=f"monitor alarm {alarm_name} in state ALARM triggered policy {policy_name}",
        start_time=now,
        end_time=now,
        status_code=SUCCESSFUL,
        status_message=f"Successfully set desired count to {new}. Change successfully fulfilled by ecs.",
        resource_id=resource_id,
    )


@dataclass(frozen=True)
class ScalingActivity:
    """One execution of a policy, as DescribeScalingActivities reports it for an ECS service."""

    description: str
    cause: str
    start_time: float
    end_time: float | None
    status_code: str
    status_message: str = ""
    resource_id: str = ""


@dataclass(frozen=True)
class Decision:
    """What a policy invocation does: `new_desired` None means nothing changes (`reason` says why)."""

    new_desired: int | None
    reason: str
    cooldown: Cooldown
    step: StepLike | None = None
    change: int = 0
    activity: ScalingActivity | None = None


def decide(
    policy: PolicyLike,
    target: TargetLike,
    *,
    current: int,
    metric_value: float,
    threshold: float,
    now: float,
    cooldown_state: Cooldown = NO_COOLDOWN,
    above: bool | None = None,
    alarm_name: str = "",
    scale_in_suspended: bool = False,
    resource_id: str = "",
) -> Decision:
    """What one invocation of a step scaling policy by its alarm does to an ECS service's desired count.

    Rules (step scaling doc and API_StepScalingPolicyConfiguration "Cooldown"):
    - the step is chosen from metric_value - threshold (`select_step`); `above` defaults to
      metric_value >= threshold (pass `is_above(alarm operator)` to settle a value exactly on it);
    - capacity stays in [MinCapacity, MaxCapacity]. "If the desired count is set below the minimum capacity
      value and an alarm triggers a scale out activity, Application Auto Scaling scales the desired count up
      to the minimum capacity value and then continues to scale out as required ... a scale in activity does
      not adjust the desired count"; symmetrically above MaxCapacity
      (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-auto-scaling.html);
    - scale-out cooldown: "The scaling policy won't increase the desired capacity again unless either a
      larger scale out is triggered or the cooldown period ends. While the cooldown period is in effect,
      capacity added by the initiating scale-out activity is calculated as part of the desired capacity for
      the next scale-out activity" (+2 then +3 adds 1). Scale-in waits for it too. A policy without a
      Cooldown runs with AWS's default (`DEFAULT_COOLDOWN`: 300 s for ECS services). The harness's choice: a
      larger scale-out keeps the initiating base and restarts the cooldown;
    - scale-in cooldown: "scale-in activities are blocked until the cooldown period has expired. However, if
      another alarm triggers a scale-out activity during the cooldown period after a scale-in activity,
      Application Auto Scaling scales out the target immediately. In this case, the cooldown period for the
      scale-in activity stops and doesn't complete";
    - scale-in is suspended while an ECS deployment is in progress (`scale_in_suspended`), per
      https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-auto-scaling.html.
    """
    lo, hi = int(target.min_capacity), int(target.max_capacity)
    side = (metric_value >= threshold) if above is None else above
    delta = metric_value - threshold
    step = select_step(policy.steps, delta, side, policy=policy.name)
    state = cooldown_state

    def nothing(why: str, change: int = 0) -> Decision:
        return Decision(None, why, state, step, change)

    if step is None:
        return nothing(f"no step of policy {policy.name} covers a breach of {delta:g} from the threshold")

    cooldown = cooldown_or_default(policy.cooldown, policy.service_namespace)
    raw = adjustment(current, step.adjustment, policy.adjustment_type, policy.min_adjustment_magnitude)
    exact = (policy.adjustment_type or CHANGE_IN_CAPACITY) == EXACT_CAPACITY
    scale_out = raw > 0
    if raw == 0:
        return nothing(f"step of policy {policy.name} asks for no change")

    if scale_out:
        if current >= hi:
            return nothing(f"desired count {current} is already at or above MaxCapacity {hi}", raw)
        if state.scale_out_active(now) and state.scale_out_base is not None:
            # Capacity added by the scale-out that started the cooldown counts toward this one.
            base = state.scale_out_base
            start = max(base, lo)
            wanted = step.adjustment if exact else start + adjustment(start, step.adjustment, policy.adjustment_type, policy.min_adjustment_magnitude)
            new = min(int(wanted), hi)
            if new <= current:
                return nothing(
                    f"scale-out cooldown of policy {policy.name} until {state.scale_out_until:g}: "
                    f"desired count {current} already covers {new}",
                    raw,
                )
            state = Cooldown(scale_out_until=now + cooldown, scale_out_base=base, scale_in_until=None)
        else:
            start = max(current, lo)  # below MinCapacity a scale-out first goes to MinCapacity
            wanted = step.adjustment if exact else start + adjustment(start, step.adjustment, policy.adjustment_type, policy.min_adjustment_magnitude)
            new = max(min(int(wanted), hi), lo)
            # A scale-out ends any scale-in cooldown and starts its own.
            state = Cooldown(scale_out_until=now + cooldown, scale_out_base=current, scale_in_until=None)
    else:
        if scale_in_suspended:
            return nothing("scale-in is suspended while the ECS service deployment is in progress", raw)
        if current <= lo:
            return nothing(f"desired count {current} is already at or below MinCapacity {lo}", raw)
        if state.scale_in_active(now):
            return nothing(f"scale-in cooldown until {state.scale_in_until:g} blocks scale-in", raw)
        if state.scale_out_active(now):
            return nothing(f"scale-out cooldown until {state.scale_out_until:g} blocks scale-in", raw)
        start = min(current, hi)  # above MaxCapacity a scale-in first goes to MaxCapacity
        wanted = step.adjustment if exact else start + adjustment(start, step.adjustment, policy.adjustment_type, policy.min_adjustment_magnitude)
        new = min(max(int(wanted), lo), hi)
        state = replace(state, scale_in_until=now + cooldown)

    if new == current:
        return Decision(None, f"desired count stays {current} within [{lo}, {hi}]", cooldown_state, step, raw)
    activity = desired_count_activity(new, alarm_name, policy.name, now, resource_id)
    return Decision(new, f"policy {policy.name} sets desired count {current} -> {new}", state, step, new - current, activity)
