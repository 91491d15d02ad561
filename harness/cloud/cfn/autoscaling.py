"""AWS::AutoScaling::LifecycleHook and AWS::AutoScaling::ScalingPolicy, which moto 5.2.5 has no models
for. The group's capacity is stored in moto's auto scaling group, not simulated: the harness runs ECS
tasks, not container instances."""

from __future__ import annotations

from typing import Any

import moto.autoscaling.models  # noqa: F401  - moto's models first
from moto.autoscaling.models import FakeAutoScalingGroup, autoscaling_backends
from moto.core.common_models import CloudFormationModel

from harness.cloud.cfn.base import _int, _Model, _Stored


class LifecycleHook(_Stored, CloudFormationModel):
    """https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-autoscaling-lifecyclehook.html
    A real hook on moto's group. Ref = the hook name."""

    TYPE = "AWS::AutoScaling::LifecycleHook"
    KIND = "real"
    NAME_PROPERTY = "LifecycleHookName"
    GETATT = frozenset()

    @classmethod
    def apply(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> tuple[str, dict[str, Any]]:
        autoscaling_backends[account_id][region_name].create_lifecycle_hook(
            name=name,
            as_name=str(props["AutoScalingGroupName"]),
            transition=str(props["LifecycleTransition"]),
            # AWS's defaults: HeartbeatTimeout 3600 s, DefaultResult ABANDON.
            # https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_PutLifecycleHook.html
            timeout=_int(props.get("HeartbeatTimeout", 3600)),
            result=str(props.get("DefaultResult", "ABANDON")),
        )
        return name, {}

    def remove(self) -> None:
        backend = autoscaling_backends[self.account_id][self.region_name]
        group = str(self.properties["AutoScalingGroupName"])
        if f"{group}_{self.physical_id}" in backend.lifecycle_hooks:
            backend.delete_lifecycle_hook(group, self.physical_id)


class ScalingPolicy(_Stored, CloudFormationModel):
    """https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-autoscaling-scalingpolicy.html
    A real policy on moto's group (simple, step or target tracking), kept, not executed: the harness
    scales ECS services, not instances. Ref = the policy ARN (what an alarm names as its action)."""

    TYPE = "AWS::AutoScaling::ScalingPolicy"
    KIND = "real"
    GETATT = frozenset({"Arn", "PolicyName"})

    @classmethod
    def apply(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> tuple[str, dict[str, Any]]:
        policy = autoscaling_backends[account_id][region_name].put_scaling_policy(
            name=name,
            policy_type=str(props.get("PolicyType", "SimpleScaling")),
            metric_aggregation_type=props.get("MetricAggregationType"),  # type: ignore[arg-type]
            adjustment_type=props.get("AdjustmentType"),  # type: ignore[arg-type]
            as_name=str(props["AutoScalingGroupName"]),
            min_adjustment_magnitude=props.get("MinAdjustmentMagnitude"),  # type: ignore[arg-type]
            scaling_adjustment=_int(props.get("ScalingAdjustment")),
            cooldown=_int(props.get("Cooldown")),
            target_tracking_config=props.get("TargetTrackingConfiguration"),  # type: ignore[arg-type]
            step_adjustments=props.get("StepAdjustments"),  # type: ignore[arg-type]
            estimated_instance_warmup=props.get("EstimatedInstanceWarmup"),  # type: ignore[arg-type]
            predictive_scaling_configuration=props.get("PredictiveScalingConfiguration"),  # type: ignore[arg-type]
        )
        return str(policy.arn), {"Arn": policy.arn, "PolicyName": name}

    def remove(self) -> None:
        backend = autoscaling_backends[self.account_id][self.region_name]
        name = str(self.attrs.get("PolicyName"))
        if name in backend.policies:
            backend.delete_policy(name)


class AutoScalingGroup(_Model, CloudFormationModel):
    """https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-autoscaling-autoscalinggroup.html
    moto's group (launch template or configuration, subnets, tags, target groups) with its capacity
    stored, not simulated: MinSize, MaxSize and DesiredCapacity are the group's, but no EC2 instance is
    launched (moto's launch fails on a launch template volume with no size or snapshot, which AWS takes
    from the AMI; and the harness runs ECS tasks, not container instances). Ref = the group name."""

    TYPE = "AWS::AutoScaling::AutoScalingGroup"
    NAME_PROPERTY = "AutoScalingGroupName"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return bool(FakeAutoScalingGroup.has_cfn_attr(attr))

    @classmethod
    def _create(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> Any:
        unlaunched = {**props, "MinSize": 0, "DesiredCapacity": 0}
        group = FakeAutoScalingGroup.create_from_cloudformation_json(
            name, {"Properties": unlaunched}, account_id, region_name)
        _store_capacity(group, props)
        return group

    @classmethod
    def update_from_cloudformation_json(
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> Any:
        props = cloudformation_json["Properties"]
        _store_capacity(original_resource, props)
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        FakeAutoScalingGroup.delete_from_cloudformation_json(resource_name, cloudformation_json, account_id, region_name)


def _store_capacity(group: Any, props: dict[str, Any]) -> None:
    # DesiredCapacity defaults to MinSize.
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-autoscaling-autoscalinggroup.html#cfn-autoscaling-autoscalinggroup-desiredcapacity
    group.min_size = _int(props.get("MinSize"))
    group.max_size = _int(props.get("MaxSize"))
    group.desired_capacity = _int(props.get("DesiredCapacity", props.get("MinSize")))
