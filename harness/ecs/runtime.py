"""What a task runtime is, so the scheduler can run tasks as processes, containers or test fakes.

Also the ECS arithmetic that turns a task definition into what a runtime must enforce: the CPU
reservation (the denominator of the service's CPUUtilization) and the hard memory limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


# The harness's choice, not AWS's: an EC2-launch task with no CPU reservation at task or container
# level gets no CPU share and AWS does not document its CPUUtilization. 256 units (0.25 vCPU) lets
# a few tasks share this 2-core machine and keeps the ratio meaningful. Overridable everywhere.
DEFAULT_CPU_UNITS = 256


@dataclass(frozen=True)
class TaskSpec:
    """Everything a runtime needs to start one task's (essential, load-balanced) container."""

    task_id: str
    service: str
    container: str
    image: str
    host_port: int
    environment: Mapping[str, str] = field(default_factory=dict)
    cpu_units: int = DEFAULT_CPU_UNITS
    memory_mib: int | None = None


@dataclass(frozen=True)
class Usage:
    """Cumulative CPU seconds since the task started, and memory in use now."""

    cpu_seconds: float
    memory_bytes: int


@dataclass
class RunningTask:
    """A started task as its runtime knows it; `log_path` holds the container's stdout and stderr."""

    spec: TaskSpec
    pid: int
    log_path: Path
    command: tuple[str, ...] = ()

    @property
    def task_id(self) -> str:
        return self.spec.task_id


class TaskRuntime(Protocol):
    """The scheduler's seam. Every method returns at once except `stop()`, which waits (wall time)."""

    def start(self, spec: TaskSpec) -> RunningTask: ...

    def ready(self, task: RunningTask) -> bool:
        """True once the task accepts connections on its host port."""
        ...

    def exit_code(self, task: RunningTask) -> int | None: ...

    def terminate(self, task: RunningTask) -> None:
        """SIGTERM, as `docker stop` / the ECS agent's StopTask."""
        ...

    def kill(self, task: RunningTask) -> None: ...

    def release(self, task: RunningTask) -> None:
        """Free what the task held (cgroup, log handle) once it has exited."""
        ...

    def stop(self, task: RunningTask, grace_wall_seconds: float) -> int | None: ...

    def usage(self, task: RunningTask) -> Usage: ...


def cpu_reservation(task_definition: Any, default_units: int = DEFAULT_CPU_UNITS) -> tuple[int, str]:
    """CPU units reserved by one task, and where the number comes from.

    Task-level `cpu` first, else the sum of the containers' `cpu`, else `default_units` (the
    harness's documented choice for a task with no reservation). A container `cpu` of 0 reserves
    nothing, as on ECS.
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html#task_size
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/cloudwatch-metrics.html#service_utilization
    """
    task_cpu = _as_int(getattr(task_definition, "cpu", None))
    if task_cpu:
        return task_cpu, "task definition cpu"
    total = sum(_as_int(getattr(c, "cpu", None)) or 0 for c in getattr(task_definition, "containers", ()))
    if total > 0:
        return total, "sum of container cpu"
    if default_units <= 0:
        raise ValueError(f"the default CPU reservation must be positive, got {default_units}")
    return default_units, f"harness default ({default_units} units; the task definition reserves no CPU)"


def memory_limit(task_definition: Any) -> int | None:
    """Hard memory limit in MiB: task-level `memory`, else the sum of the containers' hard `memory`.

    `memoryReservation` is a soft limit and caps nothing, so it does not count here.
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html#container_definition_memory
    """
    task_mem = _as_int(getattr(task_definition, "memory", None))
    if task_mem:
        return task_mem
    limits = [_as_int(getattr(c, "memory", None)) for c in getattr(task_definition, "containers", ())]
    if limits and all(m for m in limits):
        return sum(m for m in limits if m)
    return None


def _as_int(value: object) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(str(value))
    except ValueError:
        return None



