"""Model mode's speed: a day and a week of traffic at one-minute resolution, and a 27-combination sweep.

Prints figures; asserts nothing. Goals (issue 13): 24 h in <= 2 s, 7 days in <= 10 s, a sweep of 27
combinations over 24 h in <= 30 s on 2 cores. The model loop is timed on its own (the stack read once
before it), and so is everything a user waits for (`harness model` as a subprocess: cloud start, deploy,
read back, model, report files; the sweep: 27 deployments into one cloud plus the models in 2 workers).

    flock /tmp/team/timing.lock python3 bench/model.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from harness.model.engine import ModelConfig, run_model  # noqa: E402
from harness.model.outputs import build_report, summary  # noqa: E402
from harness.model.stacks import read_once  # noqa: E402
from harness.model.sweep import run_sweep  # noqa: E402
from harness.model.traffic import shape  # noqa: E402
from harness.report import write_report  # noqa: E402

TEMPLATE = REPO / "infrastructure" / "ecs.yml"
DAY = "diurnal:base=20,peak=300,hours=24"
WEEK = "diurnal:base=20,peak=300,days=7"
CONFIG = ModelConfig(cost_ms=11.0, noise=0.05, seed=1)


def main() -> None:
    t = time.monotonic()
    stack = read_once(TEMPLATE, {})
    print(f"read the stack once (embedded cloud start, deploy, read back, delete): {time.monotonic() - t:.2f} s")
    for label, spec, goal in (("24 h", DAY, 2.0), ("7 days", WEEK, 10.0)):
        trace = shape(spec)
        t = time.monotonic()
        result = run_model(stack, trace, CONFIG)
        loop = time.monotonic() - t
        t = time.monotonic()
        with tempfile.TemporaryDirectory() as tmp:
            report = build_report(result, [], loop, template=str(TEMPLATE), params={})
            write_report(Path(tmp), report)
        files = time.monotonic() - t
        s = summary(result)
        print(f"{label:>7}: {trace.minutes} minutes modelled in {loop:.2f} s (goal <= {goal:g} s), report files "
              f"{files:.2f} s; {len(result.events)} events, peak {s['peak_tasks']} tasks, "
              f"{s['scaling_activities']} scaling activities, {s['task_hours']:.1f} task-hours")

    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "harness.cli", "--home", str(Path(tmp) / "home"), "model", "--template",
               str(TEMPLATE), "--traffic", DAY, "--cost-ms", "11", "--report-dir", str(Path(tmp) / "r")]
        t = time.monotonic()
        proc = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True)
        print(f"`harness model` 24 h end to end (exit {proc.returncode}): {time.monotonic() - t:.2f} s")

    sweeps = {"MaxCapacity": ["4", "6", "8"], "MinCapacity": ["1", "2", "3"], "DesiredCount": ["2", "3", "4"]}
    t = time.monotonic()
    outcomes = run_sweep(TEMPLATE, {}, sweeps, shape(DAY), CONFIG, [], jobs=2)
    total = time.monotonic() - t
    best = min(outcomes, key=lambda o: o.figures["task_hours"])
    print(f"  sweep: {len(outcomes)} combinations over 24 h in {total:.2f} s end to end on 2 workers "
          f"(goal <= 30 s); fewest task-hours {best.figures['task_hours']:.1f} at "
          + ", ".join(f"{k}={v}" for k, v in best.params.items()))


if __name__ == "__main__":
    main()
