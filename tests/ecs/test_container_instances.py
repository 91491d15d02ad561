"""A cluster's stored EC2 capacity and ECS's cluster-level metrics (CPUUtilization, MemoryUtilization,
CPUReservation, MemoryReservation) from the tasks' real measurements.

AWS: "Cluster CPU utilization ... is measured as the total CPU units in use by Amazon ECS tasks on the
cluster, divided by the total CPU units that were registered for all of the container instances in the
cluster"; reservation likewise from what the running tasks reserve.
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/cloudwatch-metrics.html
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from harness.clock import ManualClock
from harness.cloudwatch.agent import MetricsAgent, TaskSample
from harness.ecs.container_instances import (
    DEFAULT_CLUSTER, ClusterCapacity, GroupCapacity, InstanceType, ServiceShare, cluster_of, cluster_utilization,
    memory_reserved_mib, registered,
)
from harness.events import Timeline
from tests.cloudwatch.test_agent import MIB, T0, stats, two_tasks, unique

T2_MICRO = InstanceType("t2.micro", 1, 1024)
T3_MEDIUM = InstanceType("t3.medium", 2, 4096)


@pytest.mark.parametrize("instances, itype, expected", [
    (2, T2_MICRO, (2048, 2048)),  # a container instance registers vCPUs x 1024 units
    (3, T3_MEDIUM, (6144, 12288)),
    (0, T3_MEDIUM, (0, 0)),  # a group scaled to zero registers nothing
])
def test_registered_capacity_is_instances_times_the_instance_type(instances: int, itype: InstanceType,
                                                                  expected: tuple[int, int]) -> None:
    assert registered(instances, itype) == expected


def test_a_cluster_sums_its_groups() -> None:
    cap = ClusterCapacity("c", (GroupCapacity("a", "c", 2, T2_MICRO), GroupCapacity("b", "c", 1, T3_MEDIUM)))
    assert (cap.instances, cap.cpu_units, cap.memory_mib) == (3, 2048 + 2048, 2048 + 4096)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize("user_data, cluster", [
    # The agent reads ECS_CLUSTER from /etc/ecs/ecs.config, as user data writes it (widdix, CDK's addCapacity).
    (_b64('#!/bin/bash -ex\necho "ECS_CLUSTER=cluster-Cluster-1" >> /etc/ecs/ecs.config\n'), "cluster-Cluster-1"),
    (_b64("#!/bin/bash\necho ECS_CLUSTER=prod >> /etc/ecs/ecs.config\necho ECS_CLUSTER=other >> /etc/ecs/ecs.config\n"),
     "other"),  # the last line of the file wins
    (_b64("#!/bin/bash\nyum install -y aws-cfn-bootstrap\n"), DEFAULT_CLUSTER),  # none: the default cluster
    (None, DEFAULT_CLUSTER),
])
def test_an_instance_joins_the_cluster_its_user_data_names(user_data: str | None, cluster: str) -> None:
    assert cluster_of(user_data) == cluster


def _tasks(**cpu: float) -> dict[str, TaskSample]:
    return {t: TaskSample(c, 64 * MIB) for t, c in cpu.items()}


@pytest.mark.parametrize("shares, wall, units, mem, k, expected", [
    # 2 tasks each using 0.5 vCPU-s over 10 s on 2 x t2.micro (2048 units = 2 vCPU): 1 / 20 = 5 %.
    # Reservations: 2 x 256 of 2048 = 25 %; 2 x 128 MiB of 2048 = 12.5 %; memory in use 2 x 64 MiB = 6.25 %.
    ([ServiceShare(_tasks(a=0, b=0), _tasks(a=0.5, b=0.5), 256, 128)], 10, 2048, 2048, 1.0, (5.0, 6.25, 25.0, 12.5)),
    # CPU scale K = 0.5: the same CPU over half the capacity (as a service's figure over its scaled reservation);
    # reservations are template units on both sides and do not move.
    ([ServiceShare(_tasks(a=0, b=0), _tasks(a=0.5, b=0.5), 256, 128)], 10, 2048, 2048, 0.5, (10.0, 6.25, 25.0, 12.5)),
    # Two services in one cluster add up; a task first seen at the end counts for reservation and memory, not CPU.
    ([ServiceShare(_tasks(a=0), _tasks(a=1.0), 512, 256),
      ServiceShare(_tasks(b=0), _tasks(b=1.0, c=7.0), 256, None)], 10, 4096, 8192, 1.0,
     (5.0, 2.34375, 25.0, 3.125)),
    # No task at all: an idle cluster is 0 % everywhere.
    ([ServiceShare({}, {}, 256, 128)], 10, 2048, 2048, 1.0, (0.0, 0.0, 0.0, 0.0)),
])
def test_cluster_utilization(shares: list[ServiceShare], wall: float, units: int, mem: int, k: float,
                             expected: tuple[float, float, float, float]) -> None:
    u = cluster_utilization(shares, wall_seconds=wall, cpu_units=units, memory_mib=mem, cpu_scale=k)
    assert (u.cpu_percent, u.memory_percent, u.cpu_reservation, u.memory_reservation) == pytest.approx(expected)


def test_nothing_registered_publishes_nothing() -> None:
    u = cluster_utilization([ServiceShare(_tasks(a=0), _tasks(a=1), 256, 128)], wall_seconds=10, cpu_units=0,
                            memory_mib=0)
    assert (u.cpu_percent, u.memory_percent, u.cpu_reservation, u.memory_reservation) == (None, None, None, None)


@pytest.mark.parametrize("task_memory, containers, expected", [
    (512, [], 512),  # task-level memory is the reservation
    (None, [(128, None)], 128),  # a hard limit only: that is reserved (widdix's Memory: 128)
    (None, [(256, 64), (None, 32)], 96),  # the soft limit where there is one
    (None, [(None, None)], None),  # nothing reserved
])
def test_memory_a_task_reserves(task_memory: int | None, containers: list[tuple[int | None, int | None]],
                                expected: int | None) -> None:
    td = SimpleNamespace(memory=task_memory,
                         containers=[SimpleNamespace(memory=m, memory_reservation=r) for m, r in containers])
    assert memory_reserved_mib(td) == expected


def test_the_agent_publishes_cluster_metrics_from_the_services_in_it(moto_client: Callable[[str], Any]) -> None:
    """Two samples of a service on a 2 x t2.micro cluster, read back from CloudWatch with ClusterName alone."""
    cw = moto_client("cloudwatch")
    cluster, service = unique("cluster"), unique("svc")

    async def main() -> None:
        clock = ManualClock(T0)
        tasks, usage = two_tasks(64 * MIB, 64 * MIB)
        agent = MetricsAgent(cw, clock, Timeline(), sample_interval=10, wall=lambda sec: sec)
        # CPU scale 0.5: each task runs with 256 x 0.5 units (its quota), the cluster is 2048 x 0.5 units.
        agent.add_service(cluster, service, lambda: list(tasks), usage, 128, 128)
        agent.add_cluster(cluster, 2048, 2048, cpu_scale=0.5, memory_reserved={service: 128})
        for used in (0.5, 1.0):
            await clock.advance(10)
            usage.cpu = {t: c + used for t, c in usage.cpu.items()}
            await agent.sample_once()

    asyncio.run(main())
    dims = {"ClusterName": cluster}
    # 2 x 0.5 CPU-s over 10 s of 1 vCPU (2 vCPU x 0.5) = 10 %, then 2 x 1.0 -> 20 %.
    assert stats(cw, "AWS/ECS", "CPUUtilization", dims, T0, T0 + 60, 10, "Maximum") == [(T0 + 10, 10.0), (T0 + 20, 20.0)]
    assert stats(cw, "AWS/ECS", "MemoryUtilization", dims, T0, T0 + 60, 60) == [(T0, 6.25)]
    assert stats(cw, "AWS/ECS", "CPUReservation", dims, T0, T0 + 60, 60) == [(T0, 25.0)]
    assert stats(cw, "AWS/ECS", "MemoryReservation", dims, T0, T0 + 60, 60) == [(T0, 12.5)]
    # The service's own figure is still published beside it, over its scaled reservation: 0.5 / (0.125 x 10).
    svc = stats(cw, "AWS/ECS", "CPUUtilization", {**dims, "ServiceName": service}, T0, T0 + 60, 10, "Maximum")
    assert svc == [(T0 + 10, 40.0), (T0 + 20, 80.0)]
