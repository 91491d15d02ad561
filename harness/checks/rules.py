"""The template checks, each a pure function of the deployed stack (and the ARNs the account knows).

Each rule quotes the AWS behaviour it rests on and cites its page; each is shown by its own template
under tests/data/check/. Numbers come from the model only: a template with other thresholds, periods or
capacities is judged by its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from harness import autoscaling
from harness.autoscaling.step import cooldown_or_default
from harness.checks.findings import ERROR, WARNING, Finding, Rule
from harness.cloudwatch.composite import children
from harness.cloudwatch.reason import java_double
from harness.stack import Alarm, ScalableTarget, ScalingPolicy, StackModel, StepAdjustment

STEP_DOC = "https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-step-scaling-policies.html"
STEP_API = "https://docs.aws.amazon.com/autoscaling/application/APIReference/API_StepScalingPolicyConfiguration.html"
ALARM_DOC = "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html"
MISSING_DOC = ALARM_DOC + "#alarms-and-missing-data"
DIMENSION_DOC = "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#Dimension"
ECS_METRICS_DOC = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/available-metrics.html"
ALB_METRICS_DOC = "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html"
TARGET_API = "https://docs.aws.amazon.com/autoscaling/application/APIReference/API_RegisterScalableTarget.html"
PREDEFINED_API = "https://docs.aws.amazon.com/autoscaling/application/APIReference/API_PredefinedMetricSpecification.html"
ACTIONS_API = "https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html"
COMPOSITE_API = "https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutCompositeAlarm.html"

STEP_NEVER_MATCHES = Rule(
    "step-never-matches", "Step policy can never match its alarm's side",
    "Step bounds are relative to the alarm threshold; a GreaterThan alarm's breaches are >= 0 and a LessThan "
    "alarm's are <= 0. When no step covers the breach, AWS changes nothing and records in the alarm history "
    "'Failed to execute AutoScaling action: No step adjustment found for metric value [...] and breach threshold ...'.",
    STEP_DOC)
POLICY_UNATTACHED = Rule(
    "policy-unattached", "Scaling policy attached to no alarm",
    "A step scaling policy runs only when a CloudWatch alarm names it in its actions.", STEP_DOC)
ACTION_DANGLING = Rule(
    "alarm-action-dangling", "Alarm action names nothing deployed",
    "AlarmActions, OKActions and InsufficientDataActions are ARNs of SNS topics, scaling policies, Lambda "
    "functions or EC2 actions; an ARN that names nothing is not run.", ACTIONS_API)
DIMENSIONS = Rule(
    "alarm-dimensions-never-match", "Alarm dimensions match nothing the service publishes",
    "CloudWatch treats each unique combination of dimensions as a separate metric: an alarm sees a metric "
    "only if its dimensions are exactly those the service publishes (ECS: ClusterName, ServiceName; ALB: "
    "LoadBalancer app/<name>/<id>, TargetGroup targetgroup/<name>/<id>).", DIMENSION_DOC)
FLAPPING = Rule(
    "scaling-flaps", "Scale-in and scale-out thresholds make the service flap",
    "With the same load spread over fewer tasks, utilization after removing k of N tasks is U x N / (N - k); "
    "if that lands above the scale-out threshold the scale-out alarm fires again. Thresholds that overlap let "
    "both alarms be in ALARM at once.", STEP_DOC)
COOLDOWN = Rule(
    "cooldown-shorter-than-alarm", "Cooldown shorter than its alarm needs to see the effect",
    "After a scaling activity the alarm needs Period x DatapointsToAlarm seconds of new datapoints before its "
    "state reflects the new capacity; a cooldown shorter than that lets the policy act again on the old data.",
    STEP_API)
CAPACITY = Rule(
    "capacity-out-of-range", "Capacities out of range",
    "MinCapacity must not exceed MaxCapacity. Application Auto Scaling keeps the desired count within "
    "[MinCapacity, MaxCapacity] only when a policy acts: a desired count outside the range stays there until then "
    "(below it, a scale-in does nothing and a scale-out first jumps to MinCapacity).", TARGET_API)
SPARSE = Rule(
    "sparse-metric-missing-data", "Sparse metric without TreatMissingData",
    "Elastic Load Balancing publishes error counts only when they are non-zero. With TreatMissingData 'missing' "
    "(the default) an evaluation range with no datapoint puts the alarm in INSUFFICIENT_DATA: it never shows OK "
    "and its OKActions never run.", MISSING_DOC)
TARGET_TRACKING_SOURCE = Rule(
    "target-tracking-no-data-source", "Target tracking metric has no data source in the stack",
    "ALBRequestCountPerTarget needs a ResourceLabel app/<lb>/<id>/targetgroup/<tg>/<id> naming a target group "
    "the scaled service is registered in, behind that load balancer; the ECSService* metrics need the target "
    "to be an ECS service.", PREDEFINED_API)
COMPOSITE_UNKNOWN_CHILD = Rule(
    "composite-alarm-unknown-child", "Composite alarm rule names an alarm that does not exist",
    "A composite alarm's AlarmRule reads the states of other alarms, named by AlarmName or ARN "
    "(ALARM(x), OK(x), INSUFFICIENT_DATA(x)); CloudWatch refuses a rule naming an alarm that is not there, and "
    "a composite cannot watch an alarm that does not exist.", COMPOSITE_API)

# Metrics ELB publishes only when non-zero (the ALB metrics page: "reported if there are requests... only
# when the value is non-zero" for the count metrics below).
SPARSE_ALB_COUNTS = ("HTTPCode_", "RejectedConnectionCount", "TargetConnectionErrorCount",
                     "ClientTLSNegotiationErrorCount", "TargetTLSNegotiationErrorCount")
# Per-task averages: the same load over fewer tasks raises them by N / (N - k).
PER_TASK_METRICS = {("AWS/ECS", "CPUUtilization"), ("AWS/ECS", "MemoryUtilization"),
                    ("AWS/ApplicationELB", "RequestCountPerTarget")}
ECS_DIMENSIONS = ({"ClusterName"}, {"ClusterName", "ServiceName"})
ALB_DIMENSION_NAMES = {"LoadBalancer", "TargetGroup", "AvailabilityZone"}


# ------------------------------------------------------------------------------------------ helpers


class _Ids:
    """Physical id -> logical id, for naming the template resource of each finding."""

    def __init__(self, model: StackModel) -> None:
        self.by_physical = {phys: logical for logical, phys in model.logical_ids.items()}

    def of(self, physical: str) -> str | None:
        return self.by_physical.get(physical)

    def target(self, t: ScalableTarget) -> str | None:
        # A scalable target's physical id (its Ref) is <ResourceId>|<ScalableDimension>|<ServiceNamespace>.
        return self.of(f"{t.resource_id}|{t.scalable_dimension}|{t.service_namespace}")


def _actions(alarm: Alarm) -> Iterator[tuple[str, str]]:
    for prop, arns in (("AlarmActions", alarm.alarm_actions), ("OKActions", alarm.ok_actions),
                       ("InsufficientDataActions", alarm.insufficient_data_actions)):
        for arn in arns:
            yield prop, arn


def _bound(value: float | None) -> str:
    return "null" if value is None else f"{value:g}"


def _steps(steps: tuple[StepAdjustment, ...]) -> str:
    return ", ".join(f"[{_bound(s.lower)}, {_bound(s.upper)}) -> {s.adjustment:+g}" for s in steps)


def _step_covers_side(step: StepAdjustment, above: bool) -> bool:
    """Whether any breach on the alarm's side falls in the step.

    "If the metric value is above the breach threshold, the lower bound is inclusive and the upper bound is
    exclusive. If the metric value is below the breach threshold, the lower bound is exclusive and the upper
    bound is inclusive." A GreaterThan alarm breaches at >= 0 (GreaterThanOrEqual at 0 itself), so a step
    reaches it only if its upper bound is null or > 0; a LessThan alarm breaches at <= 0, reached only by a
    lower bound that is null or < 0.
    """
    if above:
        return step.upper is None or step.upper > 0
    return step.lower is None or step.lower < 0


def _policy_alarms(model: StackModel) -> Iterator[tuple[Alarm, ScalingPolicy]]:
    """(alarm, step policy) for every alarm action that runs one of the stack's step policies on ALARM."""
    policies = {p.arn: p for p in model.policies}
    for alarm in model.alarms:
        for arn in alarm.alarm_actions:
            p = policies.get(arn)
            if p is not None and p.policy_type == "StepScaling":
                yield alarm, p


