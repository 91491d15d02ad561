"""Any size on any machine: the CPU scale beside the time scale, and the capacity plan before load.

The time scale compresses waiting; the CPU scale shrinks the CPU. With a CPU scale K every task's hard
CPU quota is its reservation x K and the metrics agent publishes CPUUtilization = CPU used /
(reservation x K): ECS's formula over the scaled reservation
(https://docs.aws.amazon.com/AmazonECS/latest/developerguide/cloudwatch-metrics.html#service_utilization),
so every threshold, alarm and scaling decision is the template's, unchanged. Thirty tasks of 1 vCPU at
90% become thirty tasks of K vCPU at 90%.

`choose_cpu_scale` (pure) picks the largest K <= 1 for which the whole stack fits in CPU_SHARE of the
CPUs this process may use (`read_host`: sched_getaffinity and the cgroup's CFS limit): every service
at its MaxCapacity (read from the deployed scalable target) at the highest utilization the scenario
drives, plus what the load balancer and Locust spend on the requests that produce that load, plus the
harness and cloud at rest. Those costs are measured by bench/request_cost.py; the constants below
are those figures rounded up, and say so at start.

`plan_phases` (pure) is the capacity plan the scenario runner makes after calibration and before the
first load phase: requests per second, CPU and tasks of every phase, and why a phase cannot be
produced here (cores, Locust's rate, the load balancer's rate). `refuse_unproducible` turns the first
such phase into a CapacityError naming the phase and the numbers.

Memory is not scaled: MaxCapacity x the container's hard `memory` must fit in what is free, else
`check_memory` refuses with the numbers.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.ecs.cgroup import cfs_period_us, cpu_quota_us, own_cpu_limit, parse_mounts, parse_proc_cgroup
from harness.errors import ConfigError

# ECS counts CPU in units: 1024 units are one vCPU.
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html#task_size
UNITS_PER_VCPU = 1024

# The harness's choices (not the template's numbers):
CPU_SHARE = 0.7  # of the usable CPUs `auto` fills at the run's peak; the rest is margin for a noisy machine
MEMORY_SHARE = 0.8  # of the free memory the tasks' hard limits may add up to
MIN_CPU_SCALE = 0.01  # below this a task's quota is too small for its requests to mean anything
# Measured with bench/request_cost.py on the 2-core development machine (figures in the README),
# rounded up: CPU one request costs the load balancer (the harness's proxy) and Locust (FastHttpUser).
# Measured at 200 requests/s: proxy 0.4 ms, Locust 0.48 ms; the harness and cloud at rest 0.17 cores
# with two tasks.
LB_CPU_MS = 0.6
LOCUST_CPU_MS = 0.7
HARNESS_BASE_CORES = 0.2  # the harness's loops and the cloud at rest
PER_TASK_CORES = 0.01  # each task's health checks, metrics sample and idle process
# Locust is one process and the proxy shares the harness's one event loop: neither can use more than
# this much of one core, whatever the machine has.
LOCUST_MAX_CORES = 0.8
LB_MAX_CORES = 0.6
# What a request the load does not aim at CPU (ping, error) costs a task, in CPU ms.
OTHER_REQUEST_TASK_MS = 1.0


class CapacityError(ConfigError):
    """The run cannot be produced on this machine; the message names the numbers."""


# ------------------------------------------------------------------------------------ the host ----
@dataclass(frozen=True)
class Host:
    """What this process may use: CPUs (fractional under a CFS limit) and free memory, with sources."""

    cores: float
    cores_source: str
    memory_free_mib: float | None
    memory_source: str


def usable_cores(affinity: int, cgroup_limit: float | None) -> float:
    """CPUs this process may use: the CPUs it may run on (sched_getaffinity), capped by a CFS limit."""
    if affinity <= 0:
        raise ValueError(f"a process runs on at least one CPU, got {affinity}")
    return float(affinity) if cgroup_limit is None else min(float(affinity), cgroup_limit)


def parse_meminfo(text: str) -> float | None:
    """MemAvailable (MiB) from /proc/meminfo: the kernel's estimate of what can be used without swapping."""
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if key == "MemAvailable":
            return int(rest.split()[0]) / 1024
    return None


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _cgroup_memory_free_mib() -> tuple[float | None, str]:
    """Room left under our own cgroup's memory limit (v1 memory.limit_in_bytes, v2 memory.max)."""
    v1, v2 = parse_mounts(_read(Path("/proc/self/mounts")))
    own = parse_proc_cgroup(_read(Path("/proc/self/cgroup")))
    if "memory" in v1:
        d = v1["memory"] / own.get("memory", "/").lstrip("/")
        limit_file, usage_file = d / "memory.limit_in_bytes", d / "memory.usage_in_bytes"
    elif v2 is not None:
        d = v2 / own.get("", "/").lstrip("/")
        limit_file, usage_file = d / "memory.max", d / "memory.current"
    else:
        return None, ""
    try:
        limit = int(_read(limit_file).split()[0])
        usage = int(_read(usage_file).split()[0])
    except (ValueError, IndexError):
        return None, ""  # "max", or not readable: no limit of its own
    if limit >= 1 << 60:  # v1 writes "no limit" as a huge number
        return None, ""
    return max(0.0, (limit - usage) / (1024 * 1024)), str(limit_file)


