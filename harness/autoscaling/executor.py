"""The scaling executor: runs an Application Auto Scaling policy (step or target tracking) when an alarm invokes it.

moto stores scalable targets and policies but never executes them, and has no DescribeScalingActivities.
This module is the thin I/O loop around the pure `harness.autoscaling.step.decide` and
`harness.autoscaling.target_tracking.decide`: on each invocation it reads
the policy and its scalable target back from the Application Auto Scaling API and the service's desired
count from ECS (so no template number lives here), asks `decide` what to do with the cooldown state it keeps
per scalable target, applies a change with ECS UpdateService, and records the scaling activity.

Doc: https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-step-scaling-policies.html
     https://docs.aws.amazon.com/autoscaling/application/userguide/target-tracking-scaling-policy-overview.html
ECS specifics: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-auto-scaling.html
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from harness.autoscaling import step as autoscaling
from harness.autoscaling import target_tracking as tt
from harness.autoscaling.step import NO_COOLDOWN, Cooldown, Decision, ScalingActivity
from harness.clock import Clock
from harness.cloud import scaling_activities
from harness.errors import CloudError, ConfigError
from harness.events import DesiredChange, Timeline
from harness.events import ScalingActivity as ScalingActivityEvent  # step.ScalingActivity is the API's record

log = logging.getLogger(__name__)

__all__ = [
    "InvokingAlarm",
    "PolicyRef",
    "ScalingExecutor",
    "StepPolicy",
    "Step",
    "Target",
    "TrackingPolicy",
    "deployment_in_progress",
    "parse_policy",
    "parse_policy_arn",
    "parse_target",
    "metric_value_for",
]

ECS_NAMESPACE = "ecs"
ECS_DESIRED_COUNT = "ecs:service:DesiredCount"
# MetricAggregationType defaults to Average (API_StepScalingPolicyConfiguration).
DEFAULT_AGGREGATION = "Average"


class InvokingAlarm(Protocol):
    """What the executor reads from the alarm that invokes a policy (duck-typed)."""

    @property
    def name(self) -> str: ...
    @property
    def threshold(self) -> float: ...
    @property
    def comparison_operator(self) -> str: ...


# ------------------------------------------------------------------------------------------- pure parsing


@dataclass(frozen=True)
class PolicyRef:
    """What an Application Auto Scaling policy ARN names."""

    arn: str
    service_namespace: str
    resource_id: str
    policy_name: str


def parse_policy_arn(arn: str) -> PolicyRef:
    """Split `arn:aws:autoscaling:<region>:<account>:scalingPolicy:<id>:resource/<ns>/<resource id>:policyName/<name>`.

    Application Auto Scaling policy ARNs carry the scalable resource after `resource/` (EC2 Auto Scaling ones
    carry `autoScalingGroupName/` instead and are not handled here). A target tracking alarm's action may
    end with `:createdBy/<uuid>`, which is dropped.
    """
    if ":autoscaling:" not in arn or ":scalingPolicy:" not in arn or ":resource/" not in arn:
        raise ConfigError(
            f"{arn!r} is not an Application Auto Scaling policy ARN "
            "(arn:aws:autoscaling:<region>:<account>:scalingPolicy:<id>:resource/<namespace>/<resource>:policyName/<name>)."
        )
    base = arn.split(":createdBy/", 1)[0]
    resource_part, sep, name = base.partition(":policyName/")
    if not sep or not name:
        raise ConfigError(f"The scaling policy ARN {arn!r} has no policyName part.")
    namespace, _, resource_id = resource_part.split(":resource/", 1)[1].partition("/")
    if not namespace or not resource_id:
        raise ConfigError(f"The scaling policy ARN {arn!r} names no resource.")
    return PolicyRef(base, namespace, resource_id, name)


@dataclass(frozen=True)
class Step:
    lower: float | None
    upper: float | None
    adjustment: float


@dataclass(frozen=True)
class StepPolicy:
    """A step scaling policy as DescribeScalingPolicies returns it (fits `autoscaling.PolicyLike`)."""

    arn: str
    name: str
    service_namespace: str
    resource_id: str
    scalable_dimension: str
    policy_type: str
    adjustment_type: str | None
    cooldown: float | None
    min_adjustment_magnitude: int | None
    metric_aggregation_type: str | None
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class Target:
    """A scalable target as DescribeScalableTargets returns it (fits `autoscaling.TargetLike`)."""

    service_namespace: str
    resource_id: str
    scalable_dimension: str
    min_capacity: int
    max_capacity: int
    scale_in_suspended: bool = False
    scale_out_suspended: bool = False


@dataclass(frozen=True)
class TrackingPolicy:
    """A target tracking policy as DescribeScalingPolicies returns it (fits `target_tracking.TrackingPolicyLike`).

    Cooldowns are the effective ones (AWS's default where the policy sets none).
    """

    arn: str
    name: str
    service_namespace: str
    resource_id: str
    scalable_dimension: str
    policy_type: str
    target_value: float
    scale_out_cooldown: float
    scale_in_cooldown: float
    disable_scale_in: bool


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def parse_policy(item: Mapping[str, Any]) -> StepPolicy | TrackingPolicy:
    """One `ScalingPolicies[]` entry of DescribeScalingPolicies: a TrackingPolicy for TargetTrackingScaling,
    else a StepPolicy."""
    if item.get("PolicyType") == tt.POLICY_TYPE:
        tconf = item.get("TargetTrackingScalingPolicyConfiguration") or {}
        namespace = str(item["ServiceNamespace"])
        try:
            out_cd, in_cd = tt.cooldowns(tconf, namespace)
            target = tt.target_value(tconf)
        except tt.TargetTrackingError as exc:
            raise ConfigError(f"Scaling policy {item.get('PolicyName')}: {exc}") from exc
        return TrackingPolicy(
            arn=str(item["PolicyARN"]),
            name=str(item["PolicyName"]),
            service_namespace=namespace,
            resource_id=str(item["ResourceId"]),
            scalable_dimension=str(item["ScalableDimension"]),
            policy_type=tt.POLICY_TYPE,
            target_value=target,
            scale_out_cooldown=out_cd,
            scale_in_cooldown=in_cd,
            disable_scale_in=tt.disable_scale_in(tconf),
        )
    config = item.get("StepScalingPolicyConfiguration") or {}
    steps = tuple(
        Step(
            _opt_float(s.get("MetricIntervalLowerBound")),
            _opt_float(s.get("MetricIntervalUpperBound")),
            float(s["ScalingAdjustment"]),
        )
        for s in config.get("StepAdjustments", [])
    )
    mam = config.get("MinAdjustmentMagnitude")
    return StepPolicy(
        arn=str(item["PolicyARN"]),
        name=str(item["PolicyName"]),
        service_namespace=str(item["ServiceNamespace"]),
        resource_id=str(item["ResourceId"]),
        scalable_dimension=str(item["ScalableDimension"]),
        policy_type=str(item.get("PolicyType", "StepScaling")),
        adjustment_type=config.get("AdjustmentType"),
        cooldown=_opt_float(config.get("Cooldown")),
        min_adjustment_magnitude=None if mam is None else int(mam),
        metric_aggregation_type=config.get("MetricAggregationType"),
        steps=steps,
    )


def parse_target(item: Mapping[str, Any]) -> Target:
    """One `ScalableTargets[]` entry of DescribeScalableTargets."""
    suspended = item.get("SuspendedState") or {}
    return Target(
        service_namespace=str(item["ServiceNamespace"]),
        resource_id=str(item["ResourceId"]),
        scalable_dimension=str(item["ScalableDimension"]),
        min_capacity=int(item["MinCapacity"]),
        max_capacity=int(item["MaxCapacity"]),
        # "DynamicScalingInSuspended" / "...OutSuspended" stop alarm-invoked scaling (API_SuspendedState).
        scale_in_suspended=bool(suspended.get("DynamicScalingInSuspended", False)),
        scale_out_suspended=bool(suspended.get("DynamicScalingOutSuspended", False)),
    )


def deployment_in_progress(deployments: Sequence[Mapping[str, Any]]) -> bool:
    """Whether an ECS service is in the middle of a deployment, from DescribeServices `deployments`.

    During a rolling update ECS lists the new PRIMARY deployment beside the old ACTIVE one(s); once the update
    is done only PRIMARY remains (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Deployment.html).
    `rolloutState` is not used: moto 5.2.5 sets it once at CreateService and never completes it, so it would
    read IN_PROGRESS forever.
    """
    live = [d for d in deployments if d.get("status") in ("PRIMARY", "ACTIVE")]
    return len(live) > 1


def metric_value_for(metric_value: float | Mapping[str, float], aggregation: str | None) -> float:
    """The breach value a policy compares with its steps.

    AWS aggregates the alarm's metric with the policy's MetricAggregationType (default Average). The alarm
    loop passes the newest datapoint's statistics as a mapping; a plain float is used as is.
    """
    if not isinstance(metric_value, Mapping):
        return float(metric_value)
    key = aggregation or DEFAULT_AGGREGATION
    if key in metric_value:
        return float(metric_value[key])
    if "value" in metric_value:
        return float(metric_value["value"])
    raise ValueError(f"no {key} value among the metric statistics {sorted(metric_value)}")


# ------------------------------------------------------------------------------------------------- I/O


DeploymentProbe = Callable[[str, str], bool]


class ScalingExecutor:
    """Executes step scaling and target tracking policies on ECS services; keeps the cooldowns and the scaling
    activities (one cooldown state per scalable target).

    `deployment_probe(cluster, service)`, when given, says whether an ECS deployment is in progress (the
    harness's scheduler knows better than the emulator); otherwise the service's `deployments` decide.
    """

    def __init__(
        self,
        autoscaling_client: Any,
        ecs_client: Any,
        clock: Clock,
        timeline: Timeline | None = None,
        deployment_probe: DeploymentProbe | None = None,
    ) -> None:
        self._aas = autoscaling_client
        self._ecs = ecs_client
        self._clock = clock
        self.timeline = timeline if timeline is not None else Timeline()
        self._probe = deployment_probe
        self._cooldowns: dict[tuple[str, str, str], Cooldown] = {}
        self._activities: list[ScalingActivity] = []
        self._lock = asyncio.Lock()

    # -- reading results

    def activities(self, resource_id: str | None = None) -> list[ScalingActivity]:
        """Scaling activities, oldest first (what DescribeScalingActivities would list, in reverse)."""
        return [a for a in self._activities if resource_id is None or a.resource_id == resource_id]

    def cooldown(self, resource_id: str, namespace: str = ECS_NAMESPACE, dimension: str = ECS_DESIRED_COUNT) -> Cooldown:
        return self._cooldowns.get((namespace, resource_id, dimension), NO_COOLDOWN)

    # -- execution

    async def execute(
        self,
        policy_arn: str,
        alarm: InvokingAlarm,
        metric_value: float | Mapping[str, float],
        now: float,
    ) -> Decision:
        """One invocation of the policy by `alarm` at template time `now`; returns what `decide` chose.

        Raises CloudError when the policy, target or service cannot be read or updated, ConfigError for a
        policy this executor cannot run (not ECS, neither step scaling nor target tracking).
        """
        ref = parse_policy_arn(policy_arn)
        async with self._lock:  # one invocation at a time: cooldown state is read-modify-write
            policy, target, desired, in_deployment = await asyncio.to_thread(self._read, ref)
            key = (policy.service_namespace, policy.resource_id, policy.scalable_dimension)
            if isinstance(policy, TrackingPolicy):
                # The policy tracks the alarm's own metric and statistic (the alarms are AWS's, made for it).
                value = metric_value_for(metric_value, getattr(alarm, "statistic", None))
                decision = tt.decide(
                    policy,
                    target,
                    current=desired,
                    metric_value=value,
                    now=now,
                    scale_out=tt.invoked_by_high(alarm.comparison_operator),
                    cooldown_state=self._cooldowns.get(key, NO_COOLDOWN),
                    alarm_name=alarm.name,
                    scale_in_suspended=in_deployment or target.scale_in_suspended,
                    resource_id=policy.resource_id,
                )
            else:
                value = metric_value_for(metric_value, policy.metric_aggregation_type)
                decision = autoscaling.decide(
                    policy,
                    target,
                    current=desired,
                    metric_value=value,
                    threshold=float(alarm.threshold),
                    now=now,
                    cooldown_state=self._cooldowns.get(key, NO_COOLDOWN),
                    above=autoscaling.is_above(alarm.comparison_operator),
                    alarm_name=alarm.name,
                    scale_in_suspended=in_deployment or target.scale_in_suspended,
                    resource_id=policy.resource_id,
                )
            if decision.new_desired is not None and decision.change > 0 and target.scale_out_suspended:
                # SuspendedState.DynamicScalingOutSuspended: alarms do not scale out (API_SuspendedState).
                decision = Decision(
                    None,
                    f"dynamic scale-out is suspended on the scalable target {policy.resource_id}",
                    self._cooldowns.get(key, NO_COOLDOWN),
                    decision.step,
                    decision.change,
                )
            if decision.new_desired is None:
                log.info("policy %s invoked by %s at %s: %s", policy.name, alarm.name, now, decision.reason)
                # Stopped by MinCapacity/MaxCapacity: a "not scaled" activity in the cloud (harness.cloud).
                await asyncio.to_thread(
                    scaling_activities.write_not_scaled, self._aas, resource_id=policy.resource_id,
                    namespace=policy.service_namespace, dimension=policy.scalable_dimension, policy=policy.name,
                    alarm=alarm.name, current=desired, change=decision.change, minimum=target.min_capacity,
                    maximum=target.max_capacity, now=now)
                return decision
            cluster, service = _ecs_service(policy.resource_id)
            await asyncio.to_thread(self._apply, cluster, service, decision.new_desired)
            self._cooldowns[key] = decision.cooldown
            activity = decision.activity
            if activity is not None:
                self._activities.append(activity)
                # Written back, so DescribeScalingActivities shows it (harness.cloud.scaling_activities).
                await asyncio.to_thread(scaling_activities.write_back, self._aas, activity,
                                        namespace=policy.service_namespace, dimension=policy.scalable_dimension)
                self.timeline.emit(now, ScalingActivityEvent(
                    resource_id=policy.resource_id,
                    policy=policy.name,
                    alarm=alarm.name,
                    description=activity.description,
                    cause=activity.cause,
                    status=activity.status_code,
                ))
            self.timeline.emit(now, DesiredChange(resource_id=policy.resource_id, old=desired, new=decision.new_desired,
                                                  policy=policy.name))
            log.info("%s", decision.reason)
            return decision

    def _read(self, ref: PolicyRef) -> tuple[StepPolicy | TrackingPolicy, Target, int, bool]:
        if ref.service_namespace != ECS_NAMESPACE:
            raise ConfigError(
                f"Scaling policy {ref.policy_name} scales {ref.service_namespace} resource {ref.resource_id}; "
                "the harness executes policies on ECS services only."
            )
        policy = self._find_policy(ref)
        if policy.policy_type not in ("StepScaling", tt.POLICY_TYPE):
            raise ConfigError(
                f"Scaling policy {policy.name} is a {policy.policy_type} policy; "
                "the executor runs StepScaling and TargetTrackingScaling policies."
            )
        target = self._find_target(policy)
        cluster, service = _ecs_service(policy.resource_id)
        try:
            resp = self._ecs.describe_services(cluster=cluster, services=[service])
        except Exception as exc:
            raise CloudError(f"Cannot read ECS service {service} in cluster {cluster}: {exc}") from exc
        found = resp.get("services") or []
        if not found:
            raise CloudError(
                f"Scaling policy {policy.name} targets ECS service {service} in cluster {cluster}, which does not exist."
            )
        svc = found[0]
        if self._probe is not None:
            in_deployment = bool(self._probe(cluster, service))
        else:
            in_deployment = deployment_in_progress(svc.get("deployments") or [])
        return policy, target, int(svc["desiredCount"]), in_deployment

    def _find_policy(self, ref: PolicyRef) -> StepPolicy | TrackingPolicy:
        try:
            pages = self._aas.get_paginator("describe_scaling_policies").paginate(
                ServiceNamespace=ref.service_namespace, ResourceId=ref.resource_id
            )
            for page in pages:
                for item in page.get("ScalingPolicies", []):
                    # moto ignores PolicyNames, so match here; the ARN is unique, the name per resource.
                    if item.get("PolicyARN") == ref.arn or (
                        item.get("PolicyName") == ref.policy_name and item.get("ResourceId") == ref.resource_id
                    ):
                        return parse_policy(item)
        except Exception as exc:
            raise CloudError(f"Cannot read scaling policy {ref.policy_name} of {ref.resource_id}: {exc}") from exc
        raise CloudError(f"Scaling policy {ref.policy_name} of {ref.resource_id} ({ref.arn}) does not exist.")

    def _find_target(self, policy: StepPolicy | TrackingPolicy) -> Target:
        try:
            resp = self._aas.describe_scalable_targets(
                ServiceNamespace=policy.service_namespace,
                ResourceIds=[policy.resource_id],
                ScalableDimension=policy.scalable_dimension,
            )
        except Exception as exc:
            raise CloudError(f"Cannot read the scalable target {policy.resource_id}: {exc}") from exc
        for item in resp.get("ScalableTargets", []):
            if item.get("ResourceId") == policy.resource_id and item.get("ScalableDimension") == policy.scalable_dimension:
                return parse_target(item)
        raise CloudError(
            f"Scaling policy {policy.name} scales {policy.resource_id} ({policy.scalable_dimension}), "
            "which is not registered as a scalable target."
        )

    def _apply(self, cluster: str, service: str, desired: int) -> None:
        try:
            self._ecs.update_service(cluster=cluster, service=service, desiredCount=desired)
        except Exception as exc:
            raise CloudError(f"Cannot set the desired count of ECS service {service} in cluster {cluster} to {desired}: {exc}") from exc


def _ecs_service(resource_id: str) -> tuple[str, str]:
    """`service/<cluster>/<service>` -> (cluster, service) (API_RegisterScalableTarget, ResourceId)."""
    parts = resource_id.split("/")
    if len(parts) != 3 or parts[0] != "service" or not parts[1] or not parts[2]:
        raise ConfigError(f"{resource_id!r} is not an ECS service resource id (service/<cluster>/<service>).")
    return parts[1], parts[2]
