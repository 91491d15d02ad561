"""The alarm loop: evaluates every CloudWatch metric alarm each template minute and runs its actions.

moto stores alarms and metrics but never evaluates an alarm, keeps no alarm history and runs no action.
This loop does what CloudWatch does around the pure rules in `harness.cloudwatch.evaluate` / `reason`:
every whole template minute it re-reads every metric alarm from the CloudWatch API (so alarms added or
changed after the deploy count), reads each alarm's datapoints back over the API, evaluates them, stores a
state change with SetAlarmState (AWS's reason sentence and StateReasonData JSON), keeps the alarm history
moto lacks (the cloud keeps the StateUpdate items; the Action items, which only the harness sees, are
written back: `harness.cloud.alarm_history`), and runs the actions: SNS topics through `harness.sns.SnsDelivery`, Application Auto Scaling
policies through `harness.scaling.ScalingExecutor` (again every minute while the alarm stays in the state).

Rules: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html

How datapoints are read (moto 5.2.5, `moto/cloudwatch/models.py`): GetMetricStatistics buckets samples from
the first sample's timestamp, not from period boundaries, and ignores ExtendedStatistics; GetMetricData
aligns buckets to StartTime but matches dimensions with a broken sort. So the loop asks GetMetricStatistics
for one period at a time (StartTime = the period's start, EndTime = its end, Period = the alarm's period),
which gives exactly one bucket holding exactly that period's samples on moto and on AWS alike, with
SampleCount, Sum, Minimum, Maximum and Average. For a percentile (ExtendedStatistic) it asks for the
percentile too and uses it when the endpoint returns it (AWS does); otherwise it reads the period in
1-second buckets and rebuilds the samples (exact when a second holds at most two samples; with more, the
middle ones become their mean, keeping count, sum, minimum and maximum), then applies `evaluate.aggregate`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol

from harness.cloud.alarm_history import action_texts, record_action
from harness.clock import Clock
from harness.cloudwatch import composite as comp
from harness.cloudwatch import evaluate as ev
from harness.errors import CloudError
from harness.events import AlarmAction, AlarmTransition, MetricDatapoint, Timeline

log = logging.getLogger(__name__)

__all__ = [
    "EVALUATION_INTERVAL",
    "AlarmEvaluator",
    "AlarmOutcome",
    "HistoryItem",
    "MetricAlarm",
    "PeriodStats",
    "action_kind",
    "next_tick",
    "parse_alarm",
    "samples_from_buckets",
    "statistic_value",
]

# "An alarm with a period of 60 seconds or more is evaluated every minute" (AlarmThatSendsEmail.html):
# an AWS constant, not a template number. High-resolution alarms (period 10 or 30 s) are evaluated here
# every minute too (a known simplification).
EVALUATION_INTERVAL = 60.0

# moto's reason for an alarm no one has evaluated yet (moto/cloudwatch/models.py, FakeAlarm.__init__).
_MOTO_INITIAL_REASON = "Unchecked: Initial alarm creation"

_STANDARD = ("SampleCount", "Sum", "Minimum", "Maximum", "Average")


class ScalingLike(Protocol):
    async def execute(self, policy_arn: str, alarm: Any, metric_value: float | Mapping[str, float], now: float) -> Any: ...


class SnsLike(Protocol):
    async def apublish_alarm(
        self,
        topic_arn: str,
        alarm: Any,
        old_state: str,
        new_state: str,
        reason: str,
        reason_data: str | None,
        timestamp: float,
    ) -> Any: ...


# ------------------------------------------------------------------------------------------- pure parts


@dataclass(frozen=True)
class MetricAlarm:
    """A metric alarm as DescribeAlarms returns it (fits `evaluate.AlarmLike` and `sns.AlarmLike`).

    `datapoints_to_alarm` stays None when the alarm does not set it, so reasons use AWS's short form.
    """

    name: str
    arn: str
    namespace: str
    metric_name: str
    dimensions: dict[str, str]
    statistic: str | None
    extended_statistic: str | None
    period: int
    evaluation_periods: int
    datapoints_to_alarm: int | None
    threshold: float
    comparison_operator: str
    treat_missing_data: str | None
    alarm_actions: tuple[str, ...]
    ok_actions: tuple[str, ...]
    insufficient_data_actions: tuple[str, ...]
    state_value: str
    state_reason: str = ""
    description: str | None = None
    unit: str | None = None
    actions_enabled: bool = True


def parse_alarm(item: Mapping[str, Any]) -> MetricAlarm:
    """One `MetricAlarms[]` entry of DescribeAlarms (an alarm on a single metric; metric math is refused)."""
    if item.get("Metrics"):
        raise ValueError(f"alarm {item.get('AlarmName')!r} uses metric math, which the harness does not evaluate")
    dtoa = item.get("DatapointsToAlarm")
    return MetricAlarm(
        name=str(item["AlarmName"]),
        arn=str(item.get("AlarmArn", "")),
        namespace=str(item["Namespace"]),
        metric_name=str(item["MetricName"]),
        dimensions={str(d["Name"]): str(d["Value"]) for d in item.get("Dimensions") or []},
        statistic=item.get("Statistic") or None,
        extended_statistic=item.get("ExtendedStatistic") or None,
        period=int(item["Period"]),
        evaluation_periods=int(item["EvaluationPeriods"]),
        datapoints_to_alarm=None if dtoa is None else int(dtoa),
        threshold=float(item["Threshold"]),
        comparison_operator=str(item["ComparisonOperator"]),
        treat_missing_data=item.get("TreatMissingData") or None,
        alarm_actions=tuple(item.get("AlarmActions") or ()),
        ok_actions=tuple(item.get("OKActions") or ()),
        insufficient_data_actions=tuple(item.get("InsufficientDataActions") or ()),
        state_value=str(item.get("StateValue", ev.INITIAL_STATE)),
        state_reason=str(item.get("StateReason") or ""),
        description=item.get("AlarmDescription") or None,
        unit=item.get("Unit") or None,
        actions_enabled=bool(item.get("ActionsEnabled", True)),
    )


@dataclass(frozen=True)
class PeriodStats:
    """The statistics of one period's samples (a period without samples is None, not a PeriodStats); `value` is the alarm's statistic."""

    start: float
    sample_count: float
    sum: float
    minimum: float
    maximum: float
    value: float

    def as_mapping(self) -> dict[str, float]:
        """Every statistic by name, for a scaling policy's MetricAggregationType."""
        return {
            "SampleCount": self.sample_count,
            "Sum": self.sum,
            "Minimum": self.minimum,
            "Maximum": self.maximum,
            "Average": self.sum / self.sample_count if self.sample_count else math.nan,
            "value": self.value,
        }


