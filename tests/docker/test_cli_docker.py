"""`harness run --runtime docker` end to end: a real scenario with real containers, and Ctrl-C.

Skipped until the CLI has `--runtime` (the lead wires it). The harness's containers are found by
their `harness.pid` label: the `harness` process that owns them.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from harness.ecs.docker import LABEL_PID
from harness.net import free_port

REPO = Path(__file__).resolve().parents[2]
RUN_TIMEOUT = 420  # wall seconds; full-story takes about 60 s here


def _cli_has_runtime() -> bool:
    out = subprocess.run([sys.executable, "-m", "harness.cli", "run", "--help"], cwd=REPO, capture_output=True, text=True)
    return "--runtime" in out.stdout


pytestmark = [
    pytest.mark.slow,  # live runs with Docker
    pytest.mark.timeout(RUN_TIMEOUT + 60),
    pytest.mark.skipif(not _cli_has_runtime(), reason="`harness run --runtime` is not wired into the CLI yet"),
]


def owned(client: Any, pid: int) -> list[dict[str, Any]]:
    """One engine call (no per-container inspect that races with the harness removing them)."""
    return [c for c in client.api.containers(all=True, filters={"label": LABEL_PID})
            if (c.get("Labels") or {}).get(LABEL_PID, "").startswith(f"{pid}:")]


def harness(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "--home", str(tmp_path / "home"), "run", *args, "--runtime", "docker",
         "--cloud-port", str(free_port()), "--report-dir", str(tmp_path / "report")],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def test_full_story_with_containers(image: str, client: Any, tmp_path: Path) -> None:
    """Scale out to MaxCapacity, back to MinCapacity, alert emails: the process runtime's acceptance, in containers."""
    p = harness(tmp_path, "full-story")
    seen: set[str] = set()
    try:
        deadline = time.monotonic() + RUN_TIMEOUT
        while p.poll() is None and time.monotonic() < deadline:
            seen.update(c["Id"] for c in owned(client, p.pid))
            time.sleep(0.5)
        out, _ = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert [v for v in report["verdicts"] if not v["passed"]] == [], out[-4000:]
    assert p.returncode == 0, out[-4000:]
    desired = [e["new"] for e in report["events"] if e["kind"] == "desired"]
    assert desired == [3, 4, 3, 2], desired  # infrastructure/ecs.yml: 2 -> MaxCapacity 4 -> MinCapacity 2
    subjects = [m["subject"] for m in report["emails"]]
    assert any(s.startswith('ALARM: "ecs-CPUTooHighAlarm-') for s in subjects), subjects
    assert len(seen) >= 4, seen  # the tasks really were containers
    assert owned(client, p.pid) == []


def test_ctrl_c_leaves_no_container(image: str, client: Any, tmp_path: Path) -> None:
    p = harness(tmp_path, "scale-out")
    try:
        deadline = time.monotonic() + 120
        while len([c for c in owned(client, p.pid) if c["State"] == "running"]) < 2:
            assert p.poll() is None and time.monotonic() < deadline, "no two running task containers"
            time.sleep(0.2)
        p.send_signal(signal.SIGINT)
        out, _ = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert owned(client, p.pid) == [], out[-3000:]
