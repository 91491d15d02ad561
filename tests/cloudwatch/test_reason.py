"""State-change reasons in CloudWatch's words (forms seen on AWS alarms) and the StateReasonData JSON.

https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html
"""

from __future__ import annotations

import json

import pytest

from harness.cloudwatch.evaluate import evaluate, period_starts
from harness.cloudwatch.reason import java_double, reason, reason_data

T0 = 1_800_000_000.0  # 2027-01-15T08:00:00Z
GT = "GreaterThanThreshold"


def explain(
    points: list[float | None], n: int, m: int | None, tmd: str | None, op: str = GT, threshold: float = 85.0
) -> str:
    starts = [T0 + 60 * i for i in range(len(points))]
    ev = evaluate(points, n, m, threshold, op, tmd, "OK")
    return reason(ev, points, starts, threshold, op)


@pytest.mark.parametrize(
    ("points", "n", "m", "tmd", "op", "want"),
    [
        # M set explicitly: "k out of the last N" with the minimum for the transition.
        (
            [None, None, 91.2],
            1,
            1,
            None,
            GT,
            "Threshold Crossed: 1 out of the last 1 datapoints [91.2 (15/01/27 08:02:00)] was greater than the "
            "threshold (85.0) (minimum 1 datapoint for OK -> ALARM transition).",
        ),
        (
            [1.0, 90.0, 10.0, 86.0, 12.0],
            3,
            1,
            None,
            "GreaterThanOrEqualToThreshold",
            "Threshold Crossed: 1 out of the last 3 datapoints [86.0 (15/01/27 08:03:00)] was greater than or equal to "
            "the threshold (85.0) (minimum 1 datapoint for OK -> ALARM transition).",
        ),
        (
            [90.0, 90.0, 90.0, 1.0, 2.0],
            3,
            2,
            None,
            GT,
            "Threshold Crossed: 2 out of the last 3 datapoints [2.0 (15/01/27 08:04:00), 1.0 (15/01/27 08:03:00)] "
            "were not greater than the threshold (85.0) (minimum 2 datapoints for ALARM -> OK transition).",
        ),
        # M not set: the short form, every supporting datapoint newest first.
        (
            [None, 0.0, 1.0],
            2,
            None,
            None,
            GT,
            "Threshold Crossed: 2 datapoints [1.0 (15/01/27 08:02:00), 0.0 (15/01/27 08:01:00)] were not greater "
            "than the threshold (85.0).",
        ),
        (
            [None, None, 99.5],
            1,
            None,
            None,
            "LessThanOrEqualToThreshold",
            "Threshold Crossed: 1 datapoint [99.5 (15/01/27 08:02:00)] was not less than or equal to the threshold (85.0).",
        ),
        # No datapoint at all.
        (
            [None, None, None],
            1,
            None,
            "notBreaching",
            GT,
            "Threshold Crossed: no datapoints were received for 1 period and 1 missing datapoint was treated as "
            "[NonBreaching].",
        ),
        (
            [None, None, None, None],
            2,
            None,
            "breaching",
            GT,
            "Threshold Crossed: no datapoints were received for 2 periods and 2 missing datapoints were treated as "
            "[Breaching].",
        ),
        ([None, None, None], 1, None, "missing", GT, "Insufficient Data: 1 datapoint was unknown."),
        ([None] * 5, 3, None, None, GT, "Insufficient Data: 3 datapoints were unknown."),
        # Some real datapoints and some fills.
        (
            [None, None, None, None, 1.0],
            3,
            None,
            "breaching",
            "LessThanThreshold",
            "Threshold Crossed: 1 datapoint [1.0 (15/01/27 08:04:00)] was less than the threshold (85.0) and "
            "2 missing datapoints were treated as [Breaching].",
        ),
        (
            [None, None, None, None, 100.0],
            3,
            None,
            "breaching",
            "LessThanThreshold",
            "Threshold Crossed: 1 datapoint [100.0 (15/01/27 08:04:00)] was not less than the threshold (85.0) and "
            "2 missing datapoints were treated as [Breaching].",
        ),
        (
            [None, None, None, None, 1.0],
            3,
            2,
            "breaching",
            GT,
            "Threshold Crossed: 1 datapoint was received for 3 periods and 2 missing datapoints were treated as "
            "[Breaching].",
        ),
        # Premature ALARM: the long form, counting the real breaching datapoints.
        (
            [None, None, 90.0, None, None],
            3,
            None,
            "missing",
            GT,
            "Threshold Crossed: 1 out of the last 3 datapoints [90.0 (15/01/27 08:02:00)] was greater than the "
            "threshold (85.0) (minimum 3 datapoints for OK -> ALARM transition).",
        ),
    ],
)
def test_reason_sentences(points: list[float | None], n: int, m: int | None, tmd: str | None, op: str, want: str) -> None:
    assert explain(points, n, m, tmd, op) == want


