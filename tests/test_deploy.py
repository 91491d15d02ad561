"""deploy(): the unchanged ecs.yml lands in every service's API with the template's values, and every
bad input fails before or during deploy with an error naming the culprit and no stack left behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cloud.clients import Aws
from harness.deploy import DEFAULT_ADMIN_EMAIL, DEFAULT_IMAGE, Deployment, deploy, load_template, parse_params
from harness.errors import ConfigError, DeployError, ParameterError, TemplateError

DATA = Path(__file__).parent / "data"
ECS = Path(__file__).resolve().parents[1] / "infrastructure" / "ecs.yml"


def stack_names(aws: Aws) -> set[str]:
    """Stacks that exist (describe_stacks without a name lists only live ones)."""
    return {s["StackName"] for s in aws.client("cloudformation").describe_stacks()["Stacks"]}


# ------------------------------------------------------------------------------ parse_params


def test_parse_params_splits_on_first_equals() -> None:
    assert parse_params(["DesiredCount=3", "Image=repo/app:tag=x", "Empty="]) == {
        "DesiredCount": "3",
        "Image": "repo/app:tag=x",
        "Empty": "",
    }


@pytest.mark.parametrize("bad", ["NoEquals", "=value", "bad-name=1"])
def test_parse_params_names_the_bad_pair(bad: str) -> None:
    with pytest.raises(ConfigError, match=repr(bad).replace("[", r"\[")):
        parse_params([bad])


def test_parse_params_rejects_a_key_given_twice() -> None:
    with pytest.raises(ConfigError, match="DesiredCount"):
        parse_params(["DesiredCount=1", "DesiredCount=2"])


# ------------------------------------------------------------------------------ the real template


def test_unchanged_template_deploys_with_parents_and_defaults(aws: Aws, ecs_deployment: Deployment) -> None:
    assert ecs_deployment.stack_name == "ecs"
    assert ecs_deployment.parent_stacks == ("vpc", "cluster")
    assert {"vpc", "cluster", "ecs"} <= stack_names(aws)
    assert ecs_deployment.parameters["Image"] == DEFAULT_IMAGE
    assert ecs_deployment.parameters["AdminEmail"] == DEFAULT_ADMIN_EMAIL
    assert ecs_deployment.parameters["DesiredCount"] == "2"
    lb = aws.client("elbv2").describe_load_balancers()["LoadBalancers"]
    assert ecs_deployment.outputs["DNSName"] in {x["DNSName"] for x in lb}
    assert ecs_deployment.outputs["URL"] == "http://" + ecs_deployment.outputs["DNSName"]
    exports = {e["Name"] for e in aws.client("cloudformation").list_exports()["Exports"]}
    assert {"vpc-VPC", "vpc-SubnetAPublic", "vpc-SubnetBPublic", "cluster-Cluster", "cluster-SecurityGroup",
            "cluster-LogGroup", "ecs-DNSName", "ecs-URL"} <= exports


def _resources(aws: Aws, stack: str) -> dict[str, str]:
    rs = aws.client("cloudformation").describe_stack_resources(StackName=stack)["StackResources"]
    return {r["LogicalResourceId"]: r.get("PhysicalResourceId", "") for r in rs}


def test_every_alarm_exists_in_cloudwatch_with_template_values(aws: Aws, ecs_deployment: Deployment) -> None:
    res = _resources(aws, "ecs")
    cw = aws.client("cloudwatch")
    names = [res[k] for k in ("CPUUtilizationHighAlarm", "CPUUtilizationLowAlarm", "CPUTooHighAlarm",
                              "LoadBalancer5XXAlarm", "LoadBalancerTargetGroup5XXAlarm")]
    alarms = {a["AlarmName"]: a for a in cw.describe_alarms(AlarmNames=names)["MetricAlarms"]}
    assert len(alarms) == 5
    topic = res["Alerts"]
    up, down = res["ScaleUpPolicy"], res["ScaleDownPolicy"]
    lb_full = res["LoadBalancer"].split(":loadbalancer/")[1]
    svc_name = res["Service"].rsplit("/", 1)[1]
    cluster = res["Service"].split(":service/")[1].split("/")[0]
    expected = {
        # logical id: (namespace, metric, statistic, period, threshold, operator, actions)
        "CPUUtilizationHighAlarm": ("AWS/ECS", "CPUUtilization", "Average", 60, 70.0, "GreaterThanThreshold", [up]),
        "CPUUtilizationLowAlarm": ("AWS/ECS", "CPUUtilization", "Average", 60, 30.0, "LessThanThreshold", [down]),
        "CPUTooHighAlarm": ("AWS/ECS", "CPUUtilization", "Average", 300, 85.0, "GreaterThanThreshold", [topic]),
        "LoadBalancer5XXAlarm": ("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "Sum", 60, 0.0,
                                 "GreaterThanThreshold", [topic]),
        "LoadBalancerTargetGroup5XXAlarm": ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "Sum", 60, 0.0,
                                            "GreaterThanThreshold", [topic]),
    }
    for logical, (ns, metric, stat, period, threshold, op, actions) in expected.items():
        a = alarms[res[logical]]
        assert a["AlarmName"].startswith(f"ecs-{logical}-")
        assert (a["Namespace"], a["MetricName"], a["Statistic"], a["Period"], a["EvaluationPeriods"]) == (
            ns, metric, stat, period, 1)
        assert (a["Threshold"], a["ComparisonOperator"], a["AlarmActions"]) == (threshold, op, actions)
        # A new alarm starts in INSUFFICIENT_DATA (moto alone would say OK).
        assert a["StateValue"] == "INSUFFICIENT_DATA"
        assert a["StateReason"] == "Unchecked: Initial alarm creation"
        dims = {d["Name"]: d["Value"] for d in a["Dimensions"]}
        if ns == "AWS/ECS":
            assert dims == {"ClusterName": cluster, "ServiceName": svc_name}
        else:
            assert dims == {"LoadBalancer": lb_full}
            assert lb_full.startswith("app/") and a["TreatMissingData"] == "notBreaching"


def test_scaling_target_and_policies_exist(aws: Aws, ecs_deployment: Deployment) -> None:
    res = _resources(aws, "ecs")
    aas = aws.client("application-autoscaling")
    service_path = res["Service"].split(":service/")[1]
    targets = aas.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[f"service/{service_path}"])
    (target,) = targets["ScalableTargets"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 4)
    assert target["ScalableDimension"] == "ecs:service:DesiredCount"
    assert target["RoleARN"].startswith("arn:aws:iam::") and "ScalableTargetRole" in target["RoleARN"]
    policies = {p["PolicyARN"]: p for p in aas.describe_scaling_policies(ServiceNamespace="ecs")["ScalingPolicies"]}
    up = policies[res["ScaleUpPolicy"]]["StepScalingPolicyConfiguration"]
    down = policies[res["ScaleDownPolicy"]]["StepScalingPolicyConfiguration"]
    for conf in (up, down):
        assert (conf["AdjustmentType"], conf["Cooldown"], conf["MinAdjustmentMagnitude"],
                conf["MetricAggregationType"]) == ("PercentChangeInCapacity", 300, 1, "Average")
    assert up["StepAdjustments"] == [{"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": 25}]
    assert down["StepAdjustments"] == [{"MetricIntervalUpperBound": 0.0, "ScalingAdjustment": -25}]


def test_service_task_definition_and_target_group(aws: Aws, ecs_deployment: Deployment) -> None:
    res = _resources(aws, "ecs")
    cluster, name = res["Service"].split(":service/")[1].split("/")
    ecs = aws.client("ecs")
    (svc,) = ecs.describe_services(cluster=cluster, services=[name])["services"]
    assert svc["desiredCount"] == 2
    assert svc["loadBalancers"] == [
        {"targetGroupArn": res["DefaultTargetGroup"], "containerName": "main", "containerPort": 3000}
    ]
    assert svc["deploymentConfiguration"] == {"maximumPercent": 200, "minimumHealthyPercent": 50}
    assert svc["roleArn"].endswith(res["ServiceRole"])
    td = ecs.describe_task_definition(taskDefinition=svc["taskDefinition"])["taskDefinition"]
    assert (td["family"], td["networkMode"]) == ("ecs", "bridge")
    (main,) = td["containerDefinitions"]
    assert (main["name"], main["image"], main["memory"]) == ("main", DEFAULT_IMAGE, 128)
    assert main["portMappings"][0]["containerPort"] == 3000 and main["portMappings"][0]["hostPort"] == 0
    assert main["logConfiguration"]["options"]["awslogs-stream-prefix"] == "ecs"
    elbv2 = aws.client("elbv2")
    (tg,) = elbv2.describe_target_groups(TargetGroupArns=[res["DefaultTargetGroup"]])["TargetGroups"]
    assert (tg["HealthCheckPath"], tg["HealthCheckIntervalSeconds"], tg["HealthCheckTimeoutSeconds"]) == ("/1", 15, 10)
    assert (tg["HealthyThresholdCount"], tg["UnhealthyThresholdCount"], tg["Matcher"]) == (2, 4, {"HttpCode": "200"})
    attrs = {a["Key"]: a["Value"] for a in elbv2.describe_target_group_attributes(
        TargetGroupArn=tg["TargetGroupArn"])["Attributes"]}
    assert attrs["deregistration_delay.timeout_seconds"] == "10"
    (listener,) = elbv2.describe_listeners(LoadBalancerArn=res["LoadBalancer"])["Listeners"]
    assert listener["Port"] == 80 and listener["DefaultActions"][0]["TargetGroupArn"] == tg["TargetGroupArn"]
    subs = aws.client("sns").list_subscriptions_by_topic(TopicArn=res["Alerts"])["Subscriptions"]
    assert [(s["Protocol"], s["Endpoint"]) for s in subs] == [("email", DEFAULT_ADMIN_EMAIL)]


# ------------------------------------------------------------------------------ bad inputs


def test_unparseable_template_names_file_and_line(aws: Aws) -> None:
    before = stack_names(aws)
    with pytest.raises(TemplateError, match=r"bad_syntax\.yml:\d+"):
        deploy(aws, DATA / "bad_syntax.yml", {}, stack_name="t-syntax")
    assert stack_names(aws) == before


def test_not_a_template(tmp_path: Path) -> None:
    f = tmp_path / "list.yml"
    f.write_text("- just\n- a list\n")
    with pytest.raises(TemplateError, match="not a CloudFormation template"):
        load_template(f)


@pytest.mark.parametrize(
    ("params", "error", "pattern"),
    [
        ({"DesiredCount": "0"}, ParameterError, r"DesiredCount=0 breaks MinValue 1"),
        ({"MaxCapacity": "four"}, ParameterError, r"MaxCapacity must be a number"),
        ({"NoSuchParam": "1"}, ParameterError, r"parameter NoSuchParam is not declared"),
    ],
)
def test_bad_parameters_name_parameter_and_constraint(
    aws: Aws, params: dict[str, str], error: type[Exception], pattern: str
) -> None:
    before = stack_names(aws)
    with pytest.raises(error, match=pattern):
        deploy(aws, ECS, params, stack_name="t-params")
    assert stack_names(aws) == before


@pytest.mark.parametrize(
    ("params", "pattern"),
    [
        ({"Env": "dev"}, r"Env='dev' breaks AllowedValues \['staging', 'production'\]"),
        ({"OpsEmail": "nobody"}, r"OpsEmail='nobody' breaks AllowedPattern"),
        ({"Tasks": "11"}, r"Tasks=11 breaks MaxValue 10"),
    ],
)
def test_allowed_values_pattern_max(aws: Aws, params: dict[str, str], pattern: str) -> None:
    params = {"ParentVPCStack": "vpc", "ParentClusterStack": "cluster", **params}
    with pytest.raises(ParameterError, match=pattern):
        deploy(aws, DATA / "variant.yml", params, stack_name="t-constraints")
    assert "t-constraints" not in stack_names(aws)


def test_missing_parameter_is_named(aws: Aws, tmp_path: Path) -> None:
    t = tmp_path / "needs.yml"
    t.write_text("Parameters:\n  Colour:\n    Type: String\nResources:\n  T:\n    Type: 'AWS::SNS::Topic'\n")
    with pytest.raises(ParameterError, match="parameter Colour is required"):
        deploy(aws, t, {}, stack_name="t-missing")
    assert "t-missing" not in stack_names(aws)


def test_unknown_resource_type_names_logical_id_and_type(aws: Aws) -> None:
    with pytest.raises(DeployError, match=r"resource Weird .* type AWS::Harness::DoesNotExist") as info:
        deploy(aws, DATA / "unknown_type.yml", {}, stack_name="t-unknown")
    assert info.value.resource == "Weird"
    assert "t-unknown" not in stack_names(aws)


def test_missing_export_is_named(aws: Aws) -> None:
    with pytest.raises(DeployError, match=r"imports export nosuchvpc-VPC") as info:
        deploy(aws, DATA / "missing_import.yml", {"ParentVPCStack": "nosuchvpc"}, stack_name="t-import")
    assert info.value.resource == "Group"
    assert "t-import" not in stack_names(aws)


def test_failure_inside_the_cloud_deletes_the_stack(aws: Aws) -> None:
    with pytest.raises(DeployError, match=r"stack t-cloudfail .*failed to deploy at resource Target") as info:
        deploy(aws, DATA / "fails_in_cloud.yml", {}, stack_name="t-cloudfail")
    assert (info.value.stack, info.value.resource) == ("t-cloudfail", "Target")
    assert "t-cloudfail" not in stack_names(aws)
    topics = [t["TopicArn"] for t in aws.client("sns").list_topics()["Topics"]]
    assert not [t for t in topics if ":t-cloudfail-" in t]


def test_existing_stack_is_not_overwritten(aws: Aws, ecs_deployment: Deployment) -> None:
    with pytest.raises(DeployError, match="stack ecs already exists"):
        deploy(aws, ECS, {}, stack_name="ecs")
    assert "ecs" in stack_names(aws)
