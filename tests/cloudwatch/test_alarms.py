"""The alarm loop: pure helpers from tables, then the loop against the real moto server, the real SNS delivery and
the real SMTP sink, on a ManualClock (exact virtual times).

Rules: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import pytest

from harness.clock import ManualClock
from harness.cloudwatch.alarms import (
    AlarmEvaluator,
    action_kind,
    next_tick,
    parse_alarm,
    samples_from_buckets,
    statistic_value,
)
from harness.events import Timeline
from harness.mailbox import Mailbox, SmtpSink
from harness.sns import SnsDelivery

T0 = 1_794_988_800.0  # Wednesday 18 November 2026 08:00:00 UTC, on a whole minute
REGION = "us-east-1"

# ----------------------------------------------------------------------------------------------- pure parts


@pytest.mark.parametrize(
    ("now", "last", "tick"),
    [
        (T0, None, T0),  # on a whole minute: evaluate now
        (T0 + 25, None, T0 + 60),  # otherwise at the next whole minute
        (T0 + 60, T0 + 60, T0 + 120),  # never the same minute twice
        (T0 + 60.5, T0 + 60, T0 + 120),
        (T0 + 200, T0 + 60, T0 + 240),  # fell behind: the missed minutes are skipped
    ],
)
def test_next_tick_is_a_whole_minute(now: float, last: float | None, tick: float) -> None:
    assert next_tick(now, last) == tick


@pytest.mark.parametrize(
    ("buckets", "samples"),
    [
        ([], []),
        ([{"SampleCount": 1.0, "Sum": 7.0, "Minimum": 7.0, "Maximum": 7.0}], [7.0]),
        ([{"SampleCount": 2.0, "Sum": 10.0, "Minimum": 1.0, "Maximum": 9.0}], [1.0, 9.0]),
        ([{"SampleCount": 4.0, "Sum": 20.0, "Minimum": 2.0, "Maximum": 10.0}], [2.0, 10.0, 4.0, 4.0]),
        ([{"SampleCount": 0.0, "Sum": 0.0, "Minimum": 0.0, "Maximum": 0.0}], []),
    ],
)
def test_samples_from_buckets_keep_count_sum_min_max(buckets: list[dict[str, float]], samples: list[float]) -> None:
    assert samples_from_buckets(buckets) == samples


@pytest.mark.parametrize(
    ("datapoint", "statistic", "value"),
    [
        ({"Average": 5.0, "Sum": 10.0, "SampleCount": 2.0}, "Average", 5.0),
        ({"Sum": 9.0, "SampleCount": 3.0}, "Average", 3.0),
        ({"Sum": 9.0, "SampleCount": 3.0}, "Sum", 9.0),
        ({"Maximum": 4.0}, "Maximum", 4.0),
    ],
)
def test_statistic_value(datapoint: dict[str, float], statistic: str, value: float) -> None:
    assert statistic_value(datapoint, statistic) == value


@pytest.mark.parametrize(
    ("arn", "kind"),
    [
        ("arn:aws:sns:us-east-1:123456789012:alerts", "sns"),
        ("arn:aws:autoscaling:us-east-1:1:scalingPolicy:x:resource/ecs/service/c/s:policyName/p", "scaling"),
        ("arn:aws:autoscaling:us-east-1:1:scalingPolicy:x:autoScalingGroupName/asg:policyName/p", "unsupported"),
        ("arn:aws:lambda:us-east-1:1:function:f", "unsupported"),
        ("arn:aws:automate:us-east-1:ec2:stop", "unsupported"),
    ],
)
def test_action_kind(arn: str, kind: str) -> None:
    assert action_kind(arn) == kind


def test_parse_alarm_keeps_unset_fields_unset() -> None:
    alarm = parse_alarm(
        {
            "AlarmName": "a",
            "AlarmArn": "arn:a",
            "Namespace": "N",
            "MetricName": "M",
            "Dimensions": [{"Name": "K", "Value": "V"}],
            "Statistic": "Sum",
            "Period": 60,
            "EvaluationPeriods": 3,
            "Threshold": 5.0,
            "ComparisonOperator": "GreaterThanThreshold",
            "StateValue": "OK",
        }
    )
    assert alarm.datapoints_to_alarm is None and alarm.treat_missing_data is None
    assert alarm.dimensions == {"K": "V"} and alarm.alarm_actions == ()
    with pytest.raises(ValueError, match="metric math"):
        parse_alarm({"AlarmName": "m", "Metrics": [{"Id": "e1", "Expression": "a+b"}]})


# ------------------------------------------------------------------------------------------- the real cloud


@pytest.fixture
def c(moto_client: Callable[[str], Any]) -> dict[str, Any]:
    return {n: moto_client(n) for n in ("cloudwatch", "sns")}


LB = [{"Name": "LoadBalancer", "Value": "app/web-alb/50dc6c495c0c9188"}]
SVC = [{"Name": "ClusterName", "Value": "demo"}, {"Name": "ServiceName", "Value": "web"}]


def put(cw: Any, namespace: str, metric: str, dims: list[dict[str, str]], at: float, values: list[float]) -> None:
    cw.put_metric_data(
        Namespace=namespace,
        MetricData=[
            {
                "MetricName": metric,
                "Dimensions": dims,
                "Timestamp": datetime.fromtimestamp(at, tz=timezone.utc),
                "Values": values,
            }
        ],
    )


@dataclass
class Loop:
    clock: ManualClock
    evaluator: AlarmEvaluator
    timeline: Timeline


def make(c: dict[str, Any], sink: SmtpSink | None = None, start: float = T0) -> Loop:
    clock = ManualClock(start)
    timeline = Timeline()
    sns = SnsDelivery(c["sns"], "127.0.0.1", sink.port, clock) if sink is not None else None
    return Loop(clock, AlarmEvaluator(c["cloudwatch"], clock, sns=sns, timeline=timeline), timeline)


async def minutes(loop: Loop, count: int, before_each: Any = None) -> None:
    """Run the real loop for `count` whole minutes from T0; `before_each(k)` puts minute k's data."""
    task = asyncio.create_task(loop.evaluator.run())
    try:
        await loop.clock.run_until(T0)
        await asyncio.wait_for(loop.evaluator.wait_evaluated(T0), 10)
        for k in range(count):
            if before_each is not None:
                before_each(k)
            await loop.clock.advance(60)
            await asyncio.wait_for(loop.evaluator.wait_evaluated(T0 + 60 * (k + 1)), 10)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


