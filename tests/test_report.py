"""Tests for the run report: pure rendering of a synthetic run, the terminal table and timeline, the files.

The synthetic run's events are made as the harness makes them (typed events on a Timeline) and put into
the report as report.json holds them (flat: time, kind, fields), so the report reads them back as types."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from harness import report_schema
from harness.errors import ConfigError
from harness.events import (AlarmAction, AlarmTransition, DesiredChange, Event, LbCounters, MailSent, MetricDatapoint,
                            PhaseChange, ScalingActivity, ServiceSample, TargetChange, TaskChange, TaskCounts, Timeline,
                            TypedEvent)
from harness.report import (
    alarm_intervals,
    as_event,
    offset,
    phase_spans,
    render_html,
    timeline_line,
    verdict_table,
    write_report,
)

T0 = 1_800_000_000.0
HIGH, LOW = "CPUUtilizationHighAlarm", "CPUUtilizationLowAlarm"
REASON = (
    "Threshold Crossed: 1 out of the last 1 datapoints [91.2 (15/01/27 08:03:00)] was greater than the threshold "
    "(70.0) (minimum 1 datapoint for OK -> ALARM transition)."
)


def flat(timeline: Timeline) -> list[dict[str, Any]]:
    """The timeline's events as report.json holds them (harness.scenarios.runner.build_report)."""
    return [{"time": e.time, "kind": e.kind, **e.data} for e in timeline.events]


def event(t: float, typed: TypedEvent) -> Event:
    return Timeline().emit(t, typed)


