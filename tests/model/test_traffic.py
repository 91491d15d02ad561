"""Traffic traces: CSV rules (header, seconds or ISO times, counts) and shapes; bad traces name the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.model.traffic import DEFAULT_START, load_trace, parse_csv, shape


@pytest.mark.parametrize(
    ("text", "unit", "rps"),
    [
        ("0,10\n60,20\n120,5\n", "auto", (10.0, 20.0, 5.0)),  # seconds, no header, rps
        ("time,rps\n0,10\n60,20\n", "auto", (10.0, 20.0)),  # header row
        ("t,RequestCount\n0,600\n60,1200\n", "auto", (10.0, 20.0)),  # a count header: per-row counts
        ("t,Sum\n0,600\n300,3000\n", "auto", (2.0,) * 5 + (10.0,) * 5),  # 5-minute counts, held 5 minutes
        ("0,600\n60,1200\n", "count", (10.0, 20.0)),  # the flag
        ("t,RequestCount\n0,6\n60,12\n", "rps", (6.0, 12.0)),  # the flag beats the header rule
        ("0,10\n30,20\n60,30\n", "auto", (15.0, 30.0)),  # 30 s rows averaged into minutes (the last half-covered)
        ("# exported\n\n0,1\n60,2\n", "auto", (1.0, 2.0)),  # comments and blank lines
    ],
)
def test_csv_rules(text: str, unit: str, rps: tuple[float, ...]) -> None:
    assert parse_csv(text, "t.csv", unit=unit).rps == rps


def test_iso_timestamps_start_the_virtual_clock_at_the_trace() -> None:
    trace = parse_csv("Timestamp,RequestCount\n2026-11-28T10:00:00Z,60\n2026-11-28T10:01:00Z,120\n", "alb.csv")
    assert trace.rps == (1.0, 2.0)
    assert trace.start == 1795860000.0  # 2026-11-28 10:00:00 UTC
    assert parse_csv("0,1\n60,2\n").start == DEFAULT_START


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0,10\n120,20\n60,30\n", "t.csv line 3: time 60 is not after line 2's; sort the rows by time"),
        ("0,10\n60,-3\n", "t.csv line 2: rate -3 is negative"),
        ("time,rps\n0,10\n60,lots\n", "t.csv line 3: rate 'lots' is not a number"),
        ("0,10\n60\n", "t.csv line 2: expected two columns (time, requests per second), got 1"),
        ("0,10\nyesterday,5\n", "t.csv line 2: time 'yesterday' is neither seconds nor an ISO 8601 timestamp"),
        ("time,rps\n", "t.csv: no data rows"),
        ("0,nan\n", "t.csv line 1: rate 'nan' is not a finite number"),
    ],
)
def test_bad_csv_names_the_line(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_csv(text, "t.csv")
    assert message in str(err.value)


def test_missing_file_and_unknown_shape(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_trace(str(tmp_path / "nope.csv"))
    with pytest.raises(ConfigError, match=r"not a CSV file and not a known shape \(shapes: diurnal, ramp, spike, step"):
        load_trace("sine:base=1")
    with pytest.raises(ConfigError, match="shape ramp has no parameter 'peak'"):
        load_trace("ramp:from=1,peak=3")
    with pytest.raises(ConfigError, match="base='x' is not a number"):
        load_trace("diurnal:base=x")
    with pytest.raises(ConfigError, match="must be a non-negative number"):
        load_trace("spike:peak=-5")
    with pytest.raises(ConfigError, match="needs levels"):
        load_trace("step:minutes=3")


def test_a_csv_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "trace.csv"
    path.write_text("time,rps\n0,4\n60,8\n")
    assert load_trace(str(path)).rps == (4.0, 8.0)
    assert load_trace(str(path), unit="count").rps == (4 / 60, 8 / 60)


def test_shapes() -> None:
    day = shape("diurnal:base=50,peak=400,hours=24")
    assert day.minutes == 1440
    assert min(day.rps) == pytest.approx(50.0, abs=0.01) and max(day.rps) == pytest.approx(400.0, abs=0.01)
    assert day.rps.index(max(day.rps)) in (719, 720)  # the peak at noon
    assert shape("diurnal:days=7").minutes == 7 * 1440
    assert shape("ramp:from=0,to=10,minutes=5,before=2,hold=1").rps == (0, 0, 1, 3, 5, 7, 9, 10)
    assert shape("spike:base=1,peak=9,at=2,minutes=2").rps == (1, 1, 9, 9, 1, 1)
    assert shape("step:levels=5/50,minutes=2").rps == (5, 5, 50, 50)
