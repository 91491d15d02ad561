"""End to end: `harness up` in its own process, a request through its load balancer, `status --json`,
then Ctrl-C (and `harness down`), with no process left behind."""

from __future__ import annotations

import json
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

REPO = Path(__file__).resolve().parent.parent
UP_TIMEOUT = 60.0  # wall seconds for deploy + two healthy targets on a slow, busy machine


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def harness(*args: str, home: Path, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli", "--home", str(home), *args],
                          capture_output=True, text=True, timeout=60, cwd=REPO, **kw)  # type: ignore[call-overload]


class Up:
    """`harness up` in a child process, its output read line by line (env and cwd: the caller's shell)."""

    def __init__(self, home: Path, *extra: str, env: dict[str, str] | None = None, cwd: Path = REPO) -> None:
        self.home = home
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "harness.cli", "--home", str(home), "up",
             "--cloud-port", str(free_port()), *extra],
            cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, needle: str, timeout: float = UP_TIMEOUT) -> str:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                break
            self.lines.append(line)
            if needle in line:
                return line
        raise AssertionError(f"`harness up` never printed {needle!r}; output:\n" + "\n".join(self.lines))

    def rest(self) -> str:
        """Everything printed until the process closes its output."""
        while (line := self._queue.get(timeout=60)) is not None:
            self.lines.append(line)
        return "\n".join(self.lines)

    def descendants(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Up]:
    handle = Up(tmp_path / "home", "--lb-port", str(free_port()))
    try:
        yield handle
    finally:
        if handle.proc.poll() is None:
            handle.proc.kill()
        handle.proc.wait(timeout=30)


def get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return resp.status, resp.read().decode()


def wait_healthy(home: Path, count: int, timeout: float = UP_TIMEOUT) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    report: dict[str, object] = {}
    while time.monotonic() < deadline:
        out = harness("status", "--json", home=home)
        if out.returncode == 0:
            report = json.loads(out.stdout)
            services = report["services"]
            assert isinstance(services, list)
            if services and services[0]["healthy"] >= count:
                return report
        time.sleep(0.2)
    raise AssertionError(f"never {count} healthy targets; last status: {report}")


@pytest.mark.slow
def test_up_serves_through_the_load_balancer_and_ctrl_c_stops_everything(up: Up) -> None:
    line = up.wait_for("load bal.")
    lb_url = line.split()[2]
    assert lb_url == "http://127.0.0.1:" + up.proc.args[up.proc.args.index("--lb-port") + 1]  # type: ignore[union-attr]
    up.wait_for("ready")
    report = wait_healthy(up.home, 2)

    assert get(f"{lb_url}/5") == (200, "120")
    # awslogs: the task's own log line for that request reaches CloudWatch Logs, in its task's stream.
    deadline = time.monotonic() + UP_TIMEOUT
    while "GET /5 200" not in (logs := harness("logs", home=up.home)).stdout:
        assert time.monotonic() < deadline, logs.stdout[-2000:] + logs.stderr
        time.sleep(0.2)
    assert any(line.startswith("ecs/main/") and "GET /5 200" in line for line in logs.stdout.splitlines())
    assert report["load_balancer_url"] == lb_url
    assert str(report["cloud_endpoint"]).startswith("http://127.0.0.1:")
    assert report["mailbox"] == str(up.home / "mailbox")
    [service] = report["services"]  # type: ignore[misc]
    assert (service["desired"], service["running"], service["healthy"]) == (2, 2, 2)
    alarms = {a["name"]: a for a in report["alarms"]}  # type: ignore[union-attr]
    assert len(alarms) == 5
    assert sorted(a["threshold"] for a in alarms.values()) == [0.0, 0.0, 30.0, 70.0, 85.0]
    # The evaluator is running, so states move (the initial INSUFFICIENT_DATA is checked by the deploy tests).
    assert {a["state"] for a in alarms.values()} <= {"OK", "ALARM", "INSUFFICIENT_DATA"}

    # The SNS email subscription's confirmation landed in the mailbox, as AWS mails it first.
    deadline = time.monotonic() + UP_TIMEOUT
    while "Subscription Confirmation" not in (mail := harness("mail", home=up.home)).stdout:
        assert time.monotonic() < deadline, mail.stdout
        time.sleep(0.2)
    assert "admin@example.com" in mail.stdout
    msg_id = mail.stdout.split()[0]
    shown = harness("mail", msg_id, home=up.home)
    assert shown.returncode == 0 and "SubscribeURL" not in shown.stderr and "Subject:" in shown.stdout

    children = up.descendants()
    assert len(children) >= 3  # the cloud and two tasks at least
    up.proc.send_signal(signal.SIGINT)
    assert up.proc.wait(timeout=30) == 0
    gone, alive = psutil.wait_procs(children, timeout=10)
    assert alive == [], f"left running: {[p.cmdline() for p in alive]}"
    assert harness("status", home=up.home).returncode == 3
    assert not (up.home / "state.json").exists()


@pytest.mark.slow
def test_down_stops_an_up_from_another_shell(up: Up) -> None:
    up.wait_for("ready")
    children = up.descendants()
    out = harness("down", home=up.home)
    assert out.returncode == 0, out.stderr
    assert up.proc.wait(timeout=30) == 0
    gone, alive = psutil.wait_procs(children, timeout=10)
    assert alive == []


@pytest.mark.slow
def test_a_bad_parameter_is_named_and_nothing_is_left(tmp_path: Path) -> None:
    handle = Up(tmp_path / "home", "--param", "DesiredCount=0")
    try:
        assert handle.proc.wait(timeout=60) != 0
        out = handle.rest()
        assert "DesiredCount" in out and "error" in out
        assert handle.descendants() == []
    finally:
        if handle.proc.poll() is None:
            handle.proc.kill()


@pytest.mark.parametrize(("args", "env", "culprit"), [
    (["--lb-port", "99999"], {}, "--lb-port '99999'"),
    (["--lb-port", "\u00b2"], {}, "--lb-port '\u00b2'"),
    (["--lb-port", "FREE", "--cloud-port", "FREE"], {}, "the cloud listens there"),
    ([], {"HARNESS_LB_PORT": "x"}, "$HARNESS_LB_PORT 'x'"),
    (["--mail-relay", "10.0.0.5:25"], {}, "--mail-relay '10.0.0.5:25'"),
    ([], {"HARNESS_MAIL_RELAY": "127.0.0.1"}, "$HARNESS_MAIL_RELAY '127.0.0.1'"),
    (["--cloud", "http://127.0.0.1:abc"], {}, "'http://127.0.0.1:abc' has no valid port"),
])
def test_a_bad_option_is_named_before_anything_starts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str], args: list[str],
                                                     env: dict[str, str], culprit: str) -> None:
    from harness.cli import main

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    port = str(free_port())
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    assert main(["--home", str(tmp_path), "up", *[port if a == "FREE" else a for a in args]]) != 0
    assert culprit in capsys.readouterr().err
    assert {p.pid for p in psutil.Process().children(recursive=True)} <= before
    assert not (tmp_path / "state.json").exists()


def test_a_taken_lb_port_is_named_before_anything_starts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from harness.cli import main

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["--home", str(tmp_path), "up", "--lb-port", str(port)]) == 2
    assert f"127.0.0.1:{port} is already in use" in capsys.readouterr().err
