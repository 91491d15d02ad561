"""The load phases file: its format, its checks, and the pure arithmetic of who runs when.

Kept apart from `locustfile.py` (and free of Locust imports) so that the harness can check a phases
list before it starts Locust, and tests can table-test the ramp without importing Locust (which
monkey-patches the whole process with gevent).

A phases file is a JSON list; each phase:

    {"name": "cpu-high",                      # shown in logs and reports
     "duration": 20,                          # wall seconds
     "users": {"CpuUser": 4, "ErrorUser": 0}, # exact number of users of each class during the phase
     "spawn_rate": 4,                         # users started per second while ramping up (> 0)
     "cpu_ms": 50,                            # optional: CPU ms each /cpu request burns (else --cpu-ms)
     "rate_per_user": 2,                      # optional: requests per second per user, null = no wait
     "error_status": 503}                     # optional: status ErrorUser asks for (else --error-status)

Users above a phase's count stop at once when the phase begins; missing ones start at `spawn_rate`.
The run ends after the last phase.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Phase", "parse_phases", "load_phases", "phase_at", "total_duration", "next_step"]


@dataclass(frozen=True)
class Phase:
    name: str
    duration: float
    users: Mapping[str, int] = field(default_factory=dict)
    spawn_rate: float = 1.0
    cpu_ms: float | None = None
    rate_per_user: float | None = None
    error_status: int | None = None


_KEYS = {"name", "duration", "users", "spawn_rate", "cpu_ms", "rate_per_user", "error_status"}


def _number(value: Any, what: str, *, positive: bool = False, allow_none: bool = False) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, got {value!r}.")
    if value < 0 or (positive and value == 0):
        raise ValueError(f"{what} must be {'> 0' if positive else '>= 0'}, got {value!r}.")
    return float(value)


def parse_phases(raw: Any, known_users: Collection[str] | None) -> list[Phase]:
    """Check a decoded phases list; raise ValueError with a sentence naming the bad phase and key.

    `known_users` None skips the user-class check (for callers that cannot import the locustfile).
    """
    if not isinstance(raw, list) or not raw:
        raise ValueError(f"The phases must be a non-empty JSON list, got {type(raw).__name__}.")
    phases: list[Phase] = []
    for i, item in enumerate(raw):
        where = f"Phase {i + 1}"
        if not isinstance(item, dict):
            raise ValueError(f"{where} must be a JSON object, got {item!r}.")
        name = item.get("name", f"phase-{i + 1}")
        if not isinstance(name, str) or not name:
            raise ValueError(f"{where}: 'name' must be a non-empty string, got {name!r}.")
        where = f"Phase {i + 1} ({name!r})"
        unknown = sorted(set(item) - _KEYS)
        if unknown:
            raise ValueError(f"{where} has unknown keys {unknown}; allowed: {sorted(_KEYS)}.")
        if "duration" not in item:
            raise ValueError(f"{where} has no 'duration' (wall seconds).")
        duration = _number(item["duration"], f"{where}: 'duration'", positive=True)
        users_raw = item.get("users", {})
        if not isinstance(users_raw, dict):
            raise ValueError(f"{where}: 'users' must be an object like {{\"CpuUser\": 2}}, got {users_raw!r}.")
        users: dict[str, int] = {}
        for cls, count in users_raw.items():
            if known_users is not None and cls not in known_users:
                raise ValueError(f"{where}: unknown user class {cls!r}; known: {sorted(known_users)}.")
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise ValueError(f"{where}: users[{cls!r}] must be an integer >= 0, got {count!r}.")
            users[cls] = count
        spawn_rate = _number(item.get("spawn_rate", 1.0), f"{where}: 'spawn_rate'", positive=True)
        cpu_ms = _number(item.get("cpu_ms"), f"{where}: 'cpu_ms'", allow_none=True)
        rate = _number(item.get("rate_per_user"), f"{where}: 'rate_per_user'", positive=True, allow_none=True)
        status = item.get("error_status")
        if status is not None and (isinstance(status, bool) or not isinstance(status, int) or not 500 <= status <= 599):
            raise ValueError(f"{where}: 'error_status' must be an HTTP 5XX code, got {status!r}.")
        assert duration is not None and spawn_rate is not None
        phases.append(Phase(name, duration, users, spawn_rate, cpu_ms, rate, status))
    return phases


def load_phases(path: str | Path, known_users: Collection[str]) -> list[Phase]:
    """Read and check a phases file; errors name the file."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"Cannot read the phases file {path}: {exc}.") from exc
    try:
        return parse_phases(raw, known_users)
    except ValueError as exc:
        raise ValueError(f"In the phases file {path}: {exc}") from exc


def total_duration(phases: Sequence[Phase]) -> float:
    return sum(p.duration for p in phases)


def phase_at(phases: Sequence[Phase], elapsed: float) -> Phase | None:
    """The phase running `elapsed` wall seconds after the start; None once the last one is over."""
    end = 0.0
    for phase in phases:
        end += phase.duration
        if elapsed < end:
            return phase
    return None


def next_step(
    current: Mapping[str, int], target: Mapping[str, int], budget: float
) -> tuple[dict[str, int], dict[str, int], float]:
    """One control step: (users to start per class, users to stop per class, budget left).

    Surplus users stop at once. Missing users start while `budget` (users the spawn rate allows by
    now) lasts, one class after the other in name order, round robin, so a mix ramps evenly.
    """
    stop = {cls: n - target.get(cls, 0) for cls, n in current.items() if n > target.get(cls, 0)}
    missing = {cls: n - current.get(cls, 0) for cls, n in sorted(target.items()) if n > current.get(cls, 0)}
    start: dict[str, int] = {}
    allowance = int(math.floor(budget + 1e-9))
    while allowance > 0 and missing:
        for cls in list(missing):
            if allowance == 0:
                break
            start[cls] = start.get(cls, 0) + 1
            allowance -= 1
            missing[cls] -= 1
            if missing[cls] == 0:
                del missing[cls]
    used = sum(start.values())
    return start, stop, (budget - used if used else budget)