def synthetic_report() -> dict[str, Any]:
    """A 12-minute run: load rises, CPU crosses the high alarm, the service scales 1 -> 3, load falls."""
    tl = Timeline()
    for t, typed in [
        (T0, PhaseChange(name="warm-up", action="start")),
        (T0 + 20, TaskChange(task_id="t-1", action="started", reason="service scheduler")),
        (T0 + 60, AlarmTransition(name=HIGH, old="INSUFFICIENT_DATA", new="OK", reason="ok")),
        (T0 + 60, AlarmTransition(name=LOW, old="INSUFFICIENT_DATA", new="ALARM", reason="low")),
        (T0 + 120, PhaseChange(name="warm-up", action="end", timed_out=False)),
        (T0 + 120, PhaseChange(name="spike", action="start")),
        (T0 + 180, AlarmTransition(name=LOW, old="ALARM", new="OK", reason="back up")),
        (T0 + 240, AlarmTransition(name=HIGH, old="OK", new="ALARM", reason=REASON)),
        (T0 + 240, ScalingActivity(description="Setting desired count to 3.", policy="ScaleOut", alarm=HIGH,
                                   cause=f"monitor alarm {HIGH} in state ALARM triggered policy ScaleOut",
                                   resource_id="service/c/web", status="Successful")),
        (T0 + 240, DesiredChange(old=1, new=3, policy="ScaleOut", resource_id="service/c/web")),
        (T0 + 250, MailSent(to=["admin@example.com"], subject=f'ALARM: "{HIGH}" in US East', body="b")),
        (T0 + 300, TargetChange(target="127.0.0.1:31001", old="initial", new="healthy", reason="")),
        (T0 + 480, PhaseChange(name="spike", action="end", timed_out=False)),
        (T0 + 600, AlarmTransition(name=HIGH, old="ALARM", new="OK", reason="calm")),
    ]:
        tl.emit(t, typed)
    for i in range(0, 720, 15):
        t = T0 + i
        cpu = 20.0 if i < 120 else (95.0 if i < 480 else 15.0)
        running = 1 if i < 270 else 3
        tl.emit(t, ServiceSample(service="web", cluster="c", namespace="AWS/ECS", cpu=cpu, memory=30.0, tasks=running))
        tl.emit(t, TaskCounts(service="web", desired=1 if i < 240 else 3, running=running,
                              healthy=running if i >= 300 else 1))
        tl.emit(t, LbCounters(requests=150 if 120 <= i < 480 else 30, elb_5xx=6 if 200 <= i < 260 else 0,
                              target_5xx=3 if 120 <= i < 200 else 0, healthy=1, unhealthy=0))
    for m in range(12):
        tl.emit(T0 + 60 * m + 60, MetricDatapoint(alarm=HIGH, namespace="AWS/ECS", metric="CPUUtilization",
                                                  statistic="Average", period=60, period_start=T0 + 60 * m,
                                                  value=20.0 if m < 2 else (95.0 if m < 8 else 15.0)))
    events = flat(tl)
    return {
        "scenario": "cpu-spike",
        "description": "CPU load above the high threshold scales the service out.",
        "template": "infrastructure/service.yml",
        "time_scale": 60.0,
        "cloud": "embedded moto",
        "started": T0,
        "ended": T0 + 720,
        "wall_seconds": 12.0,
        "template_seconds": 720.0,
        "passed": False,
        "stack": {
            "alarms": [
                {"name": HIGH, "metric": "CPUUtilization", "namespace": "AWS/ECS", "statistic": "Average",
                 "period": 60, "evaluation_periods": 1, "threshold": 70.0,
                 "comparison_operator": "GreaterThanThreshold", "role": "cpu-high"},
                {"name": LOW, "metric": "CPUUtilization", "namespace": "AWS/ECS", "statistic": "Average",
                 "period": 60, "evaluation_periods": 3, "threshold": 25.5,
                 "comparison_operator": "LessThanThreshold", "role": "cpu-low"},
                {"name": "Target5XXAlarm", "metric": "HTTPCode_Target_5XX_Count", "namespace": "AWS/ApplicationELB",
                 "statistic": "Sum", "period": 60, "evaluation_periods": 1, "threshold": 10,
                 "comparison_operator": "GreaterThanThreshold", "role": "5xx"},
            ],
            "scalable_targets": [{"resource_id": "service/c/web", "min_capacity": 1, "max_capacity": 4}],
            "policies": [{"name": "ScaleOut", "adjustment_type": "ChangeInCapacity", "cooldown": 60,
                          "steps": [{"lower": 0, "upper": 15, "adjustment": 1}, {"lower": 15, "adjustment": 2}]}],
        },
        "events": events,
        "verdicts": [
            {"name": "high CPU alarm fires", "expected": "ALARM within 3 min of the spike", "observed": "ALARM at +04:00",
             "passed": True},
            {"name": "service scales out to max", "expected": "desired count 4", "observed": "desired count 3",
             "passed": False},
        ],
        "emails": [
            {"time": T0 + 250, "to": ["admin@example.com"], "subject": f'ALARM: "{HIGH}" in US East (N. Virginia)',
             "body": "You are receiving this email because ... <b>not bold</b>"},
            {"time": None, "to": ["ops@example.com"], "subject": "<script>alert(1)</script>", "body": "x & y"},
        ],
        "load": {
            "endpoints": [{"name": "/cpu", "requests": 5400, "failures": 12, "rps": 7.5, "p50_ms": 12.0, "p95_ms": 80.5,
                           "p99_ms": 140.25, "statuses": {200: 5388, 503: 12}}],
            "history": [{"timestamp": 1.0, "users": 10, "rps": 7.5}],
        },
        "phases": [],
    }


