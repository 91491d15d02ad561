"""Benchmark: what one request costs the load balancer (the harness process) and Locust, in CPU ms.

harness.capacity plans the CPU of a run from these costs (LB_CPU_MS, LOCUST_CPU_MS, HARNESS_BASE_CORES).
This script measures them so the constants there are figures, not guesses:

- `harness up` (the shipped template) in a child process, idle for `--idle` wall seconds: the harness
  process's and the cloud's CPU at rest (the control loops, health checks, metrics, moto);
- then Locust's PingUser at `--rate` requests/s through the load balancer for `--seconds`: CPU of the
  harness process (the proxy, in its event loop) and of Locust, each divided by the requests sent.

    python bench/request_cost.py [--rate 200] [--seconds 15] [--idle 10]

Prints, asserts nothing. Run it under `flock /tmp/team/timing.lock` on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import psutil  # noqa: E402

from harness.load import LocustProcess  # noqa: E402
from harness.net import free_port  # noqa: E402

LOCUSTFILE = REPO / "loadtests" / "locustfile.py"
PING_N = 5


def cpu_of(p: psutil.Process, children: bool = False) -> float:
    t = p.cpu_times()
    total = t.user + t.system
    if children:
        for c in p.children(recursive=True):
            try:
                ct = c.cpu_times()
                total += ct.user + ct.system
            except psutil.NoSuchProcess:
                pass
    return total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate", type=float, default=200.0, help="requests per second Locust sends")
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--idle", type=float, default=10.0)
    args = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="harness-cost-"))
    up = subprocess.Popen(["harness", "--home", str(home), "up", "--cloud-port", str(free_port())],
                          cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert up.stdout is not None
        for line in up.stdout:
            if line.startswith("ready"):
                break
        else:
            print("harness up did not become ready", file=sys.stderr)
            return 1
        st = json.loads((home / "state.json").read_text())
        url = st["load_balancer_url"]
        hp = psutil.Process(up.pid)
        tasks = [psutil.Process(p) for p in st["child_pids"] if p != up.pid and psutil.pid_exists(p)]
        time.sleep(5)  # the tasks turn healthy
        h0, c0 = cpu_of(hp), sum(cpu_of(t, True) for t in tasks)
        t0 = time.monotonic()
        time.sleep(args.idle)
        idle = time.monotonic() - t0
        h1, c1 = cpu_of(hp), sum(cpu_of(t, True) for t in tasks)
        print(f"at rest    harness process {(h1 - h0) / idle:.3f} cores; cloud + tasks {(c1 - c0) / idle:.3f} cores")

        users = max(1, int(args.rate / 20))
        phases = [{"name": "ping", "duration": args.seconds, "users": {"PingUser": users}, "spawn_rate": 100,
                   "rate_per_user": args.rate / users}]
        work = Path(tempfile.mkdtemp(prefix="harness-cost-locust-"))
        lp = LocustProcess(LOCUSTFILE, url, phases, work, ping_n=PING_N)
        lp.start()
        assert lp.pid is not None
        locust = psutil.Process(lp.pid)
        time.sleep(3)  # users spawned, Locust's start-up CPU behind us
        l0, h0 = cpu_of(locust, True), cpu_of(hp)
        r0 = lp.live_stats().requests(f"/{PING_N}")
        t0 = time.monotonic()
        time.sleep(max(1.0, args.seconds - 5))
        wall = time.monotonic() - t0
        l1, h1 = cpu_of(locust, True), cpu_of(hp)
        r1 = lp.live_stats().requests(f"/{PING_N}")
        lp.wait(args.seconds + 30)
        n = max(1, r1 - r0)
        base = (h1 - h0) / wall
        print(f"under load {n / wall:.0f} requests/s for {wall:.1f} s")
        print(f"locust     {(l1 - l0) * 1000 / n:.2f} CPU ms per request ({(l1 - l0) / wall:.2f} cores)")
        print(f"harness    {(h1 - h0) * 1000 / n:.2f} CPU ms per request with its loops ({base:.2f} cores); "
              f"the proxy's share: subtract the at-rest figure")
        return 0
    finally:
        up.terminate()
        try:
            up.wait(30)
        except subprocess.TimeoutExpired:
            up.kill()


if __name__ == "__main__":
    sys.exit(main())
