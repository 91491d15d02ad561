"""Load generation: how many users a CPU target needs, and Locust run as a child process.

Locust monkey-patches the interpreter with gevent, so the harness never imports it: it starts
`python -m locust` headless on `loadtests/locustfile.py`, in its own process group, tied to the
harness's life (PR_SET_PDEATHSIG), and reads back what Locust wrote: the final stats (--json-file),
the per-second history (--csv-full-history) and the locustfile's status-code counts.

Two ways to drive it: `LocustProcess` runs a fixed list of phases; `ControlledLocustProcess` holds
whatever load the harness last asked for with `set_load()` (it rewrites the control file Locust
follows), because the right load depends on what the harness observes (tasks running, alarms fired).
Both expose `live_stats()` mid-run, read from the files Locust rewrites every second.

Headless single-process Locust opens no listening socket (no web UI, no master port); tests check
that with psutil. Phase durations are wall seconds: Locust runs in real time, not template time.
"""

from __future__ import annotations

import asyncio
import csv
import http.client
import importlib.util
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

from harness.child import StartStop, die_with_parent
from harness.errors import ConfigError, TaskError

__all__ = [
    "plan_users",
    "measure_cost",
    "percentile",
    "EndpointStats",
    "HistoryPoint",
    "LoadStats",
    "LiveStats",
    "parse_final_stats",
    "parse_history",
    "parse_live",
    "LocustProcess",
    "ControlledLocustProcess",
]

# ECS counts CPU in units: 1024 units are one vCPU.
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html#container_definition_environment
CPU_UNITS_PER_CORE = 1024


def plan_users(
    target_utilization: float, tasks: int, cpu_units_per_task: float, cost_ms: float, rate_per_user: float
) -> int:
    """Constant-throughput users that keep the service at `target_utilization` of its reserved CPU.

    `cpu_units_per_task` is the reservation the tasks run with: the template's units x the CPU scale.

    `target_utilization` is a fraction (0.85 for an 85 % CPUUtilization). ECS service CPUUtilization
    is CPU used x 100 / (units reserved per task x tasks)
    (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/cloudwatch-metrics.html), so the
    load must use util x tasks x units / 1024 CPU-seconds each second; one request costs
    cost_ms / 1000 CPU-seconds; each user sends rate_per_user requests a second. Rounded up so the
    target is reached, never missed.
    """
    if not (math.isfinite(target_utilization) and target_utilization >= 0):
        raise ValueError(f"target_utilization must be a fraction >= 0, got {target_utilization!r}.")
    if target_utilization > 10:
        raise ValueError(
            f"target_utilization {target_utilization!r} looks like a percentage; pass a fraction (0.85 for 85 %)."
        )
    if tasks < 0:
        raise ValueError(f"tasks must be >= 0, got {tasks!r}.")
    if cpu_units_per_task <= 0:
        raise ValueError(f"cpu_units_per_task must be > 0, got {cpu_units_per_task!r}.")
    if not (math.isfinite(cost_ms) and cost_ms > 0):
        raise ValueError(f"cost_ms must be > 0, got {cost_ms!r}.")
    if not (math.isfinite(rate_per_user) and rate_per_user > 0):
        raise ValueError(f"rate_per_user must be > 0, got {rate_per_user!r}.")
    reserved_cores = tasks * cpu_units_per_task / CPU_UNITS_PER_CORE
    cpu_seconds_per_second = target_utilization * reserved_cores
    requests_per_second = cpu_seconds_per_second / (cost_ms / 1000.0)
    # Guard against 2.0000000001 -> 3 from float noise.
    return max(0, math.ceil(round(requests_per_second / rate_per_user, 9)))


