"""Any size on any machine, end to end (issue 10): the full story on a template larger than this
machine (12 tasks x 1 vCPU on a 2-core box, run at the CPU scale auto chooses); a phase that cannot be
produced here refused at start, naming the phase and its numbers; a control loop that raises stops the
run at once, named, with the report written and a non-zero exit."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.test_scenarios import REPO, failed, free_port, marked, run

MEDIUM = "tests/data/size/medium-3-12x1024.yml"


def run_in_process(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, float]:
    """`harness run` (the full story) in this process: exit code, what it printed, wall seconds."""
    from harness import cli

    t0 = time.monotonic()
    code = cli.main(["--home", str(tmp_path / "home"), "run", "--cloud-port", str(free_port()),
                     "--report-dir", str(tmp_path / "report")])
    wall = time.monotonic() - t0
    out = capsys.readouterr()
    return code, out.out + out.err, wall


def children() -> set[Any]:
    """This process's live child processes (the session's own fixtures may already run some)."""
    import psutil

    return {p for p in psutil.Process().children(recursive=True) if p.status() != psutil.STATUS_ZOMBIE}


@pytest.mark.slow
def test_full_story_on_a_template_larger_than_the_machine(tmp_path: Path) -> None:
    proc, report = run(tmp_path, "full-story", "--template", MEDIUM)
    out = proc.stdout
    assert proc.returncode == 0 and report["passed"], (failed(report), out[-3000:])
    line = next(ln for ln in out.splitlines() if ln.startswith("cpu scale "))
    k = float(line.split()[2])
    assert 0 < k < 0.5 and "12 tasks x 1024 units at up to 93%" in line, line  # 11.2 vCPU on 2 cores
    assert max(e["new"] for e in report["events"] if e["kind"] == "desired") == 12
    assert any(ln.startswith("plan       cpu-alert:") and ln.endswith(": ok") for ln in out.splitlines())


@pytest.mark.slow
def test_a_phase_that_cannot_be_produced_is_refused_at_start(tmp_path: Path) -> None:
    """At cpu scale 1 the 3..12 x 1024 template needs over 10 vCPU in its cpu-high phase: refused before load.
    The refusal's vCPU is the start line's: 12 tasks x 1024 units at the highest utilization the scenario
    drives. Which other limits it names beside the cores (Locust's, the load balancer's rate) depends on the
    costs measured on this machine."""
    mark = uuid.uuid4().hex
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "harness.cli", "--home", str(tmp_path / "home"), "run", "--template", MEDIUM,
         "--cpu-scale", "1", "--cloud-port", str(free_port()), "--report-dir", str(tmp_path / "report")],
        cwd=REPO, capture_output=True, text=True, timeout=300, env={**os.environ, "HARNESS_TEST_MARK": mark},
    )
    wall = time.monotonic() - t0
    assert marked(mark) == [], "left running"
    err = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "phase cpu-high cannot be produced here at cpu scale 1:" in err, err[-3000:]
    start = re.search(r"^cpu scale 1 \([^)]*\): 12 tasks x 1024 units at up to (\d+)%", err, re.M)
    assert start, err[-3000:]
    refused = re.search(r"cpu-high cannot be produced here at cpu scale 1: \d+ requests/s, 12 tasks, ([\d.]+) vCPU", err)
    assert refused and float(refused[1]) == pytest.approx(12 * int(start[1]) / 100, abs=0.06), err[-3000:]
    assert float(refused[1]) > 10 and "this process may use" in err
    assert "Traceback" not in err
    assert "load       one /cpu" not in err  # stopped before any load phase: not even calibrated
    assert wall < 120, wall  # at start, not after the phase's minutes


@pytest.mark.slow
def test_a_control_loop_that_raises_stops_the_run_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """The failure is injected at the alarm evaluator's evaluate_once (ours): the run stops at the first
    evaluation, the report names the loop, the exit is non-zero, nothing is left running."""
    from harness.cloudwatch.alarms import AlarmEvaluator

    async def boom(self: AlarmEvaluator, now: float) -> Any:
        raise RuntimeError("injected: the evaluator's datastore is gone")

    monkeypatch.setattr(AlarmEvaluator, "evaluate_once", boom)
    before = children()  # the session's own fixtures (a shared moto server) may already run
    code, text, wall = run_in_process(tmp_path, capsys)
    assert code == 1, text[-3000:]
    assert "FAILED     control loop 'alarm evaluator': RuntimeError: injected" in text
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["passed"] is False
    assert report["failure"]["loop"] == "alarm evaluator" and "injected" in report["failure"]["error"]
    assert "Traceback" in report["failure"]["traceback"] and "boom" in report["failure"]["traceback"]
    assert [v["name"] for v in report["verdicts"]] == ["control loop 'alarm evaluator' keeps running"]
    assert any(e["kind"] == "loop-failed" and e["loop"] == "alarm evaluator" for e in report["events"])
    assert wall < 120, wall  # at once: the full story's phases would take minutes of budget
    assert children() - before == set(), "left running"


@pytest.mark.slow
@pytest.mark.harness_stack(cpu_scale=0.5)
def test_the_harness_stack_marker_sets_the_cpu_scale(harness_stack: Any) -> None:
    h = harness_stack.harness
    assert h.cpu_scale == 0.5 and h.cpu is not None and not h.cpu.auto
    assert h.runtime.cpu_scale == 0.5  # each task's quota: its reservation x 0.5


@pytest.mark.slow
def test_a_failing_smtp_sink_stops_the_run_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """The SMTP sink (its own thread) cannot store the first message SNS sends it, the subscription
    confirmation (a full disk, injected at Mailbox.add): the run stops at once, the report names the sink,
    the exit is non-zero, nothing is left running."""
    from harness.mailbox import Mailbox

    def full(self: Mailbox, raw: bytes) -> str:
        raise OSError(28, "injected: No space left on device")

    monkeypatch.setattr(Mailbox, "add", full)
    before = children()
    code, text, wall = run_in_process(tmp_path, capsys)
    assert code == 1, text[-3000:]
    assert "FAILED     control loop 'mail sink (SMTP)': CloudError: cannot store a message" in text, text[-3000:]
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["passed"] is False
    assert report["failure"]["loop"] == "mail sink (SMTP)"
    assert "No space left on device" in report["failure"]["error"] and "mailbox" in report["failure"]["error"]
    assert [v["name"] for v in report["verdicts"]] == ["control loop 'mail sink (SMTP)' keeps running"]
    assert any(e["kind"] == "loop-failed" and e["loop"] == "mail sink (SMTP)" for e in report["events"])
    assert wall < 120, wall  # at once: the story's email phases would wait minutes of budget
    assert children() - before == set(), "left running"
