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


MOTO_SEMANTICS = """
Parameters:
  Env: {Type: String, Default: ''}
Conditions:
  HasEnv: !Not [!Equals [!Ref Env, '']]
Resources:
  Vpc:
    Type: 'AWS::EC2::VPC'
    Properties: {CidrBlock: 10.9.0.0/16}
  Group:
    Type: 'AWS::EC2::SecurityGroup'
    Properties:
      GroupDescription: cfn-models
      VpcId: !Ref Vpc
      Tags:
      - {Key: Always, Value: 'yes'}
      - !If [HasEnv, {Key: Env, Value: !Ref Env}, !Ref 'AWS::NoValue']
  Egress:
    Type: 'AWS::EC2::SecurityGroupEgress'
    Properties: {GroupId: !Ref Group, IpProtocol: tcp, FromPort: 443, ToPort: 443, CidrIp: 10.9.0.0/16}
  Meta:
    Type: 'AWS::CDK::Metadata'
    Properties: {Analytics: 'v2:deflate64:x'}
Outputs:
  Count: {Value: 2}
  Flag: {Value: true}
  Azs: {Value: !Join [',', !GetAZs {Ref: 'AWS::Region'}]}
  Blocks: {Value: !Join [',', !Cidr [10.9.0.0/16, 2, 8]]}
  Second: {Value: !Select [1, !Cidr [!GetAtt Vpc.CidrBlock, 3, 12]]}
"""


def test_moto_evaluates_as_cloudformation_does(aws: Aws) -> None:
    """Straight to moto (no harness pre-checks): NoValue list items dropped, Fn::Cidr and Fn::GetAZs of a Ref
    computed, non-string outputs shown as strings.
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference-cidr.html"""
    cf = aws.client("cloudformation")
    cf.create_stack(StackName="cfn-semantics", TemplateBody=MOTO_SEMANTICS)
    try:
        stack = cf.describe_stacks(StackName="cfn-semantics")["Stacks"][0]
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
        assert outputs == {"Count": "2", "Flag": "true",
                           "Azs": "us-east-1a,us-east-1b,us-east-1c,us-east-1d",
                           "Blocks": "10.9.0.0/24,10.9.1.0/24", "Second": "10.9.16.0/20"}
        res = {r["LogicalResourceId"]: r["PhysicalResourceId"]
               for r in cf.describe_stack_resources(StackName="cfn-semantics")["StackResources"]}
        (group,) = aws.client("ec2").describe_security_groups(GroupIds=[res["Group"]])["SecurityGroups"]
        assert {t["Key"] for t in group.get("Tags", []) if not t["Key"].startswith("aws:")} == {"Always"}
        egress = [p for p in group["IpPermissionsEgress"] if p.get("FromPort") == 443]
        assert egress and egress[0]["IpRanges"][0]["CidrIp"] == "10.9.0.0/16"
        assert res["Egress"].startswith("sgr-")
    finally:
        cf.delete_stack(StackName="cfn-semantics")
    groups = aws.client("ec2").describe_security_groups()["SecurityGroups"]
    assert not [g for g in groups if g["GroupId"] == res["Group"]]


def test_every_extended_type_has_a_kind() -> None:
    kinds = cfn_models.kinds()
    assert {t: kinds[t] for t in cfn_models.EXTENDED_TYPES if kinds[t] == "stored"} == {"AWS::CDK::Metadata": "stored"}
    assert kinds["AWS::EC2::NetworkAcl"] == "real" and "AWS::WAFv2::WebACLAssociation" not in kinds


CAPACITY = """
Resources:
  Cluster: {Type: 'AWS::ECS::Cluster'}
  Template:
    Type: 'AWS::EC2::LaunchTemplate'
    Properties:
      LaunchTemplateData:
        ImageId: ami-12c6146b
        BlockDeviceMappings: [{DeviceName: /dev/xvda, Ebs: {VolumeType: gp3}}]
  Group:
    Type: 'AWS::AutoScaling::AutoScalingGroup'
    Properties:
      MinSize: '1'
      MaxSize: '3'
      LaunchTemplate: {LaunchTemplateId: !Ref Template, Version: !GetAtt Template.LatestVersionNumber}
      AvailabilityZones: [us-east-1a]
  Provider:
    Type: 'AWS::ECS::CapacityProvider'
    Properties:
      AutoScalingGroupProvider:
        AutoScalingGroupArn: !Ref Group
        ManagedScaling: {Status: ENABLED, TargetCapacity: 100}
  Associations:
    Type: 'AWS::ECS::ClusterCapacityProviderAssociations'
    Properties:
      Cluster: !Ref Cluster
      CapacityProviders: [!Ref Provider]
      DefaultCapacityProviderStrategy: [{CapacityProvider: !Ref Provider, Weight: 1}]
"""


def test_ec2_capacity_is_stored_not_simulated(aws: Aws) -> None:
    """An ASG from a launch template whose volume has no size (AWS takes it from the AMI): the group has its
    capacity (DesiredCapacity defaults to MinSize) and no instances; the capacity provider is real."""
    cf = aws.client("cloudformation")
    cf.create_stack(StackName="cfn-capacity", TemplateBody=CAPACITY)
    try:
        res = {r["LogicalResourceId"]: r["PhysicalResourceId"]
               for r in cf.describe_stack_resources(StackName="cfn-capacity")["StackResources"]}
        (group,) = aws.client("autoscaling").describe_auto_scaling_groups(
            AutoScalingGroupNames=[res["Group"]])["AutoScalingGroups"]
        assert (group["MinSize"], group["MaxSize"], group["DesiredCapacity"], group["Instances"]) == (1, 3, 1, [])
        (cluster,) = aws.client("ecs").describe_clusters(clusters=[res["Cluster"]])["clusters"]
        assert cluster["capacityProviders"] == [res["Provider"]]
    finally:
        cf.delete_stack(StackName="cfn-capacity")
    assert aws.client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=[res["Group"]])["AutoScalingGroups"] == []