def _above(alarm: Alarm) -> bool | None:
    try:
        return autoscaling.is_above(alarm.comparison_operator)
    except ValueError:  # anomaly-band operators: no fixed side
        return None


# ---------------------------------------------------------------------------------------------- rules


def step_never_matches(model: StackModel, ids: _Ids, known: frozenset[str]) -> Iterator[Finding]:
    for alarm, policy in _policy_alarms(model):
        above = _above(alarm)
        if above is None or not policy.steps or any(_step_covers_side(s, above) for s in policy.steps):
            continue
        side = "breaches are >= 0 (metric above the threshold)" if above else "breaches are <= 0 (metric below the threshold)"
        only = "Its only step covers" if len(policy.steps) == 1 else "Its steps cover"
        covered = ("breaches < 0" if above else "breaches >= 0")
        if above:
            fix = ("give the step MetricIntervalLowerBound: 0 (and no upper bound) so it covers every breach "
                   "above the threshold")
        else:
            fix = ("give the step MetricIntervalUpperBound: 0 (and no lower bound) so it covers every breach "
                   "below the threshold")
        yield Finding(
            STEP_NEVER_MATCHES, ERROR, ids.of(policy.arn), policy.name,
            f"{policy.name} is run by {alarm.name} ({alarm.comparison_operator} {alarm.threshold:g}), whose {side}. "
            f"{only} {covered} ({_steps(policy.steps)}): every invocation fails with 'No step adjustment found "
            f"for metric value [...] and breach threshold {java_double(alarm.threshold)}' and the capacity never "
            "changes.",
            fix, ("Properties", "StepScalingPolicyConfiguration", "StepAdjustments"))


