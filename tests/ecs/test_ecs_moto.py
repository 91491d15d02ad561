"""The scheduler against the real moto ECS/ELBv2 API, running real sample_app processes."""

from __future__ import annotations

import asyncio
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pytest

from harness.clock import ManualClock
from harness.ecs.process import ProcessRuntime
from harness.ecs.scheduler import ServiceScheduler
from tests.ecs.config import service

pytestmark = pytest.mark.timeout(90)
DELAY = 5





class DrainingTargets:
    """Stands in for TargetGroupRuntime: healthy once registered, forgotten DELAY s after deregistering."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.ports: dict[str, int] = {}
        self.since: dict[str, float] = {}

    def register(self, target_id: str, port: int, host: str = "127.0.0.1") -> None:
        self.ports[target_id] = port

    def deregister(self, target_id: str) -> None:
        self.since[target_id] = self.clock.now()

    def state(self, target_id: str) -> str | None:
        if target_id in self.since:
            return "draining" if self.clock.now() < self.since[target_id] + DELAY else None
        return "healthy" if target_id in self.ports else None


def test_reconciles_2_3_1_with_real_processes(moto_client: Callable[[str], Any], tmp_path: Path) -> None:
    ecs, elbv2, ec2 = (moto_client(n) for n in ("ecs", "elbv2", "ec2"))
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    tg_arn = elbv2.create_target_group(Name="app", Protocol="HTTP", Port=80, VpcId=vpc)["TargetGroups"][0]["TargetGroupArn"]
    elbv2.modify_target_group_attributes(
        TargetGroupArn=tg_arn, Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": str(DELAY)}]
    )
    ecs.create_cluster(clusterName="c1")
    td = ecs.register_task_definition(
        family="app",
        networkMode="bridge",
        containerDefinitions=[
            {"name": "main", "image": "sample_app", "memory": 128, "portMappings": [{"containerPort": 3000, "hostPort": 0}]}
        ],
    )["taskDefinition"]
    ecs.create_service(
        cluster="c1",
        serviceName="svc",
        taskDefinition=td["taskDefinitionArn"],
        desiredCount=2,
        loadBalancers=[{"targetGroupArn": tg_arn, "containerName": "main", "containerPort": 3000}],
    )
    svc = service(cluster="c1", td_arn=td["taskDefinitionArn"], tg_arn=tg_arn)
    clock = ManualClock()
    targets = DrainingTargets(clock)
    runtime = ProcessRuntime(log_dir=tmp_path)
    sched = ServiceScheduler(ecs, elbv2, svc, runtime, targets, clock, tick=1.0, stop_timeout=10.0)

    def running() -> list[int]:
        return sorted(t.port for t in sched.snapshot().tasks if t.state == "RUNNING")

    def api_ports() -> list[int]:
        health = elbv2.describe_target_health(TargetGroupArn=tg_arn)["TargetHealthDescriptions"]
        return sorted(h["Target"]["Port"] for h in health)

    async def until(pred: Callable[[], bool], max_ticks: int = 60) -> None:
        for _ in range(max_ticks):
            await sched.tick()
            if pred():
                return
            await clock.advance(1)
            await asyncio.sleep(0.1)  # wall time for the real processes to start/exit
        raise AssertionError(f"not reached after {max_ticks} ticks: {sched.snapshot()}")

    def settled(n: int) -> Callable[[], bool]:
        def ok() -> bool:
            snap = sched.snapshot()
            return snap.desired == n and len(running()) == n and all(t.state in ("RUNNING", "STOPPED") for t in snap.tasks)

        return ok

    async def scenario() -> None:
        try:
            await until(settled(2))
            for port in running():
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/5", timeout=5) as r:
                    assert r.read() == b"120"
            assert api_ports() == running()
            ecs.update_service(cluster="c1", service="svc", desiredCount=3)
            await until(settled(3))
            assert api_ports() == running()
            ecs.update_service(cluster="c1", service="svc", desiredCount=1)
            t_scale_in = clock.now()
            await until(settled(1))
            # drained for the target group's deregistration delay before SIGTERM
            stopped = [e for e in events if e.kind == "stopped"]
            assert len(stopped) == 2 and all(e.time >= t_scale_in + DELAY for e in stopped)
            assert api_ports() == running()
        finally:
            await sched.shutdown()
            runtime.close()

    events: list[Any] = []
    sched.listeners.append(events.append)
    asyncio.run(scenario())
    started_pids = [t.pid for t in sched.snapshot().tasks if t.pid is not None]
    assert len(started_pids) == 3
    assert not [p for p in started_pids if psutil.pid_exists(p)], "a task process outlived the scheduler"
    assert all(t.state == "STOPPED" for t in sched.snapshot().tasks)

