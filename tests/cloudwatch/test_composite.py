"""Composite alarms: the AlarmRule grammar and the composite's state, from AWS's documented cases.

Rule expressions: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Create_Composite_Alarm.html
and https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutCompositeAlarm.html (AlarmRule,
ActionsSuppressor*); the INSUFFICIENT_DATA rule and the example template:
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-cloudwatch-compositealarm.html
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from harness.cloudwatch.composite import (
    ChildState,
    CompositeAlarm,
    RuleError,
    children,
    composite_state,
    evaluate,
    evaluation_order,
    parse_composite,
    parse_rule,
    suppressed_by,
)

A, O, I = "ALARM", "OK", "INSUFFICIENT_DATA"
ARN = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:DiskReadOpsTooHigh"

# (rule, child states, rule value): each documented example, then each function and operator.
CASES = [
    # "ALARM(CPUUtilizationTooHigh) AND ALARM(DiskReadOpsTooHigh) specifies that the composite alarm goes into
    # ALARM state only if both ... are in ALARM state."
    ("ALARM(CPUUtilizationTooHigh) AND ALARM(DiskReadOpsTooHigh)", {"CPUUtilizationTooHigh": A, "DiskReadOpsTooHigh": A}, True),
    ("ALARM(CPUUtilizationTooHigh) AND ALARM(DiskReadOpsTooHigh)", {"CPUUtilizationTooHigh": A, "DiskReadOpsTooHigh": O}, False),
    # "ALARM(CPUUtilizationTooHigh) AND NOT ALARM(DeploymentInProgress) specifies that the alarm goes to ALARM
    # state if CPUUtilizationTooHigh is in ALARM state and DeploymentInProgress is not in ALARM state."
    ("ALARM(CPUUtilizationTooHigh) AND NOT ALARM(DeploymentInProgress)", {"CPUUtilizationTooHigh": A, "DeploymentInProgress": O}, True),
    ("ALARM(CPUUtilizationTooHigh) AND NOT ALARM(DeploymentInProgress)", {"CPUUtilizationTooHigh": A, "DeploymentInProgress": I}, True),
    ("ALARM(CPUUtilizationTooHigh) AND NOT ALARM(DeploymentInProgress)", {"CPUUtilizationTooHigh": A, "DeploymentInProgress": A}, False),
    # "(ALARM(CPUUtilizationTooHigh) OR ALARM(DiskReadOpsTooHigh)) AND OK(NetworkOutTooHigh) goes into ALARM
    # state if CPUUtilizationTooHigh OR DiskReadOpsTooHigh is in ALARM state, and if NetworkOutTooHigh is in OK."
    ("(ALARM(CPUUtilizationTooHigh) OR ALARM(DiskReadOpsTooHigh)) AND OK(NetworkOutTooHigh)",
     {"CPUUtilizationTooHigh": O, "DiskReadOpsTooHigh": A, "NetworkOutTooHigh": O}, True),
    ("(ALARM(CPUUtilizationTooHigh) OR ALARM(DiskReadOpsTooHigh)) AND OK(NetworkOutTooHigh)",
     {"CPUUtilizationTooHigh": A, "DiskReadOpsTooHigh": A, "NetworkOutTooHigh": I}, False),
    # The CloudFormation page's example, with a composite child whose rule is FALSE.
    ("(ALARM(HighCPUUsage) OR ALARM(HighMemoryUsage)) AND NOT ALARM(DeploymentInProgress)",
     {"HighCPUUsage": O, "HighMemoryUsage": A, "DeploymentInProgress": O}, True),
    # "TRUE always evaluates to TRUE. FALSE always evaluates to FALSE."
    ("TRUE", {}, True),
    ("FALSE", {}, False),
    # OK(...) and INSUFFICIENT_DATA(...) are TRUE only in their state.
    ("OK(x)", {"x": O}, True),
    ("OK(x)", {"x": I}, False),
    ("INSUFFICIENT_DATA(x)", {"x": I}, True),
    ("INSUFFICIENT_DATA(x)", {"x": A}, False),
    # "Alarm names specified in AlarmRule can be surrounded with double-quotes (")"; "You can use either alarm
    # names or ARNs".
    ('ALARM("CPUUtilizationTooHigh") OR ALARM("' + ARN + '")', {"CPUUtilizationTooHigh": O, ARN: A}, True),
    ("ALARM(" + ARN + ")", {ARN: O}, False),
    ('ALARM("name with spaces")', {"name with spaces": A}, True),
    # NOT binds tighter than AND, AND tighter than OR.
    ("ALARM(a) OR ALARM(b) AND ALARM(c)", {"a": A, "b": O, "c": O}, True),
    ("NOT ALARM(a) AND ALARM(b)", {"a": O, "b": A}, True),
    ("NOT (ALARM(a) AND ALARM(b))", {"a": A, "b": A}, False),
    ("NOT NOT ALARM(a)", {"a": A}, True),
]


@pytest.mark.parametrize(("rule", "states", "value"), CASES)
def test_rule_value(rule: str, states: dict[str, str], value: bool) -> None:
    assert evaluate(parse_rule(rule), states) is value


def test_children_are_every_alarm_named_once() -> None:
    rule = parse_rule('(ALARM(a) OR OK("b")) AND NOT ALARM(a) AND INSUFFICIENT_DATA(' + ARN + ")")
    assert children(rule) == ("a", "b", ARN)
    assert children(parse_rule("TRUE")) == ()


@pytest.mark.parametrize(("rule", "message"), [
    ("", "empty"),
    ("ALARM(a) AND", "ends where a term is expected"),
    ("ALARM(a", "')' closing ALARM("),
    ("ALARM()", "names no alarm"),
    ("ALERT(a)", "unexpected 'ALERT'"),
    ("(ALARM(a) OR OK(b)", "expected ')'"),
    ("ALARM(a) OK(b)", "unexpected 'OK'"),
])
def test_rules_that_do_not_parse_name_the_culprit(rule: str, message: str) -> None:
    with pytest.raises(RuleError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_rule(rule)


def test_an_alarm_the_rule_names_must_exist() -> None:
    with pytest.raises(RuleError, match="alarm 'ghost'"):
        evaluate(parse_rule("ALARM(ghost)"), {})


def _composite(rule: str, **kw: object) -> CompositeAlarm:
    return parse_composite({"AlarmName": "page", "AlarmArn": "arn:aws:cloudwatch:us-east-1:1:alarm:page",
                            "AlarmRule": rule, **kw})


def test_state_true_is_alarm_false_is_ok_and_the_reason_names_the_last_change() -> None:
    c = _composite("ALARM(err) AND ALARM(slow)")
    kids = {"err": ChildState("err", "arn:err", A, 120.0), "slow": ChildState("slow", "arn:slow", A, 180.0)}
    d = composite_state(c, kids)
    assert d.state == A
    assert d.reason == "arn:slow transitioned to ALARM at Thursday 01 January, 1970 00:03:00 UTC"
    assert d.reason_data == {"triggeringAlarms": [
        {"arn": "arn:slow", "state": {"value": "ALARM", "timestamp": "1970-01-01T00:03:00.000+0000"}}]}
    kids["slow"] = ChildState("slow", "arn:slow", O, 240.0)
    assert composite_state(c, kids).state == O
    # A child in INSUFFICIENT_DATA does not make the composite INSUFFICIENT_DATA: only creation does.
    kids["slow"] = ChildState("slow", "arn:slow", I, 300.0)
    assert composite_state(c, kids).state == O


def test_constant_rules() -> None:
    assert composite_state(_composite("TRUE"), {}).state == A
    assert composite_state(_composite("FALSE"), {}).reason == "The alarm rule FALSE evaluated to FALSE"


def test_parse_composite_reads_describe_alarms() -> None:
    c = _composite("ALARM(a)", StateValue="OK", AlarmActions=["arn:aws:sns:us-east-1:1:t"], ActionsSuppressor="maint",
                   ActionsSuppressorExtensionPeriod=120, ActionsSuppressorWaitPeriod=60)
    assert (c.state_value, c.alarm_actions, c.actions_suppressor, c.actions_suppressor_extension_period,
            c.actions_suppressor_wait_period) == ("OK", ("arn:aws:sns:us-east-1:1:t",), "maint", 120, 60)
    with pytest.raises(RuleError):
        _composite("ALARM(a) AND")


@pytest.mark.parametrize(("state", "transitions", "now", "expected"), [
    (A, [(0.0, O, A)], 10.0, "Alarm"),              # the suppressor is in ALARM
    (O, [(0.0, O, A), (100.0, A, O)], 150.0, "ExtensionPeriod"),  # left ALARM 50 s ago, extension 120 s
    (O, [(0.0, O, A), (100.0, A, O)], 220.0, None),  # the extension is over
    (O, [(100.0, I, O)], 150.0, None),             # it never was in ALARM
    (I, [], 10.0, None),
])
def test_actions_suppressor(state: str, transitions: list[tuple[float, str, str]], now: float,
                            expected: str | None) -> None:
    c = _composite("ALARM(a)", ActionsSuppressor="maint", ActionsSuppressorExtensionPeriod=120)
    assert suppressed_by(c, transitions, state, now) == expected
    assert suppressed_by(_composite("ALARM(a)"), transitions, state, now) is None


def test_evaluation_order_children_first_and_cycles_left_out() -> None:
    top = _composite("ALARM(mid) OR ALARM(x)", AlarmName="top")
    mid = parse_composite({"AlarmName": "mid", "AlarmArn": "arn:mid", "AlarmRule": "ALARM(x)"})
    loop1 = parse_composite({"AlarmName": "loop1", "AlarmRule": "ALARM(loop2)"})
    loop2 = parse_composite({"AlarmName": "loop2", "AlarmRule": "ALARM(loop1)"})
    ordered, cyclic = evaluation_order([top, loop1, mid, loop2])
    assert [a.name for a in ordered] == ["mid", "top"]
    assert sorted(a.name for a in cyclic) == ["loop1", "loop2"]


# ------------------------------------------------------------------ the alarm loop over the real moto server

COMPOSITE_STACK = """
Resources:
  Topic:
    Type: 'AWS::SNS::Topic'
    Properties:
      Subscription: [{Protocol: email, Endpoint: oncall@example.com}]
  Errors:
    Type: 'AWS::CloudWatch::Alarm'
    Properties:
      AlarmName: web-5xx
      Namespace: AWS/ApplicationELB
      MetricName: HTTPCode_Target_5XX_Count
      Dimensions: [{Name: LoadBalancer, Value: app/web-alb/50dc6c495c0c9188}]
      Statistic: Sum
      Period: 60
      EvaluationPeriods: 1
      ComparisonOperator: GreaterThanThreshold
      Threshold: 5
      TreatMissingData: notBreaching
  Slow:
    Type: 'AWS::CloudWatch::Alarm'
    Properties:
      AlarmName: web-latency
      Namespace: AWS/ApplicationELB
      MetricName: TargetResponseTime
      Dimensions: [{Name: LoadBalancer, Value: app/web-alb/50dc6c495c0c9188}]
      Statistic: Average
      Period: 60
      EvaluationPeriods: 1
      ComparisonOperator: GreaterThanThreshold
      Threshold: 0.5
      TreatMissingData: notBreaching
  Page:
    Type: 'AWS::CloudWatch::CompositeAlarm'
    Properties:
      AlarmName: web-page
      AlarmRule: !Sub 'ALARM("${Errors}") AND ALARM(${Slow.Arn})'
      AlarmActions: [!Ref Topic]
      OKActions: [!Ref Topic]
