"""deploy() with real templates of the widdix family: parents of any name (and parents of parents) wired
as CloudFormation would, conditions applied before any check, every problem named at once.

Each test module has its own embedded cloud: the session's cloud already holds stacks named vpc and
cluster (deployed from infrastructure/), which deploy() would reuse as existing parents.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from botocore.parsers import ResponseParserError

from harness.cloud.clients import Aws
from harness.deploy import deploy, parse_parents, parent_stack_name, plan_stacks, teardown
from harness.errors import ConfigError, DeployError, ParameterError, TemplateError

DATA = Path(__file__).resolve().parent / "data"
FAMILY = DATA / "real-family"
SERVICE = FAMILY / "service-dedicated-alb.yaml"
PARENTS = {"ParentVPCStack": FAMILY / "vpc.yaml", "ParentClusterStack": FAMILY / "cluster.yaml",
           "ParentAlertStack": FAMILY / "alert.yaml"}


def stacks(aws: Aws) -> set[str]:
    return {s["StackName"] for s in aws.client("cloudformation").describe_stacks()["Stacks"]}


def test_the_family_deploys_unchanged_with_parents_of_parents(own_aws: Aws) -> None:
    said: list[str] = []
    d = deploy(own_aws, SERVICE, {"ClassB": "7"}, stack_name="svc", parents=PARENTS, say=said.append)
    try:
        # Each parent once, in dependency order: the cluster takes ParentVPCStack and ParentAlertStack too.
        assert d.created_stacks == ("vpc", "alert", "cluster", "svc")
        assert d.sources == {"vpc": str(PARENTS["ParentVPCStack"]), "alert": str(PARENTS["ParentAlertStack"]),
                             "cluster": str(PARENTS["ParentClusterStack"]), "svc": str(SERVICE)}
        assert said == [f"stack      {name} from {path}" for name, path in d.sources.items()]
        cf = own_aws.client("cloudformation")
        params = {p["ParameterKey"]: p["ParameterValue"] for p in cf.describe_stacks(StackName="cluster")["Stacks"][0]["Parameters"]}
        assert (params["ParentVPCStack"], params["ParentAlertStack"]) == ("vpc", "alert")
        assert d.parameters["ParentAlertStack"] == "alert"
        # --param ClassB reached the one template that declares it.
        ec2 = own_aws.client("ec2")
        (vpc,) = [v for v in ec2.describe_vpcs()["Vpcs"] if v["CidrBlock"] == "10.7.0.0/16"]
        ipv6 = vpc["Ipv6CidrBlockAssociationSet"][0]["Ipv6CidrBlock"]
        subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]
        # Fn::Cidr over GetAtt VPC.Ipv6CidrBlocks: four /64s of the VPC's /56, as CloudFormation computes them.
        assert sorted(a["Ipv6CidrBlock"] for s in subnets for a in s["Ipv6CidrBlockAssociationSet"]) == sorted(
            __import__("harness.cfn", fromlist=["cidr"]).cidr(ipv6, 4, 64))
        acls = [a for a in ec2.describe_network_acls(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["NetworkAcls"]
                if not a["IsDefault"]]
        assert len(acls) == 2 and sum(len(a["Associations"]) for a in acls) == 4
        entries = {(e["RuleNumber"], e["Egress"], e.get("CidrBlock") or e.get("Ipv6CidrBlock")) for a in acls for e in a["Entries"]}
        assert {(99, False, "0.0.0.0/0"), (98, False, "::/0"), (99, True, "0.0.0.0/0")} <= entries
        assert ec2.describe_egress_only_internet_gateways()["EgressOnlyInternetGateways"]
        # The alert topic: its subscription and policy are real SNS state.
        topic = cf.describe_stacks(StackName="alert")["Stacks"][0]["Outputs"][1]["OutputValue"]
        sns = own_aws.client("sns")
        subs = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
        assert [(s["Protocol"], s["Endpoint"]) for s in subs] == [("email", "ops@example.com")]
        assert "events.amazonaws.com" in sns.get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"]
        # The service's alarms alert through the parent's topic (an import), no NoValue item left behind.
        cw = own_aws.client("cloudwatch")
        alarms = {a["AlarmName"]: a for a in cw.describe_alarms()["MetricAlarms"]}
        too_high = next(a for n, a in alarms.items() if "CPUUtilizationTooHighAlarm" in n)
        assert too_high["AlarmActions"] == [topic]
        # Capacity stored, not simulated: the group has its numbers and no instances.
        asg = own_aws.client("autoscaling").describe_auto_scaling_groups()["AutoScalingGroups"][0]
        assert (asg["MinSize"], asg["MaxSize"], asg["DesiredCapacity"], asg["Instances"]) == (2, 4, 2, [])
        hooks = own_aws.client("autoscaling").describe_lifecycle_hooks(AutoScalingGroupName=asg["AutoScalingGroupName"])
        assert [(h["LifecycleTransition"], h["HeartbeatTimeout"]) for h in hooks["LifecycleHooks"]] == [
            ("autoscaling:EC2_INSTANCE_TERMINATING", 300)]
        mappings = own_aws.client("lambda").list_event_source_mappings()["EventSourceMappings"]
        assert len(mappings) == 1 and mappings[0]["EventSourceArn"].endswith(":" + mappings[0]["EventSourceArn"].split(":")[-1])
        queue_url = own_aws.client("sqs").list_queues()["QueueUrls"][0]
        attrs = own_aws.client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["Policy"])["Attributes"]
        assert "events.amazonaws.com" in attrs["Policy"]
        # Value: 2 (an integer output) is the string CloudFormation shows.
        assert d.outputs["Tasks"] == "2"
        # NoValue list items are gone: the load balancer has exactly the attributes and tags taken.
        elb = own_aws.client("elbv2")
        lb_arn = cf.describe_stack_resource(StackName="svc", LogicalResourceId="LoadBalancer")["StackResourceDetail"]["PhysicalResourceId"]
        tags = elb.describe_tags(ResourceArns=[lb_arn])["TagDescriptions"][0]["Tags"]
        assert [t["Key"] for t in tags if not t["Key"].startswith("aws:")] == ["Service"]
    finally:
        teardown(own_aws, d)
    assert stacks(own_aws) == set()
    assert own_aws.client("ec2").describe_egress_only_internet_gateways()["EgressOnlyInternetGateways"] == []


def test_a_required_parent_without_a_template_is_named(own_aws: Aws) -> None:
    with pytest.raises(ParameterError, match=r"parameter ParentAlertStack of .*service-dedicated-alb.yaml names a "
                                             r"parent stack; pass --parent ParentAlertStack=FILE"):
        deploy(own_aws, SERVICE, {}, stack_name="svc", parents={k: v for k, v in PARENTS.items() if k != "ParentAlertStack"})
    assert stacks(own_aws) == set()


def test_a_parent_given_as_an_existing_stack_is_not_deployed(own_aws: Aws) -> None:
    alert = deploy(own_aws, FAMILY / "alert.yaml", {}, stack_name="ops-alerts")
    try:
        d = deploy(own_aws, SERVICE, {"ParentAlertStack": "ops-alerts"}, stack_name="svc",
                   parents={k: v for k, v in PARENTS.items() if k != "ParentAlertStack"})
        assert d.created_stacks == ("vpc", "cluster", "svc")
        teardown(own_aws, d)
    finally:
        teardown(own_aws, alert)


def test_default_parents_are_found_as_yaml_next_to_the_template(tmp_path: Path) -> None:
    shutil.copy(FAMILY / "vpc.yaml", tmp_path / "vpc.yaml")
    shutil.copy(FAMILY / "cluster.yaml", tmp_path / "cluster.yaml")
    (tmp_path / "svc.yml").write_text(
        "Parameters:\n  ParentClusterStack:\n    Type: String\nResources:\n  T:\n    Type: 'AWS::SNS::Topic'\n")
    order = plan_stacks(tmp_path / "svc.yml", {}, {}, "svc")
    assert [(p.name, p.path.name, p.parents) for p in order] == [
        ("vpc", "vpc.yaml", {}), ("cluster", "cluster.yaml", {"ParentVPCStack": "vpc"}),
        ("svc", "svc.yml", {"ParentClusterStack": "cluster"})]


def test_a_parent_cycle_is_named(tmp_path: Path) -> None:
    a, b = tmp_path / "a.yml", tmp_path / "b.yml"
    body = "Parameters:\n  Parent{0}Stack:\n    Type: String\nResources:\n  T:\n    Type: 'AWS::SNS::Topic'\n"
    a.write_text(body.format("B"))
    b.write_text(body.format("A"))
    with pytest.raises(TemplateError, match="parent stacks form a cycle: ParentBStack -> ParentAStack -> ParentBStack"):
        plan_stacks(a, {}, {"ParentAStack": a, "ParentBStack": b}, "svc")


def test_a_param_no_template_declares_is_refused(own_aws: Aws) -> None:
    with pytest.raises(ParameterError, match="parameter Nope is not declared by .*vpc.yaml, .*alert.yaml"):
        deploy(own_aws, SERVICE, {"Nope": "1"}, stack_name="svc", parents=PARENTS)


def test_every_problem_of_every_template_at_once(own_aws: Aws, tmp_path: Path) -> None:
    """Unsupported types (all resources of each) and missing exports (all), but nothing under a false
    condition or in an Fn::If branch not taken."""
    t = tmp_path / "many.yml"
    t.write_text("""
