"""The ECS service scheduler: keep the service's desired count of tasks running and healthy.

The emulated ECS API stores the service but runs nothing, so the harness does what ECS does: read the
desired count (which scaling policies and users change with UpdateService), start missing tasks,
replace tasks that exit or that the load balancer reports unhealthy, stop extra ones, and
register/deregister each task in its target group (drain first, then stop).
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_services.html

`plan()` decides, from a snapshot of the tasks, with no side effect; `ServiceScheduler` observes the
tasks, calls `plan()` and applies its actions, one tick at a time on the injected clock.

Network modes, as ECS runs them: a `bridge` or `host` task is an `instance` target (its container
instance, at the host port); an `awsvpc` task (every Fargate task) has its own network interface and is
an `ip` target, registered by its own address and the container port. On this machine every task's
address is 127.0.0.1 and each task has its own loopback port, so an awsvpc target is (127.0.0.1, the
task's port) and a bridge target is (a pseudo instance id, the task's host port).
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-networking.html
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol, TypeVar

from harness.clock import Clock
from harness.cloud.ecs_tasks import EcsWriteBack
from harness.ecs.runtime import (
    DEFAULT_CPU_UNITS,
    RunningTask,
    TaskRuntime,
    TaskSpec,
    cpu_reservation,
    memory_limit,
)
from harness.net import LOOPBACK, free_port
from harness.errors import TaskError

log = logging.getLogger(__name__)

T = TypeVar("T")


class TaskState(str, Enum):
    """An ECS task's lastStatus, reduced to the states a local task goes through.
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-lifecycle-explanation.html
    """

    PROVISIONING = "PROVISIONING"  # port and cgroup being set up
    PENDING = "PENDING"  # process started, not listening yet
    RUNNING = "RUNNING"  # listening; registered in the target group
    STOPPING = "STOPPING"  # deregistered: draining, then SIGTERM, then SIGKILL after the stop timeout
    STOPPED = "STOPPED"


ALLOWED: dict[TaskState, frozenset[TaskState]] = {
    TaskState.PROVISIONING: frozenset({TaskState.PENDING, TaskState.STOPPED}),
    TaskState.PENDING: frozenset({TaskState.RUNNING, TaskState.STOPPING, TaskState.STOPPED}),
    TaskState.RUNNING: frozenset({TaskState.STOPPING, TaskState.STOPPED}),
    TaskState.STOPPING: frozenset({TaskState.STOPPED}),
    TaskState.STOPPED: frozenset(),
}

LIVE = frozenset({TaskState.PROVISIONING, TaskState.PENDING, TaskState.RUNNING})


def transition(old: TaskState, new: TaskState) -> TaskState:
    if new not in ALLOWED[old]:
        raise ValueError(f"a task cannot go from {old.value} to {new.value}")
    return new


class StopCause(str, Enum):
    EXITED = "exited"
    UNHEALTHY = "unhealthy"
    SCALE_IN = "scale-in"


@dataclass(frozen=True)
class TaskView:
    """What `plan()` needs to know about one task. `health` is the target state (or None)."""

    task_id: str
    state: TaskState
    started_at: float
    health: str | None = None
    exit_code: int | None = None


@dataclass(frozen=True)
class StartTask:
    reason: str
    replaces: str | None = None


@dataclass(frozen=True)
class StopTask:
    task_id: str
    cause: StopCause
    reason: str


Action = StartTask | StopTask


# Fargate's task sizes: task CPU units -> the task memory (MiB) it may have.
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}

# The ELBv2 target type each network mode needs. "awsvpc: ... you must choose ip as the target type";
# bridge and host tasks are registered by their container instance: instance.
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/alb.html
TARGET_TYPE = {"awsvpc": "ip", "bridge": "instance", "host": "instance"}


def compatibility_problems(network_mode: str, requires: Sequence[str], launch_type: str | None,
                           task_cpu: int | None, task_memory: int | None, target_type: str | None) -> list[str]:
    """What ECS would refuse about running this task definition this way, one sentence each. Pure.

    - A FARGATE task (its RequiresCompatibilities or the service's launch type) uses the awsvpc network
      mode and a task-level cpu and memory from Fargate's size table.
    - The target group's type must suit the network mode (ip for awsvpc, instance for bridge/host).
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html#requires_compatibilities
    """
    problems: list[str] = []
    fargate = launch_type == "FARGATE" or (launch_type is None and "FARGATE" in requires)
    if launch_type and requires and launch_type not in requires:
        problems.append(f"the service's launch type {launch_type} is not in the task definition's "
                        f"RequiresCompatibilities {list(requires)}")
    if fargate:
        if network_mode != "awsvpc":
            problems.append(f"a Fargate task needs NetworkMode awsvpc, not {network_mode}")
        if task_cpu is None or task_memory is None:
            problems.append("a Fargate task needs a task-level Cpu and Memory")
        elif task_memory not in FARGATE_SIZES.get(task_cpu, ()):
            sizes = FARGATE_SIZES.get(task_cpu)
            problems.append(f"Fargate has no task size of {task_cpu} CPU units with {task_memory} MiB" + (
                f" ({task_cpu} units take {sizes[0]}..{sizes[-1]} MiB)" if sizes else
                f" (CPU units: {', '.join(map(str, FARGATE_SIZES))})"))
    want = TARGET_TYPE.get(network_mode)
    if target_type is not None and want is not None and target_type != want:
        problems.append(f"network mode {network_mode} needs a target group of target type {want}, not {target_type}")
    return problems


def api_target(target_type: str, task_id: str, port: int) -> dict[str, Any]:
    """The ELBv2 TargetDescription that stands for a task. Pure.

    ip (awsvpc): the task's own address and port; instance (bridge/host): its container instance's id
    (one pseudo instance per task, `i-` + 17 hex digits of the task id) and the host port.
    https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_TargetDescription.html
    """
    if target_type == "ip":
        return {"Id": LOOPBACK, "Port": port}
    return {"Id": "i-" + task_id.replace("-", "")[:17].rjust(17, "0"), "Port": port}


def plan(desired: int, tasks: Sequence[TaskView], now: float, *, health_check_grace: float = 0.0) -> list[Action]:
    """The actions that bring `tasks` to `desired` live, healthy tasks. Pure.

    - A task whose essential container exited is stopped and replaced.
    - A task its target group reports unhealthy is stopped and replaced, except during the service's
      health check grace period after it started (healthCheckGracePeriodSeconds).
      https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service_definition_parameters.html
    - Draining and stopping tasks do not count as live.
    - Too few live tasks: start the missing ones. Too many: stop the newest first. ECS documents only
      balancing across Availability Zones and instances when it stops tasks; on one local host that
      leaves the choice open, and the harness stops the newest (the least warmed-up) first.
      https://docs.aws.amazon.com/AmazonECS/latest/developerguide/update-service-parameters.html
    """
    if desired < 0:
        raise ValueError(f"desired count must be >= 0, got {desired}")
    actions: list[Action] = []
    replaced: list[str] = []
    live: list[TaskView] = []
    for t in tasks:
        if t.state not in LIVE:
            continue
        if t.exit_code is not None:
            actions.append(
                StopTask(t.task_id, StopCause.EXITED, f"Essential container in task exited (exit code {t.exit_code})")
            )
            replaced.append(t.task_id)
        elif t.health == "unhealthy" and now - t.started_at >= health_check_grace:
            actions.append(StopTask(t.task_id, StopCause.UNHEALTHY, "Task failed ELB health checks"))
            replaced.append(t.task_id)
        elif t.health in ("draining", "unused"):
            continue
        else:
            live.append(t)
    missing = desired - len(live)
    for i in range(max(0, missing)):
        if i < len(replaced):
            actions.append(StartTask(f"replacing task {replaced[i]}", replaces=replaced[i]))
        else:
            actions.append(StartTask(f"desired count is {desired}, {len(live)} task(s) live"))
    if missing < 0:
        newest_first = sorted(live, key=lambda t: (t.started_at, t.task_id), reverse=True)
        for t in newest_first[: -missing]:
            actions.append(
                StopTask(t.task_id, StopCause.SCALE_IN, f"Scaling activity: desired count is {desired}, {len(live)} task(s) live")
            )
    return actions


class TargetGroupPort(Protocol):
    """The local load balancer's target registry (harness.elb.targets.TargetGroupRuntime)."""

    def register(self, target_id: str, port: int, host: str = LOOPBACK) -> object: ...  # the result is unused

    def deregister(self, target_id: str) -> None: ...

    def state(self, target_id: str) -> Any: ...


Call = Callable[..., Awaitable[Any]]


async def in_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Default way to call the (blocking) boto3 clients without stopping the event loop."""
    return await asyncio.to_thread(fn, *args, **kwargs)


@dataclass(frozen=True)
class Event:
    """Something the scheduler did, for the report and `harness status`."""

    time: float
    kind: str  # "started" | "running" | "stopping" | "stopped" | "start-failed"
    task_id: str
    reason: str


@dataclass
class _Task:
    task_id: str
    spec: TaskSpec
    state: TaskState
    created_at: float
    handle: RunningTask | None = None
    started_at: float | None = None
    registered: bool = False
    deregistered_at: float | None = None
    signalled_at: float | None = None
    killed: bool = False
    exit_code: int | None = None
    stop_reason: str | None = None
    stopped_at: float | None = None

    def set_state(self, new: TaskState) -> None:
        self.state = transition(self.state, new)


@dataclass(frozen=True)
class TaskInfo:
    task_id: str
    state: str
    port: int
    health: str | None
    started_at: float | None
    exit_code: int | None
    stop_reason: str | None
    log_path: str | None
    pid: int | None


@dataclass(frozen=True)
class ServiceSnapshot:
    desired: int | None
    running: int
    pending: int
    healthy: int
    tasks: tuple[TaskInfo, ...]
    cpu_units: int
    cpu_source: str


@dataclass
class _TargetGroupFacts:
    arn: str
    target_type: str
    deregistration_delay: float


class ServiceScheduler:
    """Reconciles one ECS service's tasks with its desired count, read from the ECS API every tick.

    ELBv2 targets (`api_target`): for target type `instance` (bridge/host, EC2 launch type with dynamic
    host ports) ECS registers the container instance's id with the task's host port; the harness
    registers one pseudo instance id per task with its port. For target type `ip` (awsvpc) it registers
    the task's address, 127.0.0.1, with the task's own port.
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-load-balancing.html
    """

    def __init__(
        self,
        ecs: Any,
        elbv2: Any,
        service: Any,
        runtime: TaskRuntime,
        target_group: TargetGroupPort | None,
        clock: Clock,
        *,
        tick: float = 1.0,
        default_cpu_units: int = DEFAULT_CPU_UNITS,
        stop_timeout: float = 30.0,
        health_check_grace: float = 0.0,
        shutdown_grace_wall_seconds: float = 5.0,
        call: Call = in_thread,
        task_id_factory: Callable[[], str] = lambda: uuid.uuid4().hex,
        max_stopped_kept: int = 100,
    ) -> None:
        if tick <= 0:
            raise ValueError(f"tick must be > 0 template seconds, got {tick}")
        self.ecs = ecs
        self.elbv2 = elbv2
        self.service = service
        self.runtime = runtime
        self.target_group = target_group
        self.clock = clock
        self.tick_seconds = tick
        # The ECS agent's default stop timeout: SIGKILL 30 s after SIGTERM (ECS_CONTAINER_STOP_TIMEOUT).
        # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html#container_definition_timeout
        self.stop_timeout = stop_timeout
        self.health_check_grace = health_check_grace
        self.shutdown_grace_wall_seconds = shutdown_grace_wall_seconds
        self._call = call
        self._new_id = task_id_factory
        self._max_stopped = max_stopped_kept
        self.listeners: list[Callable[[Event], None]] = []
        self.desired: int | None = None
        self._tasks: dict[str, _Task] = {}
        self._tg: _TargetGroupFacts | None = None
        self._stopping = False

        td = service.task_definition
        self.cpu_units, self.cpu_source = cpu_reservation(td, default_cpu_units)
        self.memory_mib = memory_limit(td)
        lbs = tuple(getattr(service, "load_balancers", ()) or ())
        self.target_group_arn: str | None = lbs[0][0] if lbs else None
        container_name = lbs[0][1] if lbs else None
        containers = tuple(td.containers)
        if not containers:
            raise TaskError(f"Service {service.name}: task definition {td.arn} has no container.")
        matching = [c for c in containers if c.name == container_name] if container_name else list(containers[:1])
        if not matching:
            raise TaskError(
                f"Service {service.name}: load balancer container {container_name!r} is not in task definition {td.arn}."
            )
        self.container = matching[0]
        self.network_mode = str(getattr(td, "network_mode", "bridge") or "bridge")
        config = getattr(target_group, "config", None)
        problems = compatibility_problems(
            self.network_mode, tuple(getattr(td, "requires_compatibilities", ()) or ()),
            getattr(service, "launch_type", None), getattr(td, "cpu", None), getattr(td, "memory", None),
            getattr(config, "target_type", None) if config is not None else None)
        if problems:
            raise TaskError(f"Service {service.name}: " + "; ".join(problems) + ".")
        self._config_target_type: str | None = getattr(config, "target_type", None) if config is not None else None
        # The tasks and service events, written back so ListTasks/DescribeTasks/DescribeServices tell the truth.
        self._api = EcsWriteBack(ecs, service, self.container)

    # ----- events
    def _emit(self, kind: str, task_id: str, reason: str) -> None:
        ev = Event(self.clock.now(), kind, task_id, reason)
        log.info("service %s: task %s %s: %s", self.service.name, task_id, kind, reason)
        for listener in list(self.listeners):
            try:
                listener(ev)
            except Exception:  # a listener's failure must not stop the scheduler (as Locust's events)
                log.exception("event listener %r failed on %s", listener, ev)

    # ----- AWS reads
    async def read_desired(self) -> int:
        resp = await self._call(self.ecs.describe_services, cluster=self.service.cluster, services=[self.service.name])
        services = resp.get("services", [])
        if not services:
            failures = resp.get("failures", [])
            raise TaskError(f"Service {self.service.name} not found in cluster {self.service.cluster}: {failures}")
        return int(services[0]["desiredCount"])

    async def _target_group_facts(self) -> _TargetGroupFacts | None:
        if self.target_group_arn is None:
            return None
        if self._tg is None:
            arn = self.target_group_arn
            groups = await self._call(self.elbv2.describe_target_groups, TargetGroupArns=[arn])
            target_type = groups["TargetGroups"][0].get("TargetType", "instance")
            attrs = await self._call(self.elbv2.describe_target_group_attributes, TargetGroupArn=arn)
            values = {a["Key"]: a["Value"] for a in attrs.get("Attributes", [])}
            # deregistration_delay.timeout_seconds: AWS's default is 300 s when the template sets none.
            # https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-target-groups.html#deregistration-delay
            delay = float(values.get("deregistration_delay.timeout_seconds", "300"))
            self._tg = _TargetGroupFacts(arn, target_type, delay)
        return self._tg

    def _api_target(self, t: _Task, facts: _TargetGroupFacts) -> dict[str, Any]:
        return api_target(facts.target_type, t.task_id, t.spec.host_port)

    @property
    def network(self) -> str:
        """How the output names this service's networking, e.g. "awsvpc (ip targets)"."""
        kind = (self._tg.target_type if self._tg else self._config_target_type
                or TARGET_TYPE.get(self.network_mode, "instance"))
        return f"{self.network_mode} ({kind} targets)"

    # ----- one tick
    async def tick(self) -> list[Action]:
        """Observe, plan, apply. Returns the actions applied (for tests and logs)."""
        try:
            self.desired = await self.read_desired()
        except Exception as e:  # keep the last known desired count; say why
            log.warning("service %s: cannot read the desired count: %s", self.service.name, e)
            if self.desired is None:
                return []
        facts = await self._target_group_facts()
        now = self.clock.now()
        await self._observe(now, facts)
        actions = plan(self.desired, self._views(), now, health_check_grace=self.health_check_grace)
        for a in actions:
            if isinstance(a, StopTask):
                await self._apply_stop(a, now, facts)
        for a in actions:
            if isinstance(a, StartTask):
                self._apply_start(a, now)
        self._forget_old()
        await self._call(self._api.sync, self.snapshot(), now)
        return actions

    def _health(self, t: _Task) -> str | None:
        if not t.registered or self.target_group is None:
            return None
        s = self.target_group.state(t.task_id)
        return None if s is None else str(getattr(s, "value", s))

    def _views(self) -> list[TaskView]:
        return [
            TaskView(t.task_id, t.state, t.started_at if t.started_at is not None else t.created_at, self._health(t), t.exit_code)
            for t in self._tasks.values()
            if t.state is not TaskState.STOPPED
        ]

    async def _observe(self, now: float, facts: _TargetGroupFacts | None) -> None:
        for t in list(self._tasks.values()):
            if t.state is TaskState.STOPPED or t.handle is None:
                continue
            code = self.runtime.exit_code(t.handle)
            if code is not None:
                t.exit_code = code
            if t.state is TaskState.PENDING and code is None and self.runtime.ready(t.handle):
                t.set_state(TaskState.RUNNING)
                await self._register(t, facts)
                self._emit("running", t.task_id, f"listening on {LOOPBACK}:{t.spec.host_port}")
            elif t.state is TaskState.STOPPING:
                await self._progress_stop(t, now)

    async def _progress_stop(self, t: _Task, now: float) -> None:
        assert t.handle is not None
        if t.exit_code is not None:
            self._finish(t, now)
            return
        if t.signalled_at is None:
            # Connection draining: the process keeps serving in-flight requests until the target group
            # forgets the target, at the latest after the deregistration delay.
            delay = self._tg.deregistration_delay if self._tg else 0.0
            drained = self._health(t) in (None, "unused") or now >= (t.deregistered_at or now) + delay
            if drained:
                self.runtime.terminate(t.handle)
                t.signalled_at = now
        elif not t.killed and now >= t.signalled_at + self.stop_timeout:
            self.runtime.kill(t.handle)
            t.killed = True

    def _finish(self, t: _Task, now: float) -> None:
        assert t.handle is not None
        self.runtime.release(t.handle)
        t.set_state(TaskState.STOPPED)
        t.stopped_at = now
        self._emit("stopped", t.task_id, t.stop_reason or f"exited with code {t.exit_code}")

    async def _register(self, t: _Task, facts: _TargetGroupFacts | None) -> None:
        if self.target_group is not None:
            self.target_group.register(t.task_id, t.spec.host_port, LOOPBACK)
        if facts is not None:
            await self._call(self.elbv2.register_targets, TargetGroupArn=facts.arn, Targets=[self._api_target(t, facts)])
        t.registered = True

    async def _deregister(self, t: _Task, facts: _TargetGroupFacts | None, now: float) -> None:
        if not t.registered or t.deregistered_at is not None:
            return
        if facts is not None:
            try:
                await self._call(
                    self.elbv2.deregister_targets, TargetGroupArn=facts.arn, Targets=[self._api_target(t, facts)]
                )
            except Exception as e:
                log.warning("task %s: DeregisterTargets on %s failed: %s", t.task_id, facts.arn, e)
        if self.target_group is not None:
            self.target_group.deregister(t.task_id)
        t.deregistered_at = now

    async def _apply_stop(self, a: StopTask, now: float, facts: _TargetGroupFacts | None) -> None:
        t = self._tasks[a.task_id]
        reason = a.reason
        if a.cause is StopCause.UNHEALTHY and facts is not None:
            reason = f"Task failed ELB health checks in (target-group {facts.arn})"
        t.stop_reason = reason
        await self._deregister(t, facts, now)
        if a.cause is StopCause.EXITED:
            self._finish(t, now)
            return
        t.set_state(TaskState.STOPPING)
        self._emit("stopping", t.task_id, reason)
        if not t.registered:  # never served traffic: nothing to drain
            assert t.handle is not None
            self.runtime.terminate(t.handle)
            t.signalled_at = now

    def task_spec(self, task_id: str) -> TaskSpec:
        """What a task of this service runs with (its container, environment, CPU and memory), on a free port."""
        ports = [t.spec.host_port for t in self._tasks.values() if t.state is not TaskState.STOPPED]
        return TaskSpec(
            task_id=task_id,
            service=self.service.name,
            container=self.container.name,
            image=self.container.image,
            host_port=free_port(avoid=ports),
            environment=dict(getattr(self.container, "environment", None) or {}),
            cpu_units=self.cpu_units,
            memory_mib=self.memory_mib,
        )

    def _apply_start(self, a: StartTask, now: float) -> None:
        task_id = self._new_id()
        spec = self.task_spec(task_id)
        t = _Task(task_id, spec, TaskState.PROVISIONING, created_at=now)
        self._tasks[task_id] = t
        try:
            t.handle = self.runtime.start(spec)
        except TaskError as e:
            t.set_state(TaskState.STOPPED)
            t.stop_reason = str(e)
            t.stopped_at = now
            self._emit("start-failed", task_id, str(e))
            return
        t.set_state(TaskState.PENDING)
        t.started_at = now
        self._emit("started", task_id, a.reason)

    def _forget_old(self) -> None:
        stopped = [t for t in self._tasks.values() if t.state is TaskState.STOPPED]
        for t in stopped[: max(0, len(stopped) - self._max_stopped)]:
            del self._tasks[t.task_id]

    # ----- loop
    async def run(self) -> None:
        """Tick every `tick` template seconds until `shutdown()`."""
        while not self._stopping:
            try:
                await self.tick()
            except Exception:
                log.exception("service %s: scheduler tick failed", self.service.name)
            await self.clock.sleep(self.tick_seconds)

    async def shutdown(self) -> None:
        """Stop every task now (no draining): deregister, SIGTERM all, wait, SIGKILL stragglers."""
        self._stopping = True
        facts = self._tg
        now = self.clock.now()
        alive = [t for t in self._tasks.values() if t.state is not TaskState.STOPPED and t.handle is not None]
        for t in alive:
            await self._deregister(t, facts, now)
            assert t.handle is not None
            self.runtime.terminate(t.handle)
        for t in alive:
            assert t.handle is not None
            t.exit_code = self.runtime.stop(t.handle, self.shutdown_grace_wall_seconds)
            t.stop_reason = t.stop_reason or "harness shutdown"
            if t.state is not TaskState.STOPPED:
                t.state = TaskState.STOPPED
                t.stopped_at = now
                self._emit("stopped", t.task_id, t.stop_reason)

    # ----- status
    def snapshot(self) -> ServiceSnapshot:
        infos: list[TaskInfo] = []
        running = pending = healthy = 0
        for t in self._tasks.values():
            health = self._health(t) if t.state is not TaskState.STOPPED else None
            if t.state is TaskState.RUNNING:
                running += 1
                if health == "healthy":
                    healthy += 1
            elif t.state in (TaskState.PROVISIONING, TaskState.PENDING):
                pending += 1
            infos.append(
                TaskInfo(
                    t.task_id,
                    t.state.value,
                    t.spec.host_port,
                    health,
                    t.started_at,
                    t.exit_code,
                    t.stop_reason,
                    str(t.handle.log_path) if t.handle else None,
                    t.handle.pid if t.handle else None,
                )
            )
        return ServiceSnapshot(self.desired, running, pending, healthy, tuple(infos), self.cpu_units, self.cpu_source)

    def running_tasks(self) -> list[RunningTask]:
        """Handles of tasks in RUNNING state, for the metrics agent (runtime.usage(handle))."""
        return [t.handle for t in self._tasks.values() if t.state is TaskState.RUNNING and t.handle is not None]
