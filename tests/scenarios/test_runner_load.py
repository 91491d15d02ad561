"""How the runner steers load through a phase, on the deployed ecs.yml with a manual clock. The seams are
the harness's own: the scheduler's snapshot (what ECS runs) and Locust's control file (what to run)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from harness import scenarios
from harness.clock import ManualClock
from harness.ecs.scheduler import ServiceSnapshot
from harness.events import Timeline
from harness.load import plan_users
from harness.scenarios.runner import CPU_RATE, RunResult, ScenarioRunner, target_utilization
from harness.stack import StackModel


class Scheduler:
    def __init__(self, snap: ServiceSnapshot) -> None:
        self.snap = snap

    def snapshot(self) -> ServiceSnapshot:
        return self.snap


class Locust:
    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.loads: list[tuple[float, dict[str, int]]] = []

    def set_load(self, users: dict[str, int], **_: Any) -> None:
        self.loads.append((self.clock.now(), dict(users)))


def test_a_task_started_while_a_phase_waits_for_the_grid_gets_its_share_of_the_load(
        ecs_stack: StackModel, tmp_path: Path) -> None:
    # cpu-high ends once the desired count is MaxCapacity (4), then waits for the next evaluation minute:
    # the scale-out's new task starts running in that wait, and the phase's load follows it there.
    clock = ManualClock(start=60.0 * 28_333_333)  # on a whole minute
    sched = Scheduler(ServiceSnapshot(desired=4, running=3, pending=1, healthy=3, tasks=(), cpu_units=256,
                                      cpu_source="test"))
    h = SimpleNamespace(model=ecs_stack, clock=clock, timeline=Timeline(), proxies=[], t0=clock.now(),
                        options=SimpleNamespace(template=Path("ecs.yml")), cloud=None, schedulers=[sched],
                        cpu_scale=1.0, calibration=None)
    runner = ScenarioRunner(h, scenarios.load("full-story"), tmp_path)
    locust = Locust(clock)
    runner.locust = locust  # type: ignore[assignment]
    runner._calibrated, runner.cost_ms = True, 10.0
    step = next(s for s in runner.scenario.steps if s.phase == "cpu-high")
    result = RunResult(runner.scenario, runner.roles, clock.now(), clock.now())

    async def go() -> None:
        phase = asyncio.ensure_future(runner._run_step(step, result, lambda line: None))
        await clock.advance(10.0)  # the condition held at the first poll: the phase waits for the minute
        assert not phase.done()
        sched.snap = replace(sched.snap, running=4, pending=0)
        await clock.advance(60.0)
        assert phase.done()
        await phase

    asyncio.run(go())
    start, end = result.spans["cpu-high"]
    assert end - start == 61.0  # just after the next evaluation
    assert len(locust.loads) == 2, locust.loads  # the phase's start, and the new task's
    (t1, at_three), (t2, at_four) = locust.loads
    assert t1 == start and start + 10.0 < t2 < end
    aim = target_utilization(step.load["cpu"], runner.roles) / 100.0  # past scale_out and cpu_alert: 93 %
    assert at_three["CpuUser"] == plan_users(aim, 3, 256.0, 10.0, CPU_RATE)
    assert at_four["CpuUser"] == plan_users(aim, 4, 256.0, 10.0, CPU_RATE) > at_three["CpuUser"]
