"""What a model run tells a capacity planner, in the formats of live runs: figures, verdicts, report dict.

The report dict has the shape `harness run` writes (events on one timeline, stack, verdicts, emails), so
`harness.report.write_report` renders it with the same charts; on top it carries `mode: "model"`, the
model's `assumptions` (shown in a box in report.html) and a `summary` of the planning figures.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from harness.cloudwatch.evaluate import breaches
from harness.errors import ConfigError
from harness.events import AlarmAction, AlarmTransition, Event, MailSent, ScalingActivity
from harness.model import rules
from harness.model.engine import CPU, ModelResult, decisions
from harness.report import offset
from harness.scenarios import expect as live_expect
from harness.scenarios.roles import Roles, resolve

# Expectations: the live ones that read only the timeline, plus two of the model's own.
LIVE_EXPECTATIONS = ("scales_to", "never_above", "never_below", "email", "alarm_follows_crossing", "cooldown_respected")
MODEL_EXPECTATIONS = ("max_utilization_below", "no_errors")
BEST_BY = ("task_hours", "cost", "5xx", "peak_tasks", "peak_utilization", "p95_utilization", "minutes_at_max",
           "emails", "scaling_activities")


def p95(values: Sequence[float]) -> float | None:
    """Nearest-rank 95th percentile (as the alarm evaluator computes percentiles), None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(0.95 * len(ordered))) - 1]


def summary(result: ModelResult) -> dict[str, Any]:
    """The planning figures of one model run."""
    minutes = result.minutes
    cpu = [m.cpu for m in minutes if m.cpu is not None]
    mem = [m.memory for m in minutes if m.memory is not None]
    target = result.stack.scalable_target(result.service.resource_id)
    max_cap = target.max_capacity if target else None
    above: dict[str, int] = {}
    for alarm in result.stack.alarms:
        if (alarm.namespace, alarm.metric_name) == CPU:
            above[f"{alarm.name} ({alarm.comparison_operator} {alarm.threshold:g})"] = sum(
                1 for m in minutes if m.cpu is not None and breaches(m.cpu, alarm.threshold, alarm.comparison_operator))
    billed = sum(m.billed_seconds for m in minutes)
    events = result.events
    return {
        "minutes": len(minutes),
        "requests": round(sum(m.arrived for m in minutes), 3),
        "served": round(sum(m.served for m in minutes), 3),
        "peak_tasks": max((m.running for m in minutes), default=0),
        "peak_desired": max((m.desired for m in minutes), default=0),
        "min_desired": min((m.desired for m in minutes), default=0),
        "peak_utilization": max(cpu) if cpu else None,
        "p95_utilization": p95(cpu),
        "peak_memory_utilization": max(mem) if mem else None,
        "minutes_above_threshold": above,
        "minutes_at_max": sum(1 for m in minutes if max_cap is not None and m.desired >= max_cap),
        "max_capacity": max_cap,
        "elb_5xx": round(sum(m.elb_5xx for m in minutes), 3),
        "elb_503": round(sum(m.elb_503 for m in minutes), 3),
        "elb_504": round(sum(m.elb_504 for m in minutes), 3),
        "target_5xx": round(sum(m.target_5xx for m in minutes), 3),
        "5xx": round(sum(m.elb_5xx + m.target_5xx for m in minutes), 3),
        "max_queued": round(max((m.queued for m in minutes), default=0.0), 3),
        "task_hours": round(billed / 3600.0, 4),
        "task_minutes": round(billed / 60.0, 3),
        "cost": round(rules.cost(billed, result.cpu_units, result.memory_mib, result.config.vcpu_hour_price,
                                 result.config.gb_hour_price), 4),
        "alarm_transitions": sum(1 for e in events if isinstance(e.typed, AlarmTransition)),
        "emails": sum(1 for e in events if isinstance(e.typed, MailSent)),
        "scaling_activities": sum(1 for e in events if isinstance(e.typed, ScalingActivity)),
        "failed_actions": sum(1 for e in events if isinstance(e.typed, AlarmAction) and not e.typed.ok),
    }