def policy_unattached(model: StackModel, ids: _Ids, known: frozenset[str]) -> Iterator[Finding]:
    named = {arn for a in model.alarms for _, arn in _actions(a)}
    for p in model.policies:
        # Target tracking policies create and own their alarms (TargetTracking-...-AlarmHigh/Low).
        if p.policy_type == "StepScaling" and p.arn not in named:
            yield Finding(POLICY_UNATTACHED, WARNING, ids.of(p.arn), p.name,
                          f"no alarm of the stack names scaling policy {p.name} in its actions: it never runs.",
                          "add the policy's Ref to the AlarmActions of the alarm that should run it, or delete it",
                          ("Properties",))


def _policy_key(arn: str) -> tuple[str, str] | None:
    """(resource id, policy name) of a scaling policy ARN:
    arn:aws:autoscaling:<region>:<account>:scalingPolicy:<id>:resource/<ns>/<resource id>:policyName/<name>[:...]"""
    m = re.search(r":resource/[^/]+/(.+?):policyName/([^:]+)", arn)
    return (m.group(1), m.group(2)) if m else None


def action_dangling(model: StackModel, ids: _Ids, known: frozenset[str]) -> Iterator[Finding]:
    own = {p.arn for p in model.policies} | {t.arn for t in model.topics}
    # A target tracking policy's own alarms may spell its ARN with a createdBy suffix: same policy.
    policy_keys = {(p.resource_id, p.name) for p in model.policies} | {k for a in known if (k := _policy_key(a))}
    for alarm in model.alarms:
        for prop, arn in _actions(alarm):
            if _policy_key(arn) in policy_keys:
                continue
            parts = arn.split(":")
            service = parts[2] if len(parts) > 2 else ""
            # Only the kinds the account can be asked about; EC2 (arn:aws:automate:...), SSM and others pass.
            if parts[0] == "arn" and service not in ("sns", "autoscaling", "application-autoscaling", "lambda"):
                continue
            if arn in own or arn in known:
                continue
            yield Finding(ACTION_DANGLING, ERROR, ids.of(alarm.name), alarm.name,
                          f"{prop} of {alarm.name} names {arn}, which is neither a topic nor a policy of the stack "
                          "nor anything else deployed: the action cannot run.",
                          "refer to the topic or policy with !Ref (or import its ARN from the stack that exports it)",
                          ("Properties", prop))


