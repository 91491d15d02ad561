"""Fidelity of model mode: one short traffic shape live (real processes, `harness run`) and in the model.

The live run is `harness run bench/model_vs_live.yml` (a subprocess: embedded cloud, real sample-app tasks,
the real load balancer, Locust). The model then gets what the live run measured, never what it decided:
- traffic: the load balancer's request counts per template minute (the live report's "lb" events), as
  real requests per second (the tasks serve in real time under time scaling);
- CPU per request: the cost the live runner calibrated on a real task of the same app (`cpu_cost_ms`);
- start-up: the median template seconds from a task's start to listening (the live "task" events);
and the stack read from the same template. Printed: both decision sequences (alarm transitions by role and
scaling activities, from the first load phase on, ordered by evaluation minute), whether they match, and
the task-minutes of each over the same window. Prints figures; asserts nothing. Goal: the sequences match.

    flock /tmp/team/timing.lock python3 bench/model_vs_live.py [--time-scale 30]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from harness.model.engine import ModelConfig, run_model  # noqa: E402
from harness.model.stacks import read_once  # noqa: E402
from harness.model.traffic import Trace  # noqa: E402
from harness.net import free_port  # noqa: E402

SCENARIO = REPO / "bench" / "model_vs_live.yml"
TEMPLATE = REPO / "infrastructure" / "ecs.yml"


def live(scale: float) -> tuple[dict[str, Any], float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "harness.cli", "--home", f"{tmp}/home", "run", str(SCENARIO), "--template",
             str(TEMPLATE), "--time-scale", str(scale), "--cloud-port", str(free_port()), "--report-dir",
             f"{tmp}/report"], cwd=REPO, capture_output=True, text=True, timeout=1800)
        wall = time.monotonic() - t0
        path = Path(f"{tmp}/report/report.json")
        if not path.exists():
            sys.exit(f"the live run wrote no report (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
        return json.loads(path.read_text()), wall, proc.returncode


def trace_of(report: dict[str, Any]) -> Trace:
    """Requests per second of each template minute, from the live load balancer's counters.

    A live run compresses waiting, not the app: the tasks serve in real time, so a template minute at 30x
    holds two real seconds of requests. The rate the model needs is the real one: counts x scale / 60.
    """
    scale = float(report.get("time_scale") or 1.0)
    start = math.floor(float(report["started"]) / 60) * 60
    minutes = math.ceil((float(report["ended"]) - start) / 60)
    counts = [0.0] * minutes
    for e in report["events"]:
        if e["kind"] == "lb":
            # An "lb" event counts the requests since the previous one (every 10 template seconds).
            i = int((float(e["time"]) - 1e-6 - start) // 60)
            if 0 <= i < minutes:
                counts[i] += float(e.get("requests") or 0)
    return Trace("live load balancer counts", float(start), tuple(c * scale / 60.0 for c in counts))


def startup_seconds(report: dict[str, Any]) -> float:
    started: dict[str, float] = {}
    waits = []
    for e in report["events"]:
        if e["kind"] == "task" and e.get("action") == "started":
            started[e["task_id"]] = float(e["time"])
        elif e["kind"] == "task" and e.get("action") == "running" and e["task_id"] in started:
            waits.append(float(e["time"]) - started[e["task_id"]])
    return statistics.median(waits) if waits else 0.0


def sequence(events: list[dict[str, Any]], roles: dict[str, str], since: float) -> list[tuple[float, str, str]]:
    """(evaluation minute, who, what) of every decision from `since` on: alarm transitions by role and scaling
    activities. Each alarm's first transition out of INSUFFICIENT_DATA is left out: when it happens depends
    on when a run's first datapoints arrive (how long deploy took live; the trace's first minute in the model)."""
    out = []
    for e in events:
        if float(e["time"]) < since:
            continue
        minute = math.floor(float(e["time"]) / 60) * 60
        if e["kind"] == "alarm" and e["old"] != "INSUFFICIENT_DATA":
            out.append((minute, f"alarm {roles.get(e['name'], e['name'])}", e["new"]))
        elif e["kind"] == "scaling":
            out.append((minute, "scaling", e["description"]))
    return sorted(out)


def per_actor(seq: list[tuple[float, str, str]]) -> dict[str, list[str]]:
    """Each alarm's own sequence of states, and the sequence of scaling activities."""
    out: dict[str, list[str]] = {}
    for _, who, what in seq:
        out.setdefault(who, []).append(what)
    return out


