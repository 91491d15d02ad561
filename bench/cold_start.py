"""Cold start: wall seconds from `harness up` to as many healthy targets as the service wants.

Runs `harness up` several times in its own process (fresh home, free cloud port), reads its output
for the phases (cloud ready, deployed, ready, each target healthy), then stops it with SIGINT.
Prints figures; asserts nothing. Goal: under 5 s to two healthy targets on a 2-core machine.

    python3 bench/cold_start.py [--runs 5] [--time-scale 30]
"""

from __future__ import annotations

import argparse
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MARKS = {"cloud": "cloud ", "deployed": "deployed ", "ready": "ready "}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def one_run(time_scale: float, healthy_wanted: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as home:
        t0 = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "harness.cli", "--home", home, "up", "--cloud-port", str(free_port()),
             "--time-scale", str(time_scale)],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        marks: dict[str, float] = {}
        healthy = 0
        # Bounded whatever `up` prints: after 120 s it is interrupted, which ends its output.
        watchdog = threading.Timer(120.0, proc.send_signal, (signal.SIGINT,))
        watchdog.start()
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                now = time.monotonic() - t0
                for name, prefix in MARKS.items():
                    if line.startswith(prefix) and name not in marks:
                        marks[name] = now
                if " target " in line and "-> healthy" in line:
                    healthy += 1
                    if healthy == healthy_wanted:
                        marks["healthy"] = now
                        break
        finally:
            watchdog.cancel()
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=60)
        if "healthy" not in marks:
            raise SystemExit(f"harness up never reached {healthy_wanted} healthy targets")
        return marks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--time-scale", type=float, default=30.0)
    parser.add_argument("--healthy", type=int, default=2)
    args = parser.parse_args()
    runs = [one_run(args.time_scale, args.healthy) for _ in range(args.runs)]
    print(f"harness up cold start, {args.runs} runs, time scale {args.time_scale:g}x (wall seconds since the command)")
    print(f"{'phase':<10} {'median':>8} {'min':>8} {'max':>8}")
    for name in ["cloud", "deployed", "ready", "healthy"]:
        values = [r[name] for r in runs if name in r]
        print(f"{name:<10} {statistics.median(values):8.2f} {min(values):8.2f} {max(values):8.2f}")
    median = statistics.median(r["healthy"] for r in runs)
    print(f"goal: {args.healthy} healthy targets in under 5 s: {'met' if median < 5 else 'NOT met'} (median {median:.2f} s)")


if __name__ == "__main__":
    main()
