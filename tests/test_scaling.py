"""The scaling executor: pure parsing from tables, then whole scale-out / scale-in runs against the real moto
server, driven by the real alarm loop on a ManualClock (exact virtual times).

Rules: https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-step-scaling-policies.html
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import pytest

from harness.autoscaling import Cooldown
from harness.clock import ManualClock
from harness.cloudwatch.alarms import AlarmEvaluator
from harness.errors import CloudError, ConfigError
from harness.events import Timeline
from harness.scaling import (
    ScalingExecutor,
    deployment_in_progress,
    metric_value_for,
    parse_policy,
    parse_policy_arn,
)
from harness.sns import SnsDelivery

T0 = 1_794_988_800.0  # Wednesday 18 November 2026 08:00:00 UTC, on a whole minute
REGION = "us-east-1"

# ----------------------------------------------------------------------------------------------- pure parts


@pytest.mark.parametrize(
    ("arn", "namespace", "resource", "name"),
    [
        (
            "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:4b1c:resource/ecs/service/demo/web:policyName/out",
            "ecs",
            "service/demo/web",
            "out",
        ),
        (
            "arn:aws:autoscaling:eu-west-1:1:scalingPolicy:x:resource/ecs/service/c/s:policyName/tt:createdBy/9f",
            "ecs",
            "service/c/s",
            "tt",
        ),
    ],
)
def test_parse_policy_arn(arn: str, namespace: str, resource: str, name: str) -> None:
    ref = parse_policy_arn(arn)
    assert (ref.service_namespace, ref.resource_id, ref.policy_name) == (namespace, resource, name)
    assert ":createdBy/" not in ref.arn


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:sns:us-east-1:123456789012:alerts",
        "arn:aws:autoscaling:us-east-1:1:scalingPolicy:x:autoScalingGroupName/asg:policyName/p",
        "arn:aws:autoscaling:us-east-1:1:scalingPolicy:x:resource/ecs/service/c/s",
    ],
)
def test_parse_policy_arn_refuses_other_arns(arn: str) -> None:
    with pytest.raises(ConfigError):
        parse_policy_arn(arn)


@pytest.mark.parametrize(
    ("deployments", "expected"),
    [
        ([], False),
        ([{"status": "PRIMARY", "rolloutState": "IN_PROGRESS"}], False),  # moto never completes rolloutState
        ([{"status": "PRIMARY"}, {"status": "ACTIVE"}], True),
        ([{"status": "PRIMARY"}, {"status": "INACTIVE"}], False),
    ],
)
def test_deployment_in_progress(deployments: list[dict[str, Any]], expected: bool) -> None:
    assert deployment_in_progress(deployments) is expected


@pytest.mark.parametrize(
    ("value", "aggregation", "expected"),
    [
        (81.5, None, 81.5),
        ({"Average": 50.0, "Maximum": 90.0}, None, 50.0),
        ({"Average": 50.0, "Maximum": 90.0}, "Maximum", 90.0),
        ({"Average": 50.0, "Minimum": 10.0}, "Minimum", 10.0),
    ],
)
def test_metric_value_uses_the_policy_aggregation(value: Any, aggregation: str | None, expected: float) -> None:
    assert metric_value_for(value, aggregation) == expected


def test_parse_policy_reads_every_step_field() -> None:
    policy = parse_policy(
        {
            "PolicyARN": "arn:p",
            "PolicyName": "out",
            "ServiceNamespace": "ecs",
            "ResourceId": "service/c/s",
            "ScalableDimension": "ecs:service:DesiredCount",
            "PolicyType": "StepScaling",
            "StepScalingPolicyConfiguration": {
                "AdjustmentType": "PercentChangeInCapacity",
                "Cooldown": 240,
                "MinAdjustmentMagnitude": 2,
                "MetricAggregationType": "Maximum",
                "StepAdjustments": [
                    {"MetricIntervalLowerBound": 0.0, "MetricIntervalUpperBound": 15.0, "ScalingAdjustment": 10},
                    {"MetricIntervalLowerBound": 15.0, "ScalingAdjustment": 30},
                ],
            },
        }
    )
    assert (policy.adjustment_type, policy.cooldown, policy.min_adjustment_magnitude) == ("PercentChangeInCapacity", 240.0, 2)
    assert policy.metric_aggregation_type == "Maximum"
    assert [(s.lower, s.upper, s.adjustment) for s in policy.steps] == [(0.0, 15.0, 10.0), (15.0, None, 30.0)]


# ------------------------------------------------------------------------------------------- the real cloud


@pytest.fixture
def clients(moto_client: Callable[[str], Any]) -> dict[str, Any]:
    return {n: moto_client(n) for n in ("ecs", "application-autoscaling", "cloudwatch", "sns")}


@dataclass(frozen=True)
class Settings:
    """One template's numbers; two different sets show that none is hard-coded."""

    high: float  # scale-out alarm threshold (GreaterThanThreshold)
    low: float  # scale-in alarm threshold (LessThanThreshold)
    min_capacity: int
    max_capacity: int
    desired: int
    cooldown: int
    percent: int
    busy: float  # CPU that breaches `high`
    idle: float  # CPU that breaches `low`


