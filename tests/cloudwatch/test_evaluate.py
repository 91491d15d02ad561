"""Alarm evaluation tables from the AWS CloudWatch user guide, plus statistics, bucketing and actions.

https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from harness.cloudwatch.evaluate import (
    ALARM,
    INSUFFICIENT_DATA,
    OK,
    aggregate,
    actions_for,
    alarm_statistic,
    assess,
    breaches,
    datapoints,
    evaluate,
    evaluation_range_size,
    period_starts,
    repeat_actions,
)

RETAIN = "retain"
TMD = ("missing", "ignore", "breaching", "notBreaching")
THRESHOLD = 50.0


def parse(pattern: str) -> list[float | None]:
    """`0 - X` -> [good, missing, breaching] against THRESHOLD with GreaterThanThreshold."""
    return [{"0": 10.0, "X": 90.0, "-": None}[c] for c in pattern.split()]


def expand(m: int, rows: list[tuple[str, tuple[str, str, str, str]]]) -> list[tuple[int, str, str, str]]:
    return [(m, pattern, tmd, want) for pattern, wants in rows for tmd, want in zip(TMD, wants)]


# AlarmThatSendsEmail.html, "How alarm state is evaluated when data is missing": M = N = 3, 5 datapoints
# retrieved; columns missing / ignore / breaching / notBreaching.
TABLE_M3_N3 = expand(
    3,
    [
        ("0 - X - X", (OK, OK, OK, OK)),
        ("0 - - - -", (OK, OK, OK, OK)),
        ("- - - - -", (INSUFFICIENT_DATA, RETAIN, ALARM, OK)),
        ("0 X X - X", (ALARM, ALARM, ALARM, ALARM)),
        ("- - - - X", (INSUFFICIENT_DATA, RETAIN, ALARM, OK)),
        ("X - - - -", (ALARM, RETAIN, ALARM, OK)),
    ],
)
# Same page, second table: M = 2, N = 3.
TABLE_M2_N3 = expand(
    2,
    [
        ("0 - X - X", (ALARM, ALARM, ALARM, ALARM)),
        ("0 0 X 0 X", (ALARM, ALARM, ALARM, ALARM)),
        ("0 - X - -", (OK, OK, ALARM, OK)),
        ("- - - - 0", (OK, OK, ALARM, OK)),
        ("- - - - X", (INSUFFICIENT_DATA, RETAIN, ALARM, OK)),
    ],
)


@pytest.mark.parametrize("current", [OK, ALARM, INSUFFICIENT_DATA])
@pytest.mark.parametrize(("m", "pattern", "tmd", "want"), TABLE_M3_N3 + TABLE_M2_N3)
def test_aws_missing_data_tables(m: int, pattern: str, tmd: str, want: str, current: str) -> None:
    """Both tables of https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html
    ("How alarm state is evaluated when data is missing"), from every starting state."""
    points = parse(pattern)
    assert len(points) == evaluation_range_size(3)
    ev = evaluate(points, 3, m, THRESHOLD, "GreaterThanThreshold", tmd, current)
    assert ev.state == (current if want == RETAIN else want)
    assert ev.retained == (want == RETAIN)


def test_premature_alarm_needs_the_oldest_breaching_point_to_be_m_periods_old() -> None:
    """AlarmThatSendsEmail.html, "Avoiding premature transitions to alarm state": with `missing`, a lone
    breaching datapoint M or more periods old, with only missing ones after it, sets ALARM."""
    for pattern, want in [("- - X - -", ALARM), ("- - - X -", INSUFFICIENT_DATA), ("- X X - -", ALARM)]:
        ev = evaluate(parse(pattern), 3, 3, THRESHOLD, "GreaterThanThreshold", "missing", OK)
        assert ev.state == want, pattern
        assert ev.premature == (want == ALARM), pattern


def test_enough_real_points_use_the_most_recent_ones_and_ignore_treat_missing_data() -> None:
    ev = evaluate(parse("X 0 - X X"), 3, None, THRESHOLD, "GreaterThanThreshold", "breaching", OK)
    assert (ev.state, ev.used, ev.breaching, ev.filled, ev.fill_as) == (OK, (1, 3, 4), 2, 0, None)
    ev = evaluate(parse("X 0 X X X"), 3, None, THRESHOLD, "GreaterThanThreshold", None, OK)
    assert (ev.state, ev.used) == (ALARM, (2, 3, 4))


def test_fills_are_counted_as_few_times_as_possible() -> None:
    ev = evaluate(parse("- - X - -"), 3, 2, THRESHOLD, "GreaterThanThreshold", "breaching", OK)
    assert (ev.state, ev.used, ev.filled, ev.fill_as, ev.breaching) == (ALARM, (2,), 2, "breaching", 3)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (dict(n=3, m=4), "DatapointsToAlarm"),
        (dict(n=3, m=0), "DatapointsToAlarm"),
        (dict(n=6, m=None), "at least EvaluationPeriods"),
        (dict(n=3, m=None, tmd="sometimes"), "TreatMissingData"),
        (dict(n=3, m=None, state="PENDING"), "alarm state"),
    ],
)
def test_evaluate_rejects_bad_settings(bad: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        evaluate(
            parse("0 0 0 0 0"),
            bad["n"],  # type: ignore[arg-type]
            bad["m"],  # type: ignore[arg-type]
            THRESHOLD,
            "GreaterThanThreshold",
            bad.get("tmd", "missing"),  # type: ignore[arg-type]
            bad.get("state", OK),  # type: ignore[arg-type]
        )


@pytest.mark.parametrize(("n", "size"), [(1, 3), (3, 5), (5, 7)])
def test_evaluation_range_size(n: int, size: int) -> None:
    assert evaluation_range_size(n) == size


# ------------------------------------------------------------------------------------------- operators


@pytest.mark.parametrize(
    ("op", "below", "equal", "above"),
    [
        ("GreaterThanOrEqualToThreshold", False, True, True),
        ("GreaterThanThreshold", False, False, True),
        ("LessThanThreshold", True, False, False),
        ("LessThanOrEqualToThreshold", True, True, False),
    ],
)
def test_comparison_operators(op: str, below: bool, equal: bool, above: bool) -> None:
    """https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html"""
    assert (breaches(84.9, 85.0, op), breaches(85.0, 85.0, op), breaches(85.1, 85.0, op)) == (below, equal, above)


@pytest.mark.parametrize("op", ["LessThanLowerOrGreaterThanUpperThreshold", "GreaterThanUpperThreshold", "Bigger"])
def test_anomaly_and_unknown_operators_are_refused(op: str) -> None:
    with pytest.raises(ValueError, match=op):
        breaches(1.0, 0.0, op)


# ------------------------------------------------------------------------------------------ statistics


@pytest.mark.parametrize(
    ("stat", "want"),
    [
        ("SampleCount", 10.0),
        ("Sum", 55.0),
        ("Average", 5.5),
        ("Minimum", 1.0),
        ("Maximum", 10.0),
        ("p50", 5.0),
        ("p90", 9.0),
        ("p91", 10.0),
        ("p99.9", 10.0),
        ("p100", 10.0),
        ("p0", 1.0),
        ("p10", 1.0),
        ("p10.5", 2.0),
    ],
)
def test_statistics(stat: str, want: float) -> None:
    """https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#Statistic;
    percentiles by nearest rank (the harness's documented choice)."""
    assert aggregate([7, 3, 10, 1, 5, 9, 2, 8, 4, 6], stat) == want


@pytest.mark.parametrize("stat", ["Median", "p101", "P90", "pNaN"])
def test_unknown_statistics_are_refused(stat: str) -> None:
    with pytest.raises(ValueError, match="statistic"):
        aggregate([1.0], stat)


def test_aggregate_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match="missing datapoint"):
        aggregate([], "Average")


