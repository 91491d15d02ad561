"""A stack whose creation failed is still described (with no outputs) and deleted, as in CloudFormation
(harness.cloud.cfn.failed_stacks), over the real moto server. moto re-created the failed resource on
every DescribeStacks through the Outputs naming it and answered HTTP 500, so clean-up could not run.
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/outputs-section-structure.html"""

from __future__ import annotations

from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from harness.cloud.clients import Aws

TEMPLATE = Path(__file__).resolve().parents[1] / "data" / "nested-stack" / "master.yml"


def test_failed_stack_is_described_without_outputs_and_deleted(aws: Aws) -> None:
    cf = aws.client("cloudformation")
    with pytest.raises(ClientError, match="Resource VPC .AWS::CloudFormation::Stack. failed to create"):
        cf.create_stack(StackName="failed-nested", TemplateBody=TEMPLATE.read_text())
    (stack,) = cf.describe_stacks(StackName="failed-nested")["Stacks"]
    assert stack["StackStatus"] != "CREATE_COMPLETE"
    assert stack.get("Outputs", []) == []
    cf.delete_stack(StackName="failed-nested")
    with pytest.raises(ClientError, match="does not exist"):
        cf.describe_stacks(StackName="failed-nested")


def test_deploy_names_the_nested_stack_and_what_to_do_and_leaves_nothing(aws: Aws) -> None:
    from harness.deploy import NESTED_STACK_HINT, deploy
    from harness.errors import HarnessError

    with pytest.raises(HarnessError) as err:
        deploy(aws, TEMPLATE, {}, stack_name="nested-master")
    text = str(err.value)
    assert "\n" not in text and "at resource VPC: AWS::CloudFormation::Stack:" in text, text
    assert text.endswith(NESTED_STACK_HINT) and "cleanup failed" not in text, text
    names = {s["StackName"] for s in aws.client("cloudformation").describe_stacks()["Stacks"]}
    assert "nested-master" not in names
