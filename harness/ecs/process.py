"""Run an ECS task as a local process: the fast runtime, with no Docker needed.

Each task is `python -m sample_app` (or any command) in its own process group, listening on
127.0.0.1:$PORT, its CPU capped at its reservation (times the run's CPU scale) by a cgroup (see cgroup.py), its stdout/stderr in
a per-task log file (what awslogs would ship to CloudWatch Logs). Children die with the harness:
PR_SET_PDEATHSIG makes the kernel SIGKILL them when the thread that started them exits, so call
`start()` from the long-lived thread that runs the event loop, never from a short-lived worker.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import psutil

from harness.ecs.cgroup import CgroupManager, TaskCgroup
from harness.ecs.runtime import RunningTask, TaskSpec, Usage
from harness.net import LOOPBACK, accepts_connections, port_in_use
from harness.child import die_with_parent
from harness.errors import TaskError

log = logging.getLogger(__name__)



@dataclass
class _Proc:
    popen: subprocess.Popen[bytes]
    log_file: IO[bytes]
    cgroup: TaskCgroup | None
    released: bool = False


def _default_command() -> tuple[list[str], dict[str, str]]:
    """`python -m sample_app`, with the sample app's parent directory on PYTHONPATH wherever we run from."""
    env: dict[str, str] = {}
    found = importlib.util.find_spec("sample_app")
    if found is not None and found.origin:
        root = str(Path(found.origin).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
    return [sys.executable, "-m", "sample_app"], env


def _child_setup(parent_pid: int, cgroup: TaskCgroup | None) -> Callable[[], None]:
    die = die_with_parent(signal.SIGKILL, parent_pid)

    def setup() -> None:
        # Runs in the child between fork and exec.
        die()
        if cgroup is not None:
            cgroup.attach()

    return setup


class ProcessRuntime:
    """Tasks as child processes. Use as a context manager, or call `close()`, to stop what is left."""

    def __init__(
        self,
        command: list[str] | None = None,
        log_dir: Path | None = None,
        enforce_quota: bool = True,
        *,
        run_id: str | None = None,
        cwd: Path | None = None,
        cgroups: CgroupManager | None = None,
        cpu_scale: float = 1.0,
    ) -> None:
        if command is None:
            self.command, self._extra_env = _default_command()
        else:
            self.command, self._extra_env = list(command), {}
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self.log_dir = log_dir or Path(tempfile.mkdtemp(prefix="harness-tasks-"))
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.cwd = cwd
        if not 0 < cpu_scale <= 1:
            raise ValueError(f"the CPU scale must be in (0, 1], got {cpu_scale}")
        # Each task's quota is its reservation x cpu_scale (harness.capacity chooses it); the metrics
        # agent divides by the same scaled reservation, so CPUUtilization keeps ECS's formula.
        self.cpu_scale = cpu_scale
        self.cgroups: CgroupManager | None = None
        self.quota_reason: str | None = "CPU quota not enforced: disabled by the user."
        if enforce_quota:
            self.cgroups = cgroups or CgroupManager(self.run_id)
            self.quota_reason = self.cgroups.reason
        self._procs: dict[str, _Proc] = {}

    def __enter__(self) -> ProcessRuntime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self, spec: TaskSpec) -> RunningTask:
        if spec.task_id in self._procs:
            raise TaskError(f"Task {spec.task_id} is already started.")
        if port_in_use(spec.host_port):
            raise TaskError(f"Task {spec.task_id}: host port {LOOPBACK}:{spec.host_port} is already in use.")
        cg = (self.cgroups.create(spec.task_id, spec.cpu_units * self.cpu_scale, spec.memory_mib)
              if self.cgroups else None)
        log_path = self.log_dir / f"{spec.task_id}.log"
        log_file = open(log_path, "ab")
        env = {**os.environ, **self._extra_env, **dict(spec.environment), "PORT": str(spec.host_port), "HOST": LOOPBACK}
        try:
            popen = subprocess.Popen(
                self.command,
                env=env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own session and process group: stop() signals the whole group
                preexec_fn=_child_setup(os.getpid(), cg),
                close_fds=True,
            )
        except (OSError, subprocess.SubprocessError) as e:
            log_file.close()
            if cg is not None:
                cg.remove()
            raise TaskError(f"Task {spec.task_id}: cannot run `{' '.join(self.command)}`: {e}") from e
        self._procs[spec.task_id] = _Proc(popen, log_file, cg)
        return RunningTask(spec=spec, pid=popen.pid, log_path=log_path, command=tuple(self.command))

    def _proc(self, task: RunningTask) -> _Proc:
        try:
            return self._procs[task.task_id]
        except KeyError:
            raise TaskError(f"Task {task.task_id} was not started by this runtime.") from None

    def exit_code(self, task: RunningTask) -> int | None:
        return self._proc(task).popen.poll()  # also reaps: no zombie stays behind

    def ready(self, task: RunningTask) -> bool:
        return self.exit_code(task) is None and accepts_connections(task.spec.host_port)

    def wait_ready(self, task: RunningTask, timeout_wall_seconds: float) -> None:
        """Block until the task listens; TaskError (with its log's tail) if it exits or times out first."""
        p = self._proc(task).popen
        waited = 0.0
        step = 0.05
        while not accepts_connections(task.spec.host_port):
            try:
                code = p.wait(timeout=step)  # waits on the process itself, not on a timer
            except subprocess.TimeoutExpired:
                waited += step
                if waited >= timeout_wall_seconds:
                    raise TaskError(
                        f"Task {task.task_id}: `{' '.join(task.command)}` did not listen on "
                        f"{LOOPBACK}:{task.spec.host_port} within {timeout_wall_seconds} s."
                    ) from None
                continue
            raise TaskError(
                f"Task {task.task_id}: `{' '.join(task.command)}` exited with code {code} before listening on "
                f"{LOOPBACK}:{task.spec.host_port}. Log tail: {self.log_tail(task)!r}"
            )

    def log_tail(self, task: RunningTask, max_bytes: int = 2000) -> str:
        try:
            data = task.log_path.read_bytes()[-max_bytes:]
        except OSError:
            return ""
        return data.decode("utf-8", "replace").strip()

    def _signal(self, task: RunningTask, sig: signal.Signals) -> None:
        p = self._proc(task).popen
        try:
            os.killpg(p.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def terminate(self, task: RunningTask) -> None:
        if self.exit_code(task) is None:
            self._signal(task, signal.SIGTERM)

    def kill(self, task: RunningTask) -> None:
        self._signal(task, signal.SIGKILL)

    def stop(self, task: RunningTask, grace_wall_seconds: float) -> int | None:
        """SIGTERM the process group, SIGKILL it after `grace_wall_seconds`, then release; the exit code."""
        p = self._proc(task).popen
        if p.poll() is None:
            self._signal(task, signal.SIGTERM)
            try:
                p.wait(timeout=grace_wall_seconds)
            except subprocess.TimeoutExpired:
                log.warning("task %s ignored SIGTERM for %s s: SIGKILL", task.task_id, grace_wall_seconds)
                self._signal(task, signal.SIGKILL)
                p.wait()
        self.release(task)
        return p.returncode

    def release(self, task: RunningTask) -> None:
        proc = self._proc(task)
        if proc.released:
            return
        if proc.popen.poll() is None:
            raise TaskError(f"Task {task.task_id} is still running (pid {proc.popen.pid}); stop it before releasing it.")
        # Leftovers of the task's process group (a child that ignored SIGTERM) go with the task.
        self._signal(task, signal.SIGKILL)
        proc.log_file.close()
        if proc.cgroup is not None:
            proc.cgroup.remove()
        proc.released = True

    def usage(self, task: RunningTask) -> Usage:
        proc = self._proc(task)
        cg = proc.cgroup
        cpu = cg.cpu_seconds() if cg else None
        mem = cg.memory_bytes() if cg else None
        if cpu is None or mem is None:
            pcpu, pmem = _psutil_usage(proc.popen.pid)
            cpu = pcpu if cpu is None else cpu
            mem = pmem if mem is None else mem
        return Usage(cpu_seconds=cpu, memory_bytes=mem)

    def tasks(self) -> list[str]:
        return [tid for tid, p in self._procs.items() if not p.released]

    def close(self, grace_wall_seconds: float = 5.0) -> None:
        """Stop every task still held, then remove this run's cgroups."""
        for tid, proc in list(self._procs.items()):
            if not proc.released and proc.popen.poll() is None:
                try:
                    os.killpg(proc.popen.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for tid, proc in list(self._procs.items()):
            if proc.released:
                continue
            try:
                proc.popen.wait(timeout=grace_wall_seconds)
            except subprocess.TimeoutExpired:
                os.killpg(proc.popen.pid, signal.SIGKILL)
                proc.popen.wait()
            self.release(RunningTask(spec=TaskSpec(tid, "", "", "", 0), pid=proc.popen.pid, log_path=Path()))
        if self.cgroups is not None:
            self.cgroups.close()


def _psutil_usage(pid: int) -> tuple[float, int]:
    """CPU seconds and RSS of a process and its live children (when no cgroup accounts for them)."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0, 0
    cpu = 0.0
    mem = 0
    for p in procs:
        try:
            t = p.cpu_times()
            cpu += t.user + t.system + t.children_user + t.children_system
            mem += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return cpu, mem
