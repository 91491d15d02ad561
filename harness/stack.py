"""The deployed stack, read back from the service APIs: the one source of the template's numbers.

No threshold, period, capacity, cooldown or health-check setting lives in harness code; every part of
the harness gets them from a `StackModel`, which `read_stack()` builds from what the cloud reports
(describe_stack_resources for the physical ids, then ECS, ELBv2, CloudWatch, Application Auto
Scaling and SNS). The dataclasses are plain frozen data so decisions stay pure functions of them.

A deployment is several stacks: the service stack and its parents (VPC, cluster, alert topic, ...).
A shared load balancer and its listener live in a cluster stack while the service stack adds a
ListenerRule; an alert topic lives in an alert stack the service's alarms notify through an import.
So `read_stack()` reads load balancers, listeners (with all their rules), target groups, alarms and
topics from EVERY stack of the deployment, and services, scalable targets and policies too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, NamedTuple

from botocore.exceptions import ClientError

from harness.cloud.clients import Aws
from harness.cloudwatch.composite import CompositeAlarm, parse_composite
from harness.errors import CloudError, DeployError

if TYPE_CHECKING:  # harness.elb imports this module: its rule types are imported where they are used
    from harness.elb.rules import Action, Rule


@dataclass(frozen=True)
class HealthCheck:
    path: str
    port: str  # "traffic-port" or a port number as a string
    protocol: str
    interval: float
    timeout: float
    healthy_threshold: int
    unhealthy_threshold: int
    matcher: str  # "200", "200-299" or "200,202"


@dataclass(frozen=True)
class TargetGroup:
    arn: str
    name: str
    full_name: str  # "targetgroup/<name>/<id>", the CloudWatch TargetGroup dimension
    port: int
    protocol: str
    target_type: str
    health: HealthCheck
    deregistration_delay: float


@dataclass(frozen=True)
class Listener:
    arn: str
    port: int
    protocol: str
    target_group_arn: str | None  # the default action's (first) forward target group, if any
    default_actions: tuple[Action, ...] = ()
    # Every rule of the listener, whichever stack created it; the default rule (DefaultActions) included.
    rules: tuple[Rule, ...] = ()

    def forwards_to(self) -> set[str]:
        """Every target group a rule of this listener (or its default action) forwards to."""
        arns = {arn for r in self.rules for a in r.actions if a.type == "forward" for arn, _ in a.target_groups}
        arns.update(arn for a in self.default_actions if a.type == "forward" for arn, _ in a.target_groups)
        if self.target_group_arn:
            arns.add(self.target_group_arn)
        return arns

    def all_rules(self) -> tuple[Rule, ...]:
        """The rules to evaluate: those read back, or the default actions alone as the default rule."""
        if any(r.is_default for r in self.rules):
            return self.rules
        from harness.elb.rules import Rule

        return (*self.rules, Rule(self.arn + "/default", None, (), self.default_actions))


@dataclass(frozen=True)
class LoadBalancer:
    arn: str
    name: str
    full_name: str  # "app/<name>/<id>", the CloudWatch LoadBalancer dimension
    dns_name: str
    listeners: tuple[Listener, ...]


@dataclass(frozen=True)
class Container:
    name: str
    image: str
    cpu: int | None
    memory: int | None
    memory_reservation: int | None
    container_port: int | None
    environment: dict[str, str]
    log_group: str | None
    log_stream_prefix: str | None


@dataclass(frozen=True)
class TaskDefinition:
    arn: str
    family: str
    cpu: int | None  # task-level CPU units
    memory: int | None  # task-level MiB
    network_mode: str
    containers: tuple[Container, ...]
    requires_compatibilities: tuple[str, ...] = ()  # EC2, FARGATE, EXTERNAL

    def container(self, name: str) -> Container:
        for c in self.containers:
            if c.name == name:
                return c
        raise KeyError(f"task definition {self.family} has no container {name!r}")


class ServiceLoadBalancer(NamedTuple):
    """(target_group_arn, container_name, container_port), as in the service's LoadBalancers."""

    target_group_arn: str
    container_name: str
    container_port: int


