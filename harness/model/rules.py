"""The model's own rules, as pure functions: what a task can serve, when a new task serves, and what
happens to requests above the serving capacity.

Live runs measure these; the model must compute them, so each rule is written down here (and in the
README's "Model mode" and every model report's assumptions box), tested from tables in
tests/model/test_rules.py, and parameterised where AWS leaves the number to the service.

- Capacity: a task serves at most `reserved vCPU / CPU seconds per request` requests per second. ECS
  service CPUUtilization is CPU used x 100 / (CPU reserved per task x running tasks)
  (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/cloudwatch-metrics.html#service_utilization);
  the harness enforces the reservation as a hard quota in live runs, so 100 % is the ceiling.
- Start-up: a started task listens after `startup` seconds; the ALB routes to it once it passed
  HealthyThresholdCount consecutive health checks, one every HealthCheckIntervalSeconds
  (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html).
- Draining: a deregistered target gets no new requests and stops after the deregistration delay
  (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-target-groups.html#deregistration-delay).
- Overload: requests above capacity wait in a queue for at most the load balancer's idle timeout
  (60 s by default: https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html#connection-idle-timeout);
  what cannot be served within it fails as ELB 504 (HTTPCode_ELB_5XX_Count). With no routable target,
  every request fails as ELB 503. When every registered target is unhealthy (or still in its initial
  checks) the ALB fails open and routes to all of them (target-group-health-checks.html).
  Targets answer a fraction `target_error_rate` of what they serve with a 5XX (HTTPCode_Target_5XX_Count).
- Memory: AWS computes service MemoryUtilization as memory used x 100 / (memory reserved per task x running
  tasks) (cloudwatch-metrics.html#service_utilization, as for CPU). The model needs an assumption for
  "memory used": a task holds a baseline (`memory_baseline_mib`: given, or measured by `harness calibrate`
  from the trial task's cgroup) plus `memory_per_request_mib` for each request in it at once. Requests in a
  task at once, on average, by Little's law (in the system = arrival rate x time in it): the requests it
  serves per second x the service time at its reservation (CPU per request / reserved vCPU), plus the
  requests queued for it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from harness.elb.health import PROBE_OK, next_health
from harness.elb.targets import TargetState

CPU_UNITS_PER_VCPU = 1024.0  # ECS: 1024 CPU units are one vCPU (task_definition_parameters.html#task_size)


def task_capacity_rps(cpu_units: float, cost_ms: float) -> float:
    """Requests per second one task can serve: its reserved vCPU over the CPU seconds one request costs."""
    if cpu_units <= 0:
        raise ValueError(f"a task's CPU reservation must be > 0 units, got {cpu_units}")
    if not (math.isfinite(cost_ms) and cost_ms > 0):
        raise ValueError(f"the CPU cost of a request must be > 0 ms, got {cost_ms}")
    return (cpu_units / CPU_UNITS_PER_VCPU) / (cost_ms / 1000.0)


def checks_to_healthy(healthy_threshold: int) -> int:
    """How many passing health checks take a new target from `initial` to `healthy` (by the live rule)."""
    state, successes, failures, checks = TargetState.INITIAL, 0, 0, 0
    while state is not TargetState.HEALTHY:
        h = next_health(state, successes, failures, PROBE_OK, healthy_threshold, 1)
        state, successes, failures, checks = h.state, h.successes, h.failures, checks + 1
        if checks > 10_000:
            raise ValueError(f"healthy threshold {healthy_threshold} is never reached")
    return checks


@dataclass(frozen=True)
class StartUp:
    """Template times of a task started at `started`: it listens (RUNNING, registered) then serves (healthy)."""

    started: float
    running: float
    healthy: float


def start_up(started: float, startup_seconds: float, healthy_threshold: int, interval: float) -> StartUp:
    """A task serves `startup_seconds` after it starts plus HealthyThresholdCount x HealthCheckIntervalSeconds."""
    if startup_seconds < 0:
        raise ValueError(f"start-up time must be >= 0 s, got {startup_seconds}")
    running = started + startup_seconds
    return StartUp(started, running, running + checks_to_healthy(healthy_threshold) * interval)


@dataclass(frozen=True)
class Served:
    """What happened to the requests of one stretch of time (counts of requests, not rates)."""

    arrived: float
    served: float
    queued: float  # waiting at the end of the stretch (carried into the next)
    elb_504: float  # waited longer than the idle timeout
    elb_503: float  # no target to route to
    target_5xx: float
    cpu_seconds: float  # CPU the served requests used


def serve(
    rps: float,
    seconds: float,
    backlog: float,
    routable_tasks: int,
    capacity_per_task: float,
    cost_ms: float,
    *,
    queue_timeout: float = 60.0,
    target_error_rate: float = 0.0,
) -> Served:
    """The queueing rule for `seconds` of `rps` offered requests (plus `backlog` waiting) on `routable_tasks`.

    Served first come, first served up to capacity; what is left waits, at most what the tasks can serve
    within `queue_timeout` (the idle timeout); the rest fails as ELB 504. No routable task: all fail as 503.
    """
    if rps < 0 or seconds < 0 or backlog < 0 or routable_tasks < 0:
        raise ValueError("rates, durations, backlog and task counts must be >= 0")
    arrived = rps * seconds
    pending = backlog + arrived
    if routable_tasks == 0:
        return Served(arrived, 0.0, 0.0, 0.0, pending, 0.0, 0.0)
    rate = routable_tasks * capacity_per_task
    served = min(pending, rate * seconds)
    left = pending - served
    queued = min(left, rate * queue_timeout)
    return Served(
        arrived=arrived,
        served=served,
        queued=queued,
        elb_504=left - queued,
        elb_503=0.0,
        target_5xx=served * target_error_rate,
        cpu_seconds=served * cost_ms / 1000.0,
    )


def utilization(cpu_seconds: float, task_seconds: float, cpu_units: float) -> float | None:
    """Service CPUUtilization in percent: CPU used over CPU reserved by the running tasks (None: no task ran)."""
    if task_seconds <= 0:
        return None
    return 100.0 * cpu_seconds / (task_seconds * cpu_units / CPU_UNITS_PER_VCPU)


def in_flight(served: float, running_seconds: float, cost_ms: float, cpu_units: float, queued: float,
              running: int) -> float:
    """Requests in one task at once, on average, over a stretch (Little's law): `served` requests over
    `running_seconds` task-seconds, each held for its service time at the reservation (cost / reserved vCPU),
    plus `queued` requests waiting, shared by the `running` tasks. 0 when no task ran."""
    if served < 0 or running_seconds < 0 or queued < 0 or running < 0:
        raise ValueError("request counts, task-seconds and task counts must be >= 0")
    if running_seconds <= 0 or running == 0:
        return 0.0
    service_s = (cost_ms / 1000.0) / (cpu_units / CPU_UNITS_PER_VCPU)
    return served / running_seconds * service_s + queued / running


def memory_utilization(baseline_mib: float, per_request_mib: float, in_flight_requests: float,
                       memory_mib: float) -> float | None:
    """Service MemoryUtilization in percent: a task's baseline plus its in-flight requests' memory, over the
    memory it reserves (every task alike, so the service average is one task's). None: no reservation."""
    if baseline_mib < 0 or per_request_mib < 0 or in_flight_requests < 0:
        raise ValueError("memory figures and in-flight requests must be >= 0")
    if memory_mib <= 0:
        return None
    return 100.0 * (baseline_mib + per_request_mib * in_flight_requests) / memory_mib


def routable(healthy: int, registered: int) -> int:
    """Targets the ALB routes to: the healthy ones, or all registered ones when none is healthy (fail open)."""
    return healthy if healthy > 0 else registered


# Fargate Linux/x86 on-demand list prices, us-east-1 (https://aws.amazon.com/fargate/pricing/).
FARGATE_VCPU_HOUR = 0.04048
FARGATE_GB_HOUR = 0.004445


def cost(task_seconds: float, cpu_units: float, memory_mib: float, vcpu_hour: float, gb_hour: float) -> float:
    """Dollars for `task_seconds` of tasks of this size at the given per-hour prices."""
    hours = task_seconds / 3600.0
    return hours * (cpu_units / CPU_UNITS_PER_VCPU * vcpu_hour + memory_mib / 1024.0 * gb_hour)
