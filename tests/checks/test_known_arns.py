"""The dangling-action rule knows every kind of ARN an alarm may act on: an EC2 Auto Scaling policy of a
parent cluster stack (AWS::AutoScaling::ScalingPolicy behind a capacity alarm) is deployed, not dangling."""

from __future__ import annotations

from pathlib import Path

from harness.checks.rules import ACTION_DANGLING, check_stack
from harness.checks.run import known_arns
from harness.cloud.clients import Aws
from harness.deploy import deploy, teardown
from harness.stack import read_stack

FAMILY = Path(__file__).resolve().parents[1] / "data" / "real-family"


def test_an_ec2_auto_scaling_policy_in_a_parent_stack_is_a_known_alarm_action(own_aws: Aws) -> None:
    parents = {"ParentVPCStack": FAMILY / "vpc.yaml", "ParentClusterStack": FAMILY / "cluster.yaml",
               "ParentAlertStack": FAMILY / "alert.yaml"}
    aws = own_aws
    d = deploy(aws, FAMILY / "service-dedicated-alb.yaml", {}, stack_name="svc", parents=parents)
    try:
        model = read_stack(aws, d.stack_name, d.parent_stacks)
        asg_actions = {a for alarm in model.alarms for a in alarm.alarm_actions if ":scalingPolicy:" in a
                       and ":autoScalingGroupName/" in a}
        assert asg_actions, "the cluster stack's alarm acts on an EC2 Auto Scaling policy"
        assert asg_actions <= known_arns(aws, model)
        dangling = [f for f in check_stack(model, known_arns(aws, model)) if f.rule == ACTION_DANGLING]
        assert dangling == []
    finally:
        teardown(aws, d)
