"""Target tracking templates deployed unchanged on the embedded cloud (real moto server child): the alarms
Application Auto Scaling creates for each policy carry AWS's names, metric, statistic, period, datapoints and
thresholds relative to TargetValue; they are read back with the stack, resolve the scale_out / scale_in
roles, and go when the policy goes. Then the executor runs the policy when the real alarm loop invokes it.

https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-target-tracking.html
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from harness.autoscaling.executor import ScalingExecutor
from harness.autoscaling.target_tracking import alarm_specs
from harness.clock import ManualClock
from harness.cloud.clients import Aws
from harness.cloud.server import EmbeddedCloud
from harness.cloudwatch.alarms import AlarmEvaluator
from harness.deploy import deploy, teardown
from harness.errors import DeployError
from harness.events import Timeline
from harness.net import free_port
from harness.scenarios import roles as roles_mod
from harness.stack import StackModel, read_stack

DATA = Path(__file__).resolve().parent / "data"
NAME = re.compile(r"^TargetTracking-service/[^/]+/[^/]+-Alarm(High|Low)-[0-9a-f-]{36}$")


@pytest.fixture(scope="module")
def tt_aws() -> Iterator[Aws]:
    """A cloud of this module's own: its parent stacks must not meet the session's."""
    with EmbeddedCloud(port=free_port()) as cloud:
        yield Aws(cloud.endpoint)


def _alarms(model: StackModel) -> dict[str, Any]:
    policy = next(p for p in model.policies if p.policy_type == "TargetTrackingScaling")
    by_kind = {}
    for a in model.alarms:
        m = NAME.match(a.name)
        if m:
            by_kind[m.group(1)] = a
            # the action is the policy's ARN with AWS's createdBy suffix; the description names it
            assert a.alarm_actions[0].startswith(policy.arn + ":createdBy/"), a.alarm_actions
            assert a.description == f"DO NOT EDIT OR DELETE. For TargetTrackingScaling policy {a.alarm_actions[0]}."
            assert (a.period, a.treat_missing_data) == (60, "missing")
    assert set(by_kind) == {n.split("-Alarm")[1].split("-")[0] for n in policy.alarm_names}
    return by_kind


def _dims(model: StackModel) -> dict[str, str]:
    svc = model.services[0]
    return {"ClusterName": svc.cluster, "ServiceName": svc.name}


@pytest.mark.parametrize(
    ("template", "check"),
    [
        ("cpu.yml", "cpu"),
        ("memory.yml", "memory"),
        ("requests.yml", "requests"),
        ("custom.yml", "custom"),
    ],
)
def test_alarms_as_aws_creates_them(tt_aws: Aws, template: str, check: str) -> None:
    deployment = deploy(tt_aws, DATA / "target-tracking" / template, {}, stack_name=f"tt-{check}")
    try:
        model = read_stack(tt_aws, deployment.stack_name)
        alarms = _alarms(model)
        high = alarms["High"]
        if check == "cpu":  # TargetCpu 60 (a parameter): > 60 on 3 of 3, < 54 on 15 of 15
            low = alarms["Low"]
            assert (high.namespace, high.metric_name, high.statistic, high.unit) == ("AWS/ECS", "CPUUtilization", "Average", "Percent")
            assert high.dimensions == _dims(model) == low.dimensions
            assert (high.comparison_operator, high.threshold, high.evaluation_periods, high.datapoints_to_alarm) == (
                "GreaterThanThreshold", 60.0, 3, 3)
            assert (low.comparison_operator, low.threshold, low.evaluation_periods, low.datapoints_to_alarm) == (
                "LessThanThreshold", 54.0, 15, 15)
            roles = roles_mod.resolve(model)
            assert (roles.alarm("scale_out").name, roles.alarm("scale_in").name) == (high.name, low.name)
            assert (roles.cooldown("scale_out"), roles.cooldown("scale_in")) == (60.0, 120.0)
        elif check == "memory":  # 75, DisableScaleIn: no low alarm
            assert set(alarms) == {"High"}
            assert (high.metric_name, high.threshold, high.evaluation_periods) == ("MemoryUtilization", 75.0, 3)
            assert high.dimensions == _dims(model)
        elif check == "requests":  # the service's target group, Sum, 1000 -> 900
            low = alarms["Low"]
            lb = model.load_balancers[0]
            tg = model.target_groups[model.services[0].target_group_arns[0]]
            assert (high.namespace, high.metric_name, high.statistic) == ("AWS/ApplicationELB", "RequestCountPerTarget", "Sum")
            assert high.dimensions == {"LoadBalancer": lb.full_name, "TargetGroup": tg.full_name}
            assert (high.threshold, low.threshold, low.evaluation_periods) == (1000.0, 900.0, 15)
        else:  # customized: the load balancer's TargetResponseTime, Average, Seconds, 0.25 -> 0.225
            low = alarms["Low"]
            assert (high.namespace, high.metric_name, high.statistic, high.unit) == (
                "AWS/ApplicationELB", "TargetResponseTime", "Average", "Seconds")
            assert high.dimensions == {"LoadBalancer": model.load_balancers[0].full_name}
            assert (high.threshold, low.threshold) == (0.25, 0.225)
        names = [a.name for a in alarms.values()]
    finally:
        teardown(tt_aws, deployment)
    # The policy's alarms go with the stack's policy.
    left = tt_aws.client("cloudwatch").describe_alarms(AlarmNames=names)["MetricAlarms"]
    assert left == []


CDK_TARGET = DATA / "cdk" / "CdkTargetStack.template.json"


def test_cdk_scale_on_cpu_utilization_specs() -> None:
    """CDK's scaleOnCpuUtilization (tests/data/cdk: target 60) as synthesized: the same two alarms."""
    template = json.loads(CDK_TARGET.read_text())
    [policy] = [r["Properties"] for r in template["Resources"].values()
                if r["Type"] == "AWS::ApplicationAutoScaling::ScalingPolicy"]
    specs = alarm_specs(policy["TargetTrackingScalingPolicyConfiguration"], "service/cluster/service")
    assert [(s.kind, s.metric_name, s.threshold, s.evaluation_periods) for s in specs] == [
        ("AlarmHigh", "CPUUtilization", 60.0, 3), ("AlarmLow", "CPUUtilization", 54.0, 15)]


