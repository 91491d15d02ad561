"""The scheduler's pure decisions and the ECS arithmetic, from tables."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from harness.ecs.cgroup import cpu_quota_us, parse_mounts, parse_proc_cgroup
from harness.ecs.runtime import cpu_reservation, memory_limit
from harness.ecs.scheduler import StartTask, StopCause, StopTask, TaskState, TaskView, plan, transition

R, P, S, X = TaskState.RUNNING, TaskState.PENDING, TaskState.STOPPING, TaskState.STOPPED


def v(tid: str, state: TaskState = R, started: float = 0.0, health: str | None = "healthy", code: int | None = None) -> TaskView:
    return TaskView(tid, state, started, health, code)


def summary(actions: list[Any]) -> list[str]:
    out = []
    for a in actions:
        if isinstance(a, StartTask):
            out.append("start" + (f"<{a.replaces}" if a.replaces else ""))
        else:
            assert isinstance(a, StopTask)
            out.append(f"stop {a.task_id} {a.cause.value}")
    return out


@pytest.mark.parametrize(
    "desired, tasks, expected",
    [
        (2, [], ["start", "start"]),
        (2, [v("a"), v("b")], []),
        (3, [v("a"), v("b")], ["start"]),
        # newest first on scale-in
        (1, [v("a", started=10), v("b", started=30), v("c", started=20)], ["stop b scale-in", "stop c scale-in"]),
        (0, [v("a", started=10)], ["stop a scale-in"]),
        # a pending task counts as live (it is starting), and is the newest
        (1, [v("a", started=10), v("b", P, started=40, health=None)], ["stop b scale-in"]),
        # exited -> stop record and replace
        (2, [v("a", code=1), v("b")], ["stop a exited", "start<a"]),
        (2, [v("a", P, health=None, code=0), v("b")], ["stop a exited", "start<a"]),
        # unhealthy -> stop and replace
        (2, [v("a", health="unhealthy"), v("b")], ["stop a unhealthy", "start<a"]),
        # replaced, and desired also went down: no start
        (1, [v("a", health="unhealthy"), v("b")], ["stop a unhealthy"]),
        # replaced, and desired went up: replacement plus a new one
        (3, [v("a", code=137), v("b")], ["stop a exited", "start<a", "start"]),
        # stopping/stopped/draining tasks don't count as live
        (2, [v("a"), v("b", S, health="draining"), v("c", X, health=None)], ["start"]),
        (1, [v("a", health="draining")], ["start"]),
        # initial (health check not passed yet) still counts as live
        (1, [v("a", health="initial")], []),
    ],
)
def test_plan_table(desired: int, tasks: list[TaskView], expected: list[str]) -> None:
    assert summary(plan(desired, tasks, now=100.0)) == expected


def test_unhealthy_ignored_during_health_check_grace_period() -> None:
    tasks = [v("a", started=100.0, health="unhealthy")]
    assert plan(1, tasks, now=159.0, health_check_grace=60.0) == []
    assert summary(plan(1, tasks, now=160.0, health_check_grace=60.0)) == ["stop a unhealthy", "start<a"]


def test_plan_rejects_negative_desired() -> None:
    with pytest.raises(ValueError, match="desired count"):
        plan(-1, [], 0.0)


def test_scale_in_tie_broken_by_task_id_deterministically() -> None:
    acts = plan(1, [v("a", started=5), v("b", started=5)], 10.0)
    assert acts == [StopTask("b", StopCause.SCALE_IN, acts[0].reason)]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "old, new, ok",
    [
        (TaskState.PROVISIONING, P, True),
        (P, R, True),
        (R, S, True),
        (S, X, True),
        (R, X, True),  # crash
        (R, P, False),
        (X, R, False),
        (S, R, False),
        (TaskState.PROVISIONING, R, False),
    ],
)
def test_transitions(old: TaskState, new: TaskState, ok: bool) -> None:
    if ok:
        assert transition(old, new) is new
    else:
        with pytest.raises(ValueError, match=f"from {old.value} to {new.value}"):
            transition(old, new)


@dataclass
class C:
    name: str = "main"
    cpu: int | None = None
    memory: int | None = None
    memory_reservation: int | None = None


@dataclass
class TD:
    cpu: Any = None
    memory: Any = None
    containers: tuple[C, ...] = field(default_factory=tuple)


@pytest.mark.parametrize(
    "td, default, expected",
    [
        (TD(cpu="512", containers=(C(cpu=128),)), 256, (512, "task definition cpu")),
        (TD(containers=(C(cpu=128), C(cpu=64))), 256, (192, "sum of container cpu")),
        (TD(containers=(C(cpu=0),)), 256, (256, "harness default")),
        (TD(containers=(C(memory=128),)), 100, (100, "harness default")),
    ],
)
def test_cpu_reservation(td: TD, default: int, expected: tuple[int, str]) -> None:
    units, source = cpu_reservation(td, default)
    assert units == expected[0]
    assert source.startswith(expected[1])


@pytest.mark.parametrize(
    "td, expected",
    [
        (TD(memory="1024", containers=(C(memory=128),)), 1024),
        (TD(containers=(C(memory=128),)), 128),
        (TD(containers=(C(memory=128), C(memory=64))), 192),
        (TD(containers=(C(memory=128), C(memory_reservation=64))), None),
        (TD(containers=(C(memory_reservation=64),)), None),
    ],
)
def test_memory_limit(td: TD, expected: int | None) -> None:
    assert memory_limit(td) == expected


@pytest.mark.parametrize("units, quota", [(1024, 10_000), (256, 2_500), (1536, 15_000), (2, 1_000)])
def test_cpu_quota_like_docker_cpus(units: int, quota: int) -> None:
    assert cpu_quota_us(units) == quota


MOUNTS = """\
tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0
cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,relatime,cpu,cpuacct 0 0
cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0
cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0
"""


def test_parse_mounts_and_own_cgroup() -> None:
    v1, v2 = parse_mounts(MOUNTS)
    assert {k: str(p) for k, p in v1.items()} == {
        "cpu": "/sys/fs/cgroup/cpu,cpuacct",
        "cpuacct": "/sys/fs/cgroup/cpu,cpuacct",
        "memory": "/sys/fs/cgroup/memory",
    }
    assert str(v2) == "/sys/fs/cgroup/unified"
    own = parse_proc_cgroup("4:memory:/job/42\n2:cpu,cpuacct:/\n0::/user.slice\n")
    assert own == {"memory": "/job/42", "cpu": "/", "cpuacct": "/", "": "/user.slice"}


# ------------------------------------------------------------ network modes, Fargate (pure tables)
from harness.ecs.scheduler import api_target, compatibility_problems  # noqa: E402


@pytest.mark.parametrize("mode,requires,launch,cpu,mem,target,expected", [
    # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size
    ("awsvpc", ("FARGATE",), "FARGATE", 256, 512, "ip", []),
    ("awsvpc", ("FARGATE",), None, 1024, 8192, "ip", []),
    ("awsvpc", ("FARGATE",), "FARGATE", 256, 4096, "ip", ["Fargate has no task size of 256 CPU units with 4096 MiB"]),
    ("awsvpc", ("FARGATE",), "FARGATE", 300, 512, "ip", ["Fargate has no task size of 300 CPU units"]),
    ("awsvpc", ("FARGATE",), "FARGATE", None, None, "ip", ["needs a task-level Cpu and Memory"]),
    ("bridge", ("FARGATE",), "FARGATE", 256, 512, "instance", ["needs NetworkMode awsvpc, not bridge"]),
    ("bridge", ("EC2",), "FARGATE", None, None, "instance", ["launch type FARGATE is not in", "awsvpc"]),
    # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/alb.html: awsvpc needs ip, bridge/host instance
    ("awsvpc", ("EC2",), "EC2", None, None, "instance", ["network mode awsvpc needs a target group of target type ip"]),
    ("bridge", (), None, None, None, "ip", ["network mode bridge needs a target group of target type instance"]),
    ("host", ("EC2",), "EC2", None, None, "instance", []),
    ("bridge", (), None, None, None, None, []),  # no load balancer
])
def test_compatibility_problems(mode: str, requires: tuple[str, ...], launch: str | None, cpu: int | None,
                                mem: int | None, target: str | None, expected: list[str]) -> None:
    problems = compatibility_problems(mode, requires, launch, cpu, mem, target)
    for want in expected:
        assert any(want in p for p in problems), problems
    if not expected:
        assert problems == []


@pytest.mark.parametrize("target_type,expected", [
    ("ip", {"Id": "127.0.0.1", "Port": 41000}),  # awsvpc: the task's address and its port
    ("instance", {"Id": "i-0000000abcdef0123", "Port": 41000}),  # bridge/host: its (pseudo) instance, host port
])
def test_api_target(target_type: str, expected: dict[str, object]) -> None:
    assert api_target(target_type, "abcdef0123", 41000) == expected