def statistic_value(datapoint: Mapping[str, Any], statistic: str) -> float:
    """The value of a standard statistic from one GetMetricStatistics datapoint."""
    if statistic == "Average" and "Average" not in datapoint:
        return float(datapoint["Sum"]) / float(datapoint["SampleCount"])
    if statistic not in datapoint:
        raise ValueError(f"the datapoint has no {statistic}: {sorted(datapoint)}")
    return float(datapoint[statistic])


def samples_from_buckets(buckets: Sequence[Mapping[str, Any]]) -> list[float]:
    """Rebuild raw samples from small buckets (SampleCount, Sum, Minimum, Maximum each).

    One sample is the sum; two are the minimum and the maximum; with more, the minimum, the maximum and
    the rest at their mean, which keeps SampleCount, Sum, Minimum and Maximum exact.
    """
    out: list[float] = []
    for b in buckets:
        count = int(round(float(b["SampleCount"])))
        if count <= 0:
            continue
        total, low, high = float(b["Sum"]), float(b["Minimum"]), float(b["Maximum"])
        if count == 1:
            out.append(total)
        elif count == 2:
            out.extend((low, high))
        else:
            out.extend([low, high] + [(total - low - high) / (count - 2)] * (count - 2))
    return out


def next_tick(now: float, last: float | None, interval: float = EVALUATION_INTERVAL) -> float:
    """The next whole-interval evaluation time: at or after `now`, after `last`; missed ticks are skipped."""
    tick = math.ceil(now / interval) * interval
    if last is not None and tick <= last:
        tick = last + interval
    return tick


