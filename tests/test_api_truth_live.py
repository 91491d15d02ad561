"""During a live run, a user's boto3 reads of the embedded cloud tell what the harness's timeline recorded:
DescribeAlarmHistory, DescribeScalingActivities, DescribeServices, ListTasks and DescribeTasks.

The stack is the shipped ecs.yml started with DesiredCount 3 (MinCapacity 2): idle, its low-CPU alarm
goes to ALARM, its policy scales in to 2, the scheduler drains and stops one task."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from typing import Any

import pytest


def _ts(t: float) -> datetime:
    return datetime.fromtimestamp(round(t, 3), timezone.utc)


def _close(a: datetime, b: datetime) -> bool:
    return abs((a - b).total_seconds()) < 0.002  # the API keeps milliseconds


@pytest.mark.slow
@pytest.mark.harness_stack(params={"DesiredCount": "3"}, time_scale=60)
def test_the_api_tells_what_the_timeline_says(harness_stack: Any) -> None:
    aws, model, timeline = harness_stack.aws, harness_stack.model, harness_stack.timeline
    svc, low = model.service(), model.alarm("CPUUtilizationLowAlarm")
    ecs, aas, cw = aws.client("ecs"), aws.client("application-autoscaling"), aws.client("cloudwatch")

    deadline = time.monotonic() + 90  # wall seconds: 1 low-CPU minute, a scale-in, a 10 s drain, at 60x
    while time.monotonic() < deadline:
        if any(e.kind == "task" and e.data.get("action") == "stopped" for e in timeline.events) \
                and harness_stack.harness.schedulers[0].snapshot().running == 2:
            break
        time.sleep(0.5)
    else:
        pytest.fail("the idle stack did not scale in and stop a task within 90 s: " +
                    "; ".join(f"{e.kind} {e.data}" for e in timeline.events if e.kind in ("alarm", "scaling", "task")))
    time.sleep(0.5)  # the scheduler's next tick has written the stop back
    events = list(timeline.events)

    # Scaling activities: the timeline's, newest first, with AWS's fields.
    acts = aas.describe_scaling_activities(ServiceNamespace="ecs", ResourceId=svc.resource_id)["ScalingActivities"]
    scaled = [e for e in events if e.kind == "scaling"]
    assert [(a["Description"], a["Cause"], a["StatusCode"]) for a in reversed(acts)][:len(scaled)] == \
        [(e.data["description"], e.data["cause"], e.data["status"]) for e in scaled]
    assert scaled and scaled[0].data["description"] == "Setting desired count to 2."
    assert _close(acts[-1]["StartTime"], _ts(scaled[0].time))
    assert {"ActivityId", "ScalableDimension", "EndTime", "StatusMessage"} <= set(acts[-1])

    # Alarm history: every transition and every action of the low alarm, at the timeline's times.
    pages = cw.get_paginator("describe_alarm_history").paginate(AlarmName=low.name, ScanBy="TimestampAscending")
    items = [i for p in pages for i in p["AlarmHistoryItems"]]
    states = [i for i in items if i["HistoryItemType"] == "StateUpdate"]
    moved = [e for e in events if e.kind == "alarm" and e.data["name"] == low.name]
    assert [(json.loads(i["HistoryData"])["oldState"]["stateValue"], json.loads(i["HistoryData"])["newState"]["stateValue"])
            for i in states][:len(moved)] == [(e.data["old"], e.data["new"]) for e in moved]
    assert all(_close(i["Timestamp"], _ts(e.time)) for i, e in zip(states, moved))
    acted = [e for e in events if e.kind == "action" and e.data["alarm"] == low.name]
    actions = [i for i in items if i["HistoryItemType"] == "Action"]
    assert acted and [(i["HistorySummary"]) for i in actions][:len(acted)] == [e.data["summary"] for e in acted]
    assert actions[0]["HistorySummary"].startswith("Successfully executed action arn:aws:autoscaling:")

    # ECS: the harness's tasks, counts and events.
    snap = harness_stack.harness.schedulers[0].snapshot()
    running = {t.task_id: t for t in snap.tasks if t.state == "RUNNING"}
    arns = ecs.list_tasks(cluster=svc.cluster, serviceName=svc.name)["taskArns"]
    assert {a.rsplit("/", 1)[1] for a in arns} == set(running)
    described = ecs.describe_tasks(cluster=svc.cluster, tasks=arns)["tasks"]
    assert {t["containers"][0]["networkBindings"][0]["hostPort"] for t in described} == {t.port for t in running.values()}
    assert {t["lastStatus"] for t in described} == {"RUNNING"}
    (service,) = ecs.describe_services(cluster=svc.cluster, services=[svc.name])["services"]
    assert (service["desiredCount"], service["runningCount"], service["pendingCount"]) == (2, 2, 0)
    messages = [e["message"] for e in reversed(service["events"])]
    started = [e.data["task_id"] for e in events if e.kind == "task" and e.data.get("action") == "started"]
    stopping = [e.data["task_id"] for e in events if e.kind == "task" and e.data.get("action") == "stopping"]
    assert messages[0] == f"(service {svc.name}) has started 3 tasks: " + " ".join(f"(task {t})" for t in started[:3]) + "."
    assert f"(service {svc.name}) has reached a steady state." in messages
    assert f"(service {svc.name}) has stopped 1 running tasks: (task {stopping[0]})." in messages
    gone = ecs.describe_tasks(cluster=svc.cluster, tasks=[stopping[0]])["tasks"]
    assert gone and gone[0]["desiredStatus"] == "STOPPED" and gone[0]["stoppedReason"]