@dataclass(frozen=True)
class Service:
    cluster: str
    name: str
    arn: str
    desired_count: int
    task_definition: TaskDefinition
    load_balancers: tuple[ServiceLoadBalancer, ...]
    minimum_healthy_percent: int
    maximum_percent: int
    launch_type: str | None = None  # EC2 | FARGATE | EXTERNAL; None: a capacity provider strategy or unset

    @property
    def target_group_arns(self) -> tuple[str, ...]:
        return tuple(lb.target_group_arn for lb in self.load_balancers)

    @property
    def resource_id(self) -> str:
        """The Application Auto Scaling resource id: service/<cluster>/<service>."""
        return f"service/{self.cluster}/{self.name}"


@dataclass(frozen=True)
class Alarm:
    name: str
    arn: str
    namespace: str
    metric_name: str
    dimensions: dict[str, str]
    statistic: str | None
    extended_statistic: str | None
    period: int
    evaluation_periods: int
    datapoints_to_alarm: int  # defaults to evaluation_periods, as in CloudWatch
    threshold: float
    comparison_operator: str
    treat_missing_data: str  # "missing" when not set, as in CloudWatch
    alarm_actions: tuple[str, ...]
    ok_actions: tuple[str, ...]
    insufficient_data_actions: tuple[str, ...]
    state: str
    description: str = ""
    unit: str | None = None
    actions_enabled: bool = True


@dataclass(frozen=True)
class ScalableTarget:
    service_namespace: str
    resource_id: str
    scalable_dimension: str
    min_capacity: int
    max_capacity: int


@dataclass(frozen=True)
class StepAdjustment:
    lower: float | None
    upper: float | None
    adjustment: float


@dataclass(frozen=True)
class TargetTracking:
    """A policy's TargetTrackingScalingPolicyConfiguration, as DescribeScalingPolicies returns it.
    https://docs.aws.amazon.com/autoscaling/application/APIReference/API_TargetTrackingScalingPolicyConfiguration.html
    """

    target_value: float
    predefined_metric_type: str | None  # e.g. ECSServiceAverageCPUUtilization, ALBRequestCountPerTarget
    resource_label: str | None  # ALBRequestCountPerTarget: app/<lb>/<id>/targetgroup/<tg>/<id>
    customized_metric: dict[str, Any] | None
    scale_out_cooldown: float | None
    scale_in_cooldown: float | None
    disable_scale_in: bool


@dataclass(frozen=True)
class ScalingPolicy:
    arn: str
    name: str
    resource_id: str
    policy_type: str
    adjustment_type: str | None
    cooldown: float | None
    min_adjustment_magnitude: int | None
    metric_aggregation_type: str | None
    steps: tuple[StepAdjustment, ...]
    service_namespace: str = "ecs"
    scalable_dimension: str = "ecs:service:DesiredCount"
    alarm_names: tuple[str, ...] = ()  # the policy's Alarms, as DescribeScalingPolicies lists them
    target_tracking: TargetTracking | None = None  # policy_type TargetTrackingScaling only


class Subscription(NamedTuple):
    """(protocol, endpoint, subscription_arn)."""

    protocol: str
    endpoint: str
    subscription_arn: str


@dataclass(frozen=True)
class Topic:
    arn: str
    subscriptions: tuple[Subscription, ...]

    @property
    def name(self) -> str:
        return self.arn.rsplit(":", 1)[-1]


