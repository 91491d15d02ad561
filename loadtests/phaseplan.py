"""The load phases file and the live control file: formats, checks, and the pure arithmetic of who runs when.

Kept apart from `locustfile.py` (and free of Locust imports) so that the harness can check a phases
list or a control object before it starts Locust, and tests can table-test the ramp without
importing Locust (which monkey-patches the whole process with gevent).

A phases file is a JSON list; each phase:

    {"name": "cpu-high",                      # shown in logs and reports
     "duration": 20,                          # wall seconds
     "users": {"CpuUser": 4, "ErrorUser": 0}, # exact number of users of each class during the phase
     "spawn_rate": 4,                         # users started per second while ramping up (> 0)
     "cpu_ms": 50,                            # optional: CPU ms each /cpu request burns (else --cpu-ms)
     "rate_per_user": 2,                      # optional: requests per second per user, null = no wait;
                                              #   or per class: {"CpuUser": 2, "PingUser": 5} (a class
                                              #   not named sends without waiting)
     "error_status": 503}                     # optional: status ErrorUser asks for (else --error-status)

Users above a phase's count stop at once when the phase begins; missing ones start at `spawn_rate`.
The run ends after the last phase.

A control file (live mode, `--control`) holds ONE such object without "name" and "duration", plus
`"stop": true` to end the run. The harness rewrites it atomically (temporary file + rename) whenever
it wants another load; `ControlReader` follows it (a stat per poll) and keeps the last good object
while the file is missing, half-written or invalid.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

__all__ = [
    "USER_CLASS_NAMES",
    "Phase",
    "Control",
    "parse_phases",
    "load_phases",
    "parse_control",
    "phase_at",
    "total_duration",
    "next_step",
    "needs_reread",
    "ControlReader",
    "paced_wait",
]

# The user classes loadtests/locustfile.py defines (it checks it agrees), so the harness can check
# a load without importing Locust.
USER_CLASS_NAMES = ("CpuUser", "ErrorUser", "PingUser")

Rate = Union[float, Mapping[str, float], None]


@dataclass(frozen=True)
class Phase:
    name: str
    duration: float
    users: Mapping[str, int] = field(default_factory=dict)
    spawn_rate: float = 1.0
    cpu_ms: float | None = None
    rate_per_user: Rate = None
    error_status: int | None = None

    def rate_for(self, user_class: str) -> float | None:
        """Requests per second for one user of `user_class`; None = no wait between requests."""
        if isinstance(self.rate_per_user, Mapping):
            return self.rate_per_user.get(user_class)
        return self.rate_per_user


@dataclass(frozen=True)
class Control:
    """The control file's object: the load to hold from now on (a phase with no end), or stop."""

    phase: Phase
    stop: bool = False


IDLE = Control(Phase("control", math.inf))  # before the first good control file: no users

_KEYS = {"name", "duration", "users", "spawn_rate", "cpu_ms", "rate_per_user", "error_status"}
_CONTROL_KEYS = (_KEYS - {"name", "duration"}) | {"stop"}


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
        assert duration is not None
        phases.append(_phase_fields(item, where, known_users, name, duration))
    return phases


def _phase_fields(item: Mapping[str, Any], where: str, known_users: Collection[str] | None, name: str,
                  duration: float) -> Phase:
    """The keys a phase and a control object share, checked."""
    users_raw = item.get("users", {})
    if not isinstance(users_raw, dict):
        raise ValueError(f"{where}: 'users' must be an object like {{\"CpuUser\": 2}}, got {users_raw!r}.")
    users: dict[str, int] = {}
    for cls, count in users_raw.items():
        _check_class(cls, where, known_users)
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"{where}: users[{cls!r}] must be an integer >= 0, got {count!r}.")
        users[cls] = count
    spawn_rate = _number(item.get("spawn_rate", 1.0), f"{where}: 'spawn_rate'", positive=True)
    cpu_ms = _number(item.get("cpu_ms"), f"{where}: 'cpu_ms'", allow_none=True)
    rate_raw = item.get("rate_per_user")
    rate: Rate
    if isinstance(rate_raw, dict):
        per_class: dict[str, float] = {}
        for cls, value in rate_raw.items():
            _check_class(cls, where, known_users)
            checked = _number(value, f"{where}: 'rate_per_user'[{cls!r}]", positive=True)
            assert checked is not None
            per_class[cls] = checked
        rate = per_class
    else:
        rate = _number(rate_raw, f"{where}: 'rate_per_user'", positive=True, allow_none=True)
    status = item.get("error_status")
    if status is not None and (isinstance(status, bool) or not isinstance(status, int) or not 500 <= status <= 599):
        raise ValueError(f"{where}: 'error_status' must be an HTTP 5XX code, got {status!r}.")
    assert spawn_rate is not None
    return Phase(name, duration, users, spawn_rate, cpu_ms, rate, status)


