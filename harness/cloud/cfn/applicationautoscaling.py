"""AWS::ApplicationAutoScaling::*: moto 5.2.5 has no models for them (it logs a warning and skips them)."""

from __future__ import annotations

from typing import Any

import moto.applicationautoscaling.models  # noqa: F401  - moto's models first, so ours win their types
from moto.applicationautoscaling.models import applicationautoscaling_backends
from moto.core.common_models import CloudFormationModel

from harness.cloud.cfn.base import _int, _Reapplied, _Renamable


class ScalableTarget(_Reapplied, CloudFormationModel):
    """https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-applicationautoscaling-scalabletarget.html
    Ref returns `<ResourceId>|<ScalableDimension>|<ServiceNamespace>`."""

    TYPE = "AWS::ApplicationAutoScaling::ScalableTarget"

    def __init__(self, namespace: str, resource_id: str, dimension: str) -> None:
        self.namespace = namespace
        self.resource_id = resource_id
        self.dimension = dimension
        self.scheduled: list[str] = []

    @property
    def physical_resource_id(self) -> str:
        return f"{self.resource_id}|{self.dimension}|{self.namespace}"

    @classmethod
    def _create(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> ScalableTarget:
        backend = applicationautoscaling_backends[account_id][region_name]
        suspended = props.get("SuspendedState") or {}
        target = cls(str(props["ServiceNamespace"]), str(props["ResourceId"]), str(props["ScalableDimension"]))
        # moto annotates role_arn and suspended_state as str; its RegisterScalableTarget handler
        # passes None for an absent RoleARN and the SuspendedState structure (a dict) as is.
        backend.register_scalable_target(
            namespace=target.namespace,
            r_id=target.resource_id,
            dimension=target.dimension,
            min_capacity=_int(props.get("MinCapacity")),
            max_capacity=_int(props.get("MaxCapacity")),
            role_arn=props.get("RoleARN"),  # type: ignore[arg-type]
            suspended_state=suspended,  # type: ignore[arg-type]
        )
        # ScheduledActions: real moto scheduled actions (DescribeScheduledActions lists them); the harness
        # runs no schedules (aws-properties-applicationautoscaling-scalabletarget-scheduledaction.html).
        for action in props.get("ScheduledActions") or []:
            name = str(action["ScheduledActionName"])
            backend.put_scheduled_action(
                service_namespace=target.namespace, schedule=str(action["Schedule"]),
                timezone=action.get("Timezone"), scheduled_action_name=name, resource_id=target.resource_id,
                scalable_dimension=target.dimension, start_time=action.get("StartTime"),
                end_time=action.get("EndTime"), scalable_target_action=action.get("ScalableTargetAction"))
            target.scheduled.append(name)
        return target

    def delete(self, account_id: str, region_name: str) -> None:
        backend = applicationautoscaling_backends[account_id][region_name]
        for name in self.scheduled:
            backend.delete_scheduled_action(self.namespace, name, self.resource_id, self.dimension)
        backend.deregister_scalable_target(self.namespace, self.resource_id, self.dimension)

# ---------------------------------------------------- AWS::ApplicationAutoScaling::ScalingPolicy
class ScalingPolicy(_Renamable, CloudFormationModel):
    """https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-applicationautoscaling-scalingpolicy.html
    Ref returns the policy ARN (what an alarm names as its action); GetAtt Arn too."""

    TYPE = "AWS::ApplicationAutoScaling::ScalingPolicy"
    NAME_PROPERTY = "PolicyName"

    def __init__(self, name: str, namespace: str, resource_id: str, dimension: str, arn: str) -> None:
        self.name = name
        self.namespace = namespace
        self.resource_id = resource_id
        self.dimension = dimension
        self.arn = arn

    @property
    def physical_resource_id(self) -> str:
        return self.arn

    @classmethod
    def _create(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> ScalingPolicy:
        target_id = props.get("ScalingTargetId")
        if target_id:
            # ScalingTargetId is the scalable target's Ref: resource|dimension|namespace.
            resource_id, dimension, namespace = str(target_id).split("|")
        else:
            resource_id = str(props["ResourceId"])
            dimension = str(props["ScalableDimension"])
            namespace = str(props["ServiceNamespace"])
        policy_type = props.get("PolicyType")
        if policy_type == "StepScaling":
            body = _step_config(props.get("StepScalingPolicyConfiguration") or {})
        else:
            body = props.get("TargetTrackingScalingPolicyConfiguration") or {}
        backend = applicationautoscaling_backends[account_id][region_name]
        policy = backend.put_scaling_policy(
            policy_name=name,
            service_namespace=namespace,
            resource_id=resource_id,
            scalable_dimension=dimension,
            policy_body=body,
            policy_type=policy_type,
        )
        return cls(name, namespace, resource_id, dimension, policy.policy_arn)

    def delete(self, account_id: str, region_name: str) -> None:
        backend = applicationautoscaling_backends[account_id][region_name]
        backend.delete_scaling_policy(self.name, self.namespace, self.resource_id, self.dimension)


def _step_config(conf: dict[str, Any]) -> dict[str, Any]:
    """Numbers in a step scaling configuration as the API returns them (ints and floats)."""
    out = dict(conf)
    for key in ("Cooldown", "MinAdjustmentMagnitude"):
        if key in out:
            out[key] = int(out[key])
    steps = []
    for step in conf.get("StepAdjustments", []):
        s = dict(step)
        for key in ("MetricIntervalLowerBound", "MetricIntervalUpperBound"):
            if key in s:
                s[key] = float(s[key])
        s["ScalingAdjustment"] = int(s["ScalingAdjustment"])
        steps.append(s)
    if steps:
        out["StepAdjustments"] = steps
    return out