def run(coro: Any) -> None:
    asyncio.run(asyncio.wait_for(coro, 60))


def rel(transitions: list[tuple[float, str, str]]) -> list[tuple[float, str, str]]:
    return [(t - T0, o, n) for t, o, n in transitions]


@pytest.mark.parametrize(("threshold", "busy", "idle"), [(70.0, 90.0, 10.0), (40.0, 45.0, 39.0)])
def test_sns_action_mails_once_per_transition(
    c: dict[str, Any], box: Mailbox, sink: SmtpSink, threshold: float, busy: float, idle: float
) -> None:
    topic = c["sns"].create_topic(Name="alerts")["TopicArn"]
    c["sns"].subscribe(TopicArn=topic, Protocol="email", Endpoint="ops@example.com")
    c["cloudwatch"].put_metric_alarm(
        AlarmName="web-cpu-high", Namespace="AWS/ECS", MetricName="CPUUtilization", Dimensions=SVC,
        Statistic="Average", Period=60, EvaluationPeriods=1, Threshold=threshold,
        ComparisonOperator="GreaterThanThreshold", AlarmActions=[topic], OKActions=[topic],
    )
    loop = make(c, sink)
    cpu = [busy, busy, busy, idle, idle, idle]
    run(minutes(loop, 6, lambda k: put(c["cloudwatch"], "AWS/ECS", "CPUUtilization", SVC, T0 + 60 * k + 30, [cpu[k]])))

    assert rel(loop.evaluator.transitions("web-cpu-high")) == [(60, "INSUFFICIENT_DATA", "ALARM"), (240, "ALARM", "OK")]
    subjects = [m.subject for m in box.messages()]
    assert subjects == [
        "AWS Notification - Subscription Confirmation",
        'ALARM: "web-cpu-high" in US East (N. Virginia)',
        'OK: "web-cpu-high" in US East (N. Virginia)',
    ]
    alarm_mail = box.messages()[1]
    t = f"{busy} (18/11/26 08:00:00)"
    assert f'because "Threshold Crossed: 1 datapoint [{t}] was greater than the threshold ({threshold})."' in alarm_mail.body
    assert "INSUFFICIENT_DATA -> ALARM" in alarm_mail.body
    assert alarm_mail.date == datetime.fromtimestamp(T0 + 60, tz=timezone.utc)
    # History as DescribeAlarmHistory would list it, and the timeline events the report reads.
    kinds = [(h.timestamp - T0, h.history_item_type, h.summary) for h in loop.evaluator.history("web-cpu-high")]
    assert kinds == [
        (60, "StateUpdate", "Alarm updated from INSUFFICIENT_DATA to ALARM"),
        (60, "Action", f"Successfully executed action {topic}"),
        (240, "StateUpdate", "Alarm updated from ALARM to OK"),
        (240, "Action", f"Successfully executed action {topic}"),
    ]
    events = [(e.time - T0, e.data["name"], e.data["old"], e.data["new"]) for e in loop.timeline.of("alarm")]
    assert events == [(60, "web-cpu-high", "INSUFFICIENT_DATA", "ALARM"), (240, "web-cpu-high", "ALARM", "OK")]
    assert loop.timeline.of("alarm")[0].data["reason"].startswith("Threshold Crossed: 1 datapoint [")
    # One metric event per datapoint, not one per datapoint per minute.
    metrics = [(e.data["period_start"] - T0, e.data["value"]) for e in loop.timeline.of("metric")]
    assert metrics == [(60.0 * k, cpu[k]) for k in range(6)]
    # The stored state and StateReasonData are the evaluator's.
    stored = c["cloudwatch"].describe_alarms(AlarmNames=["web-cpu-high"])["MetricAlarms"][0]
    assert stored["StateValue"] == "OK"
    data = json.loads(stored["StateReasonData"])
    assert data["recentDatapoints"] == [idle] and data["threshold"] == threshold and data["period"] == 60


