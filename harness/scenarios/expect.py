"""Expectations checked against a run's timeline: pure functions of (events, roles, phase spans).

Each check returns a verdict `{name, expected, observed, passed}` whose numbers come from the
deployed stack; a failed one also carries `why`, the first broken link of the chain behind it
(`harness.scenarios.why`), with the evidence (the role's alarm, policy and scalable target). A check that the run did not
exercise (say, a cooldown with only one scaling activity) fails and says so: it proves nothing.

The timing rule behind `alarm_follows_crossing`: "an alarm with a period of 60 s or more is
evaluated every minute", so a breaching datapoint is acted on at the first evaluation after its
period ends (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from harness.cloudwatch.evaluate import breaches
from harness.events import Event
from harness.report import offset
from harness.autoscaling.step import adjustment
from harness.scenarios.roles import Roles
from harness.scenarios.why import Why, explain_email, explain_scaling

EVALUATION_INTERVAL = 60.0  # CloudWatch evaluates alarms once a minute (AWS's number, not the template's)

Verdict = dict[str, Any]
Spans = Mapping[str, tuple[float, float]]


def check_all(expect: Sequence[Mapping[str, Any]], events: Sequence[Event], roles: Roles, spans: Spans,
              t0: float) -> list[Verdict]:
    return [check(e, events, roles, spans, t0) for e in expect]


def check(e: Mapping[str, Any], events: Sequence[Event], roles: Roles, spans: Spans, t0: float) -> Verdict:
    verdict = _check(e, events, roles, spans, t0)
    if not verdict["passed"]:
        why = explain(e, events, roles, spans, t0)
        if why is not None:
            verdict["why"] = why
    return verdict


_CAPACITY_ROLE = {"min_capacity": "scale_in", "max_capacity": "scale_out"}


def explain(e: Mapping[str, Any], events: Sequence[Event], roles: Roles, spans: Spans, t0: float) -> Why | None:
    """The first broken link of the chain behind a failed expectation (harness.scenarios.why), or None."""
    if not events:
        return None
    run = (events[0].time, events[-1].time)
    if "during" in e:
        (what, role), = [(k, v) for k, v in e.items() if k != "during"]
        if str(what).startswith("no_") or role not in roles.alarms:
            return None  # something happened that should not have: the observed column shows it
        alarm = roles.alarm(role)
        start, end = spans[str(e["during"])]
        why = explain_scaling(role, events, roles, t0, start, end + alarm.period * alarm.evaluation_periods
                              + EVALUATION_INTERVAL)
        if what == "alarm" and why is not None and why["link"] not in ("metric", "alarm state"):
            return None
        return why
    (what, arg), = e.items()
    if what == "scales_to" and arg in _CAPACITY_ROLE and _CAPACITY_ROLE[arg] in roles.alarms:
        return explain_scaling(_CAPACITY_ROLE[arg], events, roles, t0, *run, want=quantity(arg, roles))
    if what == "alarm_follows_crossing" and arg in roles.alarms:
        why = explain_scaling(arg, events, roles, t0, *run)
        return why if why is not None and why["link"] in ("metric", "alarm state") else None
    if what == "email" and arg in roles.alarms:
        return explain_email(arg, events, roles, t0)
    return None


def _check(e: Mapping[str, Any], events: Sequence[Event], roles: Roles, spans: Spans, t0: float) -> Verdict:
    if "during" in e:
        (what, role), = [(k, v) for k, v in e.items() if k != "during"]
        return _during(str(e["during"]), what, role, events, roles, spans, t0)
    (what, arg), = e.items()
    fn = {
        "alarm_follows_crossing": _alarm_follows_crossing,
        "scales_to": _scales_to,
        "never_above": _never_above,
        "never_below": _never_below,
        "cooldown_respected": _cooldown_respected,
        "email": _email,
    }[what]
    return fn(arg, events, roles, t0)


def _v(name: str, expected: str, observed: str, passed: bool) -> Verdict:
    return {"name": name, "expected": expected, "observed": observed, "passed": bool(passed)}


def quantity(name: str, roles: Roles) -> int:
    return {"min_capacity": roles.min_capacity, "max_capacity": roles.max_capacity,
            "desired": roles.service.desired_count}[name]


def desired_series(events: Sequence[Event], roles: Roles) -> list[tuple[float, int]]:
    """(time, desired count) at the start and after every change."""
    series = [(events[0].time if events else 0.0, roles.service.desired_count)]
    for e in events:
        if e.kind == "desired" and e.data.get("new") is not None and e.data["new"] != series[-1][1]:
            series.append((e.time, int(e.data["new"])))
    return series


def _alarm_follows_crossing(role: str, events: Sequence[Event], roles: Roles, t0: float) -> Verdict:
    alarm = roles.alarm(role)
    m = alarm.datapoints_to_alarm or alarm.evaluation_periods
    name = f"{alarm.name} goes to ALARM within one evaluation of its metric crossing the threshold"
    expected = (f"{alarm.statistic or alarm.extended_statistic} of {alarm.metric_name} {alarm.comparison_operator} "
                f"{alarm.threshold:g} for {m} datapoint(s) of {alarm.period} s -> ALARM by the next evaluation")
    points: dict[float, float] = {}
    for e in events:
        if e.kind == "metric" and e.data.get("alarm") == alarm.name:
            points[float(e.data["period_start"])] = float(e.data["value"])
    alarms = [e.time for e in events if e.kind == "alarm" and e.data.get("name") == alarm.name
              and e.data.get("new") == "ALARM"]
    # A crossing: the M-th breaching datapoint in a row, after a datapoint that did not breach (or the first).
    crossings, run = [], 0
    for start in sorted(points):
        run = run + 1 if breaches(points[start], alarm.threshold, alarm.comparison_operator) else 0
        if run == m:
            crossings.append((start, points[start]))
    if not crossings:
        return _v(name, expected, f"the metric never crossed the threshold ({len(points)} datapoints seen)", False)
    late = []
    for start, value in crossings:
        due = start + alarm.period + EVALUATION_INTERVAL
        # ALARM may already hold from before (the alarm was in ALARM when the run of breaches began).
        state_before = _state_at(events, alarm.name, start)
        fired = [t for t in alarms if start <= t <= due]
        if state_before != "ALARM" and not fired:
            late.append(f"{value:.1f} for the period starting {offset(start - t0)}: no ALARM by {offset(due - t0)}")
    first_start, first_value = crossings[0]
    first_alarm = next((t for t in alarms if t >= first_start), None)
    observed = (f"{len(crossings)} crossing(s); first {first_value:.1f} for the period starting "
                f"{offset(first_start - t0)}, ALARM at {offset(first_alarm - t0) if first_alarm else 'never'}")
    if late:
        observed += "; late: " + "; ".join(late)
    return _v(name, expected, observed, not late)


def _state_at(events: Sequence[Event], alarm_name: str, t: float) -> str:
    state = "INSUFFICIENT_DATA"
    for e in events:
        if e.time >= t:
            break
        if e.kind == "alarm" and e.data.get("name") == alarm_name:
            state = str(e.data.get("new"))
    return state


def _path(series: Sequence[tuple[float, int]], t0: float) -> str:
    return " -> ".join(f"{n} ({offset(t - t0)})" for t, n in series)


def _scales_to(which: str, events: Sequence[Event], roles: Roles, t0: float) -> Verdict:
    target = quantity(which, roles)
    series = desired_series(events, roles)
    reached = [t for t, n in series[1:] if n == target]
    return _v(f"desired count reaches {which} ({target})", f"desired count {target}",
              f"desired count {_path(series, t0)}", bool(reached))


def _never_above(which: str, events: Sequence[Event], roles: Roles, t0: float) -> Verdict:
    bound = quantity(which, roles)
    top = max(n for _, n in desired_series(events, roles))
    return _v(f"desired count never exceeds {which} ({bound})", f"max desired <= {bound}",
              f"max desired {top}", top <= bound)


def _never_below(which: str, events: Sequence[Event], roles: Roles, t0: float) -> Verdict:
    bound = quantity(which, roles)
    low = min(n for _, n in desired_series(events, roles))
    return _v(f"desired count never goes below {which} ({bound})", f"min desired >= {bound}",
              f"min desired {low}", low >= bound)


def _activities(events: Sequence[Event], alarm_name: str) -> list[Event]:
    return [e for e in events if e.kind == "scaling" and e.data.get("alarm") == alarm_name]


def _cooldown_respected(role: str, events: Sequence[Event], roles: Roles, t0: float) -> Verdict:
    """Application Auto Scaling step scaling: within a scale-out's cooldown only a larger scale-out may
    happen; a scale-in waits for its cooldown (application-auto-scaling-step-scaling-policies.html)."""
    alarm, cooldown = roles.alarm(role), roles.cooldown(role)
    acts = _activities(events, alarm.name)
    name = f"{role.replace('_', '-')} activities of {roles.policies[role].name} respect its cooldown ({cooldown:g} s)"
    times = [e.time for e in acts]
    gaps = [b - a for a, b in zip(times, times[1:])]
    observed = "activities at " + ", ".join(offset(t - t0) for t in times) if times else "no activity"
    if len(times) == 1 and _reached_bound(role, acts[0], events, roles):
        # The one activity took the service to the capacity bound this role moves towards: no second
        # activity of this policy can follow, so its cooldown has nothing to hold back. Not applicable,
        # said with the reason (a skipped verdict is not counted as passed).
        old, new = _desired_of(acts[0], events) or (0, 0)
        bound = "MinCapacity" if role == "scale_in" else "MaxCapacity"
        return {**_v(name, f">= {cooldown:g} s between activities",
                     f"not applicable: the one activity (at {offset(times[0] - t0)}) set the desired count {old} -> "
                     f"{new} = {bound}, so no further {role.replace('_', '-')} could follow for the cooldown to "
                     "hold back", False), "skipped": True}
    if len(times) < 2:
        return _v(name, f">= {cooldown:g} s between activities", observed + " (cooldown not exercised)", False)
    # Scale-out: inside the cooldown only a larger scale-out goes on, computed from the capacity before
    # the activity that started the cooldown ("the capacity that has been added by the previous scale-out
    # action ... is calculated as part of the desired capacity for the next scale out"). So an activity
    # within the cooldown must set base + one of the policy's step adjustments of base, above the last one.
    # https://docs.aws.amazon.com/autoscaling/application/userguide/step-scaling-policy-overview.html#step-scaling-cooldown
    policy = roles.policies[role]
    results = [_desired_of(a, events) for a in acts]
    grows = all(r is not None and r[1] > r[0] for r in results)
    ok: list[bool] = []
    base_i = 0  # the activity that started the running cooldown
    for i in range(1, len(acts)):
        if acts[i].time - acts[base_i].time >= cooldown:
            ok.append(True)
            base_i = i
            continue
        prev, cur, base = results[i - 1], results[i], results[base_i]
        if not grows or prev is None or cur is None or base is None:
            ok.append(False)
            continue
        if policy.target_tracking is not None:
            # Target tracking: the larger scale-out is ceil(base x metric / TargetValue), any count above the
            # last one (target-tracking-scaling-policy-overview.html, ScaleOutCooldown).
            ok.append(cur[1] > prev[1] and cur[0] == prev[1])
            continue
        allowed = {min(roles.max_capacity, base[0] + adjustment(base[0], st.adjustment, policy.adjustment_type,
                                                                 policy.min_adjustment_magnitude))
                   for st in policy.steps}
        ok.append(cur[1] > prev[1] and cur[1] in allowed)
    expected = f">= {cooldown:g} s between activities" + (" (or a larger scale-out within it)" if grows else "")
    return _v(name, expected, observed + f"; gaps {', '.join(f'{g:.0f} s' for g in gaps)}", all(ok))


def _reached_bound(role: str, act: Event, events: Sequence[Event], roles: Roles) -> bool:
    """Whether a scale-in activity ended at MinCapacity (a scale-out one at MaxCapacity)."""
    change = _desired_of(act, events)
    if change is None:
        return False
    if role == "scale_in":
        return change[1] < change[0] and change[1] <= roles.min_capacity
    return change[1] > change[0] and change[1] >= roles.max_capacity


def _desired_of(act: Event, events: Sequence[Event]) -> tuple[int, int] | None:
    """(old, new) desired count of an activity: its 'desired' event at the same time, by the same policy."""
    for e in events:
        if e.kind == "desired" and e.time == act.time and e.data.get("policy") == act.data.get("policy"):
            return int(e.data["old"]), int(e.data["new"])
    return None


def _email(role: str, events: Sequence[Event], roles: Roles, t0: float) -> Verdict:
    alarm = roles.alarm(role)
    subject = f'ALARM: "{alarm.name}"'
    mails = [e for e in events if e.kind == "mail" and str(e.data.get("subject", "")).startswith(subject)]
    got = {addr for e in mails for addr in e.data.get("to", [])}
    missing = [a for a in roles.emails if a not in got]
    first = offset(mails[0].time - t0) if mails else "never"
    return _v(f"an email whose subject starts {subject} reaches {', '.join(roles.emails) or 'the subscribers'}",
              f"{subject} ... to {', '.join(roles.emails)}",
              f"{len(mails)} such email(s), first at {first}" + (f"; missing for {', '.join(missing)}" if missing else ""),
              bool(mails) and bool(roles.emails) and not missing)


def _during(phase: str, what: str, role: str, events: Sequence[Event], roles: Roles, spans: Spans,
            t0: float) -> Verdict:
    """Positive checks look at the phase and one evaluation after it (the action follows the datapoint);
    negative checks skip the phase's first evaluation, whose datapoint still holds the phase before."""
    alarm = roles.alarm(role)
    lag = alarm.period * alarm.evaluation_periods + EVALUATION_INTERVAL
    start, end = spans[phase]
    positive = not what.startswith("no_")
    lo, hi = (start, end + lag) if positive else (start + lag, end)
    if what.endswith("alarm"):
        hits = [e for e in events if e.kind == "alarm" and e.data.get("name") == alarm.name
                and e.data.get("new") == "ALARM" and lo < e.time <= hi]
        if not positive and _state_at(events, alarm.name, lo) == "ALARM":
            hits.insert(0, Event(lo, "alarm", {"name": alarm.name, "new": "ALARM"}))
        noun = f"{alarm.name} in ALARM"
    else:
        hits = [e for e in _activities(events, alarm.name) if lo < e.time <= hi]
        noun = f"a scaling activity of {roles.policies[role].name}"
    window = f"{offset(lo - t0)}..{offset(hi - t0)}"
    observed = f"{len(hits)} in {window}" + (f", first at {offset(hits[0].time - t0)}" if hits else "")
    head = f"during {phase}: " + ("" if positive else "no ") + noun
    return _v(head, ("at least one" if positive else "none") + f" ({alarm.comparison_operator} {alarm.threshold:g})",
              observed, bool(hits) == positive)
