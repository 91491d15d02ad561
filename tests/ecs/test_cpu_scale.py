"""The CPU scale K on real processes: a task of 1024 units at K = 0.1 gets a quota of 0.1 vCPU (on a
period long enough for the quota to be exact), and the service's CPUUtilization is measured against
1024 x 0.1 units: a busy task reads ~100%, as a busy 1 vCPU task would on ECS.
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/cloudwatch-metrics.html#service_utilization
"""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path

import pytest

from harness.cloudwatch.agent import TaskSample, service_utilization
from harness.ecs.cgroup import CgroupManager, cfs_period_us, cpu_quota_us
from harness.ecs.docker import container_config
from harness.ecs.process import ProcessRuntime
from harness.ecs.runtime import TaskSpec
from harness.net import free_port


def spec(task_id: str, cpu: int) -> TaskSpec:
    return TaskSpec(task_id, "svc", "app", "sample_app", free_port(), cpu_units=cpu, memory_mib=64)


@pytest.mark.parametrize("units, k, period, quota", [
    (1024, 1.0, 10_000, 10_000),
    (1024, 0.1, 20_000, 2_000),  # 0.1 vCPU: 2 ms of 20 ms (1 ms on 10 ms would be at the kernel's floor)
    (512, 0.05, 80_000, 2_000),  # 0.025 vCPU
    (256, 0.5, 16_000, 2_000),  # 0.125 vCPU: 1.25 ms on 10 ms is too near the floor; 2 ms on 16 ms
])
def test_docker_quota_is_the_scaled_reservation(units: int, k: float, period: int, quota: int) -> None:
    s = spec("t", units)
    cfg = container_config(s, "img:1", run_id="r", stack="ecs", owner="1:2", enforce_quota=True, cpu_scale=k)
    assert (cfg["cpu_period"], cfg["cpu_quota"]) == (period, quota)
    assert cfg["cpu_quota"] / cfg["cpu_period"] == pytest.approx(units * k / 1024, rel=0.01)
    assert cfg["cpu_shares"] == units  # a weight: the template's units, unscaled


def test_scaled_utilization_arithmetic() -> None:
    # 2 tasks of 1024 units at K = 0.1 used 0.16 CPU-seconds in 1 s: 80% of 2 x 0.1 vCPU.
    before = {"a": TaskSample(1.0, 0), "b": TaskSample(2.0, 0)}
    after = {"a": TaskSample(1.08, 0), "b": TaskSample(2.08, 0)}
    u = service_utilization(before, after, wall_seconds=1.0, cpu_units_per_task=1024 * 0.1, memory_mib_per_task=None)
    assert u.cpu_percent == pytest.approx(80.0)


@pytest.mark.slow
def test_a_busy_task_at_cpu_scale_0_1_uses_a_tenth_of_a_cpu_and_reads_100_percent(tmp_path: Path) -> None:
    m = CgroupManager("k" + uuid.uuid4().hex[:8])
    if not m.enforced:
        pytest.skip(m.reason or "")
    burner = [sys.executable, "-c", "while True: pass"]
    with ProcessRuntime(burner, log_dir=tmp_path, cgroups=m, cpu_scale=0.1) as rt:
        task = rt.start(spec("burner", 1024))
        cg = rt._procs["burner"].cgroup
        assert cg is not None and cg.cpu_dir is not None
        period = cfs_period_us(102.4)
        if cg.version == 1:
            assert (cg.cpu_dir / "cpu.cfs_period_us").read_text().split() == [str(period)]
            assert (cg.cpu_dir / "cpu.cfs_quota_us").read_text().split() == [str(cpu_quota_us(102.4, period))]
        else:
            assert (cg.cpu_dir / "cpu.max").read_text().split() == [str(cpu_quota_us(102.4, period)), str(period)]
        time.sleep(0.5)  # the interpreter is up and burning
        u0, t0 = rt.usage(task).cpu_seconds, time.monotonic()
        time.sleep(3.0)
        u1, t1 = rt.usage(task).cpu_seconds, time.monotonic()
        cores = (u1 - u0) / (t1 - t0)
        # The cap is hard: at most 0.1 of a CPU (plus a period of slack); less only if the shared machine
        # cannot give even that.
        assert 0.05 < cores < 0.115, cores
        u = service_utilization({"burner": TaskSample(u0, 0)}, {"burner": TaskSample(u1, 0)}, wall_seconds=t1 - t0,
                                cpu_units_per_task=1024 * rt.cpu_scale, memory_mib_per_task=None)
        assert u.cpu_percent is not None and 50 < u.cpu_percent < 115, u
        rt.stop(task, 2)
