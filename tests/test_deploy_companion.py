"""--companion: a template deployed AFTER the service stack (its scaling, alarms and alert topic, as a
separate "ECS Auto Scaling stack" or nathanpeck's target-tracking template), naming the service by the
service stack's name (its exports) and the cluster stack's. Over the real moto server (own_aws: an
empty cloud of this module's own); the slow tests run `harness run` through the real CLI.

tests/data/companion/service.yml is infrastructure/ecs.yml without its topic, alarms and scaling;
scaling.yml holds them, with other numbers (thresholds 65/25/90, capacity 2..5, cooldown 240).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from harness.cloud.clients import Aws
from harness.deploy import SERVICE_STACK_PARAM, deploy, parse_companions, plan_stacks, teardown
from harness.errors import ConfigError, ParameterError
from harness.scenarios.roles import resolve
from harness.stack import read_stack
from harness.net import free_port
from tests.test_scenarios import marked

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data" / "companion"
SERVICE, SCALING, NEEDS_PARAM = DATA / "service.yml", DATA / "scaling.yml", DATA / "needs-param.yml"


def stacks(aws: Aws) -> set[str]:
    return {s["StackName"] for s in aws.client("cloudformation").describe_stacks()["Stacks"]}


def test_the_scaling_stack_is_deployed_after_the_service_and_its_alarms_get_the_roles(own_aws: Aws) -> None:
    said: list[str] = []
    d = deploy(own_aws, SERVICE, {"ScaleUpThreshold": "60"}, stack_name="web", say=said.append,
               companions=[SCALING])
    try:
        assert d.created_stacks == ("vpc", "cluster", "web", "web-scaling")
        assert (d.parent_stacks, d.companion_stacks) == (("vpc", "cluster"), ("web-scaling",))
        assert said[-1] == f"stack      web-scaling from {SCALING}"
        cf = own_aws.client("cloudformation")
        params = {p["ParameterKey"]: p["ParameterValue"]
                  for p in cf.describe_stacks(StackName="web-scaling")["Stacks"][0]["Parameters"]}
        # The service stack's parameter convention -> the service stack, the parent's -> the same parent,
        # --param reaches the one template that declares it, defaults hold otherwise.
        assert (params["ServiceStack"], params["ParentClusterStack"]) == ("web", "cluster")
        assert (params["ScaleUpThreshold"], params["MaxCapacity"]) == ("60", "5")

        model = read_stack(own_aws, d.stack_name, d.other_stacks)
        assert model.stacks == ("web", "vpc", "cluster", "web-scaling")
        roles = resolve(model)  # the service stack alone has no scalable target (the test below)
        service = model.services[0]
        assert roles.target.resource_id == service.resource_id
        assert (roles.min_capacity, roles.max_capacity) == (2, 5)
        scaling = {r["LogicalResourceId"]: r["PhysicalResourceId"]
                   for r in cf.describe_stack_resources(StackName="web-scaling")["StackResources"]}
        assert roles.alarm("scale_out").name == scaling["CPUHighAlarm"]
        assert roles.alarm("scale_out").threshold == 60
        assert roles.alarm("scale_in").name == scaling["CPULowAlarm"]
        assert roles.alarm("cpu_alert").name == scaling["CPUTooHighAlarm"]
        assert roles.alarm("elb_5xx").name == scaling["LoadBalancer5XXAlarm"]
        assert roles.cooldown("scale_out") == 240
        assert roles.emails == ("admin@example.com",)
    finally:
        teardown(own_aws, d)
    assert stacks(own_aws) == set()


def test_companions_are_planned_after_the_service_in_the_order_given() -> None:
    order = plan_stacks(SERVICE, {}, {}, "web", [SCALING, DATA / "needs-param.yml"])
    assert [(p.name, p.companion) for p in order] == [
        ("vpc", False), ("cluster", False), ("web", False), ("web-scaling", True), ("web-needs-param", True)]
    assert order[3].parents == {"ParentClusterStack": "cluster", "ServiceStack": "web"}


def test_the_service_stack_alone_has_no_scalable_target(own_aws: Aws) -> None:
    d = deploy(own_aws, SERVICE, {}, stack_name="alone")
    try:
        with pytest.raises(ConfigError, match=r"^service \S+ has no scalable target"):
            resolve(read_stack(own_aws, d.stack_name, d.other_stacks))
    finally:
        teardown(own_aws, d)


def test_a_companion_parameter_without_a_value_is_one_line_naming_it(own_aws: Aws) -> None:
    with pytest.raises(ParameterError) as err:
        deploy(own_aws, SERVICE, {}, stack_name="web", companions=[NEEDS_PARAM])
    text = str(err.value)
    assert text == (f"parameter AlarmEmail is required by {NEEDS_PARAM} and has no value; "
                    "pass --param AlarmEmail=..."), text
    assert stacks(own_aws) == set()  # refused before anything is created


def test_parse_companions_names_a_missing_file(tmp_path: Path) -> None:
    assert parse_companions([str(SCALING)]) == [SCALING]
    with pytest.raises(ConfigError, match=r"^--companion nope.yml: template .*nope.yml does not exist$"):
        parse_companions(["nope.yml"])


def run(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    mark = uuid.uuid4().hex
    proc = subprocess.run(
        [sys.executable, "-m", "harness.cli", "--home", str(tmp_path / "home"), "run", "scale-out", "--template",
         str(SERVICE), *args, "--cloud-port", str(free_port()), "--report-dir", str(tmp_path / "report")],
        cwd=REPO, capture_output=True, text=True, timeout=400, env={**os.environ, "HARNESS_TEST_MARK": mark})
    assert marked(mark) == [], "left running"
    path = tmp_path / "report" / "report.json"
    assert path.is_file(), (proc.stdout[-3000:], proc.stderr[-3000:])
    return proc, json.loads(path.read_text())


@pytest.mark.slow
def test_run_scale_out_with_the_scaling_in_a_companion_stack(tmp_path: Path) -> None:
    proc, report = run(tmp_path, "--companion", str(SCALING))
    out = proc.stdout
    assert f"stack      ecs-scaling from {SCALING}" in out, out[-3000:]
    assert proc.returncode == 0 and report["passed"], ([v for v in report["verdicts"] if not v["passed"]], out[-3000:])
    assert report["stack"]["scalable_targets"][0]["max_capacity"] == 5
    roles = {a["role"]: a["threshold"] for a in report["stack"]["alarms"]}
    assert roles["scale_out"] == 65


@pytest.mark.slow
def test_run_without_a_scalable_target_writes_its_report_with_the_reason(tmp_path: Path) -> None:
    proc, report = run(tmp_path)
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Traceback" not in proc.stdout + proc.stderr
    (verdict,) = report["verdicts"]
    assert not verdict["passed"] and verdict["observed"].startswith("service ")
    assert "has no scalable target (AWS::ApplicationAutoScaling::ScalableTarget)" in verdict["observed"]
    assert report["stack"]["scalable_targets"] == [] and not report["passed"]
    assert "stopped    service " in proc.stdout


def test_a_target_tracking_companion_named_by_parent_service_stack(own_aws: Aws) -> None:
    """ParentServiceStack matches the widdix Parent...Stack convention too: it names the service stack,
    not a parent to pass with --parent; the policy's own alarms resolve the scaling roles."""
    tracking = DATA / "target-tracking.yml"
    d = deploy(own_aws, SERVICE, {}, stack_name="tt", companions=[tracking])
    try:
        assert d.companion_stacks == ("tt-target-tracking",)
        roles = resolve(read_stack(own_aws, d.stack_name, d.other_stacks))
        assert (roles.min_capacity, roles.max_capacity) == (1, 6)
        policy = roles.policies["scale_out"]
        assert policy.policy_type == "TargetTrackingScaling" and policy is roles.policies["scale_in"]
        # The policy's own high alarm (made by the cloud, as AWS makes it) is at the target.
        assert roles.alarm("scale_out").threshold == 55
        assert roles.alarm("scale_out").name in policy.alarm_names
        assert roles.cooldown("scale_out") == 90 and roles.cooldown("scale_in") == 150
    finally:
        teardown(own_aws, d)
    assert stacks(own_aws) == set()


