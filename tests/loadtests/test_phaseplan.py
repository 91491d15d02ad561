"""The phases and control formats, the control-file reader and the per-step ramp of
loadtests/phaseplan.py, from tables (no Locust import)."""

from __future__ import annotations

import importlib.util
import json
import math
import os
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


# ---------------------------------------------------------------- per-class rates, control file


def test_user_class_names_include_ping_user() -> None:
    assert set(pp.USER_CLASS_NAMES) == {"CpuUser", "ErrorUser", "PingUser"}


def test_rate_per_user_per_class() -> None:
    (phase,) = pp.parse_phases(
        [{"duration": 1, "users": {"CpuUser": 1, "PingUser": 1}, "rate_per_user": {"CpuUser": 2, "PingUser": 5.5}}],
        pp.USER_CLASS_NAMES,
    )
    assert phase.rate_per_user == {"CpuUser": 2.0, "PingUser": 5.5}
    # a class not named sends without waiting, as with no rate at all
    assert (phase.rate_for("CpuUser"), phase.rate_for("PingUser"), phase.rate_for("ErrorUser")) == (2.0, 5.5, None)
    (flat,) = pp.parse_phases([{"duration": 1, "rate_per_user": 3}], KNOWN)
    assert (flat.rate_for("CpuUser"), flat.rate_for("PingUser")) == (3.0, 3.0)


@pytest.mark.parametrize(
    "rate, message",
    [
        ({"CpuUser": 0}, "'rate_per_user'['CpuUser'] must be > 0"),
        ({"Ghost": 1}, "unknown user class 'Ghost'"),
        ({"CpuUser": "fast"}, "must be a finite number"),
        ("fast", "'rate_per_user' must be a finite number"),
    ],
)
def test_rate_per_user_rejects(rate: Any, message: str) -> None:
    with pytest.raises(ValueError) as err:
        pp.parse_phases([{"duration": 1, "rate_per_user": rate}], KNOWN)
    assert message in str(err.value)


def test_parse_control_full_and_defaults() -> None:
    control = pp.parse_control(
        {"users": {"ErrorUser": 1, "PingUser": 1}, "spawn_rate": 10, "cpu_ms": 5, "error_status": 502,
         "rate_per_user": {"PingUser": 5}, "stop": False},
        pp.USER_CLASS_NAMES,
    )
    assert control == pp.Control(pp.Phase("control", math.inf, {"ErrorUser": 1, "PingUser": 1}, 10.0, 5.0,
                                          {"PingUser": 5.0}, 502), stop=False)
    assert pp.parse_control({}, KNOWN) == pp.IDLE
    assert pp.parse_control({"stop": True}, KNOWN).stop is True


@pytest.mark.parametrize(
    "raw, message",
    [
        ([], "must be a JSON object"),
        ({"duration": 5}, "unknown keys ['duration']"),
        ({"name": "x"}, "unknown keys ['name']"),
        ({"stop": "yes"}, "'stop' must be true or false"),
        ({"users": {"Ghost": 1}}, "unknown user class 'Ghost'"),
        ({"users": {"CpuUser": -2}}, "must be an integer >= 0"),
        ({"error_status": 200}, "must be an HTTP 5XX code"),
    ],
)
def test_parse_control_rejects(raw: Any, message: str) -> None:
    with pytest.raises(ValueError) as err:
        pp.parse_control(raw, KNOWN)
    assert message in str(err.value)


K1, K2 = (7, 10, 1_000_000_000), (8, 10, 1_000_000_000)


@pytest.mark.parametrize(
    "key, last, mtime, now, expected",
    [
        (None, K1, 1.0, 100.0, False),  # no file: nothing to read (the last load stays)
        (K1, None, 1.0, 100.0, True),  # first sight
        (K2, K1, 1.0, 100.0, True),  # renamed over: another inode
        (K1, K1, 1.0, 100.0, False),  # unchanged and old: a stat is all it costs
        (K1, K1, 99.0, 100.0, True),  # unchanged but recent: may be a same-tick rewrite, read it
        (K1, K1, 98.0, 100.0, False),  # exactly racy_s old: settled
    ],
)
def test_needs_reread(key: Any, last: Any, mtime: float, now: float, expected: bool) -> None:
    assert pp.needs_reread(key, last, mtime, now, 2.0) is expected


def _write(path: Path, obj: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(obj if isinstance(obj, str) else json.dumps(obj), encoding="utf-8")
    os.replace(tmp, path)


def test_control_reader_keeps_last_good_load(tmp_path: Path) -> None:
    path = tmp_path / "control.json"
    reader = pp.ControlReader(path, pp.USER_CLASS_NAMES)
    far = 1e12  # a "now" long after any mtime: only stat changes trigger reads

    control, warning = reader.poll(far)
    assert control == pp.IDLE and warning is not None and "Cannot stat the control file" in warning
    assert reader.poll(far) == (pp.IDLE, None)  # the same problem is reported once

    _write(path, {"users": {"CpuUser": 2}, "spawn_rate": 4})
    control, warning = reader.poll(far)
    assert warning is None and control.phase.users == {"CpuUser": 2} and control.phase.spawn_rate == 4.0
    assert reader.poll(far)[0] is control  # unchanged: the same object (the shape logs changes by identity)

    path.write_text('{"users": {"CpuUser"', encoding="utf-8")  # a writer caught half-way
    got, warning = reader.poll(far)
    assert got is control and warning is not None and "Ignoring the control file" in warning

    _write(path, {"users": {"ErrorUser": 1}, "rate_per_user": {"ErrorUser": 9}})
    got, warning = reader.poll(far)
    assert warning is None and got.phase.users == {"ErrorUser": 1} and got.phase.rate_for("ErrorUser") == 9.0

    _write(path, {"users": {"Ghost": 1}})  # valid JSON, invalid load
    again, warning = reader.poll(far)
    assert again is got and warning is not None and "unknown user class 'Ghost'" in warning

    path.unlink()
    assert reader.poll(far)[0] is got  # gone: the last good load stays

    _write(path, {"stop": True})
    assert reader.poll(far)[0].stop is True


def test_control_reader_sees_a_same_tick_rewrite(tmp_path: Path) -> None:
    """Same inode, size and mtime (an in-place rewrite within one timestamp tick): caught only while
    the mtime is recent, by reading and comparing the content."""
    path = tmp_path / "control.json"
    path.write_text(json.dumps({"users": {"CpuUser": 1}}), encoding="utf-8")
    st = path.stat()
    reader = pp.ControlReader(path, KNOWN)
    mtime = st.st_mtime_ns / 1e9
    assert reader.poll(mtime + 10)[0].phase.users == {"CpuUser": 1}

    path.write_text(json.dumps({"users": {"CpuUser": 2}}), encoding="utf-8")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (path.stat().st_ino, path.stat().st_size) == (st.st_ino, st.st_size)
    assert reader.poll(mtime + 10)[0].phase.users == {"CpuUser": 1}  # old mtime: trusted, not read
    assert reader.poll(mtime + 0.5)[0].phase.users == {"CpuUser": 2}  # recent mtime: read, and changed
