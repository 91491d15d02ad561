"""The CloudFormation extensions win moto's type map and behave as CloudFormation does."""

from __future__ import annotations

from pathlib import Path

from harness.cloud import cfn_models
from harness.cloud.clients import Aws

TEMPLATE = """
AWSTemplateFormatVersion: '2010-09-09'
Resources:
  Topic:
    Type: 'AWS::SNS::Topic'
  Named:
    Type: 'AWS::CloudWatch::Alarm'
    Properties:
      AlarmName: cfn-models-named
      Namespace: Custom/Test
      MetricName: Things
      Statistic: Maximum
      Period: 10
      EvaluationPeriods: 4
      DatapointsToAlarm: 3
      ComparisonOperator: LessThanThreshold
      Threshold: 1.5
      AlarmActions: [!Ref Topic]
      OKActions: [!Ref Topic]
Outputs:
  AlarmRef:
    Value: !Ref Named
  AlarmArn:
    Value: !GetAtt Named.Arn
"""


def test_register_makes_our_models_win_moto_type_map() -> None:
    import moto.cloudformation.parsing as parsing

    registered = cfn_models.register()
    assert set(registered) == set(cfn_models.EXTENDED_TYPES)
    for type_name, cls in registered.items():
        assert parsing.get_model_map()[type_name] is cls
    # Registering again changes nothing (no duplicate classes).
    assert cfn_models.register() == registered
    assert "AWS::CloudWatch::Alarm" in cfn_models.supported_types()


def test_alarm_ref_getatt_update_and_delete(aws: Aws, tmp_path: Path) -> None:
    cf = aws.client("cloudformation")
    cw = aws.client("cloudwatch")
    cf.create_stack(StackName="cfn-models", TemplateBody=TEMPLATE)
    try:
        outputs = {o["OutputKey"]: o["OutputValue"] for o in cf.describe_stacks(StackName="cfn-models")["Stacks"][0]["Outputs"]}
        assert outputs["AlarmRef"] == "cfn-models-named"
        assert outputs["AlarmArn"].endswith(":alarm:cfn-models-named")
        (alarm,) = cw.describe_alarms(AlarmNames=["cfn-models-named"])["MetricAlarms"]
        assert (alarm["Period"], alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"], alarm["Threshold"]) == (
            10, 4, 3, 1.5)
        assert alarm["StateValue"] == "INSUFFICIENT_DATA"
        assert alarm["OKActions"] == alarm["AlarmActions"] and alarm["AlarmActions"][0].startswith("arn:aws:sns:")
        cf.update_stack(StackName="cfn-models", TemplateBody=TEMPLATE.replace("Threshold: 1.5", "Threshold: 7"))
        (alarm,) = cw.describe_alarms(AlarmNames=["cfn-models-named"])["MetricAlarms"]
        assert alarm["Threshold"] == 7.0
    finally:
        cf.delete_stack(StackName="cfn-models")
    assert cw.describe_alarms(AlarmNames=["cfn-models-named"])["MetricAlarms"] == []