"""


def test_loop_evaluates_composites_after_their_children_and_mails(own_aws: Any, box: Any, sink: Any) -> None:
    """The composite deployed through CloudFormation: first evaluation OK (its rule is FALSE), ALARM in the
    minute both children are in ALARM (an email with its rule in the body), OK when one child recovers; the
    state, reason and history are written back to the cloud like a metric alarm's."""
    from tests.cloudwatch.test_alarms import LB, T0, make, minutes, put, rel, run

    # The embedded cloud (the harness's CloudFormation models), emptied for this module.
    c = {n: own_aws.client(n) for n in ("cloudwatch", "sns", "cloudformation")}
    c["cloudformation"].create_stack(StackName="composite-loop", TemplateBody=COMPOSITE_STACK)
    topic = c["cloudformation"].describe_stack_resource(
        StackName="composite-loop", LogicalResourceId="Topic")["StackResourceDetail"]["PhysicalResourceId"]
    loop = make(c, sink)
    errors = [0, 9, 9, 9, 0]  # 5XX per minute (threshold 5)
    latency = [0.1, 0.1, 0.9, 0.9, 0.9]  # seconds (threshold 0.5)

    def data(k: int) -> None:
        put(c["cloudwatch"], "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", LB, T0 + 60 * k + 30, [errors[k]])
        put(c["cloudwatch"], "AWS/ApplicationELB", "TargetResponseTime", LB, T0 + 60 * k + 30, [latency[k]])

    run(minutes(loop, 5, data))

    assert rel(loop.evaluator.transitions("web-page")) == [
        (0, "INSUFFICIENT_DATA", "OK"), (180, "OK", "ALARM"), (300, "ALARM", "OK")]
    page_mails = [m for m in box.messages() if "web-page" in m.subject]
    # "Any actions associated with the new state are then executed" from the first evaluation on (the
    # CloudFormation page): the first OK mails too.
    assert [m.subject.split(":")[0] for m in page_mails] == ["OK", "ALARM", "OK"]
    page_mails = page_mails[1:]
    assert "Alarm Rule:\n- ALARM(\"web-5xx\") AND ALARM(arn:aws:cloudwatch:us-east-1:" in page_mails[0].body
    assert "Monitored Metric:" not in page_mails[0].body
    # web-latency went to ALARM last (minute 3): the reason names it.
    assert ":alarm:web-latency transitioned to ALARM at " in page_mails[0].body
    (stored,) = c["cloudwatch"].describe_alarms(AlarmNames=["web-page"], AlarmTypes=["CompositeAlarm"])["CompositeAlarms"]
    assert stored["StateValue"] == "OK" and ":alarm:web-5xx transitioned to OK" in stored["StateReason"]
    assert json.loads(stored["StateReasonData"])["triggeringAlarms"][0]["state"]["value"] == "OK"
    kinds = [(h.timestamp - T0, h.history_item_type, h.summary) for h in loop.evaluator.history("web-page")]
    assert kinds == [
        (0, "StateUpdate", "Alarm updated from INSUFFICIENT_DATA to OK"),
        (0, "Action", f"Successfully executed action {topic}"),
        (180, "StateUpdate", "Alarm updated from OK to ALARM"),
        (180, "Action", f"Successfully executed action {topic}"),
        (300, "StateUpdate", "Alarm updated from ALARM to OK"),
        (300, "Action", f"Successfully executed action {topic}"),
    ]
    assert loop.evaluator.errors == []
