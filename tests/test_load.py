"""harness/load.py: plan_users and the stats parsers from tables; a real Locust process against a
real sample app for the run, SIGTERM and parent-death behaviour, and for live control (set_load)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from harness.errors import ConfigError, TaskError
from harness.load import (
    ControlledLocustProcess,
    LocustProcess,
    measure_cost,
    parse_final_stats,
    parse_history,
    parse_live,
    percentile,
    plan_users,
)

ROOT = Path(__file__).resolve().parents[1]
LOCUSTFILE = ROOT / "loadtests" / "locustfile.py"


# ---------------------------------------------------------------- plan_users


@pytest.mark.parametrize(
    "util, tasks, units, cost_ms, rate, users",
    [
        # 2 tasks x 1024 units = 2 cores; 0.5 x 2 = 1 CPU-s/s; 50 ms/request -> 20 rps; 4 rps/user -> 5
        (0.5, 2, 1024, 50.0, 4.0, 5),
        # 1 task x 256 units = 0.25 core; 0.9 x 0.25 = 0.225 CPU-s/s; 25 ms -> 9 rps; 2 rps/user -> 4.5 -> 5
        (0.9, 1, 256, 25.0, 2.0, 5),
        # exact fit is not rounded up: 1 core, 100 ms -> 10 rps at util 1; 5 rps/user -> 2
        (1.0, 1, 1024, 100.0, 5.0, 2),
        # float noise (0.7 x 3 / 0.1 = 21.000000000000004) must not add a user
        (0.7, 3, 1024, 100.0, 1.0, 21),
        # more than 100 % is possible in ECS (container-level reservations)
        (1.5, 1, 512, 50.0, 1.0, 15),
        (0.0, 4, 1024, 10.0, 1.0, 0),
        (0.5, 0, 1024, 10.0, 1.0, 0),
    ],
)
def test_plan_users(util: float, tasks: int, units: int, cost_ms: float, rate: float, users: int) -> None:
    assert plan_users(util, tasks, units, cost_ms, rate) == users


@pytest.mark.parametrize(
    "args, message",
    [
        ((85.0, 1, 1024, 10.0, 1.0), "looks like a percentage"),
        ((-0.1, 1, 1024, 10.0, 1.0), "target_utilization"),
        ((0.5, 1, 0, 10.0, 1.0), "cpu_units_per_task"),
        ((0.5, 1, 1024, 0.0, 1.0), "cost_ms"),
        ((0.5, 1, 1024, 10.0, 0.0), "rate_per_user"),
        ((0.5, -1, 1024, 10.0, 1.0), "tasks"),
    ],
)
def test_plan_users_rejects(args: tuple[float, int, int, float, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        plan_users(*args)


# ---------------------------------------------------------------- parsers


@pytest.mark.parametrize(
    "hist, n, p, expected",
    [
        ({10: 1}, 1, 0.5, 10.0),
        # Locust leans high: the smallest time with at most (1 - p) of the requests above it
        ({10: 50, 20: 50}, 100, 0.5, 20.0),
        ({10: 50, 20: 50}, 100, 0.49, 10.0),
        ({1: 90, 5: 5, 100: 5}, 100, 0.94, 5.0),
        ({1: 90, 5: 5, 100: 5}, 100, 0.95, 100.0),
        ({}, 0, 0.5, None),
    ],
)
def test_percentile_table(hist: dict[float, int], n: int, p: float, expected: float | None) -> None:
    assert percentile(hist, n, p) == expected


@pytest.mark.slow
def test_percentile_matches_locusts_own_function() -> None:
    """Cross-check with locust.stats in a child process (importing Locust here would gevent-patch pytest)."""
    cases = [({1: 3, 2: 7, 13: 1, 140: 2}, 13, p) for p in (0.5, 0.66, 0.9, 0.95, 0.99)]
    cases += [({10: 50, 20: 50}, 100, p) for p in (0.01, 0.5, 0.99)]
    code = (
        "import json,sys; from locust.stats import calculate_response_time_percentile as c; "
        "print(json.dumps([c({int(k): v for k, v in h.items()}, n, p) for h, n, p in json.load(sys.stdin)]))"
    )
    out = subprocess.run([sys.executable, "-c", code], input=json.dumps(cases), capture_output=True, text=True,
                         timeout=60, check=True)
    assert [percentile(h, n, p) for h, n, p in cases] == [float(x) for x in json.loads(out.stdout)]


def test_parse_final_stats_merges_status_counts() -> None:
    entries = [
        {"name": "/cpu", "method": "GET", "num_requests": 4, "num_failures": 1, "response_times": {"10": 3, "40": 1},
         "start_time": 100.0, "last_request_timestamp": 102.0, "total_response_time": 70.0, "max_response_time": 41.0},
        {"name": "/error", "method": "GET", "num_requests": 2, "num_failures": 0, "response_times": {"1": 2},
         "start_time": 101.0, "last_request_timestamp": 104.0, "total_response_time": 2.0, "max_response_time": 1.2},
    ]
    by_name, total = parse_final_stats(entries, {"/cpu": {"200": 3, "502": 1}, "/error": {"503": 2}})
    cpu = by_name["/cpu"]
    assert (cpu.requests, cpu.failures, cpu.rps, cpu.avg_ms, cpu.p50_ms, cpu.p99_ms) == (4, 1, 2.0, 17.5, 10.0, 40.0)
    assert cpu.statuses == {200: 3, 502: 1} and cpu.count_status(500, 599) == 1
    assert by_name["/error"].count_status(500, 599) == 2
    assert (total.requests, total.failures, total.rps, total.max_ms) == (6, 1, 1.5, 41.0)
    assert total.statuses == {200: 3, 502: 1, 503: 2}


def test_parse_history_skips_na_and_cut_rows() -> None:
    pct = ",".join(["50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%", "99.9%", "99.99%", "100%"])
    header = f"Timestamp,User Count,Type,Name,Requests/s,Failures/s,{pct},Total Request Count,Total Failure Count,x"
    rows = [
        "10,0,,Aggregated,0.000000,0.000000," + ",".join(["N/A"] * 11) + ",0,0,0",
        "11,2,GET,/cpu,4.000000,1.000000," + ",".join(["7"] * 5 + ["9"] * 6) + ",4,1,0",
        "12,2,GET,/cpu,4.0",  # cut short mid-write
    ]
    points = parse_history("\n".join([header, *rows]))
    assert [(p.timestamp, p.users, p.name, p.p50_ms, p.p95_ms, p.requests) for p in points] == [
        (10, 0, "Aggregated", None, None, 0),
        (11, 2, "/cpu", 7.0, 9.0, 4),
    ]


# ---------------------------------------------------------------- real processes


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def app_url() -> Iterator[str]:
    """A real sample app process on a free loopback port."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "sample_app"],
        cwd=ROOT,
        env={**os.environ, "PORT": str(port), "HOST": "127.0.0.1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"sample app did not listen on 127.0.0.1:{port}") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _listening(pid: int) -> list[Any]:
    return [c for c in psutil.Process(pid).net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


PHASE_S = 3.0
RATE = 10.0
TWO_PHASES: list[dict[str, Any]] = [
    {"name": "cpu", "duration": PHASE_S, "users": {"CpuUser": 2}, "spawn_rate": 10, "cpu_ms": 5, "rate_per_user": RATE},
    {"name": "errors", "duration": PHASE_S, "users": {"ErrorUser": 2}, "spawn_rate": 10, "rate_per_user": RATE,
     "error_status": 503},
]


@pytest.mark.slow
def test_two_phase_run_stops_by_itself_with_stats(app_url: str, tmp_path: Path) -> None:
    lp = LocustProcess(LOCUSTFILE, app_url, TWO_PHASES, tmp_path)
    t0 = time.monotonic()
    lp.start()
    try:
        time.sleep(1.0)
        assert lp.pid is not None and _listening(lp.pid) == []  # headless: no web UI, no master port
        rc = lp.wait(timeout=2 * PHASE_S + 15)
        elapsed = time.monotonic() - t0
    finally:
        lp.stop()
    assert rc == 0, lp.log_tail()
    # Bounded by the phases (6 s) plus Locust's start-up and shutdown, never by our timeout.
    assert 2 * PHASE_S <= elapsed < 2 * PHASE_S + 12, elapsed  # under the wait's 15
    assert _gone(lp.pid)

    stats = lp.stats()
    cpu, err = stats.endpoint("/cpu"), stats.endpoint("/error")
    # 2 users x 10 req/s x 3 s = 60 at most (+ the first request each user sends at once)
    assert 15 <= cpu.requests <= 2 * RATE * PHASE_S + 4
    assert 15 <= err.requests <= 2 * RATE * PHASE_S + 4
    assert cpu.failures == 0 and cpu.statuses == {200: cpu.requests}
    # The asked-for 503s are successes in Locust's eyes, and counted apart by status.
    assert err.failures == 0 and err.statuses == {503: err.requests} and err.count_status(500, 599) == err.requests
    assert stats.total.requests == cpu.requests + err.requests
    assert cpu.p50_ms is not None and cpu.p95_ms is not None and cpu.p50_ms <= cpu.p95_ms
    # Phases in order: the CPU users stopped before the error users came (1 s timeline buckets).
    cpu_secs = [t for t, name, _, _ in stats.status_timeline if name == "/cpu"]
    err_secs = [t for t, name, _, _ in stats.status_timeline if name == "/error"]
    assert max(cpu_secs) <= min(err_secs)
    # A per-second time series for the report, with the user count Locust saw.
    assert any(p.name == "/cpu" for p in stats.history)
    assert max(p.users for p in stats.history if p.name == "Aggregated") == 2


@pytest.mark.slow
def test_sigterm_writes_final_stats(app_url: str, tmp_path: Path) -> None:
    phases = [{"name": "long", "duration": 60, "users": {"CpuUser": 1}, "spawn_rate": 5, "cpu_ms": 2, "rate_per_user": 20}]
    lp = LocustProcess(LOCUSTFILE, app_url, phases, tmp_path)
    lp.start()
    try:
        deadline = time.monotonic() + 15
        while not lp.history() or lp.history()[-1].requests == 0:
            assert time.monotonic() < deadline, lp.log_tail()
            time.sleep(0.2)
        t0 = time.monotonic()
        rc = lp.stop(grace=10)
        assert time.monotonic() - t0 < 5
    finally:
        lp.stop()
    assert rc == 0, lp.log_tail()
    assert lp.pid is not None and _gone(lp.pid)
    assert "Got SIGTERM" in lp.log_tail(50)
    assert lp.stats().endpoint("/cpu").requests > 0


@pytest.mark.slow
def test_locust_dies_with_the_harness(app_url: str, tmp_path: Path) -> None:
    """PR_SET_PDEATHSIG: a harness killed with SIGKILL (no cleanup) does not leave Locust behind."""
    script = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        sys.path.insert(0, {str(ROOT)!r})
        from harness.load import LocustProcess
        phases = [{{"name": "long", "duration": 60, "users": {{"CpuUser": 1}}, "rate_per_user": 1}}]
        lp = LocustProcess(Path({str(LOCUSTFILE)!r}), {app_url!r}, phases, Path({str(tmp_path)!r}))
        lp.start()
        print(lp.pid, flush=True)
        time.sleep(60)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    locust_pid = 0
    try:
        assert parent.stdout is not None
        locust_pid = int(parent.stdout.readline())
        assert not _gone(locust_pid)
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 5
        while not _gone(locust_pid):
            assert time.monotonic() < deadline, "Locust outlived the process that started it"
            time.sleep(0.05)
    finally:
        parent.kill()
        parent.wait()
        if locust_pid and not _gone(locust_pid):
            os.kill(locust_pid, signal.SIGKILL)


@pytest.mark.slow
def test_measure_cost(app_url: str) -> None:
    cost = measure_cost(app_url, cpu_ms=20.0, samples=5)
    assert 20.0 <= cost < 2000.0  # at least the CPU it burns; a loose top on 2 noisy cores


@pytest.mark.parametrize(
    "host, phases, message",
    [
        ("http://0.0.0.0:8080", TWO_PHASES, "http://127.0.0.1:<port>"),
        ("http://localhost:8080", TWO_PHASES, "http://127.0.0.1:<port>"),
        ("http://127.0.0.1", TWO_PHASES, "http://127.0.0.1:<port>"),
        ("http://127.0.0.1:8080", [{"name": "x", "duration": -1}], "'duration' must be > 0"),
        ("http://127.0.0.1:8080", [], "non-empty JSON list"),
    ],
)
def test_bad_input_is_a_config_error(host: str, phases: list[dict[str, Any]], message: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        LocustProcess(LOCUSTFILE, host, phases, tmp_path)
    assert message in str(err.value)
    assert not (tmp_path / "phases.json").exists()


@pytest.mark.slow
def test_phases_file_runs_standalone_shape_check(tmp_path: Path) -> None:
    """A phases file naming an unknown user class makes Locust itself refuse to start, with the reason."""
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"name": "x", "duration": 1, "users": {"Ghost": 1}}]), encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", "http://127.0.0.1:9",
         "--phases", str(bad)],
        cwd=tmp_path, capture_output=True, text=True, timeout=30,
    )
    assert out.returncode != 0
    assert "unknown user class 'Ghost'" in out.stderr + out.stdout


