"""Embedded moto vs LocalStack (on the host, with the harness extension): cold start and time to verdict.

Cold start, in wall seconds, per cloud: until /_localstack/health answers, then until
infrastructure/ecs.yml (and its parent stacks) is deployed and read back. Then, when `harness run`
has `--cloud`, the full-story scenario on both clouds (time to verdict and exit code). The LocalStack
venv is created first if needed (once; not counted). Prints figures; asserts nothing.

    python3 bench/localstack.py [--runs 2] [--no-story]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from harness.cloud.clients import Aws  # noqa: E402
from harness.cloud.localstack import LocalStackCloud, ensure_venv  # noqa: E402
from harness.cloud.server import EmbeddedCloud  # noqa: E402
from harness.deploy import deploy  # noqa: E402
from harness.net import free_port  # noqa: E402
from harness.stack import read_stack  # noqa: E402

ECS = REPO / "infrastructure" / "ecs.yml"


def cold_start(kind: str) -> dict[str, float]:
    cloud: Any = EmbeddedCloud(free_port()) if kind == "embedded" else LocalStackCloud(free_port())
    t0 = time.monotonic()
    cloud.start()
    try:
        healthy = time.monotonic() - t0
        aws = Aws(cloud.endpoint)
        deployment = deploy(aws, ECS, {})
        read_stack(aws, deployment.stack_name)
        deployed = time.monotonic() - t0
    finally:
        t1 = time.monotonic()
        cloud.stop()
        stopped = time.monotonic() - t1
    return {"healthy": healthy, "deployed": deployed, "stop": stopped}


def story(kind: str) -> tuple[float, int, str]:
    with tempfile.TemporaryDirectory() as home:
        t0 = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "harness.cli", "--home", home, "run", "full-story", "--cloud", kind,
             "--cloud-port", str(free_port())],
            cwd=REPO, capture_output=True, text=True, timeout=1800,
        )
        elapsed = time.monotonic() - t0
    tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-4:])
    return elapsed, proc.returncode, tail


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--no-story", action="store_true")
    args = parser.parse_args()

    t0 = time.monotonic()
    ensure_venv(with_extension=True)
    print(f"LocalStack venv ready in {time.monotonic() - t0:.1f} s (cached after the first time)")

    print(f"\ncold start, wall seconds (median of {args.runs}):")
    print(f"  {'cloud':<10} {'healthy':>8} {'deployed':>9} {'stop':>6}")
    for kind in ("embedded", "localstack"):
        runs = [cold_start(kind) for _ in range(args.runs)]
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        print(f"  {kind:<10} {med['healthy']:8.1f} {med['deployed']:9.1f} {med['stop']:6.1f}")

    if args.no_story:
        return
    help_text = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "--help"], cwd=REPO, capture_output=True, text=True
    ).stdout
    if "--cloud" not in help_text:
        print("\nfull story: skipped (`harness run` has no --cloud option yet)")
        return
    print("\nfull story (`harness run full-story --cloud X`), time to verdict:")
    for kind in ("embedded", "localstack"):
        elapsed, code, tail = story(kind)
        print(f"  {kind:<10} {elapsed:7.1f} s  exit {code}")
        print("    " + tail.replace("\n", "\n    "))


if __name__ == "__main__":
    main()
