"""The report shows a failed expectation's why (terminal table, HTML Why column) and a failed alarm action on
the live timeline; a successful action shows only as its effect."""

from __future__ import annotations

from harness.events import AlarmAction, Timeline
from harness.report import timeline_line, verdict_table, why_text

WHY = {"link": "policy decision", "chain": ["metric", "alarm state", "action", "policy decision"],
       "text": "down was invoked 3 times by low in ALARM; each time: No step adjustment found for metric value [9.5] "
               "and breach threshold 30.0.", "times": []}
FAILED = {"name": "desired count reaches min_capacity (2)", "expected": "2", "observed": "2 -> 4", "passed": False,
          "why": WHY}


def test_why_text_names_the_link_and_chain() -> None:
    assert why_text(FAILED) == ("broken at policy decision (metric -> alarm state -> action -> policy decision): "
                                + WHY["text"])
    assert why_text({**FAILED, "passed": True}) == "" and why_text({"passed": False}) == ""


def test_verdict_table_ends_with_the_why_lines() -> None:
    table = verdict_table([FAILED, {"name": "ok", "expected": "x", "observed": "x", "passed": True}], width=100)
    tail = table[table.index("FAIL: 1 of 2 expectations failed."):]
    assert " ".join(tail.splitlines()[1:]) == f"why: {FAILED['name']}: {why_text(FAILED)}"
    assert all(len(line) <= 100 for line in table.splitlines())


def test_failed_action_on_the_timeline_success_hidden() -> None:
    failed = AlarmAction(alarm="low", arn="arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:x", ok=False,
                         summary="Failed to execute AutoScaling action: No step adjustment found for metric value "
                                 "[9.5] and breach threshold 30.0")
    assert timeline_line(Timeline().emit(160.0, failed), 100.0, width=200) == f"+01:00  action  low: {failed.summary}"
    assert timeline_line(Timeline().emit(160.0, AlarmAction(alarm="low", arn=failed.arn, ok=True)), 100.0) is None


def test_html_has_a_why_column_with_the_evidence() -> None:
    from harness.report import render_html

    html = render_html({"scenario": "scale-in", "verdicts": [FAILED], "events": []})
    assert "<th>Why</th>" in html
    assert "broken at policy decision" in html and "No step adjustment found for metric value [9.5]" in html


def test_html_draws_the_chain_up_to_the_broken_link() -> None:
    from harness.report import render_html
    from harness.scenarios.why import CHAIN

    html = render_html({"scenario": "s", "verdicts": [{**FAILED, "why": {**WHY, "links": list(CHAIN)}}], "events": []})
    strip = html[html.index('<div class="why">'):]
    assert strip.count('class="link held"') == 3 and strip.count('class="link broken"') == 1
    assert strip.count('class="link unreached"') == 3
    assert strip.index(">policy decision</span>") < strip.index(">desired count</span>") < strip.index(
        ">targets healthy</span>")
