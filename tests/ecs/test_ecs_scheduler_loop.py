"""The scheduler loop on a ManualClock, with fakes at the seams it owns (runtime, target group, AWS call)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import itertools
import logging
from dataclasses import dataclass
from pathlib import Path
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from harness.clock import ManualClock
from harness.ecs.runtime import RunningTask, TaskSpec, Usage
from harness.ecs.scheduler import Event, ServiceScheduler
from harness.errors import TaskError
from tests.ecs.config import TG_ARN, service

T0 = 1_700_000_000.0
DELAY = 10.0





class FakeRuntime:
    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.specs: dict[str, TaskSpec] = {}
        self.codes: dict[str, int] = {}
        self.not_ready: set[str] = set()
        self.ignore_term: set[str] = set()
        self.terminated_at: dict[str, float] = {}
        self.killed_at: dict[str, float] = {}
        self.released: list[str] = []
        self.fail_next_start: str | None = None

    def start(self, spec: TaskSpec) -> RunningTask:
        if self.fail_next_start:
            msg, self.fail_next_start = self.fail_next_start, None
            raise TaskError(msg)
        self.specs[spec.task_id] = spec
        return RunningTask(spec=spec, pid=1000 + len(self.specs), log_path=Path(f"/logs/{spec.task_id}"))

    def ready(self, task: RunningTask) -> bool:
        return task.task_id not in self.not_ready

    def exit_code(self, task: RunningTask) -> int | None:
        return self.codes.get(task.task_id)

    def terminate(self, task: RunningTask) -> None:
        self.terminated_at[task.task_id] = self.clock.now()
        if task.task_id not in self.ignore_term:
            self.codes[task.task_id] = 0

    def kill(self, task: RunningTask) -> None:
        self.killed_at[task.task_id] = self.clock.now()
        self.codes[task.task_id] = -9

    def release(self, task: RunningTask) -> None:
        assert task.task_id in self.codes, "released a task that has not exited"
        self.released.append(task.task_id)

    def stop(self, task: RunningTask, grace_wall_seconds: float) -> int | None:
        self.codes.setdefault(task.task_id, 0)
        self.release(task)
        return self.codes[task.task_id]

    def usage(self, task: RunningTask) -> Usage:
        return Usage(0.0, 0)


class FakeTargetGroup:
    """Draining lasts DELAY template seconds, then the target is forgotten (as TargetGroupRuntime)."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.health: dict[str, str] = {}
        self.ports: dict[str, int] = {}
        self.drain_since: dict[str, float] = {}

    def register(self, target_id: str, port: int, host: str = "127.0.0.1") -> None:
        assert host == "127.0.0.1"
        self.ports[target_id] = port
        self.health[target_id] = "initial"

    def deregister(self, target_id: str) -> None:
        self.drain_since[target_id] = self.clock.now()

    def state(self, target_id: str) -> str | None:
        if target_id in self.drain_since:
            return "draining" if self.clock.now() < self.drain_since[target_id] + DELAY else None
        return self.health.get(target_id)


class FakeEcs:
    def __init__(self, desired: int) -> None:
        self.desired = desired
        self.calls = 0
        self.fail = False

    def describe_services(self, cluster: str, services: list[str]) -> dict[str, Any]:
        self.calls += 1
        if self.fail:
            raise ConnectionError("endpoint down")
        assert (cluster, services) == ("cluster", ["svc"])
        return {"services": [{"serviceName": "svc", "desiredCount": self.desired}], "failures": []}


class FakeElbv2:
    def __init__(self) -> None:
        self.targets: dict[str, int] = {}
        self.log: list[tuple[str, str, int]] = []

    def describe_target_groups(self, TargetGroupArns: list[str]) -> dict[str, Any]:
        return {"TargetGroups": [{"TargetGroupArn": TargetGroupArns[0], "TargetType": "instance"}]}

    def describe_target_group_attributes(self, TargetGroupArn: str) -> dict[str, Any]:
        return {"Attributes": [{"Key": "deregistration_delay.timeout_seconds", "Value": str(int(DELAY))}]}

    def register_targets(self, TargetGroupArn: str, Targets: list[dict[str, Any]]) -> None:
        for t in Targets:
            self.targets[t["Id"]] = t["Port"]
            self.log.append(("register", t["Id"], t["Port"]))

    def deregister_targets(self, TargetGroupArn: str, Targets: list[dict[str, Any]]) -> None:
        for t in Targets:
            del self.targets[t["Id"]]
            self.log.append(("deregister", t["Id"], t["Port"]))


async def inline(fn: Any, *args: Any, **kwargs: Any) -> Any:
    return fn(*args, **kwargs)


