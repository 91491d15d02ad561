"""A service template that takes its task definition as a parameter (`TaskDefinition: !Ref
TaskDefinitionArn`, registered outside the stack, the widdix convention): with no value given, deploy()
registers the sample app shaped as the service's LoadBalancers say (container name and port), passes its
ARN, says so, and deregisters it at teardown; a value given is used as it is.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cloud.clients import Aws
from harness.deploy import DEFAULT_IMAGE, deploy, external_task_definition_params, load_template, teardown

SERVICE = Path(__file__).resolve().parent / "data" / "external-taskdef" / "service.yml"


def test_which_parameters_name_an_outside_task_definition() -> None:
    doc = load_template(SERVICE)
    assert external_task_definition_params(doc, {}) == ["TaskDefinitionArn"]
    assert external_task_definition_params(doc, {"TaskDefinitionArn": "arn:given"}) == []
    doc["Parameters"]["TaskDefinitionArn"]["Default"] = "arn:default"
    assert external_task_definition_params(doc, {}) == []
    # A task definition of the stack itself (TaskDefinition: !Ref <resource>) is no parameter.
    doc["Resources"]["Service"]["Properties"]["TaskDefinition"] = {"Ref": "TaskDefinition"}
    assert external_task_definition_params(doc, {}) == []


def test_the_sample_app_is_registered_as_the_service_expects_and_deregistered(own_aws: Aws) -> None:
    said: list[str] = []
    d = deploy(own_aws, SERVICE, {}, stack_name="svc", say=said.append)
    ecs = own_aws.client("ecs")
    try:
        (arn,) = d.task_definitions
        assert d.parameters["TaskDefinitionArn"] == arn
        td = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
        (container,) = td["containerDefinitions"]
        # The template's ContainerName/ContainerPort defaults, bridge with a dynamic host port.
        assert (container["name"], container["image"]) == ("web", DEFAULT_IMAGE)
        assert [(m["containerPort"], m["hostPort"]) for m in container["portMappings"]] == [(8080, 0)]
        assert td["networkMode"] == "bridge"
        cluster = own_aws.client("cloudformation").describe_stacks(StackName="cluster")["Stacks"][0]
        cluster_name = next(o["OutputValue"] for o in cluster["Outputs"] if o["OutputKey"] == "Cluster")
        (svc,) = ecs.describe_services(cluster=cluster_name, services=ecs.list_services(cluster=cluster_name)["serviceArns"])["services"]
        assert svc["taskDefinition"] == arn
        assert any(line.startswith(f"task def   {arn} for parameter TaskDefinitionArn of service.yml") for line in said)
        # A given --param value is the user's own task definition, used as it is.
        mine = ecs.register_task_definition(family="mine", containerDefinitions=[
            {"name": "web", "image": "me/app", "memory": 64, "portMappings": [{"containerPort": 8080, "hostPort": 0}]}
        ])["taskDefinition"]["taskDefinitionArn"]
        d2 = deploy(own_aws, SERVICE, {"TaskDefinitionArn": mine}, stack_name="svc2")
        try:
            assert d2.task_definitions == () and d2.parameters["TaskDefinitionArn"] == mine
        finally:
            teardown(own_aws, d2)
    finally:
        teardown(own_aws, d)
    assert ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]["status"] == "INACTIVE"
