"""Target tracking alarms in the embedded cloud, created as AWS creates them (moto 5.2 gets them wrong).

When a TargetTrackingScaling policy is created (PutScalingPolicy, or CloudFormation's
AWS::ApplicationAutoScaling::ScalingPolicy, which calls the backend's put_scaling_policy), Application Auto
Scaling creates and manages its CloudWatch alarms and deletes them with the policy
(application-auto-scaling-target-tracking.html: "Application Auto Scaling creates and manages the
CloudWatch alarms that are associated with your target tracking scaling policies and deletes them when no
longer needed"). moto creates ECS alarms with a hard-coded threshold of 6, CPU unless the metric type
mentions memory, and keeps the old alarms when a policy is updated.

`apply()` (called by the moto child at start, `harness.cloud.server.main`) replaces moto's alarm creation
for ECS policies with the alarms `harness.autoscaling.target_tracking.alarm_specs` specifies, refuses a
configuration AWS (or the harness) cannot track with a ValidationException naming the field, and deletes a
policy's alarms when PutScalingPolicy replaces it. Other namespaces (DynamoDB) keep moto's own alarms.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.autoscaling import target_tracking as tt

_APPLIED = False


def apply(cloudwatch: Callable[[str, str], Any] | None = None) -> None:
    """Patch moto's Application Auto Scaling backend in this process (idempotent).

    `cloudwatch(account, region)` is where the alarms go: an object with moto's CloudWatchBackend
    `put_metric_alarm(...)` (returning something with `name` and `alarm_arn`) and `delete_alarms(names)`.
    By default moto's own CloudWatch; LocalStack's extension, whose CloudWatch is not moto's, passes its own.
    """
    global _APPLIED
    if _APPLIED:
        return
    from moto.applicationautoscaling import models
    from moto.applicationautoscaling.exceptions import AWSValidationException
    from moto.cloudwatch.models import cloudwatch_backends
    from moto.moto_api._internal import mock_random

    policy_class = models.FakeApplicationAutoscalingPolicy
    where = cloudwatch or (lambda account, region: cloudwatch_backends[account][region])
    moto_create_alarms = policy_class.create_alarms
    moto_put = models.ApplicationAutoscalingBackend.put_scaling_policy

    def create_alarms(self: Any) -> None:
        if self.policy_type != tt.POLICY_TYPE or self.service_namespace != "ecs":
            moto_create_alarms(self)
            return
        config = self.target_tracking_scaling_policy_configuration or {}
        try:
            specs = tt.alarm_specs(config, self.resource_id)
        except tt.TargetTrackingError as exc:
            raise AWSValidationException(f"Scaling policy {self.policy_name}: {exc}") from exc
        cloudwatch = where(self.account_id, self.region_name)
        # The alarms' action and description name the policy with a createdBy suffix, as AWS's do.
        action = f"{self.policy_arn}:createdBy/{mock_random.uuid4()}"
        for spec in specs:
            self.alarms.append(
                cloudwatch.put_metric_alarm(
                    name=spec.name(self.resource_id, str(mock_random.uuid4())),
                    namespace=spec.namespace,
                    metric_name=spec.metric_name,
                    metric_data_queries=[],
                    comparison_operator=spec.comparison_operator,
                    evaluation_periods=spec.evaluation_periods,
                    datapoints_to_alarm=spec.datapoints_to_alarm,
                    period=spec.period,
                    threshold=spec.threshold,
                    statistic=spec.statistic,
                    unit=spec.unit,
                    treat_missing_data=spec.treat_missing_data,
                    description=tt.alarm_description(action),
                    dimensions=[{"Name": n, "Value": v} for n, v in spec.dimensions],
                    alarm_actions=[action],
                )
            )

    def put_scaling_policy(self: Any, policy_name: str, service_namespace: str, resource_id: str,
                           scalable_dimension: str, policy_body: dict[str, Any], policy_type: str | None) -> Any:
        key = policy_class.formulate_key(service_namespace, resource_id, scalable_dimension, policy_name)
        old = self.policies.get(key)
        policy = moto_put(self, policy_name, service_namespace, resource_id, scalable_dimension, policy_body, policy_type)
        if old is not None and old is not policy and old.alarms:
            # The replaced policy's alarms go with it (moto leaves them behind).
            old.delete_alarms(self.account_id, self.region_name)
        return policy

    policy_class.create_alarms = create_alarms  # type: ignore[method-assign]
    if cloudwatch is not None:  # moto's delete_alarms deletes from moto's CloudWatch only
        def delete_alarms(self: Any, account_id: str, region_name: str) -> None:
            if self.alarms:
                where(account_id, region_name).delete_alarms([a.name for a in self.alarms])

        policy_class.delete_alarms = delete_alarms  # type: ignore[method-assign]
    models.ApplicationAutoscalingBackend.put_scaling_policy = put_scaling_policy  # type: ignore[method-assign]
    _APPLIED = True
