"""Give each task the CPU it reserved, and no more, the way Docker does for an ECS container.

On EC2 the ECS agent passes the task's CPU units to Docker; a hard task-level `cpu` becomes a CFS
quota like `docker run --cpus` (quota = units / 1024 x period). Without such a cap a local process
would use the whole machine and the service's CPUUtilization (used / reserved) would be meaningless.
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html#ContainerDefinition-cpu
https://docs.docker.com/engine/containers/resource_constraints/#configure-the-default-cfs-scheduler

Layout: `<controller mount>/<our own cgroup>/harness/<run-id>/<task-id>`, nested under the cgroup the
harness itself runs in (never above it), for cgroup v1 (`cpu`, `cpuacct`, `memory` hierarchies) or
cgroup v2 (`cpu.max`, `memory.max`). When the quota cannot be enforced (not root, read-only mount,
no controller) `CgroupManager.reason` says why and tasks run uncapped.
"""

from __future__ import annotations

import errno
import logging
import math
import os
import signal
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import TaskError

log = logging.getLogger(__name__)

# Docker's CFS period is 100 ms (`--cpus=1.5` sets quota 150000 on it). The harness uses 10 ms: the
# same share of a CPU, enforced in slices ten times finer. Under compressed time a 100 ms throttle
# pause is seconds of template time, and would fail health checks AWS would pass.
CFS_PERIOD_US = 10_000
# The kernel refuses a CFS quota below 1 ms, and a period above 1 s.
MIN_QUOTA_US = 1_000
MAX_PERIOD_US = 1_000_000
# A quota is at least this long per period: at the 1 ms floor a small share would be rounded up to 1 ms
# (0.04 vCPU on a 10 ms period would run as 0.1), so a small share gets a longer period instead.
ACCURATE_QUOTA_US = 2_000
_PARENT = "harness"


def parse_mounts(text: str) -> tuple[dict[str, Path], Path | None]:
    """From /proc/self/mounts: v1 controller -> mount point, and the cgroup2 mount point (or None)."""
    v1: dict[str, Path] = {}
    v2: Path | None = None
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 4:
            continue
        _, mountpoint, fstype, options = parts[:4]
        if fstype == "cgroup":
            for opt in options.split(","):
                if opt in ("cpu", "cpuacct", "memory"):
                    v1.setdefault(opt, Path(mountpoint))
        elif fstype == "cgroup2" and v2 is None:
            v2 = Path(mountpoint)
    return v1, v2


def parse_proc_cgroup(text: str) -> dict[str, str]:
    """From /proc/self/cgroup: controller -> our cgroup path; the v2 entry is under key ''."""
    own: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.strip().split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controllers == "":
            own[""] = path
        for c in controllers.split(","):
            if c:
                own[c] = path
    return own


