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
