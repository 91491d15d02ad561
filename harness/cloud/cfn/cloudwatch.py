"""AWS::CloudWatch::Alarm and AWS::CloudWatch::CompositeAlarm: moto 5.2.5 has no model for either (it logs a warning and skips the resource)."""

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


class _Alarm(_Renamable):
    """What both alarm types share: kept under the alarm name (Ref), GetAtt Arn, deleted by DeleteAlarms."""

    def __init__(self, name: str, arn: str, account_id: str, region_name: str) -> None:
        self.name = name
        self.arn = arn
        self.account_id = account_id
        self.region_name = region_name

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        cloudwatch_backends[account_id][region_name].delete_alarms([resource_name])

    def delete(self, account_id: str, region_name: str) -> None:
        cloudwatch_backends[account_id][region_name].delete_alarms([self.name])


class CloudWatchAlarm(_Alarm, CloudFormationModel):
    """https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-cloudwatch-alarm.html
    Ref returns the alarm name; GetAtt Arn the alarm ARN."""

    TYPE = "AWS::CloudWatch::Alarm"
    NAME_PROPERTY = "AlarmName"


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



class CompositeAlarm(_Alarm, CloudFormationModel):
    """https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-cloudwatch-compositealarm.html
    (Return values: Ref = the alarm name, such as `MyCompositeAlarm`; GetAtt Arn = the composite alarm's ARN.)

    moto 5.2.5 has no PutCompositeAlarm handler, but its backend keeps an alarm with an `AlarmRule` and
    DescribeAlarms lists it under CompositeAlarms: that is the real resource made here. "When this operation
    creates an alarm, the alarm state is immediately set to INSUFFICIENT_DATA" (the page above), and the
    harness's alarm loop then evaluates it (`harness.cloudwatch.composite`). The rule must parse, as
    PutCompositeAlarm demands; a rule naming an alarm that does not exist deploys (so `harness check` can name
    it, rule `composite-alarm-unknown-child`) and is reported by the alarm loop at each evaluation."""

    TYPE = "AWS::CloudWatch::CompositeAlarm"
    NAME_PROPERTY = "AlarmName"


    @classmethod
    def _create(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> CompositeAlarm:
        from harness.cloudwatch.composite import parse_rule

        rule = str(props.get("AlarmRule") or "")
        parse_rule(rule)  # a RuleError (ValueError) fails the resource with its reason
        backend = cloudwatch_backends[account_id][region_name]
        existing = backend.alarms.get(name)
        alarm = backend.put_metric_alarm(
            name=name, namespace=None, metric_name=None, comparison_operator=None,  # type: ignore[arg-type]
            evaluation_periods=None, period=None, threshold=None, statistic=None,  # type: ignore[arg-type]
            description=props.get("AlarmDescription"),  # type: ignore[arg-type]
            dimensions=[], alarm_actions=_strs(props.get("AlarmActions")),
            ok_actions=_strs(props.get("OKActions")),
            insufficient_data_actions=_strs(props.get("InsufficientDataActions")),
            actions_enabled=str(props.get("ActionsEnabled", True)).lower() != "false",
            treat_missing_data=None, evaluate_low_sample_count_percentile=None, threshold_metric_id=None,
            rule=rule,
        )
        # DescribeAlarms serializes these attributes by their API names (AlarmRule, ActionsSuppressor...).
        extra: Any = alarm
        extra.alarm_rule = rule
        extra.actions_suppressor = props.get("ActionsSuppressor")
        extra.actions_suppressor_wait_period = _int(props.get("ActionsSuppressorWaitPeriod"))
        extra.actions_suppressor_extension_period = _int(props.get("ActionsSuppressorExtensionPeriod"))
        if existing is not None and getattr(existing, "rule", None) is not None:
            # "When you update an existing alarm, its state is left unchanged" (the page above).
            alarm.state_value, alarm.state_reason = existing.state_value, existing.state_reason
            alarm.state_reason_data = existing.state_reason_data
        else:
            alarm.state_value = INITIAL_STATE
            alarm.state_reason = INITIAL_REASON
            alarm.state_reason_data = "{}"
        return cls(name, alarm.alarm_arn, account_id, region_name)