TEMPLATE = Settings(high=70, low=30, min_capacity=2, max_capacity=4, desired=2, cooldown=300, percent=25, busy=90, idle=10)
OTHER = Settings(high=55, low=20, min_capacity=1, max_capacity=3, desired=1, cooldown=120, percent=25, busy=60, idle=15)


@dataclass
class World:
    clock: ManualClock
    c: dict[str, Any]
    timeline: Timeline
    executor: ScalingExecutor
    evaluator: AlarmEvaluator
    out_arn: str
    in_arn: str
    topic: str
    cluster: str = "demo"
    service: str = "web"

    def put_cpu(self, at: float, value: float) -> None:
        self.c["cloudwatch"].put_metric_data(
            Namespace="AWS/ECS",
            MetricData=[
                {
                    "MetricName": "CPUUtilization",
                    "Dimensions": [
                        {"Name": "ClusterName", "Value": self.cluster},
                        {"Name": "ServiceName", "Value": self.service},
                    ],
                    "Timestamp": datetime.fromtimestamp(at, tz=timezone.utc),
                    "Value": value,
                    "Unit": "Percent",
                }
            ],
        )

    def desired(self) -> int:
        svc = self.c["ecs"].describe_services(cluster=self.cluster, services=[self.service])["services"][0]
        return int(svc["desiredCount"])

    def desired_changes(self) -> list[tuple[float, int, int]]:
        return [(e.time - T0, e.data["old"], e.data["new"]) for e in self.timeline.of("desired")]


def build(c: dict[str, Any], s: Settings, sns: SnsDelivery | None = None, probe: Any = None) -> World:
    ecs, aas, cw = c["ecs"], c["application-autoscaling"], c["cloudwatch"]
    ecs.create_cluster(clusterName="demo")
    ecs.register_task_definition(
        family="web", containerDefinitions=[{"name": "app", "image": "sample_app", "memory": 128}]
    )
    ecs.create_service(cluster="demo", serviceName="web", taskDefinition="web", desiredCount=s.desired)
    rid = "service/demo/web"
    aas.register_scalable_target(
        ServiceNamespace="ecs",
        ResourceId=rid,
        ScalableDimension="ecs:service:DesiredCount",
        MinCapacity=s.min_capacity,
        MaxCapacity=s.max_capacity,
    )

    def policy(name: str, step: dict[str, Any]) -> str:
        return str(
            aas.put_scaling_policy(
                PolicyName=name,
                ServiceNamespace="ecs",
                ResourceId=rid,
                ScalableDimension="ecs:service:DesiredCount",
                PolicyType="StepScaling",
                StepScalingPolicyConfiguration={
                    "AdjustmentType": "PercentChangeInCapacity",
                    "Cooldown": s.cooldown,
                    "MetricAggregationType": "Average",
                    "StepAdjustments": [step],
                },
            )["PolicyARN"]
        )

    out_arn = policy("web-scale-out", {"MetricIntervalLowerBound": 0, "ScalingAdjustment": s.percent})
    in_arn = policy("web-scale-in", {"MetricIntervalUpperBound": 0, "ScalingAdjustment": -s.percent})
    topic = str(c["sns"].create_topic(Name="web-alerts")["TopicArn"])
    c["sns"].subscribe(TopicArn=topic, Protocol="email", Endpoint="ops@example.com")
    dims = [{"Name": "ClusterName", "Value": "demo"}, {"Name": "ServiceName", "Value": "web"}]
    common: dict[str, Any] = dict(
        Namespace="AWS/ECS", MetricName="CPUUtilization", Dimensions=dims, Statistic="Average", Period=60,
        EvaluationPeriods=1,
    )
    cw.put_metric_alarm(
        AlarmName="web-cpu-high", ComparisonOperator="GreaterThanThreshold", Threshold=s.high,
        AlarmActions=[out_arn, topic], OKActions=[topic], **common,
    )
    cw.put_metric_alarm(
        AlarmName="web-cpu-low", ComparisonOperator="LessThanThreshold", Threshold=s.low, AlarmActions=[in_arn], **common
    )
    clock = ManualClock(T0)
    timeline = Timeline()
    executor = ScalingExecutor(aas, ecs, clock, timeline, deployment_probe=probe)
    evaluator = AlarmEvaluator(cw, clock, sns=sns, scaling=executor, timeline=timeline)
    return World(clock, c, timeline, executor, evaluator, out_arn, in_arn, topic)


