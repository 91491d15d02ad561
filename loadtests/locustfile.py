"""Load for the sample app: CPU burners, error askers and pingers, driven phase by phase from a JSON
file, or live from a control file the harness rewrites while it watches the service.

Standalone:
    locust -f loadtests/locustfile.py --host http://127.0.0.1:8080 --web-host 127.0.0.1
    locust -f loadtests/locustfile.py --host http://127.0.0.1:8080 --headless \
        --phases loadtests/phases/cpu-then-errors.json
    locust -f loadtests/locustfile.py --host http://127.0.0.1:8080 --headless --control /tmp/load.json
Without --phases or --control it behaves as a plain Locust file (users and spawn rate from -u/-r or
the web UI).

With --user-locustfile PATH (LOAD_USER_LOCUSTFILE) the load is a team's own locustfile instead of
the sample app's: its HttpUser/FastHttpUser classes, paced per request by the phases' rate_per_user,
as `C` (tasks not tagged error) and `C:error` (tasks tagged error); see loadtests/usermix.py.

The harness (`harness/load.py`) runs it headless with env vars: LOAD_PHASES or LOAD_CONTROL,
LOAD_CPU_MS, LOAD_ERROR_STATUS, LOAD_PING_N (see the custom arguments below).

Control mode: the file holds one phase-like object without duration (see loadtests/phaseplan.py);
each control interval the shape stats it, re-reads it when it changed, and moves to its exact user
counts like a phase change; `"stop": true` ends the run (final stats written). A missing,
half-written or invalid file keeps the last good load (with a warning in the log).

PingUser sends light baseline traffic (`GET /<n>`, a small factorial) so the load balancer always
sees requests, e.g. to show its own 503s while no target is healthy. Unlike ErrorUser's asked-for
5XX, a non-2XX answer to a ping is a real failure in Locust's stats (so Locust then exits with its
--exit-code-on-error, 1 by default, after a complete run with final stats).

Why the phases do not use Locust's per-class dispatch: a shape's `(users, spawn_rate, user_classes)`
tick hands users out by class weight and never stops users of a class dropped from the list (going
from 2 CpuUser to 2 ErrorUser changes nothing, the total being equal). A phase here asks for exact
counts per class, so `PhaseShape` starts and stops users itself with the runner's `spawn_users` /
`stop_users`, and its tick only says "running" (a constant tuple) or "done" (None).

Expected 5XX answers (ErrorUser asking for them) are successes in Locust's stats, so the run does
not look broken; every answer's status is also counted per endpoint and written, when --csv is
given, to `<csv prefix>_status.json` (totals and a per-second timeline) for the harness to compare
with the load balancer's 5XX metrics. The file is rewritten (atomically) every second during the
run, so the harness can read it live, and a last time when Locust quits.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import gevent
import locust.stats
from locust import FastHttpUser, LoadTestShape, events, task
from locust.runners import STATE_RUNNING, STATE_SPAWNING

import entryrequest  # beside this file, like phaseplan
import phaseplan  # the locustfile's directory is on sys.path while Locust imports it

log = logging.getLogger("loadtests")

DEFAULT_CPU_MS = 20.0
DEFAULT_ERROR_STATUS = 503
DEFAULT_PING_N = 5
CONTROL_INTERVAL_S = 0.1
STATUS_WRITE_INTERVAL_S = 1.0


@events.init_command_line_parser.add_listener
def _add_arguments(parser: Any) -> None:
    parser.add_argument("--cpu-ms", type=float, env_var="LOAD_CPU_MS", default=DEFAULT_CPU_MS,
                        help="CPU milliseconds each /cpu request burns (a phase's cpu_ms overrides it)")
    parser.add_argument("--error-status", type=int, env_var="LOAD_ERROR_STATUS", default=DEFAULT_ERROR_STATUS,
                        help="5XX status ErrorUser asks /error for and counts as expected")
    parser.add_argument("--phases", type=str, env_var="LOAD_PHASES", default="",
                        help="JSON phases file (see loadtests/phaseplan.py); the run stops after the last phase")
    parser.add_argument("--control", type=str, env_var="LOAD_CONTROL", default="",
                        help="JSON control file re-read while running (see loadtests/phaseplan.py); "
                             '"stop": true ends the run')
    parser.add_argument("--ping-n", type=int, env_var="LOAD_PING_N", default=DEFAULT_PING_N,
                        help="PingUser asks GET /<n> (the factorial of n)")
    parser.add_argument(entryrequest.HEADERS_OPTION, type=str, env_var=entryrequest.HEADERS_ENV, default="",
                        help='headers every request carries, as a JSON object (e.g. \'{"Host": "api.example.com"}\' '
                             "for a host-header listener rule); see loadtests/entryrequest.py")
    parser.add_argument(entryrequest.QUERY_OPTION, type=str, env_var=entryrequest.QUERY_ENV, default="",
                        help="query parameters every request carries (k=v&k2=v2), for a query-string listener rule")
    parser.add_argument("--user-locustfile", type=str, env_var="LOAD_USER_LOCUSTFILE", default="",
                        help="run this locustfile's HttpUser/FastHttpUser classes, paced by the phases, instead "
                             "of the sample load (see loadtests/usermix.py)")


class _Settings:
    """What the users read on each request: the running phase's values, else the command line's."""

    phase: phaseplan.Phase | None = None
    options: Any = None

    @classmethod
    def cpu_ms(cls) -> float:
        if cls.phase is not None and cls.phase.cpu_ms is not None:
            return cls.phase.cpu_ms
        return float(getattr(cls.options, "cpu_ms", DEFAULT_CPU_MS))

    @classmethod
    def error_status(cls) -> int:
        if cls.phase is not None and cls.phase.error_status is not None:
            return cls.phase.error_status
        return int(getattr(cls.options, "error_status", DEFAULT_ERROR_STATUS))

    @classmethod
    def rate_per_user(cls, user_class: str) -> float | None:
        return cls.phase.rate_for(user_class) if cls.phase is not None else None

    @classmethod
    def ping_n(cls) -> int:
        return int(getattr(cls.options, "ping_n", DEFAULT_PING_N))

    entry_cache: tuple[dict[str, str], list[tuple[str, str]]] | None = None

    @classmethod
    def entry(cls) -> tuple[dict[str, str], list[tuple[str, str]]]:
        """The headers and query parameters every request carries (--request-headers, --request-query)."""
        if cls.entry_cache is None:
            if cls.options is None:
                return {}, []
            cls.entry_cache = (entryrequest.parse_headers(getattr(cls.options, "request_headers", "") or ""),
                               entryrequest.parse_query(getattr(cls.options, "request_query", "") or ""))
        return cls.entry_cache


class _PacedUser(FastHttpUser):
    """Constant throughput when the phase sets rate_per_user (as locust's constant_throughput), else no wait."""

    abstract = True
    _last_start: float | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        entryrequest.wrap(self.client, _Settings.entry)

    def wait_time(self) -> float:
        rate = _Settings.rate_per_user(type(self).__name__)
        now = time.perf_counter()
        if not rate:
            self._last_start = None
            return 0.0
        if self._last_start is None:
            self._last_start = now
            return 0.0
        wait = max(0.0, 1.0 / rate - (now - self._last_start))
        self._last_start = now + wait
        return wait


class CpuUser(_PacedUser):
    @task
    def cpu(self) -> None:
        self.client.get(f"/cpu?ms={_Settings.cpu_ms():g}", name="/cpu")


class ErrorUser(_PacedUser):
    @task
    def error(self) -> None:
        expected = _Settings.error_status()
        with self.client.get(f"/error?status={expected}", name="/error", catch_response=True) as resp:
            if resp.status_code == expected:
                resp.success()  # asked for: the harness counts it through the status file instead
            else:
                resp.failure(f"expected status {expected}, got {resp.status_code}")


class PingUser(_PacedUser):
    @task
    def ping(self) -> None:
        path = f"/{_Settings.ping_n()}"
        with self.client.get(path, name=path, catch_response=True) as resp:
            if not 200 <= resp.status_code < 300:
                # Not asked for: a real failure (the status file counts it by code as well).
                resp.failure(f"{path} answered {resp.status_code}, expected 2XX")


# Locust appends a --csv-full-history row every second but flushes the file only every 5 s; the
# harness reads it mid-run, so flush each second (a module constant its writer loop reads each time).
locust.stats.CSV_STATS_FLUSH_INTERVAL_SEC = 1

USER_CLASSES = {"CpuUser": CpuUser, "ErrorUser": ErrorUser, "PingUser": PingUser}
if tuple(sorted(USER_CLASSES)) != tuple(sorted(phaseplan.USER_CLASS_NAMES)):
    raise SystemExit(f"phaseplan.USER_CLASS_NAMES {phaseplan.USER_CLASS_NAMES} must list {sorted(USER_CLASSES)}.")


def _option_early(flag: str, env_var: str) -> str:
    # The shape class must exist (or not) when Locust imports this file, before it parses the
    # options: read the flag from argv or the environment here (not from a config file).
    argv = sys.argv
    for i, arg in enumerate(argv):
        if arg == flag and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(f"{flag}="):
            return arg.split("=", 1)[1]
    return os.environ.get(env_var, "")


# The user's own traffic instead of the sample load (see loadtests/usermix.py): its classes, paced
# by the phase's rate_per_user, as `C` (untagged tasks) and `C:error` (tasks tagged error).
_USER_LOCUSTFILE = _option_early("--user-locustfile", "LOAD_USER_LOCUSTFILE")
if _USER_LOCUSTFILE:
    import usermix

    try:
        _FOUND = usermix.discover(usermix.load_module(_USER_LOCUSTFILE), _USER_LOCUSTFILE)
    except usermix.UserFileError as _exc:
        raise SystemExit(str(_exc)) from None
    for _sample in (CpuUser, ErrorUser, PingUser):
        _sample.abstract = True  # the sample app's load is not what runs now
    USER_CLASSES = usermix.paced_classes(_FOUND, _Settings.rate_per_user, _Settings.entry)
    for _i, _cls in enumerate(USER_CLASSES.values()):
        globals()[f"_UserClass{_i}"] = _cls  # Locust picks its user classes from this module's names
    del _i, _cls  # a loop variable left at module level would be a second name for a class


class _StatusCounter:
    """Per endpoint, how many answers carried each status (0 = no answer); also per wall second."""

    totals: Counter[tuple[str, int]] = Counter()
    timeline: Counter[tuple[int, str, int]] = Counter()
    final = False  # written at quit: the periodic writer must not overwrite it
    environment: Any = None

    @classmethod
    def on_request(cls, name: str, response: Any = None, **_: Any) -> None:
        status = int(getattr(response, "status_code", 0) or 0)
        cls.totals[(name, status)] += 1
        cls.timeline[(int(time.time()), name, status)] += 1

    @classmethod
    def as_json(cls) -> dict[str, Any]:
        totals: dict[str, dict[str, int]] = {}
        for (name, status), n in sorted(cls.totals.items()):
            totals.setdefault(name, {})[str(status)] = n
        timeline = [[t, name, status, n] for (t, name, status), n in sorted(cls.timeline.items())]
        runner = getattr(cls.environment, "runner", None)
        users = {k: n for k, n in runner.user_classes_count.items() if k in USER_CLASSES} if runner is not None else {}
        return {"totals": totals, "timeline": timeline, "users": users, "written_at": time.time()}

    @classmethod
    def write(cls, path: str) -> None:
        """Temporary file + rename, so a reader never sees half a file."""
        tmp = f"{path}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(cls.as_json(), fh)
        os.replace(tmp, path)

    @classmethod
    def write_every(cls, path: str, interval: float) -> None:
        while not cls.final:
            gevent.sleep(interval)
            if not cls.final:
                cls.write(path)


events.request.add_listener(_StatusCounter.on_request)


@events.init.add_listener
def _on_init(environment: Any, **_: Any) -> None:
    _Settings.options = environment.parsed_options
    _StatusCounter.environment = environment
    try:
        _Settings.entry()  # a bad --request-headers stops Locust at start, with its one line
    except ValueError as exc:
        raise SystemExit(f"loadtests/locustfile.py: {exc}") from None

    # Locust 2.47 headless with a shape installs its SIGTERM handler only after the shape ends, so
    # a SIGTERM mid-run would kill it without final stats. Quitting the runner instead lets Locust's
    # normal shutdown write them (--json-file, --csv) and exit with its usual code.
    def _quit_on_sigterm() -> None:
        log.info("Got SIGTERM: stopping the run, writing the final stats")
        if environment.runner is not None:
            environment.runner.quit()

    gevent.signal_handler(signal.SIGTERM, _quit_on_sigterm)

    prefix = getattr(environment.parsed_options, "csv_prefix", None)
    if prefix:
        gevent.spawn(_StatusCounter.write_every, f"{prefix}_status.json", STATUS_WRITE_INTERVAL_S)


@events.quit.add_listener
def _write_status(**_: Any) -> None:
    options = _Settings.options
    _StatusCounter.final = True
    data = _StatusCounter.as_json()
    log.info("Status codes per endpoint: %s", json.dumps(data["totals"], sort_keys=True))
    prefix = getattr(options, "csv_prefix", None)
    if prefix:
        _StatusCounter.write(f"{prefix}_status.json")


def _drive(shape: LoadTestShape, target: Callable[[], phaseplan.Phase | None]) -> None:
    """Move the runner's users to `target()`'s exact per-class counts, every control interval,
    until it answers None. Phase and control shapes share it."""
    runner = shape.runner
    assert runner is not None
    # Locust applies the first tick (0 users) inside start(); acting before it is done
    # would let that start() stop our users again.
    while runner.state != STATE_RUNNING:
        gevent.sleep(CONTROL_INTERVAL_S)
    budget, last, shown = 0.0, shape.get_run_time(), None
    while True:
        now = shape.get_run_time()
        phase = target()
        if phase is None:
            return
        if phase is not shown:
            until = f"for {phase.duration:g}s" if phase.duration != float("inf") else "until the control file changes"
            log.info("Phase %r: %s %s (rate per user %s)", phase.name, dict(phase.users), until, phase.rate_per_user)
            shown = phase
        if runner.state not in (STATE_RUNNING, STATE_SPAWNING):
            return  # stopped (web UI stop button, quit): never respawn users
        _Settings.phase = phase
        budget = min(budget + phase.spawn_rate * (now - last), max(1.0, phase.spawn_rate))
        last = now
        current = {name: n for name, n in runner.user_classes_count.items() if name in USER_CLASSES}
        start, stop, budget = phaseplan.next_step(current, phase.users, budget)
        if stop:
            runner.stop_users(stop)
        if start and runner.state in (STATE_RUNNING, STATE_SPAWNING):
            runner.spawn_users(start)
        gevent.sleep(CONTROL_INTERVAL_S)


class _DrivenShape(LoadTestShape):
    """A shape whose tick only says "running" or "done"; a controller greenlet moves the users."""

    abstract = True  # not a shape Locust should pick by itself
    use_common_options = False
    _controller: gevent.Greenlet | None = None

    def done(self) -> bool:
        raise NotImplementedError

    def target(self) -> phaseplan.Phase | None:
        raise NotImplementedError

    def tick(self) -> tuple[int, float] | None:
        if self.done():
            _Settings.phase = None
            return None
        # A new controller for each start (the web UI can start the shape again after it ended).
        if (self._controller is None or self._controller.dead) and self.runner is not None:
            self._controller = self.runner.greenlet.spawn(_drive, self, self.target)
        # Constant: Locust's dispatcher must never move users; _drive does.
        return (0, 1.0)


@events.test_stopping.add_listener
def _stop_controller(environment: Any, **_: Any) -> None:
    shape = environment.shape_class
    if isinstance(shape, _DrivenShape) and shape._controller is not None:
        shape._controller.kill(block=False)


_PHASES_PATH = _option_early("--phases", "LOAD_PHASES")
_CONTROL_PATH = _option_early("--control", "LOAD_CONTROL")

if _PHASES_PATH and _CONTROL_PATH:
    raise SystemExit(f"Give --phases ({_PHASES_PATH}) or --control ({_CONTROL_PATH}), not both.")

if _PHASES_PATH:
    try:
        PHASES = phaseplan.load_phases(_PHASES_PATH, USER_CLASSES)
    except ValueError as _exc:
        raise SystemExit(str(_exc)) from None

    class PhaseShape(_DrivenShape):
        """Runs PHASES in order with exact per-class user counts, then stops the test."""

        def done(self) -> bool:
            return self.get_run_time() >= phaseplan.total_duration(PHASES)

        def target(self) -> phaseplan.Phase | None:
            return phaseplan.phase_at(PHASES, self.get_run_time())

if _CONTROL_PATH:
    _READER = phaseplan.ControlReader(_CONTROL_PATH, USER_CLASSES)

    class ControlShape(_DrivenShape):
        """Holds the control file's exact per-class user counts until it says stop."""

        def done(self) -> bool:
            return _READER.control.stop

        def target(self) -> phaseplan.Phase | None:
            control, warning = _READER.poll(time.time())
            if warning:
                log.warning("%s", warning)
            return None if control.stop else control.phase