def action_kind(arn: str) -> str:
    """"sns", "scaling" (Application Auto Scaling policy) or "unsupported" for an alarm action ARN."""
    if arn.startswith("arn:") and ":sns:" in arn:
        return "sns"
    if ":autoscaling:" in arn and ":scalingPolicy:" in arn and ":resource/" in arn:
        return "scaling"
    return "unsupported"


def _dt(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=timezone.utc)


# --------------------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class HistoryItem:
    """One alarm history entry, shaped like DescribeAlarmHistory's AlarmHistoryItems."""

    alarm_name: str
    timestamp: float
    history_item_type: str  # "StateUpdate" | "Action"
    summary: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AlarmOutcome:
    """What one evaluation of one alarm found and did."""

    alarm: str
    time: float
    old_state: str
    new_state: str
    evaluation: ev.Evaluation
    starts: tuple[float, ...]
    points: tuple[float | None, ...]
    reason: str
    actions: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return self.old_state != self.new_state


# ------------------------------------------------------------------------------------------------- loop


class AlarmEvaluator:
    """Evaluates every metric alarm of the CloudWatch endpoint each template minute.

    `sns` and `scaling` run the actions; either may be None (those actions are then logged as not run).
    """

    def __init__(
        self,
        cloudwatch_client: Any,
        clock: Clock,
        *,
        sns: SnsLike | None = None,
        scaling: ScalingLike | None = None,
        timeline: Timeline | None = None,
    ) -> None:
        self._cw = cloudwatch_client
        self._clock = clock
        self._sns = sns
        self._scaling = scaling
        self.timeline = timeline if timeline is not None else Timeline()
        self._history: dict[str, list[HistoryItem]] = {}
        self._cloud_history = True  # Action items are written to the cloud too, until it refuses them
        self._last_scaling_invoke: dict[str, float] = {}
        self._emitted: dict[tuple[str, float], float] = {}
        self.errors: list[tuple[float, str, str]] = []  # (time, alarm, message) of evaluations that failed
        self.last_tick: float | None = None
        self._tick_done = asyncio.Condition()

    # -- results

    def history(self, alarm_name: str) -> list[HistoryItem]:
        """The alarm's history, oldest first (moto has no DescribeAlarmHistory)."""
        return list(self._history.get(alarm_name, []))

    def transitions(self, alarm_name: str) -> list[tuple[float, str, str]]:
        """(time, old, new) of every state change of the alarm, oldest first."""
        return [
            (h.timestamp, h.data["oldState"]["stateValue"], h.data["newState"]["stateValue"])
            for h in self._history.get(alarm_name, [])
            if h.history_item_type == "StateUpdate"
        ]

    # -- the loop

    async def run(self) -> None:
        """Evaluate at every whole template minute until cancelled."""
        while True:
            tick = next_tick(self._clock.now(), self.last_tick)
            if self.last_tick is not None and tick > self.last_tick + EVALUATION_INTERVAL:
                log.warning("alarm evaluation fell behind: skipping to %s", tick)
            await self._clock.sleep(tick - self._clock.now())
            await self.evaluate_once(tick)

    async def wait_evaluated(self, tick: float) -> None:
        """Wait until the loop has finished the evaluation of `tick` (for tests and scenario steps)."""
        async with self._tick_done:
            await self._tick_done.wait_for(lambda: self.last_tick is not None and self.last_tick >= tick)

    async def evaluate_once(self, now: float) -> list[AlarmOutcome]:
        """Evaluate every metric alarm at template time `now`; one alarm's failure does not stop the others."""
        outcomes: list[AlarmOutcome] = []
        try:
            alarms = await asyncio.to_thread(self._read_alarms)
        except Exception as exc:  # the endpoint is down: log, try again next minute
            log.error("cannot read the alarms at %s: %s", now, exc)
            self.errors.append((now, "*", str(exc)))
            alarms = []
        # Every alarm's datapoints read at once (each read is a round trip to the endpoint), then each alarm
        # assessed and its actions run in turn.
        fetched = await asyncio.gather(*(asyncio.to_thread(self._fetch, a, self._starts(a, now)) for a in alarms),
                                       return_exceptions=True)
        for alarm, stats in zip(alarms, fetched):
            try:
                if isinstance(stats, BaseException):
                    raise stats
                outcomes.append(await self._evaluate_alarm(alarm, now, stats))
            except Exception as exc:
                log.exception("evaluating alarm %s at %s failed", alarm.name, now)
                self.errors.append((now, alarm.name, str(exc)))
        # Composite alarms after their children, with the states this tick left (harness.cloudwatch.composite).
        await self._evaluate_composites(now)
        async with self._tick_done:
            self.last_tick = now if self.last_tick is None else max(self.last_tick, now)
            self._tick_done.notify_all()
        return outcomes

    def _read_alarms(self) -> list[MetricAlarm]:
        out: list[MetricAlarm] = []
        try:
            for page in self._cw.get_paginator("describe_alarms").paginate(AlarmTypes=["MetricAlarm"]):
                for item in page.get("MetricAlarms", []):
                    try:
                        out.append(parse_alarm(item))
                    except (KeyError, ValueError) as exc:
                        log.warning("alarm %s is skipped: %s", item.get("AlarmName"), exc)
        except Exception as exc:
            raise CloudError(f"Cannot list the CloudWatch alarms (DescribeAlarms): {exc}") from exc
        return out

    @staticmethod
    def _starts(alarm: MetricAlarm, now: float) -> list[float]:
        """The period starts of the datapoints an evaluation at `now` looks at, oldest first."""
        return ev.period_starts(alarm.period, now, ev.evaluation_range_size(alarm.evaluation_periods))

    async def _evaluate_alarm(self, alarm: MetricAlarm, now: float, stats: list[PeriodStats | None]) -> AlarmOutcome:
        starts = self._starts(alarm, now)
        points: list[float | None] = [s.value if s is not None else None for s in stats]
        counts: list[float | None] = [s.sample_count if s is not None else None for s in stats]
        self._emit_metrics(alarm, now, stats)

        old = self._current_state(alarm)
        assessed = ev.assess_points(alarm, starts, points, counts, now, current_state=old, unit=alarm.unit)
        result, text, data = assessed.evaluation, assessed.reason, assessed.reason_data
        new = result.state
        ran: list[str] = []
        if new != old:
            data_text = json.dumps(data)
            await asyncio.to_thread(self._set_state, alarm.name, text, data_text, new)
            self._record_transition(alarm, old, new, text, data, now)
            newest = _newest(result, stats)
            for arn in ev.actions_for(old, new, alarm):
                if await self._run_action(arn, alarm, old, new, text, data_text, newest, now):
                    ran.append(arn)
        else:
            if old != alarm.state_value:
                # moto's initial OK corrected to INSUFFICIENT_DATA: store it, as no transition happened.
                await asyncio.to_thread(self._set_state, alarm.name, text, json.dumps(data), old)
            # Auto Scaling actions are invoked again once per minute while the alarm stays in the state.
            repeats = ev.repeat_actions(new, alarm)
            last = self._last_scaling_invoke.get(alarm.name)
            if repeats and (last is None or now - last >= ev.AUTOSCALING_REPEAT_SECONDS):
                newest = _newest(result, stats)
                for arn in repeats:
                    if await self._run_action(arn, alarm, old, new, text, None, newest, now):
                        ran.append(arn)
        return AlarmOutcome(alarm.name, now, old, new, result, tuple(starts), tuple(points), text, tuple(ran))

    async def _evaluate_composites(self, now: float) -> None:
        """Re-evaluate every composite alarm from its children's states; a change is stored (SetAlarmState,
        history) and runs the composite's actions unless its ActionsSuppressor suppresses them."""
        try:
            items = await asyncio.to_thread(self._read_composite_items)
        except Exception as exc:
            log.error("cannot read the composite alarms at %s: %s", now, exc)
            self.errors.append((now, "*", str(exc)))
            return
        if not items["CompositeAlarms"]:
            return
        kids: dict[str, comp.ChildState] = {}
        for item in (*items["MetricAlarms"], *items["CompositeAlarms"]):
            kid = self._child_state(item)
            kids[kid.name] = kid
            if kid.arn:
                kids[kid.arn] = kid
        parsed: list[comp.CompositeAlarm] = []
        for item in items["CompositeAlarms"]:
            try:
                parsed.append(comp.parse_composite(item))
            except (KeyError, ValueError) as exc:
                self.errors.append((now, str(item.get("AlarmName")), str(exc)))
                log.error("composite alarm %s is not evaluated: %s", item.get("AlarmName"), exc)
        ordered, cyclic = comp.evaluation_order(parsed)
        for c in cyclic:
            log.warning("composite alarm %s is in a cycle of composite alarms: not evaluated (as CloudWatch)", c.name)
        for c in ordered:
            try:
                await self._evaluate_composite(c, kids, now)
            except Exception as exc:
                log.error("evaluating composite alarm %s at %s failed: %s", c.name, now, exc)
                self.errors.append((now, c.name, str(exc)))

    def _read_composite_items(self) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {"MetricAlarms": [], "CompositeAlarms": []}
        try:
            pages = self._cw.get_paginator("describe_alarms").paginate(AlarmTypes=["MetricAlarm", "CompositeAlarm"])
            for page in pages:
                for key in out:
                    out[key].extend(page.get(key, []))
        except Exception as exc:
            raise CloudError(f"Cannot list the CloudWatch composite alarms (DescribeAlarms): {exc}") from exc
        return out

    def _child_state(self, item: Mapping[str, Any]) -> comp.ChildState:
        name = str(item["AlarmName"])
        state = str(item.get("StateValue") or ev.INITIAL_STATE)
        if item.get("StateReason") == _MOTO_INITIAL_REASON or state not in ev.STATES:
            state = ev.INITIAL_STATE
        changed = self.transitions(name)
        stamp = item.get("StateUpdatedTimestamp")
        since = changed[-1][0] if changed else (stamp.timestamp() if isinstance(stamp, datetime) else 0.0)
        return comp.ChildState(name, str(item.get("AlarmArn") or ""), state, since)

    async def _evaluate_composite(self, c: comp.CompositeAlarm, kids: dict[str, comp.ChildState], now: float) -> None:
        old = kids[c.name].state
        decision = comp.composite_state(c, kids)
        if decision.state == old:
            return
        data_text = json.dumps(decision.reason_data)
        await asyncio.to_thread(self._set_state, c.name, decision.reason, data_text, decision.state)
        self._record_transition(c, old, decision.state, decision.reason, decision.reason_data, now)
        kids[c.name] = kids[c.arn] = comp.ChildState(c.name, c.arn, decision.state, now)
        actions = ev.actions_for(old, decision.state, c)  # type: ignore[arg-type]  # a composite has no metric
        if actions and c.actions_suppressor:
            suppressor = kids.get(c.actions_suppressor)
            name = suppressor.name if suppressor else c.actions_suppressor
            by = comp.suppressed_by(c, self.transitions(name), suppressor.state if suppressor else None, now)
            if by is not None:
                log.info("composite alarm %s: actions suppressed by %s (%s)", c.name, c.actions_suppressor, by)
                return
        for arn in actions:
            await self._run_action(arn, c, old, decision.state, decision.reason, data_text, None, now)

    def _current_state(self, alarm: MetricAlarm) -> str:
        """The alarm's state as stored; an alarm moto created and no one evaluated is INSUFFICIENT_DATA."""
        if alarm.state_reason == _MOTO_INITIAL_REASON:
            # A new alarm starts in INSUFFICIENT_DATA (AlarmThatSendsEmail.html); moto starts it in OK.
            return ev.INITIAL_STATE
        if alarm.state_value not in ev.STATES:
            return ev.INITIAL_STATE
        return alarm.state_value

    # -- I/O helpers (worker threads)

    def _fetch(self, alarm: MetricAlarm, starts: Sequence[float]) -> list[PeriodStats | None]:
        statistic = ev.alarm_statistic(alarm)
        percentile = statistic not in _STANDARD
        out: list[PeriodStats | None] = []
        for start in starts:
            end = start + alarm.period
            kwargs: dict[str, Any] = {
                "Namespace": alarm.namespace,
                "MetricName": alarm.metric_name,
                "Dimensions": [{"Name": k, "Value": v} for k, v in alarm.dimensions.items()],
                "StartTime": _dt(start),
                "EndTime": _dt(end),
                "Period": alarm.period,
                "Statistics": list(_STANDARD),
            }
            if alarm.unit:
                kwargs["Unit"] = alarm.unit
            try:
                found = self._cw.get_metric_statistics(**kwargs).get("Datapoints", [])
            except Exception as exc:
                raise CloudError(
                    f"Cannot read {alarm.namespace}/{alarm.metric_name} for alarm {alarm.name} (GetMetricStatistics): {exc}"
                ) from exc
            points = [d for d in found if float(d.get("SampleCount", 0)) > 0]
            if not points:
                out.append(None)
                continue
            if len(points) > 1:  # an endpoint that split the period: merge the buckets
                merged: dict[str, Any] = {
                    "SampleCount": sum(float(d["SampleCount"]) for d in points),
                    "Sum": sum(float(d["Sum"]) for d in points),
                    "Minimum": min(float(d["Minimum"]) for d in points),
                    "Maximum": max(float(d["Maximum"]) for d in points),
                }
            else:
                merged = dict(points[0])
            if percentile:
                value = self._percentile(alarm, statistic, kwargs)
            else:
                value = statistic_value(merged, statistic)
            out.append(
                PeriodStats(
                    start=start,
                    sample_count=float(merged["SampleCount"]),
                    sum=float(merged["Sum"]),
                    minimum=float(merged["Minimum"]),
                    maximum=float(merged["Maximum"]),
                    value=value,
                )
            )
        return out

    def _percentile(self, alarm: MetricAlarm, statistic: str, base: dict[str, Any]) -> float:
        """One period's percentile: from the endpoint if it computes it (AWS does), else from 1-second buckets.

        GetMetricStatistics takes Statistics or ExtendedStatistics, not both (API_GetMetricStatistics), hence
        a call of its own; moto 5.2.5 ignores ExtendedStatistics and returns no value for it.
        """
        asked = {k: v for k, v in base.items() if k != "Statistics"}
        try:
            for d in self._cw.get_metric_statistics(**asked, ExtendedStatistics=[statistic]).get("Datapoints", []):
                given = (d.get("ExtendedStatistics") or {}).get(statistic)
                if given is not None:
                    return float(given)
            kwargs = dict(base, Period=1, Statistics=["SampleCount", "Sum", "Minimum", "Maximum"])
            buckets = self._cw.get_metric_statistics(**kwargs).get("Datapoints", [])
        except Exception as exc:
            raise CloudError(f"Cannot read the samples of {alarm.metric_name} for alarm {alarm.name}: {exc}") from exc
        return ev.aggregate(samples_from_buckets(buckets), statistic)

    def _set_state(self, name: str, text: str, data: str, state: str) -> None:
        try:
            self._cw.set_alarm_state(AlarmName=name, StateValue=state, StateReason=text, StateReasonData=data)
        except Exception as exc:
            raise CloudError(f"Cannot set alarm {name} to {state} (SetAlarmState): {exc}") from exc

    # -- events, history, actions

    def _emit_metrics(self, alarm: MetricAlarm, now: float, stats: Sequence[PeriodStats | None]) -> None:
        for s in stats:
            if s is None:
                continue
            key = (alarm.name, s.start)
            if self._emitted.get(key) == s.value:
                continue  # already reported; a late sample that changes the value is reported again
            self._emitted[key] = s.value
            self.timeline.emit(now, MetricDatapoint(
                alarm=alarm.name,
                namespace=alarm.namespace,
                metric=alarm.metric_name,
                dimensions=dict(alarm.dimensions),
                statistic=ev.alarm_statistic(alarm),
                period_start=s.start,
                period=alarm.period,
                value=s.value,
                sample_count=s.sample_count,
            ))

    def _record_transition(
        self, alarm: MetricAlarm | comp.CompositeAlarm, old: str, new: str, text: str, data: dict[str, Any], now: float
    ) -> None:
        item = HistoryItem(
            alarm_name=alarm.name,
            timestamp=now,
            history_item_type="StateUpdate",
            summary=f"Alarm updated from {old} to {new}",
            data={
                "version": "1.0",
                "oldState": {"stateValue": old},
                "newState": {"stateValue": new, "stateReason": text, "stateReasonData": data},
            },
        )
        self._history.setdefault(alarm.name, []).append(item)
        self.timeline.emit(now, AlarmTransition(name=alarm.name, old=old, new=new, reason=text))
        log.info("alarm %s: %s -> %s: %s", alarm.name, old, new, text)

    def _record_action(self, alarm: MetricAlarm | comp.CompositeAlarm, arn: str, ok: bool, detail: str, now: float,
                       no_step: tuple[float, float] | None = None, state: str = "") -> None:
        """Keep an Action history item, in CloudWatch's words, here and in the cloud (DescribeAlarmHistory)."""
        summary, error = action_texts(arn, ok, detail, no_step=no_step)
        data: dict[str, Any] = {"actionState": "Succeeded" if ok else "Failed",
                                "stateUpdateTimestamp": int(now * 1000), "notificationResource": arn}
        if error:
            data["error"] = error
        self._history.setdefault(alarm.name, []).append(
            HistoryItem(alarm.name, now, "Action", summary, {**data, "detail": detail})
        )
        # On the timeline too: the report's "why" follows an alarm to what its actions did.
        self.timeline.emit(now, AlarmAction(alarm=alarm.name, arn=arn, ok=ok, summary=summary, detail=detail,
                                            state=state or alarm.state_value))
        endpoint = getattr(getattr(self._cw, "meta", None), "endpoint_url", None)
        if endpoint and self._cloud_history:
            try:
                record_action(endpoint, alarm.name, summary, data, now, region=_region_of(alarm.arn))
            except OSError as exc:  # an endpoint without the harness's history path (LocalStack): keep it here
                log.warning("alarm history stays in the harness: %s%s does not take it (%s)", endpoint,
                            "/_harness/alarm-history", exc)
                self._cloud_history = False

    async def _run_action(
        self,
        arn: str,
        alarm: MetricAlarm | comp.CompositeAlarm,
        old: str,
        new: str,
        text: str,
        data_text: str | None,
        newest: PeriodStats | None,
        now: float,
    ) -> bool:
        """Run one action; a failure is logged and recorded, never raised (the other actions still run)."""
        kind = action_kind(arn)
        try:
            if kind == "sns":
                if self._sns is None:
                    raise CloudError("no SNS delivery is wired into the alarm evaluator")
                await self._sns.apublish_alarm(arn, alarm, old, new, text, data_text, now)
                detail = "published"
            elif kind == "scaling":
                if isinstance(alarm, comp.CompositeAlarm):
                    # PutCompositeAlarm takes SNS, Lambda and Systems Manager actions, no scaling policy.
                    raise CloudError("a composite alarm cannot invoke a scaling policy")
                self._last_scaling_invoke[alarm.name] = now
                if self._scaling is None:
                    raise CloudError("no scaling executor is wired into the alarm evaluator")
                if newest is None:
                    raise CloudError("the alarm has no datapoint to compare with the policy's steps")
                decision = await self._scaling.execute(arn, alarm, newest.as_mapping(), now)
                detail = str(getattr(decision, "reason", decision))
                if getattr(decision, "new_desired", 0) is None and getattr(decision, "step", 0) is None \
                        and detail.startswith("no step"):
                    # No step covers the breach: AWS records the action as failed, with the breach value.
                    self._record_action(alarm, arn, False, detail, now, no_step=(newest.value, float(alarm.threshold)),
                                        state=new)
                    return False
            else:
                log.warning("alarm %s: action %s is not supported by the harness; not run", alarm.name, arn)
                self._record_action(alarm, arn, False, "action type not supported by the harness", now, state=new)
                return False
        except Exception as exc:
            log.error("alarm %s: action %s failed: %s", alarm.name, arn, exc)
            self._record_action(alarm, arn, False, str(exc), now, state=new)
            return False
        self._record_action(alarm, arn, True, detail, now, state=new)
        return True


def _region_of(arn: str) -> str:
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 and parts[3] else "us-east-1"


def _newest(result: ev.Evaluation, stats: Sequence[PeriodStats | None]) -> PeriodStats | None:
    """The newest real datapoint the evaluation used (the breach value a scaling policy sees)."""
    for i in sorted(result.used, reverse=True):
        if stats[i] is not None:
            return stats[i]
    for s in reversed(stats):
        if s is not None:
            return s
    return None
