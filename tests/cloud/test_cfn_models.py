"""The CloudFormation extensions win moto's type map and behave as CloudFormation does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

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
    assert {t for t in cfn_models.EXTENDED_TYPES if kinds[t] == "stored"} == {
        "AWS::CDK::Metadata", "AWS::Logs::SubscriptionFilter"}
    assert kinds["AWS::CloudWatch::CompositeAlarm"] == "real" and kinds["AWS::WAFv2::WebACL"] == "real"
    assert kinds["AWS::EC2::NetworkAcl"] == "real" and kinds["AWS::SecretsManager::Secret"] == "real"
    assert "AWS::ECS::TaskSet" not in kinds  # refused: named before deploy


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


SERVICE_EXTRAS = """
Resources:
  Vpc: {Type: 'AWS::EC2::VPC', Properties: {CidrBlock: 10.7.0.0/16}}
  Subnet: {Type: 'AWS::EC2::Subnet', Properties: {VpcId: !Ref Vpc, CidrBlock: 10.7.0.0/24, AvailabilityZone: us-east-1a}}
  Bucket: {Type: 'AWS::S3::Bucket', Properties: {BucketName: cfn-extras-logs}}
  BucketPolicy:
    Type: 'AWS::S3::BucketPolicy'
    Properties:
      Bucket: !Ref Bucket
      PolicyDocument:
        Version: '2012-10-17'
        Statement: [{Effect: Allow, Principal: {AWS: arn:aws:iam::127311923021:root}, Action: 's3:PutObject',
                     Resource: !Sub '${Bucket.Arn}/*'}]
  Secret:
    Type: 'AWS::SecretsManager::Secret'
    Properties:
      Description: db password
      GenerateSecretString: {SecretStringTemplate: '{"username": "app"}', GenerateStringKey: password,
                             PasswordLength: 20, ExcludePunctuation: true}
  LogGroup: {Type: 'AWS::Logs::LogGroup', Properties: {LogGroupName: cfn-extras-app}}
  ErrorFilter:
    Type: 'AWS::Logs::MetricFilter'
    Properties:
      LogGroupName: !Ref LogGroup
      FilterPattern: '"ERROR"'
      MetricTransformations: [{MetricName: AppErrors, MetricNamespace: App, MetricValue: '1', DefaultValue: 0}]
  Namespace: {Type: 'AWS::ServiceDiscovery::PrivateDnsNamespace', Properties: {Name: cfn-extras.local, Vpc: !Ref Vpc}}
  Discovery:
    Type: 'AWS::ServiceDiscovery::Service'
    Properties:
      Name: api
      DnsConfig: {NamespaceId: !Ref Namespace, DnsRecords: [{Type: A, TTL: 60}]}
      HealthCheckCustomConfig: {FailureThreshold: 1}
  Lb: {Type: 'AWS::ElasticLoadBalancingV2::LoadBalancer', Properties: {Subnets: [!Ref Subnet]}}
  Group: {Type: 'AWS::ElasticLoadBalancingV2::TargetGroup', Properties: {Port: 80, Protocol: HTTP, VpcId: !Ref Vpc}}
  Cert: {Type: 'AWS::CertificateManager::Certificate', Properties: {DomainName: api.example.com, ValidationMethod: DNS}}
  Extra: {Type: 'AWS::CertificateManager::Certificate', Properties: {DomainName: www.example.com}}
  Https:
    Type: 'AWS::ElasticLoadBalancingV2::Listener'
    Properties:
      LoadBalancerArn: !Ref Lb
      Port: 443
      Protocol: HTTPS
      Certificates: [{CertificateArn: !Ref Cert}]
      DefaultActions: [{Type: forward, TargetGroupArn: !Ref Group}]
  HttpsExtra:
    Type: 'AWS::ElasticLoadBalancingV2::ListenerCertificate'
    Properties: {ListenerArn: !Ref Https, Certificates: [{CertificateArn: !Ref Extra}]}
  Waf:
    Type: 'AWS::WAFv2::WebACLAssociation'
    Properties:
      ResourceArn: !Ref Lb
      WebACLArn: arn:aws:wafv2:us-east-1:123456789012:regional/webacl/outside/a1b2c3
  Cluster: {Type: 'AWS::ECS::Cluster', Properties: {ClusterName: cfn-extras}}
  Task:
    Type: 'AWS::ECS::TaskDefinition'
    Properties: {ContainerDefinitions: [{Name: app, Image: app, Memory: 128}]}
  Api: {Type: 'AWS::ECS::Service', Properties: {ServiceName: api, Cluster: !Ref Cluster, TaskDefinition: !Ref Task}}
  Scaling:
    Type: 'AWS::ApplicationAutoScaling::ScalableTarget'
    DependsOn: Api
    Properties:
      ServiceNamespace: ecs
      ResourceId: service/cfn-extras/api
      ScalableDimension: 'ecs:service:DesiredCount'
      MinCapacity: 2
      MaxCapacity: 6
      ScheduledActions:
      - ScheduledActionName: night
        Schedule: 'cron(0 22 * * ? *)'
        ScalableTargetAction: {MinCapacity: 1, MaxCapacity: 2}