def dimensions_never_match(model: StackModel, ids: _Ids, known: frozenset[str]) -> Iterator[Finding]:
    services = {(s.cluster, s.name) for s in model.services}
    clusters = {s.cluster for s in model.services}
    lbs = {lb.full_name for lb in model.load_balancers}
    tgs = {tg.full_name for tg in model.target_groups.values()}
    for alarm in model.alarms:
        dims = alarm.dimensions
        problems: list[str] = []
        fix = ""
        if alarm.namespace == "AWS/ECS" and services:
            names = set(dims)
            if names not in ECS_DIMENSIONS:
                problems.append(f"AWS/ECS publishes {alarm.metric_name} with dimensions ClusterName or "
                                f"ClusterName + ServiceName, not {', '.join(sorted(names)) or 'none'}")
                fix = "use exactly the dimensions ClusterName and ServiceName"
            if "ClusterName" in dims and dims["ClusterName"] not in clusters:
                problems.append(f"ClusterName {dims['ClusterName']!r} is not the cluster of the stack's service "
                                f"({', '.join(sorted(clusters))})")
                fix = "set ClusterName to the cluster the service runs in (the value its Cluster property imports)"
            if "ServiceName" in dims and "ClusterName" in dims and dims["ClusterName"] in clusters \
                    and (dims["ClusterName"], dims["ServiceName"]) not in services:
                problems.append(f"ServiceName {dims['ServiceName']!r} is not the stack's service "
                                f"({', '.join(sorted(n for _, n in services))})")
                fix = "set ServiceName to !GetAtt <Service>.Name"
            elif "ServiceName" in dims and "ClusterName" not in dims and dims["ServiceName"] not in {n for _, n in services}:
                problems.append(f"ServiceName {dims['ServiceName']!r} is not the stack's service")
                fix = "set ServiceName to !GetAtt <Service>.Name"
        elif alarm.namespace == "AWS/ApplicationELB" and lbs:
            extra = set(dims) - ALB_DIMENSION_NAMES
            if extra:
                problems.append(f"AWS/ApplicationELB has no dimension {', '.join(sorted(extra))}")
                fix = "use LoadBalancer (!GetAtt <LB>.LoadBalancerFullName) and/or TargetGroup (!GetAtt <TG>.TargetGroupFullName)"
            if "LoadBalancer" in dims and dims["LoadBalancer"] not in lbs:
                problems.append(f"LoadBalancer {dims['LoadBalancer']!r} is not the full name (app/<name>/<id>) of "
                                f"the stack's load balancer ({', '.join(sorted(lbs))})")
                fix = "set LoadBalancer to !GetAtt <LoadBalancer>.LoadBalancerFullName"
            if "TargetGroup" in dims and dims["TargetGroup"] not in tgs:
                problems.append(f"TargetGroup {dims['TargetGroup']!r} is not the full name (targetgroup/<name>/<id>) "
                                "of a target group of the stack")
                fix = "set TargetGroup to !GetAtt <TargetGroup>.TargetGroupFullName"
        if problems:
            yield Finding(DIMENSIONS, ERROR, ids.of(alarm.name), alarm.name,
                          f"{alarm.name} watches {alarm.namespace} {alarm.metric_name} with "
                          f"{dict(sorted(dims.items()))}: " + "; ".join(problems)
                          + ". No datapoint will ever match; the alarm stays in INSUFFICIENT_DATA (or what "
                            "TreatMissingData says).",
                          fix, ("Properties", "Dimensions"))


def _removed(policy: ScalingPolicy, step: StepAdjustment, capacity: int, minimum: int) -> int:
    change = autoscaling.adjustment(capacity, step.adjustment, policy.adjustment_type, policy.min_adjustment_magnitude)
    return min(-change, capacity - minimum)  # capacity never goes below MinCapacity


def flapping(model: StackModel, ids: _Ids, known: frozenset[str]) -> Iterator[Finding]:
    pairs = list(_policy_alarms(model))
    for low, down in pairs:
        if _above(low) is not False or (low.namespace, low.metric_name) not in PER_TASK_METRICS:
            continue
        target = model.scalable_target(down.resource_id)
        if target is None:
            continue
        for high, up in pairs:
            if (_above(high) is not True or up.resource_id != down.resource_id
                    or (high.namespace, high.metric_name, high.dimensions) != (low.namespace, low.metric_name, low.dimensions)):
                continue
            if not any(s.adjustment > 0 for s in up.steps) or not any(s.adjustment < 0 for s in down.steps):
                continue
            if low.threshold >= high.threshold:
                yield Finding(FLAPPING, ERROR, ids.of(low.name), low.name,
                              f"scale-in alarm {low.name} ({low.comparison_operator} {low.threshold:g}) and scale-out "
                              f"alarm {high.name} ({high.comparison_operator} {high.threshold:g}) overlap: a "
                              f"{low.metric_name} between them puts both in ALARM, scaling in and out in turn.",
                              f"keep the scale-in threshold well below the scale-out threshold ({high.threshold:g})",
                              ("Properties", "Threshold"))
                continue
            worst = _worst_scale_in(down, low, target)
            if worst is None:
                continue
            value, n, k, after = worst
            crosses = after >= high.threshold if high.comparison_operator.endswith("OrEqualToThreshold") \
                else after > high.threshold
            if crosses:
                yield Finding(
                    FLAPPING, WARNING, ids.of(low.name), low.name,
                    f"at {n} tasks and {low.metric_name} {value:g} ({low.name}'s threshold {low.threshold:g}), "
                    f"{down.name} removes {k}; the same load on {n - k} tasks is {value:g} x {n}/{n - k} = "
                    f"{after:.1f}, over {high.name}'s threshold {high.threshold:g}: it scales out again, and flaps.",
                    f"lower the scale-in threshold below {high.threshold * (n - k) / n:.1f} (or remove fewer tasks "
                    "per step)",
                    ("Properties", "Threshold"))


