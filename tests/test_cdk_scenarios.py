"""Acceptance: the shipped scenarios, unchanged, on the stacks `cdk synth` emits (tests/data/cdk: one
Fargate service behind a public ALB, 256 CPU units, 2..6 tasks, awsvpc tasks in an `ip` target group).

- CdkStepStack: `scaleOnMetric` step scaling, an upper and a lower policy (MetricAggregationType
  Maximum), one alarm each, steps relative to each alarm: `scale-out` and `scale-in`.
- CdkTargetStack: `scaleOnCpuUtilization` target tracking: `scale-out` (the roles resolve to the
  AlarmHigh / AlarmLow Application Auto Scaling creates for the policy).

Neither stack has an SNS topic (CDK's default), so no expectation here needs an email. The output must
carry no traceback, no ERROR line and none of the ELBv2 `InvalidTarget` warnings awsvpc tasks used to give.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_scenarios import desired_path, failed, run

CDK = Path("tests/data/cdk")


def _clean(text: str) -> None:
    for bad in ("Traceback", "ERROR", "InvalidTarget"):
        assert bad not in text, text[-3000:]


@pytest.mark.slow
@pytest.mark.parametrize("scenario", ["scale-out", "scale-in"])
def test_step_scaling_stack(tmp_path: Path, scenario: str) -> None:
    proc, report = run(tmp_path, scenario, "--template", str(CDK / "CdkStepStack.template.json"))
    assert report["scenario"] == scenario
    assert report["verdicts"] and failed(report) == [], proc.stdout[-4000:]
    assert proc.returncode == 0
    _clean(proc.stdout + proc.stderr)
    assert "awsvpc (ip targets)" in proc.stdout, proc.stdout[-3000:]
    path = desired_path(report)
    assert path, "no desired-count change"
    assert path == (sorted(path) if scenario == "scale-out" else sorted(path, reverse=True)), path


@pytest.mark.slow
def test_target_tracking_stack_scales_out(tmp_path: Path) -> None:
    proc, report = run(tmp_path, "scale-out", "--template", str(CDK / "CdkTargetStack.template.json"))
    assert report["verdicts"] and failed(report) == [], proc.stdout[-4000:]
    assert proc.returncode == 0
    _clean(proc.stdout + proc.stderr)
    crossing = next(v for v in report["verdicts"] if "goes to ALARM" in v["name"])
    assert crossing["name"].startswith("TargetTracking-service/") and "-AlarmHigh-" in crossing["name"], crossing
    path = desired_path(report)
    assert path and path == sorted(path), path
