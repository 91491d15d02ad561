"""Benchmark: does the published CPUUtilization equal the CPU a task really burns? Prints, asserts nothing.

One `python -m sample_app` task runs under `ProcessRuntime` with a cgroup CPU quota (default 256 units =
0.25 vCPU). A client thread sends `GET /cpu?ms=<ms>` on one keep-alive connection at the rate that
should use `target` % of the reservation; `MetricsAgent` samples the task on a `ScaledClock` and puts
CPUUtilization to a moto server; the figures are read back with GetMetricData and compared with the
CPU the requests report they burned (each request's burn spread over its own start..end).

    python bench/cpu_accuracy.py [--targets 50 80] [--units 256] [--ms 50] [--samples N] [--scale 10] [--cpu-scale K]

Goal: |published - induced| < 3 points. The app's HTTP work outside the burn loop is real CPU the
agent rightly counts and the "induced" figure does not: it shows up as a small positive difference
(about 0.6 ms a request, +1 point at 80%, at any K). So does what the task spends at rest, which does
not shrink with K: the "at rest" column is the task's CPU before the client starts, as a share of the
scaled reservation (a sample app that woke up ten times a second to poll spent 0.7-0.9 ms a second
there, +3.5 points at K=0.1; it now sleeps until a request or a signal, about 0.1 point).

At a small K the default sample count grows (8 / K, at most 60): a 50 ms request then takes 2 s of
wall time at K=0.1, and the kernel enforces a quota of a few ms per period at its scheduler tick
(CONFIG_HZ=250 here: 4 ms), so one 1-s sample of a task held at its quota reads 100 +- 7% of it; the
mean of many samples is exact (bench figures in the README).
tests/cloudwatch/test_agent.py uses `measure()` from here.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import itertools
import logging
import socket
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import boto3  # noqa: E402

from harness.clock import ScaledClock  # noqa: E402
from harness.cloudwatch.agent import UNITS_PER_VCPU, MetricsAgent  # noqa: E402
from harness.ecs.process import ProcessRuntime  # noqa: E402
from harness.ecs.runtime import TaskSpec  # noqa: E402
from harness.net import free_port  # noqa: E402

_seq = itertools.count()


class QuotaNotEnforced(Exception):
    """The cgroup CPU quota cannot be set here: a reservation-relative figure would mean nothing."""


@dataclass
class Burn:
    start: float  # template time
    end: float
    cpu_seconds: float


@dataclass
class Measurement:
    target: float  # percent of the reservation the client aimed at
    published: float  # Average of the published samples, read back
    induced: float  # mean of the per-interval induced figures
    per_sample: list[float]  # published, read back one by one
    per_induced: list[float]
    requests: int
    at_rest: float = 0.0  # percent of the scaled reservation the task used before the client started


def induced_percent(burns: list[Burn], start: float, end: float, clock: ScaledClock, vcpu: float) -> float:
    """CPU put into [start, end] (template time) by the requests, each spread evenly over its own span."""
    used = 0.0
    for b in burns:
        overlap = min(end, b.end) - max(start, b.start)
        if overlap > 0 and b.end > b.start:
            used += b.cpu_seconds * overlap / (b.end - b.start)
    return used * 100.0 / (vcpu * clock.wall(end - start))


def paced_client(port: int, ms: float, rate: float, stop: threading.Event, clock: ScaledClock, out: list[Burn]) -> None:
    """GET /cpu?ms=<ms> `rate` times per wall second, one keep-alive connection, at most one in flight."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        t_next = time.monotonic()
        while not stop.is_set():
            delay = t_next - time.monotonic()
            if delay > 0 and stop.wait(delay):
                break
            t_next = max(t_next + 1.0 / rate, time.monotonic())  # when behind, no burst to catch up
            start = clock.now()
            conn.request("GET", f"/cpu?ms={ms:g}")
            body = conn.getresponse().read().decode()  # "burned 50.0 ms"
            out.append(Burn(start, clock.now(), float(body.split()[1]) / 1000.0))
    finally:
        conn.close()


def _utc(t: float) -> datetime:
    return datetime.fromtimestamp(t, tz=timezone.utc)


def _read(cw: Any, dims: list[dict[str, str]], start: float, end: float, period: int) -> list[float]:
    r = cw.get_metric_data(
        MetricDataQueries=[{"Id": "c", "MetricStat": {
            "Metric": {"Namespace": "AWS/ECS", "MetricName": "CPUUtilization", "Dimensions": dims},
            "Period": period, "Stat": "Average"}}],
        StartTime=_utc(start), EndTime=_utc(end), ScanBy="TimestampAscending")
    return [float(v) for v in r["MetricDataResults"][0]["Values"]]


