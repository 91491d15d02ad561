"""Alarm history and scaling activities in the embedded cloud, read with boto3 as a user's test would:
DescribeAlarmHistory (ConfigurationUpdate, StateUpdate with AWS's HistoryData JSON, Action items written by
the harness; AlarmName, HistoryItemType, StartDate/EndDate, ScanBy, pagination) and
DescribeScalingActivities (AWS's fields, filters, IncludeNotScaledActivities, pagination). Then the whole
chain on a deployed template whose scale-in step can never match: the evaluator and the real scaling
executor leave "Failed to execute AutoScaling action: No step adjustment found ..." in the history.

https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarmHistory.html
https://docs.aws.amazon.com/autoscaling/application/APIReference/API_DescribeScalingActivities.html
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from harness.autoscaling.executor import ScalingExecutor
from harness.cloud.alarm_history import ALARM_HISTORY_PATH, action_texts, record_action
from harness.cloud.clients import Aws
from harness.cloud.scaling_activities import not_scaled_reasons, record
from harness.clock import ManualClock
from harness.cloudwatch.alarms import AlarmEvaluator
from harness.deploy import deploy, teardown
from harness.events import Timeline
from harness.stack import read_stack

DATA = Path(__file__).resolve().parents[1] / "data" / "check"


def alarm(aws: Aws, name: str) -> None:
    aws.client("cloudwatch").put_metric_alarm(
        AlarmName=name, Namespace="Test", MetricName="M", Statistic="Average", Period=60, EvaluationPeriods=1,
        Threshold=5.0, ComparisonOperator="GreaterThanThreshold")


def history(aws: Aws, **kwargs: Any) -> list[dict[str, Any]]:
    pages = aws.client("cloudwatch").get_paginator("describe_alarm_history").paginate(**kwargs)
    return [item for page in pages for item in page["AlarmHistoryItems"]]


def test_state_updates_and_configuration_are_kept_with_aws_history_data(aws: Aws) -> None:
    name = f"h-{uuid.uuid4().hex[:8]}"
    alarm(aws, name)
    cw = aws.client("cloudwatch")
    data = json.dumps({"version": "1.0", "recentDatapoints": [9.0], "threshold": 5.0})
    cw.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="Threshold Crossed: x", StateReasonData=data)
    cw.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="again, same state")  # no change: no item
    cw.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="Threshold Crossed: y")
    items = history(aws, AlarmName=name, ScanBy="TimestampAscending")
    assert [(i["HistoryItemType"], i["HistorySummary"]) for i in items] == [
        ("ConfigurationUpdate", f'Alarm "{name}" created'),
        ("StateUpdate", "Alarm updated from OK to ALARM"),
        ("StateUpdate", "Alarm updated from ALARM to OK"),
    ]
    assert all(i["AlarmName"] == name and i["AlarmType"] == "MetricAlarm" for i in items)
    first = json.loads(items[1]["HistoryData"])
    assert first["version"] == "1.0"
    assert first["oldState"] == {"stateValue": "OK", "stateReason": "Unchecked: Initial alarm creation"}
    assert first["newState"] == {"stateValue": "ALARM", "stateReason": "Threshold Crossed: x",
                                 "stateReasonData": {"version": "1.0", "recentDatapoints": [9.0], "threshold": 5.0}}
    second = json.loads(items[2]["HistoryData"])
    assert second["oldState"]["stateReason"] == "again, same state" and second["newState"]["stateValue"] == "OK"
    assert json.loads(items[0]["HistoryData"])["createdAlarm"]["threshold"] == 5.0


def test_action_items_filters_order_and_pages(aws: Aws) -> None:
    name = f"h-{uuid.uuid4().hex[:8]}"
    other = f"h-{uuid.uuid4().hex[:8]}"
    alarm(aws, name)
    alarm(aws, other)
    base = float(int(time.time()) - 3600)
    arn = "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:x:resource/ecs/service/c/s:policyName/down"
    for k in range(5):
        summary, error = action_texts(arn, False, "", no_step=(9.5, 30.0))
        record_action(aws.endpoint, name, summary, {"actionState": "Failed", "error": error}, base + 60 * k)
    record_action(aws.endpoint, other, f"Successfully executed action {arn}", {"actionState": "Succeeded"}, base)

    actions = history(aws, AlarmName=name, HistoryItemType="Action")
    assert len(actions) == 5
    assert actions[0]["HistorySummary"] == ("Failed to execute AutoScaling action: No step adjustment found for "
                                            "metric value [9.5] and breach threshold 30.0")
    assert json.loads(actions[0]["HistoryData"]) == {"actionState": "Failed", "error": actions[0]["HistorySummary"]
                                                      .removeprefix("Failed to execute AutoScaling action: ")}
    stamps = [a["Timestamp"] for a in actions]
    assert stamps == sorted(stamps, reverse=True)  # TimestampDescending is the default
    assert stamps[-1] == datetime.fromtimestamp(base, timezone.utc)
    # StartDate/EndDate bound the timestamps (inclusive); pages of MaxRecords with NextToken.
    start = datetime.fromtimestamp(base + 60, timezone.utc)
    end = datetime.fromtimestamp(base + 180, timezone.utc)
    window = history(aws, AlarmName=name, HistoryItemType="Action", StartDate=start, EndDate=end,
                     ScanBy="TimestampAscending")
    assert [a["Timestamp"] for a in window] == [start, start + timedelta(seconds=60), end]
    page = aws.client("cloudwatch").describe_alarm_history(AlarmName=name, HistoryItemType="Action", MaxRecords=2)
    assert len(page["AlarmHistoryItems"]) == 2 and page["NextToken"]
    paged = history(aws, AlarmName=name, HistoryItemType="Action", PaginationConfig={"PageSize": 2})
    assert paged == actions
    assert [i["HistorySummary"] for i in history(aws, AlarmName=other, HistoryItemType="Action")] == [
        f"Successfully executed action {arn}"]


def test_private_path_refuses_a_bad_item(aws: Aws) -> None:
    req = urllib.request.Request(aws.endpoint + ALARM_HISTORY_PATH, data=b'{"HistoryItemType": "Bogus"}',
                                 method="POST")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=5)
    assert err.value.code == 400


def test_scaling_activities_with_aws_fields_filters_and_pages(aws: Aws) -> None:
    rid = f"service/c-{uuid.uuid4().hex[:6]}/web"
    t = float(int(time.time()))
    for k in range(3):
        record(aws.endpoint, {
            "ServiceNamespace": "ecs", "ResourceId": rid, "ScalableDimension": "ecs:service:DesiredCount",
            "Description": f"Setting desired count to {3 + k}.",
            "Cause": "monitor alarm high in state ALARM triggered policy up", "StartTime": t + k, "EndTime": t + k + 1,
            "StatusCode": "Successful", "StatusMessage": "Successfully set desired count to %d. Change successfully "
                                                         "fulfilled by ecs." % (3 + k)})
    record(aws.endpoint, {
        "ServiceNamespace": "ecs", "ResourceId": rid, "ScalableDimension": "ecs:service:DesiredCount",
        "Description": "Setting desired count to 6.", "Cause": "monitor alarm high in state ALARM triggered policy up",
        "StartTime": t + 10, "StatusCode": "Failed", "StatusMessage": "Failed to set desired count to 6",
        "NotScaledReasons": not_scaled_reasons(1, 5, 2, 5)})
    aas = aws.client("application-autoscaling")
    acts = aas.describe_scaling_activities(ServiceNamespace="ecs", ResourceId=rid)["ScalingActivities"]
    assert [a["Description"] for a in acts] == [f"Setting desired count to {n}." for n in (5, 4, 3)]  # newest first
    first = acts[0]
    assert set(first) >= {"ActivityId", "ServiceNamespace", "ResourceId", "ScalableDimension", "Description", "Cause",
                          "StartTime", "EndTime", "StatusCode", "StatusMessage"}
    assert first["StatusCode"] == "Successful" and first["Cause"].startswith("monitor alarm high")
    assert first["StartTime"] == datetime.fromtimestamp(t + 2, timezone.utc)
    with_not_scaled = aas.describe_scaling_activities(ServiceNamespace="ecs", ResourceId=rid,
                                                      IncludeNotScaledActivities=True)["ScalingActivities"]
    assert with_not_scaled[0]["NotScaledReasons"] == [
        {"Code": "AlreadyAtMaxCapacity", "MaxCapacity": 5, "CurrentCapacity": 5}]
    page = aas.describe_scaling_activities(ServiceNamespace="ecs", ResourceId=rid, MaxResults=2)
    assert len(page["ScalingActivities"]) == 2
    rest = aas.describe_scaling_activities(ServiceNamespace="ecs", ResourceId=rid, MaxResults=2,
                                           NextToken=page["NextToken"])
    assert [a["Description"] for a in page["ScalingActivities"] + rest["ScalingActivities"]] == \
        [a["Description"] for a in acts]
    assert aas.describe_scaling_activities(ServiceNamespace="ecs", ResourceId="service/none/x")["ScalingActivities"] == []


@pytest.mark.parametrize(("change", "current", "reasons"), [
    (1, 4, [{"Code": "AlreadyAtMaxCapacity", "MaxCapacity": 4, "CurrentCapacity": 4}]),
    (-1, 2, [{"Code": "AlreadyAtMinCapacity", "MinCapacity": 2, "CurrentCapacity": 2}]),
    (1, 3, []),
    (-1, 3, []),
])
def test_not_scaled_reason_codes(change: int, current: int, reasons: list[dict[str, Any]]) -> None:
    # https://docs.aws.amazon.com/autoscaling/application/APIReference/API_NotScaledReason.html
    assert not_scaled_reasons(change, current, 2, 4) == reasons


def test_broken_scale_in_leaves_aws_failure_in_the_alarm_history(own_aws: Aws) -> None:
    """The article's template: CPU 9.5 under the scale-in alarm's 30 every minute; the real executor finds no
    step and the cloud's history says so each minute, in AWS's words; the desired count never changes.

    In an account of its own: the evaluator evaluates every alarm of the account, as CloudWatch does, and
    would move the session's shared ecs stack's alarms (and run their actions)."""
    aws = own_aws
    deployment = deploy(aws, DATA / "scale-in-step-never-matches.yml", {}, stack_name="hist")
    try:
        model = read_stack(aws, "hist")
        low = model.alarm("CPUUtilizationLowAlarm")
        svc = model.service()
        cw = aws.client("cloudwatch")
        start = (int(time.time()) // 60 - 10) * 60.0  # ten whole minutes ago: the cloud's clock is real time
        clock = ManualClock(start)
        timeline = Timeline()
        executor = ScalingExecutor(aws.client("application-autoscaling"), aws.client("ecs"), clock, timeline)
        evaluator = AlarmEvaluator(cw, clock, scaling=executor, timeline=timeline)

        async def three_minutes() -> None:
            for k in range(3):
                cw.put_metric_data(Namespace="AWS/ECS", MetricData=[{
                    "MetricName": "CPUUtilization", "Values": [9.5],
                    "Dimensions": [{"Name": n, "Value": v} for n, v in low.dimensions.items()],
                    "Timestamp": datetime.fromtimestamp(start + 60 * k + 30, timezone.utc)}])
                await evaluator.evaluate_once(start + 60 * (k + 1))

        asyncio.run(asyncio.wait_for(three_minutes(), 60))
        items = history(aws, AlarmName=low.name, ScanBy="TimestampAscending")
        # (The cloud's clock is real time here, the evaluator's ten minutes behind: compare kinds, not order.)
        kinds = sorted(i["HistoryItemType"] for i in items)
        assert kinds == ["Action"] * 3 + ["ConfigurationUpdate", "StateUpdate"]
        state = next(i for i in items if i["HistoryItemType"] == "StateUpdate")
        assert json.loads(state["HistoryData"])["newState"]["stateValue"] == "ALARM"
        # Stamped with the evaluation's queryDate (as on AWS), not the cloud's own clock.
        assert state["Timestamp"] == datetime.fromtimestamp(start + 60, timezone.utc)
        actions = [i for i in items if i["HistoryItemType"] == "Action"]
        # Auto Scaling actions are invoked again once per minute while the alarm stays in ALARM.
        assert [a["HistorySummary"] for a in actions] == [
            "Failed to execute AutoScaling action: No step adjustment found for metric value [9.5] and breach "
            "threshold 30.0"] * 3
        assert [a["Timestamp"] for a in actions] == [datetime.fromtimestamp(start + 60 * k, timezone.utc)
                                                    for k in (1, 2, 3)]
        assert aws.client("ecs").describe_services(cluster=svc.cluster, services=[svc.name])["services"][0][
            "desiredCount"] == svc.desired_count
        acts = aws.client("application-autoscaling").describe_scaling_activities(
            ServiceNamespace="ecs", ResourceId=svc.resource_id, IncludeNotScaledActivities=True)["ScalingActivities"]
        assert acts == []  # AWS records no activity when no step matches
        assert [e.data["ok"] for e in timeline.of("action")] == [False] * 3
    finally:
        teardown(aws, deployment)