Outputs:
  SecretRef: {Value: !Ref Secret}
  SecretId: {Value: !GetAtt Secret.Id}
  PolicyRef: {Value: !Ref BucketPolicy}
  FilterRef: {Value: !Ref ErrorFilter}
  NamespaceRef: {Value: !Ref Namespace}
  NamespaceArn: {Value: !GetAtt Namespace.Arn}
  ZoneId: {Value: !GetAtt Namespace.HostedZoneId}
  DiscoveryRef: {Value: !Ref Discovery}
  DiscoveryArn: {Value: !GetAtt Discovery.Arn}
  DiscoveryName: {Value: !GetAtt Discovery.Name}
  CertRef: {Value: !Ref Cert}
  WafRef: {Value: !Ref Waf}
"""


def test_service_template_extras_are_real_moto_resources(aws: Aws) -> None:
    """Secrets, bucket policies, log metric filters, Cloud Map, ACM certificates, listener certificates and a
    scalable target's ScheduledActions are real (their APIs show them) with CloudFormation's Ref/GetAtt values ("Return values" of each
    type's page, cited in harness/cloud/cfn/); a WAF association to an ACL made outside the stack is stored.
    Deleting the stack takes each away again."""
    cf = aws.client("cloudformation")
    cf.create_stack(StackName="cfn-extras", TemplateBody=SERVICE_EXTRAS)
    try:
        out = {o["OutputKey"]: o["OutputValue"] for o in cf.describe_stacks(StackName="cfn-extras")["Stacks"][0]["Outputs"]}
        sm = aws.client("secretsmanager")
        assert out["SecretRef"] == out["SecretId"] and out["SecretRef"].startswith("arn:aws:secretsmanager:")
        value = json.loads(sm.get_secret_value(SecretId=out["SecretRef"])["SecretString"])
        assert value["username"] == "app" and len(value["password"]) == 20 and value["password"].isalnum()
        assert out["PolicyRef"] == "cfn-extras-logs"
        policy = json.loads(aws.client("s3").get_bucket_policy(Bucket="cfn-extras-logs")["Policy"])
        assert policy["Statement"][0]["Resource"] == "arn:aws:s3:::cfn-extras-logs/*"
        (mf,) = aws.client("logs").describe_metric_filters(logGroupName="cfn-extras-app")["metricFilters"]
        assert mf["filterName"] == out["FilterRef"] and mf["filterPattern"] == '"ERROR"'
        assert mf["metricTransformations"][0]["metricName"] == "AppErrors"
        sd = aws.client("servicediscovery")
        ns = sd.get_namespace(Id=out["NamespaceRef"])["Namespace"]
        assert (ns["Arn"], ns["Type"], ns["Properties"]["DnsProperties"]["HostedZoneId"]) == (
            out["NamespaceArn"], "DNS_PRIVATE", out["ZoneId"])
        svc = sd.get_service(Id=out["DiscoveryRef"])["Service"]
        assert (svc["Arn"], svc["Name"], out["DiscoveryName"]) == (out["DiscoveryArn"], "api", "api")
        assert svc["NamespaceId"] == out["NamespaceRef"]
        acm = aws.client("acm")
        assert acm.describe_certificate(CertificateArn=out["CertRef"])["Certificate"]["DomainName"] == "api.example.com"
        res = {r["LogicalResourceId"]: r["PhysicalResourceId"]
               for r in cf.describe_stack_resources(StackName="cfn-extras")["StackResources"]}
        certs = aws.client("elbv2").describe_listener_certificates(ListenerArn=res["Https"])["Certificates"]
        assert {c["CertificateArn"] for c in certs} >= {res["Extra"]}
        (night,) = aws.client("application-autoscaling").describe_scheduled_actions(
            ServiceNamespace="ecs", ResourceId="service/cfn-extras/api")["ScheduledActions"]
        assert (night["ScheduledActionName"], night["Schedule"], night["ScalableTargetAction"]) == (
            "night", "cron(0 22 * * ? *)", {"MinCapacity": 1, "MaxCapacity": 2})
        assert out["WafRef"] == res["Lb"] + "|arn:aws:wafv2:us-east-1:123456789012:regional/webacl/outside/a1b2c3"
    finally:
        cf.delete_stack(StackName="cfn-extras")
    assert aws.client("logs").describe_metric_filters(logGroupName="cfn-extras-app")["metricFilters"] == []
    assert not [s for s in aws.client("secretsmanager").list_secrets()["SecretList"] if s["ARN"] == out["SecretRef"]]
    assert not [n for n in aws.client("servicediscovery").list_namespaces()["Namespaces"] if n["Id"] == out["NamespaceRef"]]
    assert aws.client("application-autoscaling").describe_scheduled_actions(ServiceNamespace="ecs")["ScheduledActions"] == []


COMPOSITE_AND_WAF = """
Parameters:
  HasWAF: {Type: String, Default: 'true'}
Conditions:
  WithWAF: !Equals [!Ref HasWAF, 'true']
Resources:
  Topic: {Type: 'AWS::SNS::Topic'}
  Errors:
    Type: 'AWS::CloudWatch::Alarm'
    Properties:
      AlarmName: cfn-composite-5xx
      Namespace: AWS/ApplicationELB
      MetricName: HTTPCode_Target_5XX_Count
      Statistic: Sum
      Period: 60
      EvaluationPeriods: 1
      ComparisonOperator: GreaterThanThreshold
      Threshold: 0
  Latency:
    Type: 'AWS::CloudWatch::Alarm'
    Properties:
      Namespace: AWS/ApplicationELB
      MetricName: TargetResponseTime
      Statistic: Average
      Period: 60
      EvaluationPeriods: 1
      ComparisonOperator: GreaterThanThreshold
      Threshold: 0.5
  Page:
    Type: 'AWS::CloudWatch::CompositeAlarm'
    Properties:
      AlarmRule: !Sub 'ALARM("${Errors}") AND ALARM(${Latency.Arn})'
      AlarmDescription: 5XX and slow
      AlarmActions: [!Ref Topic]
      OKActions: [!Ref Topic]
      ActionsSuppressor: !Ref Errors
      ActionsSuppressorExtensionPeriod: 120
      ActionsSuppressorWaitPeriod: 60
  Acl:
    Type: 'AWS::WAFv2::WebACL'
    Condition: WithWAF
    Properties:
      Name: cfn-acl
      Scope: REGIONAL
      DefaultAction: {Allow: {}}
      VisibilityConfig: {SampledRequestsEnabled: true, CloudWatchMetricsEnabled: true, MetricName: acl}
      Rules:
        - Name: block-bad
          Priority: 0
          Action: {Block: {}}
          VisibilityConfig: {SampledRequestsEnabled: true, CloudWatchMetricsEnabled: true, MetricName: bad}
          Statement:
            ByteMatchStatement:
              SearchString: BadBot
              FieldToMatch: {UriPath: {}}
              PositionalConstraint: CONTAINS
              TextTransformations: [{Priority: 0, Type: NONE}]
  Lb:
    Type: 'AWS::ElasticLoadBalancingV2::LoadBalancer'
    Properties:
      Subnets: [!Ref Subnet]
  Vpc: {Type: 'AWS::EC2::VPC', Properties: {CidrBlock: 10.7.0.0/16}}
  Subnet: {Type: 'AWS::EC2::Subnet', Properties: {VpcId: !Ref Vpc, CidrBlock: 10.7.0.0/24, AvailabilityZone: us-east-1a}}
  Association:
    Type: 'AWS::WAFv2::WebACLAssociation'
    Condition: WithWAF
    Properties: {ResourceArn: !Ref Lb, WebACLArn: !GetAtt Acl.Arn}
Outputs:
  PageRef: {Value: !Ref Page}
  PageArn: {Value: !GetAtt Page.Arn}
  AclRef: {Value: !Ref Acl}
  AclArn: {Value: !GetAtt Acl.Arn}
  AclId: {Value: !GetAtt Acl.Id}
  AclLabels: {Value: !GetAtt Acl.LabelNamespace}
"""


def test_composite_alarm_and_web_acl_are_real(aws: Aws) -> None:
    """A composite alarm deploys as a real CloudWatch composite (DescribeAlarms CompositeAlarms: rule, actions,
    suppressor, INSUFFICIENT_DATA at creation) with Ref = name and GetAtt Arn; a web ACL is a real WAFv2 ACL
    with Ref name|id|scope, and the association associates the load balancer with it. Deleting removes both."""
    cf = aws.client("cloudformation")
    cw = aws.client("cloudwatch")
    waf = aws.client("wafv2")
    cf.create_stack(StackName="cfn-composite", TemplateBody=COMPOSITE_AND_WAF)
    try:
        stack = cf.describe_stacks(StackName="cfn-composite")["Stacks"][0]
        assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
        out = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
        assert out["PageRef"].startswith("cfn-composite-Page-")
        assert out["PageArn"] == f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{out['PageRef']}"
        (page,) = cw.describe_alarms(AlarmNames=[out["PageRef"]], AlarmTypes=["CompositeAlarm"])["CompositeAlarms"]
        latency = cw.describe_alarms(AlarmNamePrefix="cfn-composite-Latency")["MetricAlarms"][0]
        assert page["AlarmRule"] == f'ALARM("cfn-composite-5xx") AND ALARM({latency["AlarmArn"]})'
        assert (page["StateValue"], page["AlarmDescription"]) == ("INSUFFICIENT_DATA", "5XX and slow")
        assert page["AlarmActions"] == page["OKActions"] and page["AlarmActions"][0].startswith("arn:aws:sns:")
        assert (page["ActionsSuppressor"], page["ActionsSuppressorExtensionPeriod"],
                page["ActionsSuppressorWaitPeriod"]) == ("cfn-composite-5xx", 120, 60)
        name, acl_id, scope = out["AclRef"].split("|")
        assert (name, acl_id, scope) == ("cfn-acl", out["AclId"], "REGIONAL")
        assert out["AclLabels"] == "awswaf:123456789012:webacl:cfn-acl:"
        acl = waf.get_web_acl(Name="cfn-acl", Scope="REGIONAL", Id=acl_id)["WebACL"]
        assert acl["ARN"] == out["AclArn"] and acl["Rules"][0]["Name"] == "block-bad"
        lb = cf.describe_stack_resource(StackName="cfn-composite", LogicalResourceId="Lb")
        lb_arn = lb["StackResourceDetail"]["PhysicalResourceId"]
        assert waf.get_web_acl_for_resource(ResourceArn=lb_arn)["WebACL"]["ARN"] == out["AclArn"]
    finally:
        cf.delete_stack(StackName="cfn-composite")
    assert cw.describe_alarms(AlarmNames=[out["PageRef"]], AlarmTypes=["CompositeAlarm"])["CompositeAlarms"] == []
    assert not [a for a in waf.list_web_acls(Scope="REGIONAL")["WebACLs"] if a["Name"] == "cfn-acl"]


def test_composite_alarm_with_a_rule_that_does_not_parse_fails_its_stack(aws: Aws) -> None:
    cf = aws.client("cloudformation")
    bad = """
Resources:
  Page:
    Type: 'AWS::CloudWatch::CompositeAlarm'
    Properties: {AlarmName: cfn-bad-rule, AlarmRule: 'ALARM(a) AND'}
"""
    # The embedded cloud fails CreateStack with the resource's reason (harness.cloud.cfn.parsing).
    with pytest.raises(ClientError, match="Resource Page .* ends where a term is expected"):
        cf.create_stack(StackName="cfn-bad-rule", TemplateBody=bad)
    assert aws.client("cloudwatch").describe_alarms(AlarmNames=["cfn-bad-rule"],
                                                    AlarmTypes=["CompositeAlarm"])["CompositeAlarms"] == []
