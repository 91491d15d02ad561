"""The embedded cloud answers GetMetricStatistics as CloudWatch does (moto 5.2 does not)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any


def _put(cw: Any, namespace: str, dims: dict[str, str], when: datetime, value: float) -> None:
    cw.put_metric_data(Namespace=namespace, MetricData=[{
        "MetricName": "HTTPCode_Target_5XX_Count", "Timestamp": when, "Value": value, "Unit": "Count",
        "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
    }])


def test_a_query_matches_the_exact_dimension_set_and_periods_start_at_start_time(aws: Any) -> None:
    cw = aws.client("cloudwatch")
    ns = f"Test/{uuid.uuid4().hex}"
    start = datetime(2026, 11, 28, 10, 0, tzinfo=timezone.utc)
    lb = {"LoadBalancer": "app/x/1"}
    _put(cw, ns, lb, start + timedelta(seconds=50), 3)
    _put(cw, ns, {**lb, "TargetGroup": "targetgroup/y/2"}, start + timedelta(seconds=50), 3)
    _put(cw, ns, lb, start + timedelta(seconds=70), 4)

    points = cw.get_metric_statistics(
        Namespace=ns, MetricName="HTTPCode_Target_5XX_Count", Dimensions=[{"Name": "LoadBalancer", "Value": "app/x/1"}],
        StartTime=start, EndTime=start + timedelta(seconds=120), Period=60, Statistics=["Sum", "SampleCount"],
    )["Datapoints"]
    got = sorted((p["Timestamp"], p["Sum"], p["SampleCount"]) for p in points)
    assert got == [(start, 3.0, 1.0), (start + timedelta(seconds=60), 4.0, 1.0)]


def test_the_cloud_keeps_template_time_so_logs_far_ahead_of_the_wall_clock_are_accepted() -> None:
    """At a time scale, template time runs hours ahead of the wall clock; CloudWatch Logs must judge
    "too new" against template time (AWS refuses events over 2 hours ahead of its now)."""
    import time

    from harness.cloud.clients import Aws
    from harness.cloud.server import EmbeddedCloud
    from harness.net import free_port

    origin, scale = time.time() - 10.0, 3600.0  # template time is now ~10 hours ahead of the wall clock
    with EmbeddedCloud(port=free_port(), time_origin=(origin, scale)) as cloud:
        logs = Aws(cloud.endpoint).client("logs")
        logs.create_log_group(logGroupName="g")
        logs.create_log_stream(logGroupName="g", logStreamName="s")
        nine_hours_ahead = int((time.time() + 9 * 3600) * 1000)
        out = logs.put_log_events(logGroupName="g", logStreamName="s",
                                  logEvents=[{"timestamp": nine_hours_ahead, "message": "from the future"}])
        assert "rejectedLogEventsInfo" not in out or not out["rejectedLogEventsInfo"]
        events = logs.get_log_events(logGroupName="g", logStreamName="s")["events"]
        assert [e["message"] for e in events] == ["from the future"]