# ---------------------------------------------------------------- live control


def test_parse_live() -> None:
    live = parse_live({
        "totals": {"/error": {"503": 4, "0": 1}, "/5": {"200": 3}},
        "timeline": [[100, "/5", 200, 3], [100, "/error", 503, 4]],
        "users": {"ErrorUser": 1, "PingUser": 1, "CpuUser": 0},
        "written_at": 101.5,
    })
    assert live.written_at == 101.5 and live.users == {"ErrorUser": 1, "PingUser": 1, "CpuUser": 0}
    assert (live.requests("/error"), live.requests("/5"), live.requests("/cpu")) == (5, 3, 0)
    assert live.count_status("/error", 500, 599) == 4
    assert live.timeline == [(100, "/5", 200, 3), (100, "/error", 503, 4)]
    empty = parse_live({})
    assert (empty.written_at, empty.users, empty.requests("/cpu")) == (None, {}, 0)


@pytest.mark.parametrize(
    "users, kwargs, message",
    [
        ({"Ghost": 1}, {}, "unknown user class 'Ghost'"),
        ({"CpuUser": -1}, {}, "must be an integer >= 0"),
        ({"CpuUser": 1}, {"rate_per_user": {"PingUser": 0}}, "'rate_per_user'['PingUser'] must be > 0"),
        ({"CpuUser": 1}, {"error_status": 404}, "must be an HTTP 5XX code"),
        ({"CpuUser": 1}, {"spawn_rate": 0}, "'spawn_rate' must be > 0"),
    ],
)
def test_set_load_rejects_what_locust_would(users: dict[str, int], kwargs: dict[str, Any], message: str,
                                            tmp_path: Path) -> None:
    lp = ControlledLocustProcess(LOCUSTFILE, "http://127.0.0.1:9", tmp_path)
    with pytest.raises(ConfigError) as err:
        lp.set_load(users, **kwargs)
    assert message in str(err.value)
    assert lp.control == {"users": {}, "stop": False}  # the last good load stays
    assert not lp.control_path.exists()  # nothing written before start()


