"""How often does a scenario pass here? Runs `harness run` N times and prints the pass rate.

Each run is a fresh `harness run` (subprocess, temporary home, free cloud port). Printed per run: pass or
fail, wall seconds to verdict, the CPU scale it chose, and for a failure its first failing expectation
(name and what was observed) or, when no report was written, the last line the harness printed. Then the
pass rate and the wall times (min / median / max). Prints figures; asserts nothing.

    python3 bench/repeat.py --runs 10 --template tests/data/size/small-1-5x512.yml [full-story] [-- --cpu-scale 0.2]

On a shared machine pass `--lock /tmp/team/timing.lock` (held for each run, released between runs).
"""

from __future__ import annotations

import argparse
import fcntl
import json
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Outcome:
    passed: bool
    wall: float
    code: int
    scale: str
    first_failure: str


def first_failure(report: dict[str, Any] | None, output: str) -> str:
    """The first failing expectation of a report ("name: observed"), else the harness's last words."""
    if report is not None:
        if report.get("failure"):
            f = report["failure"]
            return f"control loop {f.get('loop')!r} failed: {f.get('error')}"
        for v in report.get("verdicts", []):
            if not v.get("passed"):
                return f"{' '.join(str(v.get('name', '')).split())}: {' '.join(str(v.get('observed', '')).split())}"
        return ""
    lines = [ln for ln in output.splitlines() if ln.strip() and not ln.startswith("+")]
    return lines[-1] if lines else "no output"


def cpu_scale_of(output: str) -> str:
    m = re.search(r"^cpu scale (\S+)", output, re.M)
    return m.group(1) if m else "?"


def run_once(template: Path | None, scenario: str | None, extra: list[str], timeout: float, keep: Path | None,
             i: int) -> Outcome:
    with tempfile.TemporaryDirectory(prefix="harness-repeat-") as tmp:
        cmd = [sys.executable, "-m", "harness.cli", "--home", f"{tmp}/home", "run", *([scenario] if scenario else []),
               "--cloud-port", str(free_port()), "--report-dir", f"{tmp}/report",
               *(["--template", str(template)] if template else []), *extra]
        t0 = time.monotonic()
        try:
            proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout)
            output, code = proc.stdout + proc.stderr, proc.returncode
        except subprocess.TimeoutExpired as e:
            out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
            output, code = out + f"\n(timed out after {timeout:g} s)", -1
        wall = time.monotonic() - t0
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            (keep / f"run{i:02d}.log").write_text(output)
        try:
            report = json.loads(Path(f"{tmp}/report/report.json").read_text())
            if keep is not None:
                (keep / f"run{i:02d}.json").write_text(json.dumps(report))
        except (OSError, json.JSONDecodeError):
            report = None
        passed = code == 0 and report is not None and bool(report.get("passed"))
        wall_to_verdict = float(report["wall_seconds"]) if report and "wall_seconds" in report else wall
        return Outcome(passed, wall_to_verdict, code, cpu_scale_of(output), first_failure(report, output))


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", nargs="?", default=None, help="a shipped scenario or a file (default: full-story)")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--template", type=Path, default=None, help="default: infrastructure/ecs.yml")
    ap.add_argument("--timeout", type=float, default=900.0, help="wall seconds before a run counts as hung")
    ap.add_argument("--keep", type=Path, default=None, help="folder to keep each run's output and report in")
    ap.add_argument("--lock", type=Path, default=None,
                    help="hold this flock for each run only (others' timing runs can go between them)")
    args = ap.parse_args(argv)
    if args.runs < 1:
        ap.error("--runs must be >= 1")
    template = args.template.resolve() if args.template else None
    outcomes: list[Outcome] = []
    for i in range(1, args.runs + 1):
        if args.lock is not None:
            with open(args.lock, "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                o = run_once(template, args.scenario, extra, args.timeout, args.keep, i)
        else:
            o = run_once(template, args.scenario, extra, args.timeout, args.keep, i)
        outcomes.append(o)
        what = "PASS" if o.passed else f"FAIL (exit {o.code}): {o.first_failure}"
        print(f"run {i:2d}/{args.runs}  {o.wall:6.1f} s  cpu scale {o.scale:<6}  {what}", flush=True)
    walls = [o.wall for o in outcomes]
    passed = sum(o.passed for o in outcomes)
    print(f"\n{args.scenario or 'full-story'} on {template.name if template else 'infrastructure/ecs.yml'}"
          f"{' ' + ' '.join(extra) if extra else ''}: {passed} of {len(outcomes)} passed; wall to verdict "
          f"min {min(walls):.1f} s, median {statistics.median(walls):.1f} s, max {max(walls):.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
