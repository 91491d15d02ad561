"""Why an expectation failed: the first broken link of the chain a template's scaling promise rests on.

    metric -> alarm state -> action -> policy decision -> desired count -> tasks started -> targets healthy

A failed verdict alone ("desired count reaches min_capacity: FAIL") leaves the user guessing; the run's
timeline already holds every link (the alarm's datapoints, its transitions, every action the evaluator ran
and what the policy decided, the desired counts, the tasks, the targets), so `explain` walks it in order and
names the first link that did not happen, with the evidence in AWS's words. Pure: a function of the events,
the roles read from the stack and a time window.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from harness.events import Event
from harness.report import offset
from harness.scenarios.roles import Roles
from harness.stack import ScalingPolicy

CHAIN = ("metric", "alarm state", "action", "policy decision", "desired count", "tasks started", "targets healthy")
_NO_STEP = "Failed to execute AutoScaling action: "

Why = dict[str, Any]


def _why(link: str, text: str, times: Sequence[float] = ()) -> Why:
    return {"link": link, "chain": list(CHAIN[: CHAIN.index(link) + 1]), "links": list(CHAIN), "text": text,
            "times": list(times)}


def _in(events: Sequence[Event], lo: float, hi: float) -> list[Event]:
    return [e for e in events if lo <= e.time <= hi]


def _state_before(events: Sequence[Event], alarm: str, t: float) -> str:
    state = "INSUFFICIENT_DATA"
    for e in events:
        if e.time >= t:
            break
        if e.kind == "alarm" and e.data.get("name") == alarm:
            state = str(e.data.get("new"))
    return state


def _step_advice(policy: ScalingPolicy, operator: str) -> str:
    """Why no step of `policy` can match an alarm with `operator`, and the fix (the step side rule)."""
    from harness.checks.rules import _step_covers_side

    above = operator.startswith("GreaterThan")
    if not policy.steps or any(_step_covers_side(s, above) for s in policy.steps):
        return ""
    only = "Its only step covers" if len(policy.steps) == 1 else "Its steps cover"
    if above:
        return (f" {only} breaches < 0; a {operator} alarm's breaches are >= 0: use MetricIntervalLowerBound: 0.")
    return f" {only} breaches >= 0; a {operator} alarm's breaches are < 0: use MetricIntervalUpperBound: 0."


def _each_time(texts: Sequence[str]) -> str:
    """"each time: X" when every text says the same (numbers in [...] aside), else the counts of each."""
    shapes = Counter(re.sub(r"\[[^\]]*\]", "[...]", t) for t in texts)
    if len(shapes) == 1:
        return f"each time: {texts[0]}"
    firsts: dict[str, str] = {}
    for t in texts:
        firsts.setdefault(re.sub(r"\[[^\]]*\]", "[...]", t), t)
    return "; ".join(f"{n} time(s): {firsts[shape]}" for shape, n in shapes.most_common())


def _policy_actions(events: Sequence[Event], alarm: str, policy: ScalingPolicy | None) -> list[Event]:
    return [e for e in events if e.kind == "action" and e.data.get("alarm") == alarm
            and (policy is None or str(e.data.get("arn", "")).split(":createdBy/", 1)[0] == policy.arn)]


def explain_scaling(role: str, events: Sequence[Event], roles: Roles, t0: float, lo: float, hi: float,
                    want: int | None = None) -> Why | None:
    """The first broken link for "the `role` alarm's policy scales (to `want`, if given) within [lo, hi]"."""
    alarm = roles.alarms.get(role)
    if alarm is None:
        return None
    policy = roles.policies.get(role)
    span = _in(events, lo, hi)
    points = [e for e in span if e.kind == "metric" and e.data.get("alarm") == alarm.name]
    dims = ", ".join(f"{k}={v}" for k, v in sorted(alarm.dimensions.items()))
    if not points:
        return _why("metric", f"no datapoint of {alarm.namespace} {alarm.metric_name} ({dims}) reached {alarm.name} "
                              f"between {offset(lo - t0)} and {offset(hi - t0)}: nothing published matches its "
                              "namespace, metric and dimensions (`harness check` compares them with the service's)")
    values = [float(p.data["value"]) for p in points]
    in_alarm = [e for e in span if e.kind == "alarm" and e.data.get("name") == alarm.name and e.data.get("new") == "ALARM"]
    if not in_alarm and _state_before(events, alarm.name, lo) != "ALARM":
        return _why("alarm state",
                    f"{alarm.name} never went to ALARM: its {len(points)} datapoint(s) ranged {min(values):.1f}.."
                    f"{max(values):.1f}; it needs {alarm.comparison_operator} {alarm.threshold:g} for "
                    f"{alarm.datapoints_to_alarm} of {alarm.evaluation_periods} period(s) of {alarm.period} s",
                    [p.time for p in points])
    first_alarm = in_alarm[0].time if in_alarm else lo
    actions = [e for e in _policy_actions(span, alarm.name, policy)]
    pname = policy.name if policy is not None else "its scaling policy"
    if not actions:
        return _why("action", f"{alarm.name} was in ALARM from {offset(first_alarm - t0)} but ran no action on {pname} "
                              "(is it in the alarm's AlarmActions, with ActionsEnabled?)", [first_alarm])
    acts = [e for e in span if e.kind == "scaling" and e.data.get("alarm") == alarm.name]
    states = Counter(str(e.data.get("state") or "ALARM") for e in actions)
    state = states.most_common(1)[0][0]
    if not acts:
        texts = [str(e.data.get("summary", "")).removeprefix(_NO_STEP) if not e.data.get("ok")
                 else str(e.data.get("detail", "")) for e in actions]
        advice = _step_advice(policy, alarm.comparison_operator) if policy is not None and any(
            "No step adjustment found" in t for t in texts) else ""
        return _why("policy decision", f"{pname} was invoked {len(actions)} times by {alarm.name} in {state}; "
                                       f"{_each_time(texts)}.{advice}".replace("..", "."), [e.time for e in actions])
    desired = [e for e in span if e.kind == "desired" and (policy is None or e.data.get("policy") == policy.name)]
    path = " -> ".join([str(desired[0].data.get("old"))] + [str(e.data.get("new")) for e in desired]) if desired else ""
    if want is not None and not any(e.data.get("new") == want for e in desired):
        later = [e for e in actions if e.time > acts[-1].time]
        tail = (f"; later invocations: {_each_time([str(e.data.get('detail', '')) for e in later])}" if later else "")
        return _why("desired count", f"{len(acts)} scaling activit{'y' if len(acts) == 1 else 'ies'} of {pname} "
                                     f"({'; '.join(str(a.data.get('description')) for a in acts)}) took the desired "
                                     f"count {path or 'nowhere'}, never to {want}{tail}", [a.time for a in acts])
    goal = want if want is not None else (int(desired[-1].data["new"]) if desired else None)
    if goal is None:
        return None
    reached_at = next((e.time for e in desired if e.data.get("new") == goal), acts[-1].time)
    snaps = [e for e in events if e.kind == "tasks" and reached_at <= e.time <= hi + (hi - lo)]
    if snaps:
        running = max(int(e.data.get("running", 0)) for e in snaps)
        if running != goal and not any(int(e.data.get("running", -1)) == goal for e in snaps):
            failed = [e for e in events if e.kind == "task" and e.data.get("action") == "start-failed"
                      and e.time >= reached_at]
            why = f"; {len(failed)} start(s) failed: {failed[0].data.get('reason')}" if failed else ""
            return _why("tasks started", f"desired count {goal} from {offset(reached_at - t0)}, but the service ran "
                                         f"{running if running != goal else 'other'} task(s) at most{why}", [reached_at])
        healthy = [int(e.data.get("healthy", 0)) for e in snaps]
        if goal not in healthy:
            return _why("targets healthy", f"{goal} task(s) ran from {offset(reached_at - t0)}, but at most "
                                           f"{max(healthy)} target(s) were healthy in the target group", [reached_at])
    return None


def explain_email(role: str, events: Sequence[Event], roles: Roles, t0: float) -> Why | None:
    """The first broken link for "the `role` alarm's email arrives": metric -> alarm state -> action."""
    alarm = roles.alarms.get(role)
    if alarm is None:
        return None
    points = [e for e in events if e.kind == "metric" and e.data.get("alarm") == alarm.name]
    if not points:
        return _why("metric", f"no datapoint of {alarm.namespace} {alarm.metric_name} reached {alarm.name}")
    if not any(e.kind == "alarm" and e.data.get("name") == alarm.name and e.data.get("new") == "ALARM" for e in events):
        values = [float(p.data["value"]) for p in points]
        return _why("alarm state", f"{alarm.name} never went to ALARM: its datapoints ranged {min(values):.1f}.."
                                   f"{max(values):.1f}; it needs {alarm.comparison_operator} {alarm.threshold:g}")
    sent = [e for e in events if e.kind == "action" and e.data.get("alarm") == alarm.name and ":sns:" in str(e.data.get("arn"))]
    failed = [e for e in sent if not e.data.get("ok")]
    if not sent or len(failed) == len(sent):
        detail = f": {failed[0].data.get('summary')}" if failed else ""
        return _why("action", f"{alarm.name} went to ALARM but no notification was published{detail}")
    return None
