"""The model's rules from tables: capacity, start-up and health, queueing, utilization, cost.

Start-up and health: https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html
Idle timeout (the queue bound): https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html#connection-idle-timeout
CPUUtilization: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/cloudwatch-metrics.html#service_utilization
"""

from __future__ import annotations

import pytest

from harness.model import rules


@pytest.mark.parametrize(
    ("units", "cost_ms", "rps"),
    [(1024, 10, 100.0), (256, 10, 25.0), (512, 4, 125.0), (256, 11, 256 / 1024 / 0.011)],
)
def test_capacity(units: int, cost_ms: float, rps: float) -> None:
    assert rules.task_capacity_rps(units, cost_ms) == pytest.approx(rps)


@pytest.mark.parametrize(
    ("started", "startup", "threshold", "interval", "running", "healthy"),
    [
        (0.0, 10.0, 2, 15.0, 10.0, 40.0),  # the repo's ecs.yml: 2 checks of 15 s
        (100.0, 0.0, 5, 30.0, 100.0, 250.0),  # ALB defaults: 5 checks of 30 s
        (60.0, 30.0, 3, 10.0, 90.0, 120.0),
    ],
)
def test_start_up(started: float, startup: float, threshold: int, interval: float, running: float,
                  healthy: float) -> None:
    s = rules.start_up(started, startup, threshold, interval)
    assert (s.started, s.running, s.healthy) == (started, running, healthy)


def test_checks_to_healthy_follows_the_live_health_rule() -> None:
    assert [rules.checks_to_healthy(n) for n in (1, 2, 5, 10)] == [1, 2, 5, 10]


# (rps, seconds, backlog, tasks, capacity/task) -> (served, queued, 504, 503)
QUEUE = [
    (10.0, 60.0, 0.0, 2, 25.0, 600.0, 0.0, 0.0, 0.0),  # under capacity: all served
    (50.0, 60.0, 0.0, 2, 25.0, 3000.0, 0.0, 0.0, 0.0),  # exactly at capacity
    (60.0, 60.0, 0.0, 2, 25.0, 3000.0, 600.0, 0.0, 0.0),  # 600 over: all wait (bound 50/s x 60 s = 3000)
    (200.0, 60.0, 0.0, 2, 25.0, 3000.0, 3000.0, 6000.0, 0.0),  # far over: the queue is full, the rest 504
    (10.0, 60.0, 600.0, 2, 25.0, 1200.0, 0.0, 0.0, 0.0),  # a backlog drains when load falls
    (5.0, 60.0, 100.0, 0, 25.0, 0.0, 0.0, 0.0, 400.0),  # no routable task: everything (backlog too) is 503
    (10.0, 30.0, 0.0, 1, 5.0, 150.0, 150.0, 0.0, 0.0),  # a half-minute stretch
]


@pytest.mark.parametrize(("rps", "seconds", "backlog", "tasks", "cap", "served", "queued", "e504", "e503"), QUEUE)
def test_queueing_rule(rps: float, seconds: float, backlog: float, tasks: int, cap: float, served: float,
                       queued: float, e504: float, e503: float) -> None:
    s = rules.serve(rps, seconds, backlog, tasks, cap, 10.0, queue_timeout=60.0)
    assert (s.served, s.queued, s.elb_504, s.elb_503) == pytest.approx((served, queued, e504, e503))
    assert s.arrived == pytest.approx(rps * seconds)
    assert s.cpu_seconds == pytest.approx(served * 0.010)
    # Nothing is lost: every request is served, waiting or failed.
    assert s.served + s.queued + s.elb_504 + s.elb_503 == pytest.approx(backlog + s.arrived)


def test_target_errors_and_a_shorter_timeout() -> None:
    s = rules.serve(60.0, 60.0, 0.0, 2, 25.0, 10.0, queue_timeout=5.0, target_error_rate=0.1)
    assert (s.queued, s.elb_504, s.target_5xx) == pytest.approx((250.0, 350.0, 300.0))