@dataclass(frozen=True)
class StackModel:
    stack_name: str
    services: tuple[Service, ...]
    target_groups: dict[str, TargetGroup]
    load_balancers: tuple[LoadBalancer, ...]
    alarms: tuple[Alarm, ...]
    scalable_targets: tuple[ScalableTarget, ...]
    policies: tuple[ScalingPolicy, ...]
    topics: tuple[Topic, ...]
    outputs: dict[str, str] = field(default_factory=dict)
    logical_ids: dict[str, str] = field(default_factory=dict)  # logical id -> physical id (service stack)
    stacks: tuple[str, ...] = ()  # every stack read: the service stack first, then its parents
    # EC2 capacity: the names of every stack's AWS::AutoScaling::AutoScalingGroup (stored, no instances)
    auto_scaling_groups: tuple[str, ...] = ()
    # Every stack's AWS::CloudWatch::CompositeAlarm, and the names and ARNs of every alarm of the account
    # (what a composite's AlarmRule may name).
    composite_alarms: tuple[CompositeAlarm, ...] = ()
    account_alarms: frozenset[str] = frozenset()

    def alarm_by_name(self, name: str) -> Alarm:
        for a in self.alarms:
            if a.name == name:
                return a
        raise KeyError(f"stack {self.stack_name} has no alarm named {name!r}")

    def alarm(self, logical_id: str) -> Alarm:
        """The alarm a template resource created (by logical id)."""
        return self.alarm_by_name(self.logical_ids[logical_id])

    def target_group(self, arn: str) -> TargetGroup:
        try:
            return self.target_groups[arn]
        except KeyError:
            raise KeyError(f"stack {self.stack_name} has no target group {arn}") from None

    def policy(self, arn: str) -> ScalingPolicy:
        for p in self.policies:
            if p.arn == arn:
                return p
        raise KeyError(f"stack {self.stack_name} has no scaling policy {arn}")

    def topic(self, arn: str) -> Topic:
        for t in self.topics:
            if t.arn == arn:
                return t
        raise KeyError(f"stack {self.stack_name} has no topic {arn}")

    def service(self, name: str | None = None) -> Service:
        """The service named `name`, or the only service."""
        if name is None:
            if len(self.services) != 1:
                raise KeyError(f"stack {self.stack_name} has {len(self.services)} services; name one")
            return self.services[0]
        for s in self.services:
            if s.name == name:
                return s
        raise KeyError(f"stack {self.stack_name} has no service {name!r}")

    def scalable_target(self, resource_id: str) -> ScalableTarget | None:
        for t in self.scalable_targets:
            if t.resource_id == resource_id:
                return t
        return None

    def load_balancer_for(self, target_group_arn: str) -> LoadBalancer | None:
        """The first load balancer with a listener that forwards to the group (by default action or rule)."""
        routes = self.routes_to(target_group_arn)
        return routes[0][0] if routes else None

    def routes_to(self, target_group_arn: str) -> list[tuple[LoadBalancer, Listener]]:
        """Every (load balancer, listener) with a rule or default action forwarding to the group."""
        return [(lb, li) for lb in self.load_balancers for li in lb.listeners if target_group_arn in li.forwards_to()]


# ------------------------------------------------------------------------------------ reading