def _wait_for(lp: LocustProcess, what: str, ok: Any, timeout: float = 15.0) -> Any:
    """Poll live_stats() until ok(stats) holds; fail with Locust's log otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        live = lp.live_stats()
        if ok(live):
            return live
        assert lp.returncode is None, f"Locust exited ({lp.returncode}) waiting for {what}:\n{lp.log_tail()}"
        assert time.monotonic() < deadline, f"waited {timeout}s for {what}; last {live}:\n{lp.log_tail()}"
        time.sleep(0.1)


@pytest.mark.slow
def test_control_mode_switches_users_live_and_stops_cleanly(app_url: str, tmp_path: Path) -> None:
    lp = ControlledLocustProcess(LOCUSTFILE, app_url, tmp_path)
    lp.set_load({"CpuUser": 2}, spawn_rate=10, cpu_ms=5, rate_per_user=10)
    lp.start()
    try:
        assert lp.pid is not None
        _wait_for(lp, "2 CPU users sending /cpu", lambda s: s.users.get("CpuUser") == 2 and s.requests("/cpu") > 0)
        assert _listening(lp.pid) == []

        # Rate per class: errors at 10/s, pings at 5/s per user.
        t_switch = time.monotonic()
        lp.set_load({"ErrorUser": 1, "PingUser": 1}, spawn_rate=10, error_status=503,
                    rate_per_user={"ErrorUser": 10, "PingUser": 5})
        switched = _wait_for(
            lp, "the error and ping users",
            lambda s: s.users == {"CpuUser": 0, "ErrorUser": 1, "PingUser": 1}
            and s.requests("/error") > 0 and s.requests("/5") > 0,
        )
        # The CPU users are gone: no /cpu request over a later window of two status writes.
        before = _wait_for(lp, "a status write after the switch", lambda s: s.written_at != switched.written_at)
        after = _wait_for(lp, "two more status writes", lambda s: s.written_at is not None
                          and before.written_at is not None and s.written_at >= before.written_at + 2)
        assert after.requests("/cpu") == before.requests("/cpu")
        assert after.requests("/error") > before.requests("/error") and after.requests("/5") > before.requests("/5")

        children = psutil.Process(lp.pid).children(recursive=True)
        t_stop = time.monotonic()
        rc = lp.stop()
        stop_took = time.monotonic() - t_stop
    finally:
        lp.stop()
    # A clean stop through the control file ("stop": true), not a signal.
    assert rc == 0, lp.log_tail()
    assert stop_took < ControlledLocustProcess.CLEAN_STOP_S, lp.log_tail()
    assert "Got SIGTERM" not in lp.log_tail(100) and "Shape test stopping" in lp.log_tail(100)
    assert json.loads(lp.control_path.read_text(encoding="utf-8"))["stop"] is True
    assert _gone(lp.pid) and all(_gone(c.pid) for c in children)

    stats = lp.stats()
    cpu, err, ping = stats.endpoint("/cpu"), stats.endpoint("/error"), stats.endpoint("/5")
    assert cpu.failures == 0 and cpu.statuses == {200: cpu.requests} and cpu.requests >= 2
    assert err.failures == 0 and err.statuses == {503: err.requests}
    assert ping.failures == 0 and ping.statuses == {200: ping.requests}
    # Paced per class after the switch: at most rate x window (+1 at once per user, +1 for rounding).
    window = stop_took + (t_stop - t_switch)
    assert 1 <= ping.requests <= 5 * window + 2, (ping.requests, window)
    assert 1 <= err.requests <= 10 * window + 2, (err.requests, window)
    # The final status file agrees with the last live one and orders the switch (1 s buckets).
    assert lp.live_stats().requests("/cpu") == cpu.requests
    cpu_secs = [t for t, name, _, _ in stats.status_timeline if name == "/cpu"]
    new_secs = [t for t, name, _, _ in stats.status_timeline if name in ("/error", "/5")]
    assert max(cpu_secs) <= min(new_secs)
    with pytest.raises(TaskError, match="already exited"):
        lp.set_load({"CpuUser": 1})


@pytest.mark.slow
def test_control_mode_keeps_the_load_through_a_bad_file_and_counts_failed_pings(app_url: str,
                                                                                 tmp_path: Path) -> None:
    """A half-written control file is ignored (last load kept); a ping answered 4XX is a real Locust
    failure, yet the run completes with final stats (exit code 1: Locust's --exit-code-on-error)."""
    lp = ControlledLocustProcess(LOCUSTFILE, app_url, tmp_path, ping_n=100000)  # beyond the app's factorial limit
    lp.set_load({"PingUser": 1}, spawn_rate=10, rate_per_user=20)
    lp.start()
    try:
        first = _wait_for(lp, "pings", lambda s: s.requests("/100000") > 0)
        lp.control_path.write_text('{"users": {"PingUser": 0', encoding="utf-8")  # not atomic, cut short
        _wait_for(lp, "a warning in the log", lambda s: "Ignoring the control file" in lp.log_tail(50), timeout=5)
        later = _wait_for(lp, "more pings", lambda s: s.written_at != first.written_at
                          and s.requests("/100000") > first.requests("/100000"))
        assert later.users.get("PingUser") == 1
        rc = lp.stop()
    finally:
        lp.stop()
    assert rc == 1, lp.log_tail()
    ping = lp.stats().endpoint("/100000")
    assert ping.requests > 0 and ping.failures == ping.requests and ping.statuses == {400: ping.requests}


@pytest.mark.slow
def test_phases_and_control_together_are_refused(tmp_path: Path) -> None:
    phases = tmp_path / "p.json"
    phases.write_text(json.dumps([{"duration": 1}]), encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", "http://127.0.0.1:9",
         "--phases", str(phases), "--control", str(tmp_path / "c.json")],
        cwd=tmp_path, capture_output=True, text=True, timeout=30,
    )
    assert out.returncode != 0
    assert "Give --phases" in out.stderr + out.stdout and "not both" in out.stderr + out.stdout
