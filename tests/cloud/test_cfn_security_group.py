"""AWS::EC2::SecurityGroup inline rules as CloudFormation takes them (harness.cloud.cfn.ec2_sg), over the
real moto server: IpProtocol -1 with no ports, CidrIpv6, an explicit egress list replacing EC2's default.
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-ec2-securitygroup-ingress.html
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-ec2-securitygroup-egress.html"""

from __future__ import annotations

from pathlib import Path

from harness.cloud.clients import Aws

TEMPLATE = Path(__file__).resolve().parents[1] / "data" / "sg-rules" / "vpc.yml"


def test_all_protocol_rules_without_ports_deploy_and_show(aws: Aws) -> None:
    cf = aws.client("cloudformation")
    ec2 = aws.client("ec2")
    cf.create_stack(StackName="sg-rules", TemplateBody=TEMPLATE.read_text())
    try:
        (stack,) = cf.describe_stacks(StackName="sg-rules")["Stacks"]
        assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
        res = {r["LogicalResourceId"]: r.get("PhysicalResourceId", "")
               for r in cf.describe_stack_resources(StackName="sg-rules")["StackResources"]}
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
        assert outputs["VpcOfGroup"] == res["Vpc"]
        (lb,) = ec2.describe_security_groups(GroupIds=[res["BalancerGroup"]])["SecurityGroups"]
        ingress = {(p["IpProtocol"], p.get("FromPort")): p for p in lb["IpPermissions"]}
        assert ingress["-1", None]["IpRanges"][0]["CidrIp"] == "0.0.0.0/0"
        assert ingress["tcp", 80]["Ipv6Ranges"][0] == {"CidrIpv6": "::/0", "Description": "web over IPv6"}
        # the explicit egress list replaces EC2's default allow-all rule
        assert [(p["IpProtocol"], [r["CidrIp"] for r in p["IpRanges"]]) for p in lb["IpPermissionsEgress"]] == [
            ("-1", ["10.40.0.0/16"])]
        (task,) = ec2.describe_security_groups(GroupIds=[res["TaskGroup"]])["SecurityGroups"]
        peers = sorted(g["GroupId"] for p in task["IpPermissions"] for g in p["UserIdGroupPairs"])
        assert peers == sorted([res["BalancerGroup"], res["TaskGroup"]])
        # no egress list given: EC2's default allow-all egress stays
        assert [p["IpProtocol"] for p in task["IpPermissionsEgress"]] == ["-1"]
    finally:
        cf.delete_stack(StackName="sg-rules")
    left = {g["GroupId"] for g in ec2.describe_security_groups()["SecurityGroups"]}
    assert res["BalancerGroup"] not in left and res["TaskGroup"] not in left