def test_not_breaching_5xx_alarm_returns_to_ok(c: dict[str, Any]) -> None:
    """Errors in one minute, then none: with notBreaching the alarm returns to OK once that datapoint has left
    the evaluation range (N + 2 = 3 periods for N = 1)."""
    c["cloudwatch"].put_metric_alarm(
        AlarmName="web-5xx", Namespace="AWS/ApplicationELB", MetricName="HTTPCode_Target_5XX_Count", Dimensions=LB,
        Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=5, ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="notBreaching",
    )
    loop = make(c)

    def errors(k: int) -> None:
        if k == 0:  # 4 + 3 = 7 errors in minute 0, in two publishes; none afterwards (published only when non-zero)
            put(c["cloudwatch"], "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", LB, T0 + 5, [4.0])
            put(c["cloudwatch"], "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", LB, T0 + 50, [3.0])

    run(minutes(loop, 5, errors))
    # T0 itself: every datapoint missing, notBreaching -> OK.
    assert rel(loop.evaluator.transitions("web-5xx")) == [
        (0, "INSUFFICIENT_DATA", "OK"),
        (60, "OK", "ALARM"),
        (240, "ALARM", "OK"),
    ]
    history = loop.evaluator.history("web-5xx")
    assert history[1].data["newState"]["stateReason"] == (
        "Threshold Crossed: 1 datapoint [7.0 (18/11/26 08:00:00)] was greater than the threshold (5.0)."
    )
    assert history[2].data["newState"]["stateReason"] == (
        "Threshold Crossed: no datapoints were received for 1 period and 1 missing datapoint was treated as [NonBreaching]."
    )