def measure_cost(url: str, cpu_ms: float, samples: int) -> float:
    """Median wall milliseconds of `GET <url>/cpu?ms=<cpu_ms>`, one request at a time.

    On an idle machine this bounds from above the CPU one request costs the app (burn + HTTP
    overhead); feed it to plan_users as cost_ms. It measures real latency, so it reads the
    monotonic wall clock, not the harness's template Clock.
    """
    if samples <= 0:
        raise ValueError(f"samples must be > 0, got {samples!r}.")
    parts = urlsplit(url)
    if parts.hostname != "127.0.0.1" or parts.port is None:
        raise ConfigError(f"measure_cost only talks to 127.0.0.1:<port>, got {url!r}.")
    conn = http.client.HTTPConnection("127.0.0.1", parts.port, timeout=max(5.0, cpu_ms / 100.0))
    durations: list[float] = []
    try:
        for _ in range(samples):
            t0 = time.perf_counter()
            conn.request("GET", f"{parts.path.rstrip('/')}/cpu?ms={cpu_ms:g}")
            resp = conn.getresponse()
            resp.read()
            durations.append((time.perf_counter() - t0) * 1000.0)
            if resp.status != 200:
                raise TaskError(f"{url}/cpu?ms={cpu_ms:g} answered {resp.status}, expected 200.")
    except OSError as exc:
        raise TaskError(f"Cannot measure request cost at {url}: {exc}.") from exc
    finally:
        conn.close()
    return statistics.median(durations)


# ---------------------------------------------------------------- stats: pure parsers


def percentile(response_times: Mapping[float, int], num_requests: int, p: float) -> float | None:
    """Locust's own percentile over its rounded response-time histogram (locust/stats.py
    calculate_response_time_percentile), so our numbers match Locust's reports."""
    if num_requests <= 0 or not response_times:
        return None
    wanted = int(num_requests * p)
    processed = 0
    for rt in sorted(response_times, reverse=True):
        processed += response_times[rt]
        if num_requests - processed <= wanted:
            return float(rt)
    return float(min(response_times))


@dataclass(frozen=True)
class EndpointStats:
    """Totals for one request name over the whole run."""

    name: str
    method: str
    requests: int
    failures: int
    rps: float
    avg_ms: float | None
    max_ms: float | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    statuses: Mapping[int, int] = field(default_factory=dict)  # HTTP status -> answers; 0 = no answer

    def count_status(self, low: int, high: int) -> int:
        """Answers whose status is in [low, high], e.g. count_status(500, 599) for 5XX."""
        return sum(n for s, n in self.statuses.items() if low <= s <= high)


@dataclass(frozen=True)
class HistoryPoint:
    """One row of Locust's per-second history for one request name (or 'Aggregated')."""

    timestamp: int
    users: int
    name: str
    rps: float
    failures_per_s: float
    p50_ms: float | None
    p95_ms: float | None
    requests: int
    failures: int


@dataclass(frozen=True)
class LoadStats:
    endpoints: Mapping[str, EndpointStats]
    total: EndpointStats
    history: Sequence[HistoryPoint]
    status_timeline: Sequence[tuple[int, str, int, int]]  # (epoch second, name, status, answers)

    def endpoint(self, name: str) -> EndpointStats:
        try:
            return self.endpoints[name]
        except KeyError:
            raise KeyError(f"Locust recorded no request named {name!r}; it has {sorted(self.endpoints)}.") from None


def _entry_stats(name: str, method: str, entries: Sequence[Mapping[str, Any]], statuses: Mapping[int, int]) -> EndpointStats:
    requests = sum(int(e["num_requests"]) for e in entries)
    failures = sum(int(e["num_failures"]) for e in entries)
    hist: dict[float, int] = {}
    for e in entries:
        for rt, n in e["response_times"].items():
            hist[float(rt)] = hist.get(float(rt), 0) + int(n)
    starts = [float(e["start_time"]) for e in entries if e.get("start_time")]
    lasts = [float(e["last_request_timestamp"]) for e in entries if e.get("last_request_timestamp")]
    # Locust's total_rps: requests over the span from the first request to the last.
    span = (max(lasts) - min(starts)) if starts and lasts else 0.0
    rps = requests / span if span > 0 else 0.0
    total_rt = sum(float(e["total_response_time"]) for e in entries)
    maxes = [float(e["max_response_time"]) for e in entries if e.get("max_response_time") is not None]
    return EndpointStats(
        name=name,
        method=method,
        requests=requests,
        failures=failures,
        rps=rps,
        avg_ms=total_rt / requests if requests else None,
        max_ms=max(maxes) if maxes else None,
        p50_ms=percentile(hist, requests, 0.50),
        p95_ms=percentile(hist, requests, 0.95),
        p99_ms=percentile(hist, requests, 0.99),
        statuses=dict(statuses),
    )


