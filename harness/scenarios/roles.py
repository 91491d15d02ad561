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
            default = tt.DEFAULT_COOLDOWN.get(policy.service_namespace, 0.0)
            value = tc.scale_out_cooldown if role == "scale_out" else tc.scale_in_cooldown
            return float(default if value is None else value)
        return float(policy.cooldown or 0.0)


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


def resolve(model: StackModel) -> Roles:
    """Find each role's alarm in `model`; raise a ConfigError naming what is missing for scaling."""
    if not model.services:
        raise ConfigError(f"stack {model.stack_name} has no ECS service")
    service = model.services[0]
    target = model.scalable_target(service.resource_id)
    if target is None:
        raise ConfigError(f"service {service.name} has no scalable target (AWS::ApplicationAutoScaling::ScalableTarget)")
    alarms: dict[str, Alarm] = {}
    policies: dict[str, ScalingPolicy] = {}
    for alarm in model.alarms:
        metric = (alarm.namespace, alarm.metric_name)
        for policy in _policies(model, alarm):
            role = {1: "scale_out", -1: "scale_in"}.get(_direction(policy, alarm))
            if role and metric == CPU and role not in alarms:
                alarms[role], policies[role] = alarm, policy
        if _notifies(model, alarm):
            if metric == CPU and alarm.comparison_operator.startswith("GreaterThan"):
                # The highest CPU alert is the one a scenario must hold load above.
                if "cpu_alert" not in alarms or alarm.threshold > alarms["cpu_alert"].threshold:
                    alarms["cpu_alert"] = alarm
            elif metric == TARGET_5XX:
                alarms.setdefault("target_5xx", alarm)
            elif metric == ELB_5XX:
                alarms.setdefault("elb_5xx", alarm)
    notifying = {a for r, al in alarms.items() if r not in policies for a in al.alarm_actions}
    emails = tuple(sorted({s.endpoint for t in model.topics if t.arn in notifying
                           for s in t.subscriptions if s.protocol in ("email", "email-json")}))
    return Roles(service=service, target=target, alarms=alarms, policies=policies, emails=emails)


# ------------------------------------------------------------------------ what a scenario needs

# The roles whose alarms alert people by email (through an SNS topic), not scale.
EMAIL_ROLES = ("cpu_alert", "target_5xx", "elb_5xx")


def step_roles(step: Any) -> set[str]:
    """The roles a scenario phase uses: its load's `above`/`below`, its `until` email/scaled, its `hold`."""
    out: set[str] = set()
    cpu = (getattr(step, "load", None) or {}).get("cpu") or {}
    for key in ("above", "below"):
        if cpu.get(key):
            out.add(str(cpu[key]))
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