def test_percentile_alarm_and_failures_stay_per_alarm(c: dict[str, Any], box: Mailbox, sink: SmtpSink) -> None:
    """p90 of ten samples (moto computes no percentile: the loop rebuilds the samples); a broken alarm and an
    unsupported action are logged and recorded, and every other alarm and action still runs."""
    topic = c["sns"].create_topic(Name="alerts")["TopicArn"]
    c["sns"].subscribe(TopicArn=topic, Protocol="email", Endpoint="ops@example.com")
    cw = c["cloudwatch"]
    common: dict[str, Any] = dict(
        Namespace="AWS/ApplicationELB", MetricName="TargetResponseTime", Dimensions=LB, Period=60,
        EvaluationPeriods=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    # A bad percentile name makes this alarm's evaluation fail once there is data.
    cw.put_metric_alarm(AlarmName="a-broken", ExtendedStatistic="p150", Threshold=1.0, **common)
    cw.put_metric_alarm(
        AlarmName="b-latency-p90", ExtendedStatistic="p90", Threshold=0.9,
        AlarmActions=["arn:aws:lambda:us-east-1:123456789012:function:pager", topic], **common,
    )
    cw.put_metric_alarm(AlarmName="c-latency-max", Statistic="Maximum", Threshold=2.0, **common)
    loop = make(c, sink)

    def latency(k: int) -> None:
        if k == 0:  # 0.1 .. 1.0, one per second: p90 (nearest rank 9 of 10) is 0.9, the maximum 1.0
            for i in range(10):
                put(cw, "AWS/ApplicationELB", "TargetResponseTime", LB, T0 + 10 + i, [round(0.1 * (i + 1), 1)])

    run(minutes(loop, 1, latency))
    assert rel(loop.evaluator.transitions("b-latency-p90")) == [(60, "INSUFFICIENT_DATA", "ALARM")]
    reason = loop.evaluator.history("b-latency-p90")[0].data["newState"]["stateReason"]
    assert reason == (
        "Threshold Crossed: 1 datapoint [0.9 (18/11/26 08:00:00)] was greater than or equal to the threshold (0.9)."
    )
    assert rel(loop.evaluator.transitions("c-latency-max")) == [(60, "INSUFFICIENT_DATA", "OK")]
    assert [(t - T0, name) for t, name, _ in loop.evaluator.errors] == [(60, "a-broken")]
    assert "p150" in loop.evaluator.errors[0][2]
    actions = [h for h in loop.evaluator.history("b-latency-p90") if h.history_item_type == "Action"]
    assert [(h.data["actionState"], h.summary.split(" action ")[1].split(".")[0]) for h in actions] == [
        ("Failed", "arn:aws:lambda:us-east-1:123456789012:function:pager"),
        ("Succeeded", topic),
    ]
    assert [m.subject for m in box.find(subject_prefix="ALARM:")] == ['ALARM: "b-latency-p90" in US East (N. Virginia)']


def test_ticks_align_to_whole_minutes_and_new_alarms_are_picked_up(c: dict[str, Any]) -> None:
    cw = c["cloudwatch"]
    loop = make(c, start=T0 + 25)
    common: dict[str, Any] = dict(
        Namespace="AWS/ECS", MetricName="CPUUtilization", Dimensions=SVC, Statistic="Average", Period=60,
        EvaluationPeriods=2, DatapointsToAlarm=2, ComparisonOperator="GreaterThanThreshold",
    )
    cw.put_metric_alarm(AlarmName="first", Threshold=50.0, **common)

    async def body() -> None:
        task = asyncio.create_task(loop.evaluator.run())
        try:
            put(cw, "AWS/ECS", "CPUUtilization", SVC, T0 + 30, [80.0])
            await loop.clock.run_until(T0 + 59)
            assert loop.evaluator.last_tick is None  # nothing at T0 + 25: ticks are whole minutes
            await loop.clock.run_until(T0 + 60)
            await asyncio.wait_for(loop.evaluator.wait_evaluated(T0 + 60), 10)
            # Added while the loop runs: evaluated from the next minute on.
            cw.put_metric_alarm(AlarmName="second", Threshold=85.0, **common)
            put(cw, "AWS/ECS", "CPUUtilization", SVC, T0 + 70, [90.0])
            await loop.clock.advance(60)
            await asyncio.wait_for(loop.evaluator.wait_evaluated(T0 + 120), 10)
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    run(body())
    # 2 of 2: one breaching datapoint at 60 is not enough (the premature-ALARM rule needs the oldest real
    # datapoint to be 2 periods old; it is 1), two are at 120.
    assert rel(loop.evaluator.transitions("first")) == [(120, "INSUFFICIENT_DATA", "ALARM")]
    first = loop.evaluator.history("first")[0].data["newState"]["stateReason"]
    assert first == (
        "Threshold Crossed: 2 out of the last 2 datapoints [90.0 (18/11/26 08:01:00), 80.0 (18/11/26 08:00:00)] "
        "were greater than the threshold (50.0) (minimum 2 datapoints for OK -> ALARM transition)."
    )
    assert rel(loop.evaluator.transitions("second")) == [(120, "INSUFFICIENT_DATA", "OK")]