def run_async(body: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(body(), 60))


async def drive(w: World, cpu_by_minute: list[float | None]) -> None:
    """Run the alarm loop; before minute k ends, put one CPU sample (if any) 10 s into it."""
    loop = asyncio.create_task(w.evaluator.run())
    try:
        await asyncio.sleep(0)
        await w.clock.run_until(T0)
        await asyncio.wait_for(w.evaluator.wait_evaluated(T0), 10)
        for k, cpu in enumerate(cpu_by_minute):
            if cpu is not None:
                w.put_cpu(T0 + 60 * k + 10, cpu)
            await w.clock.advance(60)
            await asyncio.wait_for(w.evaluator.wait_evaluated(T0 + 60 * (k + 1)), 10)
            assert w.clock.now() == T0 + 60 * (k + 1)
    finally:
        loop.cancel()
        with pytest.raises(asyncio.CancelledError):
            await loop


@pytest.mark.parametrize(
    ("s", "expected"),
    [
        # 25% of 2 is 0.5 -> 1 (AWS rounds 0..1 up to 1); 3 -> 4 only once the 300 s cooldown from 60 ended at
        # 360; scale-in waits for the scale-out cooldown (660), then its own (960); 2 is MinCapacity.
        (TEMPLATE, [(60, 2, 3), (360, 3, 4), (660, 4, 3), (960, 3, 2)]),
        # Other numbers: 1..3, cooldown 120. Low alarm fires at 480, after the scale-out cooldown (300).
        (OTHER, [(60, 1, 2), (180, 2, 3), (480, 3, 2), (600, 2, 1)]),
    ],
    ids=["template-numbers", "other-numbers"],
)
def test_scale_out_then_in_respects_cooldowns_and_bounds(
    clients: dict[str, Any], s: Settings, expected: list[tuple[int, int, int]]
) -> None:
    w = build(clients, s)
    # Busy for minutes 0..6 (periods starting 0..360), idle from minute 7 (420) on.
    cpu: list[float | None] = [s.busy] * 7 + [s.idle] * 13

    async def body() -> None:
        await drive(w, cpu)

    run_async(body)
    assert w.desired_changes() == expected
    assert w.desired() == s.min_capacity
    changes = [new for _, _, new in w.desired_changes()]
    assert max(changes) == s.max_capacity and min(changes) == s.min_capacity
    # The high alarm: ALARM at the first minute after its first breaching datapoint, OK after the first idle one.
    assert [(t - T0, o, n) for t, o, n in w.evaluator.transitions("web-cpu-high")] == [
        (60, "INSUFFICIENT_DATA", "ALARM"),
        (480, "ALARM", "OK"),
    ]
    assert [(t - T0, o, n) for t, o, n in w.evaluator.transitions("web-cpu-low")] == [
        (60, "INSUFFICIENT_DATA", "OK"),
        (480, "OK", "ALARM"),
    ]
    acts = w.executor.activities("service/demo/web")
    assert [(a.start_time - T0, a.description) for a in acts] == [
        (t, f"Setting desired count to {new}.") for t, _, new in expected
    ]
    assert acts[0].cause == "monitor alarm web-cpu-high in state ALARM triggered policy web-scale-out"
    assert acts[-1].cause == "monitor alarm web-cpu-low in state ALARM triggered policy web-scale-in"
    assert w.executor.activities("service/other/svc") == []
    # The stored alarm state is the evaluator's, with AWS's reason.
    stored = clients["cloudwatch"].describe_alarms(AlarmNames=["web-cpu-low"])["MetricAlarms"][0]
    assert stored["StateValue"] == "ALARM"
    assert stored["StateReason"].startswith("Threshold Crossed: 1 datapoint [")
    assert f"was less than the threshold ({float(s.low)})" in stored["StateReason"]


