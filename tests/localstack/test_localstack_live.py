"""A real LocalStack 2026.3.0 started on the host: free edition as shipped, then with the harness extension.

Skipped (with the reason) without Python >= 3.13 or when the venv cannot be made; required in CI.
"""

from __future__ import annotations

import datetime
import time
from pathlib import Path

import pytest

from harness.cloud.clients import Aws
from harness.cloud.localstack import ExternalCloud, LocalStackCloud
from harness.cloud.probe import Status, probe
from harness.deploy import Deployment, deploy, load_template, teardown
from harness.errors import CloudError
from harness.stack import StackModel, read_stack

pytestmark = pytest.mark.slow  # a real LocalStack

REPO = Path(__file__).resolve().parents[2]
ECS = REPO / "infrastructure" / "ecs.yml"
CLUSTER = REPO / "infrastructure" / "cluster.yml"
PRO_ONLY = {"ecs", "elbv2", "application-autoscaling"}


def _alarm_state_after(aws: Aws, name: str, seconds: float) -> str:
    """Create a 10 s alarm over 30 s of breaching high-resolution datapoints; return its state once it
    leaves INSUFFICIENT_DATA, or after `seconds`."""
    cw = aws.client("cloudwatch")
    now = datetime.datetime.now(datetime.timezone.utc)
    cw.put_metric_data(
        Namespace="Harness/Test",
        MetricData=[
            {"MetricName": name, "Value": 100.0, "StorageResolution": 1, "Timestamp": now - datetime.timedelta(seconds=s)}
            for s in range(0, 31, 2)
        ],
    )
    cw.put_metric_alarm(
        AlarmName=name, Namespace="Harness/Test", MetricName=name, Statistic="Average", Period=10,
        EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanThreshold",
    )
    deadline = time.monotonic() + seconds
    while True:
        state = str(cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"])
        if state != "INSUFFICIENT_DATA" or time.monotonic() > deadline:
            return state
        time.sleep(0.2)


class TestFreeEditionAsShipped:
    def test_probe_names_the_missing_apis(self, plain_localstack: LocalStackCloud) -> None:
        report = probe(Aws(plain_localstack.endpoint), ECS, CLUSTER)
        assert {c.service for c in report.missing} == PRO_ONLY, report.table()
        assert not report.errors, report.table()
        assert report.status_of("cloudformation") is Status.OK
        with pytest.raises(CloudError, match="lacks ecs, elbv2, application-autoscaling"):
            report.raise_if_missing()

    def test_external_cloud_accepts_it(self, plain_localstack: LocalStackCloud) -> None:
        ext = ExternalCloud(plain_localstack.endpoint)
        ext.start()
        assert ext.health is not None and ext.health.version == "2026.3.0"

    def test_its_own_scheduler_evaluates_alarms(self, plain_localstack: LocalStackCloud) -> None:
        # The control for the extension's test below: as shipped, LocalStack flips the alarm itself.
        # LocalStack evaluates right when the alarm is put (a fixed-rate task whose first run is now).
        assert _alarm_state_after(Aws(plain_localstack.endpoint), "control", 10.0) != "INSUFFICIENT_DATA"


class TestWithExtension:
    def test_probe_is_all_ok(self, ext_aws: Aws) -> None:
        report = probe(ext_aws, ECS, CLUSTER)
        assert report.ok, report.table()

    def test_localstack_does_not_evaluate_alarms(self, ext_aws: Aws) -> None:
        # Without the extension the same alarm leaves INSUFFICIENT_DATA at once (control above).
        assert _alarm_state_after(ext_aws, "harness-only", 3.0) == "INSUFFICIENT_DATA"

    @pytest.fixture(scope="class")
    def deployed(self, ext_aws: Aws) -> tuple[Deployment, StackModel]:
        deployment = deploy(ext_aws, ECS, {})
        return deployment, read_stack(ext_aws, deployment.stack_name)

    def test_stack_is_real_with_the_templates_values(self, deployed: tuple[Deployment, StackModel]) -> None:
        deployment, stack = deployed
        doc = load_template(ECS)["Resources"]
        service = stack.service()
        assert service.desired_count == 2
        assert (service.minimum_healthy_percent, service.maximum_percent) == (50, 200)
        assert service.task_definition.network_mode == "bridge"
        (container,) = service.task_definition.containers
        assert (container.name, container.memory, container.container_port) == ("main", 128, 3000)
        assert container.log_stream_prefix == "ecs" and container.log_group

        (lb_ref,) = service.load_balancers
        assert lb_ref.target_group_arn == stack.logical_ids["DefaultTargetGroup"]
        assert (lb_ref.container_name, lb_ref.container_port) == ("main", 3000)
        tg = stack.target_group(lb_ref.target_group_arn)
        assert (tg.health.path, tg.health.interval, tg.health.timeout) == ("/1", 15.0, 10.0)
        assert (tg.health.healthy_threshold, tg.health.unhealthy_threshold, tg.health.matcher) == (2, 4, "200")
        assert tg.deregistration_delay == 10.0

        (lb,) = stack.load_balancers
        assert lb.full_name.startswith("app/") and lb.full_name == lb.arn.split(":loadbalancer/", 1)[1]
        assert [(li.port, li.protocol, li.target_group_arn) for li in lb.listeners] == [(80, "HTTP", tg.arn)]
        assert deployment.outputs["DNSName"] == lb.dns_name

        assert len(stack.alarms) == 5
        for logical_id in ("LoadBalancer5XXAlarm", "LoadBalancerTargetGroup5XXAlarm", "CPUUtilizationHighAlarm",
                           "CPUUtilizationLowAlarm", "CPUTooHighAlarm"):
            props = doc[logical_id]["Properties"]
            alarm = stack.alarm(logical_id)
            assert (alarm.metric_name, alarm.period, alarm.threshold) == (props["MetricName"], props["Period"], float(props["Threshold"]))
            assert alarm.comparison_operator == props["ComparisonOperator"]
            assert alarm.state == "INSUFFICIENT_DATA"
        # GetAtt LoadBalancer.LoadBalancerFullName and Service.Name feed the alarms' dimensions.
        assert stack.alarm("LoadBalancer5XXAlarm").dimensions == {"LoadBalancer": lb.full_name}
        assert stack.alarm("CPUUtilizationHighAlarm").dimensions == {"ClusterName": service.cluster, "ServiceName": service.name}

        (target,) = stack.scalable_targets
        assert (target.min_capacity, target.max_capacity) == (2, 4)
        assert target.resource_id == f"service/{service.cluster}/{service.name}"
        up = stack.policy(stack.logical_ids["ScaleUpPolicy"])
        down = stack.policy(stack.logical_ids["ScaleDownPolicy"])
        assert stack.alarm("CPUUtilizationHighAlarm").alarm_actions == (up.arn,)
        assert stack.alarm("CPUUtilizationLowAlarm").alarm_actions == (down.arn,)
        for policy, adjustment in ((up, 25.0), (down, -25.0)):
            assert (policy.adjustment_type, policy.cooldown, policy.min_adjustment_magnitude) == ("PercentChangeInCapacity", 300.0, 1)
            assert [s.adjustment for s in policy.steps] == [adjustment]
            assert policy.resource_id == target.resource_id

        (topic,) = stack.topics
        assert [(s.protocol, s.endpoint) for s in topic.subscriptions] == [("email", "admin@example.com")]
        assert stack.alarm("CPUTooHighAlarm").alarm_actions == (topic.arn,)

    def test_teardown_removes_everything(self, ext_aws: Aws, deployed: tuple[Deployment, StackModel]) -> None:
        deployment, stack = deployed
        teardown(ext_aws, deployment)
        assert ext_aws.client("elbv2").describe_load_balancers()["LoadBalancers"] == []
        assert ext_aws.client("application-autoscaling").describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"] == []
        services = ext_aws.client("ecs").describe_services(cluster=stack.service().cluster, services=[stack.service().name])
        assert all(s["status"] != "ACTIVE" for s in services.get("services", []))


def test_shared_load_balancer_listener_rule(ext_aws: Aws) -> None:
    # A service behind a ListenerRule on its cluster stack's load balancer (tests/data/shared-alb):
    # the extension's ListenerRule provider makes a real rule, read back by priority and condition.
    import uuid

    from tests.shared_alb import shared_alb_stacks

    vpc = deploy(ext_aws, REPO / "infrastructure" / "vpc.yml", {}, stack_name=f"sa-vpc-{uuid.uuid4().hex[:6]}")
    try:
        with shared_alb_stacks(ext_aws, vpc_stack=vpc.stack_name) as (_, model):
            (lb,) = model.load_balancers
            (listener,) = lb.listeners
            rules = ext_aws.client("elbv2").describe_rules(ListenerArn=listener.arn)["Rules"]
            (rule,) = [r for r in rules if not r["IsDefault"]]
            assert rule["Conditions"][0]["Field"] == "path-pattern"
            assert [a["TargetGroupArn"] for a in rule["Actions"]] == list(model.services[0].target_group_arns)
    finally:
        teardown(ext_aws, vpc)
