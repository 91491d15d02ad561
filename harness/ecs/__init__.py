"""ECS tasks as local processes, and the service scheduler that keeps the desired count running."""

from __future__ import annotations

from harness.ecs.runtime import (
    DEFAULT_CPU_UNITS,
    RunningTask,
    TaskRuntime,
    TaskSpec,
    Usage,
    cpu_reservation,
    memory_limit,
)
from harness.ecs.scheduler import (
    Event,
    ServiceScheduler,
    ServiceSnapshot,
    StartTask,
    StopCause,
    StopTask,
    TaskState,
    TaskView,
    plan,
)

__all__ = [
    "DEFAULT_CPU_UNITS",
    "Event",
    "RunningTask",
    "ServiceScheduler",
    "ServiceSnapshot",
    "StartTask",
    "StopCause",
    "StopTask",
    "TaskRuntime",
    "TaskSpec",
    "TaskState",
    "TaskView",
    "Usage",
    "cpu_reservation",
    "memory_limit",
    "plan",
]