# ------------------------------------------------------------------------------------------- bucketing

T0 = 1_800_000_000.0  # a multiple of 60: 2027-01-15T08:00:00Z


@pytest.mark.parametrize(
    ("end", "want_starts"),
    [
        (T0 + 180, [T0, T0 + 60, T0 + 120]),  # exactly on a boundary: the period ending there is complete
        (T0 + 239.9, [T0, T0 + 60, T0 + 120]),  # the period in progress is not used
        (T0 + 240, [T0 + 60, T0 + 120, T0 + 180]),
    ],
)
def test_period_starts_are_aligned_to_the_epoch(end: float, want_starts: list[float]) -> None:
    assert period_starts(60, end, 3) == want_starts


def test_datapoints_bucket_samples_by_aligned_period() -> None:
    samples = [
        (T0 - 0.1, 1000.0),  # before the range
        (T0, 10.0),  # first second of the first period
        (T0 + 59.999, 20.0),
        (T0 + 60, 99.0),  # second period
        (T0 + 180, 1000.0),  # the period in progress at `end`
    ]
    assert datapoints(samples, 60, "Average", T0 + 200, 3) == [15.0, 99.0, None]
    assert datapoints(samples, 60, "SampleCount", T0 + 200, 3) == [2.0, 1.0, None]
    assert datapoints(samples, 300, "Maximum", T0 + 300, 1) == [1000.0]
    assert datapoints([], 60, "Sum", T0, 2) == [None, None]


