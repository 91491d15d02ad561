"""The service scheduler with the Docker runtime: an OOM-killed task is replaced by a new container.

Real containers; fakes only at the AWS API seam (desired count, target registration), time on a
ManualClock advanced while the containers do their wall-clock work.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from harness.clock import ManualClock
from harness.ecs.docker import LABEL_RUN, DockerRuntime
from harness.ecs.scheduler import Event, ServiceScheduler
from tests.ecs.config import service

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]  # a Docker engine





class Ecs:
    def describe_services(self, cluster: str, services: list[str]) -> dict[str, Any]:
        return {"services": [{"serviceName": "svc", "desiredCount": 1}], "failures": []}


class Elbv2:
    def describe_target_groups(self, TargetGroupArns: list[str]) -> dict[str, Any]:
        return {"TargetGroups": [{"TargetGroupArn": TargetGroupArns[0], "TargetType": "instance"}]}

    def describe_target_group_attributes(self, TargetGroupArn: str) -> dict[str, Any]:
        return {"Attributes": [{"Key": "deregistration_delay.timeout_seconds", "Value": "0"}]}

    def register_targets(self, TargetGroupArn: str, Targets: list[dict[str, Any]]) -> None:
        pass

    def deregister_targets(self, TargetGroupArn: str, Targets: list[dict[str, Any]]) -> None:
        pass


async def inline(fn: Any, *args: Any, **kwargs: Any) -> Any:
    return fn(*args, **kwargs)


async def until(clock: ManualClock, cond: Any, wall_seconds: float = 30.0) -> None:
    """Advance template time one tick at a time while waiting (wall time) for the containers."""
    deadline = time.monotonic() + wall_seconds
    while not cond():
        assert time.monotonic() < deadline, "condition not reached in time"
        await clock.advance(1)
        await asyncio.sleep(0.05)


def test_oom_killed_task_is_replaced(image: str, client: Any, tmp_path: Path) -> None:
    async def main() -> None:
        clock = ManualClock(1_700_000_000.0)
        ids = (f"task{i}" for i in itertools.count(1))
        with DockerRuntime(image, tmp_path, reaper=False) as rt:
            sched = ServiceScheduler(Ecs(), Elbv2(), service(container="web", image="harness/sample-app:latest", memory=64), rt, None, clock, tick=1.0, call=inline,
                                     task_id_factory=lambda: next(ids))
            events: list[Event] = []
            sched.listeners.append(events.append)
            loop = asyncio.create_task(sched.run())

            def states() -> dict[str, str]:
                return {t.task_id: str(t.state) for t in sched.snapshot().tasks}

            try:
                await until(clock, lambda: states().get("task1") == "RUNNING")
                port = next(t.spec.host_port for t in sched.running_tasks() if t.task_id == "task1")
                with pytest.raises(Exception):
                    await asyncio.to_thread(urllib.request.urlopen, f"http://127.0.0.1:{port}/memory?mb=200", None, 10)
                await until(clock, lambda: states().get("task2") == "RUNNING")
                assert states()["task1"] == "STOPPED"
                snap = {t.task_id: t for t in sched.snapshot().tasks}
                assert snap["task1"].exit_code == 137
                assert ("started", "task2", "replacing task task1") in [(e.kind, e.task_id, e.reason) for e in events]
                assert [c["Labels"]["harness.task"] for c in client.api.containers(all=True, filters={"label": f"{LABEL_RUN}={rt.run_id}"})] == ["task2"]
            finally:
                await sched.shutdown()
                await clock.advance(1)
                await asyncio.wait_for(loop, 10)
        assert client.api.containers(all=True, filters={"label": f"{LABEL_RUN}={rt.run_id}"}) == []

    asyncio.run(main())
