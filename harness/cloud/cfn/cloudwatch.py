"""AWS::CloudWatch::Alarm: moto 5.2.5 has no model for it (it logs a warning and skips the alarm)."""

from __future__ import annotations

from typing import Any

import moto.cloudwatch.models  # noqa: F401  - moto's models first, so ours win their types
from moto.cloudformation.exceptions import UnformattedGetAttTemplateException  # noqa: F401
from moto.cloudwatch.models import cloudwatch_backends
from moto.core.common_models import CloudFormationModel

from harness.cloud.cfn.base import _float, _int, _Renamable, _strs

# CloudWatch starts every new alarm here; moto starts it in OK.
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html
INITIAL_STATE = "INSUFFICIENT_DATA"
INITIAL_REASON = "Unchecked: Initial alarm creation"


class CloudWatchAlarm(_Renamable, CloudFormationModel):
    """https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-cloudwatch-alarm.html
    Ref returns the alarm name; GetAtt Arn the alarm ARN."""

    TYPE = "AWS::CloudWatch::Alarm"
    NAME_PROPERTY = "AlarmName"

    def __init__(self, name: str, arn: str, account_id: str, region_name: str) -> None:
        self.name = name
        self.arn = arn
        self.account_id = account_id
        self.region_name = region_name

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @classmethod
    def _create(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> CloudWatchAlarm:
        if props.get("Metrics"):
            # Metric-math alarms are not modelled by the harness's evaluator.
            raise ValueError(f"alarm {name}: the Metrics (metric math) property is not supported")
        backend = cloudwatch_backends[account_id][region_name]
        dims = [{"Name": d["Name"], "Value": str(d["Value"])} for d in props.get("Dimensions", [])]
        # moto annotates these parameters as required, but takes None for an absent property
        # (its own PutMetricAlarm handler passes them straight from the request).
        alarm = backend.put_metric_alarm(
            name=name,
            namespace=props.get("Namespace"),  # type: ignore[arg-type]
            metric_name=props.get("MetricName"),  # type: ignore[arg-type]
            comparison_operator=props.get("ComparisonOperator"),  # type: ignore[arg-type]
            evaluation_periods=_int(props.get("EvaluationPeriods")),  # type: ignore[arg-type]
            period=_int(props.get("Period")),  # type: ignore[arg-type]
            threshold=_float(props.get("Threshold")),  # type: ignore[arg-type]
            statistic=props.get("Statistic"),  # type: ignore[arg-type]
            extended_statistic=props.get("ExtendedStatistic"),
            description=props.get("AlarmDescription"),  # type: ignore[arg-type]
            dimensions=dims,
            alarm_actions=_strs(props.get("AlarmActions")),
            ok_actions=_strs(props.get("OKActions")),
            insufficient_data_actions=_strs(props.get("InsufficientDataActions")),
            datapoints_to_alarm=_int(props.get("DatapointsToAlarm")),
            unit=props.get("Unit"),
            actions_enabled=str(props.get("ActionsEnabled", True)).lower() != "false",
            treat_missing_data=props.get("TreatMissingData"),
            evaluate_low_sample_count_percentile=props.get("EvaluateLowSampleCountPercentile"),
            threshold_metric_id=props.get("ThresholdMetricId"),
        )
        # A new alarm starts in INSUFFICIENT_DATA until its first evaluation.
        # https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html
        alarm.state_value = INITIAL_STATE
        alarm.state_reason = INITIAL_REASON
        alarm.state_reason_data = "{}"
        return cls(name, alarm.alarm_arn, account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        cloudwatch_backends[account_id][region_name].delete_alarms([resource_name])

    def delete(self, account_id: str, region_name: str) -> None:
        cloudwatch_backends[account_id][region_name].delete_alarms([self.name])
