"""harness.capacity: the CPU scale K, the host's CPUs and memory, and the capacity plan, from tables.

ECS's CPUUtilization is CPU used / (reserved CPU x tasks)
(https://docs.aws.amazon.com/AmazonECS/latest/developerguide/cloudwatch-metrics.html#service_utilization):
over the scaled reservation (units x K) it keeps every threshold. The CFS quota is at least 1 ms
(https://docs.kernel.org/scheduler/sched-bwc.html), hence the longer period for small shares.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.capacity import (
    CPU_SHARE,
    CapacityError,
    Costs,
    Demand,
    PhaseLoad,
    check_memory,
    choose_cpu_scale,
    need_cores,
    parse_cpu_scale,
    parse_meminfo,
    peak_of,
    plan_phases,
    refuse_unproducible,
    scenario_phases,
    usable_cores,
)
from harness.ecs.cgroup import (
    MIN_QUOTA_US,
    cfs_period_us,
    cpu_quota_us,
    own_cpu_limit,
    parse_cpu_limit,
    throttle_pause_us,
)
from harness.errors import ConfigError


def svc(n: int, units: int, mem: int | None = 128) -> list[Demand]:
    return [Demand("s", n, units, mem)]


# Default costs: a CPU request 10 ms, load balancer 0.6 ms + Locust 0.7 ms per request, 0.2 cores at rest,
# 0.01 per task; 2 cores x 70% = 1.4 cores of budget.
@pytest.mark.parametrize("demands, peak, host, costs, requested, k", [
    (svc(4, 256), 93.0, 2.0, Costs(), None, 1.0),  # the shipped stack fits as it is
    (svc(5, 512), 93.0, 2.0, Costs(), None, 0.43),  # (1.4 - 0.25) / (2.325 x 1.13) = 0.4377
    (svc(12, 1024), 93.0, 2.0, Costs(), None, 0.085),  # 1.08 / (11.16 x 1.13) = 0.0856
    (svc(30, 1024), 93.0, 2.0, Costs(), None, 0.028),  # 0.9 / (27.9 x 1.13) = 0.0285
    (svc(12, 1024), 93.0, 0.5, Costs(), None, None),  # a 0.5-CPU cgroup: too small for 12 vCPU (K < 0.01)
    (svc(4, 256), 93.0, 0.5, Costs(), None, 0.1),  # (0.35 - 0.24) / 1.0509 = 0.1047
    (svc(4, 256), 93.0, 64.0, Costs(request_cpu_ms=0.5), None, 0.53),  # Locust/LB rate: 1000 / 1860 req/s
    (svc(12, 1024), 0.0, 2.0, Costs(), None, 1.0),  # no CPU load at all
    (svc(12, 1024), 93.0, 2.0, Costs(), 0.5, 0.5),  # given: used as it is (the plan judges it)
    (svc(100, 4096), 100.0, 2.0, Costs(), None, None),  # the harness alone (1.2 cores) leaves nothing
])
def test_choose_cpu_scale(demands: list[Demand], peak: float, host: float, costs: Costs, requested: float | None,
                          k: float | None) -> None:
    if k is None:
        with pytest.raises(CapacityError) as err:
            choose_cpu_scale(demands, peak, host, costs, requested=requested)
        assert f"{host:g}" in str(err.value)  # names the cores it had
        return
    got = choose_cpu_scale(demands, peak, host, costs, requested=requested)
    assert got.k == pytest.approx(k)
    assert got.auto is (requested is None)
    if requested is None:  # what auto chose fits in its share, and the next step up would not
        assert got.need_cores <= CPU_SHARE * host + 1e-9
        assert got.rps <= costs.max_rps() + 1e-9
        if got.k < 1:
            up = need_cores(got.template_vcpu, got.k * 1.1, costs, sum(d.max_tasks for d in demands))
            assert up[0] > CPU_SHARE * host or up[1] > costs.max_rps()


def test_the_start_line_says_what_runs_where() -> None:
    got = choose_cpu_scale(svc(12, 1024), 93.0, 2.0, host_source="2 CPUs in this process's affinity")
    line = got.line()
    assert line.startswith("cpu scale 0.085 (auto): 12 tasks x 1024 units at up to 93% = 11.2 vCPU of template CPU")
    assert "cores here" in line and "2 CPUs" in line
    # 0.085 vCPU: a 2 ms quota needs a 23.5 ms period; its pause is 0.65 s at 30x
    assert "quota 2 ms per 23.53 ms period" in got.details(30.0)


@pytest.mark.parametrize("value, k", [("auto", None), ("AUTO", None), ("0.15", 0.15), ("1", 1.0), ("0", "err"),
                                      ("1.5", "err"), ("-0.1", "err"), ("x", "err"), ("nan", "err")])
def test_parse_cpu_scale(value: str, k: object) -> None:
    if k == "err":
        with pytest.raises(ConfigError, match="--cpu-scale"):
            parse_cpu_scale(value)
    else:
        assert parse_cpu_scale(value) == k


# -- the CFS arithmetic at small shares ---------------------------------------------------------------
@pytest.mark.parametrize("units, period, quota", [
    (1024, 10_000, 10_000),  # a whole vCPU on the harness's 10 ms period
    (256, 10_000, 2_500),
    (204.8, 10_000, 2_000),  # exactly the accurate floor
    (102.4, 20_000, 2_000),  # 0.1 vCPU: 2 ms of every 20 ms, not the kernel's 1 ms floor on 10 ms (0.1 ok) ...
    (51.2, 40_000, 2_000),  # ... 0.05 vCPU: 1 ms floor on 10 ms would be 0.1 vCPU: twice too much
    (10.24, 200_000, 2_000),
    (1, 1_000_000, MIN_QUOTA_US),  # the kernel's longest period, its shortest quota
])
def test_period_keeps_small_quotas_accurate(units: float, period: int, quota: int) -> None:
    assert cfs_period_us(units) == period
    assert cpu_quota_us(units, period) == quota
    if units >= 10:
        assert quota / period == pytest.approx(units / 1024, rel=0.01)  # the share is the share asked for
    assert throttle_pause_us(units) == period - quota


@pytest.mark.parametrize("text, version, period, cpus", [
    ("max 100000", 2, "", None), ("150000 100000", 2, "", 1.5), ("", 2, "", None),
    ("-1", 1, "100000", None), ("50000", 1, "100000", 0.5), ("garbage", 1, "100000", None),
])
def test_parse_cpu_limit(text: str, version: int, period: str, cpus: float | None) -> None:
    assert parse_cpu_limit(text, version=version, period_text=period) == cpus


def test_own_cpu_limit_is_the_tightest_of_the_cgroup_and_its_ancestors(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "cpu.max").write_text("max 100000\n")
    (tmp_path / "a" / "cpu.max").write_text("150000 100000\n")
    (tmp_path / "a" / "b" / "cpu.max").write_text("max 100000\n")
    mounts = f"cgroup2 {tmp_path} cgroup2 rw,nosuid 0 0\n"
    assert own_cpu_limit(mounts, "0::/a/b\n") == (1.5, str(tmp_path / "a" / "cpu.max"))
    v1 = tmp_path / "v1"
    (v1 / "x").mkdir(parents=True)
    (v1 / "x" / "cpu.cfs_quota_us").write_text("-1\n")
    (v1 / "x" / "cpu.cfs_period_us").write_text("100000\n")
    (v1 / "cpu.cfs_quota_us").write_text("80000\n")
    (v1 / "cpu.cfs_period_us").write_text("100000\n")
    assert own_cpu_limit(f"cgroup {v1} cgroup rw,cpu,cpuacct 0 0\n", "4:cpu,cpuacct:/x\n")[0] == 0.8
    assert own_cpu_limit("proc /proc proc rw 0 0\n", "") == (None, "")


@pytest.mark.parametrize("affinity, limit, cores", [(2, None, 2.0), (2, 1.5, 1.5), (4, 8.0, 4.0), (1, 0.25, 0.25)])
def test_usable_cores(affinity: int, limit: float | None, cores: float) -> None:
    assert usable_cores(affinity, limit) == cores


def test_parse_meminfo() -> None:
    assert parse_meminfo("MemTotal: 24683644 kB\nMemFree: 1 kB\nMemAvailable:   2048000 kB\n") == 2000.0
    assert parse_meminfo("MemTotal: 1 kB\n") is None


# -- memory ---------------------------------------------------------------------------------------------
def test_memory_that_fits_is_stated() -> None:
    assert "12 tasks x 128 MiB = 1536 MiB at MaxCapacity, of 23000 MiB free" in check_memory(svc(12, 1024), 23000, "x")


def test_memory_that_does_not_fit_is_refused_with_the_numbers() -> None:
    with pytest.raises(CapacityError) as err:
        check_memory(svc(30, 1024, 2048), 23000.0, "MemAvailable in /proc/meminfo")
    msg = str(err.value)
    assert "30 tasks x 2048 MiB = 61440 MiB at MaxCapacity" in msg and "23000 MiB free" in msg and "MemAvailable" in msg


def test_memory_without_a_limit_or_a_reading() -> None:
    assert "no hard memory limit" in check_memory(svc(3, 256, None), 100.0)
    assert "not checked" in check_memory(svc(3, 256), None)


# -- the capacity plan -------------------------------------------------------------------------------------
def phases(pct_high: float = 85.0, pct_alert: float = 93.0, tasks: int = 12, units: int = 1024) -> list[PhaseLoad]:
    return [PhaseLoad("serving", None, tasks, units, 2.0), PhaseLoad("cpu-high", pct_high, tasks, units, 2.0),
            PhaseLoad("cpu-alert", pct_alert, tasks, units, 2.0), PhaseLoad("errors", None, tasks, units, 6.0)]


@pytest.mark.parametrize("k, costs, host, refused, why", [
    (0.085, Costs(), 2.0, None, ""),  # what auto chooses for 12 x 1024 fits
    (1.0, Costs(), 2.0, "cpu-high", "needs 11."),  # unscaled: 10.4 vCPU of template CPU on 2 cores
    (0.085, Costs(request_cpu_ms=0.2), 64.0, "cpu-high", "Locust's"),  # cheap requests: too many of them
    (0.085, Costs(request_cpu_ms=0.2, locust_cpu_ms=0.1), 64.0, "cpu-high", "load balancer's"),
])
def test_plan_names_the_first_phase_that_cannot_be_produced(k: float, costs: Costs, host: float, refused: str | None,
                                                            why: str) -> None:
    plans = plan_phases(phases(), cpu_scale=k, costs=costs, host_cores=host)
    assert [p.name for p in plans] == ["serving", "cpu-high", "cpu-alert", "errors"]
    assert plans[0].task_cores == 0 and plans[0].rps == pytest.approx(2.0)
    # cpu-high: 12 x 1 vCPU x 85% = 10.2 vCPU of template CPU, x K on this machine
    assert plans[1].template_vcpu == pytest.approx(10.2) and plans[1].task_cores == pytest.approx(10.2 * k)
    assert plans[1].rps == pytest.approx(10.2 * k * 1000 / costs.request_cpu_ms + 2.0)
    if refused is None:
        refuse_unproducible(plans, k)
        assert all(not p.problems for p in plans)
        return
    with pytest.raises(CapacityError) as err:
        refuse_unproducible(plans, k)
    msg = str(err.value)
    assert msg.startswith(f"phase {refused} cannot be produced here at cpu scale {k:g}") and why in msg, msg
    assert "requests/s" in msg and "12 tasks" in msg


def test_scenario_phases_and_peak() -> None:
    steps = [SimpleNamespace(phase="serving", load={"ping": 1}),
             SimpleNamespace(phase="cpu-high", load={"ping": 1, "cpu": {"above": "scale_out", "by": 15}}),
             SimpleNamespace(phase="errors", load={"ping": 1, "errors": 2})]
    got = scenario_phases(steps, tasks=5, cpu_units=512, target=lambda spec: 70.0 + spec["by"],
                          rates={"ping": 2.0, "errors": 2.0})
    assert got == [PhaseLoad("serving", None, 5, 512, 2.0), PhaseLoad("cpu-high", 85.0, 5, 512, 2.0),
                   PhaseLoad("errors", None, 5, 512, 6.0)]
    assert peak_of(got) == (85.0, 6.0)
