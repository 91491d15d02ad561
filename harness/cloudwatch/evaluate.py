"""CloudWatch metric alarm evaluation as pure functions: statistics, period bucketing, M-of-N with missing data.

moto stores alarms but never evaluates them, so the harness decides alarm states itself. Everything here is
a function of numbers passed in (template-time epoch seconds, sample values, the alarm's settings read from
the deployed stack); the alarm loop does the I/O. The rules follow
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html
("How alarm state is evaluated when data is missing"); where AWS leaves a number open, the harness's choice
is written next to the code.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

OK = "OK"
ALARM = "ALARM"
INSUFFICIENT_DATA = "INSUFFICIENT_DATA"
STATES = (OK, ALARM, INSUFFICIENT_DATA)

# A new alarm starts in INSUFFICIENT_DATA (moto starts it in OK; the harness corrects that).
INITIAL_STATE = INSUFFICIENT_DATA

MISSING = "missing"
IGNORE = "ignore"
BREACHING = "breaching"
NOT_BREACHING = "notBreaching"
TREAT_MISSING_DATA = (MISSING, IGNORE, BREACHING, NOT_BREACHING)

COMPARISON_OPERATORS = (
    "GreaterThanOrEqualToThreshold",
    "GreaterThanThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
)
_ANOMALY_OPERATORS = (
    "LessThanLowerOrGreaterThanUpperThreshold",
    "LessThanLowerThreshold",
    "GreaterThanUpperThreshold",
)

# "For Auto Scaling actions, the alarm continues to invoke the action once per minute that the alarm
# remains in the new state." (AlarmThatSendsEmail.html, "Alarm actions"). An AWS constant, not a template one.
AUTOSCALING_REPEAT_SECONDS = 60.0

_PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d+)?|100)$")


class AlarmLike(Protocol):
    """The fields of `harness.stack.Alarm` this module reads (duck-typed, read-only)."""

    @property
    def name(self) -> str: ...
    @property
    def statistic(self) -> str | None: ...
    @property
    def extended_statistic(self) -> str | None: ...
    @property
    def period(self) -> int: ...
    @property
    def evaluation_periods(self) -> int: ...
    @property
    def datapoints_to_alarm(self) -> int | None: ...
    @property
    def threshold(self) -> float: ...
    @property
    def comparison_operator(self) -> str: ...
    @property
    def treat_missing_data(self) -> str | None: ...
    @property
    def alarm_actions(self) -> Sequence[str]: ...
    @property
    def ok_actions(self) -> Sequence[str]: ...
    @property
    def insufficient_data_actions(self) -> Sequence[str]: ...


# --------------------------------------------------------------------------------------------- statistics


def aggregate(samples: Sequence[float], statistic: str) -> float:
    """One datapoint from the raw samples of one period.

    Statistics: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#Statistic
    Percentiles (`pNN`, `pNN.N`): AWS defines p90 as the value below which 90% of the period's data lie but
    does not publish its estimator. The harness uses the nearest-rank method without interpolation: the
    smallest sample such that at least NN% of the samples are <= it (rank = ceil(NN/100 x count), p0 = the
    minimum). The result is always one of the samples.
    """
    if not samples:
        raise ValueError(f"cannot compute {statistic} of no samples: a period without samples is a missing datapoint")
    values = [float(v) for v in samples]
    if statistic == "SampleCount":
        return float(len(values))
    if statistic == "Sum":
        return math.fsum(values)
    if statistic == "Average":
        return math.fsum(values) / len(values)
    if statistic == "Minimum":
        return min(values)
    if statistic == "Maximum":
        return max(values)
    match = _PERCENTILE.match(statistic)
    if match:
        pct = float(match.group(1))
        if not 0.0 <= pct <= 100.0:
            raise ValueError(f"percentile statistic {statistic!r} is outside p0..p100")
        ordered = sorted(values)
        rank = max(1, math.ceil(pct / 100.0 * len(ordered)))
        return ordered[rank - 1]
    raise ValueError(
        f"unknown statistic {statistic!r}: expected SampleCount, Average, Sum, Minimum, Maximum or a percentile like p90"
    )


def alarm_statistic(alarm: AlarmLike) -> str:
    """The statistic an alarm evaluates: Statistic, or ExtendedStatistic (a percentile) when that is set."""
    stat = alarm.extended_statistic or alarm.statistic
    if not stat:
        raise ValueError(f"alarm {alarm.name!r} has neither Statistic nor ExtendedStatistic")
    return stat


# ----------------------------------------------------------------------------------------------- bucketing


def period_starts(period: float, end: float, count: int) -> list[float]:
    """Start times of the `count` most recent complete periods ending at or before `end`, oldest first.

    CloudWatch aligns periods to multiples of the period since the epoch (a 60 s period starts on the
    minute): https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricStatistics.html
    """
    if period <= 0:
        raise ValueError(f"period must be > 0 seconds, got {period}")
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    last_end = math.floor(end / period) * period
    return [last_end - (count - i) * period for i in range(count)]


def datapoints(
    samples: Iterable[tuple[float, float]], period: float, statistic: str, end: float, count: int
) -> list[float | None]:
    """Bucket raw (timestamp, value) samples into `count` period-aligned datapoints, oldest first.

    A sample at time t belongs to the period [start, start + period) holding t. None marks a period with no
    sample (a missing datapoint). The newest datapoint is the most recent period that is complete at `end`.
    """
    starts = period_starts(period, end, count)
    if not starts:
        return []
    first = starts[0]
    buckets: list[list[float]] = [[] for _ in starts]
    for ts, value in samples:
        index = math.floor((ts - first) / period)
        if 0 <= index < count:
            buckets[index].append(value)
    return [aggregate(b, statistic) if b else None for b in buckets]


# -------------------------------------------------------------------------------------------- comparison


def breaches(value: float, threshold: float, comparison_operator: str) -> bool:
    """Whether one datapoint is on the ALARM side of the threshold.

    https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html (ComparisonOperator)
    """
    if comparison_operator == "GreaterThanOrEqualToThreshold":
        return value >= threshold
    if comparison_operator == "GreaterThanThreshold":
        return value > threshold
    if comparison_operator == "LessThanThreshold":
        return value < threshold
    if comparison_operator == "LessThanOrEqualToThreshold":
        return value <= threshold
    if comparison_operator in _ANOMALY_OPERATORS:
        raise ValueError(
            f"comparison operator {comparison_operator!r} compares against an anomaly detection band, "
            "which the harness does not evaluate (out of scope)"
        )
    raise ValueError(f"unknown comparison operator {comparison_operator!r}: expected one of {', '.join(COMPARISON_OPERATORS)}")


# -------------------------------------------------------------------------------------------- evaluation


def evaluation_range_size(n: int) -> int:
    """How many datapoints CloudWatch retrieves to evaluate an alarm with EvaluationPeriods = n.

    AWS: "CloudWatch attempts to retrieve a higher number of data points than the number specified as
    Evaluation Periods. The exact number ... depends on the length of the alarm period and whether it is
    based on a metric with standard resolution or high resolution" (AlarmThatSendsEmail.html), and its
    table shows 5 for N = 3. The general rule is not published: the harness's choice is N + 2, the smallest
    rule that matches the table for every period.
    """
    if n < 1:
        raise ValueError(f"EvaluationPeriods must be >= 1, got {n}")
    return n + 2


@dataclass(frozen=True)
class Evaluation:
    """The outcome of one evaluation and what it was based on.

    `used` are indices into the evaluation range of the real datapoints evaluated (oldest first);
    `filled` is how many missing datapoints were filled in, each counted as `fill_as` (a TreatMissingData
    value). `breaching` counts the breaching datapoints among the evaluated ones, fills included.
    `premature` marks the premature-ALARM rule; `retained` marks `ignore` keeping `current_state`.
    """

    state: str
    n: int
    m: int
    m_explicit: bool
    used: tuple[int, ...]
    breaching: int
    filled: int
    fill_as: str | None
    premature: bool = False
    retained: bool = False


def evaluate(
    points: Sequence[float | None],
    n: int,
    m: int | None,
    threshold: float,
    comparison_operator: str,
    treat_missing_data: str | None,
    current_state: str,
) -> Evaluation:
    """The alarm state for an evaluation range (`points`, oldest first, None = missing).

    Rules (AlarmThatSendsEmail.html, "How alarm state is evaluated when data is missing"):
    - no datapoint of the range missing: evaluate the N most recent;
    - some missing but at least N present: evaluate the N most recent present ones; TreatMissingData is
      not used;
    - fewer than N present: fill the missing ones with the TreatMissingData result as few times as
      possible (N - present fills) and keep every real datapoint of the range;
    - fewer than M breaching gives OK, M or more gives ALARM.
    For `missing` and `ignore` a fill is neither good nor bad, so with fewer than N present the outcome is
    ALARM when the real breaching datapoints reach M, OK when a real datapoint is good, and otherwise
    INSUFFICIENT_DATA (`missing`) or the current state (`ignore`). The premature-ALARM rule (same page):
    the alarm goes to ALARM "when the oldest available breaching datapoint ... is at least as old as the
    value of Datapoints to Alarm, and all other more recent data points are breaching or missing", even
    with fewer than M datapoints. The harness reads "oldest available" as the oldest real datapoint of the
    range, which reproduces both tables of that page; with `ignore` the state is retained instead.
    """
    if m is None:
        m_value, m_explicit = n, False
    else:
        m_value, m_explicit = m, True
    if n < 1 or not 1 <= m_value <= n:
        raise ValueError(f"need 1 <= DatapointsToAlarm ({m_value}) <= EvaluationPeriods ({n})")
    if len(points) < n:
        raise ValueError(f"an evaluation range needs at least EvaluationPeriods ({n}) datapoints, got {len(points)}")
    tmd = treat_missing_data or MISSING
    if tmd not in TREAT_MISSING_DATA:
        raise ValueError(f"unknown TreatMissingData {treat_missing_data!r}: expected one of {', '.join(TREAT_MISSING_DATA)}")
    if current_state not in STATES:
        raise ValueError(f"unknown alarm state {current_state!r}: expected one of {', '.join(STATES)}")

    present = [i for i, v in enumerate(points) if v is not None]
    flags = {i: breaches(float(points[i]), threshold, comparison_operator) for i in present}  # type: ignore[arg-type]

    def result(state: str, used: Sequence[int], breaching: int, filled: int, **kw: Any) -> Evaluation:
        return Evaluation(
            state=state,
            n=n,
            m=m_value,
            m_explicit=m_explicit,
            used=tuple(used),
            breaching=breaching,
            filled=filled,
            fill_as=tmd if filled else None,
            **kw,
        )

    if len(present) >= n:
        # Enough real datapoints: the N most recent real ones decide; TreatMissingData is not needed.
        used = present[-n:]
        count = sum(flags[i] for i in used)
        return result(ALARM if count >= m_value else OK, used, count, 0)

    filled = n - len(present)
    real_breaching = sum(flags.values())
    if tmd == BREACHING:
        count = real_breaching + filled
        return result(ALARM if count >= m_value else OK, present, count, filled)
    if tmd == NOT_BREACHING:
        return result(ALARM if real_breaching >= m_value else OK, present, real_breaching, filled)

    # missing / ignore: a fill counts neither way.
    if real_breaching >= m_value:
        return result(ALARM, present, real_breaching, filled)
    if len(present) > real_breaching:
        return result(OK, present, real_breaching, filled)
    oldest_age = len(points) - present[0] if present else 0  # the newest datapoint of the range has age 1
    if tmd == MISSING:
        if present and oldest_age >= m_value:
            return result(ALARM, present, real_breaching, filled, premature=True)
        return result(INSUFFICIENT_DATA, present, real_breaching, filled)
    return result(current_state, present, real_breaching, filled, retained=True)


# ------------------------------------------------------------------------------------------------ actions


def actions_for(old_state: str, new_state: str, alarm: AlarmLike) -> list[str]:
    """The actions an alarm runs on a transition: none unless the state changed.

    "Alarms invoke actions only when the alarm changes state" (AlarmThatSendsEmail.html, "Alarm actions"):
    AlarmActions on ALARM, OKActions on OK, InsufficientDataActions on INSUFFICIENT_DATA. An alarm with
    ActionsEnabled false runs none.
    """
    if old_state == new_state or not getattr(alarm, "actions_enabled", True):
        return []
    return list(_state_actions(new_state, alarm))


def repeat_actions(state: str, alarm: AlarmLike) -> list[str]:
    """The actions invoked again while the alarm stays in `state`: its Auto Scaling policy actions.

    "The exception is for alarms with Auto Scaling actions. For Auto Scaling actions, the alarm continues to
    invoke the action once per minute that the alarm remains in the new state" (AlarmThatSendsEmail.html).
    Both EC2 Auto Scaling and Application Auto Scaling policy ARNs have the service `autoscaling`. The
    caller invokes them every AUTOSCALING_REPEAT_SECONDS.
    """
    if not getattr(alarm, "actions_enabled", True):
        return []
    return [arn for arn in _state_actions(state, alarm) if ":autoscaling:" in arn]


def _state_actions(state: str, alarm: AlarmLike) -> Sequence[str]:
    if state == ALARM:
        return alarm.alarm_actions or ()
    if state == OK:
        return alarm.ok_actions or ()
    if state == INSUFFICIENT_DATA:
        return alarm.insufficient_data_actions or ()
    raise ValueError(f"unknown alarm state {state!r}: expected one of {', '.join(STATES)}")


# ------------------------------------------------------------------------------------------- convenience


@dataclass(frozen=True)
class Assessment:
    """One evaluation of an alarm from raw samples: the range, the outcome and its explanation."""

    starts: tuple[float, ...]
    points: tuple[float | None, ...]
    evaluation: Evaluation
    reason: str
    reason_data: dict[str, Any]


def assess(
    alarm: AlarmLike,
    samples: Iterable[tuple[float, float]],
    now: float,
    *,
    current_state: str,
    range_size: int | None = None,
) -> Assessment:
    """Bucket `samples`, evaluate the alarm at template time `now`, and explain the result in AWS's words."""
    size = range_size if range_size is not None else evaluation_range_size(alarm.evaluation_periods)
    samples = list(samples)
    starts = period_starts(alarm.period, now, size)
    points = datapoints(samples, alarm.period, alarm_statistic(alarm), now, size)
    counts = datapoints(samples, alarm.period, "SampleCount", now, size)
    return assess_points(alarm, starts, points, counts, now, current_state=current_state)


def assess_points(
    alarm: AlarmLike,
    starts: Sequence[float],
    points: Sequence[float | None],
    counts: Sequence[float | None],
    now: float,
    *,
    current_state: str,
    unit: str | None = None,
) -> Assessment:
    """Evaluate the alarm on its periods' values (oldest first) and sample counts, and explain the result."""
    from harness.cloudwatch.reason import reason, reason_data  # reason imports this module

    ev = evaluate(
        points,
        alarm.evaluation_periods,
        alarm.datapoints_to_alarm,
        alarm.threshold,
        alarm.comparison_operator,
        alarm.treat_missing_data,
        current_state,
    )
    text = reason(ev, points, starts, alarm.threshold, alarm.comparison_operator)
    data = reason_data(
        ev,
        points,
        starts,
        query_date=now,
        statistic=alarm_statistic(alarm),
        period=alarm.period,
        threshold=alarm.threshold,
        sample_counts=counts,
        unit=unit,
    )
    return Assessment(tuple(starts), tuple(points), ev, text, data)
