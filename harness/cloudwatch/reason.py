"""Alarm state-change reasons in CloudWatch's own words, and the StateReasonData JSON beside them.

Users read these in alarm history and in the alarm email, and tools parse them, so the harness writes the
sentences AWS writes. AWS does not specify them; the forms below are the ones AWS alarms were seen to
produce (StateReason / NewStateReason values quoted in public code and issue threads), e.g.
  Threshold Crossed: 1 out of the last 1 datapoints [91.2 (28/11/26 10:22:00)] was greater than the
  threshold (85.0) (minimum 1 datapoint for OK -> ALARM transition).
  Threshold Crossed: 2 datapoints [0.0 (09/01/23 14:02:00), 1.0 (09/01/23 14:01:00)] were not greater than
  the threshold (42.0).
  Threshold Crossed: no datapoints were received for 1 period and 1 missing datapoint was treated as
  [NonBreaching].
  Threshold Crossed: 1 datapoint [1.0 (26/08/26 16:16:00)] was not less than the threshold (1.0) and
  2 missing datapoints were treated as [Breaching].
  Insufficient Data: 1 datapoint was unknown.
The long "k out of the last N" form appears on alarms with DatapointsToAlarm set, the short form on the
others (the harness's reading of those samples). Listed datapoints are the ones supporting the new
state, newest first, stamped with their period's start in UTC as dd/mm/yy HH:MM:SS.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from harness.cloudwatch.evaluate import (
    ALARM,
    BREACHING,
    INSUFFICIENT_DATA,
    OK,
    Evaluation,
    breaches,
)

_PHRASES = {
    "GreaterThanOrEqualToThreshold": "greater than or equal to",
    "GreaterThanThreshold": "greater than",
    "LessThanThreshold": "less than",
    "LessThanOrEqualToThreshold": "less than or equal to",
}


def java_double(value: float) -> str:
    """A number as AWS (Java's Double.toString) prints it in reasons and alarm emails: 85.0, 0.005, 1.0E7."""
    x = float(value)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0 or 1e-3 <= abs(x) < 1e7:
        return repr(x)  # positional, shortest round-trip digits, always with a ".0" for whole numbers
    # Java switches to computerized scientific notation outside [1e-3, 1e7): d.dddE[-]n, shortest digits.
    sign, digits, exponent = Decimal(repr(x)).normalize().as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits))
    mantissa = text[0] + "." + (text[1:] or "0")
    return ("-" if sign else "") + f"{mantissa}E{exponent + len(text) - 1}"


def _stamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%d/%m/%y %H:%M:%S")