Parameters:
  ParentWAFStack: {Type: String, Default: ''}
Conditions:
  HasWAF: !Not [!Equals [!Ref ParentWAFStack, '']]
Resources:
  Waf:
    Type: 'AWS::WAFv2::WebACLAssociation'
    Condition: HasWAF
    Properties: {ResourceArn: x, WebACLArn: {'Fn::ImportValue': !Sub '${ParentWAFStack}-WebACL'}}
  One: {Type: 'AWS::Harness::Nope'}
  Two: {Type: 'AWS::Harness::Nope'}
  Three: {Type: 'AWS::Harness::Other'}
  Topic:
    Type: 'AWS::SNS::Topic'
    Properties:
      TopicName: !If [HasWAF, {'Fn::ImportValue': 'not-taken'}, {'Fn::ImportValue': 'missing-a'}]
  Group:
    Type: 'AWS::EC2::SecurityGroup'
    Properties: {GroupDescription: x, VpcId: {'Fn::ImportValue': 'missing-b'}}
""")
    with pytest.raises(DeployError) as info:
        deploy(own_aws, t, {}, stack_name="many")
    text = str(info.value)
    assert text.startswith("4 problems, nothing deployed: ") and "\n" not in text
    assert "resources One, Two in " in text and "have type AWS::Harness::Nope" in text
    assert "resource Three in " in text and "AWS::Harness::Other" in text
    assert "resource Topic in " in text and "imports export missing-a" in text
    assert "resource Group in " in text and "imports export missing-b" in text
    assert "WAFv2" not in text and "not-taken" not in text and "WebACL" not in text
    assert "many" not in stacks(own_aws)


def test_ssm_parameter_types_resolve_from_the_cloud(own_aws: Aws, tmp_path: Path) -> None:
    """CDK's BootstrapVersion: Type AWS::SSM::Parameter::Value<String>, checked by the CheckBootstrapVersion rule.
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html#aws-ssm-parameter-types"""
    body = """
Parameters:
  BootstrapVersion:
    Type: AWS::SSM::Parameter::Value<String>
    Default: {name}
Rules:
  CheckBootstrapVersion:
    Assertions:
    - Assert: !Not [{{'Fn::Contains': [['1', '2', '3', '4', '5'], !Ref BootstrapVersion]}}]
      AssertDescription: CDK bootstrap stack version 6 required.
Resources:
  CDKMetadata: {{Type: 'AWS::CDK::Metadata', Properties: {{Analytics: 'v2:deflate64:x'}}}}
  T: {{Type: 'AWS::SNS::Topic'}}
Outputs:
  Version: {{Value: !Ref BootstrapVersion}}
"""
    t = tmp_path / "cdk.yml"
    t.write_text(body.format(name="/cdk-bootstrap/hnb659fds/version"))
    d = deploy(own_aws, t, {}, stack_name="cdkish")
    assert int(d.outputs["Version"]) >= 6
    teardown(own_aws, d)
    own_aws.client("ssm").put_parameter(Name="/old/version", Value="4", Type="String")
    t.write_text(body.format(name="/old/version"))
    with pytest.raises(DeployError, match="rule CheckBootstrapVersion: CDK bootstrap stack version 6 required"):
        deploy(own_aws, t, {}, stack_name="cdkish")
    t.write_text(body.format(name="/no/such/parameter"))
    with pytest.raises(DeployError, match="parameter BootstrapVersion of .* names SSM parameter /no/such/parameter, "
                                          "which does not exist"):
        deploy(own_aws, t, {}, stack_name="cdkish")