def read_host() -> Host:
    """The CPUs and memory this process may use, read from the kernel."""
    affinity = len(os.sched_getaffinity(0))
    limit, where = own_cpu_limit()
    cores = usable_cores(affinity, limit)
    src = f"{affinity} CPU{'s' if affinity != 1 else ''} in this process's affinity"
    if limit is not None and limit < affinity:
        src += f", limited to {limit:g} by {where}"
    mem = parse_meminfo(_read(Path("/proc/meminfo")))
    mem_src = "MemAvailable in /proc/meminfo"
    cg_mem, cg_where = _cgroup_memory_free_mib()
    if cg_mem is not None and (mem is None or cg_mem < mem):
        mem, mem_src = cg_mem, f"room under {cg_where}"
    return Host(cores, src, mem, mem_src if mem is not None else "unknown")


# ----------------------------------------------------------------------------------- the demand ----
@dataclass(frozen=True)
class Demand:
    """One service at its largest: MaxCapacity tasks (from its scalable target) of `cpu_units` each."""

    service: str
    max_tasks: int
    cpu_units: int
    memory_mib: int | None
    max_source: str = "MaxCapacity of its scalable target"


@dataclass(frozen=True)
class Costs:
    """CPU that producing load costs: per request (ms) for the task, the load balancer and Locust."""

    request_cpu_ms: float = 10.0  # a CPU-load request costs a task (the runner measures it)
    lb_cpu_ms: float = LB_CPU_MS
    locust_cpu_ms: float = LOCUST_CPU_MS
    base_cores: float = HARNESS_BASE_CORES
    per_task_cores: float = PER_TASK_CORES
    other_rps: float = 0.0  # requests/s that are not CPU load (ping, errors), at the peak
    other_task_ms: float = OTHER_REQUEST_TASK_MS
    source: str = "estimated"

    def __post_init__(self) -> None:
        for name in ("request_cpu_ms", "lb_cpu_ms", "locust_cpu_ms"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")

    @property
    def per_request_ms(self) -> float:
        """Load balancer + Locust CPU per request."""
        return self.lb_cpu_ms + self.locust_cpu_ms

    def max_rps(self) -> float:
        """The most requests per second Locust and the load balancer can each carry (the smaller)."""
        return min(LOCUST_MAX_CORES * 1000.0 / self.locust_cpu_ms, LB_MAX_CORES * 1000.0 / self.lb_cpu_ms)


@dataclass(frozen=True)
class CpuScale:
    """The chosen K and the arithmetic behind it (all cores are this machine's, vCPU the template's)."""

    k: float
    auto: bool
    demands: tuple[Demand, ...]
    peak_pct: float
    template_vcpu: float  # the stack at MaxCapacity at the peak, in the template's vCPU
    host_cores: float
    host_source: str
    share: float
    need_cores: float  # this machine's cores the peak needs at K (tasks, load balancer, Locust, harness)
    rps: float  # requests/s at the peak at K

    def period_us(self, cpu_units: int) -> int:
        return cfs_period_us(cpu_units * self.k)

    def pause_us(self, cpu_units: int) -> int:
        """The longest throttle pause (wall) of a task that spent its quota at the start of a period."""
        p = self.period_us(cpu_units)
        return max(0, p - cpu_quota_us(cpu_units * self.k, p))

    def line(self) -> str:
        """`cpu scale 0.15: 12 tasks x 1024 units at up to 93% = 11.2 vCPU of template CPU run on 1.7 cores here`."""
        what = " + ".join(f"{d.max_tasks} tasks x {d.cpu_units} units" for d in self.demands) or "no tasks"
        how = "auto" if self.auto else "given"
        return (f"cpu scale {self.k:g} ({how}): {what} at up to {self.peak_pct:.0f}% = {self.template_vcpu:.1f} vCPU "
                f"of template CPU run on {self.need_cores:.1f} cores here (of {self.host_cores:g}: "
                f"{self.host_source})")

    def details(self, time_scale: float) -> str:
        """Quota, CFS period and throttle pause per task, the pause also in template seconds."""
        parts = []
        for d in self.demands:
            units = d.cpu_units * self.k
            p = self.period_us(d.cpu_units)
            pause = self.pause_us(d.cpu_units)
            parts.append(f"{d.service}: quota {cpu_quota_us(units, p) / 1000:g} ms per {p / 1000:g} ms period "
                         f"({units / UNITS_PER_VCPU:.3g} vCPU per task), throttle pause up to {pause / 1000:g} ms "
                         f"= {pause / 1e6 * time_scale:.2g} s of template time")
        return "; ".join(parts)


def _round_down(k: float) -> float:
    """Two significant digits, never up (0.1537 -> 0.15): a K that is readable and still fits."""
    if k >= 1:
        return 1.0
    exp = math.floor(math.log10(k))
    step = 10.0 ** (exp - 1)
    return round(math.floor(k / step + 1e-9) * step, 10)


def template_vcpu(demands: Sequence[Demand], peak_pct: float) -> float:
    """vCPU of the template the stack uses at MaxCapacity at `peak_pct` utilization."""
    return sum(d.max_tasks * d.cpu_units for d in demands) / UNITS_PER_VCPU * peak_pct / 100.0


def need_cores(vcpu: float, k: float, costs: Costs, tasks: int = 0) -> tuple[float, float]:
    """(cores, requests/s) this machine needs to run `vcpu` of template CPU at scale `k`.

    The tasks use vcpu x k cores; that CPU comes in requests of `request_cpu_ms`, each also costing the
    load balancer and Locust `per_request_ms`; the other requests (ping, errors) cost both and the task
    a little; the harness and cloud cost `base_cores` at rest, and each of `tasks` `per_task_cores`."""
    cpu_rps = vcpu * k * 1000.0 / costs.request_cpu_ms
    rps = cpu_rps + costs.other_rps
    cores = (costs.base_cores + tasks * costs.per_task_cores + vcpu * k + rps * costs.per_request_ms / 1000.0
             + costs.other_rps * costs.other_task_ms / 1000.0)
    return cores, rps


def choose_cpu_scale(
    demands: Sequence[Demand],
    peak_pct: float,
    host_cores: float,
    costs: Costs = Costs(),
    *,
    requested: float | None = None,
    share: float = CPU_SHARE,
    host_source: str = "",
) -> CpuScale:
    """The CPU scale of a run: `requested` if given (0 < K <= 1), else the largest K <= 1 (two significant
    digits, rounded down) whose peak fits in `share` x `host_cores` and in Locust's and the load
    balancer's rate. CapacityError when even MIN_CPU_SCALE does not fit, naming the numbers."""
    if not 0 <= peak_pct <= 100:
        raise ValueError(f"the peak utilization is a percentage from 0 to 100, got {peak_pct}")
    if not host_cores > 0:
        raise ValueError(f"the host has no CPU to offer ({host_cores} cores)")
    vcpu = template_vcpu(demands, peak_pct)
    tasks = sum(d.max_tasks for d in demands)

    def scale(k: float, auto: bool) -> CpuScale:
        cores, rps = need_cores(vcpu, k, costs, tasks)
        return CpuScale(k, auto, tuple(demands), peak_pct, vcpu, host_cores, host_source, share, cores, rps)

    if requested is not None:
        if not (math.isfinite(requested) and 0 < requested <= 1):
            raise ConfigError(f"--cpu-scale {requested:g}: give auto or a number in (0, 1]")
        return scale(requested, False)
    budget = share * host_cores
    fixed, fixed_rps = need_cores(vcpu, 0.0, costs, tasks)
    if fixed >= budget or fixed_rps >= costs.max_rps():
        raise CapacityError(
            f"cpu scale: the harness alone needs {fixed:.2f} cores at {fixed_rps:.0f} requests/s here, and "
            f"{share:.0%} of the {host_cores:g} cores this process may use is {budget:.2f}; free some CPU"
        )
    if vcpu <= 0:
        return scale(1.0, True)
    per_k, rps_per_k = need_cores(vcpu, 1.0, costs, tasks)
    by_cores = (budget - fixed) / (per_k - fixed)
    by_rate = (costs.max_rps() - fixed_rps) / (rps_per_k - fixed_rps)
    k = min(1.0, by_cores, by_rate)
    if k < MIN_CPU_SCALE:
        limit = "cores" if by_cores <= by_rate else f"Locust's and the load balancer's rate ({costs.max_rps():.0f}/s)"
        raise CapacityError(
            f"cpu scale: {vcpu:.1f} vCPU of template CPU at {peak_pct:.0f}% would need a scale of {k:.4f} "
            f"(limited by {limit}) to fit in {budget:.2f} of the {host_cores:g} cores here; below "
            f"{MIN_CPU_SCALE:g} a task's quota is too small to measure. Lower MaxCapacity or use a bigger machine."
        )
    return scale(_round_down(k), True)


def check_memory(demands: Sequence[Demand], free_mib: float | None, source: str = "",
                 share: float = MEMORY_SHARE) -> str:
    """Refuse (CapacityError) when MaxCapacity x the container's hard memory limit does not fit in `share`
    of the free memory; otherwise the line to print. Memory is not scaled: a task may use all of its limit."""
    limited = [d for d in demands if d.memory_mib]
    if not limited:
        return "memory     no hard memory limit in the task definition: nothing to reserve"
    need = sum(d.max_tasks * (d.memory_mib or 0) for d in limited)
    what = " + ".join(f"{d.max_tasks} tasks x {d.memory_mib} MiB" for d in limited)
    if free_mib is None:
        return f"memory     {what} = {need} MiB at MaxCapacity (free memory unknown here: not checked)"
    if need > share * free_mib:
        raise CapacityError(
            f"memory: {what} = {need} MiB at MaxCapacity, but {share:.0%} of the {free_mib:.0f} MiB free here "
            f"({source}) is {share * free_mib:.0f} MiB; lower MaxCapacity or the container's Memory, or free memory"
        )
    return f"memory     {what} = {need} MiB at MaxCapacity, of {free_mib:.0f} MiB free ({source})"


# ------------------------------------------------------------------------------- capacity plan ----
@dataclass(frozen=True)
class PhaseLoad:
    """What one phase asks for: a CPU utilization (None: no CPU load) over up to `tasks` tasks, plus
    `other_rps` requests/s that are not CPU load (ping, errors)."""

    name: str
    cpu_pct: float | None
    tasks: int
    cpu_units: int
    other_rps: float = 0.0


@dataclass(frozen=True)
class PhasePlan:
    name: str
    rps: float
    task_cores: float  # this machine's cores the tasks use (template vCPU x K)
    template_vcpu: float
    total_cores: float  # with the load balancer, Locust and the harness
    tasks: int
    problems: tuple[str, ...]

    def line(self) -> str:
        ok = "ok" if not self.problems else "CANNOT BE PRODUCED: " + "; ".join(self.problems)
        return (f"plan       {self.name}: {self.rps:.0f} requests/s, {self.tasks} tasks, {self.template_vcpu:.2f} vCPU "
                f"of template CPU = {self.task_cores:.2f} cores here, {self.total_cores:.2f} with the load: {ok}")


def plan_phases(phases: Sequence[PhaseLoad], *, cpu_scale: float, costs: Costs, host_cores: float) -> list[PhasePlan]:
    """Each phase's requests/s, CPU and tasks at `cpu_scale`, and what stops it being produced here:
    more cores than the machine has, more requests/s than Locust or the load balancer can carry."""
    out: list[PhasePlan] = []
    for ph in phases:
        vcpu = ph.tasks * ph.cpu_units / UNITS_PER_VCPU * (ph.cpu_pct or 0.0) / 100.0
        cores, rps = need_cores(vcpu, cpu_scale, dataclasses.replace(costs, other_rps=ph.other_rps), ph.tasks)
        problems = []
        if cores > host_cores:
            problems.append(f"needs {cores:.2f} cores, this process may use {host_cores:g}")
        locust_max = LOCUST_MAX_CORES * 1000.0 / costs.locust_cpu_ms
        if rps > locust_max:
            problems.append(f"{rps:.0f} requests/s is more than Locust's {locust_max:.0f}/s "
                            f"({costs.locust_cpu_ms:g} ms each on at most {LOCUST_MAX_CORES:g} of a core)")
        lb_max = LB_MAX_CORES * 1000.0 / costs.lb_cpu_ms
        if rps > lb_max:
            problems.append(f"{rps:.0f} requests/s is more than the load balancer's {lb_max:.0f}/s "
                            f"({costs.lb_cpu_ms:g} ms each on at most {LB_MAX_CORES:g} of a core)")
        out.append(PhasePlan(ph.name, rps, vcpu * cpu_scale, vcpu, cores, ph.tasks, tuple(problems)))
    return out


def refuse_unproducible(plans: Sequence[PhasePlan], cpu_scale: float) -> None:
    """CapacityError naming the first phase that cannot be produced here, with its numbers."""
    for p in plans:
        if p.problems:
            raise CapacityError(
                f"phase {p.name} cannot be produced here at cpu scale {cpu_scale:g}: {p.rps:.0f} requests/s, "
                f"{p.tasks} tasks, {p.template_vcpu:.2f} vCPU of template CPU = {p.total_cores:.2f} cores with the "
                f"load: " + "; ".join(p.problems)
            )


def scenario_phases(
    steps: Sequence[Any],
    *,
    tasks: int,
    cpu_units: int,
    target: Callable[[Mapping[str, Any]], float],
    rates: Mapping[str, float],
) -> list[PhaseLoad]:
    """PhaseLoads of a scenario's steps. A CPU load follows the running tasks, which may reach `tasks`
    (MaxCapacity): its peak is there. `target(spec)` is the utilization a CPU spec aims at (percent);
    `rates` are requests/s per user of "ping" and "errors"."""
    out = []
    for s in steps:
        load = s.load or {}
        other = sum(float(load.get(kind, 0)) * rate for kind, rate in rates.items())
        pct = target(load["cpu"]) if load.get("cpu") else None
        out.append(PhaseLoad(s.phase, pct, tasks, cpu_units, other))
    return out


def peak_of(phases: Sequence[PhaseLoad]) -> tuple[float, float]:
    """The highest CPU utilization (percent) and the highest other requests/s of a scenario's phases."""
    return (max((p.cpu_pct or 0.0 for p in phases), default=0.0), max((p.other_rps for p in phases), default=0.0))


def scenario_peak(scenario: Any) -> Callable[[Any], tuple[float, float]]:
    """For Options.peak: the highest CPU utilization a scenario drives and its most other requests/s,
    read against the deployed stack (a scenario's targets are relative to the stack's alarm thresholds)."""

    def peak(model: Any) -> tuple[float, float]:
        from harness.scenarios import runner
        from harness.scenarios.roles import plan_roles, resolve

        try:
            roles = resolve(model)
        except ConfigError:  # no service / scalable target: the run stops before any load, its report says why
            return 0.0, 0.0
        # Phases the stack cannot have are not run; a scenario that lacks a role stops before any load
        # (ScenarioRunner says so and writes the report), so neither counts towards the peak.
        plan = plan_roles(roles, scenario.steps, scenario.expect)
        steps = [] if plan.stop else [s for s in scenario.steps if s.phase not in plan.skip_phases]
        phases = scenario_phases(steps, tasks=roles.max_capacity, cpu_units=UNITS_PER_VCPU,
                                 target=lambda spec: runner.target_utilization(dict(spec), roles),
                                 rates={"ping": runner.PING_RATE, "errors": runner.ERROR_RATE})
        return peak_of(phases)

    return peak


def parse_cpu_scale(value: str) -> float | None:
    """`--cpu-scale auto|K`: None for auto, else K in (0, 1]; ConfigError naming the value otherwise."""
    if value.strip().lower() == "auto":
        return None
    try:
        k = float(value)
    except ValueError:
        k = math.nan
    if not (math.isfinite(k) and 0 < k <= 1):
        raise ConfigError(f"--cpu-scale {value!r}: give auto or a number K with 0 < K <= 1 (each task gets its "
                          f"reservation x K of CPU)")
    return k