def _iso(epoch: float) -> str:
    moment = datetime.fromtimestamp(epoch, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _was(count: int) -> str:
    return "was" if count == 1 else "were"


def _fill_word(fill_as: str | None) -> str:
    return "Breaching" if fill_as == BREACHING else "NonBreaching"


def reason(
    ev: Evaluation,
    points: Sequence[float | None],
    starts: Sequence[float],
    threshold: float,
    comparison_operator: str,
) -> str:
    """The StateReason for `ev` over the range `points` whose periods start at `starts` (both oldest first)."""
    if len(points) != len(starts):
        raise ValueError(f"got {len(points)} datapoints but {len(starts)} period start times")
    if ev.state == INSUFFICIENT_DATA:
        return f"Insufficient Data: {_plural(ev.filled, 'datapoint')} {_was(ev.filled)} unknown."
    if ev.retained:
        # Not an AWS sentence: with `ignore` nothing changes, so AWS writes no new reason.
        return (
            f"Retained {ev.state}: {_plural(ev.filled, 'missing datapoint')} {_was(ev.filled)} "
            "ignored (TreatMissingData is ignore)."
        )
    if not ev.used:
        return (
            f"Threshold Crossed: no datapoints were received for {_plural(ev.filled, 'period')} and "
            f"{_plural(ev.filled, 'missing datapoint')} {_was(ev.filled)} treated as [{_fill_word(ev.fill_as)}]."
        )
    phrase = _PHRASES.get(comparison_operator)
    if phrase is None:
        breaches(0.0, threshold, comparison_operator)  # raises the clear error for anomaly / unknown operators
        raise AssertionError("unreachable")
    alarm_side = ev.state == ALARM
    if not alarm_side:
        phrase = "not " + phrase
    supporting = [
        i for i in reversed(ev.used) if breaches(float(points[i]), threshold, comparison_operator) == alarm_side  # type: ignore[arg-type]
    ]
    listed = "[" + ", ".join(f"{java_double(float(points[i]))} ({_stamp(starts[i])})" for i in supporting) + "]"  # type: ignore[arg-type]
    k = len(supporting)
    limit = f"the threshold ({java_double(threshold)})"
    if ev.filled and ev.fill_as in (BREACHING, "notBreaching"):
        filled = f"{_plural(ev.filled, 'missing datapoint')} {_was(ev.filled)} treated as [{_fill_word(ev.fill_as)}]"
        if k == 0:
            received = len(ev.used)
            return (
                f"Threshold Crossed: {_plural(received, 'datapoint')} {_was(received)} received for "
                f"{_plural(ev.n, 'period')} and {filled}."
            )
        return f"Threshold Crossed: {_plural(k, 'datapoint')} {listed} {_was(k)} {phrase} {limit} and {filled}."
    if ev.m_explicit or ev.premature:
        need = ev.m if alarm_side else ev.n - ev.m + 1
        transition = "OK -> ALARM" if alarm_side else "ALARM -> OK"
        return (
            f"Threshold Crossed: {k} out of the last {ev.n} datapoints {listed} {_was(k)} {phrase} {limit} "
            f"(minimum {_plural(need, 'datapoint')} for {transition} transition)."
        )
    return f"Threshold Crossed: {_plural(k, 'datapoint')} {listed} {_was(k)} {phrase} {limit}."


def reason_data(
    ev: Evaluation,
    points: Sequence[float | None],
    starts: Sequence[float],
    *,
    query_date: float,
    statistic: str,
    period: int,
    threshold: float,
    sample_counts: Sequence[float | None] | None = None,
    unit: str | None = None,
) -> dict[str, Any]:
    """The StateReasonData AWS stores with a state change (serialize with json.dumps).

    Shape as seen on AWS alarms: version "1.0", queryDate, startDate (start of the oldest evaluated
    period), unit (if any), statistic, period, recentDatapoints (evaluated values, oldest first), threshold,
    evaluatedDatapoints (newest first: timestamp, sampleCount, value; a missing datapoint has only its
    timestamp). Missing datapoints listed are the most recent missing periods of the range, one per fill.
    """
    missing = [i for i, v in enumerate(points) if v is None][-ev.filled :] if ev.filled else []
    evaluated = sorted(set(ev.used) | set(missing))
    data: dict[str, Any] = {"version": "1.0", "queryDate": _iso(query_date)}
    if evaluated:
        data["startDate"] = _iso(starts[evaluated[0]])
    if unit:
        data["unit"] = unit
    data["statistic"] = statistic
    data["period"] = period
    data["recentDatapoints"] = [float(points[i]) for i in ev.used]  # type: ignore[arg-type]
    data["threshold"] = float(threshold)
    entries: list[dict[str, Any]] = []
    for i in reversed(evaluated):
        entry: dict[str, Any] = {"timestamp": _iso(starts[i])}
        value = points[i]
        if value is not None:
            count = sample_counts[i] if sample_counts is not None else None
            if count is not None:
                entry["sampleCount"] = float(count)
            entry["value"] = float(value)
        entries.append(entry)
    data["evaluatedDatapoints"] = entries
    return data


__all__ = ["java_double", "reason", "reason_data", "OK", "ALARM", "INSUFFICIENT_DATA"]
