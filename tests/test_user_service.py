"""Your own service: the Node/express walk-through app as the tasks and its locustfile as the load,
through the real CLI (`harness run`), and each kind of bad input refused in one line naming the
culprit, with nothing left running (found by an environment mark every child process inherits).

Needs Debian's nodejs and npm (.ci/run installs them); express comes from the npm registry
(`npm ci` into tests/data/node-app, once per session)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from harness.net import free_port
from harness.userapp import one_line, startup_budget, user_command
from harness.stack import HealthCheck

from tests.test_scenarios import marked

REPO = Path(__file__).resolve().parent.parent
NODE_APP = REPO / "tests" / "data" / "node-app"
RUN_TIMEOUT = 280.0
FAIL_TIMEOUT = 150.0


def harness(tmp_path: Path, *args: str, timeout: float = FAIL_TIMEOUT) -> subprocess.CompletedProcess[str]:
    """`harness <args>` in its own process; asserts that nothing it started outlives it."""
    mark = uuid.uuid4().hex
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "--home", str(tmp_path / "home"), *args],
                          cwd=REPO, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "HARNESS_TEST_MARK": mark})
    assert marked(mark) == [], "left running"
    return proc


def error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode != 0, proc.stdout[-2000:]
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("harness: error: "), proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr + proc.stdout
    return lines[0]


@pytest.fixture(scope="session")
def node_app() -> Path:
    """tests/data/node-app with express installed from the npm registry (npm ci, as CI does)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        if os.environ.get("CI"):
            pytest.fail("node and npm are missing: .ci/run installs Debian's nodejs and npm")
        pytest.skip("needs node and npm (apt-get install nodejs npm)")
    if not (NODE_APP / "node_modules" / "express").is_dir():
        done = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_APP, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return NODE_APP


# -- pure parts ----------------------------------------------------------------------------------------

def test_task_command_is_the_shell_form() -> None:
    assert user_command("node server.js --x 1") == ["/bin/sh", "-c", "exec node server.js --x 1"]
    assert user_command("npm ci && node server.js") == ["/bin/sh", "-c", "npm ci && node server.js"]


def test_an_empty_task_command_is_refused() -> None:
    from harness.errors import ConfigError

    with pytest.raises(ConfigError, match="--task-command is empty"):
        user_command("  ")


@pytest.mark.parametrize("interval, unhealthy, scale, expected", [
    (15.0, 4, 30.0, 5.0),  # 60 template s = 2 wall s at 30x: the floor for a busy machine
    (30.0, 10, 10.0, 30.0),  # 300 template s at 10x
    (10.0, 2, 1.0, 20.0),
])
def test_startup_budget_is_the_health_checks_time(interval: float, unhealthy: int, scale: float,
                                                  expected: float) -> None:
    health = HealthCheck("/", "traffic-port", "HTTP", interval, 5.0, 2, unhealthy, "200")
    assert startup_budget(health, scale) == expected


def test_one_line_keeps_the_end() -> None:
    assert one_line("a\n\n b \nc\n") == "a | b | c"
    assert one_line("x" * 400, limit=10) == "..." + "x" * 10


# -- bad input, through the CLI, before anything starts -------------------------------------------------

