"""Roles are found from the deployed stack's structure, and scenario files are checked before a run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import scenarios
from harness.cloud.clients import Aws
from harness.deploy import Deployment
from harness.errors import ConfigError
from harness.scenarios.roles import Roles, plan_roles, resolve
from harness.stack import Alarm, ScalableTarget, StackModel
from tests.shared_alb import shared_alb_stacks


def test_the_template_s_alarms_get_their_roles(ecs_stack: StackModel) -> None:
    roles = resolve(ecs_stack)
    by_logical = {v: k for k, v in ecs_stack.logical_ids.items()}
    assert {role: by_logical[a.name] for role, a in roles.alarms.items()} == {
        "scale_out": "CPUUtilizationHighAlarm",
        "scale_in": "CPUUtilizationLowAlarm",
        "cpu_alert": "CPUTooHighAlarm",
        "target_5xx": "LoadBalancerTargetGroup5XXAlarm",
        "elb_5xx": "LoadBalancer5XXAlarm",
    }
    assert (roles.min_capacity, roles.max_capacity) == (2, 4)
    assert roles.cooldown("scale_out") == roles.cooldown("scale_in") == 300.0
    assert roles.emails == ("admin@example.com",)
    with pytest.raises(ConfigError, match="no alarm in the role 'nope'"):
        roles.alarm("nope")


def test_every_shipped_scenario_parses() -> None:
    names = scenarios.available()
    assert {"full-story", "scale-out", "scale-in", "5xx-alerts", "threshold-edge"} <= set(names)
    for name in names:
        assert scenarios.load(name).steps


@pytest.mark.parametrize("text, culprit", [
    ("steps: []", "non-empty `steps`"),
    ("steps: [{phase: a}]", "exactly one of `until` or `hold`"),
    ("steps: [{phase: a, until: {desired: max_capacity}, hold: {cooldown: scale_out}}]", "exactly one"),
    ("steps: [{phase: a, until: {email: nobody}}]", "names no role: 'nobody'"),
    ("steps: [{phase: a, until: {bogus: 1}}]", "unknown keys ['bogus']"),
    ("steps: [{phase: a, load: {cpu: {above: scale_out}}, until: {desired: desired}}]", "by: POINTS"),
    ("steps: [{phase: a, fault: melt, until: {desired: desired}}]", "unknown fault 'melt'"),
    ("steps: [{phase: a, until: {desired: desired}}]\nexpect: [{during: b, alarm: scale_out}]", "names no phase"),
    ("steps: [{phase: a, until: {desired: desired}}]\nexpect: [{explode: 1}]", "unknown keys ['explode']"),
    ("steps: [{phase: a, until: [1", "does not parse"),
])
def test_a_bad_scenario_file_is_named_with_its_fault(tmp_path: Path, text: str, culprit: str) -> None:
    path = tmp_path / "mine.yml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        scenarios.load(str(path))
    assert str(path) in str(err.value) and culprit in str(err.value)


# ---------------------------------------------------------------- roles checked before any load


def _roles_with(alarm_roles: set[str], emails: tuple[str, ...]) -> Roles:
    from tests.ecs.config import service

    def alarm(name: str) -> Alarm:
        return Alarm(name=name, arn=f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}", namespace="AWS/ECS",
                     metric_name="CPUUtilization", dimensions={}, statistic="Average", extended_statistic=None,
                     period=60, evaluation_periods=1, datapoints_to_alarm=1, threshold=50.0,
                     comparison_operator="GreaterThanThreshold", treat_missing_data="missing", alarm_actions=(),
                     ok_actions=(), insufficient_data_actions=(), state="OK")

    svc = service()
    target = ScalableTarget("ecs", svc.resource_id, "ecs:service:DesiredCount", 2, 6)
    return Roles(svc, target, {r: alarm(r) for r in alarm_roles}, {}, emails)


def test_a_stack_that_emails_no_one_skips_the_email_phases_and_their_expectations() -> None:
    story = scenarios.load("full-story")
    plan = plan_roles(_roles_with({"scale_out", "scale_in"}, ()), story.steps, story.expect)
    assert not plan.stop
    assert plan.skip_phases == ("cpu-alert", "errors", "no-healthy-target")
    skipped = [story.expect[i] for i in plan.skip_expectations]
    assert skipped == [{"email": "cpu_alert"}, {"email": "target_5xx"}, {"email": "elb_5xx"}]
    assert all(plan.reasons[p].startswith("not checked: the stack emails no one") for p in plan.skip_phases)
    # The scaling scenarios need no email: nothing skipped.
    out = scenarios.load("scale-out")
    assert plan_roles(_roles_with({"scale_out", "scale_in"}, ()), out.steps, out.expect).skip_phases == ()


def test_alert_alarms_whose_topic_has_no_email_subscriber_skip_the_email_phases() -> None:
    # An alert parent stack deployed with its optional Email parameter empty: the alarms notify a topic
    # nobody subscribed to by email, so no email can arrive and waiting for one would only time out.
    story = scenarios.load("full-story")
    plan = plan_roles(_roles_with({"scale_out", "scale_in", "cpu_alert", "target_5xx", "elb_5xx"}, ()),
                      story.steps, story.expect)
    assert not plan.stop
    assert plan.skip_phases == ("cpu-alert", "errors", "no-healthy-target")
    assert [story.expect[i] for i in plan.skip_expectations] == [
        {"email": "cpu_alert"}, {"email": "target_5xx"}, {"email": "elb_5xx"}]
    assert all(plan.reasons[p].startswith("not checked: the stack emails no one") for p in plan.skip_phases)


def test_a_missing_scaling_role_stops_the_scenario_and_lists_the_roles_the_stack_has() -> None:
    story = scenarios.load("scale-in")
    plan = plan_roles(_roles_with({"scale_out", "cpu_alert"}, ("ops@example.com",)), story.steps, story.expect)
    assert plan.stop and set(plan.missing) == {"scale_in"}
    assert "phase cpu-low" in plan.missing["scale_in"]
    assert plan.message().endswith("Roles the stack has: scale_out, cpu_alert")


def test_a_stack_that_emails_but_lacks_one_alert_role_stops_rather_than_skipping() -> None:
    story = scenarios.load("full-story")
    plan = plan_roles(_roles_with({"scale_out", "scale_in", "cpu_alert"}, ("ops@example.com",)), story.steps,
                      story.expect)
    assert plan.stop and set(plan.missing) == {"target_5xx", "elb_5xx"} and plan.skip_phases == ()


def test_an_alert_topic_in_a_parent_stack_resolves_cpu_alert(shared_alb: StackModel) -> None:
    roles = resolve(shared_alb)
    assert {"scale_out", "scale_in", "cpu_alert", "target_5xx"} <= set(roles.alarms)
    assert roles.emails == ("ops@example.com",)
    assert len(shared_alb.stacks) == 4  # service, vpc, cluster, alert


@pytest.fixture(scope="module")
def shared_alb(aws: Aws, ecs_deployment: Deployment) -> Iterator[StackModel]:
    with shared_alb_stacks(aws) as (_, model):
        yield model


# ------------------------------------------------- which alarm watches the service (pure, from a table)
# Dimension sets per publisher, from AWS's pages:
# ECS https://docs.aws.amazon.com/AmazonECS/latest/developerguide/cloudwatch-metrics.html#ecs_cloudwatch_metrics_dimensions
# ALB https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html#load-balancer-metric-dimensions-alb

from harness.scenarios.roles import OWN, SHARED, ServiceResources, pick, watch_scope  # noqa: E402

_LB, _TG = "app/ecs-LoadBa-1/aaa", "targetgroup/ecs-Defau-1/bbb"  # the service's own ALB and group
_CLB, _CTG = "app/cluster-Lo-2/ccc", "targetgroup/cluster-Def-2/ddd"  # the cluster's ALB and default group
_RES = ServiceResources("cluster-Cluster-1", "ecs-Service-1", frozenset({(_LB, _TG)}))
# A service behind a listener rule on the cluster's shared ALB: its own group, the cluster's load balancer.
_SHARED_RES = ServiceResources("cluster-Cluster-1", "ecs-Service-1", frozenset({(_CLB, _TG)}))


@pytest.mark.parametrize("res, namespace, metric, dims, scope", [
    # ECS: the service's pair is its own; its cluster alone is shared; any other cluster/service/set sees nothing.
    (_RES, "AWS/ECS", "CPUUtilization", {"ClusterName": "cluster-Cluster-1", "ServiceName": "ecs-Service-1"}, OWN),
    (_RES, "AWS/ECS", "CPUUtilization", {"ClusterName": "cluster-Cluster-1"}, SHARED),
    (_RES, "AWS/ECS", "MemoryReservation", {"ClusterName": "cluster-Cluster-1"}, SHARED),
    (_RES, "AWS/ECS", "CPUUtilization", {"ClusterName": "cluster-Cluster-1", "ServiceName": "other"}, None),
    (_RES, "AWS/ECS", "CPUUtilization", {"ClusterName": "other-cluster"}, None),
    (_RES, "AWS/ECS", "CPUUtilization", {"ServiceName": "ecs-Service-1"}, None),  # no such dimension set
    (_RES, "AWS/ECS", "CPUUtilization", {}, None),
    # The EC2 namespace's CPUUtilization is the instances', not the service's.
    (_RES, "AWS/EC2", "CPUUtilization", {"AutoScalingGroupName": "cluster-AutoScalingGroup-1"}, None),
    # ALB target metrics: the service's group behind its load balancer is its own; the load balancer is shared.
    (_RES, "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", {"LoadBalancer": _LB, "TargetGroup": _TG}, OWN),
    (_RES, "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", {"LoadBalancer": _LB}, SHARED),
    # ... another load balancer's default group never sees the service's traffic (the widdix cluster's alarm).
    (_RES, "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", {"LoadBalancer": _CLB, "TargetGroup": _CTG}, None),
    (_RES, "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", {"LoadBalancer": _CLB}, None),
    (_RES, "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", {"LoadBalancer": _LB, "TargetGroup": _CTG}, None),
    (_RES, "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", {"TargetGroup": _TG}, None),  # not published alone
    (_RES, "AWS/ApplicationELB", "RequestCountPerTarget", {"TargetGroup": _TG}, OWN),  # ... except this one
    # ALB codes of the load balancer itself: per load balancer only, so that is their finest (own) scope.
    (_RES, "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", {"LoadBalancer": _LB}, OWN),
    (_RES, "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", {"LoadBalancer": _CLB}, None),
    (_RES, "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", {"LoadBalancer": _LB, "TargetGroup": _TG}, None),
    # A shared ALB: the cluster's load balancer fronts the service's group through a listener rule.
    (_SHARED_RES, "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", {"LoadBalancer": _CLB}, OWN),
    (_SHARED_RES, "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", {"LoadBalancer": _CLB, "TargetGroup": _TG}, OWN),
    (_SHARED_RES, "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", {"LoadBalancer": _CLB, "TargetGroup": _CTG}, None),
    (_SHARED_RES, "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", {"LoadBalancer": _CLB}, SHARED),
    # AvailabilityZone variants: AWS has them, the harness's targets have no zone (never published here).
    (_RES, "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", {"LoadBalancer": _LB, "AvailabilityZone": "us-east-1a"}, None),
    (_RES, "AWS/SQS", "ApproximateAgeOfOldestMessage", {"QueueName": "q"}, None),
])
def test_an_alarm_watches_the_service_only_through_its_own_or_shared_resources(
        res: ServiceResources, namespace: str, metric: str, dims: dict[str, str], scope: int | None) -> None:
    assert watch_scope(namespace, metric, dims, res) == scope


def _alarm(name: str, namespace: str, metric: str, dims: dict[str, str], threshold: float = 0.0) -> Alarm:
    return Alarm(name=name, arn=f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}", namespace=namespace,
                 metric_name=metric, dimensions=dims, statistic="Sum", extended_statistic=None, period=60,
                 evaluation_periods=1, datapoints_to_alarm=1, threshold=threshold,
                 comparison_operator="GreaterThanThreshold", treat_missing_data="notBreaching", alarm_actions=(),
                 ok_actions=(), insufficient_data_actions=(), state="OK")


def test_the_alarm_on_the_service_s_own_resources_wins_and_one_that_never_sees_it_gets_no_role() -> None:
    svc_cpu = {"ClusterName": "cluster-Cluster-1", "ServiceName": "ecs-Service-1"}
    cluster_cpu = {"ClusterName": "cluster-Cluster-1"}
    # Stack order puts the cluster stack's alarm first (as widdix's cluster CPUUtilizationTooHighAlarm):
    # the service's own wins although the thresholds tie.
    cluster = _alarm("cluster-cpu", "AWS/ECS", "CPUUtilization", cluster_cpu, 80)
    own = _alarm("svc-cpu", "AWS/ECS", "CPUUtilization", svc_cpu, 80)
    assert pick([cluster, own], _RES, highest=True) is own
    # The cluster's alarm is still the service's when it is the only one (its tasks are part of it).
    assert pick([cluster], _RES, highest=True) is cluster
    # Among the service's own, the highest threshold is the one a scenario holds load above.
    low = _alarm("svc-cpu-70", "AWS/ECS", "CPUUtilization", svc_cpu, 70)
    assert pick([own, low], _RES, highest=True) is own
    # The cluster ALB's default-group alarm can never see the service's traffic: no role at all.
    never = _alarm("cluster-5xx", "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count",
                   {"LoadBalancer": _CLB, "TargetGroup": _CTG})
    assert pick([never], _RES) is None
    lb_only = _alarm("svc-lb-5xx", "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", {"LoadBalancer": _LB})
    assert pick([never, lb_only], _RES) is lb_only
    group = _alarm("svc-tg-5xx", "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", {"LoadBalancer": _LB, "TargetGroup": _TG})
    assert pick([never, lb_only, group], _RES) is group
