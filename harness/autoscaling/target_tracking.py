"""Application Auto Scaling target tracking as pure functions: the alarms a policy gets, and what an
invocation of the policy by one of them does to the desired count.

moto stores a TargetTrackingScaling policy but creates its alarms with a hard-coded threshold (6) and never
runs the policy. AWS creates and manages two CloudWatch alarms per policy and computes the adjustment from
the metric and the target value. Both halves are here, as functions of the policy configuration (read
back from the deployed stack), the scalable target, the desired count, the metric value and template time:
- `alarm_specs(config, resource_id)`: the alarms AWS creates (the embedded cloud puts them when the policy
  is created, `harness.cloud.target_tracking`);
- `decide(...)`: the capacity an invocation sets (the executor applies it with ECS UpdateService).

How it works: https://docs.aws.amazon.com/autoscaling/application/userguide/target-tracking-scaling-policy-overview.html
Policies: https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-target-tracking.html
API: https://docs.aws.amazon.com/autoscaling/application/APIReference/API_TargetTrackingScalingPolicyConfiguration.html
ECS: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-autoscaling-targettracking.html

The alarms' shape is not on AWS's pages; it is what AWS creates, as seen in alarms exported from real
accounts (DescribeAlarms of `TargetTracking-service/<cluster>/<service>-AlarmHigh-<uuid>`): the high alarm
is `GreaterThanThreshold` the target value on 3 of 3 one-minute datapoints, the low alarm `LessThanThreshold`
90% of it on 15 of 15 (targets 70 -> 63, 50 -> 45, 75 -> 67.5), TreatMissingData `missing`, unit `Percent`
for the ECS metrics, statistic Average (Sum for RequestCountPerTarget), description `DO NOT EDIT OR DELETE.
For TargetTrackingScaling policy <policy ARN>:createdBy/<uuid>.` and the same string as the alarm action.
The overview page says why the low one sits lower: scale-in happens only "when utilization falls below a
threshold that is below the target value (usually more than 10% lower)".
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from harness.autoscaling.step import (
    NO_COOLDOWN,
    Cooldown,
    Decision,
    TargetLike,
    cooldown_or_default,
    desired_count_activity,
)

POLICY_TYPE = "TargetTrackingScaling"
HIGH = "AlarmHigh"
LOW = "AlarmLow"

ECS_CPU = "ECSServiceAverageCPUUtilization"
ECS_MEMORY = "ECSServiceAverageMemoryUtilization"
ALB_REQUESTS = "ALBRequestCountPerTarget"
PREDEFINED_METRICS = (ECS_CPU, ECS_MEMORY, ALB_REQUESTS)

# What AWS's target tracking alarms are (see the module docstring): AWS constants, not template numbers.
PERIOD = 60
HIGH_DATAPOINTS = 3
LOW_DATAPOINTS = 15
LOW_FRACTION = Decimal("0.9")
TREAT_MISSING_DATA = "missing"


class TargetTrackingError(ValueError):
    """A target tracking configuration AWS would reject (PutScalingPolicy ValidationException), or one the
    harness cannot evaluate; the message names the field."""


@dataclass(frozen=True)
class AlarmSpec:
    """One alarm AWS creates for a target tracking policy (PutMetricAlarm's fields)."""

    kind: str  # HIGH or LOW: the name's `-AlarmHigh-` / `-AlarmLow-` part
    namespace: str
    metric_name: str
    dimensions: tuple[tuple[str, str], ...]
    statistic: str
    unit: str | None
    period: int
    evaluation_periods: int
    datapoints_to_alarm: int
    threshold: float
    comparison_operator: str
    treat_missing_data: str = TREAT_MISSING_DATA

    def name(self, resource_id: str, uuid: str) -> str:
        """`TargetTracking-<resource id>-AlarmHigh-<uuid>` (the resource id keeps its slashes)."""
        return f"TargetTracking-{resource_id}-{self.kind}-{uuid}"


@dataclass(frozen=True)
class Metric:
    namespace: str
    metric_name: str
    dimensions: tuple[tuple[str, str], ...]
    statistic: str
    unit: str | None


def _number(config: Mapping[str, Any], key: str) -> float | None:
    value = config.get(key)
    if value is None or value == "":
        return None
    try:
        return float(value)  # CloudFormation hands a Ref'd parameter over as a string
    except (TypeError, ValueError):
        raise TargetTrackingError(f"{key} must be a number, not {value!r}") from None


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def target_value(config: Mapping[str, Any]) -> float:
    """TargetValue ("Required: Yes", API_TargetTrackingScalingPolicyConfiguration)."""
    value = _number(config, "TargetValue")
    if value is None:
        raise TargetTrackingError("TargetTrackingScalingPolicyConfiguration has no TargetValue")
    return value


def disable_scale_in(config: Mapping[str, Any]) -> bool:
    """DisableScaleIn, default false."""
    return _flag(config.get("DisableScaleIn", False))


def cooldowns(config: Mapping[str, Any], service_namespace: str = "ecs") -> tuple[float, float]:
    """(ScaleOutCooldown, ScaleInCooldown) in seconds, with AWS's default where the policy sets none."""
    return (cooldown_or_default(_number(config, "ScaleOutCooldown"), service_namespace),
            cooldown_or_default(_number(config, "ScaleInCooldown"), service_namespace))


def _ecs_dimensions(resource_id: str) -> tuple[tuple[str, str], ...]:
    # ECS service metrics have the ClusterName and ServiceName dimensions (AmazonECS cloudwatch-metrics.html).
    parts = resource_id.split("/")
    if len(parts) != 3 or parts[0] != "service" or not parts[1] or not parts[2]:
        raise TargetTrackingError(f"{resource_id!r} is not an ECS service resource id (service/<cluster>/<service>)")
    return (("ClusterName", parts[1]), ("ServiceName", parts[2]))


def _resource_label(label: Any) -> tuple[tuple[str, str], ...]:
    """`app/<lb name>/<lb id>/targetgroup/<tg name>/<tg id>` -> the LoadBalancer and TargetGroup dimensions.

    "You create the resource label by appending the final portion of the load balancer ARN and the final
    portion of the target group ARN into a single value, separated by a forward slash"
    (API_PredefinedMetricSpecification, ResourceLabel).
    """
    text = str(label or "")
    head, sep, tail = text.partition("/targetgroup/")
    lb = head.split("/")
    tg = tail.split("/")
    if not sep or len(lb) != 3 or lb[0] != "app" or not all(lb) or len(tg) != 2 or not all(tg):
        raise TargetTrackingError(
            f"ResourceLabel {text!r} is not app/<load-balancer-name>/<load-balancer-id>/targetgroup/<target-group-name>/<target-group-id>"
        )
    return (("LoadBalancer", head), ("TargetGroup", "targetgroup/" + tail))


def metric(config: Mapping[str, Any], resource_id: str) -> Metric:
    """The metric the policy tracks: a predefined metric of an ECS service, or the customized one.

    ECSServiceAverageCPUUtilization / ...MemoryUtilization: AWS/ECS CPUUtilization / MemoryUtilization of the
    service, Average, Percent. ALBRequestCountPerTarget: AWS/ApplicationELB RequestCountPerTarget of the
    target group the ResourceLabel names, Sum ("The only valid statistic is Sum", ALB CloudWatch metrics),
    and "You must specify the ResourceLabel" for it (API_PredefinedMetricSpecification).
    CustomizedMetricSpecification: MetricName, Namespace, Dimensions, Statistic, Unit as given
    (API_CustomizedMetricSpecification); a metric-math `Metrics` list is refused, as the harness's alarm
    evaluator evaluates single metrics only.
    """
    predefined = config.get("PredefinedMetricSpecification")
    custom = config.get("CustomizedMetricSpecification")
    if predefined and custom:
        raise TargetTrackingError("a target tracking policy takes a PredefinedMetricSpecification or a CustomizedMetricSpecification, not both")
    if predefined:
        kind = str(predefined.get("PredefinedMetricType") or "")
        if kind == ECS_CPU:
            return Metric("AWS/ECS", "CPUUtilization", _ecs_dimensions(resource_id), "Average", "Percent")
        if kind == ECS_MEMORY:
            return Metric("AWS/ECS", "MemoryUtilization", _ecs_dimensions(resource_id), "Average", "Percent")
        if kind == ALB_REQUESTS:
            if not predefined.get("ResourceLabel"):
                raise TargetTrackingError("PredefinedMetricType ALBRequestCountPerTarget needs a ResourceLabel")
            # Unit "None": what AWS's own RequestCountPerTarget alarms show (the harness's agent publishes it so).
            return Metric("AWS/ApplicationELB", "RequestCountPerTarget", _resource_label(predefined["ResourceLabel"]), "Sum", "None")
        raise TargetTrackingError(
            f"PredefinedMetricType {kind!r} is not one the harness tracks ({', '.join(PREDEFINED_METRICS)})"
        )
    if custom:
        if custom.get("Metrics"):
            raise TargetTrackingError("a CustomizedMetricSpecification with Metrics (metric math) is not evaluated by the harness; name one MetricName")
        missing = [k for k in ("MetricName", "Namespace", "Statistic") if not custom.get(k)]
        if missing:
            raise TargetTrackingError(f"CustomizedMetricSpecification has no {', '.join(missing)}")
        dims = tuple((str(d["Name"]), str(d["Value"])) for d in custom.get("Dimensions") or [])
        unit = custom.get("Unit")
        return Metric(str(custom["Namespace"]), str(custom["MetricName"]), dims, str(custom["Statistic"]),
                      str(unit) if unit else None)
    raise TargetTrackingError("a target tracking policy needs a PredefinedMetricSpecification or a CustomizedMetricSpecification")


def low_threshold(target: float) -> float:
    """90% of the target, in decimal (0.9 x 70 is 63, not 62.99999999999999)."""
    return float(Decimal(repr(target)) * LOW_FRACTION)


def alarm_specs(config: Mapping[str, Any], resource_id: str) -> list[AlarmSpec]:
    """The alarms AWS creates for a target tracking policy (module docstring): AlarmHigh always, AlarmLow
    unless DisableScaleIn ("scale in is disabled and the target tracking scaling policy won't remove
    capacity", so no alarm asks it to)."""
    target = target_value(config)
    m = metric(config, resource_id)
    common = dict(namespace=m.namespace, metric_name=m.metric_name, dimensions=m.dimensions, statistic=m.statistic,
                  unit=m.unit, period=PERIOD)
    specs = [AlarmSpec(HIGH, evaluation_periods=HIGH_DATAPOINTS, datapoints_to_alarm=HIGH_DATAPOINTS, threshold=target,
                       comparison_operator="GreaterThanThreshold", **common)]  # type: ignore[arg-type]
    if not disable_scale_in(config):
        specs.append(AlarmSpec(LOW, evaluation_periods=LOW_DATAPOINTS, datapoints_to_alarm=LOW_DATAPOINTS,
                               threshold=low_threshold(target), comparison_operator="LessThanThreshold",
                               **common))  # type: ignore[arg-type]
    return specs


def alarm_description(action: str) -> str:
    return f"DO NOT EDIT OR DELETE. For TargetTrackingScaling policy {action}."


# ---------------------------------------------------------------------------------------------- decide


class TrackingPolicyLike(Protocol):
    """`harness.autoscaling.executor.TrackingPolicy` (the fields read here)."""

    @property
    def name(self) -> str: ...
    @property
    def target_value(self) -> float: ...
    @property
    def scale_out_cooldown(self) -> float: ...
    @property
    def scale_in_cooldown(self) -> float: ...
    @property
    def disable_scale_in(self) -> bool: ...


def proportional_capacity(current: int, metric_value: float, target: float) -> int:
    """ceil(current x metric / target): the capacity that brings the metric back to the target if it is
    inversely proportional to capacity ("Choose a metric that changes inversely proportional to a change in
    the capacity ... if you double capacity, the metric decreases by 50 percent", target tracking page).

    Rounded up both ways: "Service Auto Scaling always acts conservatively by rounding up or down when it
    determines how much capacity to add or remove. This prevents it from adding insufficient capacity or
    removing too much capacity" (ECS service-autoscaling-targettracking.html). A value a hair above a whole
    number from float noise (3.0000000000000004) is that whole number.
    """
    if target <= 0:
        raise TargetTrackingError(f"TargetValue must be positive to scale proportionally, not {target:g}")
    exact = Decimal(current) * Decimal(repr(float(metric_value))) / Decimal(repr(float(target)))
    return max(0, math.ceil(exact))


def decide(
    policy: TrackingPolicyLike,
    target: TargetLike,
    *,
    current: int,
    metric_value: float,
    now: float,
    scale_out: bool,
    cooldown_state: Cooldown = NO_COOLDOWN,
    alarm_name: str = "",
    scale_in_suspended: bool = False,
    resource_id: str = "",
) -> Decision:
    """What one invocation of a target tracking policy by its alarm does to an ECS service's desired count.

    `scale_out`: invoked by the high alarm (the metric is above the target) or the low one.
    Rules (target-tracking-scaling-policy-overview.html, API_TargetTrackingScalingPolicyConfiguration,
    ECS service-auto-scaling.html):
    - new capacity is `proportional_capacity(current, metric, TargetValue)`, clamped to
      [MinCapacity, MaxCapacity]; "it scales out proportionally to the metric as fast as it can, but scales
      in more gradually": scale-in happens only from the low alarm (15 minutes under 90% of the target) and
      rounds up, so it removes no more than the metric allows. That is all AWS documents about scale-in (the
      overview: "removing capacity only when utilization passes a threshold that is far enough below the
      target value"; the ECS page: "rounding up or down ... prevents it from ... removing too much
      capacity"); no smaller per-activity step is published, so none is invented here, and an idle service
      can reach MinCapacity in one activity (the scenarios then judge `cooldown_respected: scale_in` not
      applicable, harness.scenarios.expect);
    - below MinCapacity a scale-out starts from MinCapacity; above MaxCapacity a scale-in from MaxCapacity
      (service-auto-scaling.html, as for step scaling);
    - ScaleOutCooldown: "While the scale-out cooldown period is in effect, the capacity added by the
      initiating scale-out activity is calculated as part of the desired capacity for the next scale-out
      activity": within it the new capacity is computed from the capacity before that scale-out and applied
      only if larger than the current one (which restarts the cooldown);
    - ScaleInCooldown: "scale-in activities are blocked until the cooldown period has expired. However, if
      another alarm triggers a scale-out activity during the scale-in cooldown period, Application Auto
      Scaling scales out the target immediately. In this case, the scale-in cooldown period stops";
      a running scale-out cooldown blocks scale-in too (as the step executor does);
    - DisableScaleIn: "the target tracking scaling policy won't remove capacity";
    - scale-in is suspended while an ECS deployment is in progress (`scale_in_suspended`).
    """
    lo, hi = int(target.min_capacity), int(target.max_capacity)
    goal = float(policy.target_value)
    state = cooldown_state
    value = float(metric_value)

    def nothing(why: str) -> Decision:
        return Decision(None, why, state)

    if scale_out:
        if not value > goal:
            return nothing(f"metric {value:g} is not above the target value {goal:g} of policy {policy.name}")
        if current >= hi:
            return nothing(f"desired count {current} is already at or above MaxCapacity {hi}")
        if state.scale_out_active(now) and state.scale_out_base is not None:
            base = state.scale_out_base
            new = min(max(proportional_capacity(max(base, lo), value, goal), lo), hi)
            if new <= current:
                return nothing(
                    f"scale-out cooldown of policy {policy.name} until {state.scale_out_until:g}: "
                    f"desired count {current} already covers {new}"
                )
        else:
            base = current
            new = min(max(proportional_capacity(max(current, lo), value, goal), lo), hi)
        # A scale-out ends any scale-in cooldown and starts its own.
        new_state = Cooldown(scale_out_until=now + float(policy.scale_out_cooldown), scale_out_base=base, scale_in_until=None)
    else:
        if policy.disable_scale_in:
            return nothing(f"policy {policy.name} has DisableScaleIn: it does not remove capacity")
        if not value < goal:
            return nothing(f"metric {value:g} is not below the target value {goal:g} of policy {policy.name}")
        if scale_in_suspended:
            return nothing("scale-in is suspended while the ECS service deployment is in progress")
        if current <= lo:
            return nothing(f"desired count {current} is already at or below MinCapacity {lo}")
        if state.scale_in_active(now):
            return nothing(f"scale-in cooldown until {state.scale_in_until:g} blocks scale-in")
        if state.scale_out_active(now):
            return nothing(f"scale-out cooldown until {state.scale_out_until:g} blocks scale-in")
        start = min(current, hi)
        new = min(max(proportional_capacity(start, value, goal), lo), hi)
        new_state = Cooldown(scale_out_until=state.scale_out_until, scale_out_base=state.scale_out_base,
                             scale_in_until=now + float(policy.scale_in_cooldown))

    if new == current:
        return nothing(f"desired count stays {current}: {value:g} against the target {goal:g} within [{lo}, {hi}]")
    activity = desired_count_activity(new, alarm_name, policy.name, now, resource_id)
    return Decision(new, f"policy {policy.name} sets desired count {current} -> {new} "
                         f"({value:g} against the target {goal:g})", new_state, None, new - current, activity)


def invoked_by_high(comparison_operator: str) -> bool:
    """Whether the invoking alarm is the high one (GreaterThan...) rather than the low one."""
    return comparison_operator.startswith("GreaterThan")