def cpu_quota_us(cpu_units: float, period_us: int = CFS_PERIOD_US) -> int:
    """CFS quota for a reservation of `cpu_units` (1024 units = 1 vCPU), as `docker run --cpus`.

    `cpu_units` may be fractional: the reservation times the harness's CPU scale (see harness.capacity).
    """
    if not cpu_units > 0:
        raise ValueError(f"a CPU reservation must be positive, got {cpu_units} units")
    return max(MIN_QUOTA_US, int(cpu_units * period_us // 1024))


def cfs_period_us(cpu_units: float) -> int:
    """The CFS period for a quota of `cpu_units`: CFS_PERIOD_US, or longer for a share so small that its
    quota would fall below ACCURATE_QUOTA_US (the kernel's 1 ms floor would then round it up).

    The shortest period that keeps the quota accurate keeps the throttle pause (period - quota, wall
    time) as short as it can be: under compressed time that pause is `time scale` times longer.
    """
    if not cpu_units > 0:
        raise ValueError(f"a CPU reservation must be positive, got {cpu_units} units")
    period = max(CFS_PERIOD_US, math.ceil(ACCURATE_QUOTA_US * 1024 / cpu_units))
    return min(MAX_PERIOD_US, period)


def throttle_pause_us(cpu_units: float) -> int:
    """The longest wall pause a task with `cpu_units` sees when it used its quota early in a period."""
    period = cfs_period_us(cpu_units)
    return max(0, period - cpu_quota_us(cpu_units, period))


def parse_cpu_limit(text: str, *, version: int, period_text: str = "") -> float | None:
    """CPUs a cgroup may use: v2 `cpu.max` ("max 100000", "150000 100000"), or v1 `cpu.cfs_quota_us`
    (`text`, -1 for none) over `cpu.cfs_period_us` (`period_text`). None when there is no limit."""
    try:
        if version == 2:
            quota, _, period = text.strip().partition(" ")
            if quota in ("", "max"):
                return None
            return int(quota) / int(period or "100000")
        q = int(text.strip())
        return None if q < 0 else q / int(period_text.strip())
    except ValueError:
        return None


def own_cpu_limit(mounts_text: str | None = None, proc_cgroup_text: str | None = None) -> tuple[float | None, str]:
    """The tightest CFS limit on the cgroup this process runs in or any ancestor of it (as far as the
    mount shows them), and which file it comes from; (None, "") when nothing limits it."""
    if mounts_text is None:
        mounts_text = _read_text(Path("/proc/self/mounts"))
    if proc_cgroup_text is None:
        proc_cgroup_text = _read_text(Path("/proc/self/cgroup"))
    v1, v2 = parse_mounts(mounts_text)
    own = parse_proc_cgroup(proc_cgroup_text)
    if "cpu" in v1:
        root, version, rel = v1["cpu"], 1, own.get("cpu", "/")
    elif v2 is not None:
        root, version, rel = v2, 2, own.get("", "/")
    else:
        return None, ""
    best: tuple[float | None, str] = (None, "")
    d = root / rel.lstrip("/")
    while True:
        if version == 2:
            limit = parse_cpu_limit(_read_text(d / "cpu.max"), version=2)
            where = d / "cpu.max"
        else:
            limit = parse_cpu_limit(_read_text(d / "cpu.cfs_quota_us"), version=1,
                                    period_text=_read_text(d / "cpu.cfs_period_us"))
            where = d / "cpu.cfs_quota_us"
        if limit is not None and (best[0] is None or limit < best[0]):
            best = (limit, str(where))
        if d == root or root not in d.parents:
            return best
        d = d.parent


def _write(path: Path, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


@dataclass
class TaskCgroup:
    """The cgroup directories of one task. `attach()` runs in the child before exec."""

    task_id: str
    version: int
    cpu_dir: Path | None = None
    cpuacct_dir: Path | None = None
    memory_dir: Path | None = None
    _procs_files: list[str] = field(default_factory=list)

    def dirs(self) -> list[Path]:
        seen: list[Path] = []
        for d in (self.cpu_dir, self.cpuacct_dir, self.memory_dir):
            if d is not None and d not in seen:
                seen.append(d)
        return seen

    def prepare(self) -> None:
        self._procs_files = [str(d / "cgroup.procs") for d in self.dirs()]

    def attach(self) -> None:
        """Move the calling process into every directory (used as a preexec_fn step: no allocation-heavy work)."""
        pid = str(os.getpid())
        for p in self._procs_files:
            fd = os.open(p, os.O_WRONLY)
            try:
                os.write(fd, pid.encode())
            finally:
                os.close(fd)

    def pids(self) -> list[int]:
        out: set[int] = set()
        for d in self.dirs():
            try:
                out.update(int(x) for x in (d / "cgroup.procs").read_text().split())
            except OSError:
                pass
        return sorted(out)

    def cpu_seconds(self) -> float | None:
        """CPU time used by every process ever in the task (children included)."""
        if self.cpuacct_dir is None:
            return None
        if self.version == 1:
            ns = _read_int(self.cpuacct_dir / "cpuacct.usage")
            return None if ns is None else ns / 1e9
        try:
            for line in (self.cpuacct_dir / "cpu.stat").read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "usage_usec":
                    return int(value) / 1e6
        except (OSError, ValueError):
            pass
        return None

    def memory_bytes(self) -> int | None:
        """Memory in use without reclaimable file cache, as `docker stats` reports it."""
        if self.memory_dir is None:
            return None
        usage_file, stat_key = (
            ("memory.usage_in_bytes", "total_inactive_file") if self.version == 1 else ("memory.current", "inactive_file")
        )
        usage = _read_int(self.memory_dir / usage_file)
        if usage is None:
            return None
        inactive = 0
        try:
            for line in (self.memory_dir / "memory.stat").read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == stat_key:
                    inactive = int(value)
        except (OSError, ValueError):
            pass
        return max(0, usage - inactive)

    def remove(self) -> list[str]:
        """Remove the directories once the task's processes are gone; returns the ones left behind."""
        left: list[str] = []
        for pid in self.pids():
            # A process the task left behind (outside its process group) still belongs to the task.
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for d in self.dirs():
            try:
                d.rmdir()
            except FileNotFoundError:
                pass
            except OSError as e:
                if e.errno in (errno.EBUSY, errno.ENOTEMPTY):
                    left.append(str(d))
                    log.warning("cgroup %s still busy; `cleanup_stale()` will remove it later", d)
                else:
                    raise
        return left


class CgroupManager:
    """Creates and removes the task cgroups of one harness run; `reason` is None when the quota is enforced."""

    def __init__(
        self,
        run_id: str,
        *,
        mounts_text: str | None = None,
        proc_cgroup_text: str | None = None,
        period_us: int = CFS_PERIOD_US,
    ) -> None:
        self.run_id = run_id
        self.period_us = period_us
        if mounts_text is None:
            mounts_text = Path("/proc/self/mounts").read_text()
        if proc_cgroup_text is None:
            proc_cgroup_text = Path("/proc/self/cgroup").read_text()
        v1, v2 = parse_mounts(mounts_text)
        own = parse_proc_cgroup(proc_cgroup_text)
        self.version = 0
        self._bases: dict[str, Path] = {}  # role -> harness parent dir (…/harness)
        self.reason: str | None = None
        self.memory_reason: str | None = None
        if "cpu" in v1:
            self.version = 1
            for role in ("cpu", "cpuacct", "memory"):
                if role in v1:
                    self._bases[role] = v1[role] / own.get(role, "/").lstrip("/") / _PARENT
            self.reason = self._probe_v1()
        elif v2 is not None:
            self.version = 2
            self.reason = self._probe_v2(v2 / own.get("", "/").lstrip("/"))
        else:
            self.reason = "CPU quota not enforced: no cgroup cpu controller is mounted (neither cgroup v1 nor v2)."

    @property
    def enforced(self) -> bool:
        return self.reason is None

    def _run_dir(self, role: str) -> Path:
        return self._bases[role] / self.run_id

    def _probe_v1(self) -> str | None:
        try:
            run = self._run_dir("cpu")
            run.mkdir(parents=True, exist_ok=True)
            if not os.access(run / "cpu.cfs_quota_us", os.W_OK):
                return f"CPU quota not enforced: {run / 'cpu.cfs_quota_us'} is not writable (run as root?)."
        except OSError as e:
            return f"CPU quota not enforced: cannot create cgroup {self._bases['cpu'] / self.run_id}: {e.strerror} (run as root with /sys/fs/cgroup writable)."
        for role in ("cpuacct", "memory"):
            if role not in self._bases:
                continue
            try:
                self._run_dir(role).mkdir(parents=True, exist_ok=True)
            except OSError as e:
                if role == "memory":
                    self.memory_reason = f"memory limit not enforced: {e.strerror} on {self._run_dir(role)}."
                del self._bases[role]
        if "memory" not in self._bases and self.memory_reason is None:
            self.memory_reason = "memory limit not enforced: no cgroup memory controller is mounted."
        return None

    def _probe_v2(self, own_dir: Path) -> str | None:
        base = own_dir / _PARENT
        controllers = _read_text(own_dir / "cgroup.controllers").split()
        if "cpu" not in controllers:
            return f"CPU quota not enforced: the cgroup v2 cpu controller is not available in {own_dir}."
        try:
            run = base / self.run_id
            run.mkdir(parents=True, exist_ok=True)
            # v2 hands a controller to children only through each ancestor's cgroup.subtree_control.
            wanted = ["cpu"] + (["memory"] if "memory" in controllers else [])
            for d in (own_dir, base, run):
                _write(d / "cgroup.subtree_control", " ".join("+" + c for c in wanted))
        except OSError as e:
            return f"CPU quota not enforced: cannot set up cgroup v2 under {own_dir}: {e.strerror}."
        self._bases = {"cpu": base, "cpuacct": base}
        if "memory" in controllers:
            self._bases["memory"] = base
        else:
            self.memory_reason = "memory limit not enforced: the cgroup v2 memory controller is not available."
        return None

    def period_for(self, cpu_units: float) -> int:
        """The CFS period of a task with `cpu_units`: this manager's period, longer for a small share."""
        return min(MAX_PERIOD_US, max(self.period_us, cfs_period_us(cpu_units)))

    def create(self, task_id: str, cpu_units: float, memory_mib: int | None) -> TaskCgroup | None:
        """Make the task's cgroup with its CPU quota (and memory limit); None when not enforced.

        `cpu_units` is what the task may use: its reservation times the run's CPU scale."""
        if self.reason is not None:
            return None
        period = self.period_for(cpu_units)
        quota = cpu_quota_us(cpu_units, period)
        cg = TaskCgroup(task_id=task_id, version=self.version)
        try:
            if self.version == 1:
                cg.cpu_dir = self._run_dir("cpu") / task_id
                cg.cpu_dir.mkdir()
                _write(cg.cpu_dir / "cpu.cfs_period_us", str(period))
                _write(cg.cpu_dir / "cpu.cfs_quota_us", str(quota))
                if "cpuacct" in self._bases:
                    cg.cpuacct_dir = self._run_dir("cpuacct") / task_id
                    cg.cpuacct_dir.mkdir()
                if "memory" in self._bases:
                    cg.memory_dir = self._run_dir("memory") / task_id
                    cg.memory_dir.mkdir()
                    if memory_mib is not None:
                        # The container's `memory` is a hard limit: the task is killed above it.
                        _write(cg.memory_dir / "memory.limit_in_bytes", str(memory_mib * 1024 * 1024))
            else:
                d = self._run_dir("cpu") / task_id
                d.mkdir()
                cg.cpu_dir = cg.cpuacct_dir = d
                _write(d / "cpu.max", f"{quota} {period}")
                if "memory" in self._bases:
                    cg.memory_dir = d
                    if memory_mib is not None:
                        _write(d / "memory.max", str(memory_mib * 1024 * 1024))
        except OSError as e:
            cg.remove()
            raise TaskError(f"Task {task_id}: cannot create its cgroup: {e}") from e
        cg.prepare()
        return cg

    def close(self) -> None:
        """Remove this run's (empty) directories."""
        for role in list(self._bases):
            _rmdir_tree(self._run_dir(role))

    def cleanup_stale(self) -> list[Path]:
        """Remove leftover harness cgroups (any run) that hold no process; returns what was removed."""
        removed: list[Path] = []
        for base in set(self._bases.values()):
            if base.is_dir():
                removed.extend(_rmdir_tree(base, keep_top=True, keep=base / self.run_id))
        return removed


def _read_text(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _rmdir_tree(top: Path, keep_top: bool = False, keep: Path | None = None) -> list[Path]:
    """rmdir every empty cgroup below `top`, deepest first; busy ones (with processes) stay."""
    removed: list[Path] = []
    if not top.is_dir():
        return removed
    for dirpath, _dirnames, _files in sorted(os.walk(top), key=lambda w: -len(Path(w[0]).parts)):
        p = Path(dirpath)
        if (keep_top and p == top) or (keep is not None and (p == keep or keep in p.parents)):
            continue
        if _read_text(p / "cgroup.procs").strip():
            continue
        try:
            p.rmdir()
            removed.append(p)
        except OSError:
            pass
    return removed
