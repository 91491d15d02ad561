"""The Docker runtime's cost: cold start of two healthy tasks, and the full story's time to verdict.

Prints (asserts nothing):
- cold start to two healthy tasks (listening and answering GET / with 200), container vs process,
  the image already built (ensure_image is done before the clock starts; the goal is under 10 s);
- `harness run full-story` wall seconds to verdict and its result, `--runtime docker` vs
  `--runtime process`, in one run (CLI subprocesses, fresh homes, free ports).
The docker rows are skipped with a message when no engine answers or the CLI has no `--runtime`.

    python3 bench/docker.py [--scenario full-story] [--repeat 3] [--no-story]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
# This script is named docker.py: its own folder must not shadow the docker SDK package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(REPO))

from harness.ecs.process import ProcessRuntime  # noqa: E402
from harness.ecs.runtime import TaskSpec  # noqa: E402
from harness.image import engine_reason, ensure_image  # noqa: E402
from harness.net import free_port  # noqa: E402


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
            return r.status == 200
    except OSError:
        return False


def cold_start(make_runtime: Any) -> float:
    """Wall seconds from creating the runtime to two tasks answering their health check."""
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.monotonic()
        rt = make_runtime(Path(tmp))
        try:
            ports: list[int] = []
            tasks = []
            for i in range(2):
                port = free_port(avoid=ports)
                ports.append(port)
                tasks.append(rt.start(TaskSpec(f"bench{i}", "svc", "web", "img", port, {}, 256, 128)))
            for t in tasks:
                rt.wait_ready(t, 60)
            while not all(healthy(p) for p in ports):
                time.sleep(0.01)
            return time.monotonic() - t0
        finally:
            rt.close()


def story(scenario: str, runtime: str) -> tuple[float, str, int]:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "harness.cli", "--home", f"{tmp}/home", "run", scenario, "--runtime", runtime,
             "--cloud-port", str(free_port()), "--report-dir", f"{tmp}/report"],
            cwd=REPO, capture_output=True, text=True, timeout=1800,
        )
        wall = time.monotonic() - t0
        try:
            report = json.loads(Path(f"{tmp}/report/report.json").read_text())
            failed = [v for v in report["verdicts"] if not v["passed"]]
            verdict = f"{len(report['verdicts']) - len(failed)}/{len(report['verdicts'])} expectations passed"
        except (OSError, ValueError, KeyError):
            verdict = "no report: " + (proc.stdout + proc.stderr).strip()[-300:]
        return wall, verdict, proc.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="full-story")
    parser.add_argument("--repeat", type=int, default=3, help="cold starts per runtime (the median is printed)")
    parser.add_argument("--no-story", action="store_true", help="only the cold start")
    args = parser.parse_args()

    no_docker = engine_reason()
    help_text = subprocess.run([sys.executable, "-m", "harness.cli", "run", "--help"], cwd=REPO,
                               capture_output=True, text=True).stdout
    if no_docker is None and "--runtime" not in help_text:
        no_docker = "`harness run --runtime` is not wired into the CLI yet"
    image = None
    if no_docker is None:
        t0 = time.monotonic()
        image = ensure_image(None)
        print(f"image {image} ready in {time.monotonic() - t0:.1f} s (cached layers; not counted below)")

    def median(xs: list[float]) -> float:
        return sorted(xs)[len(xs) // 2]

    print(f"\ncold start to two healthy tasks (median of {args.repeat}):")
    proc_times = [cold_start(lambda d: ProcessRuntime(log_dir=d)) for _ in range(args.repeat)]
    print(f"  process   {median(proc_times):6.2f} s   (all: {', '.join(f'{x:.2f}' for x in proc_times)})")
    if image is not None:
        from harness.ecs.docker import DockerRuntime

        dock_times = [cold_start(lambda d: DockerRuntime(image, d)) for _ in range(args.repeat)]
        print(f"  docker    {median(dock_times):6.2f} s   (all: {', '.join(f'{x:.2f}' for x in dock_times)}; goal < 10 s)")
    else:
        print(f"  docker    skipped: {no_docker}")

    if args.no_story:
        return
    print(f"\n`harness run {args.scenario}`, time to verdict:")
    for runtime in ("process", "docker"):
        if runtime == "docker" and image is None:
            print(f"  docker    skipped: {no_docker}")
            continue
        wall, verdict, code = story(args.scenario, runtime)
        print(f"  {runtime:8s}  {wall:6.1f} s   exit {code}, {verdict}")


if __name__ == "__main__":
    main()
