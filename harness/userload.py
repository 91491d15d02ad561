"""The user's own Locust traffic as the load: checked, calibrated on one real task, then paced.

`--locustfile theirs.py` replaces the sample app's `/cpu` burner. The harness cannot ask the user's
app to burn a chosen amount of CPU, so it measures instead (`UserMix.calibrate`): for a few seconds
a Locust of the user's classes (mixed by their weights, each user paced at the same request rate)
sends straight to one real task, and the task's own CPU accounting over the requests answered gives
the CPU milliseconds one request of the mix costs; Locust's own CPU per request is measured on the
way. From then on the runner's planner (`plan_users`) turns a target utilization into users of the
mix exactly as it does for `/cpu` requests, re-aims as tasks come and go and corrects from the
measured CPUUtilization.

Locust still runs as its own process on the harness's `loadtests/locustfile.py`, which imports the
user's classes (`--user-locustfile`, see loadtests/usermix.py) and paces them: the harness owns the
rate (requests per second per user); the user's wait_time only shapes the mix when they run their
file alone. Tasks tagged `error` become `C:error` classes, the error phases' traffic.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from harness import resources
from harness.errors import ConfigError, TaskError
from harness.load import CPU_UNITS_PER_CORE, ControlledLocustProcess, LiveStats, LocustProcess

__all__ = [
    "LOCUSTFILE",
    "USERMIX",
    "ERROR_SUFFIX",
    "MixClass",
    "UserMix",
    "Calibration",
    "PhaseNeed",
    "inspect_locustfile",
    "split_users",
    "rate_per_user",
    "calibration_from",
    "check_reachable",
]

LOCUSTFILE = resources.locustfile()  # package data: found from any folder
USERMIX = resources.loadtests() / "usermix.py"
ERROR_SUFFIX = ":error"  # loadtests/usermix.py names a class's error-tagged side C:error

INSPECT_TIMEOUT_S = 60.0
# The harness's calibration settings (how it measures, not what the template says).
CALIBRATION_USERS = 8
CALIBRATION_RATE = 25.0  # requests per second per user while calibrating
CALIBRATION_WINDOW_S = 3.0  # wall seconds of requests measured
CALIBRATION_MAX_S = 12.0  # wall seconds the measured window may grow to while too few requests came back
CALIBRATION_MIN_REQUESTS = 30
CALIBRATION_WARMUP_WRITES = 1  # Locust status writes (one a second) of requests before the measured window
USERS_PER_TASK = 10  # users that would hold one task at 100 % of its reservation: the pacing's granularity
USER_RATE_RANGE = (0.2, 50.0)  # requests per second one user may be paced at
LOCUST_CORE_SHARE = 0.8  # of one core: Locust is one process (one core at most), and needs headroom
MACHINE_SHARE = 0.9  # of the CPUs this process may use: tasks + Locust must fit in it


@dataclass(frozen=True)
class MixClass:
    name: str
    weight: int
    normal: bool  # has tasks not tagged error
    error: bool  # has tasks tagged error


def inspect_locustfile(path: Path) -> list[MixClass]:
    """The user classes of `path`, checked in a child Python (Locust's gevent patching stays out of the
    harness); ConfigError naming the file when it does not import or defines no user class."""
    path = Path(path).resolve()
    if not path.is_file():
        raise ConfigError(f"--locustfile {path}: no such file")
    try:
        done = subprocess.run([sys.executable, str(USERMIX), "--inspect", str(path)], capture_output=True,
                              text=True, timeout=INSPECT_TIMEOUT_S, cwd=tempfile.gettempdir(),
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise ConfigError(f"--locustfile {path}: importing it took more than {INSPECT_TIMEOUT_S:g} s") from None
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        why = lines[-1] if lines else f"the check exited with code {done.returncode}"
        raise ConfigError(f"--locustfile: {why}")
    try:
        classes = json.loads(done.stdout.strip().splitlines()[-1])["classes"]
        return [MixClass(str(c["name"]), int(c["weight"]), bool(c["normal"]), bool(c["error"])) for c in classes]
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise ConfigError(f"--locustfile {path}: the check printed no class list ({exc}); "
                          f"does the file print to stdout on import?") from None


def split_users(total: int, weights: Mapping[str, int]) -> dict[str, int]:
    """`total` users over classes in proportion to their weights (largest remainder; ties by name). Pure."""
    if total < 0:
        raise ValueError(f"total must be >= 0, got {total}")
    positive = {k: w for k, w in sorted(weights.items()) if w > 0}
    if not positive:
        return {k: 0 for k in weights}
    s = sum(positive.values())
    exact = {k: total * w / s for k, w in positive.items()}
    out = {k: int(math.floor(v)) for k, v in exact.items()}
    left = total - sum(out.values())
    for k in sorted(exact, key=lambda k: (-(exact[k] - out[k]), k))[:left]:
        out[k] += 1
    return {**{k: 0 for k in weights}, **out}


def rate_per_user(cost_ms: float, units: float) -> float:
    """Requests per second each paced user sends: USERS_PER_TASK users hold one task at 100 % of its
    reservation (`units`, CPU scale included), so the user count moves in steps of about 1/USERS_PER_TASK
    of a task, within USER_RATE_RANGE. Pure."""
    task_rate = (units / CPU_UNITS_PER_CORE) / (cost_ms / 1000.0)
    lo, hi = USER_RATE_RANGE
    return min(max(task_rate / USERS_PER_TASK, lo), hi)


@dataclass(frozen=True)
class Calibration:
    cost_ms: float  # task CPU milliseconds per request of the mix
    locust_ms: float  # Locust CPU milliseconds per request
    requests: int  # requests measured
    seconds: float  # wall seconds measured
    ok: int  # answers with a 2XX/3XX status
    statuses: Mapping[int, int] = field(default_factory=dict)
    by_name: Mapping[str, int] = field(default_factory=dict)  # requests answered per Locust request name
    memory_mib: float | None = None  # the task's memory (cgroup) at the end of the measured window

    def line(self) -> str:
        return (f"one request of your mix costs a task {self.cost_ms:.3f} ms of CPU (measured over {self.requests} "
                f"requests in {self.seconds:.1f} s on one task); Locust spends {self.locust_ms:.3f} ms per request")


def _ok(statuses: Mapping[int, int]) -> int:
    return sum(n for s, n in statuses.items() if 200 <= s < 400)


def calibration_from(task_cpu_s: float, locust_cpu_s: float, statuses: Mapping[int, int], seconds: float,
                     where: str, *, by_name: Mapping[str, int] | None = None,
                     memory_mib: float | None = None) -> Calibration:
    """A Calibration from what was measured (task CPU, Locust CPU, answers by status); ConfigError when
    every request failed or too few came back to measure. Pure."""
    requests = sum(statuses.values())
    ok = _ok(statuses)
    if requests and not ok:
        shown = ", ".join(f"{n} x {'no answer' if s == 0 else s}" for s, n in sorted(statuses.items()))
        raise ConfigError(f"{where}: every request of the mix failed against a task ({shown}); "
                          f"check the paths it asks for and that the app answers 2XX")
    if requests < CALIBRATION_MIN_REQUESTS:
        per = f"; at least {seconds / max(requests, 1) * 1000:.0f} ms of wall time each" if requests else ""
        raise ConfigError(f"{where}: the mix is too costly to calibrate here: {requests} request(s) answered "
                          f"in {seconds:.1f} s on one task (needs {CALIBRATION_MIN_REQUESTS}){per}")
    return Calibration(cost_ms=max(task_cpu_s, 0.0) * 1000.0 / requests,
                       locust_ms=max(locust_cpu_s, 0.0) * 1000.0 / requests,
                       requests=requests, seconds=seconds, ok=ok, statuses=dict(statuses),
                       by_name=dict(by_name or {}), memory_mib=memory_mib)


@dataclass(frozen=True)
class PhaseNeed:
    """What one CPU phase needs at its most tasks."""

    phase: str
    target_pct: float
    tasks: int


def check_reachable(cal: Calibration, needs: Sequence[PhaseNeed], units: float, cores: float,
                    health_timeout_wall_s: float, where: str) -> list[str]:
    """One line per phase of what it needs here; ConfigError naming the phase and the numbers when the
    mix is too cheap (more requests a second than Locust and this machine can send) or too costly
    (one request holds a task longer than its health check's timeout). Pure.

    `units` is a task's reservation as it runs (CPU scale included); `cores` the CPUs this process may use."""
    if cal.cost_ms <= 0:
        raise ConfigError(f"{where}: the task's CPU did not move while it answered {cal.requests} requests; "
                          "the harness cannot load it by CPU (is the CPU accounted to the task's process group?)")
    task_cores = units / CPU_UNITS_PER_CORE
    busy_s = cal.cost_ms / 1000.0 / task_cores  # wall seconds one request holds a task at its quota
    if busy_s > health_timeout_wall_s:
        raise ConfigError(f"{where}: the mix is too costly for this stack: one request costs {cal.cost_ms:.1f} ms "
                          f"of CPU, {busy_s * 1000:.0f} ms of wall time on a task of {units:g} CPU units, longer than "
                          f"its health check's timeout at this time scale ({health_timeout_wall_s * 1000:.0f} ms)")
    locust_max = LOCUST_CORE_SHARE / (cal.locust_ms / 1000.0) if cal.locust_ms > 0 else math.inf
    lines = []
    for need in needs:
        rate = need.target_pct / 100.0 * need.tasks * task_cores / (cal.cost_ms / 1000.0)
        used = rate * (cal.cost_ms + cal.locust_ms) / 1000.0
        row = (f"phase {need.phase}: {need.target_pct:g}% of {need.tasks} tasks x {units:g} units = "
               f"{rate:.0f} requests/s of {cal.cost_ms:.3f} ms")
        if rate > locust_max:
            raise ConfigError(f"{where}: the mix is too cheap for this machine: {row}; Locust, at "
                              f"{cal.locust_ms:.3f} ms of CPU per request, sends at most {locust_max:.0f} requests/s "
                              f"here (a larger CPU scale or costlier requests would fit)")
        if used > MACHINE_SHARE * cores:
            raise ConfigError(f"{where}: the mix is too cheap for this machine: {row}, which with Locust's share "
                              f"uses {used:.2f} of the {cores:g} CPUs here")
        lines.append(f"{row}, {used:.2f} of {cores:g} CPUs with Locust")
    return lines


def available_cores() -> float:
    """The CPUs this process may run on (its affinity), as the kernel lets it."""
    try:
        return float(len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return float(os.cpu_count() or 1)


class _UserLocust:
    """Mixin: the harness's locustfile running the user's classes (their names checked, not the sample's)."""

    _user_names: tuple[str, ...] = ()

    def _known_users(self) -> Sequence[str] | None:
        return self._user_names


class UserControlledLocust(_UserLocust, ControlledLocustProcess):
    def __init__(self, user_locustfile: Path, names: Sequence[str], host: str, workdir: Path) -> None:
        self._user_names = tuple(names)
        super().__init__(LOCUSTFILE, host, workdir, extra_args=["--user-locustfile", str(user_locustfile)])


class UserPhasesLocust(_UserLocust, LocustProcess):
    def __init__(self, user_locustfile: Path, names: Sequence[str], host: str, phases: list[dict[str, Any]],
                 workdir: Path) -> None:
        self._user_names = tuple(names)
        super().__init__(LOCUSTFILE, host, phases, workdir, extra_args=["--user-locustfile", str(user_locustfile)])


class UserMix:
    """The user's locustfile as the runner's load: class names, user splits, calibration."""

    def __init__(self, path: Path, classes: Sequence[MixClass] | None = None) -> None:
        self.path = Path(path).resolve()
        self.classes = list(classes) if classes is not None else inspect_locustfile(self.path)
        self.normal = {c.name: c.weight for c in self.classes if c.normal}
        self.error = {c.name + ERROR_SUFFIX: c.weight for c in self.classes if c.error}
        # Error traffic: classes with error-tagged tasks; without weights > 0 among them, all count alike.
        if self.error and not any(self.error.values()):
            self.error = {k: 1 for k in self.error}

    @property
    def names(self) -> list[str]:
        return [*self.normal, *self.error]

    @property
    def has_error_traffic(self) -> bool:
        return bool(self.error)

    def users(self, normal: int, errors: int) -> dict[str, int]:
        return {**split_users(normal, self.normal), **split_users(errors, self.error)}

    def rates(self, normal_rate: float, error_rate: float) -> dict[str, float]:
        return {**{k: normal_rate for k in self.normal}, **{k: error_rate for k in self.error}}

    def locust(self, host: str, workdir: Path) -> UserControlledLocust:
        return UserControlledLocust(self.path, self.names, host, workdir)

    async def calibrate(self, runtime: Any, task: Any, workdir: Path) -> Calibration:
        """Locust straight at one task; the task's CPU and Locust's over the requests answered in between."""
        host = f"http://127.0.0.1:{task.spec.host_port}"
        phases = [{"name": "calibrate", "duration": CALIBRATION_MAX_S + 30.0,
                   "users": split_users(CALIBRATION_USERS, self.normal), "spawn_rate": 100.0,
                   "rate_per_user": CALIBRATION_RATE}]
        lp = UserPhasesLocust(self.path, self.names, host, phases, workdir)
        lp.start()  # from the event loop's (main) thread: Locust dies with the thread that started it
        try:
            return await asyncio.to_thread(self._measure, lp, runtime, task)
        finally:
            await asyncio.to_thread(lp.stop)

    def _measure(self, lp: LocustProcess, runtime: Any, task: Any) -> Calibration:
        where = f"--locustfile {self.path}"
        first = self._wait_requests(lp, None, CALIBRATION_MAX_S + 20.0, where)
        for _ in range(CALIBRATION_WARMUP_WRITES):  # a fresh app warms up (JIT, caches) before it is measured
            first = self._wait_requests(lp, first, CALIBRATION_MAX_S, where)
        t0, cpu0, lc0 = time.monotonic(), runtime.usage(task).cpu_seconds, _cpu(lp.pid)
        last = first
        while True:
            last = self._wait_requests(lp, last, CALIBRATION_MAX_S, where)
            seconds = time.monotonic() - t0
            done = _total(last) - _total(first)
            if seconds >= CALIBRATION_MAX_S or (seconds >= CALIBRATION_WINDOW_S and done >= CALIBRATION_MIN_REQUESTS):
                break
        usage, lc1 = runtime.usage(task), _cpu(lp.pid)
        statuses = _delta(first, last)
        return calibration_from(usage.cpu_seconds - cpu0, lc1 - lc0, statuses, seconds, where,
                                by_name=_delta_by_name(first, last), memory_mib=usage.memory_bytes / 2**20)

    @staticmethod
    def _wait_requests(lp: LocustProcess, after: LiveStats | None, timeout: float, where: str) -> LiveStats:
        """The next status file Locust writes (after `after`, or the first with answers in it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if lp.returncode is not None:
                raise ConfigError(f"{where}: Locust exited (code {lp.returncode}) while calibrating: "
                                  f"{(lp.log_tail(3).splitlines() or ['no output'])[-1]}")
            live = lp.live_stats()
            if after is None and live.written_at is not None and _total(live) > 0:
                return live
            if after is not None and live.written_at is not None and live.written_at != after.written_at:
                return live
            time.sleep(0.05)
        raise TaskError(f"{where}: Locust sent no request to the task within {timeout:g} s while calibrating. "
                        f"End of its log: {lp.log_tail(5)}")


def _total(live: LiveStats) -> int:
    return sum(sum(c.values()) for c in live.statuses.values())


def _delta(a: LiveStats, b: LiveStats) -> dict[int, int]:
    out: dict[int, int] = {}
    for name, counts in b.statuses.items():
        for status, n in counts.items():
            d = n - a.statuses.get(name, {}).get(status, 0)
            if d:
                out[status] = out.get(status, 0) + d
    return out


def _delta_by_name(a: LiveStats, b: LiveStats) -> dict[str, int]:
    """Requests answered per request name between two status files (every status counted)."""
    out = {name: sum(counts.values()) - sum(a.statuses.get(name, {}).values()) for name, counts in b.statuses.items()}
    return {name: n for name, n in out.items() if n > 0}


def _cpu(pid: int | None) -> float:
    if pid is None:
        return 0.0
    try:
        t = psutil.Process(pid).cpu_times()
    except psutil.NoSuchProcess:
        return 0.0
    return float(t.user + t.system)
