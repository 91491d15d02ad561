"""Run an ECS task as a Docker container: the runtime that runs the very image users ship.

A drop-in for ProcessRuntime (same TaskRuntime methods) for the scheduler and the metrics agent.
Each task is one container of `image` with the task definition applied as the ECS agent applies it:
host networking (`networkMode: host`: the app listens on 127.0.0.1:$PORT, no bridge), the container's
hard `memory` as the memory limit (no swap), the CPU reservation as CPU shares plus a CFS quota, the
container's environment, and labels (`harness.stack`, `harness.service`, `harness.task`, `harness.run`,
`harness.pid`) so leftovers of a crashed harness can be found and removed.

Slow engine calls never block the event loop: `start()` only checks the port and hands the
create/start calls to a worker thread (the task stays "not ready" meanwhile); `exit_code()` looks at
the container's init process in /proc and asks the engine only once it is gone; `usage()` reads the
container's cgroup files directly (we are root on the engine's host) instead of the stats API, which
takes 1-2 s per container with stream=False; the stats API is the fallback, with the same arithmetic.

If the harness is SIGKILLed its containers would outlive it, so each runtime starts a reaper process
(as testcontainers' Ryuk does): it holds a pipe from the harness and removes the run's containers by
label when the pipe closes without a goodbye. `cleanup()` also removes containers of dead harness
processes when a runtime starts.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from harness.ecs.cgroup import (
    CFS_PERIOD_US, MAX_PERIOD_US, TaskCgroup, cfs_period_us, cpu_quota_us, parse_mounts, parse_proc_cgroup,
)
from harness.ecs.runtime import RunningTask, TaskSpec, Usage
from harness.errors import CloudError, HarnessError, TaskError
from harness.image import NO_ENGINE_HINT, docker_client
from harness.net import LOOPBACK, accepts_connections, port_in_use

log = logging.getLogger(__name__)

LABEL_STACK = "harness.stack"
LABEL_SERVICE = "harness.service"
LABEL_TASK = "harness.task"
LABEL_RUN = "harness.run"
LABEL_PID = "harness.pid"  # "<pid>:<process start time>" of the harness that owns the container
# `docker run` exits 125 when the engine itself fails to run the container; same code here.
ENGINE_FAILURE_EXIT = 125
# ECS gives a container at least 2 CPU shares (the kernel's minimum); 1024 units = 1 vCPU.
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html#container_definition_environment
MIN_CPU_SHARES = 2


# ----------------------------------------------------------------------------- pure arithmetic
def container_config(
    spec: TaskSpec,
    image: str,
    *,
    run_id: str,
    stack: str,
    owner: str,
    enforce_quota: bool,
    period_us: int = CFS_PERIOD_US,
    cpu_scale: float = 1.0,
) -> dict[str, Any]:
    """Keyword arguments of `containers.create()` for one task, as the ECS agent maps a task definition.

    - `memory` (hard limit, MiB) -> Memory, with MemorySwap equal so the limit is not stretched by swap:
      the kernel's OOM killer stops the container above it, as on ECS.
      https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html#container_definition_memory
    - `cpu` -> CpuShares (the relative weight ECS sets from the container's cpu units), and the task
      reservation -> a CFS quota (cpu_units/1024 of a CPU, as task-level `cpu` caps a task).
      The quota uses a 10 ms period, not Docker's 100 ms (`--cpus`): the same share of a CPU in finer
      slices; under compressed time a 100 ms throttle pause is seconds of template time and would
      fail health checks AWS would pass (the process runtime's cgroup.py does the same).
      The quota is the reservation x `cpu_scale` (harness.capacity), over a period long enough that a
      small quota stays above the kernel's 1 ms floor (cgroup.cfs_period_us); CpuShares keep the
      template's units (a weight: the same for every task, so the scale does not change them).
      https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html#task_size
    - networkMode host: no port mapping, the task listens on its own host port (env PORT) on loopback.
      https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html#network_mode
    """
    env = {**dict(spec.environment), "PORT": str(spec.host_port), "HOST": LOOPBACK}
    cfg: dict[str, Any] = {
        "image": image,
        "name": container_name(run_id, spec.task_id),
        "environment": env,
        "network_mode": "host",
        "labels": {
            LABEL_STACK: stack,
            LABEL_SERVICE: spec.service,
            LABEL_TASK: spec.task_id,
            LABEL_RUN: run_id,
            LABEL_PID: owner,
        },
        "cpu_shares": max(MIN_CPU_SHARES, spec.cpu_units),
        "stdin_open": False,
        "tty": False,
        "detach": True,
    }
    if spec.memory_mib is not None:
        cfg["mem_limit"] = spec.memory_mib * 1024 * 1024
        cfg["memswap_limit"] = spec.memory_mib * 1024 * 1024
    if enforce_quota:
        units = spec.cpu_units * cpu_scale
        period = min(MAX_PERIOD_US, max(period_us, cfs_period_us(units)))
        cfg["cpu_period"] = period
        cfg["cpu_quota"] = cpu_quota_us(units, period)
    return cfg


def container_name(run_id: str, task_id: str) -> str:
    """A valid, unique container name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)."""
    return "harness-" + re.sub(r"[^a-zA-Z0-9_.-]", "-", f"{run_id}-{task_id}")


def usage_from_stats(stats: dict[str, Any]) -> Usage:
    """Usage from one Docker stats API answer, as the ECS agent computes it.

    CPU: the cumulative `cpu_stats.cpu_usage.total_usage` (ns) -> seconds; the metrics agent takes
    deltas between samples. Memory: `memory_stats.usage` minus the reclaimable inactive file cache
    (`total_inactive_file` on cgroup v1, `inactive_file` on v2), as `docker stats` and the ECS agent do.
    https://docs.docker.com/engine/api/v1.41/#tag/Container/operation/ContainerStats
    https://github.com/aws/amazon-ecs-agent/blob/master/agent/stats/utils_unix.go
    """
    cpu_ns = int(((stats.get("cpu_stats") or {}).get("cpu_usage") or {}).get("total_usage") or 0)
    mem = stats.get("memory_stats") or {}
    usage = int(mem.get("usage") or 0)
    st = mem.get("stats") or {}
    inactive = st.get("total_inactive_file", st.get("inactive_file", 0)) or 0
    if inactive < usage:
        usage -= int(inactive)
    return Usage(cpu_seconds=cpu_ns / 1e9, memory_bytes=usage)


def task_cgroup(task_id: str, proc_cgroup_text: str, mounts_text: str) -> TaskCgroup | None:
    """The cgroup directories of a container's init process (from /proc/<pid>/cgroup), v1 or v2."""
    v1, v2 = parse_mounts(mounts_text)
    own = parse_proc_cgroup(proc_cgroup_text)
    if "cpuacct" in v1 and "cpuacct" in own:
        cg = TaskCgroup(task_id=task_id, version=1)
        cg.cpuacct_dir = v1["cpuacct"] / own["cpuacct"].lstrip("/")
        if "cpu" in v1 and "cpu" in own:
            cg.cpu_dir = v1["cpu"] / own["cpu"].lstrip("/")
        if "memory" in v1 and "memory" in own:
            cg.memory_dir = v1["memory"] / own["memory"].lstrip("/")
        return cg
    if v2 is not None and "" in own:
        d = v2 / own[""].lstrip("/")
        return TaskCgroup(task_id=task_id, version=2, cpu_dir=d, cpuacct_dir=d, memory_dir=d)
    return None


def owner_token(pid: int) -> str:
    """`<pid>:<start time>`: a harness process, robust to pid reuse."""
    return f"{pid}:{_start_time(pid)}"


def owner_alive(token: str) -> bool:
    pid_s, _, start = token.partition(":")
    if not pid_s.isdigit():
        return False
    return _start_time(int(pid_s)) == start and start != ""


def _start_time(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    # Field 22 (starttime) counted after the `(comm)` field, which may contain spaces.
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else ""


def _pid_running(pid: int) -> bool:
    """True while the process exists and is not a zombie (a container's init is reaped by its shim)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[:1] != ["Z"]


# ----------------------------------------------------------------------------- runtime
@dataclass
class _Container:
    spec: TaskSpec
    log_path: Path
    task: RunningTask
    container: Any = None
    pid: int = 0
    cgroup: TaskCgroup | None = None
    creating: threading.Event = field(default_factory=threading.Event)  # set once creation is over
    error: str | None = None
    exit: int | None = None
    oom_killed: bool = False
    stop_requested: str | None = None  # a signal asked for while the container was being created
    released: bool = False
    follower: threading.Thread | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class DockerRuntime:
    """Tasks as containers. Use as a context manager, or call `close()`, to stop and remove what is left."""

    def __init__(
        self,
        image: str,
        log_dir: Path | None = None,
        enforce_quota: bool = True,
        *,
        run_id: str | None = None,
        client: Any = None,
        stack: str = "",
        period_us: int = CFS_PERIOD_US,
        reaper: bool = True,
        cpu_scale: float = 1.0,
    ) -> None:
        if not 0 < cpu_scale <= 1:
            raise ValueError(f"the CPU scale must be in (0, 1], got {cpu_scale}")
        self.cpu_scale = cpu_scale
        self.client = docker_client(client)
        self.image = image
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self.stack = stack
        self.period_us = period_us
        self.log_dir = log_dir or Path(tempfile.mkdtemp(prefix="harness-tasks-"))
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.owner = owner_token(os.getpid())
        self.enforce_quota = enforce_quota
        self.quota_reason: str | None = "CPU quota not enforced: disabled by the user."
        if enforce_quota:
            info = self._api("read the engine's info", self.client.info)
            if info.get("CpuCfsQuota") is False:
                self.enforce_quota = False
                self.quota_reason = "CPU quota not enforced: the Docker engine reports no CFS quota support."
            else:
                self.quota_reason = None
        try:
            self.client.images.get(image)
        except Exception as e:
            raise TaskError(
                f"Image {image} is not in the local Docker engine; build it first (harness.image.ensure_image)."
            ) from e
        self._mounts = _read("/proc/self/mounts")
        self._containers: dict[str, _Container] = {}
        removed = self.cleanup(stale_only=True)
        if removed:
            log.warning("removed %d container(s) left by dead harness runs: %s", len(removed), ", ".join(removed))
        self._reaper: subprocess.Popen[bytes] | None = start_reaper(self.run_id) if reaper else None

    def __enter__(self) -> DockerRuntime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _api(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Call the engine; an engine that cannot be reached becomes a CloudError saying so."""
        import docker.errors
        import requests.exceptions

        try:
            return fn(*args, **kwargs)
        except (requests.exceptions.ConnectionError, docker.errors.DockerException) as e:
            if isinstance(e, docker.errors.APIError):
                raise
            raise CloudError(f"No Docker engine at {self.client.api.base_url} ({what}): {NO_ENGINE_HINT} ({e}).") from e

    # ----- TaskRuntime
    def start(self, spec: TaskSpec) -> RunningTask:
        if spec.task_id in self._containers:
            raise TaskError(f"Task {spec.task_id} is already started.")
        if port_in_use(spec.host_port):
            raise TaskError(f"Task {spec.task_id}: host port {LOOPBACK}:{spec.host_port} is already in use.")
        log_path = self.log_dir / f"{spec.task_id}.log"
        log_path.touch()
        # pid stays 0 until the container runs (then: its init process, as the host sees it). Callers
        # that signal `task.pid` must skip 0: os.kill(0, sig) signals their own process group.
        task = RunningTask(spec=spec, pid=0, log_path=log_path, command=("docker", "run", self.image))
        c = _Container(spec=spec, log_path=log_path, task=task)
        self._containers[spec.task_id] = c
        cfg = container_config(
            spec, self.image, run_id=self.run_id, stack=self.stack, owner=self.owner,
            enforce_quota=self.enforce_quota, period_us=self.period_us, cpu_scale=self.cpu_scale,
        )
        threading.Thread(target=self._create, args=(c, cfg), name=f"docker start {spec.task_id}", daemon=True).start()
        return task

    def _create(self, c: _Container, cfg: dict[str, Any]) -> None:
        """Worker thread: create and start the container, find its init pid and cgroup, follow its log."""
        try:
            container = self._api("create a container", self.client.containers.create, **cfg)
            c.container = container
            self._api("start a container", container.start)
            container.reload()
            c.pid = c.task.pid = int(container.attrs["State"].get("Pid") or 0)
            if c.pid:
                c.cgroup = task_cgroup(c.spec.task_id, _read(f"/proc/{c.pid}/cgroup"), self._mounts)
                if c.cgroup is not None and not (c.cgroup.cpuacct_dir and c.cgroup.cpuacct_dir.is_dir()):
                    c.cgroup = None  # not visible from here (another cgroup namespace): use the stats API
            c.follower = threading.Thread(
                target=_follow_logs, args=(container, c.log_path), name=f"logs {c.spec.task_id}", daemon=True
            )
            c.follower.start()
        except Exception as e:
            c.error = f"Task {c.spec.task_id}: the Docker engine could not run {self.image}: {_explain(e)}"
            c.exit = ENGINE_FAILURE_EXIT
            with open(c.log_path, "a") as f:
                f.write(c.error + "\n")
        finally:
            with c.lock:
                c.creating.set()
                pending = c.stop_requested
            if pending and c.error is None:
                self._send(c, pending)

    def _entry(self, task: RunningTask) -> _Container:
        try:
            return self._containers[task.task_id]
        except KeyError:
            raise TaskError(f"Task {task.task_id} was not started by this runtime.") from None

    def exit_code(self, task: RunningTask) -> int | None:
        c = self._entry(task)
        if c.exit is not None:
            return c.exit
        if not c.creating.is_set():
            return None
        if c.pid and _pid_running(c.pid):  # no engine call while the init process lives
            return None
        return self._refresh_exit(c)

    def _refresh_exit(self, c: _Container) -> int | None:
        if c.container is None:
            return c.exit
        try:
            c.container.reload()
        except Exception as e:
            import docker.errors

            if isinstance(e, docker.errors.NotFound):  # removed behind our back
                c.exit = c.exit if c.exit is not None else 137
                return c.exit
            raise CloudError(f"No Docker engine at {self.client.api.base_url}: {NO_ENGINE_HINT} ({e}).") from e
        state = c.container.attrs["State"]
        if state.get("Running") or state.get("Status") in ("created", "restarting"):
            return None
        c.oom_killed = bool(state.get("OOMKilled"))
        c.exit = int(state.get("ExitCode") or 0)
        return c.exit

    def stopped_reason(self, task: RunningTask) -> str | None:
        """ECS's stoppedReason-like sentence once the container exited (OutOfMemoryError when OOM-killed)."""
        c = self._entry(task)
        if self.exit_code(task) is None:
            return None
        if c.error:
            return c.error
        if c.oom_killed:
            # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/stopped-task-error-codes.html
            return f"OutOfMemoryError: Container killed due to memory usage (limit {c.spec.memory_mib} MiB)"
        return f"Essential container in task exited (code {c.exit})"

    def ready(self, task: RunningTask) -> bool:
        return self.exit_code(task) is None and self._entry(task).creating.is_set() and accepts_connections(task.spec.host_port)

    def wait_ready(self, task: RunningTask, timeout_wall_seconds: float) -> None:
        """Block until the task listens; TaskError (with its log's tail) if it exits or times out first."""
        c = self._entry(task)
        done = threading.Event()
        waited = 0.0
        step = 0.05
        while not self.ready(task):
            code = self.exit_code(task)
            if code is not None:
                self._drain_logs(c)
                why = c.error or f"exited with code {code}{' (OOM-killed)' if c.oom_killed else ''}"
                raise TaskError(
                    f"Task {task.task_id}: container of {self.image} {why} before listening on "
                    f"{LOOPBACK}:{task.spec.host_port}. Log tail: {self.log_tail(task)!r}"
                )
            if waited >= timeout_wall_seconds:
                raise TaskError(
                    f"Task {task.task_id}: container of {self.image} did not listen on "
                    f"{LOOPBACK}:{task.spec.host_port} within {timeout_wall_seconds} s. Log tail: {self.log_tail(task)!r}"
                )
            done.wait(step)  # a wall-time poll of an outside process, not harness time
            waited += step

    def log_path(self, task: RunningTask) -> Path:
        return self._entry(task).log_path

    def log_tail(self, task: RunningTask, max_bytes: int = 2000) -> str:
        try:
            data = self._entry(task).log_path.read_bytes()[-max_bytes:]
        except OSError:
            return ""
        return data.decode("utf-8", "replace").strip()

    def log_lines(self, task: RunningTask, since: int = 0) -> tuple[list[str], int]:
        """Complete lines written after byte offset `since`, and the offset to pass next time."""
        try:
            with open(self._entry(task).log_path, "rb") as f:
                f.seek(since)
                data = f.read()
        except OSError:
            return [], since
        end = data.rfind(b"\n") + 1
        return data[:end].decode("utf-8", "replace").splitlines(), since + end

    def _send(self, c: _Container, sig: str) -> None:
        with c.lock:
            if not c.creating.is_set():
                c.stop_requested = sig  # applied by the creating thread once the container runs
                return
        if c.container is None or c.exit is not None:
            return
        import docker.errors

        try:
            c.container.kill(signal=sig)
        except docker.errors.APIError as e:
            if e.status_code not in (404, 409):  # 409: not running any more
                raise CloudError(f"Task {c.spec.task_id}: cannot send {sig} to its container: {_explain(e)}") from e
        except Exception as e:
            raise CloudError(f"No Docker engine at {self.client.api.base_url}: {NO_ENGINE_HINT} ({e}).") from e

    def terminate(self, task: RunningTask) -> None:
        """SIGTERM, as `docker stop` / the ECS agent's StopTask."""
        if self.exit_code(task) is None:
            self._send(self._entry(task), "SIGTERM")

    def kill(self, task: RunningTask) -> None:
        self._send(self._entry(task), "SIGKILL")

    def stop(self, task: RunningTask, grace_wall_seconds: float) -> int | None:
        """SIGTERM, SIGKILL after `grace_wall_seconds`, wait, remove the container; the exit code."""
        c = self._entry(task)
        c.creating.wait(120)
        if c.container is not None and c.exit is None:
            try:
                c.container.stop(timeout=max(0, int(round(grace_wall_seconds))))  # docker stop: TERM, then KILL
                c.container.wait(timeout=grace_wall_seconds + 30)
            except Exception as e:
                log.warning("task %s: docker stop failed: %s", task.task_id, e)
        code = self._refresh_exit(c) if c.exit is None else c.exit
        self.release(task)
        return code

    def release(self, task: RunningTask) -> None:
        """Remove the exited container (its log is kept in `log_path`)."""
        c = self._entry(task)
        if c.released:
            return
        if not c.creating.is_set() or (c.container is not None and self.exit_code(task) is None):
            raise TaskError(f"Task {task.task_id} is still running (container {c.container.name if c.container else '?'}); stop it before releasing it.")
        self._drain_logs(c)
        if c.container is not None:
            try:
                c.container.remove(force=True)
            except Exception as e:
                log.warning("task %s: cannot remove container %s: %s", task.task_id, c.container.name, e)
        c.released = True

    def _drain_logs(self, c: _Container) -> None:
        if c.follower is not None:
            c.follower.join(timeout=2.0)

    def usage(self, task: RunningTask) -> Usage:
        c = self._entry(task)
        cg = c.cgroup
        if cg is not None:
            cpu, mem = cg.cpu_seconds(), cg.memory_bytes()
            if cpu is not None and mem is not None:
                return Usage(cpu_seconds=cpu, memory_bytes=mem)
        if c.container is None or c.exit is not None:
            return Usage(0.0, 0)
        try:
            stats = c.container.stats(stream=False, one_shot=True)
        except TypeError:  # an SDK without one_shot
            stats = c.container.stats(stream=False)
        except Exception as e:
            raise CloudError(f"Task {task.task_id}: cannot read its container's stats: {_explain(e)}") from e
        return usage_from_stats(stats)

    def tasks(self) -> list[str]:
        return [tid for tid, c in self._containers.items() if not c.released]

    def cleanup(self, stale_only: bool = False) -> list[str]:
        """Remove containers by label: this run's, and those of harness processes that are gone.

        With `stale_only`, only containers whose owning harness process is dead (any run).
        """
        import docker.errors

        removed: list[str] = []
        # One list call (the low-level API): no per-container inspect racing with other removals.
        found = self._api("list containers", self.client.api.containers, all=True, filters={"label": LABEL_RUN})
        for ct in found:
            labels = ct.get("Labels") or {}
            ours = labels.get(LABEL_RUN) == self.run_id
            dead = not owner_alive(labels.get(LABEL_PID, ""))
            if (ours and not stale_only) or dead:
                name = ((ct.get("Names") or ["?"])[0]).lstrip("/")
                try:
                    self.client.api.remove_container(ct["Id"], force=True)
                    removed.append(name)
                except docker.errors.NotFound:
                    pass
                except Exception as e:
                    log.warning("cannot remove leftover container %s: %s", name, e)
        return removed

    def close(self, grace_wall_seconds: float = 5.0) -> None:
        """Stop every task still held, remove every container of this run, stop the reaper."""
        try:
            for c in list(self._containers.values()):
                if not c.released and c.container is not None and c.exit is None:
                    try:
                        self._send(c, "SIGTERM")
                    except HarnessError:
                        pass
            for tid, c in list(self._containers.items()):
                if not c.released:
                    try:
                        self.stop(c.task, grace_wall_seconds)
                    except HarnessError as e:
                        log.warning("task %s: %s", tid, e)
            try:
                self.cleanup()
            except HarnessError as e:
                log.warning("cannot clean up containers of run %s: %s", self.run_id, e)
        finally:
            if self._reaper is not None:
                stop_reaper(self._reaper)
                self._reaper = None


def _follow_logs(container: Any, path: Path) -> None:
    """Copy the container's stdout+stderr into `path` (the awslogs driver's view of the task) until it exits."""
    try:
        with open(path, "ab") as f:
            for chunk in container.logs(stream=True, follow=True, stdout=True, stderr=True):
                f.write(chunk)
                f.flush()
    except Exception as e:  # engine gone or container removed: the log simply ends
        log.debug("log stream of %s ended: %s", getattr(container, "name", "?"), e)


def _explain(e: BaseException) -> str:
    return str(getattr(e, "explanation", None) or e)


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


# ----------------------------------------------------------------------------- reaper
_GOODBYE = b"bye\n"


def start_reaper(run_id: str) -> subprocess.Popen[bytes]:
    """A process that removes the run's containers when the harness dies without saying goodbye."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH", "")) if p)}
    return subprocess.Popen(
        [sys.executable, "-m", "harness.ecs.docker", "reap", run_id],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
        start_new_session=True,  # Ctrl-C to the harness's process group must not kill the reaper first
        close_fds=True,
    )


def stop_reaper(proc: subprocess.Popen[bytes]) -> None:
    try:
        assert proc.stdin is not None
        proc.stdin.write(_GOODBYE)
        proc.stdin.close()
    except (OSError, ValueError):
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def reap(run_id: str, stdin: IO[bytes]) -> int:
    """Wait for EOF on stdin; unless the harness said goodbye, remove every container of `run_id`."""
    data = stdin.read()
    if data.endswith(_GOODBYE):
        return 0
    import docker

    client = docker.from_env(timeout=60)
    for ct in client.api.containers(all=True, filters={"label": f"{LABEL_RUN}={run_id}"}):
        try:
            client.api.remove_container(ct["Id"], force=True)
        except Exception:
            pass
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "reap":
        sys.exit(reap(sys.argv[2], sys.stdin.buffer))
    sys.exit("usage: python -m harness.ecs.docker reap <run id>")