class _Checker(HTMLParser):
    """Collects tags and text; fails on tags the report must never contain."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            assert not name.startswith("on"), f"event handler attribute {name}"
            if name in ("src", "href"):
                raise AssertionError(f"external reference {name}={value}")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(page: str) -> _Checker:
    checker = _Checker()
    checker.feed(page)
    checker.close()
    return checker


# ---------------------------------------------------------------------------------------------- HTML


def test_html_shows_thresholds_verdicts_emails_and_is_self_contained() -> None:
    page = render_html(synthetic_report())
    parsed = _parse(page)
    text = "".join(parsed.text)
    # Threshold lines of the CPU alarms, labelled with name, operator and the template's value.
    assert f"{HIGH} &gt; 70" in page
    assert f"{LOW} &lt; 25.5" in page
    assert page.count('stroke-dasharray="6 3"') == 2  # one line per CPU alarm; the 5XX alarm is not on CPU chart
    for verdict in synthetic_report()["verdicts"]:
        assert verdict["name"] in text and verdict["expected"] in text and verdict["observed"] in text
    assert f'ALARM: "{HIGH}" in US East (N. Virginia)' in text
    assert "<script>alert(1)</script>" in text  # shown as text ...
    assert "script" not in parsed.tags  # ... never as a tag
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;not bold&lt;/b&gt;" in page and "b" not in parsed.tags
    assert parsed.tags.count("details") == 2
    assert parsed.tags.count("svg") == 5  # CPU, tasks, alarm states, request rate, 5XX
    assert "link" not in parsed.tags and "img" not in parsed.tags and "@import" not in page
    assert "Setting desired count to 3." in text
    assert f"monitor alarm {HIGH} in state ALARM triggered policy ScaleOut" in text
    assert REASON in text
    assert "FAIL" in text and "/cpu" in text and "200: 5388, 503: 12" in text
    assert "warm-up" in text and "spike" in text  # phase bands, from the phase events
    assert "+04:00" in text
    assert "no data recorded" not in text


def test_verdict_rows_are_coloured_by_result() -> None:
    page = render_html(synthetic_report())
    rows = re.findall(r'<tr class="(pass|fail)">(.*?)</tr>', page)
    assert [(cls, "high CPU alarm fires" in row) for cls, row in rows] == [("pass", True), ("fail", False)]
    assert '<span class="badge FAIL">FAIL</span>' in page


@pytest.mark.parametrize("report", [{}, {"events": [], "verdicts": [], "emails": [], "stack": {}, "load": {},
                                         "phases": []},
                                    {"events": None, "stack": None, "load": {"endpoints": None}, "started": "x"}])
def test_empty_report_renders(report: dict[str, Any]) -> None:
    page = render_html(report)
    parsed = _parse(page)
    text = "".join(parsed.text)
    assert parsed.tags.count("svg") == 5
    assert "No expectations were checked." in text
    assert "No email was sent." in text and "No scaling activity." in text and "No alarm changed state." in text
    assert "NO VERDICT" in text
    assert text.count("no data recorded") == 4 and "1970" not in text
    assert "nan" not in page.lower().replace("nano", "")


def test_report_passed_key_wins_and_falls_back_to_verdicts() -> None:
    assert '<span class="badge PASS">PASS</span>' in render_html({"verdicts": [{"name": "a", "passed": True}]})
    assert '<span class="badge FAIL">FAIL</span>' in render_html({"verdicts": [{"name": "a", "passed": False}]})
    assert '<span class="badge PASS">PASS</span>' in render_html({"passed": True})


def test_cpu_axis_grows_past_100_percent() -> None:
    # A service can use more CPU than it reserved (ECS CPU utilization above 100 %).
    report = {"started": 0.0, "ended": 120.0,
              "events": [{"time": 10.0, "kind": "sample", "service": "s", "cpu": 180.0},
                         {"time": 70.0, "kind": "sample", "service": "s", "cpu": float("nan")},
                         {"time": 80.0, "kind": "sample", "error": "GetMetricData failed"}]}
    page = render_html(report)
    assert ">180</text>" in page or ">200</text>" in page or ">150</text>" in page


def test_html_accepts_timeline_event_objects() -> None:
    timeline = Timeline()
    timeline.emit(T0 + 90, AlarmTransition(name=HIGH, old="OK", new="ALARM", reason="r"))
    page = render_html({"started": T0, "ended": T0 + 300, "events": timeline.events})
    assert f"{HIGH}: ALARM +01:30 to +05:00" in page
    assert page == render_html({"started": T0, "ended": T0 + 300, "events": flat(timeline)})


def test_report_json_events_are_read_as_their_dataclasses() -> None:
    events = synthetic_report()["events"]
    typed = [as_event(e) for e in events]
    assert all(e is not None and e.typed is not None for e in typed)
    assert typed[7] == Event(T0 + 240, "alarm", {"name": HIGH, "old": "OK", "new": "ALARM", "reason": REASON})
    assert typed[7].typed == AlarmTransition(name=HIGH, old="OK", new="ALARM", reason=REASON)  # type: ignore[union-attr]
    assert as_event({"kind": "alarm"}) is None and as_event({"time": 1.0}) is None and as_event("x") is None
    schema = report_schema.schema()  # and they are what report.json's schema documents for each kind
    each = jsonschema.Draft202012Validator({"$defs": schema["$defs"], "$ref": "#/$defs/event"})
    assert [list(each.iter_errors(e)) for e in events] == [[]] * len(events)


def test_an_event_that_does_not_fit_its_kind_is_named_and_left_out_of_the_charts(
        caplog: pytest.LogCaptureFixture) -> None:
    bad = {"time": T0 + 60, "kind": "alarm", "name": HIGH, "old": "OK", "new": "ALARM", "reasn": "typo"}
    with caplog.at_level("WARNING", logger="harness.report"):
        e = as_event(bad)
        page = render_html({"started": T0, "ended": T0 + 300, "events": [bad]})
    assert e is not None and e.typed is None
    assert "alarm event: unknown fields ['reasn']" in caplog.text and "AlarmTransition" in caplog.text
    assert "No alarm changed state." in page  # not read as a transition it is not
    assert timeline_line(e, T0) == f"+01:00  alarm   name={HIGH} old=OK new=ALARM reasn=typo"


# ----------------------------------------------------------------------------------------- chart data


def test_alarm_intervals_from_transitions() -> None:
    events = Timeline([e for e in map(as_event, synthetic_report()["events"]) if e is not None])
    bands = alarm_intervals(events, [HIGH, LOW, "Target5XXAlarm"], T0, T0 + 720)
    assert bands[HIGH] == [
        (T0, T0 + 60, "INSUFFICIENT_DATA"),
        (T0 + 60, T0 + 240, "OK"),
        (T0 + 240, T0 + 600, "ALARM"),
        (T0 + 600, T0 + 720, "OK"),
    ]
    assert bands[LOW] == [(T0, T0 + 60, "INSUFFICIENT_DATA"), (T0 + 60, T0 + 180, "ALARM"), (T0 + 180, T0 + 720, "OK")]
    assert bands["Target5XXAlarm"] == []


def test_phase_spans_prefer_report_phases_and_close_open_ones() -> None:
    assert phase_spans({"phases": [{"name": "a", "start": 1.0, "end": 5.0}, {"name": "b", "start": 5.0}]}, 9.0) == [
        ("a", 1.0, 5.0), ("b", 5.0, 9.0)]
    tl = Timeline()
    tl.emit(0.0, PhaseChange(name="up", action="start"))
    tl.emit(4.0, PhaseChange(name="up", action="end", timed_out=False))
    tl.emit(4.0, PhaseChange(name="hold", action="start"))
    assert phase_spans({"events": flat(tl)}, 10.0) == [("up", 0.0, 4.0), ("hold", 4.0, 10.0)]


# -------------------------------------------------------------------------------------- terminal table


def test_verdict_table_fits_100_columns_and_shows_fail_rows() -> None:
    verdicts = [
        {"name": "high CPU alarm fires", "expected": "ALARM", "observed": "ALARM at +04:00", "passed": True},
        {"name": "service scales out to the maximum capacity of the scalable target " * 2,
         "expected": "desired count 4 within 5 minutes of the alarm " * 3,
         "observed": "desired count 3; the policy's second step was never reached because " * 3, "passed": False},
        {"name": "x", "expected": "averyveryverylongtokenwithoutanyspaces" * 4, "observed": "y"},
    ]
    table = verdict_table(verdicts)
    lines = table.splitlines()
    assert max(len(line) for line in lines) <= 100
    assert lines[0].split(" | ")[0].strip() == "Expectation" and lines[0].endswith("Result")
    assert [line for line in lines if line.endswith("PASS")] == [lines[2]]
    assert sum(1 for line in lines if line.rstrip().endswith("FAIL")) == 2  # missing `passed` is not a pass
    assert lines[-1] == "FAIL: 2 of 3 expectations failed."
    words = " ".join(line.split(" | ")[0] for line in lines).split()
    assert words.count("maximum") == 2  # wrapped, not cut


def test_verdict_table_short_and_empty() -> None:
    table = verdict_table([{"name": "a", "expected": "b", "observed": "c", "passed": True}])
    assert table.splitlines() == [
        "Expectation | Expected | Observed | Result",
        "------------+----------+----------+-------",
        "a           | b        | c        | PASS",
        "------------+----------+----------+-------",
        "PASS: all 1 expectations passed.",
    ]
    assert verdict_table([]) == "No expectations were checked."
    assert all(len(line) <= 60 for line in verdict_table([{"name": "n " * 80, "passed": False}], width=60).splitlines())


# ------------------------------------------------------------------------------------- terminal timeline


@pytest.mark.parametrize(
    ("typed", "t", "line"),
    [
        (AlarmTransition(name=HIGH, old="OK", new="ALARM", reason="Threshold Crossed"), T0 + 150,
         f"+02:30  alarm   {HIGH} OK -> ALARM (Threshold Crossed)"),
        (ScalingActivity(resource_id="service/c/web", policy="up", alarm=HIGH, cause="", status="Successful",
                         description="Setting desired count to 3."), T0 + 150,
         "+02:30  scale   Setting desired count to 3."),
        (MailSent(to=["admin@example.com", "ops@example.com"], subject='ALARM: "A"', body="b"), T0 + 190,
         '+03:10  mail    ALARM: "A" -> admin@example.com, ops@example.com'),
        (TaskChange(task_id="abc", action="started", reason="desired 1"), T0 + 20,
         "+00:20  task    started abc: desired 1"),
        (TaskChange(task_id="abc", action="stopped", reason=""), T0 + 20, "+00:20  task    stopped abc"),
        (TargetChange(target="127.0.0.1:3000", old="initial", new="healthy", reason=""), T0 + 75,
         "+01:15  target  127.0.0.1:3000 initial -> healthy"),
        (DesiredChange(old=1, new=3, policy="up", resource_id="service/c/web"), T0 + 75,
         "+01:15  desired service/c/web desired count 1 -> 3"),
        (PhaseChange(name="spike", action="start"), T0 + 3725, "+1:02:05  phase   spike start"),
        (AlarmAction(alarm="low", arn="arn:aws:autoscaling:x", ok=False, summary="Failed"), T0 + 60,
         "+01:00  action  low: Failed"),
    ],
)
def test_timeline_line_formats(typed: TypedEvent, t: float, line: str) -> None:
    assert timeline_line(event(t, typed), T0) == line


def test_timeline_line_of_a_kind_without_words_lists_its_fields() -> None:
    assert timeline_line(Timeline().emit(T0 - 5, "custom", x=1), T0) == "-00:05  custom  x=1"


@pytest.mark.parametrize("typed", [
    ServiceSample(service="s", cpu=1.0), TaskCounts(service="s", desired=1, running=1, healthy=1),
    LbCounters(requests=1, elb_5xx=0, target_5xx=0),
    MetricDatapoint(alarm="a", namespace="n", metric="m", statistic="Sum", period=60, period_start=T0, value=1.0),
    AlarmAction(alarm="a", arn="arn", ok=True),
])
def test_timeline_line_skips_frequent_events_and_actions_that_worked(typed: TypedEvent) -> None:
    assert timeline_line(event(T0, typed), T0) is None


def test_timeline_line_cuts_long_reasons() -> None:
    alarm = AlarmTransition(name=HIGH, old="OK", new="ALARM", reason=REASON)
    line = timeline_line(event(T0 + 150, alarm), T0, width=100)
    assert line is not None and len(line) == 100 and line.endswith("...")
    assert line.startswith(f"+02:30  alarm   {HIGH} OK -> ALARM (Threshold Crossed: 1 out of")


def test_offset() -> None:
    assert [offset(s) for s in (0, 59.6, 150, 3600, -1)] == ["+00:00", "+01:00", "+02:30", "+1:00:00", "-00:01"]


# ------------------------------------------------------------------------------------------------ files


def test_write_report_writes_both_files_atomically(tmp_path: Path) -> None:
    report = synthetic_report()
    report["events"].append({"time": T0, "kind": "sample", "service": "web", "cpu": float("nan")})
    folder = tmp_path / "reports" / "run1"
    json_path, html_path = write_report(folder, report)
    assert (json_path, html_path) == (folder / "report.json", folder / "report.html")
    loaded = json.loads(json_path.read_text())  # strict JSON: the NaN became null
    assert loaded["scenario"] == "cpu-spike" and loaded["events"][-1]["cpu"] is None
    assert loaded["load"]["endpoints"][0]["statuses"] == {"200": 5388, "503": 12}
    assert html_path.read_text() == render_html(report)
    assert sorted(p.name for p in folder.iterdir()) == ["report.html", "report.json"]  # no temp files left
    write_report(folder, {"scenario": "second"})  # replaces both
    assert json.loads(json_path.read_text()) == {"scenario": "second"}


def test_write_report_names_the_folder_it_cannot_write(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ConfigError, match=re.escape(str(blocker / "run"))):
        write_report(blocker / "run", {})
