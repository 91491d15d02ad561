"""The metrics agent: its pure math from tables, then what it puts, read back from a real moto server.

ECS formula: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/cloudwatch-metrics.html#service_utilization
ALB metrics and their reporting rules:
https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html
"""

from __future__ import annotations

import asyncio
import importlib.util
import itertools
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from harness.clock import ManualClock
from harness.cloudwatch.agent import (
    Counters,
    Datum,
    GroupSample,
    MetricsAgent,
    StatisticSet,
    TaskSample,
    Utilization,
    lb_datums,
    service_utilization,
)
from harness.ecs.runtime import Usage
from harness.elb.proxy import LoadBalancerStats
from harness.errors import CloudError
from harness.events import Timeline
from harness.net import free_port

MIB = 1024 * 1024
T0 = 1_700_000_040.0  # a minute boundary, so 60 s periods start at T0


# ------------------------------------------------------------------------------ pure: ECS ----
def s(cpu: float, mem_mib: float = 0) -> TaskSample:
    return TaskSample(cpu, int(mem_mib * MIB))


@pytest.mark.parametrize(
    ("before", "after", "wall", "units", "mem", "expected"),
    [
        # 0.25 vCPU for 10 s = 2.5 CPU-s reserved; 1.25 used -> 50 %
        ({"a": s(1.0)}, {"a": s(2.25, 64)}, 10.0, 256, 128, Utilization(50.0, 50.0, 1, 1)),
        # two tasks of 0.5 vCPU over 2 s = 2 CPU-s reserved; 0.5 + 0.25 used -> 37.5 %
        ({"a": s(0), "b": s(1)}, {"a": s(0.5, 32), "b": s(1.25, 96)}, 2.0, 512, 128, Utilization(37.5, 50.0, 2, 2)),
        # above the reservation: 200 % (ECS allows > 100 %)
        ({"a": s(0)}, {"a": s(0.5)}, 1.0, 256, None, Utilization(200.0, None, 1, 0)),
        # a task started mid-interval is not in the CPU figure yet, but its memory counts
        ({"a": s(0)}, {"a": s(0.25, 100), "new": s(0.9, 50)}, 1.0, 1024, 100, Utilization(25.0, 75.0, 1, 2)),
        # a task gone by the end is dropped from both
        ({"a": s(0), "gone": s(5)}, {"a": s(0.1, 10)}, 1.0, 1024, 100, Utilization(10.0, 10.0, 1, 1)),
        # only new tasks: no CPU figure (missing data, as ECS with no comparable reading), memory yes
        ({}, {"new": s(3, 25)}, 1.0, 1024, 100, Utilization(None, 25.0, 0, 1)),
        # no task at all: nothing
        ({"gone": s(1)}, {}, 1.0, 1024, 100, Utilization(None, None, 0, 0)),
        # no wall time elapsed: no honest CPU figure
        ({"a": s(0)}, {"a": s(0, 10)}, 0.0, 1024, 100, Utilization(None, 10.0, 0, 1)),
        # a counter that went backwards counts as no use, never negative
        ({"a": s(5)}, {"a": s(1)}, 1.0, 1024, None, Utilization(0.0, None, 1, 0)),
        # idle
        ({"a": s(7)}, {"a": s(7)}, 60.0, 256, None, Utilization(0.0, None, 1, 0)),
    ],
)
def test_service_utilization(before: dict[str, TaskSample], after: dict[str, TaskSample], wall: float, units: int,
                             mem: int | None, expected: Utilization) -> None:
    got = service_utilization(before, after, wall_seconds=wall, cpu_units_per_task=units, memory_mib_per_task=mem)
    assert got.cpu_tasks == expected.cpu_tasks and got.memory_tasks == expected.memory_tasks
    assert got.cpu_percent == pytest.approx(expected.cpu_percent)
    assert got.memory_percent == pytest.approx(expected.memory_percent)


def test_service_utilization_rejects_a_reservation_of_zero() -> None:
    with pytest.raises(ValueError, match="CPU units per task must be positive, got 0"):
        service_utilization({}, {}, wall_seconds=1, cpu_units_per_task=0, memory_mib_per_task=None)


# ------------------------------------------------------------------------------ pure: ALB ----
LB = "app/web/0123456789abcdef"
TG = "targetgroup/web/fedcba9876543210"
LBD = (("LoadBalancer", LB),)
TGD = (("LoadBalancer", LB), ("TargetGroup", TG))