def test_a_failing_parent_is_named_even_when_the_rollback_answers_garbage(
        own_aws: Aws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An emulator that answers the rollback's DeleteStack with HTML (ResponseParserError) must not bury the
    error of the stack that failed."""
    parent = tmp_path / "parent.yml"
    parent.write_text((DATA / "fails_in_cloud.yml").read_text())
    (tmp_path / "svc.yml").write_text(
        "Parameters:\n  ParentThingStack:\n    Type: String\nResources:\n  T:\n    Type: 'AWS::SNS::Topic'\n")
    cf = own_aws.client("cloudformation")

    def garbage(**_: object) -> None:
        raise ResponseParserError("Unable to parse response (syntax error: line 1, column 0), invalid XML received")

    monkeypatch.setattr(cf, "delete_stack", garbage)
    with pytest.raises(DeployError, match=r"stack thing \(.*parent.yml\) failed to deploy at resource Target.*"
                                          r"and cleanup failed") as info:
        deploy(own_aws, tmp_path / "svc.yml", {}, stack_name="svc", parents={"ParentThingStack": parent})
    assert "\n" not in str(info.value)
    monkeypatch.undo()
    teardown_names = [s for s in stacks(own_aws) if s == "thing"]
    for name in teardown_names:
        cf.delete_stack(StackName=name)


@pytest.mark.parametrize(("pair", "message"), [
    ("ParentVPCStack", "is not of the form PARAM=TEMPLATE"),
    ("Parent-VPC=vpc.yml", "is not a valid CloudFormation parameter name"),
    ("ParentVPCStack=/no/such/vpc.yaml", "template /no/such/vpc.yaml does not exist"),
])
def test_parse_parents_names_the_bad_pair(pair: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_parents([pair])


def test_parent_stack_names() -> None:
    assert [parent_stack_name(p) for p in ("ParentVPCStack", "ParentClusterStack", "ParentAlertStack",
                                           "ParentSSHBastionStack", "ParentZoneStack")] == [
        "vpc", "cluster", "alert", "ssh-bastion", "zone"]


@pytest.mark.slow
@pytest.mark.harness_stack(template=str(SERVICE), parents={k: str(v) for k, v in PARENTS.items()}, time_scale=30)
def test_the_family_serves_through_its_own_load_balancer(harness_stack: object) -> None:
    """Deploy-and-serve: the dedicated-ALB service of the family, its parents from --parent (the marker)."""
    import urllib.request

    handle: Any = harness_stack
    with urllib.request.urlopen(handle.url + "/", timeout=10) as resp:
        assert resp.status == 200
    assert handle.healthy() >= 2
    alarms = handle.aws.client("cloudwatch").describe_alarms()["MetricAlarms"]
    topic = next(o["OutputValue"] for o in handle.aws.client("cloudformation").describe_stacks(StackName="alert")
                 ["Stacks"][0]["Outputs"] if o["OutputKey"] == "TopicARN")
    assert any(a["AlarmActions"] == [topic] for a in alarms)


def test_a_param_reaches_every_template_that_declares_it(own_aws: Aws, tmp_path: Path) -> None:
    (tmp_path / "base.yml").write_text(
        "Parameters:\n  Env: {Type: String, Default: dev}\nResources:\n  T: {Type: 'AWS::SNS::Topic'}\n")
    (tmp_path / "svc.yml").write_text(
        "Parameters:\n  ParentBaseStack: {Type: String}\n  Env: {Type: String, Default: dev}\n"
        "  Size: {Type: Number, Default: 1}\nResources:\n  T: {Type: 'AWS::SNS::Topic'}\n")
    d = deploy(own_aws, tmp_path / "svc.yml", {"Env": "prod", "Size": "3"}, stack_name="svc",
               parents={"ParentBaseStack": tmp_path / "base.yml"})
    try:
        cf = own_aws.client("cloudformation")

        def params(stack: str) -> dict[str, str]:
            return {p["ParameterKey"]: p["ParameterValue"] for p in cf.describe_stacks(StackName=stack)["Stacks"][0]["Parameters"]}

        assert params("base") == {"Env": "prod"}
        assert params("svc") == {"ParentBaseStack": "base", "Env": "prod", "Size": "3"}
    finally:
        teardown(own_aws, d)


def test_a_parent_no_template_declares_is_refused(own_aws: Aws) -> None:
    with pytest.raises(ParameterError, match="--parent ParentNopeStack: no template declares parameter ParentNopeStack"):
        deploy(own_aws, FAMILY / "alert.yaml", {}, stack_name="a", parents={"ParentNopeStack": FAMILY / "vpc.yaml"})
    assert stacks(own_aws) == set()