def _worst_scale_in(down: ScalingPolicy, low: Alarm, target: ScalableTarget) -> tuple[float, int, int, float] | None:
    """(metric value, capacity N, tasks removed k, utilization after) with the highest utilization after a scale-in.

    For each capacity the target allows above MinCapacity, and each step on the alarm's (lower) side, the
    metric at the top of that step's range (the threshold itself for the first step) is the highest value at
    which it removes that much capacity.
    """
    worst: tuple[float, int, int, float] | None = None
    for n in range(max(target.min_capacity + 1, 1), target.max_capacity + 1):
        for step in down.steps:
            if not _step_covers_side(step, above=False) or step.adjustment >= 0:
                continue
            value = low.threshold + min(step.upper if step.upper is not None else 0.0, 0.0)
            k = _removed(down, step, n, target.min_capacity)
            if k <= 0 or k >= n:
                continue
            after = value * n / (n - k)
            if worst is None or after > worst[3]:
                worst = (value, n, k, after)
    return worst


def cooldown_shorter(model: StackModel, ids: _Ids, known: frozenset[str]) -> Iterator[Finding]:
    for alarm, policy in _policy_alarms(model):
        if policy.target_tracking is not None:  # its alarms and cooldowns are AWS's own (ScaleIn/OutCooldown)
            continue
        cooldown = cooldown_or_default(policy.cooldown, policy.service_namespace)
        has = (f"has a Cooldown of {cooldown:g} s" if policy.cooldown is not None
               else f"sets no Cooldown, so it runs with AWS's default of {cooldown:g} s for its scalable target")
        needed = alarm.period * alarm.datapoints_to_alarm
        if cooldown < needed:
            yield Finding(COOLDOWN, WARNING, ids.of(policy.arn), policy.name,
                          f"{policy.name} {has}, but {alarm.name} needs "
                          f"{alarm.period} s x {alarm.datapoints_to_alarm} datapoint(s) = {needed} s of new data to see "
                          "what a scaling activity did: the policy can act again on datapoints from before it.",
                          f"set Cooldown to at least {needed} (Period x DatapointsToAlarm)",
                          ("Properties", "StepScalingPolicyConfiguration", "Cooldown"))


def capacity_out_of_range(model: StackModel, ids: _Ids, known: frozenset[str]) -> Iterator[Finding]:
    for t in model.scalable_targets:
        if t.min_capacity > t.max_capacity:
            yield Finding(CAPACITY, ERROR, ids.target(t), t.resource_id,
                          f"MinCapacity {t.min_capacity} is greater than MaxCapacity {t.max_capacity}.",
                          "make MinCapacity <= MaxCapacity", ("Properties", "MinCapacity"))
    for s in model.services:
        st = model.scalable_target(s.resource_id)
        if st is None or st.min_capacity > st.max_capacity:
            continue
        if not st.min_capacity <= s.desired_count <= st.max_capacity:
            yield Finding(CAPACITY, WARNING, ids.of(s.arn), s.name,
                          f"DesiredCount {s.desired_count} is outside [MinCapacity {st.min_capacity}, MaxCapacity "
                          f"{st.max_capacity}]: the service starts there and stays until a scaling policy acts.",
                          f"set DesiredCount between {st.min_capacity} and {st.max_capacity}",
                          ("Properties", "DesiredCount"))


def sparse_metric(model: StackModel, ids: _Ids, known: frozenset[str]) -> Iterator[Finding]:
    for a in model.alarms:
        if a.namespace != "AWS/ApplicationELB" or not a.metric_name.startswith(SPARSE_ALB_COUNTS):
            continue
        if a.treat_missing_data == "missing":
            yield Finding(SPARSE, ERROR, ids.of(a.name), a.name,
                          f"{a.name} watches {a.metric_name}, which the load balancer publishes only when it is "
                          "non-zero, and has no TreatMissingData: with no errors the alarm sits in INSUFFICIENT_DATA, "
                          "and after an ALARM it never returns to OK.",
                          "add TreatMissingData: notBreaching (no datapoint means no errors)", ("Properties",))