def read_stack(aws: Aws, stack_name: str, parent_stacks: Iterable[str] = ()) -> StackModel:
    """Read every resource of `stack_name` and of its parent stacks back from the services' APIs.

    The parents are `parent_stacks` (Deployment.parent_stacks) plus every stack whose name is the value
    of a parameter of a stack read (a `ParentXStack=<name>` given by hand), recursively.
    """
    cf = aws.client("cloudformation")
    try:
        stack = cf.describe_stacks(StackName=stack_name)["Stacks"][0]
    except ClientError as exc:
        raise DeployError(f"stack {stack_name} cannot be read: {exc}", stack=stack_name) from exc
    stacks = _related_stacks(aws, stack, list(parent_stacks))
    by_type: dict[str, list[str]] = {}
    logical_ids: dict[str, str] = {}
    for name in stacks:
        try:
            resources = cf.describe_stack_resources(StackName=name)["StackResources"]
        except ClientError as exc:
            raise DeployError(f"stack {name} cannot be read: {exc}", stack=name) from exc
        for r in resources:
            phys = r.get("PhysicalResourceId")
            if phys:
                found = by_type.setdefault(r["ResourceType"], [])
                if phys not in found:
                    found.append(phys)
                if name == stack_name:
                    logical_ids[r["LogicalResourceId"]] = phys

    try:
        services = tuple(_read_services(aws, by_type.get("AWS::ECS::Service", [])))
        tg_arns = set(by_type.get("AWS::ElasticLoadBalancingV2::TargetGroup", []))
        for s in services:
            tg_arns.update(s.target_group_arns)
        target_groups = {tg.arn: tg for tg in _read_target_groups(aws, sorted(tg_arns))}
        # A target group's load balancers count too: a shared ALB made outside these stacks still serves.
        lb_arns = list(by_type.get("AWS::ElasticLoadBalancingV2::LoadBalancer", []))
        for arn in _target_group_load_balancers(aws, sorted(tg_arns)):
            if arn not in lb_arns:
                lb_arns.append(arn)
        load_balancers = tuple(_read_load_balancers(aws, lb_arns))
        # Groups only a rule forwards to (another stack's, or made by hand) are read as well.
        routed = {arn for lb in load_balancers for li in lb.listeners for arn in li.forwards_to()}
        missing = sorted(routed - set(target_groups))
        if missing:
            target_groups.update({tg.arn: tg for tg in _read_target_groups(aws, missing)})
        targets = tuple(_read_scalable_targets(aws, by_type.get("AWS::ApplicationAutoScaling::ScalableTarget", [])))
        policies = tuple(_read_policies(aws, by_type.get("AWS::ApplicationAutoScaling::ScalingPolicy", [])))
        stack_alarms = by_type.get("AWS::CloudWatch::Alarm", [])
        alarms = list(_read_alarms(aws, stack_alarms))
        # Alarms a policy owns (target tracking's) are no stack resource: read those that exist.
        extra = [n for p in policies for n in p.alarm_names if n not in stack_alarms]
        alarms += _read_alarms(aws, list(dict.fromkeys(extra)), must_exist=False)
        topic_arns = list(by_type.get("AWS::SNS::Topic", []))
        # A topic the alarms notify counts wherever it was made (an imported ARN, or made by hand).
        for a in alarms:
            for action in (*a.alarm_actions, *a.ok_actions, *a.insufficient_data_actions):
                if action.startswith("arn:") and ":sns:" in action and action not in topic_arns:
                    topic_arns.append(action)
        composites, account_alarms = _read_composites(aws, by_type.get("AWS::CloudWatch::CompositeAlarm", []))
        for c in composites:
            for action in (*c.alarm_actions, *c.ok_actions, *c.insufficient_data_actions):
                if action.startswith("arn:") and ":sns:" in action and action not in topic_arns:
                    topic_arns.append(action)
        topics = tuple(_read_topics(aws, topic_arns))
    except ClientError as exc:
        raise CloudError(f"reading stack {stack_name} back from {aws.endpoint} failed: {exc}") from exc
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    return StackModel(
        stack_name=stack_name,
        services=services,
        target_groups=target_groups,
        load_balancers=load_balancers,
        alarms=tuple(alarms),
        scalable_targets=targets,
        policies=policies,
        topics=topics,
        outputs=outputs,
        logical_ids=logical_ids,
        stacks=tuple(stacks),
        auto_scaling_groups=tuple(by_type.get("AWS::AutoScaling::AutoScalingGroup", [])),
        composite_alarms=composites,
        account_alarms=account_alarms,
    )


def _related_stacks(aws: Aws, stack: dict[str, Any], parents: list[str]) -> list[str]:
    """The service stack, the given parents, and every live stack named by a parameter value (recursively)."""
    cf = aws.client("cloudformation")
    live: set[str] = set()
    kwargs: dict[str, Any] = {}
    while True:
        page = cf.list_stacks(**kwargs)
        live.update(s["StackName"] for s in page.get("StackSummaries", [])
                    if not str(s.get("StackStatus", "")).startswith("DELETE_COMPLETE"))
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    order = [stack["StackName"]]
    queue: list[dict[str, Any]] = [stack]
    pending = [p for p in parents if p not in order]
    while queue or pending:
        if queue:
            current = queue.pop(0)
            pending += [str(p.get("ParameterValue")) for p in current.get("Parameters") or []
                        if str(p.get("ParameterValue")) in live]
        if not pending:
            continue
        name = pending.pop(0)
        if name in order:
            continue
        try:
            described = cf.describe_stacks(StackName=name)["Stacks"][0]
        except ClientError as exc:
            raise DeployError(f"parent stack {name} cannot be read: {exc}", stack=name) from exc
        order.append(name)
        queue.append(described)
    return order


def _target_group_load_balancers(aws: Aws, arns: list[str]) -> list[str]:
    out: list[str] = []
    elbv2 = aws.client("elbv2")
    for chunk in _chunks(arns, 20):
        for tg in elbv2.describe_target_groups(TargetGroupArns=chunk)["TargetGroups"]:
            out += [a for a in tg.get("LoadBalancerArns") or [] if a not in out]
    return out