def c(req: int = 0, t2: int = 0, t3: int = 0, t4: int = 0, t5: int = 0, **elb: int) -> Counters:
    codes = {500: 0, 502: 0, 503: 0, 504: 0} | {int(k[1:]): v for k, v in elb.items()}
    return Counters(req, t2, t3, t4, t5, tuple(sorted(codes.items())))


def count(name: str, n: float, dims: tuple[tuple[str, str], ...] = LBD) -> Datum:
    return Datum("AWS/ApplicationELB", name, dims, "Count", value=n)


def hosts(healthy: int, unhealthy: int) -> list[Datum]:
    return [count("HealthyHostCount", healthy, TGD), count("UnHealthyHostCount", unhealthy, TGD)]


def per_target(n: float) -> list[Datum]:
    """RequestCountPerTarget, by TargetGroup + LoadBalancer and by TargetGroup alone (unit None)."""
    return [Datum("AWS/ApplicationELB", "RequestCountPerTarget", d, "None", value=n) for d in (TGD, (("TargetGroup", TG),))]


@pytest.mark.parametrize(
    ("before", "after", "times", "expected"),
    [
        # no traffic: counts are not reported at all, only the target group's host gauges
        # (RequestCountPerTarget is always reported: 0 requests over 2 healthy targets)
        (c(7, 7), c(7, 7), [], [*hosts(2, 1), *per_target(0.0)]),
        # 10 requests: 6 2XX, 1 3XX, 1 4XX, 2 target 5XX; response times as a statistic set
        (
            c(0), c(10, 6, 1, 1, 2), [0.5, 0.25],
            [count("RequestCount", 10), count("HTTPCode_Target_2XX_Count", 6), count("HTTPCode_Target_3XX_Count", 1),
             count("HTTPCode_Target_4XX_Count", 1), count("HTTPCode_Target_5XX_Count", 2),
             Datum("AWS/ApplicationELB", "TargetResponseTime", LBD, "Seconds", stats=StatisticSet(2, 0.75, 0.25, 0.5)),
             count("RequestCount", 10, TGD), count("HTTPCode_Target_2XX_Count", 6, TGD),
             count("HTTPCode_Target_3XX_Count", 1, TGD), count("HTTPCode_Target_4XX_Count", 1, TGD),
             count("HTTPCode_Target_5XX_Count", 2, TGD),
             Datum("AWS/ApplicationELB", "TargetResponseTime", TGD, "Seconds", stats=StatisticSet(2, 0.75, 0.25, 0.5)),
             *hosts(2, 1), *per_target(5.0)],
        ),
        # the load balancer's own errors: total and per code, only the non-zero codes, no TargetGroup dimension
        (
            c(3, e502=1), c(8, e502=3, e503=3),
            [],
            [count("RequestCount", 5), count("HTTPCode_ELB_5XX_Count", 5), count("HTTPCode_ELB_502_Count", 2),
             count("HTTPCode_ELB_503_Count", 3), count("RequestCount", 5, TGD), *hosts(2, 1), *per_target(2.5)],
        ),
        # the counters restarted from zero (a new proxy): the new values are the interval's counts
        (c(100, 100), c(4, 4), [], [count("RequestCount", 4), count("HTTPCode_Target_2XX_Count", 4),
                                     count("RequestCount", 4, TGD), count("HTTPCode_Target_2XX_Count", 4, TGD), *hosts(2, 1),
                                     *per_target(2.0)]),
    ],
)
def test_lb_datums(before: Counters, after: Counters, times: list[float], expected: list[Datum]) -> None:
    group = GroupSample(TG, before, after, times, healthy=2, unhealthy=1)
    assert lb_datums(LB, before, after, times, [group]) == expected


@pytest.mark.parametrize(
    ("healthy", "unhealthy", "expected"),
    [
        (3, 1, per_target(4.0)),  # 12 requests over the healthy targets
        (0, 2, per_target(6.0)),  # none healthy: over every registered target
        (0, 0, []),  # no target registered: nothing to divide by, nothing reported
    ],
)
def test_request_count_per_target(healthy: int, unhealthy: int, expected: list[Datum]) -> None:
    """RequestCountPerTarget (ALB CloudWatch metrics page), what ALBRequestCountPerTarget tracks."""
    group = GroupSample(TG, c(0), c(12, 12), [], healthy=healthy, unhealthy=unhealthy)
    got = [d for d in lb_datums(LB, c(0), c(12, 12), [], [group]) if d.name == "RequestCountPerTarget"]
    assert got == expected


