"""The phases format and the per-step ramp of loadtests/phaseplan.py, from tables (no Locust import)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("phaseplan", ROOT / "loadtests" / "phaseplan.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["phaseplan"] = module
    spec.loader.exec_module(module)
    return module


pp = _load()
KNOWN = ("CpuUser", "ErrorUser")


def test_parse_full_phase_and_defaults() -> None:
    phases = pp.parse_phases(
        [
            {"name": "a", "duration": 2, "users": {"CpuUser": 3}, "spawn_rate": 5, "cpu_ms": 40, "rate_per_user": 2},
            {"duration": 1.5, "users": {"ErrorUser": 1}, "error_status": 502},
        ],
        KNOWN,
    )
    assert phases[0] == pp.Phase("a", 2.0, {"CpuUser": 3}, 5.0, 40.0, 2.0, None)
    assert phases[1] == pp.Phase("phase-2", 1.5, {"ErrorUser": 1}, 1.0, None, None, 502)
    assert pp.total_duration(phases) == 3.5


@pytest.mark.parametrize(
    "raw, message",
    [
        ({}, "non-empty JSON list"),
        ([], "non-empty JSON list"),
        ([{"users": {}}], "has no 'duration'"),
        ([{"duration": 0}], "'duration' must be > 0"),
        ([{"duration": 1, "users": {"Bogus": 1}}], "unknown user class 'Bogus'"),
        ([{"duration": 1, "users": {"CpuUser": -1}}], "must be an integer >= 0"),
        ([{"duration": 1, "users": {"CpuUser": 1.5}}], "must be an integer >= 0"),
        ([{"duration": 1, "spawn_rate": 0}], "'spawn_rate' must be > 0"),
        ([{"duration": 1, "rate_per_user": 0}], "'rate_per_user' must be > 0"),
        ([{"duration": 1, "error_status": 404}], "must be an HTTP 5XX code"),
        ([{"duration": 1, "cpu_ms": "x"}], "'cpu_ms' must be a finite number"),
        ([{"duration": 1, "colour": "red"}], "unknown keys ['colour']"),
        ([{"duration": 1}, {"name": "b", "duration": -1}], "Phase 2 ('b')"),
    ],
)
def test_parse_rejects_with_a_sentence(raw: Any, message: str) -> None:
    with pytest.raises(ValueError) as err:
        pp.parse_phases(raw, KNOWN)
    assert message in str(err.value)


def test_unknown_class_allowed_when_classes_unknown() -> None:
    assert pp.parse_phases([{"duration": 1, "users": {"Other": 1}}], None)[0].users == {"Other": 1}


def test_load_phases_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "p.json"
    bad.write_text("[{", encoding="utf-8")
    with pytest.raises(ValueError, match=str(bad)):
        pp.load_phases(bad, KNOWN)


@pytest.mark.parametrize(
    "elapsed, expected",
    [(0.0, "a"), (1.999, "a"), (2.0, "b"), (4.999, "b"), (5.0, None), (100.0, None)],
)
def test_phase_at(elapsed: float, expected: str | None) -> None:
    phases = pp.parse_phases([{"name": "a", "duration": 2}, {"name": "b", "duration": 3}], KNOWN)
    phase = pp.phase_at(phases, elapsed)
    assert (phase.name if phase else None) == expected


@pytest.mark.parametrize(
    "current, target, budget, start, stop, left",
    [
        # nothing to do: the budget is kept (the caller caps it)
        ({"CpuUser": 2}, {"CpuUser": 2}, 0.7, {}, {}, 0.7),
        # ramp limited by the budget, fraction kept for the next step
        ({"CpuUser": 0}, {"CpuUser": 4}, 2.5, {"CpuUser": 2}, {}, 0.5),
        ({}, {"CpuUser": 4}, 0.9, {}, {}, 0.9),
        # switch class: surplus stops at once, the new class ramps
        ({"CpuUser": 2, "ErrorUser": 0}, {"ErrorUser": 2}, 5.0, {"ErrorUser": 2}, {"CpuUser": 2}, 3.0),
        # mixed ramp alternates classes in name order
        ({}, {"CpuUser": 2, "ErrorUser": 2}, 3.0, {"CpuUser": 2, "ErrorUser": 1}, {}, 0.0),
        # partial decrease of one class, increase of the other
        ({"CpuUser": 3, "ErrorUser": 2}, {"CpuUser": 1, "ErrorUser": 3}, 1.0, {"ErrorUser": 1}, {"CpuUser": 2}, 0.0),
    ],
)
def test_next_step(
    current: dict[str, int], target: dict[str, int], budget: float, start: dict[str, int], stop: dict[str, int], left: float
) -> None:
    got_start, got_stop, got_left = pp.next_step(current, target, budget)
    assert (got_start, got_stop) == (start, stop)
    assert got_left == pytest.approx(left)


def test_example_phase_files_are_valid() -> None:
    files = sorted((ROOT / "loadtests" / "phases").glob("*.json"))
    assert files
    for path in files:
        assert pp.load_phases(path, KNOWN)