def task_minutes_live(report: dict[str, Any], since: float, until: float) -> float:
    samples = [(float(e["time"]), int(e.get("running") or 0)) for e in report["events"] if e["kind"] == "tasks"]
    total = 0.0
    for (t, n), (t2, _) in zip(samples, samples[1:]):
        a, b = max(t, since), min(t2, until)
        if b > a:
            total += n * (b - a)
    return total / 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-scale", type=float, default=30.0)
    parser.add_argument("--live-report", type=Path, default=None,
                        help="save the live report.json here; if the file exists, reuse it instead of running live")
    args = parser.parse_args()
    if args.live_report and args.live_report.exists():
        report, wall, code = json.loads(args.live_report.read_text()), float("nan"), 0
    else:
        report, wall, code = live(args.time_scale)
        if args.live_report:
            args.live_report.write_text(json.dumps(report))
    phases = report.get("phases") or []
    since = float(phases[1]["start"]) if len(phases) > 1 else float(report["started"])
    until = float(report["ended"])
    roles = {a["name"]: a.get("role") or a["name"] for a in report["stack"]["alarms"]}
    cost = float(report.get("cpu_cost_ms") or 0)
    print(f"live : `harness run {SCENARIO.name}` at {args.time_scale:g}x, exit {code}, {wall:.1f} s wall, "
          f"{until - float(report['started']):.0f} template seconds; one /cpu request cost {cost:.2f} ms (measured)")

    stack = read_once(TEMPLATE, {})
    trace = trace_of(report)
    up = startup_seconds(report)
    t = time.monotonic()
    result = run_model(stack, trace, ModelConfig(cost_ms=cost, startup_seconds=up, cost_source="live calibration"))
    model_wall = time.monotonic() - t
    # The model's alarms have the same roles as the live ones (same template; names differ by random suffix).
    model_roles: dict[str, str] = {}
    for a in stack.alarms:
        logical = next((k for k, v in stack.logical_ids.items() if v == a.name), a.name)
        live_name = next((n for n in roles if f"-{logical}-" in n), None)
        model_roles[a.name] = roles.get(live_name, logical) if live_name else logical
    model_events = [{"time": e.time, "kind": e.kind, **e.data} for e in result.events]
    print(f"model: {trace.minutes} minutes of the live request counts, start-up {up:.1f} s (measured), "
          f"{model_wall:.3f} s")

    a, b = sequence(report["events"], roles, since), sequence(model_events, model_roles, since)
    width = max([len(f"{w} {x}") for _, w, x in a + b] + [10]) + 12
    print(f"\n{'live':<{width}}  model")
    for i in range(max(len(a), len(b))):
        la = f"+{(a[i][0] - since) / 60:.0f} min  {a[i][1]} {a[i][2]}" if i < len(a) else "-"
        lb = f"+{(b[i][0] - since) / 60:.0f} min  {b[i][1]} {b[i][2]}" if i < len(b) else "-"
        print(f"{la:<{width}}  {lb}")
    # The decision sequence: each alarm's transitions in order, and the scaling activities in order.
    same = per_actor(a) == per_actor(b)
    by_minute = [x[0] for x in a] == [x[0] for x in b] and same
    shifts = [abs(x[0] - y[0]) / 60 for x, y in zip(sorted(a, key=lambda r: (r[1], r[0])), sorted(b, key=lambda r: (r[1], r[0])))]
    print(f"\ndecision sequences match: {'YES' if same else 'NO'} ({len(a)} live, {len(b)} model decisions"
          + (f"; largest timing difference {max(shifts, default=0):.0f} min" if same else "")
          + ("; same minutes" if by_minute else "") + ")")
    if not same:
        for who in sorted(set(per_actor(a)) | set(per_actor(b))):
            if per_actor(a).get(who) != per_actor(b).get(who):
                print(f"  {who}: live {per_actor(a).get(who)} / model {per_actor(b).get(who)}")
    # For information: the CPU one request cost under the run's load (live samples over live requests).
    samples = [(float(e["time"]), e.get("cpu"), int(e.get("tasks") or 0)) for e in report["events"]
               if e["kind"] == "sample" and e.get("cpu") is not None and float(e["time"]) >= since]
    cpu_s = sum(c / 100 * n * result.cpu_units / 1024 * (t2 - t1) for (t1, _, _), (t2, c, n) in zip(samples, samples[1:]))
    reqs = sum(float(e.get("requests") or 0) for e in report["events"] if e["kind"] == "lb" and float(e["time"]) >= since)
    if reqs:
        scale = float(report.get("time_scale") or 1.0)
        print(f"cost per request under the live load (for comparison): {cpu_s / scale / reqs * 1000:.2f} ms, "
              f"calibrated {cost:.2f} ms")
    live_tm = task_minutes_live(report, since, until)
    model_tm = sum(m.running_seconds for m in result.minutes if m.start + 60 > since) / 60.0
    print(f"task-minutes from the first load phase: live {live_tm:.1f}, model {model_tm:.1f}, "
          f"difference {model_tm - live_tm:+.1f} ({(model_tm - live_tm) / max(live_tm, 1e-9) * 100:+.1f}%)")


if __name__ == "__main__":
    main()