@pytest.mark.parametrize(
    ("cpu_seconds", "task_seconds", "units", "pct"),
    [(15.0, 60.0, 1024, 25.0), (15.0, 120.0, 256, 50.0), (0.0, 60.0, 256, 0.0), (1.0, 0.0, 256, None)],
)
def test_utilization(cpu_seconds: float, task_seconds: float, units: int, pct: float | None) -> None:
    assert rules.utilization(cpu_seconds, task_seconds, units) == (pytest.approx(pct) if pct is not None else None)


@pytest.mark.parametrize(("healthy", "registered", "routable"), [(2, 3, 2), (0, 3, 3), (0, 0, 0)])
def test_fail_open(healthy: int, registered: int, routable: int) -> None:
    assert rules.routable(healthy, registered) == routable


def test_cost_at_fargate_prices() -> None:
    # One 1 vCPU / 2 GB task for an hour: 0.04048 + 2 x 0.004445.
    assert rules.cost(3600.0, 1024, 2048, rules.FARGATE_VCPU_HOUR, rules.FARGATE_GB_HOUR) == pytest.approx(0.04937)


def test_bad_rule_inputs() -> None:
    with pytest.raises(ValueError):
        rules.task_capacity_rps(0, 10)
    with pytest.raises(ValueError):
        rules.task_capacity_rps(256, 0)
    with pytest.raises(ValueError):
        rules.start_up(0, -1, 2, 15)


# Memory (the model's assumption, README "Model mode"): MemoryUtilization = memory used x 100 / (memory
# reserved per task x tasks), cloudwatch-metrics.html#service_utilization; memory used = baseline + MiB per
# request in the task at once, requests at once by Little's law (served rate x service time, plus the queue).
@pytest.mark.parametrize(
    ("served", "task_seconds", "cost_ms", "units", "queued", "running", "in_flight"),
    [
        (1500.0, 120.0, 10.0, 256, 0.0, 2, 0.5),  # 12.5 requests/s a task x 40 ms at 0.25 vCPU
        (6000.0, 240.0, 10.0, 256, 0.0, 4, 1.0),  # 25 requests/s a task: a task at its quota holds one
        (3000.0, 120.0, 10.0, 256, 30.0, 2, 1.0 + 15.0),  # at capacity, 30 queued over 2 tasks
        (600.0, 60.0, 4.0, 1024, 0.0, 1, 0.04),  # 10 requests/s x 4 ms at 1 vCPU
        (0.0, 0.0, 10.0, 256, 5.0, 0, 0.0),  # no task ran
    ],
)
def test_in_flight_by_littles_law(served: float, task_seconds: float, cost_ms: float, units: int, queued: float,
                                  running: int, in_flight: float) -> None:
    assert rules.in_flight(served, task_seconds, cost_ms, units, queued, running) == pytest.approx(in_flight)


@pytest.mark.parametrize(
    ("baseline", "per_request", "in_flight", "reserved", "pct"),
    [
        (64.0, 0.0, 3.0, 128, 50.0),  # a baseline only: constant
        (64.0, 64.0, 0.5, 128, 75.0),
        (100.0, 10.0, 2.8, 512, 25.0),
        (64.0, 64.0, 0.5, 0, None),  # no memory reserved: no MemoryUtilization (as the live agent)
    ],
)
def test_memory_utilization(baseline: float, per_request: float, in_flight: float, reserved: int,
                            pct: float | None) -> None:
    got = rules.memory_utilization(baseline, per_request, in_flight, reserved)
    assert got == (None if pct is None else pytest.approx(pct))


def test_memory_rules_refuse_negatives() -> None:
    with pytest.raises(ValueError):
        rules.memory_utilization(-1.0, 0.0, 0.0, 128)
    with pytest.raises(ValueError):
        rules.in_flight(-1.0, 60.0, 10.0, 256, 0.0, 1)