@dataclass
class World:
    clock: ManualClock
    runtime: FakeRuntime
    tg: FakeTargetGroup
    ecs: FakeEcs
    elbv2: FakeElbv2
    sched: ServiceScheduler
    events: list[Event]

    def states(self) -> dict[str, str]:
        return {t.task_id: t.state for t in self.sched.snapshot().tasks}

    def live(self) -> list[str]:
        return [t.task_id for t in self.sched.snapshot().tasks if t.state in ("PENDING", "RUNNING")]

    def kinds(self) -> list[tuple[float, str, str]]:
        return [(e.time - T0, e.kind, e.task_id) for e in self.events]


def with_world(body: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    """Run an async test body with a fresh World (no pytest-asyncio here): `asyncio.run` per test."""

    @functools.wraps(body)
    def test(*args: Any, **kwargs: Any) -> None:
        async def main() -> None:
            async with make_world() as w:
                await body(w, *args, **kwargs)

        asyncio.run(main())

    # pytest must not see the `w` parameter as a fixture
    test.__signature__ = inspect.signature(body).replace(  # type: ignore[attr-defined]
        parameters=list(inspect.signature(body).parameters.values())[1:]
    )
    return test


@contextlib.asynccontextmanager
async def make_world() -> AsyncIterator[World]:
    clock = ManualClock(T0)
    runtime = FakeRuntime(clock)
    tg = FakeTargetGroup(clock)
    ecs, elbv2 = FakeEcs(2), FakeElbv2()
    ids = (f"task{i}" for i in itertools.count(1))
    sched = ServiceScheduler(
        ecs, elbv2, service(environment={"GREETING": "hi"}), runtime, tg, clock, tick=1.0, stop_timeout=30.0, call=inline, task_id_factory=lambda: next(ids)
    )
    events: list[Event] = []
    sched.listeners.append(events.append)
    loop_task = asyncio.create_task(sched.run())
    await clock.advance(0)
    yield World(clock, runtime, tg, ecs, elbv2, sched, events)
    await sched.shutdown()
    await clock.advance(1)
    await asyncio.wait_for(loop_task, 5)


pytestmark = pytest.mark.timeout(30)


@with_world
async def test_starts_desired_then_registers_when_listening(w: World) -> None:
    assert w.states() == {"task1": "PENDING", "task2": "PENDING"}
    spec = w.runtime.specs["task1"]
    assert spec.cpu_units == 256 and spec.memory_mib == 128
    assert spec.environment == {"GREETING": "hi"} and spec.container == "main"
    assert spec.host_port != w.runtime.specs["task2"].host_port
    await w.clock.advance(1)
    assert w.states() == {"task1": "RUNNING", "task2": "RUNNING"}
    assert w.tg.ports == {"task1": spec.host_port, "task2": w.runtime.specs["task2"].host_port}
    # one pseudo instance id per task (moto keys targets by Id), with the task's host port
    assert sorted(w.elbv2.targets.values()) == sorted(w.tg.ports.values())
    assert all(i.startswith("i-") and len(i) == 19 for i in w.elbv2.targets)
    assert w.kinds() == [(0, "started", "task1"), (0, "started", "task2"), (1, "running", "task1"), (1, "running", "task2")]
    snap = w.sched.snapshot()
    assert (snap.desired, snap.running, snap.pending, snap.healthy) == (2, 2, 0, 0)
    w.tg.health["task1"] = "healthy"
    assert w.sched.snapshot().healthy == 1


@with_world
async def test_desired_read_every_tick_scale_out_then_in_drains_newest_first(w: World) -> None:
    calls = w.ecs.calls
    await w.clock.advance(3)
    assert w.ecs.calls == calls + 3
    w.ecs.desired = 3
    await w.clock.advance(1)  # t=4
    assert w.live() == ["task1", "task2", "task3"]
    await w.clock.advance(1)  # t=5: task3 running
    w.ecs.desired = 1
    await w.clock.advance(1)  # t=6: stop the two newest
    assert w.states() == {"task1": "RUNNING", "task2": "STOPPING", "task3": "STOPPING"}
    assert [x[0] for x in w.elbv2.log[-2:]] == ["deregister", "deregister"]
    assert len(w.elbv2.targets) == 1
    # still draining: the process keeps serving until the deregistration delay is over
    await w.clock.advance(DELAY - 1)  # t=15
    assert w.runtime.terminated_at == {}
    await w.clock.advance(1)  # t=16 = 6 + DELAY
    assert w.runtime.terminated_at == {"task3": T0 + 16, "task2": T0 + 16}
    await w.clock.advance(1)
    assert w.states() == {"task1": "RUNNING", "task2": "STOPPED", "task3": "STOPPED"}
    assert sorted(w.runtime.released) == ["task2", "task3"]
    stops = [(e.time - T0, e.task_id) for e in w.events if e.kind == "stopped"]
    assert sorted(stops) == [(17, "task2"), (17, "task3")]
    assert all("Scaling activity" in e.reason for e in w.events if e.kind == "stopped")


@with_world
async def test_exited_task_is_replaced(w: World) -> None:
    await w.clock.advance(1)
    w.runtime.codes["task1"] = 1
    await w.clock.advance(1)
    assert w.states() == {"task1": "STOPPED", "task2": "RUNNING", "task3": "PENDING"}
    ev = {(e.kind, e.task_id): e.reason for e in w.events}
    assert ev[("stopped", "task1")] == "Essential container in task exited (exit code 1)"
    assert ev[("started", "task3")] == "replacing task task1"
    assert "task1" in w.tg.drain_since  # its target is deregistered too
    snap = {t.task_id: t for t in w.sched.snapshot().tasks}
    assert snap["task1"].exit_code == 1 and snap["task1"].log_path == "/logs/task1"


@with_world
async def test_unhealthy_task_is_drained_and_replaced(w: World) -> None:
    await w.clock.advance(1)
    w.tg.health["task2"] = "unhealthy"
    await w.clock.advance(1)  # t=2
    assert w.states() == {"task1": "RUNNING", "task2": "STOPPING", "task3": "PENDING"}
    reason = next(e.reason for e in w.events if e.kind == "stopping")
    assert reason == f"Task failed ELB health checks in (target-group {TG_ARN})"
    await w.clock.advance(DELAY)
    assert w.runtime.terminated_at == {"task2": T0 + 2 + DELAY}


@with_world
async def test_sigkill_after_stop_timeout_when_sigterm_ignored(w: World) -> None:
    await w.clock.advance(1)
    w.runtime.ignore_term.add("task2")
    w.ecs.desired = 1
    await w.clock.advance(1)  # t=2 deregister
    await w.clock.advance(DELAY)  # t=12 SIGTERM
    assert w.runtime.terminated_at == {"task2": T0 + 12}
    await w.clock.advance(29)
    assert w.runtime.killed_at == {}
    await w.clock.advance(1)  # t=42 = SIGTERM + stop timeout 30
    assert w.runtime.killed_at == {"task2": T0 + 42}
    await w.clock.advance(1)
    assert w.states()["task2"] == "STOPPED"


@with_world
async def test_pending_task_stopped_at_once_no_draining(w: World) -> None:
    w.runtime.not_ready.update({"task1", "task2"})
    await w.clock.advance(1)
    w.ecs.desired = 0
    await w.clock.advance(1)
    assert w.runtime.terminated_at == {"task1": T0 + 2, "task2": T0 + 2}
    await w.clock.advance(1)
    assert set(w.states().values()) == {"STOPPED"}
    assert w.elbv2.log == []


@with_world
async def test_endpoint_failure_keeps_last_desired(w: World, caplog: pytest.LogCaptureFixture) -> None:
    w.ecs.fail = True
    with caplog.at_level(logging.WARNING):
        await w.clock.advance(3)
    assert "cannot read the desired count: endpoint down" in caplog.text
    assert len(w.live()) == 2 and w.sched.snapshot().desired == 2


@with_world
async def test_start_failure_is_an_event_and_retried(w: World) -> None:
    w.ecs.desired = 3
    w.runtime.fail_next_start = "Task x: host port 127.0.0.1:1 is already in use."
    await w.clock.advance(1)
    assert [e.kind for e in w.events if e.task_id == "task3"] == ["start-failed"]
    await w.clock.advance(1)
    assert len(w.live()) == 3


@with_world
async def test_listener_failure_is_logged_not_propagated(w: World, caplog: pytest.LogCaptureFixture) -> None:

    def broken(e: Event) -> None:
        raise RuntimeError("listener bug")

    w.sched.listeners.insert(0, broken)
    w.ecs.desired = 3
    with caplog.at_level(logging.ERROR):
        await w.clock.advance(1)
    assert "listener bug" in caplog.text
    assert ("started", "task3") in [(e.kind, e.task_id) for e in w.events]


@with_world
async def test_shutdown_stops_everything_without_draining(w: World) -> None:
    await w.clock.advance(1)
    await w.sched.shutdown()
    assert set(w.states().values()) == {"STOPPED"}
    assert sorted(w.runtime.released) == ["task1", "task2"]
    assert w.elbv2.targets == {}
