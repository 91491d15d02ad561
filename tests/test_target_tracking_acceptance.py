"""Acceptance: the shipped `scale-out` scenario, unchanged, on a target tracking template
(tests/data/target-tracking/cpu.yml: ECSServiceAverageCPUUtilization at 60 %, ScaleOutCooldown 60 s,
2..4 tasks), end to end with real tasks, real load and the real alarm loop. The roles resolve to the
policy's AlarmHigh / AlarmLow, so the expectations read in its terms: CPU above the target value for 3
minutes raises AlarmHigh, the service scales out proportionally to MaxCapacity, one ScaleOutCooldown apart.

https://docs.aws.amazon.com/autoscaling/application/userguide/target-tracking-scaling-policy-overview.html
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_scenarios import desired_path, failed, run


@pytest.mark.slow
def test_scale_out_on_target_tracking(tmp_path: Path) -> None:
    proc, report = run(tmp_path, "scale-out", "--template", "tests/data/target-tracking/cpu.yml")
    assert report["scenario"] == "scale-out"
    assert report["verdicts"] and failed(report) == [], proc.stdout[-4000:]
    assert proc.returncode == 0
    # The alarm the verdicts judged is the one Application Auto Scaling made for the policy.
    crossing = next(v for v in report["verdicts"] if "goes to ALARM" in v["name"])
    assert crossing["name"].startswith("TargetTracking-service/"), crossing
    assert "-AlarmHigh-" in crossing["name"] and "GreaterThanThreshold 60 for 3 datapoint(s) of 60 s" in crossing["expected"]
    # Proportional steps, never past MaxCapacity (4): ceil(2 x CPU / 60) and on.
    path = desired_path(report)
    assert path and path[-1] == 4 and max(path) == 4 and path == sorted(path), path
    scaling = [e for e in report["events"] if e["kind"] == "scaling"]
    assert all(e["cause"].startswith("monitor alarm TargetTracking-service/") for e in scaling), scaling
    assert "StepScaling policies only" not in proc.stdout + proc.stderr


@pytest.mark.slow
def test_full_story_on_target_tracking(tmp_path: Path) -> None:
    """The shipped full story on the target tracking template: every expectation it can check passes. A
    cooldown verdict is shown not applicable, with its reason, exactly when the run gave it nothing to hold
    back: one proportional activity in that direction went straight to the bound (cpu-high drives past the
    CPU alert's 85 %, and ceil(2 x 93 / 60) = 4 = MaxCapacity; the idle service's one scale-in reaches
    MinCapacity). Whether the first scale-out's minute measured enough for one step or two is the run's
    measurement, so the test reads it from the run's activities. A skipped verdict is not counted as passed."""
    proc, report = run(tmp_path, "full-story", "--template", "tests/data/target-tracking/cpu.yml")
    assert proc.returncode == 0 and [v for v in failed(report) if not v.get("skipped")] == [], proc.stdout[-4000:]
    target = report["stack"]["scalable_targets"][0]
    changes = [(e["old"], e["new"]) for e in report["events"] if e["kind"] == "desired"]
    ups = [new for old, new in changes if new > old]
    downs = [new for old, new in changes if new < old]
    assert ups and ups[-1] == target["max_capacity"] and downs and downs[-1] == target["min_capacity"], changes
    for direction, steps, bound in (("scale-out", ups, "MaxCapacity"), ("scale-in", downs, "MinCapacity")):
        verdict = next(v for v in report["verdicts"] if v["name"].startswith(f"{direction} activities"))
        if len(steps) == 1:
            assert verdict.get("skipped") and "not applicable: the one activity" in verdict["observed"], verdict
            assert f"= {bound}" in verdict["observed"], verdict
        else:
            assert verdict["passed"] and not verdict.get("skipped"), verdict
    skipped = [v for v in report["verdicts"] if v.get("skipped")]
    assert all(" activities of " in v["name"] for v in skipped), skipped
    assert len(report["verdicts"]) == 11
    assert desired_path(report)[-1] == 2
