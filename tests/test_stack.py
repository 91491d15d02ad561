"""read_stack(): everything comes back from the service APIs, for the real template and for a variant
with other logical IDs and other numbers (so no value or name can be hard-coded in the harness)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.cloud.clients import Aws
from harness.deploy import Deployment, deploy, teardown
from harness.stack import StackModel, StepAdjustment, read_stack

VARIANT = Path(__file__).parent / "data" / "variant.yml"


@pytest.fixture(scope="module")
def variant(aws: Aws, ecs_deployment: Deployment) -> Iterator[StackModel]:
    # The parents come from the session's ecs deployment; passing them means deploy() reuses them.
    d = deploy(aws, VARIANT, {"ParentVPCStack": "vpc", "ParentClusterStack": "cluster"}, stack_name="variant")
    assert d.created_stacks == ("variant",)
    try:
        yield read_stack(aws, "variant")
    finally:
        teardown(aws, d)


def test_ecs_stack_reads_back_template_values(ecs_stack: StackModel) -> None:
    svc = ecs_stack.service()
    assert (svc.desired_count, svc.minimum_healthy_percent, svc.maximum_percent) == (2, 50, 200)
    main = svc.task_definition.container("main")
    assert (main.container_port, main.memory, main.cpu, main.log_stream_prefix) == (3000, 128, None, "ecs")
    assert main.log_group is not None and main.log_group.startswith("cluster-LogGroup-")
    (lb_link,) = svc.load_balancers
    tg_arn, container, port = lb_link
    assert (container, port) == ("main", 3000)
    tg = ecs_stack.target_group(tg_arn)
    h = tg.health
    assert (h.path, h.port, h.interval, h.timeout, h.healthy_threshold, h.unhealthy_threshold, h.matcher) == (
        "/1", "traffic-port", 15.0, 10.0, 2, 4, "200")
    assert tg.deregistration_delay == 10.0 and tg.full_name.startswith("targetgroup/")
    lb = ecs_stack.load_balancer_for(tg_arn)
    assert lb is not None and lb.full_name.startswith("app/") and lb.listeners[0].port == 80
    target = ecs_stack.scalable_target(svc.resource_id)
    assert target is not None and (target.min_capacity, target.max_capacity) == (2, 4)
    high = ecs_stack.alarm("CPUUtilizationHighAlarm")
    up = ecs_stack.policy(high.alarm_actions[0])
    assert (up.adjustment_type, up.cooldown, up.min_adjustment_magnitude, up.metric_aggregation_type) == (
        "PercentChangeInCapacity", 300.0, 1, "Average")
    assert up.steps == (StepAdjustment(0.0, None, 25.0),)
    down = ecs_stack.policy(ecs_stack.alarm("CPUUtilizationLowAlarm").alarm_actions[0])
    assert down.steps == (StepAdjustment(None, 0.0, -25.0),)
    too_high = ecs_stack.alarm("CPUTooHighAlarm")
    topic = ecs_stack.topic(too_high.alarm_actions[0])
    assert [(s.protocol, s.endpoint) for s in topic.subscriptions] == [("email", "admin@example.com")]
    assert (too_high.period, too_high.threshold, too_high.datapoints_to_alarm, too_high.treat_missing_data) == (
        300, 85.0, 1, "missing")
    assert {a.state for a in ecs_stack.alarms} == {"INSUFFICIENT_DATA"}
    assert len(ecs_stack.alarms) == 5
    assert ecs_stack.outputs["URL"] == "http://" + lb.dns_name


def test_variant_reads_back_its_own_numbers(variant: StackModel) -> None:
    svc = variant.service()
    assert (svc.desired_count, svc.minimum_healthy_percent, svc.maximum_percent) == (3, 100, 150)
    td = svc.task_definition
    assert (td.family, td.cpu, td.memory, td.network_mode) == ("variant-web", 1024, 1024, "bridge")
    web = td.container("web")
    assert (web.image, web.cpu, web.memory, web.memory_reservation, web.container_port) == (
        "example/web:1.2.3", 512, None, 256, 8080)
    assert web.environment == {"APP_ENV": "staging"} and web.log_stream_prefix == "web"
    assert svc.load_balancers[0].container_name == "web"
    tg = variant.target_group(svc.target_group_arns[0])
    h = tg.health
    assert (h.path, h.interval, h.timeout, h.healthy_threshold, h.unhealthy_threshold, h.matcher) == (
        "/healthz", 20.0, 5.0, 3, 2, "200-299")
    assert (tg.port, tg.deregistration_delay) == (8000, 30.0)
    (lb,) = variant.load_balancers
    assert lb.listeners[0].port == 8000 and lb.listeners[0].target_group_arn == tg.arn
    target = variant.scalable_target(svc.resource_id)
    assert target is not None and (target.min_capacity, target.max_capacity) == (1, 6)

    hot = variant.alarm_by_name("variant-cpu-hot")  # AlarmName given in the template
    assert hot == variant.alarm("CpuHot")
    assert (hot.statistic, hot.extended_statistic, hot.period, hot.evaluation_periods, hot.datapoints_to_alarm) == (
        None, "p90", 120, 3, 2)
    assert (hot.threshold, hot.comparison_operator, hot.treat_missing_data) == (
        65.5, "GreaterThanOrEqualToThreshold", "breaching")
    grow = variant.policy(hot.alarm_actions[0])
    assert grow.name == "grow"
    assert (grow.adjustment_type, grow.cooldown, grow.metric_aggregation_type, grow.min_adjustment_magnitude) == (
        "ChangeInCapacity", 120.0, "Maximum", None)
    assert grow.steps == (StepAdjustment(0.0, 15.0, 1.0), StepAdjustment(15.0, None, 3.0))
    ops = variant.topic(hot.ok_actions[0])
    assert [s.endpoint for s in ops.subscriptions] == ["ops@example.org"]

    cold = variant.alarm("CpuCold")
    assert cold.name.startswith("variant-CpuCold-")
    assert (cold.statistic, cold.period, cold.evaluation_periods, cold.datapoints_to_alarm, cold.threshold) == (
        "Minimum", 300, 2, 2, 12.0)
    assert (cold.comparison_operator, cold.treat_missing_data, cold.insufficient_data_actions) == (
        "LessThanOrEqualToThreshold", "ignore", (ops.arn,))
    shrink = variant.policy(cold.alarm_actions[0])
    assert (shrink.adjustment_type, shrink.cooldown, shrink.steps) == (
        "ExactCapacity", 600.0, (StepAdjustment(None, 0.0, 1.0),))
    lb5xx = variant.alarm("Balancer5XX")
    assert lb5xx.dimensions == {"LoadBalancer": lb.full_name} and lb5xx.evaluation_periods == 5
    assert {a.state for a in variant.alarms} == {"INSUFFICIENT_DATA"}
    assert variant.outputs == {"Endpoint": lb.dns_name}


def test_teardown_removes_alarms_and_policies(aws: Aws, ecs_deployment: Deployment) -> None:
    d = deploy(aws, VARIANT, {"ParentVPCStack": "vpc", "ParentClusterStack": "cluster"}, stack_name="variant2")
    model = read_stack(aws, "variant2")
    teardown(aws, d)
    names = {a["AlarmName"] for a in aws.client("cloudwatch").describe_alarms()["MetricAlarms"]}
    assert not names & {a.name for a in model.alarms}
    arns = {p["PolicyARN"] for p in aws.client("application-autoscaling").describe_scaling_policies(
        ServiceNamespace="ecs")["ScalingPolicies"]}
    assert not arns & {p.arn for p in model.policies}
    assert "variant2" not in {s["StackName"] for s in aws.client("cloudformation").describe_stacks()["Stacks"]}


def test_every_stack_of_a_shared_alb_deployment_is_read(aws: Aws, ecs_deployment: Deployment) -> None:
    """The load balancer and listener of the cluster stack, the service stack's ListenerRule, the alert
    topic of the alert stack: one model, with the parents found from the service stack's parameters."""
    from tests.shared_alb import shared_alb_stacks

    with shared_alb_stacks(aws) as (name, model):
        assert model.stacks[0] == name and len(model.stacks) == 4
        svc = model.service()
        tg = svc.load_balancers[0].target_group_arn
        lb = model.load_balancer_for(tg)  # through the rule: the listener's default is a fixed response
        assert lb is not None and lb.name.startswith("sa-cluster-")
        (listener,) = lb.listeners
        assert listener.target_group_arn is None and listener.default_actions[0].type == "fixed-response"
        rule = next(r for r in listener.all_rules() if not r.is_default)
        assert (rule.priority, rule.conditions[0].field, rule.conditions[0].values) == (10, "path-pattern", ("/*",))
        assert listener.forwards_to() == {tg}
        (topic,) = model.topics
        assert topic.arn.split(":")[-1].startswith("sa-alert-") and topic.subscriptions[0].endpoint == "ops@example.com"
        assert model.alarm("CpuAlert").alarm_actions == (topic.arn,)
        # Read again with the parents named explicitly: the same stacks, once each.
        again = read_stack(aws, name, ("vpc", model.stacks[2], model.stacks[3]))
        assert sorted(again.stacks) == sorted(model.stacks)