def _opt_int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    return int(value)


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _read_task_definition(aws: Aws, arn: str) -> TaskDefinition:
    td = aws.client("ecs").describe_task_definition(taskDefinition=arn)["taskDefinition"]
    containers = []
    for c in td.get("containerDefinitions", []):
        ports = c.get("portMappings") or []
        opts = (c.get("logConfiguration") or {}).get("options") or {}
        containers.append(
            Container(
                name=c["name"],
                image=c.get("image", ""),
                # ECS reports cpu 0 for "no container-level reservation".
                cpu=_opt_int(c.get("cpu")) or None,
                memory=_opt_int(c.get("memory")),
                memory_reservation=_opt_int(c.get("memoryReservation")),
                container_port=_opt_int(ports[0].get("containerPort")) if ports else None,
                environment={e["name"]: e["value"] for e in c.get("environment") or []},
                log_group=opts.get("awslogs-group"),
                log_stream_prefix=opts.get("awslogs-stream-prefix"),
            )
        )
    return TaskDefinition(
        arn=td["taskDefinitionArn"],
        family=td["family"],
        cpu=_opt_int(td.get("cpu")),
        memory=_opt_int(td.get("memory")),
        network_mode=td.get("networkMode", "bridge"),
        containers=tuple(containers),
        requires_compatibilities=tuple(td.get("requiresCompatibilities") or ()),
    )


def _read_services(aws: Aws, arns: Iterable[str]) -> Iterator[Service]:
    ecs = aws.client("ecs")
    for arn in arns:
        # arn:aws:ecs:<region>:<account>:service/<cluster>/<service>
        cluster, name = arn.split(":service/", 1)[1].split("/", 1)
        described = ecs.describe_services(cluster=cluster, services=[name])["services"]
        if not described:
            raise CloudError(f"ECS does not know service {arn}")
        s = described[0]
        dc = s.get("deploymentConfiguration") or {}
        yield Service(
            cluster=cluster,
            name=s["serviceName"],
            arn=s["serviceArn"],
            desired_count=int(s["desiredCount"]),
            task_definition=_read_task_definition(aws, s["taskDefinition"]),
            load_balancers=tuple(
                ServiceLoadBalancer(lb["targetGroupArn"], lb["containerName"], int(lb["containerPort"]))
                for lb in s.get("loadBalancers", [])
                if lb.get("targetGroupArn")
            ),
            # ECS's defaults when unset: 100 / 200.
            # https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentConfiguration.html
            minimum_healthy_percent=int(dc.get("minimumHealthyPercent", 100)),
            maximum_percent=int(dc.get("maximumPercent", 200)),
            launch_type=s.get("launchType") or None,
        )


def _read_target_groups(aws: Aws, arns: list[str]) -> Iterator[TargetGroup]:
    elbv2 = aws.client("elbv2")
    for chunk in _chunks(arns, 20):
        for tg in elbv2.describe_target_groups(TargetGroupArns=chunk)["TargetGroups"]:
            attrs = {
                a["Key"]: a["Value"]
                for a in elbv2.describe_target_group_attributes(TargetGroupArn=tg["TargetGroupArn"])["Attributes"]
            }
            matcher = tg.get("Matcher") or {}
            yield TargetGroup(
                arn=tg["TargetGroupArn"],
                name=tg["TargetGroupName"],
                full_name=tg["TargetGroupArn"].split(":", 5)[5],
                port=int(tg.get("Port", 0)),
                protocol=tg.get("Protocol", "HTTP"),
                target_type=tg.get("TargetType", "instance"),
                health=HealthCheck(
                    path=tg.get("HealthCheckPath", "/"),
                    port=str(tg.get("HealthCheckPort", "traffic-port")),
                    protocol=tg.get("HealthCheckProtocol", "HTTP"),
                    interval=float(tg["HealthCheckIntervalSeconds"]),
                    timeout=float(tg["HealthCheckTimeoutSeconds"]),
                    healthy_threshold=int(tg["HealthyThresholdCount"]),
                    unhealthy_threshold=int(tg["UnhealthyThresholdCount"]),
                    matcher=str(matcher.get("HttpCode") or matcher.get("GrpcCode") or "200"),
                ),
                # ELBv2's default deregistration delay is 300 s.
                # https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-target-groups.html#deregistration-delay
                deregistration_delay=float(attrs.get("deregistration_delay.timeout_seconds", 300)),
            )