def measure(endpoint: str, target: float, *, units: int = 256, ms: float = 50.0, samples: int = 6,
            scale: float = 10.0, interval: float = 10.0, log_dir: Path | None = None,
            cpu_scale: float = 1.0) -> Measurement:
    """Load one capped sample_app task to `target` % of `units` x `cpu_scale` and compare published with induced.

    With a CPU scale K the task's quota is units x K (harness.capacity) and the agent divides by the same.

    Raises QuotaNotEnforced (with the runtime's reason) where the cgroup quota cannot be set.
    """
    vcpu = units * cpu_scale / UNITS_PER_VCPU
    rate = target / 100.0 * vcpu / (ms / 1000.0)  # requests per wall second
    clock = ScaledClock(scale)
    cw = boto3.client("cloudwatch", endpoint_url=endpoint, region_name="us-east-1",
                      aws_access_key_id="test", aws_secret_access_key="test")
    n = next(_seq)
    cluster, service = f"bench-{n}", f"cpu-{n}"
    dims = [{"Name": "ClusterName", "Value": cluster}, {"Name": "ServiceName", "Value": service}]
    published: list[tuple[float, float]] = []
    burns: list[Burn] = []
    with ProcessRuntime(log_dir=log_dir or Path(tempfile.mkdtemp(prefix="cpu-accuracy-")), cpu_scale=cpu_scale) as rt:
        if rt.quota_reason is not None:
            raise QuotaNotEnforced(rt.quota_reason)
        task = rt.start(TaskSpec(f"cpu-{n}", service, "app", "sample_app", free_port(), cpu_units=units, memory_mib=256))
        rt.wait_ready(task, 10)
        at_rest = _at_rest(rt, task, vcpu)
        stop = threading.Event()
        client = threading.Thread(target=paced_client, args=(task.spec.host_port, ms, rate, stop, clock, burns), daemon=True)

        async def main() -> None:
            agent = MetricsAgent(cw, clock, None, sample_interval=interval)
            await clock.sleep(interval / 2)  # the client settles into its pace
            agent.add_service(cluster, service, lambda: [task], rt.usage, units * cpu_scale, 256)
            prev = clock.now()
            for _ in range(samples):
                await clock.sleep(interval)
                put = await agent.sample_once()
                now = put[0]["Timestamp"].timestamp()
                published.append((prev, now))
                prev = now

        client.start()
        try:
            asyncio.run(main())
        finally:
            stop.set()
            client.join(15)
    start, end = published[0][0] - 1, published[-1][1] + 1
    whole = _read(cw, dims, start, end, 3600)
    per_sample = _read(cw, dims, start, end, 1)
    per_induced = [induced_percent(burns, a, b, clock, vcpu) for a, b in published]
    return Measurement(target, whole[0] if whole else float("nan"), sum(per_induced) / len(per_induced),
                       per_sample, per_induced, len(burns), at_rest)


def _at_rest(rt: ProcessRuntime, task: Any, vcpu: float, wall_seconds: float = 2.0) -> float:
    """The task's CPU with no request in flight (its cgroup's accounting), percent of `vcpu`."""
    time.sleep(0.5)  # past the interpreter's start-up
    c0, t0 = rt.usage(task).cpu_seconds, time.monotonic()
    time.sleep(wall_seconds)
    c1, t1 = rt.usage(task).cpu_seconds, time.monotonic()
    return (c1 - c0) * 100.0 / (vcpu * (t1 - t0))


def default_samples(cpu_scale: float) -> int:
    """8 samples at K=1; more at a small K (8 / K, at most 60), where requests are slow and few."""
    return min(60, max(8, round(8 / cpu_scale)))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--targets", type=float, nargs="+", default=[50.0, 80.0], help="percent of the reservation")
    ap.add_argument("--units", type=int, default=256, help="CPU units reserved by the task")
    ap.add_argument("--ms", type=float, default=50.0, help="CPU milliseconds per request")
    ap.add_argument("--samples", type=int, default=None, help="default: 8 / K, from 8 to 60")
    ap.add_argument("--scale", type=float, default=10.0, help="time scale (template seconds per wall second)")
    ap.add_argument("--interval", type=float, default=10.0, help="sample interval, template seconds")
    ap.add_argument("--cpu-scale", type=float, default=1.0, help="K: the task's quota is units x K (harness.capacity)")
    args = ap.parse_args()
    if args.samples is None:
        args.samples = default_samples(args.cpu_scale)

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request access log
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        print(f"units={args.units} ({args.units / UNITS_PER_VCPU:g} vCPU) x cpu scale {args.cpu_scale:g}  ms/request={args.ms:g}  "
              f"samples={args.samples} x {args.interval:g} s template at scale {args.scale:g} "
              f"({args.interval / args.scale:g} s wall each)")
        print(f"{'target %':>9} {'at rest %':>10} {'induced %':>10} {'published %':>12} {'diff pts':>9} {'requests':>9}  "
              "per-sample diff")
        for target in args.targets:
            try:
                m = measure(f"http://127.0.0.1:{port}", target, units=args.units, ms=args.ms, samples=args.samples,
                            scale=args.scale, interval=args.interval, cpu_scale=args.cpu_scale)
            except QuotaNotEnforced as e:
                print(f"skipped: {e}")
                return 0
            diffs = " ".join(f"{p - i:+.1f}" for p, i in zip(m.per_sample, m.per_induced))
            print(f"{m.target:9.1f} {m.at_rest:10.2f} {m.induced:10.2f} {m.published:12.2f} {m.published - m.induced:+9.2f} "
                  f"{m.requests:9d}  {diffs}")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
