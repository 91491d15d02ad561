"""A scenario that needs a role the stack lacks, or a service no URL reaches, stops before any load with
one failed verdict, and its report is still built. The stack is a real deployment (the shared-ALB
family: service, VPC, cluster with the load balancer, alert topic); the harness around it is the part
the runner reads (`model`, `clock`, `timeline`, `proxies`), with no load balancer started."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from harness import scenarios
from harness.cloud.clients import Aws
from harness.clock import ManualClock
from harness.deploy import Deployment
from harness.events import Timeline
from harness.scenarios.runner import ScenarioRunner, build_report
from harness.stack import StackModel
from tests.shared_alb import shared_alb_stacks


@pytest.fixture(scope="module")
def shared_alb(aws: Aws, ecs_deployment: Deployment) -> Iterator[StackModel]:
    with shared_alb_stacks(aws) as (_, model):
        yield model


def _harness(model: StackModel) -> Any:
    return SimpleNamespace(model=model, clock=ManualClock(), timeline=Timeline(), proxies=[], t0=0.0,
                           options=SimpleNamespace(template=Path("service.yml")), cloud=None, schedulers=[],
                           cpu_scale=1.0, calibration=None)


def test_a_missing_role_stops_at_once_and_lists_the_roles_the_stack_has(shared_alb: StackModel,
                                                                        tmp_path: Path) -> None:
    h = _harness(shared_alb)
    runner = ScenarioRunner(h, scenarios.load("full-story"), tmp_path)  # needs elb_5xx, which this stack lacks
    said: list[str] = []
    result = asyncio.run(runner.run(say=said.append))
    (verdict,) = result.verdicts
    assert not verdict["passed"] and not result.passed
    assert "elb_5xx (needed by phase no-healthy-target, expect email: elb_5xx)" in verdict["observed"]
    assert verdict["observed"].endswith("Roles the stack has: scale_out, scale_in, cpu_alert, target_5xx")
    assert said[0].startswith("stopped ") and runner.locust is None  # no load was ever started
    report = build_report(h, result, 0.1)
    assert report["passed"] is False and report["verdicts"] == result.verdicts


def test_a_service_no_url_reaches_stops_before_load(shared_alb: StackModel, tmp_path: Path) -> None:
    runner = ScenarioRunner(_harness(shared_alb), scenarios.load("scale-out"), tmp_path)
    result = asyncio.run(runner.run(say=lambda line: None))
    (verdict,) = result.verdicts
    assert "no listener of any load balancer in the deployed stacks forwards to target group" in verdict["observed"]
    assert runner.locust is None
