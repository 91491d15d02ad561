"""The full story's time to verdict, and its fidelity across time scales.

Runs `harness run full-story` (subprocesses, fresh homes, free ports) at the default time scale and
at a low one, then prints:
- wall seconds to verdict, the template time covered, and the ratio (real AWS needs the template time);
- the sequence of alarm transitions and scaling activities of each run, and whether they match.
Prints figures; asserts nothing. Goals: under 90 s wall, at least 20x faster than real time, and the
same sequence at both scales.

    python3 bench/story.py [--scales 30 10] [--scenario full-story]
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(scenario: str, scale: float, extra: list[str]) -> tuple[float, dict[str, Any], int]:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "harness.cli", "--home", f"{tmp}/home", "run", scenario, "--time-scale", str(scale),
             "--cloud-port", str(free_port()), "--report-dir", f"{tmp}/report", *extra],
            cwd=REPO, capture_output=True, text=True, timeout=1800,
        )
        wall = time.monotonic() - t0
        report = json.loads(Path(f"{tmp}/report/report.json").read_text())
        return wall, report, proc.returncode


def sequence(report: dict[str, Any]) -> list[str]:
    """The sequence's lines (see `timed_sequence`), without their times."""
    return [line for _, line in timed_sequence(report)]


def by_source(seq: list[str]) -> dict[str, list[str]]:
    """Each alarm role's own transitions, and the scaling activities, each in its order: what every alarm
    and the scaler decided, apart from how independent alarms interleave in template time (a task's
    start-up takes wall time, so more template seconds at a higher time scale)."""
    out: dict[str, list[str]] = {}
    for line in seq:
        out.setdefault(line.split(" -> ")[0] if line.startswith("alarm ") else "scaling", []).append(line)
    return out


def timed_sequence(report: dict[str, Any]) -> list[tuple[float, str]]:
    """What happened, in order, without times: alarm transitions (by role) and scaling activities, from
    the first load phase on (the idle minutes before it depend on how long deploy takes in template
    time, which the time scale changes)."""
    roles = {a["name"]: a.get("role") or a["name"] for a in report["stack"]["alarms"]}
    phases = report.get("phases") or []
    since = phases[1]["start"] if len(phases) > 1 else float("-inf")
    out = []
    for e in report["events"]:
        if e["time"] < since:
            continue
        if e["kind"] == "alarm":
            # The state entered, not the one left: the state before the first load phase depends on how
            # many idle minutes deploy took, which the time scale changes.
            out.append((e["time"] - since, f"alarm {roles.get(e['name'], e['name'])} -> {e['new']}"))
        elif e["kind"] == "scaling":
            out.append((e["time"] - since, f"scaling {e['description']}"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[30.0, 10.0])
    parser.add_argument("--scenario", default="full-story")
    parser.add_argument("extra", nargs="*", help="more `harness run` options, e.g. --runtime docker")
    args = parser.parse_args()
    results = []
    for scale in args.scales:
        wall, report, code = run(args.scenario, scale, args.extra)
        results.append((scale, wall, report, code))
        ratio = report["template_seconds"] / wall
        failed = [v["name"] for v in report["verdicts"] if not v["passed"]]
        print(f"time scale {scale:>5g}x: verdict {'PASS' if code == 0 else 'FAIL'} in {wall:6.1f} s wall for "
              f"{report['template_seconds']:6.0f} s of template time ({ratio:5.1f}x faster than real time)"
              + (f"; failed: {failed}" if failed else ""))
    print()
    timed = [timed_sequence(r[2]) for r in results]
    seqs = [[line for _, line in t] for t in timed]
    for (scale, *_), seq in zip(results, timed):
        print(f"sequence at {scale:g}x ({len(seq)} events; template seconds since the first load phase):")
        for at, line in seq:
            print(f"    +{at:5.0f}  {line}")
    same = all(s == seqs[0] for s in seqs)
    print(f"\nsequences {'MATCH' if same else 'DIFFER'} across time scales {', '.join(f'{s:g}x' for s in args.scales)}")
    if not same:
        for i, lines in enumerate(zip(*seqs)):
            if len(set(lines)) > 1:
                print(f"first difference at event {i + 1}: " + " | ".join(lines))
                break
        else:
            print("one sequence is a prefix of the other: lengths " + ", ".join(str(len(s)) for s in seqs))
    sources = [by_source(s) for s in seqs]
    same_each = all(x == sources[0] for x in sources)
    print(f"each alarm's transitions and the scaling activities, each in its own order: "
          f"{'MATCH' if same_each else 'DIFFER'}"
          + ("" if same_each else ": " + ", ".join(k for k in sorted(set().union(*sources))
                                                  if len({tuple(x.get(k, [])) for x in sources}) > 1)))


if __name__ == "__main__":
    main()