def target_tracking_source(model: StackModel, ids: _Ids, known: frozenset[str]) -> Iterator[Finding]:
    services = {s.resource_id: s for s in model.services}
    for p in model.policies:
        tt = p.target_tracking
        if p.policy_type != "TargetTrackingScaling" or tt is None or tt.predefined_metric_type is None:
            continue
        metric = tt.predefined_metric_type
        service = services.get(p.resource_id)
        problem = ""
        fix = ""
        if metric.startswith("ECSService") and service is None:
            problem = f"{metric} is published by an ECS service, but {p.resource_id} is not one of the stack's services"
            fix = "scale a service of this stack (ResourceId service/<cluster>/<service>)"
        elif metric == "ALBRequestCountPerTarget":
            attached = set() if service is None else set(service.target_group_arns)
            labels = set()
            for arn in attached:
                tg = model.target_groups.get(arn)
                lb = model.load_balancer_for(arn)
                if tg is not None and lb is not None:
                    labels.add(f"{lb.full_name}/{tg.full_name}")
            if not labels:
                problem = ("ALBRequestCountPerTarget counts requests per target of a target group, but the scaled "
                           "service is registered in no target group behind a load balancer of the stack")
                fix = "attach the service to a target group (LoadBalancers) behind a listener, or use another metric"
            elif tt.resource_label not in labels:
                problem = (f"its ResourceLabel {tt.resource_label!r} names no target group the service is registered "
                           f"in (expected {' or '.join(sorted(labels))})")
                fix = ("set ResourceLabel to !Join ['/', [!GetAtt <LB>.LoadBalancerFullName, "
                       "!GetAtt <TG>.TargetGroupFullName]]")
        if problem:
            yield Finding(TARGET_TRACKING_SOURCE, ERROR, ids.of(p.arn), p.name,
                          f"target tracking policy {p.name} tracks {metric} at {tt.target_value:g}: {problem}. Its "
                          "alarms get no data and it never scales.",
                          fix, ("Properties", "TargetTrackingScalingPolicyConfiguration", "PredefinedMetricSpecification"))


def composite_unknown_child(model: StackModel, ids: _Ids, known: frozenset[str]) -> Iterator[Finding]:
    for c in model.composite_alarms:
        missing = [name for name in children(c.rule) if name not in model.account_alarms]
        if missing:
            yield Finding(COMPOSITE_UNKNOWN_CHILD, ERROR, ids.of(c.name), c.name,
                          f"the AlarmRule of {c.name} ({c.alarm_rule}) names {', '.join(missing)}, which "
                          f"{'is' if len(missing) == 1 else 'are'} no alarm of the account: CloudWatch refuses the "
                          "rule, and the composite could never see that state.",
                          "name the alarm as it is deployed: !Ref its AWS::CloudWatch::Alarm (its name) or "
                          "!GetAtt <Alarm>.Arn, and add DependsOn if it is named by a literal",
                          ("Properties", "AlarmRule"))


CheckFn = Callable[[StackModel, _Ids, frozenset[str]], Iterator[Finding]]
RULES: tuple[tuple[Rule, CheckFn], ...] = (
    (STEP_NEVER_MATCHES, step_never_matches),
    (POLICY_UNATTACHED, policy_unattached),
    (ACTION_DANGLING, action_dangling),
    (DIMENSIONS, dimensions_never_match),
    (FLAPPING, flapping),
    (COOLDOWN, cooldown_shorter),
    (CAPACITY, capacity_out_of_range),
    (SPARSE, sparse_metric),
    (TARGET_TRACKING_SOURCE, target_tracking_source),
    (COMPOSITE_UNKNOWN_CHILD, composite_unknown_child),
)


def check_stack(model: StackModel, known_arns: frozenset[str] = frozenset()) -> list[Finding]:
    """Every rule's findings for `model`, errors first. Pure.

    `known_arns`: ARNs the account holds outside the stack (topics, policies, functions), so an alarm action
    naming another stack's topic is not reported as dangling.
    """
    ids = _Ids(model)
    found = [f for _, rule in RULES for f in rule(model, ids, known_arns)]
    return sorted(found, key=lambda f: (f.severity != ERROR, f.logical_id or f.resource))
