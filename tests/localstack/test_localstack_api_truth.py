"""During a live run on a real LocalStack (with the harness extension), a user's boto3 reads tell what the
harness's timeline recorded, as on the embedded cloud: DescribeAlarmHistory, DescribeScalingActivities,
DescribeServices, ListTasks and DescribeTasks. Then, on the same LocalStack, a target tracking policy gets
AWS's alarms.

One LocalStack and one live run serve every assertion: the embedded cloud's own (tests/test_api_truth_live.py,
run unchanged against LocalStack), then what is particular to LocalStack's CloudWatch, which is not moto's
(its own history items, ordering, filters and pagination replaced by the harness's)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

import tests.test_api_truth_live as embedded
from harness.deploy import deploy, teardown
from harness.stack import read_stack

pytestmark = pytest.mark.slow  # a real LocalStack and a live run

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.mark.harness_stack(params={"DesiredCount": "3"}, time_scale=60, cloud="localstack")
def test_localstack_tells_what_the_timeline_says(localstack_python: Path, harness_stack: Any,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    aws, model = harness_stack.aws, harness_stack.model
    assert ":000000000000:" in model.service().arn  # LocalStack's account, not moto's default: a real LocalStack

    # Every assertion the embedded cloud passes: scaling activities, alarm history, tasks, service events.
    embedded.test_the_api_tells_what_the_timeline_says(harness_stack)

    # Nothing was kept back in the harness: LocalStack took every write.
    kept = [r.getMessage() for r in caplog.records if "stay in the harness" in r.getMessage()]
    assert kept == []

    cw, low = aws.client("cloudwatch"), model.alarm("CPUUtilizationLowAlarm")
    items = [i for p in cw.get_paginator("describe_alarm_history").paginate(AlarmName=low.name)
             for i in p["AlarmHistoryItems"]]
    # Newest first (ScanBy's default), one ConfigurationUpdate from the deploy, as the oldest item.
    stamps = [i["Timestamp"] for i in items]
    assert stamps == sorted(stamps, reverse=True)
    configs = [i for i in items if i["HistoryItemType"] == "ConfigurationUpdate"]
    assert [c["HistorySummary"] for c in configs] == [f'Alarm "{low.name}" created']
    created = json.loads(configs[0]["HistoryData"])["createdAlarm"]
    assert (created["threshold"], created["comparisonOperator"]) == (low.threshold, low.comparison_operator)
    # One StateUpdate per transition (LocalStack's own item would be a second one), with the
    # evaluator's stateReasonData as written (LocalStack rewrites startDate to queryDate).
    moved = [e for e in harness_stack.timeline.events if e.kind == "alarm" and e.data["name"] == low.name]
    states = [i for i in items if i["HistoryItemType"] == "StateUpdate"]
    assert len(states) == len(moved) >= 1
    first = json.loads(states[-1]["HistoryData"])["newState"]["stateReasonData"]
    assert first["startDate"] != first["queryDate"]
    # HistoryItemType, MaxRecords and NextToken.
    page = cw.describe_alarm_history(AlarmName=low.name, MaxRecords=1)
    assert len(page["AlarmHistoryItems"]) == 1 and page["NextToken"]
    assert page["AlarmHistoryItems"][0]["Timestamp"] == stamps[0]
    actions = cw.describe_alarm_history(AlarmName=low.name, HistoryItemType="Action")["AlarmHistoryItems"]
    assert actions and {i["HistoryItemType"] for i in actions} == {"Action"}

    # Target tracking on the same LocalStack (its parent stacks reused): AWS's alarms, gone with the policy.
    deployment = deploy(aws, DATA / "target-tracking" / "cpu.yml", {}, stack_name="tt-cpu")
    try:
        tt = read_stack(aws, deployment.stack_name)
        (policy,) = [p for p in tt.policies if p.policy_type == "TargetTrackingScaling"]
        alarms = {a.name: a for a in tt.alarms if a.name in policy.alarm_names}
        high = next(a for n, a in alarms.items() if "-AlarmHigh-" in n)
        low_tt = next(a for n, a in alarms.items() if "-AlarmLow-" in n)
        # TargetCpu 60: > 60 on 3 of 3 one-minute datapoints, < 54 (90 %) on 15 of 15.
        assert (high.comparison_operator, high.threshold, high.evaluation_periods, high.datapoints_to_alarm) == (
            "GreaterThanThreshold", 60.0, 3, 3)
        assert (low_tt.comparison_operator, low_tt.threshold, low_tt.evaluation_periods, low_tt.datapoints_to_alarm) == (
            "LessThanThreshold", 54.0, 15, 15)
        svc = tt.service()
        assert high.dimensions == {"ClusterName": svc.cluster, "ServiceName": svc.name} == low_tt.dimensions
        assert high.alarm_actions[0].startswith(policy.arn + ":createdBy/")
        assert cw.describe_alarm_history(AlarmName=high.name, HistoryItemType="ConfigurationUpdate")["AlarmHistoryItems"]
    finally:
        teardown(aws, deployment)
    left = {a["AlarmName"] for a in cw.describe_alarms()["MetricAlarms"]}
    assert not left & set(alarms)
    assert low.name in left  # the running stack's alarms stay
