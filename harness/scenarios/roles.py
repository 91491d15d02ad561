"""What each alarm and policy of a deployed stack is *for*, found from its structure, not its name.

Scenarios speak of roles ("the alarm that scales out", "the CPU alarm that emails") so that one
scenario runs on any template of this shape, whatever its logical IDs and numbers: the roles are
resolved against the deployed stack, and every threshold, period, capacity and cooldown a scenario
uses comes from the alarm or policy that plays the role.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.autoscaling import target_tracking as tt
from harness.autoscaling.step import cooldown_or_default
from harness.errors import ConfigError
from harness.stack import Alarm, ScalableTarget, ScalingPolicy, Service, StackModel

CPU = ("AWS/ECS", "CPUUtilization")
TARGET_5XX = ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count")
ELB_5XX = ("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count")

ROLE_NAMES = ("scale_out", "scale_in", "cpu_alert", "target_5xx", "elb_5xx")


@dataclass(frozen=True)
class Roles:
    service: Service
    target: ScalableTarget
    alarms: dict[str, Alarm]  # role -> alarm; a role the stack does not have is absent
    policies: dict[str, ScalingPolicy]  # "scale_out" / "scale_in" -> the policy its alarm runs
    emails: tuple[str, ...]  # email endpoints subscribed to the topics the alerting alarms notify

    @property
    def min_capacity(self) -> int:
        return self.target.min_capacity

    @property
    def max_capacity(self) -> int:
        return self.target.max_capacity

    def alarm(self, role: str) -> Alarm:
        if role not in self.alarms:
            have = ", ".join(sorted(self.alarms)) or "none"
            raise ConfigError(f"the stack has no alarm in the role {role!r} (roles it has: {have})")
        return self.alarms[role]

    def role_of(self, alarm_name: str) -> str | None:
        return next((r for r, a in self.alarms.items() if a.name == alarm_name), None)

    def cooldown(self, role: str) -> float:
        policy = self.policies.get(role)
        if policy is None:
            return 0.0
        if policy.target_tracking is not None:
            # Target tracking: ScaleOutCooldown for the high alarm's role, ScaleInCooldown for the low one's,
            # AWS's default where the policy sets none (API_TargetTrackingScalingPolicyConfiguration).
            tc = policy.target_tracking
            value = tc.scale_out_cooldown if role == "scale_out" else tc.scale_in_cooldown
            return cooldown_or_default(value, policy.service_namespace)
        return cooldown_or_default(policy.cooldown, policy.service_namespace)


def _policies(model: StackModel, alarm: Alarm) -> list[ScalingPolicy]:
    arns = {p.arn: p for p in model.policies}
    # A target tracking alarm's action is the policy ARN plus `:createdBy/<uuid>`.
    actions = [a.split(":createdBy/", 1)[0] for a in alarm.alarm_actions]
    return [arns[a] for a in actions if a in arns]


def _notifies(model: StackModel, alarm: Alarm) -> bool:
    topics = {t.arn for t in model.topics}
    return any(a in topics for a in alarm.alarm_actions)


def _direction(policy: ScalingPolicy, alarm: Alarm) -> int:
    if policy.target_tracking is not None:
        # AWS's high alarm (above TargetValue) scales out, the low one (below 90% of it) scales in.
        return 1 if tt.invoked_by_high(alarm.comparison_operator) else -1
    total = sum(s.adjustment for s in policy.steps)
    return (total > 0) - (total < 0)


# ------------------------------------------------------------ what an alarm watches (pure, table-tested)

# How directly an alarm's metric sees the service: lower is closer. None: it can never see the service.
OWN = 0  # the service's own resources: its ECS service, or its target group behind its load balancer
SHARED = 1  # a resource the service shares: its cluster, or a load balancer in front of its target group
SCOPE_NAMES = {OWN: "the service's own", SHARED: "shared with the service"}


@dataclass(frozen=True)
class ServiceResources:
    """What a service's traffic and tasks reach, by the names CloudWatch dimensions use.

    `routes`: (load balancer full name "app/<name>/<id>", target group full name "targetgroup/<name>/<id>")
    for every target group the service registers into and every load balancer whose listener forwards to it
    (by default action or rule)."""

    cluster: str
    service: str
    routes: frozenset[tuple[str, str]]

    @property
    def load_balancers(self) -> frozenset[str]:
        return frozenset(lb for lb, _ in self.routes)

    @property
    def target_groups(self) -> frozenset[str]:
        return frozenset(tg for _, tg in self.routes)


def service_resources(model: StackModel, service: Service) -> ServiceResources:
    routes = {(lb.full_name, model.target_group(arn).full_name)
              for arn in service.target_group_arns if arn in model.target_groups
              for lb, _ in model.routes_to(arn)}
    return ServiceResources(service.cluster, service.name, frozenset(routes))


# The ALB metrics published per load balancer only (no TargetGroup dimension).
# https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html
ELB_ONLY_METRICS = frozenset({"HTTPCode_ELB_5XX_Count", "HTTPCode_ELB_500_Count", "HTTPCode_ELB_502_Count",
                              "HTTPCode_ELB_503_Count", "HTTPCode_ELB_504_Count", "HTTPCode_ELB_4XX_Count",
                              "HTTPCode_ELB_3XX_Count", "RejectedConnectionCount", "ActiveConnectionCount",
                              "NewConnectionCount", "ProcessedBytes", "ConsumedLCUs"})


def watch_scope(namespace: str, metric: str, dimensions: Mapping[str, str], res: ServiceResources) -> int | None:
    """How directly a metric with these dimensions sees the service `res` describes (OWN, SHARED), or None.

    CloudWatch matches a metric by its exact dimension set, and each publisher has its own sets:
    - AWS/ECS publishes per service (ClusterName + ServiceName) and per cluster (ClusterName alone): the
      service's pair is OWN; its cluster is SHARED (its tasks are part of the cluster's figure); another
      cluster or service, or any other set, never sees it.
      https://docs.aws.amazon.com/AmazonECS/latest/developerguide/cloudwatch-metrics.html#ecs_cloudwatch_metrics_dimensions
    - AWS/ApplicationELB publishes per load balancer (LoadBalancer) and per target group behind it
      (LoadBalancer + TargetGroup; RequestCountPerTarget also TargetGroup alone); the HTTPCode_ELB_* and
      connection metrics per load balancer only. A target group the service registers into, behind a load
      balancer that forwards to it, is OWN; a load balancer in front of it is SHARED for target metrics (it
      also counts the traffic of its other rules) and OWN for the load balancer's own codes (their finest
      dimension); a load balancer or target group the service's traffic never crosses sees none of it.
      https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html#load-balancer-metric-dimensions-alb
    The AvailabilityZone variants are not published by the harness (its targets have no zone): None.
    """
    names = frozenset(dimensions)
    if namespace == "AWS/ECS":
        if dimensions.get("ClusterName") != res.cluster:
            return None
        if names == {"ClusterName", "ServiceName"}:
            return OWN if dimensions["ServiceName"] == res.service else None
        return SHARED if names == {"ClusterName"} else None
    if namespace == "AWS/ApplicationELB":
        lb, tg = dimensions.get("LoadBalancer"), dimensions.get("TargetGroup")
        if names == {"LoadBalancer"}:
            if lb not in res.load_balancers:
                return None
            return OWN if metric in ELB_ONLY_METRICS else SHARED
        if metric in ELB_ONLY_METRICS:
            return None  # published per load balancer only: any other dimension set gets no datapoint
        if names == {"LoadBalancer", "TargetGroup"}:
            return OWN if (lb, tg) in res.routes else None
        if names == {"TargetGroup"} and metric == "RequestCountPerTarget":
            return OWN if tg in res.target_groups else None
        return None
    return None


def alarm_scope(alarm: Alarm, res: ServiceResources) -> int | None:
    return watch_scope(alarm.namespace, alarm.metric_name, alarm.dimensions, res)


def pick(candidates: Sequence[Alarm], res: ServiceResources, *, highest: bool = False) -> Alarm | None:
    """The alarm of `candidates` that watches the service most directly (first in stack order on a tie, or
    the highest threshold with `highest`); None when none of them can see the service at all."""
    scored = [(scope, i, a) for i, a in enumerate(candidates) if (scope := alarm_scope(a, res)) is not None]
    if not scored:
        return None
    best = min(s for s, _, _ in scored)
    tied = [(i, a) for s, i, a in scored if s == best]
    if highest:
        return max(tied, key=lambda ia: (ia[1].threshold, -ia[0]))[1]
    return min(tied, key=lambda ia: ia[0])[1]


def resolve(model: StackModel) -> Roles:
    """Find each role's alarm in `model`; raise a ConfigError naming what is missing for scaling.

    An alarm gets a role only if its metric can see the service: its dimensions name the service's own
    ECS service, target group or load balancer, or the cluster it runs in (`watch_scope`); among several,
    the one that watches the service's own resources wins. A scaling role also needs a policy on the
    service's own scalable target."""
    if not model.services:
        raise ConfigError(f"stack {model.stack_name} has no ECS service")
    service = model.services[0]
    target = model.scalable_target(service.resource_id)
    if target is None:
        raise ConfigError(f"service {service.name} has no scalable target (AWS::ApplicationAutoScaling::ScalableTarget)")
    res = service_resources(model, service)
    alarms: dict[str, Alarm] = {}
    policies: dict[str, ScalingPolicy] = {}
    scaling: dict[str, list[tuple[Alarm, ScalingPolicy]]] = {"scale_out": [], "scale_in": []}
    alerts: dict[str, list[Alarm]] = {"cpu_alert": [], "target_5xx": [], "elb_5xx": []}
    for alarm in model.alarms:
        metric = (alarm.namespace, alarm.metric_name)
        for policy in _policies(model, alarm):
            role = {1: "scale_out", -1: "scale_in"}.get(_direction(policy, alarm))
            if role and metric == CPU and policy.resource_id == target.resource_id:
                scaling[role].append((alarm, policy))
        if _notifies(model, alarm):
            if metric == CPU and alarm.comparison_operator.startswith("GreaterThan"):
                alerts["cpu_alert"].append(alarm)
            elif metric == TARGET_5XX:
                alerts["target_5xx"].append(alarm)
            elif metric == ELB_5XX:
                alerts["elb_5xx"].append(alarm)
    for role, pairs in scaling.items():
        chosen = pick([a for a, _ in pairs], res)
        if chosen is not None:
            alarms[role] = chosen
            policies[role] = next(p for a, p in pairs if a is chosen)
    for role, candidates in alerts.items():
        # The highest CPU alert is the one a scenario must hold load above.
        chosen = pick(candidates, res, highest=role == "cpu_alert")
        if chosen is not None:
            alarms[role] = chosen
    notifying = {a for r, al in alarms.items() if r not in policies for a in al.alarm_actions}
    emails = tuple(sorted({s.endpoint for t in model.topics if t.arn in notifying
                           for s in t.subscriptions if s.protocol in ("email", "email-json")}))
    return Roles(service=service, target=target, alarms=alarms, policies=policies, emails=emails)


