"""Deploy and serve, live: a service behind a ListenerRule on its cluster's shared load balancer (alert
topic in a parent stack), and the CDK app's Fargate stacks (awsvpc tasks behind an `ip` target group).

Each runs the real harness (embedded cloud, real tasks, real load balancer) through the harness_stack
fixture, so these are slow tests: run them under the timing lock."""

from __future__ import annotations

import logging
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from harness.elb.entry import entry_url
from harness.pytest_plugin import StackHandle
from harness.scenarios.roles import resolve

DATA = Path(__file__).parent / "data"
SHARED = DATA / "shared-alb"
CDK = DATA / "cdk"


def _url(stack: StackHandle) -> tuple[str, str]:
    svc = stack.model.services[0]
    tg = svc.load_balancers[0].target_group_arn
    return entry_url(tg, zip(stack.model.load_balancers, stack.harness.proxies), stack.model.target_groups[tg].name)


def _get(url: str) -> tuple[int, bytes, dict[str, str]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read(), {k.lower(): v for k, v in r.getheaders()}
    except urllib.error.HTTPError as err:
        return err.code, err.read(), {k.lower(): v for k, v in err.headers.items()}


def _targets(stack: StackHandle) -> list[tuple[str, int, str]]:
    elbv2 = stack.aws.client("elbv2")
    tg = stack.model.services[0].load_balancers[0].target_group_arn
    return sorted((h["Target"]["Id"], h["Target"]["Port"], h["TargetHealth"]["State"])
                  for h in elbv2.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"])


@pytest.mark.slow
@pytest.mark.harness_stack(template=str(SHARED / "service.yml"), parents={
    "ParentClusterStack": str(SHARED / "cluster.yml"), "ParentAlertStack": str(SHARED / "alert.yml")})
def test_a_service_behind_a_listener_rule_on_the_shared_load_balancer_is_served(harness_stack: StackHandle) -> None:
    model = harness_stack.model
    assert len(model.stacks) == 4  # the service stack, the VPC, the cluster, the alert topic
    (lb,) = model.load_balancers  # the cluster stack's
    (listener,) = lb.listeners
    assert listener.target_group_arn is None  # its default action is a fixed response
    url, how = _url(harness_stack)
    assert "rule priority 10 (path-pattern /*)" in how
    status, body, headers = _get(url + "/5")
    assert (status, body) == (200, b"120")
    # A bridge-mode task is an instance target, at its own host port.
    targets = _targets(harness_stack)
    assert len(targets) == 2 and all(t[0].startswith("i-") for t in targets)
    roles = resolve(model)
    assert roles.emails == ("ops@example.com",) and "cpu_alert" in roles.alarms  # topic of the alert parent
    assert harness_stack.harness.schedulers[0].network == "bridge (instance targets)"


@pytest.mark.slow
@pytest.mark.harness_stack(template=str(CDK / "CdkStepStack.template.json"))
def test_the_cdk_fargate_stack_serves_with_ip_targets_and_none_after_its_tasks_stop(
        caplog: pytest.LogCaptureFixture, harness_stack: StackHandle) -> None:
    svc = harness_stack.model.services[0]
    td = svc.task_definition
    assert (svc.launch_type, td.network_mode, td.requires_compatibilities, td.cpu, td.memory) == (
        "FARGATE", "awsvpc", ("FARGATE",), 256, 512)
    sched = harness_stack.harness.schedulers[0]
    assert sched.network == "awsvpc (ip targets)" and (sched.cpu_units, sched.memory_mib) == (256, 512)
    url, _ = _url(harness_stack)
    assert _get(url + "/5")[:2] == (200, b"120")
    running = sorted(t.port for t in sched.snapshot().tasks if t.state == "RUNNING")
    assert [(i, p) for i, p, _ in _targets(harness_stack)] == [("127.0.0.1", p) for p in running]
    # Stop every task: each is deregistered by its address and port, and the API shows no target after.
    harness_stack.aws.client("ecs").update_service(cluster=svc.cluster, service=svc.name, desiredCount=0)
    deadline = time.monotonic() + 60
    while _targets(harness_stack) or any(t.state != "STOPPED" for t in sched.snapshot().tasks):
        assert time.monotonic() < deadline, (_targets(harness_stack), sched.snapshot())
        time.sleep(0.5)
    events = [e for e in harness_stack.timeline.events if e.kind == "task" and e.data.get("action") == "stopped"]
    assert len(events) >= 2
    warned = [r.getMessage() for r in (*caplog.get_records("setup"), *caplog.records) if r.levelno >= logging.WARNING]
    assert not [m for m in warned if "InvalidTarget" in m or "DeregisterTargets" in m], warned
