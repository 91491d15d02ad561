"""ProcessRuntime with real sample_app processes, and the cgroup CPU quota really capping a task."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
import uuid
from pathlib import Path

import psutil
import pytest

from harness.ecs.cgroup import CgroupManager
from harness.ecs.process import ProcessRuntime
from harness.ecs.runtime import TaskSpec
from harness.net import free_port
from harness.errors import TaskError

pytestmark = pytest.mark.timeout(60)
ROOT = Path(__file__).resolve().parents[2]


def spec(task_id: str | None = None, port: int | None = None, cpu: int = 1024, mem: int | None = None) -> TaskSpec:
    return TaskSpec(task_id or uuid.uuid4().hex, "svc", "main", "sample_app", port or free_port(), {"X": "1"}, cpu, mem)


def gone(pid: int, within: float = 5.0) -> bool:
    """True once `pid` no longer exists (a zombie counts as still there)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            psutil.Process(pid).status()  # a zombie still has a status: not gone
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


def test_sample_app_task_serves_logs_and_stops_cleanly(tmp_path: Path) -> None:
    with ProcessRuntime(log_dir=tmp_path) as rt:
        s = spec()
        task = rt.start(s)
        rt.wait_ready(task, 15)
        assert rt.ready(task)
        with urllib.request.urlopen(f"http://127.0.0.1:{s.host_port}/5", timeout=5) as r:
            assert r.read() == b"120"
        assert os.getpgid(task.pid) == task.pid  # own process group
        u = rt.usage(task)
        assert u.cpu_seconds > 0 and u.memory_bytes > 1_000_000
        assert rt.stop(task, 5) == 0
        assert gone(task.pid)
        assert rt.exit_code(task) == 0
        assert "listening on 127.0.0.1:%d" % s.host_port in task.log_path.read_text()
        assert rt.tasks() == []


def test_crash_reports_exit_code_and_leaves_no_zombie(tmp_path: Path) -> None:
    cmd = [sys.executable, "-c", "import sys; print('boom'); sys.exit(3)"]
    with ProcessRuntime(cmd, log_dir=tmp_path) as rt:
        task = rt.start(spec("crasher"))
        with pytest.raises(TaskError, match=r"Task crasher: .* exited with code 3 before listening .*boom"):
            rt.wait_ready(task, 15)
        assert rt.exit_code(task) == 3
        assert not rt.ready(task)
        assert gone(task.pid)
        rt.release(task)


def test_port_taken_and_missing_command_are_task_errors(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with ProcessRuntime(log_dir=tmp_path) as rt:
            with pytest.raises(TaskError, match=f"Task t1: host port 127.0.0.1:{port} is already in use"):
                rt.start(spec("t1", port))
    with ProcessRuntime(["/nonexistent/app"], log_dir=tmp_path) as rt:
        with pytest.raises(TaskError, match="Task t2: cannot run `/nonexistent/app`"):
            rt.start(spec("t2"))


def test_sigterm_ignored_gets_sigkill_after_grace(tmp_path: Path) -> None:
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); time.sleep(60)"
    with ProcessRuntime([sys.executable, "-c", code], log_dir=tmp_path) as rt:
        task = rt.start(spec("stubborn"))
        deadline = time.monotonic() + 10
        while "up" not in task.log_path.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        t0 = time.monotonic()
        assert rt.stop(task, 0.5) == -signal.SIGKILL
        assert time.monotonic() - t0 >= 0.5
        assert gone(task.pid)


def test_tasks_die_with_the_harness(tmp_path: Path) -> None:
    """PR_SET_PDEATHSIG: SIGKILL the harness process and its task goes too."""
    script = textwrap.dedent(
        f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from harness.ecs.process import ProcessRuntime
        from harness.ecs.runtime import TaskSpec
        from harness.net import free_port
        rt = ProcessRuntime(log_dir=__import__('pathlib').Path({str(tmp_path)!r}), enforce_quota=False)
        t = rt.start(TaskSpec('orphan', 'svc', 'main', 'img', free_port()))
        rt.wait_ready(t, 15)
        print(t.pid, flush=True)
        time.sleep(60)
        """
    )
    harness = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert harness.stdout is not None
        task_pid = int(harness.stdout.readline())
        assert psutil.pid_exists(task_pid)
        harness.kill()
        harness.wait()
        assert gone(task_pid), f"task process {task_pid} outlived the harness"
    finally:
        if harness.poll() is None:
            harness.kill()
            harness.wait()


def test_cgroup_detection_reasons() -> None:
    m = CgroupManager("r1", mounts_text="proc /proc proc rw 0 0\n", proc_cgroup_text="0::/\n")
    assert not m.enforced
    assert m.reason == "CPU quota not enforced: no cgroup cpu controller is mounted (neither cgroup v1 nor v2)."
    m = CgroupManager("r1", mounts_text="cgroup /proc/no-such-cgroup cgroup rw,cpu 0 0\n", proc_cgroup_text="1:cpu:/\n")
    assert m.reason is not None and m.reason.startswith("CPU quota not enforced: cannot create cgroup /proc/no-such-cgroup/harness/r1")
    assert m.create("t", 256, None) is None


def _enforcing_manager(run_id: str) -> CgroupManager:
    m = CgroupManager(run_id)
    if not m.enforced:
        pytest.skip(m.reason or "")
    return m


@pytest.mark.slow
def test_quota_caps_a_cpu_burner_at_its_reservation(tmp_path: Path) -> None:
    """0.25 vCPU (256 units) lets a busy loop use ~25% of one CPU, like `docker run --cpus=0.25`."""
    burner = [sys.executable, "-c", "import time\nwhile True: pass"]
    rt = ProcessRuntime(burner, log_dir=tmp_path, cgroups=_enforcing_manager("q" + uuid.uuid4().hex[:8]))
    with rt:
        task = rt.start(spec("burner", cpu=256, mem=64))
        time.sleep(0.3)  # let the interpreter start
        u0, t0 = rt.usage(task).cpu_seconds, time.monotonic()
        time.sleep(2.0)
        u1, t1 = rt.usage(task).cpu_seconds, time.monotonic()
        ratio = (u1 - u0) / (t1 - t0)
        # The cap is hard: never much above 0.25 (one CFS period of slack); below it only if the
        # 2 shared cores are so loaded the burner cannot get even a quarter of one.
        assert 0.08 < ratio < 0.32, ratio
        cg = rt._procs["burner"].cgroup
        assert cg is not None and cg.memory_dir is not None
        assert (cg.memory_dir / "memory.limit_in_bytes").read_text().strip() == str(64 * 1024 * 1024)
        dirs = cg.dirs()
        assert all(d.is_dir() for d in dirs)
        rt.stop(task, 2)
        assert not any(d.exists() for d in dirs)


def test_cleanup_stale_removes_empty_leftovers_only() -> None:
    me = _enforcing_manager("live" + uuid.uuid4().hex[:8])
    other = CgroupManager("dead" + uuid.uuid4().hex[:8])
    left = other.create("t1", 256, None)  # a crashed run's cgroup, never removed
    assert left is not None and left.cpu_dir is not None and left.cpu_dir.is_dir()
    mine = me.create("t2", 256, None)
    assert mine is not None and mine.cpu_dir is not None
    removed = me.cleanup_stale()
    assert left.cpu_dir in removed and not left.cpu_dir.exists() and not left.cpu_dir.parent.exists()
    assert mine.cpu_dir.is_dir()  # this run's own cgroups stay
    mine.remove()
    me.close()
    assert not mine.cpu_dir.parent.exists()