# ------------------------------------------------------------------------ what a scenario needs

# The roles whose alarms alert people by email (through an SNS topic), not scale.
EMAIL_ROLES = ("cpu_alert", "target_5xx", "elb_5xx")


def step_roles(step: Any) -> set[str]:
    """The roles a scenario phase needs: its load's `above`/`below` (the first of a list: the others count
    only where the stack has them), its `until` email/scaled, its `hold`."""
    out: set[str] = set()
    cpu = (getattr(step, "load", None) or {}).get("cpu") or {}
    for key in ("above", "below"):
        if cpu.get(key):
            out.add(str(cpu[key] if isinstance(cpu[key], str) else cpu[key][0]))
    for key in ("email", "scaled"):
        if (getattr(step, "until", None) or {}).get(key):
            out.add(str(step.until[key]))
    hold = getattr(step, "hold", None) or {}
    for key in ("cooldown", "evaluations"):
        if hold.get(key):
            out.add(str(hold[key]))
    return out & set(ROLE_NAMES)


def expectation_roles(e: Mapping[str, Any]) -> set[str]:
    """The roles an expectation names (`scales_to: max_capacity` names a capacity, not a role)."""
    return {str(v) for k, v in e.items() if k != "during" and str(v) in ROLE_NAMES}


@dataclass(frozen=True)
class RolePlan:
    """What a scenario can do on this stack, decided before any load starts (pure: `plan_roles`).

    `missing`: roles it needs that the stack lacks -> the run stops at once.
    `skip_phases` / `skip_expectations`: what the stack cannot have because it emails no one (no SNS
    topic with an email subscriber, CDK's default): those phases are not run and those expectations are
    reported as not checked, never as passed. `reasons` says why, per phase and per expectation index."""

    missing: dict[str, tuple[str, ...]]
    have: tuple[str, ...]
    skip_phases: tuple[str, ...] = ()
    skip_expectations: tuple[int, ...] = ()
    reasons: dict[str, str] = field(default_factory=dict)

    @property
    def stop(self) -> bool:
        return bool(self.missing)

    def message(self) -> str:
        need = "; ".join(f"{role} (needed by {', '.join(where)})" for role, where in self.missing.items())
        return (f"the stack has no alarm in the role(s) this scenario needs: {need}. "
                f"Roles the stack has: {', '.join(self.have) or 'none'}")