def test_retained_state_is_explained_but_is_not_an_aws_sentence() -> None:
    assert explain([None] * 3, 1, None, "ignore").startswith("Retained OK")


@pytest.mark.parametrize(
    ("value", "text"),
    [(85, "85.0"), (0.005, "0.005"), (8.891518474692088, "8.891518474692088"), (1141.0, "1141.0"), (0, "0.0"),
     (1e7, "1.0E7"), (-2.5e-4, "-2.5E-4"), (12345678.9, "1.23456789E7"),
     # alarm-email thresholds (harness/sns.py prints them with this function too)
     (70, "70.0"), (0.5, "0.5"), (100000.0, "100000.0"), (1.5e-5, "1.5E-5"), (-2e8, "-2.0E8")],
)
def test_numbers_print_like_java(value: float, text: str) -> None:
    assert java_double(value) == text


def test_reason_data_has_the_aws_shape() -> None:
    points: list[float | None] = [None, 40.0, None, 90.0, 95.0]
    counts: list[float | None] = [None, 3.0, None, 2.0, 4.0]
    starts = period_starts(60, T0 + 300, 5)
    ev = evaluate(points, 3, 2, 85.0, GT, "missing", "OK")
    data = reason_data(
        ev, points, starts, query_date=T0 + 301.5, statistic="Average", period=60, threshold=85, sample_counts=counts
    )
    assert json.loads(json.dumps(data)) == {
        "version": "1.0",
        "queryDate": "2027-01-15T08:05:01.500+0000",
        "startDate": "2027-01-15T08:01:00.000+0000",
        "statistic": "Average",
        "period": 60,
        "recentDatapoints": [40.0, 90.0, 95.0],
        "threshold": 85.0,
        "evaluatedDatapoints": [
            {"timestamp": "2027-01-15T08:04:00.000+0000", "sampleCount": 4.0, "value": 95.0},
            {"timestamp": "2027-01-15T08:03:00.000+0000", "sampleCount": 2.0, "value": 90.0},
            {"timestamp": "2027-01-15T08:01:00.000+0000", "sampleCount": 3.0, "value": 40.0},
        ],
    }


def test_reason_data_lists_missing_periods_by_timestamp_only() -> None:
    points: list[float | None] = [None, None, None]
    starts = period_starts(60, T0 + 180, 3)
    ev = evaluate(points, 1, None, 85.0, GT, "missing", "OK")
    data = reason_data(ev, points, starts, query_date=T0 + 181, statistic="Sum", period=60, threshold=85.0, unit="Count")
    assert data["recentDatapoints"] == []
    assert data["unit"] == "Count"
    assert data["evaluatedDatapoints"] == [{"timestamp": "2027-01-15T08:02:00.000+0000"}]


def test_reason_refuses_mismatched_inputs() -> None:
    ev = evaluate([1.0], 1, None, 85.0, GT, None, "OK")
    with pytest.raises(ValueError, match="period start"):
        reason(ev, [1.0], [], 85.0, GT)