# ---------------------------------------------------------------------- against moto ----
@pytest.fixture
def cw(moto_client: Callable[[str], Any]) -> Any:
    return moto_client("cloudwatch")


_seq = itertools.count()


def unique(prefix: str) -> str:
    """Names no other test in the module uses (they share one moto server)."""
    return f"{prefix}-{next(_seq)}"


def utc(t: float) -> datetime:
    return datetime.fromtimestamp(t, tz=timezone.utc)


def stats(cw: Any, ns: str, name: str, dims: dict[str, str], start: float, end: float, period: int,
          stat: str = "Average") -> list[tuple[float, float]]:
    """(period start, value) pairs, oldest first, from GetMetricData: exact dimensions, periods from `start`.

    (moto's GetMetricStatistics matches any superset of the dimensions and starts its periods at the
    first datapoint, unlike CloudWatch; its GetMetricData does neither.)
    """
    r = cw.get_metric_data(
        MetricDataQueries=[{"Id": "m", "MetricStat": {
            "Metric": {"Namespace": ns, "MetricName": name, "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()]},
            "Period": period, "Stat": stat}}],
        StartTime=utc(start), EndTime=utc(end), ScanBy="TimestampAscending")["MetricDataResults"][0]
    # Rounded to 1e-6 so that tables compare exactly (float sums of samples are not exact).
    return [(ts.timestamp(), round(float(v), 6)) for ts, v in zip(r["Timestamps"], r["Values"])]


@dataclass
class FakeTask:
    task_id: str


class FakeUsage:
    """The seam: cumulative CPU seconds and memory per task, moved by the test."""

    def __init__(self) -> None:
        self.cpu: dict[str, float] = {}
        self.mem: dict[str, int] = {}

    def __call__(self, task: FakeTask) -> Usage:
        return Usage(self.cpu[task.task_id], self.mem.get(task.task_id, 0))


def two_tasks(mem1: int, mem2: int) -> tuple[list[FakeTask], FakeUsage]:
    """Tasks t1 and t2 at 0 CPU seconds, using `mem1` and `mem2` bytes."""
    usage = FakeUsage()
    usage.cpu = {"t1": 0.0, "t2": 0.0}
    usage.mem = {"t1": mem1, "t2": mem2}
    return [FakeTask("t1"), FakeTask("t2")], usage


def test_agent_publishes_service_utilization_on_a_manual_clock(cw: Any) -> None:
    """Six samples a minute (every 10 s), read back: exact timestamps, the minute's Average and samples."""
    cluster, service = unique("cluster"), unique("svc")
    dims = {"ClusterName": cluster, "ServiceName": service}
    timeline = Timeline()

    async def main() -> None:
        clock = ManualClock(T0)
        tasks, usage = two_tasks(64 * MIB, 32 * MIB)
        # CPU seconds in the same (template) seconds as the clock: wall = template here.
        agent = MetricsAgent(cw, clock, timeline, sample_interval=10, wall=lambda sec: sec)
        agent.add_service(cluster, service, lambda: list(tasks), usage, 256, 128)
        # 2 tasks x 0.25 vCPU x 10 s = 5 CPU-s reserved per sample; use 1, 2, ..., 6 CPU-s -> 20 %, ..., 120 %
        for i in range(1, 7):
            await clock.advance(10)
            usage.cpu["t1"] += i / 2
            usage.cpu["t2"] += i / 2
            await agent.sample_once()
        # minute 2: one task stops after the first sample, a new one appears
        await clock.advance(10)
        usage.cpu = {"t1": usage.cpu["t1"] + 1.25, "t2": usage.cpu["t2"] + 1.25}
        await agent.sample_once()  # 2.5 / 5 -> 50 %
        tasks[:] = [FakeTask("t1"), FakeTask("t3")]
        usage.cpu.update(t1=usage.cpu["t1"] + 0.5, t3=9.0)  # t3 starts with 9 s (start-up), not counted
        usage.mem["t3"] = 0
        await clock.advance(10)
        await agent.sample_once()  # t1 only: 0.5 / 2.5 -> 20 %

    asyncio.run(main())
    # Each sample is stamped at the end of its interval: T0+10 ... T0+50 fall in the first minute
    # (20, 40, 60, 80, 100 %), T0+60, T0+70, T0+80 in the second (120, 50, 20 %).
    cpu = stats(cw, "AWS/ECS", "CPUUtilization", dims, T0, T0 + 120, 60)
    assert cpu == [(T0, 60.0), (T0 + 60, round(190 / 3, 6))]
    assert stats(cw, "AWS/ECS", "CPUUtilization", dims, T0, T0 + 120, 60, "SampleCount") == [(T0, 5.0), (T0 + 60, 3.0)]
    per_sample = stats(cw, "AWS/ECS", "CPUUtilization", dims, T0, T0 + 120, 10, "Maximum")
    assert per_sample == [(T0 + 10 * i, float(v)) for i, v in enumerate([20, 40, 60, 80, 100, 120, 50, 20], 1)]
    mem = stats(cw, "AWS/ECS", "MemoryUtilization", dims, T0, T0 + 120, 60)
    # 96 MiB of 2 x 128 MiB = 37.5 %; at the end t1 (64) + t3 (0) of 2 x 128 = 25 %
    assert mem == [(T0, 37.5), (T0 + 60, round((37.5 + 37.5 + 25.0) / 3, 6))]
    units = cw.get_metric_statistics(
        Namespace="AWS/ECS", MetricName="CPUUtilization", Dimensions=[{"Name": k, "Value": v} for k, v in dims.items()],
        StartTime=utc(T0), EndTime=utc(T0 + 120), Period=120, Statistics=["Average"])
    assert units["Datapoints"][0]["Unit"] == "Percent"
    events = timeline.of("sample")
    assert [e.time for e in events] == [T0 + 10 * i for i in range(1, 9)]
    assert events[0].data == {"namespace": "AWS/ECS", "cluster": cluster, "service": service,
                              "cpu": pytest.approx(20.0), "memory": pytest.approx(37.5), "tasks": 2}


async def until_sleeping(clock: ManualClock) -> None:
    """Wait (real I/O: the put runs in a worker thread) until the agent's loop sleeps on the clock again,
    so the next `advance` wakes it at its exact deadline."""
    for _ in range(1000):
        if clock._waiters:
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the agent's loop never went back to sleep on the clock")


def test_run_samples_every_interval_until_cancelled(cw: Any) -> None:
    cluster, service = unique("cluster"), unique("svc")
    timeline = Timeline()

    async def main() -> None:
        clock = ManualClock(T0)
        usage = FakeUsage()
        usage.cpu = {"t1": 0.0}
        agent = MetricsAgent(cw, clock, timeline, sample_interval=15, wall=lambda sec: sec)
        agent.add_service(cluster, service, lambda: [FakeTask("t1")], usage, 1024, None)
        runner = asyncio.create_task(agent.run())
        for _ in range(4):
            usage.cpu["t1"] += 3.0  # 3 CPU-s per 15 s of 1 vCPU = 20 %
            await clock.advance(15)
            await until_sleeping(clock)
        runner.cancel()
        with pytest.raises(asyncio.CancelledError):
            await runner

    asyncio.run(main())
    assert [e.time for e in timeline.of("sample")] == [T0 + 15, T0 + 30, T0 + 45, T0 + 60]
    assert [e.data["cpu"] for e in timeline.of("sample")] == pytest.approx([20.0] * 4)
    assert "memory" in timeline.of("sample")[0].data and timeline.of("sample")[0].data["memory"] is None
    dims = {"ClusterName": cluster, "ServiceName": service}
    assert stats(cw, "AWS/ECS", "CPUUtilization", dims, T0, T0 + 120, 15, "SampleCount") == [(T0 + 15 * i, 1.0) for i in range(1, 5)]
    assert stats(cw, "AWS/ECS", "MemoryUtilization", dims, T0, T0 + 120, 120) == []


class FakeGroup:
    """A TargetGroupRuntime's metric face: its name (the stats key) and its target counts."""

    def __init__(self, name: str, healthy: int, unhealthy: int) -> None:
        self.name, self.healthy, self.unhealthy = name, healthy, unhealthy

    def healthy_count(self) -> int:
        return self.healthy

    def unhealthy_count(self) -> int:
        return self.unhealthy


def test_lb_5xx_metrics_absent_when_zero_present_when_not(cw: Any) -> None:
    lb, tg = f"app/{unique('lb')}/50dc6c495c0c9188", f"targetgroup/{unique('tg')}/73e2d6bc24d8a067"
    lbd, tgd = {"LoadBalancer": lb}, {"LoadBalancer": lb, "TargetGroup": tg}
    lb_stats = LoadBalancerStats()
    g = lb_stats.group("web")
    g.request_count = 50  # before the agent starts: not counted
    g.response_times = [9.0]

    async def main() -> None:
        clock = ManualClock(T0)
        agent = MetricsAgent(cw, clock, Timeline(), sample_interval=10)
        agent.add_load_balancer(lb, lb_stats, {tg: FakeGroup("web", 2, 0)})
        # minute 1: healthy traffic only
        for _ in range(6):
            await clock.advance(10)
            g.request_count += 10
            g.target_2xx_count += 10
            g.response_times.extend([0.1, 0.3])
            await agent.sample_once()
        # minute 2: the targets answer 500 twice, the ALB answers 502 once and 503 three times
        await clock.advance(10)
        g.request_count += 6
        g.target_5xx_count += 2
        g.elb_5xx[502] += 1
        g.elb_5xx[503] += 3
        await agent.sample_once()

    asyncio.run(main())
    ns = "AWS/ApplicationELB"
    for name in ("HTTPCode_ELB_5XX_Count", "HTTPCode_ELB_502_Count", "HTTPCode_Target_5XX_Count"):
        assert stats(cw, ns, name, lbd, T0, T0 + 60, 60, "Sum") == [], name  # zero: not reported
    assert stats(cw, ns, "RequestCount", lbd, T0, T0 + 120, 60, "Sum") == [(T0, 50.0), (T0 + 60, 16.0)]
    assert stats(cw, ns, "RequestCount", tgd, T0, T0 + 120, 60, "Sum") == [(T0, 50.0), (T0 + 60, 16.0)]
    assert stats(cw, ns, "HTTPCode_Target_2XX_Count", lbd, T0, T0 + 120, 60, "Sum") == [(T0, 50.0), (T0 + 60, 10.0)]
    assert stats(cw, ns, "HTTPCode_ELB_5XX_Count", lbd, T0, T0 + 120, 60, "Sum") == [(T0 + 60, 4.0)]
    assert stats(cw, ns, "HTTPCode_ELB_502_Count", lbd, T0, T0 + 120, 60, "Sum") == [(T0 + 60, 1.0)]
    assert stats(cw, ns, "HTTPCode_ELB_503_Count", lbd, T0, T0 + 120, 60, "Sum") == [(T0 + 60, 3.0)]
    assert stats(cw, ns, "HTTPCode_ELB_504_Count", lbd, T0, T0 + 120, 60, "Sum") == []
    assert stats(cw, ns, "HTTPCode_ELB_5XX_Count", tgd, T0, T0 + 120, 60, "Sum") == []  # no TargetGroup dimension
    assert stats(cw, ns, "HTTPCode_Target_5XX_Count", lbd, T0, T0 + 120, 60, "Sum") == [(T0 + 60, 2.0)]
    # response times since the agent started only (the 9.0 was drained at registration)
    assert stats(cw, ns, "TargetResponseTime", lbd, T0, T0 + 120, 120) == [(T0, 0.2)]
    assert stats(cw, ns, "TargetResponseTime", tgd, T0, T0 + 120, 120, "Maximum") == [(T0, 0.3)]
    assert stats(cw, ns, "HealthyHostCount", tgd, T0, T0 + 120, 60, "SampleCount") == [(T0, 5.0), (T0 + 60, 2.0)]
    assert stats(cw, ns, "HealthyHostCount", tgd, T0, T0 + 120, 120, "Minimum") == [(T0, 2.0)]
    assert stats(cw, ns, "UnHealthyHostCount", tgd, T0, T0 + 120, 120, "Maximum") == [(T0, 0.0)]


class CountingClient:
    """The real client, counting calls (to see the batching)."""

    def __init__(self, real: Any) -> None:
        self.real, self.sizes = real, []  # type: ignore[var-annotated]

    def put_metric_data(self, **kw: Any) -> Any:
        self.sizes.append((kw["Namespace"], len(kw["MetricData"])))
        return self.real.put_metric_data(**kw)


def test_put_batches_1000_datums_per_call_and_one_namespace_per_call(cw: Any) -> None:
    lb = f"app/{unique('lb')}/1"
    client = CountingClient(cw)
    datums = [Datum("AWS/ApplicationELB", "RequestCount", (("LoadBalancer", lb), ("Shard", str(i))), "Count", value=1.0)
              for i in range(2300)]
    datums.append(Datum("AWS/ECS", "CPUUtilization", (("ClusterName", lb),), "Percent", value=5.0))
    agent = MetricsAgent(client, ManualClock(T0), None, sample_interval=60)
    put = asyncio.run(agent.put(datums, T0 + 1))
    assert client.sizes == [("AWS/ApplicationELB", 1000), ("AWS/ApplicationELB", 1000), ("AWS/ApplicationELB", 300), ("AWS/ECS", 1)]
    assert len(put) == 2301
    assert stats(cw, "AWS/ApplicationELB", "RequestCount", {"LoadBalancer": lb, "Shard": "2299"}, T0, T0 + 60, 60, "Sum") == [(T0, 1.0)]
    assert stats(cw, "AWS/ECS", "CPUUtilization", {"ClusterName": lb}, T0, T0 + 60, 60) == [(T0, 5.0)]


def test_a_failed_put_names_the_metrics_and_run_goes_on(tmp_path: Path) -> None:
    dead = boto3.client("cloudwatch", endpoint_url=f"http://127.0.0.1:{free_port()}", region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test",
                        config=Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=2))
    timeline = Timeline()

    async def main() -> None:
        clock = ManualClock(T0)
        usage = FakeUsage()
        usage.cpu = {"t1": 0.0}
        agent = MetricsAgent(dead, clock, timeline, sample_interval=10, wall=lambda sec: sec)
        agent.add_service("c", "s", lambda: [FakeTask("t1")], usage, 256, None)
        with pytest.raises(CloudError, match=r"PutMetricData of 1 AWS/ECS datums \(CPUUtilization\) failed: "):
            await clock.advance(10)
            await agent.sample_once()
        runner = asyncio.create_task(agent.run())
        await until_sleeping(clock)
        await clock.advance(10)
        await until_sleeping(clock)
        await clock.advance(10)
        await until_sleeping(clock)
        runner.cancel()
        with pytest.raises(asyncio.CancelledError):
            await runner

    asyncio.run(main())
    errors = [e for e in timeline.of("sample") if "error" in e.data]
    assert [e.time for e in errors] == [T0 + 20, T0 + 30]  # sampling went on after the first failure
    assert "CPUUtilization" in errors[0].data["error"]