def _check_class(cls: Any, where: str, known_users: Collection[str] | None) -> None:
    if known_users is not None and cls not in known_users:
        raise ValueError(f"{where}: unknown user class {cls!r}; known: {sorted(known_users)}.")


def parse_control(raw: Any, known_users: Collection[str] | None) -> Control:
    """Check a decoded control object; raise ValueError with a sentence naming the bad key."""
    where = "The control object"
    if not isinstance(raw, dict):
        raise ValueError(f"{where} must be a JSON object, got {type(raw).__name__}.")
    unknown = sorted(set(raw) - _CONTROL_KEYS)
    if unknown:
        raise ValueError(f"{where} has unknown keys {unknown}; allowed: {sorted(_CONTROL_KEYS)}.")
    stop = raw.get("stop", False)
    if not isinstance(stop, bool):
        raise ValueError(f"{where}: 'stop' must be true or false, got {stop!r}.")
    return Control(_phase_fields(raw, where, known_users, "control", math.inf), stop)


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


def needs_reread(key: tuple[int, int, int] | None, last_key: tuple[int, int, int] | None, mtime: float,
                 now: float, racy_s: float) -> bool:
    """Whether to read the control file again after a stat.

    A changed (inode, size, mtime_ns) means a new file. An unchanged one proves nothing while the
    mtime is recent: two renames within one filesystem timestamp tick may leave all three equal
    (inode numbers are reused), so, like git's "racily clean" check, a file modified less than
    `racy_s` ago is read anyway (and compared by content).
    """
    if key is None:
        return False  # no file: nothing to read
    return key != last_key or now - mtime < racy_s


class ControlReader:
    """Follows a control file: one stat per poll, a read only when it may have changed.

    The control in force is the last good one (IDLE before any): a missing, half-written or invalid
    file leaves it in force, with a warning returned once per distinct problem.
    """

    RACY_S = 2.0

    def __init__(self, path: str | Path, known_users: Collection[str] | None) -> None:
        self.path = Path(path)
        self.known_users = known_users
        self.control = IDLE
        self._key: tuple[int, int, int] | None = None
        self._text: bytes | None = None
        self._problem: str | None = None

    def poll(self, now: float) -> tuple[Control, str | None]:
        """(the control in force, a warning to log or None); `now` is wall epoch seconds."""
        try:
            st = os.stat(self.path)
        except OSError as exc:
            self._key = None
            return self.control, self._warn(f"Cannot stat the control file {self.path} ({exc}); keeping the last load.")
        key = (st.st_ino, st.st_size, st.st_mtime_ns)
        if not needs_reread(key, self._key, st.st_mtime, now, self.RACY_S):
            return self.control, None
        self._key = key
        try:
            text = self.path.read_bytes()
        except OSError as exc:
            return self.control, self._warn(f"Cannot read the control file {self.path} ({exc}); keeping the last load.")
        if text == self._text:
            return self.control, None
        self._text = text
        try:
            self.control = parse_control(json.loads(text), self.known_users)
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            return self.control, self._warn(f"Ignoring the control file {self.path}: {exc}; keeping the last load.")
        self._problem = None
        return self.control, None

    def _warn(self, message: str) -> str | None:
        if message == self._problem:
            return None
        self._problem = message
        return message


def paced_wait(now: float, last_start: float | None, requests: int, rate: float | None) -> tuple[float, float | None]:
    """(seconds to wait before the next task, the next task's start) for `rate` requests a second.

    Pacing counts requests, not tasks: a task that sent `requests` requests (at least one is
    assumed) is followed by a wait that brings this user back to `rate` requests a second since the
    previous task started. None or 0 = no wait (and the pace restarts when a rate is set again).
    """
    if not rate:
        return 0.0, None
    if last_start is None:
        return 0.0, now
    wait = max(0.0, max(1, requests) / rate - (now - last_start))
    return wait, now + wait