@pytest.mark.slow  # imports the user's locustfile with Locust in a child Python
@pytest.mark.parametrize("text, message", [
    ("import not_installed_anywhere\n", "does not import (line 1): ModuleNotFoundError"),
    ("VALUE = 1\n", "defines no user class"),
])
def test_a_bad_locustfile_is_named_before_anything_starts(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "theirs.py"
    path.write_text(text)
    proc = harness(tmp_path, "run", "scale-out", "--cloud-port", str(free_port()), "--locustfile", str(path))
    line = error_line(proc)
    assert message in line and str(path) in line
    assert "cloud " not in proc.stdout  # refused before the cloud started


def test_option_mismatches_are_named(tmp_path: Path) -> None:
    proc = harness(tmp_path, "run", "scale-out", "--task-dir", str(tmp_path))
    assert "--task-dir" in error_line(proc) and "--task-command" in error_line(proc)
    proc = harness(tmp_path, "run", "scale-out", "--task-command", "true", "--task-dir", str(tmp_path / "nope"))
    assert "no such folder" in error_line(proc)
    proc = harness(tmp_path, "run", "scale-out", "--image", "mine:dev")
    assert "--image needs --runtime docker" in error_line(proc)


# -- bad apps: the trial task ---------------------------------------------------------------------------

@pytest.mark.slow
def test_a_command_that_exits_at_once_is_named_with_its_output(tmp_path: Path) -> None:
    proc = harness(tmp_path, "run", "scale-out", "--cloud-port", str(free_port()),
                   "--task-command", "echo starting; echo 'cannot find config.json' >&2; exit 3",
                   "--task-dir", str(tmp_path))
    line = error_line(proc)
    assert "--task-command" in line and "exited with code 3 before listening" in line
    assert "starting | cannot find config.json" in line


@pytest.mark.slow
def test_an_app_that_never_listens_is_named_with_its_output(tmp_path: Path) -> None:
    proc = harness(tmp_path, "run", "scale-out", "--cloud-port", str(free_port()),
                   "--task-command", "echo listening on 8080 maybe; exec sleep 600", "--task-dir", str(tmp_path))
    line = error_line(proc)
    assert "did not listen on 127.0.0.1:" in line and "(its PORT) within 5 s" in line
    assert "listening on 8080 maybe" in line


@pytest.mark.slow
def test_a_mix_whose_requests_all_fail_is_refused(tmp_path: Path, node_app: Path) -> None:
    lf = tmp_path / "wrong_paths.py"
    lf.write_text("from locust import FastHttpUser, task\n\n\nclass Lost(FastHttpUser):\n    @task\n"
                  "    def nowhere(self):\n        self.client.get('/not-a-number')\n")
    proc = harness(tmp_path, "run", "scale-out", "--cloud-port", str(free_port()), "--task-command", "node server.js",
                   "--task-dir", str(node_app), "--locustfile", str(lf))
    line = error_line(proc)
    assert f"--locustfile {lf}: every request of the mix failed against a task" in line
    assert " x 400" in line


# -- the walk-through: scale-out and scale-in pass on the node app ---------------------------------------

def run_report(tmp_path: Path, scenario: str, node_app: Path, *extra: str) -> tuple[subprocess.CompletedProcess[str],
                                                                                   dict[str, Any]]:
    reports = tmp_path / "report"
    proc = harness(tmp_path, "run", scenario, "--cloud-port", str(free_port()), "--report-dir", str(reports),
                   "--task-command", "node server.js", "--task-dir", str(node_app),
                   "--locustfile", str(node_app / "locustfile.py"), *extra, timeout=RUN_TIMEOUT)
    assert (reports / "report.json").exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc, json.loads((reports / "report.json").read_text())


@pytest.mark.slow
@pytest.mark.parametrize("scenario", ["scale-out", "scale-in"])
def test_the_node_app_scales_as_its_template_says(tmp_path: Path, node_app: Path, scenario: str) -> None:
    proc, report = run_report(tmp_path, scenario, node_app)
    assert [v for v in report["verdicts"] if not v["passed"]] == [], proc.stdout[-4000:]
    assert proc.returncode == 0
    cal = report["calibration"]
    assert 0 < cal["cost_ms"] < 1.0  # the article's app: each request well under a millisecond of CPU
    assert "calibrate  one request of your mix costs a task" in proc.stdout
    assert "cpu scale " in proc.stdout
    assert report["load"]["peak_rps"] > 0 and "peak " in proc.stdout
    # The node app answered: its own request names, never the sample app's /cpu.
    names = {e["name"] for e in report["load"]["endpoints"]}
    assert "/[n] small" in names and "/cpu" not in names
    # Its tasks really were node: each task's log holds the app's own start line.
    logs = list((tmp_path / "home" / "logs").glob("*.log"))
    assert logs and any("factorial service listening" in p.read_text() for p in logs)


@pytest.mark.slow
def test_error_phases_without_error_traffic_are_skipped_not_passed(tmp_path: Path, node_app: Path) -> None:
    lf = tmp_path / "no_errors.py"
    lf.write_text("from locust import FastHttpUser, task\n\n\nclass Plain(FastHttpUser):\n    @task\n"
                  "    def small(self):\n        self.client.get('/12')\n")
    reports = tmp_path / "report"
    proc = harness(tmp_path, "run", "5xx-alerts", "--cloud-port", str(free_port()), "--report-dir", str(reports),
                   "--task-command", "node server.js", "--task-dir", str(node_app), "--locustfile", str(lf),
                   timeout=RUN_TIMEOUT)
    report = json.loads((reports / "report.json").read_text())
    assert "skipped    phase errors" in proc.stdout and "no task tagged 'error'" in proc.stdout
    assert report["skipped_phases"] == ["errors"]
    skipped = [v for v in report["verdicts"] if v.get("skipped")]
    assert len(skipped) == 2 and all(v["passed"] is False for v in skipped)  # not counted as passed
    assert "SKIP" in proc.stdout and "2 skipped, not counted as passed" in proc.stdout
    # The fault phases work with any app: the hung node tasks made the load balancer answer 5XX itself.
    checked = [v for v in report["verdicts"] if not v.get("skipped")]
    assert checked and all(v["passed"] for v in checked), proc.stdout[-4000:]


@pytest.mark.slow
@pytest.mark.harness_stack(task_command="node server.js", task_dir=str(NODE_APP),
                           locustfile=str(NODE_APP / "locustfile.py"))
def test_the_pytest_plugin_serves_the_node_app(node_app: Path, harness_stack: Any) -> None:
    import urllib.request

    with urllib.request.urlopen(harness_stack.url + "/20", timeout=10) as resp:
        assert resp.read() == b"2432902008176640000"
    assert harness_stack.locustfile == (NODE_APP / "locustfile.py").resolve()
    assert harness_stack.harness.options.task_command == "node server.js"