def short_cooldown(tmp_path: Path) -> Path:
    """scaling.yml with ScaleUpPolicy's Cooldown 30 s, shorter than its alarm's 60 s period (a warning)."""
    short = tmp_path / "scaling.yml"
    short.write_text(SCALING.read_text().replace("Cooldown: 240", "Cooldown: 30", 1))
    return short


def test_the_checks_of_a_run_read_the_companions(own_aws: Aws, tmp_path: Path) -> None:
    """`harness run` checks the deployed stack with its companions (no parameter of the service names them)."""
    from harness.checks.run import check_deployed

    d = deploy(own_aws, SERVICE, {}, stack_name="chk", companions=[short_cooldown(tmp_path)])
    try:
        assert check_deployed(own_aws, "chk")[1] == []  # the service stack alone: no policy to check
        (finding,) = check_deployed(own_aws, "chk", d.other_stacks)[1]
        assert finding.rule.id == "cooldown-shorter-than-alarm"
    finally:
        teardown(own_aws, d)


@pytest.mark.slow  # two embedded clouds (about 2 s each), no timing: runs without the timing lock
def test_harness_check_takes_companions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from harness.cli import main

    base = ["check", "--template", str(SERVICE), "--format", "json"]
    assert main([*base, "--companion", str(short_cooldown(tmp_path))]) == 0  # a warning, not an error
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert [(f["rule"]["id"], f["severity"]) for f in findings] == [("cooldown-shorter-than-alarm", "warning")]
    assert "ecs-scaling-scale-up has a Cooldown of 30 s" in findings[0]["message"], findings


@pytest.mark.slow
@pytest.mark.harness_stack(template=str(SERVICE), companions=[str(SCALING)], time_scale=30)
def test_the_marker_takes_companions(harness_stack: object) -> None:
    """The pytest marker's companions=: the served stack's model holds the companion's scaling."""
    import urllib.request

    handle: Any = harness_stack
    with urllib.request.urlopen(handle.url + "/", timeout=10) as resp:
        assert resp.status == 200
    assert handle.model.stacks[-1] == "ecs-scaling"
    roles = resolve(handle.model)
    assert (roles.max_capacity, roles.alarm("scale_out").threshold) == (5, 65)


@pytest.mark.parametrize(("name", "is_service_stack"), [
    ("ParentServiceStack", True), ("ServiceStack", True), ("ServiceStackName", True),
    ("ParentEcsServiceStack", True),
    ("ParentServiceDiscoveryStack", False),  # another stack (Cloud Map), not the service's
    ("ParentClusterStack", False), ("ServiceName", False), ("StackName", False),
])
def test_which_companion_parameters_name_the_service_stack(name: str, is_service_stack: bool) -> None:
    assert bool(SERVICE_STACK_PARAM.fullmatch(name)) is is_service_stack
