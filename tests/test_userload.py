"""The user's Locust traffic as the load: splitting users by weight, pacing, calibration arithmetic,
reachability with the numbers, the error-phase skip, the peak rate, and the locustfile check (a real
child Python importing the user's file)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from harness import scenarios
from harness.errors import ConfigError
from harness.scenarios.runner import RunResult, peak_rps, skipped_expectations
from harness.userload import (
    Calibration, MixClass, PhaseNeed, UserMix, calibration_from, check_reachable, inspect_locustfile, rate_per_user,
    split_users,
)

NODE_APP = Path(__file__).resolve().parent / "data" / "node-app"


@pytest.mark.parametrize("total, weights, expected", [
    (0, {"A": 3, "B": 1}, {"A": 0, "B": 0}),
    (1, {"A": 3, "B": 1}, {"A": 1, "B": 0}),
    (4, {"A": 3, "B": 1}, {"A": 3, "B": 1}),
    (5, {"A": 3, "B": 1}, {"A": 4, "B": 1}),  # 3.75 / 1.25: the larger remainder gets the extra user
    (3, {"A": 1, "B": 1, "C": 1}, {"A": 1, "B": 1, "C": 1}),
    (2, {"A": 1, "B": 1, "C": 1}, {"A": 1, "B": 1, "C": 0}),  # ties by name
    (7, {"A": 1, "Z": 0}, {"A": 7, "Z": 0}),  # weight 0 gets none
    (3, {"Z": 0}, {"Z": 0}),
])
def test_split_users(total: int, weights: dict[str, int], expected: dict[str, int]) -> None:
    got = split_users(total, weights)
    assert got == expected
    if any(w > 0 for w in weights.values()):
        assert sum(got.values()) == total


@pytest.mark.parametrize("cost_ms, units, expected", [
    (0.3, 256, 50.0),  # 833 requests/s fill a task: capped at 50 a user
    (0.3, 64, 20.833),  # CPU scale 0.25: 208 requests/s fill a task, 10 users of 20.8
    (20.0, 256, 1.25),
    (5000.0, 256, 0.2),  # floor
])
def test_rate_per_user(cost_ms: float, units: float, expected: float) -> None:
    assert rate_per_user(cost_ms, units) == pytest.approx(expected, rel=1e-3)


def test_calibration_from_measures_per_request() -> None:
    cal = calibration_from(0.9, 0.3, {200: 2900, 404: 100}, 3.0, "--locustfile x")
    assert cal.cost_ms == pytest.approx(0.3)
    assert cal.locust_ms == pytest.approx(0.1)
    assert cal.ok == 2900 and cal.requests == 3000


def test_calibration_refuses_a_mix_whose_requests_all_fail() -> None:
    with pytest.raises(ConfigError, match=r"every request of the mix failed.*5 x no answer, 300 x 404"):
        calibration_from(0.1, 0.1, {404: 300, 0: 5}, 3.0, "--locustfile x")


def test_calibration_refuses_too_few_answers_as_too_costly() -> None:
    with pytest.raises(ConfigError, match=r"too costly to calibrate here: 4 request\(s\) answered in 12.0 s"):
        calibration_from(3.0, 0.01, {200: 4}, 12.0, "--locustfile x")


CAL = Calibration(cost_ms=0.3, locust_ms=0.5, requests=3000, seconds=3.0, ok=3000)


def test_reachable_phases_get_one_line_each() -> None:
    lines = check_reachable(CAL, [PhaseNeed("cpu-high", 85.0, 4), PhaseNeed("cpu-low", 15.0, 4)], 64.0, 2.0, 0.33,
                            "--locustfile x")
    assert lines[0].startswith("phase cpu-high: 85% of 4 tasks x 64 units = 708 requests/s of 0.300 ms")
    assert "phase cpu-low: 15% of 4 tasks x 64 units = 125 requests/s" in lines[1]


def test_too_cheap_for_locust_names_the_phase_and_numbers() -> None:
    # 85% of 4 x 256 units = 0.85 vCPU = 2833 requests/s of 0.3 ms; Locust at 0.5 ms sends at most 1600/s
    with pytest.raises(ConfigError) as err:
        check_reachable(CAL, [PhaseNeed("cpu-high", 85.0, 4)], 256.0, 2.0, 0.33, "--locustfile x")
    msg = str(err.value)
    assert "too cheap for this machine" in msg and "phase cpu-high" in msg
    assert "2833 requests/s" in msg and "at most 1600 requests/s" in msg


def test_too_cheap_for_the_machine_counts_tasks_and_locust() -> None:
    cheap_locust = Calibration(cost_ms=1.0, locust_ms=0.1, requests=3000, seconds=3.0, ok=3000)
    # 90% of 8 x 512 units = 3.6 vCPU of task CPU alone, on 2 CPUs
    with pytest.raises(ConfigError, match=r"phase cpu-high: 90% of 8 tasks x 512 units.*uses 3.96 of the 2 CPUs"):
        check_reachable(cheap_locust, [PhaseNeed("cpu-high", 90.0, 8)], 512.0, 2.0, 10.0, "--locustfile x")


def test_too_costly_when_one_request_outlasts_the_health_check_timeout() -> None:
    costly = Calibration(cost_ms=200.0, locust_ms=0.5, requests=40, seconds=12.0, ok=40)
    # 200 ms of CPU on a quarter core holds a task 800 ms; the health check times out after 10 s / 30 = 333 ms
    with pytest.raises(ConfigError, match=r"too costly for this stack: one request costs 200.0 ms of CPU, 800 ms"
                                          r".*\(333 ms\)"):
        check_reachable(costly, [PhaseNeed("cpu-high", 85.0, 4)], 256.0, 2.0, 10.0 / 30, "--locustfile x")


def test_a_task_whose_cpu_does_not_move_is_refused() -> None:
    idle = Calibration(cost_ms=0.0, locust_ms=0.5, requests=300, seconds=3.0, ok=300)
    with pytest.raises(ConfigError, match="CPU did not move"):
        check_reachable(idle, [], 256.0, 2.0, 1.0, "--locustfile x")


def test_user_mix_names_and_users() -> None:
    mix = UserMix(Path("x.py"), [MixClass("Browser", 3, True, True), MixClass("Checker", 1, True, False)])
    assert mix.names == ["Browser", "Checker", "Browser:error"]
    assert mix.has_error_traffic
    assert mix.users(4, 2) == {"Browser": 3, "Checker": 1, "Browser:error": 2}
    assert mix.rates(20.0, 2.0) == {"Browser": 20.0, "Checker": 20.0, "Browser:error": 2.0}
    plain = UserMix(Path("x.py"), [MixClass("Only", 1, True, False)])
    assert not plain.has_error_traffic and plain.users(0, 3) == {"Only": 0}


def test_error_phases_expectations_are_skipped_not_passed() -> None:
    scenario = scenarios.load("5xx-alerts")
    skip = skipped_expectations(scenario, ["errors"])
    assert skip == [{"alarm_follows_crossing": "target_5xx"}, {"email": "target_5xx"}]
    assert skipped_expectations(scenario, []) == []
    result = RunResult(scenario, None, 0.0, 0.0)  # type: ignore[arg-type]
    result.verdicts = [{"name": "a", "passed": True}, {"name": "b", "passed": False, "skipped": True}]
    assert result.passed  # the skipped one is neither a pass nor a failure
    result.verdicts = [{"name": "b", "passed": False, "skipped": True}]
    assert not result.passed  # nothing checked is no pass


def test_peak_rps_is_the_busiest_second() -> None:
    timeline = [(100, "/a", 200, 500), (100, "/b", 200, 200), (101, "/a", 200, 650), (101, "/b", 500, 10)]
    assert peak_rps(timeline) == 700.0
    assert peak_rps([]) is None


@pytest.mark.slow  # imports Locust and the user's file in a child Python
def test_inspect_the_node_apps_locustfile() -> None:
    classes = inspect_locustfile(NODE_APP / "locustfile.py")
    assert classes == [MixClass("Browser", 3, True, True), MixClass("Checker", 1, True, False)]


@pytest.mark.slow  # imports Locust and the user's file in a child Python
@pytest.mark.parametrize("text, message", [
    ("import no_such_module_here\n", r"does not import \(line 1\): ModuleNotFoundError: No module named "
                                      r"'no_such_module_here'"),
    ("def broken(:\n", r"does not import.*SyntaxError"),
    ("X = 1\n", r"defines no user class"),
    ("from locust import User, task\nclass U(User):\n    @task\n    def t(self):\n        pass\n",
     r"U must be HttpUser or FastHttpUser"),
    ("from locust import HttpUser, tag, task\nclass U(HttpUser):\n    @tag('error')\n    @task\n"
     "    def t(self):\n        pass\n", r"every task is tagged 'error'"),
    ("import sys\nsys.exit(4)\n", r"exited while importing \(SystemExit 4\)"),
])
def test_a_bad_locustfile_is_named_in_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "theirs.py"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as err:
        inspect_locustfile(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_a_missing_locustfile_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"--locustfile .*nope.py: no such file"):
        inspect_locustfile(tmp_path / "nope.py")


def test_nan_free_arithmetic() -> None:
    assert math.isfinite(rate_per_user(1e-6, 256))