def test_repeat_invocations_inside_the_cooldown_change_nothing(clients: dict[str, Any]) -> None:
    w = build(clients, TEMPLATE)

    async def body() -> None:
        await drive(w, [TEMPLATE.busy] * 4)  # ALARM from 60 on; repeats at 120, 180, 240

    run_async(body)
    assert w.desired_changes() == [(60, 2, 3)]
    scaling_actions = [h for h in w.evaluator.history("web-cpu-high") if h.history_item_type == "Action" and "scalingPolicy" in h.summary]
    assert [h.timestamp - T0 for h in scaling_actions] == [60, 120, 180, 240]
    assert all(h.data["actionState"] == "Succeeded" for h in scaling_actions)
    assert "cooldown" in scaling_actions[1].data["detail"]
    assert w.executor.cooldown("service/demo/web") == Cooldown(scale_out_until=T0 + 60 + 300, scale_out_base=2)


def test_scale_in_is_suspended_during_a_deployment(clients: dict[str, Any]) -> None:
    deploying = {"on": True}
    w = build(clients, TEMPLATE, probe=lambda cluster, service: deploying["on"])
    clients["ecs"].update_service(cluster="demo", service="web", desiredCount=4)

    async def body() -> None:
        await drive(w, [TEMPLATE.idle] * 2)  # low alarm ALARM at 60; repeat at 120: both suspended
        deploying["on"] = False
        await drive_more(w, 2, [TEMPLATE.idle])  # 180: the deployment is over -> 4 -> 3

    run_async(body)
    assert w.desired_changes() == [(180, 4, 3)]


async def drive_more(w: World, start_minute: int, cpu_by_minute: list[float | None]) -> None:
    loop = asyncio.create_task(w.evaluator.run())
    try:
        await asyncio.sleep(0)
        for k, cpu in enumerate(cpu_by_minute, start=start_minute):
            if cpu is not None:
                w.put_cpu(T0 + 60 * k + 10, cpu)
            await w.clock.advance(60)
            await asyncio.wait_for(w.evaluator.wait_evaluated(T0 + 60 * (k + 1)), 10)
    finally:
        loop.cancel()
        with pytest.raises(asyncio.CancelledError):
            await loop


def test_execute_reads_the_policy_from_the_api(clients: dict[str, Any]) -> None:
    """A direct call: the numbers come from the API, so a policy changed after deploy takes effect."""
    w = build(clients, TEMPLATE)
    clients["application-autoscaling"].put_scaling_policy(
        PolicyName="web-scale-out",
        ServiceNamespace="ecs",
        ResourceId="service/demo/web",
        ScalableDimension="ecs:service:DesiredCount",
        PolicyType="StepScaling",
        StepScalingPolicyConfiguration={
            "AdjustmentType": "ChangeInCapacity",
            "Cooldown": 60,
            "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 2}],
        },
    )

    @dataclass(frozen=True)
    class A:
        name: str = "web-cpu-high"
        threshold: float = 70.0
        comparison_operator: str = "GreaterThanThreshold"

    async def body() -> None:
        d = await w.executor.execute(w.out_arn, A(), {"Average": 75.0}, T0)
        assert (d.new_desired, d.change) == (4, 2)
        d = await w.executor.execute(w.out_arn, A(), 95.0, T0 + 60)  # at MaxCapacity
        assert d.new_desired is None and "MaxCapacity 4" in d.reason

    run_async(body)
    assert w.desired() == 4
    assert w.executor.cooldown("service/demo/web").scale_out_until == T0 + 60


def test_execute_names_a_missing_policy(clients: dict[str, Any]) -> None:
    w = build(clients, TEMPLATE)
    clients["application-autoscaling"].delete_scaling_policy(
        PolicyName="web-scale-out", ServiceNamespace="ecs", ResourceId="service/demo/web",
        ScalableDimension="ecs:service:DesiredCount",
    )

    @dataclass(frozen=True)
    class A:
        name: str = "x"
        threshold: float = 1.0
        comparison_operator: str = "GreaterThanThreshold"

    async def body() -> None:
        with pytest.raises(CloudError, match="web-scale-out of service/demo/web .* does not exist"):
            await w.executor.execute(w.out_arn, A(), 5.0, T0)

    run_async(body)
    assert w.desired() == 2