def assumptions(result: ModelResult) -> list[str]:
    """The model's rules and settings, in words, for the report's assumptions box."""
    c = result.config
    tg = result.stack.target_group(result.service.target_group_arns[0]) if result.service.target_group_arns else None
    cap = rules.task_capacity_rps(result.cpu_units, c.cost_ms)
    out = [
        "This is a MODEL, not a live run: no task, load balancer or cloud ran; the stack's numbers were read "
        "once from a deployment to the embedded cloud, then its alarms and policies ran on a virtual clock.",
        f"Traffic: {result.trace.name}, {result.trace.minutes} minute(s), one offered rate per minute.",
        f"CPU per request: {c.cost_ms:g} ms ({c.cost_source}); CPU reservation per task: {result.cpu_units} units "
        f"({result.cpu_source}).",
        "Per-minute CPUUtilization = CPU seconds of the requests served / (RUNNING tasks x reserved vCPU x 60 s) x 100"
        + (f", times (1 + N(0, {c.noise:g})) noise, seed {c.seed}" if c.noise else ", no noise") + ".",
        f"Capacity: a task serves at most {cap:.4g} requests/s (reserved vCPU / CPU per request: 100% is the ceiling).",
        f"Start-up: a started task listens after {c.startup_seconds:g} s and serves after "
        + (f"{tg.health.healthy_threshold} x {tg.health.interval:g} s of passing health checks (the target group's "
           "healthy threshold x interval)." if tg else "its start-up (no target group).")
        + " The tasks of the initial desired count serve from the start.",
        "Scale-in: the newest tasks stop first (the scheduler's plan); a stopped task drains for the target "
        f"group's deregistration delay ({tg.deregistration_delay:g} s) serving nothing new, billed until it stops."
        if tg else "Scale-in: the newest tasks stop first.",
        "Overload: requests above capacity queue, at most as many as the serving tasks finish within "
        f"{c.queue_timeout:g} s (the ALB idle timeout); the rest fail as ELB 504. With no routable task every "
        "request is an ELB 503. With no healthy target the ALB fails open to every registered one.",
        f"Target 5XX: {c.target_error_rate:g} of the served requests.",
        memory_assumption(result),
        "Alarms: evaluated every minute with the live evaluator's pure rules (M of N, TreatMissingData, "
        "CloudWatch's reasons); load balancer counts are published only in minutes where they are non-zero.",
        "Actions: SNS topics email every email/email-json subscriber (subscriptions taken as confirmed); scaling "
        "policies run the live step/target-tracking decisions with their cooldowns, invoked again every minute "
        "while the alarm stays in ALARM; no ECS deployment is in progress.",
        f"Cost: task-hours (start to stop) x ({result.cpu_units / rules.CPU_UNITS_PER_VCPU:g} vCPU x "
        f"${c.vcpu_hour_price:g}/vCPU-hour + {result.memory_mib / 1024:g} GB x ${c.gb_hour_price:g}/GB-hour)"
        + (" (defaults: AWS Fargate Linux/x86 on-demand list prices, us-east-1)."
           if (c.vcpu_hour_price, c.gb_hour_price) == (rules.FARGATE_VCPU_HOUR, rules.FARGATE_GB_HOUR) else "."),
    ]
    out.extend(result.unmodeled)
    return out


def memory_assumption(result: ModelResult) -> str:
    c = result.config
    if c.memory_baseline_mib is None:
        return ("Memory: not modelled (no --memory-baseline-mib and no memory_mib in a calibration): "
                "MemoryUtilization has no datapoints.")
    if not result.memory_mib:
        return "Memory: not modelled: the task definition reserves no memory, so MemoryUtilization is not published."
    return (f"Memory per task = {c.memory_baseline_mib:g} MiB ({c.memory_source}) + {c.memory_per_request_mib:g} MiB "
            "per request in the task at once; requests at once (Little's law) = requests served per task-second x "
            f"the service time at the reservation ({c.cost_ms:g} ms / {result.cpu_units / rules.CPU_UNITS_PER_VCPU:g} "
            "vCPU) + the queued requests per running task. Per-minute MemoryUtilization = that / the task's "
            f"{result.memory_mib} MiB x 100 (every task alike).")


# ------------------------------------------------------------------------------------------ expectations


def parse_expectations(items: Sequence[str]) -> list[dict[str, Any]]:
    """`--expect KEY[=VALUE]` -> expectation mappings like a scenario's `expect` list; bad ones named."""
    out: list[dict[str, Any]] = []
    for item in items:
        key, eq, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if key not in LIVE_EXPECTATIONS + MODEL_EXPECTATIONS:
            raise ConfigError(f"--expect {item!r}: unknown expectation {key!r} (known: "
                              f"{', '.join(LIVE_EXPECTATIONS + MODEL_EXPECTATIONS)})")
        if key == "no_errors":
            out.append({key: True})
        elif key == "max_utilization_below":
            try:
                out.append({key: float(value)})
            except ValueError:
                raise ConfigError(f"--expect {item!r}: max_utilization_below needs a number (percent)") from None
        else:
            if not eq or not value:
                raise ConfigError(f"--expect {item!r}: {key} needs a value (a role or a stack quantity)")
            out.append({key: value})
    return out


def check(expectations: Sequence[Mapping[str, Any]], result: ModelResult) -> list[dict[str, Any]]:
    roles: Roles | None = None
    verdicts: list[dict[str, Any]] = []
    figures = summary(result)
    for e in expectations:
        (key, arg), = e.items()
        if key == "max_utilization_below":
            peak = figures["peak_utilization"]
            verdicts.append({"name": f"CPUUtilization stays below {float(arg):g}%",
                             "expected": f"peak < {float(arg):g}%",
                             "observed": "no CPU datapoint" if peak is None else f"peak {peak:.1f}%",
                             "passed": peak is not None and peak < float(arg)})
        elif key == "no_errors":
            verdicts.append({"name": "no request fails with a 5XX", "expected": "0 ELB and target 5XX",
                             "observed": f"{figures['elb_5xx']:.0f} ELB 5XX, {figures['target_5xx']:.0f} target 5XX",
                             "passed": figures["5xx"] == 0})
        else:
            if roles is None:
                roles = resolve(result.stack)
            try:
                verdicts.append(live_expect.check(e, result.events, roles, {}, result.t0))
            except (ConfigError, KeyError) as err:
                verdicts.append({"name": f"{key}: {arg}", "expected": str(arg), "observed": f"cannot check: {err}",
                                 "passed": False})
    return verdicts