# ------------------------------------------------------------- real task, real CPU ----
def _bench() -> Any:
    """bench/cpu_accuracy.py holds the measuring rig (client, induced CPU); the test reuses it."""
    path = Path(__file__).resolve().parents[2] / "bench" / "cpu_accuracy.py"
    spec = importlib.util.spec_from_file_location("bench_cpu_accuracy", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_published_cpu_matches_the_cpu_a_real_task_burns(tmp_path: Path, moto_endpoint: str) -> None:
    """A sample_app task capped at 256 units (0.25 vCPU) burning 50 ms per request at 2.5 requests/s
    (50 % of its reservation), sampled every 10 s at time scale 10: the published CPUUtilization,
    read back, tracks what the task really burned.

    The margin (6 points on the average of 5 one-second samples) covers the app's HTTP work outside the
    burn loop (~1 point) and two noisy shared cores; a unit slip (vCPU vs units, template vs wall
    seconds) is off by a factor of 4 or more.
    """
    bench = _bench()
    try:
        m = bench.measure(moto_endpoint, 50.0, units=256, ms=50.0, samples=5, scale=10.0, interval=10.0, log_dir=tmp_path)
    except bench.QuotaNotEnforced as e:
        pytest.skip(str(e))
    assert m.induced > 20.0, f"the client could not load the task: {m}"
    assert len(m.per_sample) == 5, m
    assert abs(m.published - m.induced) < 6.0, m
