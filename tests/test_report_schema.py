"""report.json has a documented JSON Schema (harness/report.schema.json); every report a real run writes
is checked against it (tests/test_scenarios.py, tests/test_packaging.py); here: the schema itself is
valid, ships with the package, and rejects what a reader could not rely on."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import pytest

from harness import report_schema, resources


def minimal_report() -> dict[str, Any]:
    """A report as build_report writes one, small: one alarm, one phase, a few events, one verdict."""
    t = 1_700_000_000.0
    return {
        "scenario": "scale-out", "description": "d", "template": "/x/ecs.yml", "time_scale": 30.0,
        "cloud": "http://127.0.0.1:4566", "started": t, "ended": t + 600, "wall_seconds": 20.5,
        "template_seconds": 600.0, "passed": True, "cpu_cost_ms": 11.2, "calibration": {}, "skipped_phases": [],
        "stack": {"alarms": [{"name": "hi", "metric": "CPUUtilization", "namespace": "AWS/ECS", "statistic": "Average",
                              "period": 60, "evaluation_periods": 1, "threshold": 70.0,
                              "comparison_operator": "GreaterThanThreshold", "role": "scale_out"}],
                  "scalable_targets": [{"resource_id": "service/c/s", "min_capacity": 2, "max_capacity": 4}],
                  "policies": [{"name": "up", "adjustment_type": "ChangeInCapacity", "cooldown": 300.0,
                                "steps": [{"lower": 0.0, "upper": None, "adjustment": 1.0}]}]},
        "phases": [{"name": "cpu-high", "start": t, "end": t + 300}],
        "events": [
            {"time": t, "kind": "phase", "name": "cpu-high", "action": "start"},
            {"time": t + 60, "kind": "alarm", "name": "hi", "old": "INSUFFICIENT_DATA", "new": "ALARM", "reason": "r"},
            {"time": t + 60, "kind": "desired", "old": 2, "new": 3, "policy": "up", "resource_id": "service/c/s"},
            {"time": t + 61, "kind": "task", "task_id": "abc", "action": "started", "reason": ""},
            {"time": t + 62, "kind": "something-new", "anything": 1},
        ],
        "verdicts": [{"name": "v", "expected": "e", "observed": "o", "passed": True}],
        "emails": [{"time": t + 70, "to": ["admin@example.com"], "subject": "ALARM: hi", "body": "b"}],
        "load": {"total": {"requests": 10}}, "python": "3.11.7",
    }


def test_the_schema_is_a_valid_2020_12_schema_shipped_with_the_package() -> None:
    jsonschema.Draft202012Validator.check_schema(report_schema.schema())
    assert (resources.package_root() / report_schema.SCHEMA_FILE).is_file()


def test_a_well_formed_report_has_no_problems() -> None:
    assert report_schema.problems(minimal_report()) == []


@pytest.mark.parametrize(("break_it", "problem"), [
    (lambda r: r.pop("verdicts"), "(top): 'verdicts' is a required property"),
    (lambda r: r.update(passed="yes"), "passed: 'yes' is not of type 'boolean'"),
    (lambda r: r["events"][1].update(new="FIRING"), "events/1/new: 'FIRING' is not one of"),
    (lambda r: r["events"][2].pop("new"), "events/2: 'new' is a required property"),
    (lambda r: r["events"][3].update(task_id=7), "events/3/task_id: 7 is not of type 'string'"),
    (lambda r: r["events"][0].pop("time"), "events/0: 'time' is a required property"),
    (lambda r: r["stack"]["alarms"][0].update(period=0), "stack/alarms/0/period: 0 is less than the minimum of 1"),
    (lambda r: r["emails"][0].update(to="admin@example.com"), "emails/0/to: 'admin@example.com' is not of type 'array'"),
])
def test_what_a_reader_relies_on_is_checked(break_it: Any, problem: str) -> None:
    report = copy.deepcopy(minimal_report())
    break_it(report)
    found = report_schema.problems(report)
    assert any(p.startswith(problem) for p in found), found