def _read_load_balancers(aws: Aws, arns: list[str]) -> Iterator[LoadBalancer]:
    from harness.elb.rules import parse_action
    elbv2 = aws.client("elbv2")
    for chunk in _chunks(arns, 20):
        for lb in elbv2.describe_load_balancers(LoadBalancerArns=chunk)["LoadBalancers"]:
            listeners = []
            for li in elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]:
                defaults = tuple(sorted((parse_action(a) for a in li.get("DefaultActions", [])), key=lambda a: a.order))
                tg_arn = next((arn for a in defaults if a.type == "forward" for arn, _ in a.target_groups), None)
                listeners.append(Listener(li["ListenerArn"], int(li["Port"]), li.get("Protocol", "HTTP"), tg_arn,
                                          default_actions=defaults, rules=tuple(_read_rules(elbv2, li["ListenerArn"]))))
            yield LoadBalancer(
                arn=lb["LoadBalancerArn"],
                name=lb["LoadBalancerName"],
                full_name=lb["LoadBalancerArn"].split(":loadbalancer/", 1)[1],
                dns_name=lb.get("DNSName", ""),
                listeners=tuple(listeners),
            )


def _read_rules(elbv2: Any, listener_arn: str) -> Iterator[Rule]:
    """Every rule of a listener (ListenerRules of any stack, and the default rule)."""
    from harness.elb.rules import parse_rule

    kwargs: dict[str, Any] = {"ListenerArn": listener_arn}
    while True:
        page = elbv2.describe_rules(**kwargs)
        for r in page.get("Rules", []):
            yield parse_rule(r)
        if not page.get("NextMarker"):
            return
        kwargs["Marker"] = page["NextMarker"]


def _read_composites(aws: Aws, names: list[str]) -> tuple[tuple[CompositeAlarm, ...], frozenset[str]]:
    """The stacks' composite alarms (DescribeAlarms CompositeAlarms) and, when there are any, the names and
    ARNs of every alarm of the account."""
    if not names:
        return (), frozenset()
    cw = aws.client("cloudwatch")
    wanted, found, known = set(names), list[CompositeAlarm](), set[str]()
    for page in cw.get_paginator("describe_alarms").paginate(AlarmTypes=["MetricAlarm", "CompositeAlarm"]):
        for item in (*page.get("MetricAlarms", []), *page.get("CompositeAlarms", [])):
            known.update((str(item["AlarmName"]), str(item.get("AlarmArn", ""))))
        found += [parse_composite(i) for i in page.get("CompositeAlarms", []) if i["AlarmName"] in wanted]
    return tuple(found), frozenset(known - {""})


def _read_alarms(aws: Aws, names: list[str], must_exist: bool = True) -> Iterator[Alarm]:
    from harness.cloudwatch.alarms import parse_alarm  # the one reader of DescribeAlarms entries

    cw = aws.client("cloudwatch")
    shared = [f.name for f in fields(Alarm)]
    found: dict[str, Alarm] = {}
    for chunk in _chunks(names, 100):
        for a in cw.describe_alarms(AlarmNames=chunk, AlarmTypes=["MetricAlarm"])["MetricAlarms"]:
            m = parse_alarm(a)
            found[m.name] = Alarm(**{
                **{name: getattr(m, name) for name in shared if hasattr(m, name)},
                # The model holds the effective values: DatapointsToAlarm defaults to EvaluationPeriods and
                # TreatMissingData to "missing", as in CloudWatch.
                # https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html
                "datapoints_to_alarm": m.datapoints_to_alarm or m.evaluation_periods,
                "treat_missing_data": m.treat_missing_data or "missing",
                "state": m.state_value,
                "description": m.description or "",
            })
    for name in names:
        if name not in found:
            if not must_exist:
                continue
            raise CloudError(f"CloudWatch does not know alarm {name}")
        yield found[name]


def _read_scalable_targets(aws: Aws, ids: list[str]) -> Iterator[ScalableTarget]:
    aas = aws.client("application-autoscaling")
    for ident in ids:
        # The CloudFormation Ref of a scalable target: <ResourceId>|<ScalableDimension>|<ServiceNamespace>
        resource_id, dimension, namespace = ident.split("|")
        found = aas.describe_scalable_targets(
            ServiceNamespace=namespace, ResourceIds=[resource_id], ScalableDimension=dimension
        )["ScalableTargets"]
        if not found:
            raise CloudError(f"Application Auto Scaling does not know scalable target {ident}")
        t = found[0]
        yield ScalableTarget(
            service_namespace=t["ServiceNamespace"],
            resource_id=t["ResourceId"],
            scalable_dimension=t["ScalableDimension"],
            min_capacity=int(t["MinCapacity"]),
            max_capacity=int(t["MaxCapacity"]),
        )