def parse_final_stats(
    entries: Sequence[Mapping[str, Any]], status_totals: Mapping[str, Mapping[str, int]]
) -> tuple[dict[str, EndpointStats], EndpointStats]:
    """(per-name stats, aggregate) from Locust's --json-file list and the locustfile's status totals."""
    by_name: dict[str, EndpointStats] = {}
    all_statuses: dict[int, int] = {}
    for e in entries:
        name = str(e["name"])
        statuses = {int(s): int(n) for s, n in status_totals.get(name, {}).items()}
        for s, n in statuses.items():
            all_statuses[s] = all_statuses.get(s, 0) + n
        by_name[name] = _entry_stats(name, str(e.get("method") or ""), [e], statuses)
    total = _entry_stats("Aggregated", "", list(entries), all_statuses)
    return by_name, total


def _float_or_none(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:  # Locust writes "N/A" before the first request
        return None


def parse_history(text: str) -> list[HistoryPoint]:
    """Rows of `<prefix>_stats_history.csv` (written each second with --csv-full-history)."""
    points: list[HistoryPoint] = []
    for row in csv.DictReader(text.splitlines()):
        try:
            points.append(
                HistoryPoint(
                    timestamp=int(row["Timestamp"]),
                    users=int(row["User Count"]),
                    name=row["Name"],
                    rps=float(row["Requests/s"]),
                    failures_per_s=float(row["Failures/s"]),
                    p50_ms=_float_or_none(row["50%"]),
                    p95_ms=_float_or_none(row["95%"]),
                    requests=int(row["Total Request Count"]),
                    failures=int(row["Total Failure Count"]),
                )
            )
        except (KeyError, ValueError, TypeError):
            continue  # a row cut short while Locust was writing it
    return points


@dataclass(frozen=True)
class LiveStats:
    """What the locustfile reported last (it rewrites its status file every second while running).

    Counts are cumulative: compare two LiveStats to see what happened between them (no clock needed).
    """

    written_at: float | None  # Locust's epoch seconds when it wrote the file; None before the first write
    users: Mapping[str, int]  # running users per class
    statuses: Mapping[str, Mapping[int, int]]  # request name -> HTTP status -> answers (0 = no answer)
    timeline: Sequence[tuple[int, str, int, int]]  # (epoch second, name, status, answers)

    def requests(self, name: str) -> int:
        """Requests named `name` answered (or failed) so far; 0 if none yet."""
        return sum(self.statuses.get(name, {}).values())

    def count_status(self, name: str, low: int, high: int) -> int:
        """Answers to `name` with a status in [low, high] so far, e.g. (500, 599) for 5XX."""
        return sum(n for s, n in self.statuses.get(name, {}).items() if low <= s <= high)


def parse_live(status: Mapping[str, Any]) -> LiveStats:
    """LiveStats from the locustfile's status file (an empty mapping before it exists)."""
    statuses = {str(name): {int(s): int(n) for s, n in counts.items()}
                for name, counts in status.get("totals", {}).items()}
    written = status.get("written_at")
    return LiveStats(
        written_at=float(written) if written is not None else None,
        users={str(k): int(v) for k, v in status.get("users", {}).items()},
        statuses=statuses,
        timeline=[(int(t), str(n), int(s), int(c)) for t, n, s, c in status.get("timeline", [])],
    )


# ---------------------------------------------------------------- the Locust process



def _load_phaseplan(locustfile: Path) -> ModuleType:
    """The phases format lives next to the locustfile (loadtests/phaseplan.py): ask it to check."""
    path = locustfile.parent / "phaseplan.py"
    spec = importlib.util.spec_from_file_location("_harness_phaseplan", path)
    if spec is None or spec.loader is None or not path.is_file():
        raise ConfigError(f"No phaseplan.py next to the locustfile {locustfile}; it defines the phases format.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


class LocustProcess(StartStop):
    """One headless Locust run of `phases` against `host`; files go to `workdir`.

    start() must be called from the main thread: PR_SET_PDEATHSIG fires when the *thread* that
    forked the child ends, which would kill Locust early if a worker thread started it.
    """

    STOP_GRACE_S = 10.0

    def __init__(
        self,
        locustfile: Path,
        host: str,
        phases: list[dict[str, Any]],
        workdir: Path,
        *,
        extra_args: Sequence[str] = (),
        cpu_ms: float | None = None,
        error_status: int | None = None,
        ping_n: int | None = None,
    ) -> None:
        self._setup(locustfile, host, workdir, extra_args, cpu_ms, error_status, ping_n)
        try:
            checked = self._phaseplan.parse_phases(phases, self._known_users())
        except ValueError as exc:
            raise ConfigError(f"Bad load phases: {exc}") from exc
        self.phases = phases
        self.duration = float(sum(p.duration for p in checked))

    def _setup(
        self,
        locustfile: Path,
        host: str,
        workdir: Path,
        extra_args: Sequence[str],
        cpu_ms: float | None,
        error_status: int | None,
        ping_n: int | None,
    ) -> None:
        """What both modes share: checked paths and target, the settings passed by environment."""
        self.locustfile = Path(locustfile).resolve()
        if not self.locustfile.is_file():
            raise ConfigError(f"The locustfile {self.locustfile} does not exist.")
        parts = urlsplit(host)
        if parts.scheme != "http" or parts.hostname != "127.0.0.1" or parts.port is None:
            raise ConfigError(f"The load target must be http://127.0.0.1:<port>, got {host!r}.")
        if ping_n is not None and ping_n < 0:
            raise ConfigError(f"ping_n must be an integer >= 0 (PingUser asks GET /<n>), got {ping_n!r}.")
        self._phaseplan = _load_phaseplan(self.locustfile)
        self.host = host
        self.workdir = Path(workdir)
        self.extra_args = tuple(extra_args)
        self.cpu_ms = cpu_ms
        self.error_status = error_status
        self.ping_n = ping_n
        self._proc: subprocess.Popen[bytes] | None = None
        self._stopping = False
        self.prefix = self.workdir / "locust"

    # -- files
    @property
    def phases_path(self) -> Path:
        return self.workdir / "phases.json"

    @property
    def log_path(self) -> Path:
        return self.workdir / "locust.log"

    @property
    def final_path(self) -> Path:
        return Path(f"{self.prefix}_final.json")  # Locust appends ".json" to --json-file

    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "locust",
            "-f", str(self.locustfile),
            "--headless",  # no web UI, hence no listening socket
            "--host", self.host,
            *self._mode_args(),
            "--csv", str(self.prefix),
            "--csv-full-history",
            "--only-summary",
            "--json-file", f"{self.prefix}_final",
            "--loglevel", "INFO",
            *self.extra_args,
        ]

    def _known_users(self) -> Sequence[str] | None:
        """The locustfile's user classes, as its phaseplan.py lists them (None: do not check)."""
        names = getattr(self._phaseplan, "USER_CLASS_NAMES", None)
        return tuple(names) if names is not None else None

    def _mode_args(self) -> list[str]:
        return ["--phases", str(self.phases_path)]

    def _write_inputs(self) -> None:
        self.phases_path.write_text(json.dumps(self.phases, indent=1), encoding="utf-8")

    def start(self) -> None:
        if self._proc is not None:
            raise TaskError("This LocustProcess was already started; make a new one for another run.")
        if threading.current_thread() is not threading.main_thread():
            raise TaskError("Start Locust from the main thread: PR_SET_PDEATHSIG would kill it with this thread.")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._write_inputs()
        # Only our settings: no LOCUST_*/LOAD_* from the caller's environment leaks into the run.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LOCUST_", "LOAD_"))}
        env["PYTHONUNBUFFERED"] = "1"
        if self.cpu_ms is not None:
            env["LOAD_CPU_MS"] = f"{self.cpu_ms:g}"
        if self.error_status is not None:
            env["LOAD_ERROR_STATUS"] = str(self.error_status)
        if self.ping_n is not None:
            env["LOAD_PING_N"] = str(self.ping_n)
        log = open(self.log_path, "wb")
        try:
            self._proc = subprocess.Popen(
                self.command(),
                cwd=self.workdir,  # no locust.conf / pyproject.toml of the caller's cwd is read
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: stop() signals only Locust and its children
                preexec_fn=die_with_parent(signal.SIGKILL),
            )
        except OSError as exc:
            raise TaskError(f"Cannot start Locust ({self.command()[:3]}): {exc}.") from exc
        finally:
            log.close()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def exited_unexpectedly(self) -> str | None:
        """Why Locust ended on its own (exit code and log tail), or None while it runs or after stop()
        was asked for: the harness stops a run whose load generator died (harness.supervise)."""
        if self._proc is None or self._stopping or self._proc.poll() is None:
            return None
        if math.isfinite(self.duration) and self._proc.returncode == 0:
            return None  # a run of fixed phases ends by itself
        return f"Locust exited by itself with code {self._proc.returncode}; end of its log: {self.log_tail(5)!r}"

    @property
    def returncode(self) -> int | None:
        return self._proc.poll() if self._proc is not None else None

    def wait(self, timeout: float) -> int | None:
        """Wait up to `timeout` wall seconds; the exit code, or None if still running."""
        if self._proc is None:
            raise TaskError("Locust was never started.")
        try:
            return self._proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    async def wait_async(self, timeout: float) -> int | None:
        """wait() for asyncio callers, without blocking the event loop."""
        return await asyncio.to_thread(self.wait, timeout)

    def stop(self, grace: float | None = None) -> int | None:
        """SIGTERM (Locust then writes its final stats and exits), SIGKILL after `grace` seconds."""
        proc = self._proc
        if proc is None:
            return None
        self._stopping = True
        if proc.poll() is None:
            self._signal(signal.SIGTERM)
            if self.wait(self.STOP_GRACE_S if grace is None else grace) is None:
                self._signal(signal.SIGKILL)
                proc.wait()
        # Once Locust is reaped its pid (= group id) may be reused: never signal the group again.
        return proc.returncode

    def _signal(self, sig: signal.Signals) -> None:
        assert self._proc is not None
        try:
            os.killpg(self._proc.pid, sig)  # the group we created: its id is Locust's pid
        except ProcessLookupError:
            pass

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def history(self) -> list[HistoryPoint]:
        """The per-second history written so far (readable while Locust runs)."""
        try:
            return parse_history(Path(f"{self.prefix}_stats_history.csv").read_text(encoding="utf-8"))
        except OSError:
            return []

    def _status_file(self) -> dict[str, Any]:
        try:
            data = json.loads(Path(f"{self.prefix}_status.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return {"totals": {}, "timeline": []}
        return data if isinstance(data, dict) else {"totals": {}, "timeline": []}

    def live_stats(self) -> LiveStats:
        """Counts so far, readable while Locust runs (the locustfile rewrites them every second);
        history() has Locust's own per-second rows (response times, user count)."""
        return parse_live(self._status_file())

    def stats(self) -> LoadStats:
        """Everything Locust recorded; call after the run ended (wait() or stop())."""
        if self.returncode is None:
            raise TaskError("Locust is still running; wait() or stop() it before reading its final stats.")
        try:
            entries = json.loads(self.final_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise TaskError(
                f"Locust (exit code {self.returncode}) wrote no final stats to {self.final_path}: {exc}. "
                f"End of its log:\n{self.log_tail()}"
            ) from exc
        status = self._status_file()
        endpoints, total = parse_final_stats(entries, status.get("totals", {}))
        timeline = [(int(t), str(n), int(s), int(c)) for t, n, s, c in status.get("timeline", [])]
        return LoadStats(endpoints=endpoints, total=total, history=self.history(), status_timeline=timeline)



class ControlledLocustProcess(LocustProcess):
    """A headless Locust run that holds the load last given to set_load() until stop().

    Each set_load() rewrites `<workdir>/control.json` atomically (temporary file + rename); the
    locustfile stats it every 0.1 s and moves to the new exact user counts. Until the first
    set_load() the load is no users at all.
    """

    CLEAN_STOP_S = 8.0  # the shape sees "stop" within a second, then Locust writes its stats

    def __init__(
        self,
        locustfile: Path,
        host: str,
        workdir: Path,
        *,
        extra_args: Sequence[str] = (),
        cpu_ms: float | None = None,
        error_status: int | None = None,
        ping_n: int | None = None,
    ) -> None:
        self._setup(locustfile, host, workdir, extra_args, cpu_ms, error_status, ping_n)
        self.phases = []
        self.duration = math.inf
        self._control: dict[str, Any] = {"users": {}, "stop": False}

    @property
    def control_path(self) -> Path:
        return self.workdir / "control.json"

    @property
    def control(self) -> dict[str, Any]:
        """A copy of the control object last written (or to be written at start)."""
        return json.loads(json.dumps(self._control))  # type: ignore[no-any-return]

    def _mode_args(self) -> list[str]:
        return ["--control", str(self.control_path)]

    def _write_inputs(self) -> None:
        self._write_control(self._control)

    def _write_control(self, control: Mapping[str, Any]) -> None:
        # Temporary file + rename: the reader sees the old file or the new one, never half of one.
        tmp = self.control_path.with_name(f".{self.control_path.name}.tmp")
        tmp.write_text(json.dumps(control), encoding="utf-8")
        os.replace(tmp, self.control_path)

    def set_load(
        self,
        users: Mapping[str, int],
        *,
        spawn_rate: float | None = None,
        cpu_ms: float | None = None,
        error_status: int | None = None,
        rate_per_user: float | Mapping[str, float] | None = None,
    ) -> None:
        """Hold exactly `users` (per class; a class not named gets 0) from now on.

        None settings fall back to Locust's command-line values (cpu_ms, error_status), 1 user/s
        (spawn_rate) and no wait between requests (rate_per_user; per class in a mapping).
        Raises ConfigError for a load the locustfile would refuse.
        """
        control: dict[str, Any] = {"users": dict(users), "stop": False}
        for key, value in (("spawn_rate", spawn_rate), ("cpu_ms", cpu_ms), ("error_status", error_status),
                           ("rate_per_user", dict(rate_per_user) if isinstance(rate_per_user, Mapping) else rate_per_user)):
            if value is not None:
                control[key] = value
        try:
            self._phaseplan.parse_control(json.loads(json.dumps(control)), self._known_users())
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"Bad load for Locust: {exc}") from exc
        if self.returncode is not None:
            raise TaskError(f"Locust already exited (code {self.returncode}); cannot change its load.")
        self._control = control
        if self._proc is not None:
            self._write_control(control)

    def stop(self, grace: float | None = None) -> int | None:
        """Ask for a clean end ("stop": true: Locust stops its users and writes its final stats),
        then fall back to SIGTERM and SIGKILL (LocustProcess.stop) if it has not exited in time."""
        self._stopping = True
        if self._proc is not None and self._proc.poll() is None:
            self._control = {**self._control, "stop": True}
            try:
                self._write_control(self._control)
            except OSError:
                pass  # the workdir went away: the signals below still stop Locust
            else:
                self.wait(self.CLEAN_STOP_S)
        return super().stop(grace)

    async def stop_async(self, grace: float | None = None) -> int | None:
        """stop() for asyncio callers, without blocking the event loop."""
        return await asyncio.to_thread(self.stop, grace)
