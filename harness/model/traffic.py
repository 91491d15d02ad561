"""Traffic traces for model mode: a CSV of (time, rate) or a named shape, as requests per second per minute.

A team plans capacity from the traffic it had (an ALB RequestCount export) or the traffic it expects (a
launch-day spike). The model runs at CloudWatch's one-minute resolution (alarms are evaluated every minute:
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html), so every trace
becomes one offered rate (requests per second) per template minute.

CSV rules (documented in the README, "Model mode"):
- two or more columns; the first is the time, the second the value; further columns are ignored;
- an optional header row (its first cell is not a number nor a timestamp);
- time in seconds (relative or epoch) or ISO 8601 timestamps (`2026-11-28T10:00:00Z`), strictly increasing;
- each row's value holds until the next row (the last row lasts as long as the one before it, or a minute);
- the value is requests per second, unless `unit` is `count` (requests counted over the row's interval,
  as in a CloudWatch RequestCount Sum), or `unit` is `auto` (the default) and the value column's header
  contains "count" or is "sum".
Every bad line is named: `traffic.csv line 7: rate -3 is negative`.

Shapes (`NAME:key=value,...`, durations in minutes unless named `hours`/`days`):
- `diurnal:base=50,peak=400,hours=24[,period_hours=24,peak_hour=12]`: a cosine day, base at midnight;
- `ramp:from=10,to=400,minutes=60[,before=0,hold=0]`: linear from `from` to `to`;
- `spike:base=50,peak=800,at=30,minutes=10[,total=...]`: base, then peak for `minutes` from minute `at`;
- `step:levels=50/200/50,minutes=20`: each level for `minutes`.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from harness.errors import ConfigError

MINUTE = 60.0
# The model's virtual clock starts here when the trace has no timestamps of its own (a Monday, 00:00 UTC).
DEFAULT_START = datetime(2026, 11, 30, tzinfo=timezone.utc).timestamp()
UNITS = ("auto", "rps", "count")


@dataclass(frozen=True)
class Trace:
    """Offered load, one value per template minute: `rps[i]` holds over [start + 60 i, start + 60 (i + 1))."""

    name: str
    start: float
    rps: tuple[float, ...]

    @property
    def minutes(self) -> int:
        return len(self.rps)

    @property
    def end(self) -> float:
        return self.start + MINUTE * len(self.rps)


def load_trace(spec: str, *, unit: str = "auto", start: float | None = None) -> Trace:
    """A trace from `spec`: a CSV file path, or a shape `NAME:k=v,...` (see the module docstring)."""
    if unit not in UNITS:
        raise ConfigError(f"--traffic-unit {unit!r}: expected one of {', '.join(UNITS)}")
    path = Path(spec)
    if path.suffix.lower() in (".csv", ".txt") or path.is_file():
        if not path.is_file():
            raise ConfigError(f"traffic file {spec} does not exist")
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"traffic file {spec} cannot be read: {exc}") from exc
        return parse_csv(text, str(path), unit=unit, start=start)
    return shape(spec, start=DEFAULT_START if start is None else start)


# ------------------------------------------------------------------------------------------------ CSV


def _parse_time(cell: str) -> float | None:
    """Seconds, or an ISO 8601 timestamp (naive ones are UTC), or None when it is neither."""
    cell = cell.strip()
    try:
        value = float(cell)
    except ValueError:
        pass
    else:
        return value if math.isfinite(value) else None
    try:
        dt = datetime.fromisoformat(cell.replace("Z", "+00:00").replace(" ", "T", 1))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


def parse_csv(text: str, source: str = "traffic", *, unit: str = "auto", start: float | None = None) -> Trace:
    """Parse a (time, value) CSV into a per-minute trace; raise ConfigError naming the bad line."""
    rows: list[tuple[int, float, float]] = []  # (line number, time, value)
    header: list[str] | None = None
    iso = False
    reader = csv.reader(io.StringIO(text))
    for row in reader:
        line = reader.line_num
        cells = [c.strip() for c in row]
        if not cells or all(not c for c in cells) or cells[0].startswith("#"):
            continue
        if len(cells) < 2:
            raise ConfigError(f"{source} line {line}: expected two columns (time, requests per second), got {len(cells)}")
        t = _parse_time(cells[0])
        if t is None:
            if header is None and not rows:
                header = cells
                continue
            raise ConfigError(f"{source} line {line}: time {cells[0]!r} is neither seconds nor an ISO 8601 timestamp")
        if not rows:
            iso = not _is_number(cells[0])
        try:
            value = float(cells[1])
        except ValueError:
            raise ConfigError(f"{source} line {line}: rate {cells[1]!r} is not a number") from None
        if not math.isfinite(value):
            raise ConfigError(f"{source} line {line}: rate {cells[1]!r} is not a finite number")
        if value < 0:
            raise ConfigError(f"{source} line {line}: rate {cells[1]} is negative")
        if rows and t <= rows[-1][1]:
            raise ConfigError(
                f"{source} line {line}: time {cells[0]} is not after line {rows[-1][0]}'s; sort the rows by time"
            )
        rows.append((line, t, value))
    if not rows:
        raise ConfigError(f"{source}: no data rows (expected lines of time, requests per second)")
    counts = unit == "count" or (
        unit == "auto" and header is not None and ("count" in header[1].lower() or header[1].lower() == "sum")
    )
    times = [r[1] for r in rows]
    last_len = times[-1] - times[-2] if len(times) > 1 else MINUTE
    ends = times[1:] + [times[-1] + last_len]
    # Rates as a step function of time, then averaged over each minute.
    origin = times[0] if not iso else math.floor(times[0] / MINUTE) * MINUTE
    total = ends[-1] - origin
    minutes = max(1, math.ceil(round(total / MINUTE, 9)))
    work = [0.0] * minutes  # request-seconds per minute
    covered = [0.0] * minutes  # seconds of each minute the trace covers
    for (_, t, value), end in zip(rows, ends):
        rate = value / (end - t) if counts else value
        _spread(work, covered, t - origin, end - origin, rate)
    # A minute the trace covers only in part (its first or last) averages over the part it covers.
    rps = [w / c if c > 0 else 0.0 for w, c in zip(work, covered)]
    if start is None:
        start = origin if iso else DEFAULT_START
    return Trace(name=source, start=float(start), rps=tuple(rps))


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _spread(work: list[float], covered: list[float], a: float, b: float, rate: float) -> None:
    """Add `rate` over [a, b) (seconds from the origin) to the per-minute request-seconds."""
    i = int(a // MINUTE)
    while a < b and i < len(work):
        edge = min(b, (i + 1) * MINUTE)
        work[i] += rate * (edge - a)
        covered[i] += edge - a
        a, i = edge, i + 1


# ---------------------------------------------------------------------------------------------- shapes


def _diurnal(p: dict[str, float]) -> list[float]:
    base, peak = p.get("base", 50.0), p.get("peak", 400.0)
    total = _duration(p, default_minutes=24 * 60)
    period = p.get("period_hours", 24.0) * 60
    peak_at = p.get("peak_hour", p.get("period_hours", 24.0) / 2) * 60
    # A cosine between base and peak with its maximum at peak_hour: rate at the middle of each minute.
    return [base + (peak - base) * (1 + math.cos(2 * math.pi * (i + 0.5 - peak_at) / period)) / 2 for i in range(total)]


def _ramp(p: dict[str, float]) -> list[float]:
    lo, hi = p.get("from", 0.0), p.get("to", 100.0)
    n = int(p.get("minutes", 60))
    before, hold = int(p.get("before", 0)), int(p.get("hold", 0))
    ramp = [lo + (hi - lo) * (i + 0.5) / n for i in range(n)] if n > 0 else []
    return [lo] * before + ramp + [hi] * hold


def _spike(p: dict[str, float]) -> list[float]:
    base, peak = p.get("base", 50.0), p.get("peak", 500.0)
    at, n = int(p.get("at", 30)), int(p.get("minutes", 10))
    total = int(p.get("total", 2 * at + n))
    return [peak if at <= i < at + n else base for i in range(total)]


def _step(p: dict[str, float], levels: Sequence[float]) -> list[float]:
    n = int(p.get("minutes", 10))
    return [level for level in levels for _ in range(n)]


def _duration(p: dict[str, float], default_minutes: int) -> int:
    if "days" in p:
        return int(round(p["days"] * 24 * 60))
    if "hours" in p:
        return int(round(p["hours"] * 60))
    if "minutes" in p:
        return int(round(p["minutes"]))
    return default_minutes


SHAPES: dict[str, tuple[str, ...]] = {
    "diurnal": ("base", "peak", "hours", "days", "minutes", "period_hours", "peak_hour"),
    "ramp": ("from", "to", "minutes", "before", "hold"),
    "spike": ("base", "peak", "at", "minutes", "total"),
    "step": ("levels", "minutes"),
}
_BUILDERS: dict[str, Callable[[dict[str, float]], list[float]]] = {
    "diurnal": _diurnal,
    "ramp": _ramp,
    "spike": _spike,
}


def shape(spec: str, *, start: float = DEFAULT_START) -> Trace:
    """A named shape, `NAME` or `NAME:key=value,...`; unknown names or keys are refused, naming them."""
    name, _, rest = spec.partition(":")
    name = name.strip()
    if name not in SHAPES:
        raise ConfigError(
            f"--traffic {spec!r}: not a CSV file and not a known shape (shapes: {', '.join(SHAPES)}; "
            "e.g. diurnal:base=50,peak=400,hours=24)"
        )
    params: dict[str, float] = {}
    levels: list[float] = []
    for part in filter(None, (x.strip() for x in rest.split(","))):
        key, eq, value = part.partition("=")
        key = key.strip()
        if not eq:
            raise ConfigError(f"--traffic {spec!r}: {part!r} is not key=value")
        if key not in SHAPES[name]:
            raise ConfigError(f"--traffic {spec!r}: shape {name} has no parameter {key!r} (it has {', '.join(SHAPES[name])})")
        try:
            if key == "levels":
                levels = [float(v) for v in value.split("/")]
                bad = [v for v in levels if not math.isfinite(v) or v < 0]
            else:
                params[key] = float(value)
                bad = [params[key]] if not math.isfinite(params[key]) or params[key] < 0 else []
        except ValueError:
            raise ConfigError(f"--traffic {spec!r}: {key}={value!r} is not a number") from None
        if bad:
            raise ConfigError(f"--traffic {spec!r}: {key}={value} must be a non-negative number")
    if name == "step":
        if not levels:
            raise ConfigError(f"--traffic {spec!r}: shape step needs levels=a/b/c (requests per second)")
        rps = _step(params, levels)
    else:
        rps = _BUILDERS[name](params)
    if not rps:
        raise ConfigError(f"--traffic {spec!r}: the shape lasts no minute")
    return Trace(name=spec, start=float(start), rps=tuple(rps))