def _read_policies(aws: Aws, arns: list[str]) -> Iterator[ScalingPolicy]:
    aas = aws.client("application-autoscaling")
    wanted = set(arns)
    namespaces = {m.group(1) for arn in arns if (m := re.search(r":resource/([^/]+)/", arn))}
    found: dict[str, dict[str, Any]] = {}
    for ns in sorted(namespaces):
        kwargs: dict[str, Any] = {"ServiceNamespace": ns}
        while True:
            page = aas.describe_scaling_policies(**kwargs)
            for p in page["ScalingPolicies"]:
                if p["PolicyARN"] in wanted:
                    found[p["PolicyARN"]] = p
            if not page.get("NextToken"):
                break
            kwargs["NextToken"] = page["NextToken"]
    for arn in arns:
        p = found.get(arn)
        if p is None:
            raise CloudError(f"Application Auto Scaling does not know scaling policy {arn}")
        conf = p.get("StepScalingPolicyConfiguration") or {}
        yield ScalingPolicy(
            arn=arn,
            name=p["PolicyName"],
            resource_id=p["ResourceId"],
            policy_type=p["PolicyType"],
            adjustment_type=conf.get("AdjustmentType"),
            cooldown=float(conf["Cooldown"]) if conf.get("Cooldown") is not None else None,
            min_adjustment_magnitude=_opt_int(conf.get("MinAdjustmentMagnitude")),
            metric_aggregation_type=conf.get("MetricAggregationType"),
            steps=tuple(
                StepAdjustment(
                    lower=float(s["MetricIntervalLowerBound"]) if s.get("MetricIntervalLowerBound") is not None else None,
                    upper=float(s["MetricIntervalUpperBound"]) if s.get("MetricIntervalUpperBound") is not None else None,
                    adjustment=float(s["ScalingAdjustment"]),
                )
                for s in conf.get("StepAdjustments", [])
            ),
            service_namespace=p["ServiceNamespace"],
            scalable_dimension=p["ScalableDimension"],
            target_tracking=_target_tracking(p.get("TargetTrackingScalingPolicyConfiguration")),
            alarm_names=tuple(str(a["AlarmName"]) for a in p.get("Alarms") or [] if a.get("AlarmName")),
        )


def _target_tracking(conf: dict[str, Any] | None) -> TargetTracking | None:
    if not conf:
        return None
    spec = conf.get("PredefinedMetricSpecification") or {}
    return TargetTracking(
        target_value=float(conf["TargetValue"]),
        predefined_metric_type=spec.get("PredefinedMetricType"),
        resource_label=spec.get("ResourceLabel") or None,
        customized_metric=conf.get("CustomizedMetricSpecification") or None,
        scale_out_cooldown=float(conf["ScaleOutCooldown"]) if conf.get("ScaleOutCooldown") is not None else None,
        scale_in_cooldown=float(conf["ScaleInCooldown"]) if conf.get("ScaleInCooldown") is not None else None,
        # CloudFormation may hand the boolean over as the string "true".
        disable_scale_in=str(conf.get("DisableScaleIn", False)).lower() == "true",
    )


def _read_topics(aws: Aws, arns: list[str]) -> Iterator[Topic]:
    sns = aws.client("sns")
    for arn in arns:
        subs: list[Subscription] | None = []
        kwargs: dict[str, Any] = {"TopicArn": arn}
        while True:
            try:
                page = sns.list_subscriptions_by_topic(**kwargs)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in ("NotFound", "NotFoundException"):
                    subs = None  # an alarm action naming a topic that does not exist notifies no one
                    break
                raise
            subs.extend(  # type: ignore[union-attr]
                Subscription(s["Protocol"], s["Endpoint"], s["SubscriptionArn"]) for s in page.get("Subscriptions", [])
            )
            if not page.get("NextToken"):
                break
            kwargs["NextToken"] = page["NextToken"]
        if subs is not None:
            yield Topic(arn=arn, subscriptions=tuple(subs))
