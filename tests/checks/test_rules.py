"""Each check finding from its own template (tests/data/check/, infrastructure/ecs.yml with one change),
deployed to the session's embedded cloud and read back, so intrinsics resolve as in `up`; the shipped
infrastructure/ecs.yml is clean. Plus the step-side rule from AWS's bound table, on plain data."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from harness.checks import ERROR, WARNING, Finding
from harness.checks.output import line_of, template_lines
from harness.checks.rules import _step_covers_side
from harness.checks.run import check_deployed
from harness.cloud.clients import Aws
from harness.deploy import deploy, teardown
from harness.stack import StepAdjustment

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "check"

# template -> the exact (rule id, severity, logical id, line's key) it must produce
CASES: dict[str, list[tuple[str, str, str, str]]] = {
    "scale-in-step-never-matches": [("step-never-matches", ERROR, "ScaleDownPolicy", "StepAdjustments")],
    "scale-out-step-never-matches": [("step-never-matches", ERROR, "ScaleUpPolicy", "StepAdjustments")],
    "policy-unattached": [("policy-unattached", WARNING, "ScaleDownPolicy", "Properties")],
    "alarm-action-dangling": [("alarm-action-dangling", ERROR, "CPUTooHighAlarm", "AlarmActions")],
    "dimensions-literal-service": [("alarm-dimensions-never-match", ERROR, "CPUUtilizationHighAlarm", "Dimensions")],
    "dimensions-wrong-cluster": [("alarm-dimensions-never-match", ERROR, "CPUUtilizationLowAlarm", "Dimensions")],
    "dimensions-literal-load-balancer": [("alarm-dimensions-never-match", ERROR, "LoadBalancer5XXAlarm", "Dimensions")],
    "thresholds-flap": [("scaling-flaps", WARNING, "CPUUtilizationLowAlarm", "Threshold")],
    "thresholds-overlap": [("scaling-flaps", ERROR, "CPUUtilizationLowAlarm", "Threshold")],
    "cooldown-short": [("cooldown-shorter-than-alarm", WARNING, "ScaleUpPolicy", "Cooldown")],
    "cooldown-default-short": [("cooldown-shorter-than-alarm", WARNING, "ScaleUpPolicy", "StepScalingPolicyConfiguration")],
    "desired-out-of-range": [("capacity-out-of-range", WARNING, "Service", "DesiredCount")],
    "min-above-max": [("capacity-out-of-range", ERROR, "ScalableTarget", "MinCapacity")],
    "sparse-metric-missing-data": [("sparse-metric-missing-data", ERROR, "LoadBalancerTargetGroup5XXAlarm", "Properties")],
    "target-tracking-no-target-group": [
        ("target-tracking-no-data-source", ERROR, "RequestCountPolicy", "PredefinedMetricSpecification")],
    "target-tracking-ok": [],
}


def _deploy_and_check(aws: Aws, template: Path) -> list[Finding]:
    deployment = deploy(aws, template, {}, stack_name="check-case")
    try:
        return check_deployed(aws, deployment.stack_name)[1]
    finally:
        teardown(aws, deployment)


FindingsOf = Callable[[Aws, Path], list[Finding]]


@pytest.fixture(scope="module")
def findings_of() -> FindingsOf:
    """The findings of a template deployed to the session's cloud (and torn down), once per template in
    this module: several tests read the same case's findings."""
    done: dict[Path, list[Finding]] = {}

    def of(aws: Aws, template: Path) -> list[Finding]:
        if template not in done:
            done[template] = _deploy_and_check(aws, template)
        return done[template]

    return of


def key_line(template: Path, logical_id: str, key: str) -> int:
    """The line of `key` inside resource `logical_id`, found by plain text search (independent of the YAML marks)."""
    lines = template.read_text().splitlines()
    start = lines.index(f"  {logical_id}:")
    return next(i for i in range(start, len(lines)) if lines[i].strip().startswith(f"{key}:")) + 1


def test_every_case_template_exists() -> None:
    assert sorted(p.stem for p in DATA.glob("*.yml")) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_finding_from_its_template(aws: Aws, findings_of: FindingsOf, name: str) -> None:
    template = DATA / f"{name}.yml"
    found = findings_of(aws, template)
    assert [(f.rule.id, f.severity, f.logical_id) for f in found] == [(r, s, l) for r, s, l, _ in CASES[name]]
    lines = template_lines(template)
    for f, (_, _, logical_id, key) in zip(found, CASES[name]):
        assert f.rule.doc_url.startswith("https://docs.aws.amazon.com/")
        assert f.fix and f.message
        assert line_of(lines, f) == key_line(template, logical_id, key)


def test_shipped_template_is_clean(aws: Aws, findings_of: FindingsOf) -> None:
    assert findings_of(aws, REPO / "infrastructure" / "ecs.yml") == []


def test_broken_scale_in_names_alarm_threshold_and_fix(aws: Aws, findings_of: FindingsOf) -> None:
    (f,) = findings_of(aws, DATA / "scale-in-step-never-matches.yml")
    assert "LessThanThreshold 30" in f.message and "breach threshold 30.0'" in f.message
    assert "[0, null)" in f.message
    assert "MetricIntervalUpperBound: 0" in f.fix


def test_flapping_names_the_capacities_and_the_result(aws: Aws, findings_of: FindingsOf) -> None:
    (f,) = findings_of(aws, DATA / "thresholds-flap.yml")
    # ecs.yml's numbers with scale-in at 50: at 3 tasks -25% removes 1 (rounded to -1); 50 x 3/2 = 75 > 70.
    assert "at 3 tasks" in f.message and "50 x 3/2 = 75.0" in f.message and "threshold 70" in f.message
    assert "46.7" in f.fix


# Step bounds relative to the threshold; "If the metric value is above the breach threshold, the lower bound
# is inclusive and the upper bound is exclusive. If the metric value is below the breach threshold, the lower
# bound is exclusive and the upper bound is inclusive."
# https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-step-scaling-policies.html
@pytest.mark.parametrize(("lower", "upper", "above", "reachable"), [
    (0, None, True, True),        # the usual scale-out step
    (None, 0, False, True),       # the usual scale-in step
    (0, None, False, False),      # the article's scale-in step: breaches below the threshold are < 0
    (None, 0, True, False),       # the mirror: upper bound 0 is exclusive above the threshold
    (-10, 0, True, False),
    (None, -10, False, True),     # a deep scale-in step
    (10, None, True, True),       # a step for large breaches only is still reachable
    (0, 10, False, False),
    (-5, 5, False, True),
])
def test_step_side_table(lower: float | None, upper: float | None, above: bool, reachable: bool) -> None:
    assert _step_covers_side(StepAdjustment(lower, upper, -1.0), above) is reachable
