"""Acceptance: `harness run` end to end on the embedded cloud, with real load through the real load
balancer, real tasks, the real alarm evaluator and a real SMTP mailbox. Each scenario's expectations
are derived from the deployed template; these tests also read the report to check the story itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import psutil
import pytest

REPO = Path(__file__).resolve().parent.parent
RUN_TIMEOUT = 420  # wall seconds; a scenario takes 10 to 60 s here


def free_port() -> int:
    from harness.net import free_port as fp

    return fp()


def run(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    home, reports = tmp_path / "home", tmp_path / "report"
    mark = uuid.uuid4().hex  # inherited by every process the run starts: the cloud, tasks, Locust
    proc = subprocess.run(
        [sys.executable, "-m", "harness.cli", "--home", str(home), "run", *args,
         "--cloud-port", str(free_port()), "--report-dir", str(reports)],
        cwd=REPO, capture_output=True, text=True, timeout=RUN_TIMEOUT, env={**os.environ, "HARNESS_TEST_MARK": mark},
    )
    assert marked(mark) == [], "left running"
    report_file = reports / "report.json"
    assert report_file.exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    assert (reports / "report.html").exists()
    report = json.loads(report_file.read_text())
    from harness.report_schema import problems

    assert problems(report) == [], "report.json breaks harness/report.schema.json"
    return proc, report


def marked(mark: str) -> list[list[str]]:
    found = []
    for p in psutil.process_iter(["cmdline"]):
        try:
            if p.environ().get("HARNESS_TEST_MARK") == mark:
                found.append(p.info["cmdline"])
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
            pass
    return found


def failed(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [v for v in report["verdicts"] if not v["passed"]]


def desired_path(report: dict[str, Any]) -> list[int]:
    return [e["new"] for e in report["events"] if e["kind"] == "desired"]


@pytest.mark.slow
def test_full_story_is_the_default_and_every_expectation_holds(tmp_path: Path) -> None:
    proc, report = run(tmp_path)
    assert report["scenario"] == "full-story"
    assert failed(report) == [], proc.stdout[-4000:]
    assert proc.returncode == 0
    assert len(report["verdicts"]) == 11
    # The story as the template tells it: 2 -> 3 -> 4 and back, one step a cooldown.
    assert desired_path(report) == [3, 4, 3, 2]
    subjects = [m["subject"] for m in report["emails"]]
    for logical in ("CPUTooHighAlarm", "LoadBalancerTargetGroup5XXAlarm", "LoadBalancer5XXAlarm"):
        assert any(s.startswith('ALARM: "ecs-' + logical + "-") for s in subjects), subjects
    assert all(m["to"] == ["admin@example.com"] for m in report["emails"])
    kinds = {e["kind"] for e in report["events"]}
    assert {"sample", "metric", "alarm", "scaling", "desired", "tasks", "lb", "mail", "phase"} <= kinds
    assert report["template_seconds"] / report["wall_seconds"] > 20


@pytest.mark.slow
def test_another_template_behaves_by_its_own_numbers(tmp_path: Path) -> None:
    """tests/data/other-numbers.yml: other logical IDs; 1..3 tasks, +1/-1 steps, cooldown 120,
    thresholds 60 / 20 / 80 over 180 s. Nothing of infrastructure/ecs.yml may leak in. Its mail is
    also handed on to a relay (a real SMTP server here, as mailpit is in compose)."""
    from harness.mailbox import Mailbox, SmtpSink

    relayed = Mailbox(tmp_path / "relayed")
    with SmtpSink(relayed) as relay:
        proc, report = run(tmp_path, "full-story", "--template", "tests/data/other-numbers.yml",
                           "--mail-relay", f"127.0.0.1:{relay.port}")
    # Everything the harness's own mailbox got was handed on (the relay is drained before the run exits).
    kept = sorted(m.subject for m in Mailbox(tmp_path / "home" / "mailbox").messages())
    assert sum(s.startswith("ALARM") for s in kept) >= 3
    assert sorted(m.subject for m in relayed.messages()) == kept
    assert failed(report) == [], proc.stdout[-4000:]
    assert proc.returncode == 0
    assert desired_path(report) == [2, 3, 2, 1]
    thresholds = {a["role"]: a["threshold"] for a in report["stack"]["alarms"]}
    assert thresholds == {"scale_out": 60.0, "scale_in": 20.0, "cpu_alert": 80.0, "target_5xx": 0.0, "elb_5xx": 0.0}
    scalings = [e for e in report["events"] if e["kind"] == "scaling"]
    ups = [e["time"] for e in scalings if "HotCpu" in e["alarm"]]
    assert len(ups) == 2 and ups[1] - ups[0] >= 120
    assert all(m["to"] == ["ops@example.org"] for m in report["emails"])


# scale-out and 5xx-alerts are not run here: their load phases are the full story's own (the test above),
# and running them again cost a minute of CI. scale-in starts from set_desired; threshold-edge is unique.
@pytest.mark.slow
@pytest.mark.parametrize("scenario", ["scale-in", "threshold-edge"])
def test_shipped_scenario_passes(tmp_path: Path, scenario: str) -> None:
    proc, report = run(tmp_path, scenario)
    assert report["scenario"] == scenario
    assert report["verdicts"] and failed(report) == [], proc.stdout[-4000:]
    assert proc.returncode == 0


def test_an_unknown_scenario_is_named(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "--home", str(tmp_path), "run", "no-such-story"],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "no-such-story" in proc.stderr and "full-story" in proc.stderr