def plan_roles(roles: Roles, steps: Sequence[Any], expect: Sequence[Mapping[str, Any]]) -> RolePlan:
    """Check a scenario's roles against the stack. Email roles a stack that emails no one cannot have are
    skipped (with their phases and expectations); any other missing role stops the scenario."""
    have = tuple(r for r in ROLE_NAMES if r in roles.alarms)
    # No email subscriber on the topics the alerting alarms notify (an alert stack whose Email parameter
    # is left empty, or none at all): SNS delivers no email however often they fire, so every email role
    # is one this stack cannot show. https://docs.aws.amazon.com/sns/latest/dg/sns-email-notifications.html
    emails_no_one = not roles.emails
    cannot = set(EMAIL_ROLES) if emails_no_one else set()
    missing: dict[str, list[str]] = {}
    skip_phases: list[str] = []
    reasons: dict[str, str] = {}
    for step in steps:
        needed = step_roles(step)
        if needed & cannot:
            skip_phases.append(step.phase)
            reasons[step.phase] = (f"not checked: the stack emails no one (no SNS topic with an email subscriber), "
                                   f"so no {', '.join(sorted(needed & cannot))} alert reaches anyone")
            continue
        for role in sorted(needed - set(roles.alarms)):
            missing.setdefault(role, []).append(f"phase {step.phase}")
    skip_exp: list[int] = []
    for i, e in enumerate(expect):
        named = expectation_roles(e)
        if named & cannot or str(e.get("during", "")) in skip_phases:
            skip_exp.append(i)
            reasons[f"expect:{i}"] = (f"not checked: the stack emails no one, so no "
                                      f"{', '.join(sorted(named & cannot)) or 'alert'} email this expectation is about "
                                      "can arrive")
            continue
        for role in sorted(named - set(roles.alarms)):
            missing.setdefault(role, []).append("expect " + ", ".join(f"{k}: {v}" for k, v in e.items()))
    return RolePlan({r: tuple(w) for r, w in missing.items()}, have, tuple(skip_phases), tuple(skip_exp), reasons)
