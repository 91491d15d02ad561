"""`harness check`'s I/O: deploy to a throwaway embedded cloud, read the stack back, check it, tear down.

Deploying (rather than reading the YAML) is what makes the checks trustworthy: parameters, conditions,
Fn::ImportValue and !GetAtt resolve exactly as in `up`, so a dimension is compared with the name the
service really gets. The only things read besides the model are the ARNs the account holds, for the
dangling-action rule; the rules themselves stay pure (harness.checks.rules).
"""

from __future__ import annotations

import contextlib
import inspect
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from harness.checks.findings import Finding
from harness.checks.rules import check_stack
from harness.cloud.clients import Aws
from harness.cloud.server import EmbeddedCloud
from harness.deploy import deploy, teardown
from harness.net import free_port
from harness.stack import StackModel, read_stack


def known_arns(aws: Aws, model: StackModel) -> frozenset[str]:
    """SNS topics, scaling policies and Lambda functions the account holds (alarm actions may name any)."""
    arns: set[str] = set()
    with contextlib.suppress(ClientError, BotoCoreError):
        for page in aws.client("sns").get_paginator("list_topics").paginate():
            arns.update(t["TopicArn"] for t in page.get("Topics", []))
    namespaces = {p.service_namespace for p in model.policies} | {"ecs"}
    for ns in sorted(namespaces):
        with contextlib.suppress(ClientError, BotoCoreError):
            for page in aws.client("application-autoscaling").get_paginator("describe_scaling_policies").paginate(
                    ServiceNamespace=ns):
                arns.update(p["PolicyARN"] for p in page.get("ScalingPolicies", []))
    # EC2 Auto Scaling policies (AWS::AutoScaling::ScalingPolicy, e.g. a cluster stack's capacity alarms:
    # arn:aws:autoscaling:...:scalingPolicy:<id>:autoScalingGroupName/<asg>:policyName/<name>) and Lambda
    # functions are alarm actions too (API_PutMetricAlarm: AlarmActions).
    with contextlib.suppress(ClientError, BotoCoreError):
        for page in aws.client("autoscaling").get_paginator("describe_policies").paginate():
            arns.update(p["PolicyARN"] for p in page.get("ScalingPolicies", []) if p.get("PolicyARN"))
    with contextlib.suppress(ClientError, BotoCoreError):
        for page in aws.client("lambda").get_paginator("list_functions").paginate():
            arns.update(f["FunctionArn"] for f in page.get("Functions", []))
    return frozenset(arns)


def check_deployed(aws: Aws, stack_name: str, stacks: tuple[str, ...] = ()) -> tuple[StackModel, list[Finding]]:
    """The findings of a stack already deployed on `aws`, read with `stacks` (its deployment's others:
    Deployment.other_stacks, e.g. a --companion scaling stack no parameter of it names)."""
    model = read_stack(aws, stack_name, stacks)
    return model, check_stack(model, known_arns(aws, model))


def check_template(template: Path, params: dict[str, str], *, cloud_port: int | None = None,
                   stack_name: str = "ecs", deploy_options: dict[str, Any] | None = None) -> tuple[StackModel, list[Finding]]:
    """Start an embedded cloud (on `cloud_port`, else any free port), deploy, check, tear down, stop it.

    `deploy_options`: further keyword arguments of `harness.deploy.deploy` (e.g. parent stacks), passed
    only when deploy takes them.
    """
    accepted = set(inspect.signature(deploy).parameters)
    extra = {k: v for k, v in (deploy_options or {}).items() if k in accepted and v is not None}
    with EmbeddedCloud(port=cloud_port or free_port()) as cloud:
        aws = Aws(cloud.endpoint)
        deployment = deploy(aws, template, params, stack_name=stack_name, **extra)
        try:
            return check_deployed(aws, deployment.stack_name, getattr(deployment, "other_stacks", ()))
        finally:
            teardown(aws, deployment)