def test_period_must_be_positive() -> None:
    with pytest.raises(ValueError, match="period"):
        period_starts(0, T0, 3)


# --------------------------------------------------------------------------------------------- actions


@dataclass
class FakeAlarm:
    name: str = "cpu-high"
    statistic: str | None = "Average"
    extended_statistic: str | None = None
    period: int = 60
    evaluation_periods: int = 1
    datapoints_to_alarm: int | None = None
    threshold: float = 85.0
    comparison_operator: str = "GreaterThanThreshold"
    treat_missing_data: str | None = None
    alarm_actions: list[str] = field(default_factory=list)
    ok_actions: list[str] = field(default_factory=list)
    insufficient_data_actions: list[str] = field(default_factory=list)
    actions_enabled: bool = True


SNS = "arn:aws:sns:us-east-1:123456789012:alerts"
POLICY = (
    "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:0e4c:resource/ecs/service/c/s:policyName/scale-out"
)


@pytest.mark.parametrize(
    ("old", "new", "want"),
    [
        (OK, ALARM, [SNS, POLICY]),
        (INSUFFICIENT_DATA, ALARM, [SNS, POLICY]),
        (ALARM, OK, ["ok-topic"]),
        (ALARM, INSUFFICIENT_DATA, ["insufficient-topic"]),
        (ALARM, ALARM, []),
        (OK, OK, []),
    ],
)
def test_actions_run_only_on_a_state_change(old: str, new: str, want: list[str]) -> None:
    """AlarmThatSendsEmail.html, "Alarm actions": actions run when the alarm changes state."""
    alarm = FakeAlarm(alarm_actions=[SNS, POLICY], ok_actions=["ok-topic"], insufficient_data_actions=["insufficient-topic"])
    assert actions_for(old, new, alarm) == want


def test_auto_scaling_actions_repeat_while_the_state_lasts() -> None:
    """AlarmThatSendsEmail.html: Auto Scaling actions are invoked once per minute while the state lasts."""
    alarm = FakeAlarm(alarm_actions=[SNS, POLICY], ok_actions=[SNS])
    assert repeat_actions(ALARM, alarm) == [POLICY]
    assert repeat_actions(OK, alarm) == []
    assert repeat_actions(ALARM, FakeAlarm(alarm_actions=[POLICY], actions_enabled=False)) == []
    assert actions_for(OK, ALARM, FakeAlarm(alarm_actions=[POLICY], actions_enabled=False)) == []


def test_alarm_statistic_prefers_the_extended_statistic() -> None:
    assert alarm_statistic(FakeAlarm(statistic=None, extended_statistic="p90")) == "p90"
    assert alarm_statistic(FakeAlarm()) == "Average"
    with pytest.raises(ValueError, match="cpu-high"):
        alarm_statistic(FakeAlarm(statistic=None))


def test_assess_from_raw_samples() -> None:
    alarm = FakeAlarm(evaluation_periods=1, datapoints_to_alarm=1, threshold=85.0)
    now = T0 + 185.0
    samples = [(T0 + 120 + 5, 90.0), (T0 + 120 + 35, 92.4)]
    result = assess(alarm, samples, now, current_state=OK)
    assert result.starts == (T0, T0 + 60, T0 + 120)
    assert result.points == (None, None, 91.2)
    assert result.evaluation.state == ALARM
    assert result.reason == (
        "Threshold Crossed: 1 out of the last 1 datapoints [91.2 (15/01/27 08:02:00)] was greater than the "
        "threshold (85.0) (minimum 1 datapoint for OK -> ALARM transition)."
    )
    assert result.reason_data["evaluatedDatapoints"] == [
        {"timestamp": "2027-01-15T08:02:00.000+0000", "sampleCount": 2.0, "value": 91.2}
    ]