def test_cdk_scale_on_cpu_utilization(tt_aws: Aws) -> None:
    """CDK's scaleOnCpuUtilization (tests/data/cdk, target 60, cooldowns 60/120) deployed: the same alarms."""
    try:
        deployment = deploy(tt_aws, CDK_TARGET, {}, stack_name="tt-cdk")
    except DeployError as exc:
        if "cannot create" in str(exc) or "does not exist in the cloud" in str(exc):
            # CDK's resource types and SSM BootstrapVersion are issue 14's part 1, not this one.
            pytest.skip(f"the synthesized CDK stack does not deploy on this cloud yet: {exc}")
        raise
    try:
        model = read_stack(tt_aws, deployment.stack_name)
        alarms = _alarms(model)
        assert (alarms["High"].threshold, alarms["Low"].threshold) == (60.0, 54.0)
        assert alarms["High"].dimensions == _dims(model)
        roles = roles_mod.resolve(model)
        assert (roles.cooldown("scale_out"), roles.cooldown("scale_in")) == (60.0, 120.0)
    finally:
        teardown(tt_aws, deployment)


# ------------------------------------------------------------------ the policy run by the real alarm loop

T0 = 1_794_988_800.0  # on a whole minute


def test_executor_runs_the_policy(tt_aws: Aws) -> None:
    """PutScalingPolicy over the API, CPU datapoints put by hand, the real alarm loop on a ManualClock:
    3 minutes above 60 scale 2 -> 3 (ceil(2 x 90 / 60)); within the scale-out cooldown (120 s) the next
    minute's 90 counts from the capacity before that scale-out (3: covered); after it, from the new count
    (3 -> 5); 15 minutes under 54 scale in proportionally (ceil(5 x 20 / 60) = 2, MinCapacity)."""
    ecs, aas, cw = (tt_aws.client(s) for s in ("ecs", "application-autoscaling", "cloudwatch"))
    ecs.create_cluster(clusterName="ttx")
    ecs.register_task_definition(family="ttx", containerDefinitions=[{"name": "app", "image": "x", "memory": 128}])
    ecs.create_service(cluster="ttx", serviceName="web", taskDefinition="ttx", desiredCount=2)
    rid = "service/ttx/web"
    aas.register_scalable_target(ServiceNamespace="ecs", ResourceId=rid, ScalableDimension="ecs:service:DesiredCount",
                                 MinCapacity=2, MaxCapacity=6)
    put = aas.put_scaling_policy(
        PolicyName="ttx-cpu", ServiceNamespace="ecs", ResourceId=rid, ScalableDimension="ecs:service:DesiredCount",
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 60.0, "ScaleOutCooldown": 120, "ScaleInCooldown": 120,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}},
    )
    assert [a["AlarmName"].split("-Alarm")[1][:4] for a in put["Alarms"]] == ["High", "Low-"]

    def cpu(at: float, value: float) -> None:
        cw.put_metric_data(Namespace="AWS/ECS", MetricData=[{
            "MetricName": "CPUUtilization", "Unit": "Percent", "Value": value,
            "Dimensions": [{"Name": "ClusterName", "Value": "ttx"}, {"Name": "ServiceName", "Value": "web"}],
            "Timestamp": datetime.fromtimestamp(at, tz=timezone.utc)}])

    clock = ManualClock(T0)
    timeline = Timeline()
    executor = ScalingExecutor(aas, ecs, clock, timeline)
    evaluator = AlarmEvaluator(cw, clock, scaling=executor, timeline=timeline)
    # minutes 0-4 at 90, then 20 minutes at 20
    series = [90.0] * 5 + [20.0] * 20

    async def body() -> None:
        loop = asyncio.create_task(evaluator.run())
        try:
            await asyncio.sleep(0)
            await clock.run_until(T0)
            await asyncio.wait_for(evaluator.wait_evaluated(T0), 10)
            for k, value in enumerate(series):
                cpu(T0 + 60 * k + 10, value)
                await clock.advance(60)
                await asyncio.wait_for(evaluator.wait_evaluated(T0 + 60 * (k + 1)), 10)
        finally:
            loop.cancel()
            await asyncio.gather(loop, return_exceptions=True)

    try:
        asyncio.run(asyncio.wait_for(body(), 120))
        changes = [(e.time - T0, e.data["old"], e.data["new"]) for e in timeline.of("desired")]
        activities = [e for e in timeline.of("scaling")]
        # 3 breaching minutes (0..2) are evaluated at +3:00: 2 -> 3, cooldown until +5:00 with base 2; at
        # +4:00 ceil(2 x 1.5) = 3 is covered; at +5:00 the cooldown is over: 3 -> 5 (ceil(3 x 1.5)).
        assert changes[:2] == [(180.0, 2, 3), (300.0, 3, 5)], changes
        # 15 datapoints under 54 (minutes 5..19) -> ALARM at +20:00: ceil(5 x 20 / 60) = 2 (MinCapacity)
        assert changes[2:] == [(1200.0, 5, 2)], changes
        assert activities[0].data["description"] == "Setting desired count to 3."
        assert activities[0].data["cause"].startswith("monitor alarm TargetTracking-service/ttx/web-AlarmHigh-")
        assert activities[-1].data["cause"].startswith("monitor alarm TargetTracking-service/ttx/web-AlarmLow-")
        assert all("StepScaling policies only" not in str(e.data) for e in timeline.events)
    finally:
        aas.delete_scaling_policy(PolicyName="ttx-cpu", ServiceNamespace="ecs", ResourceId=rid,
                                  ScalableDimension="ecs:service:DesiredCount")
        assert cw.describe_alarms(AlarmNamePrefix="TargetTracking-service/ttx/")["MetricAlarms"] == []