# ------------------------------------------------------------------------------------------------ report


def build_report(result: ModelResult, verdicts: Sequence[Mapping[str, Any]], wall_seconds: float, *,
                 template: str, params: Mapping[str, str], extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    stack = result.stack
    try:
        roles: Roles | None = resolve(stack)
    except ConfigError:
        roles = None
    alarms = [{"name": a.name, "metric": a.metric_name, "namespace": a.namespace, "statistic": a.statistic,
               "period": a.period, "evaluation_periods": a.evaluation_periods, "threshold": a.threshold,
               "comparison_operator": a.comparison_operator, "role": roles.role_of(a.name) if roles else None}
              for a in stack.alarms]
    events = [{"time": e.time, "kind": e.kind, **e.data} for e in result.events]
    emails = [{"time": e.time, "to": e.typed.to, "subject": e.typed.subject, "body": e.typed.body}
              for e in result.events if isinstance(e.typed, MailSent)]
    span = result.t1 - result.t0
    report: dict[str, Any] = {
        "mode": "model",
        "scenario": f"model: {result.trace.name}",
        "description": "A model run: the stack's own alarms and policies on a traffic trace, on a virtual clock "
                       "(see the assumptions).",
        "template": template,
        "parameters": dict(params),
        "time_scale": span / max(wall_seconds, 1e-9),
        "cloud": "none in the loop (stack read once from the embedded cloud)",
        "started": result.t0,
        "ended": result.t1,
        "wall_seconds": wall_seconds,
        "template_seconds": span,
        "passed": all(v.get("passed") is True for v in verdicts) if verdicts else None,
        "cpu_cost_ms": result.config.cost_ms,
        "assumptions": assumptions(result),
        "summary": summary(result),
        "decisions": decisions(result.events),
        "stack": {
            "alarms": alarms,
            "scalable_targets": [{"resource_id": t.resource_id, "min_capacity": t.min_capacity,
                                  "max_capacity": t.max_capacity} for t in stack.scalable_targets],
            "policies": [{"name": p.name, "adjustment_type": p.adjustment_type or p.policy_type,
                          "cooldown": p.cooldown, "steps": [s.__dict__ for s in p.steps]} for p in stack.policies],
        },
        "phases": [],
        "events": events,
        "verdicts": list(verdicts),
        "emails": emails,
        "load": {},
        "python": sys.version.split()[0],
    }
    if extra:
        report.update(extra)
    return report


def summary_lines(figures: Mapping[str, Any]) -> list[str]:
    """The planning figures as terminal lines."""
    def pct(v: Any) -> str:
        return "n/a" if v is None else f"{v:.1f}%"

    lines = [
        f"tasks      peak {figures['peak_tasks']} running, desired {figures['min_desired']}..{figures['peak_desired']}, "
        f"{figures['minutes_at_max']} minute(s) at MaxCapacity ({figures['max_capacity']})",
        f"cpu        peak {pct(figures['peak_utilization'])}, p95 {pct(figures['p95_utilization'])}",
    ]
    if figures.get("peak_memory_utilization") is not None:
        lines.append(f"memory     peak {pct(figures['peak_memory_utilization'])} (modelled: see the assumptions)")
    for name, n in figures["minutes_above_threshold"].items():
        lines.append(f"           {n} minute(s) on the ALARM side of {name}")
    lines += [
        f"requests   {figures['requests']:.0f} offered, {figures['served']:.0f} served; estimated 5XX: "
        f"{figures['elb_5xx']:.0f} ELB ({figures['elb_503']:.0f} x 503, {figures['elb_504']:.0f} x 504), "
        f"{figures['target_5xx']:.0f} target",
        f"cost       {figures['task_hours']:.2f} task-hours, ${figures['cost']:.2f}",
        f"decisions  {figures['alarm_transitions']} alarm transitions, {figures['scaling_activities']} scaling "
        f"activities, {figures['emails']} email(s), {figures['failed_actions']} failed action(s)",
    ]
    return lines


def timeline_lines(events: Sequence[Event], t0: float) -> list[str]:
    """Alarm transitions, scaling activities, emails and failed actions, one line each."""
    out = []
    for e in events:
        t, at = e.typed, offset(e.time - t0)
        if isinstance(t, AlarmTransition):
            out.append(f"{at}  alarm   {t.name} {t.old} -> {t.new}")
        elif isinstance(t, ScalingActivity):
            out.append(f"{at}  scale   {t.description} ({t.cause})")
        elif isinstance(t, MailSent):
            out.append(f"{at}  mail    {t.subject} -> {', '.join(t.to)}")
        elif isinstance(t, AlarmAction):
            out.append(f"{at}  action  {t.alarm}: {t.summary}")
    return out
