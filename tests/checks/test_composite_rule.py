"""`harness check`: a composite alarm whose AlarmRule names an alarm that is not deployed is an error
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutCompositeAlarm.html), found on its
template deployed to the session's embedded cloud and read back; a rule naming alarms by Ref and ARN is clean."""

from __future__ import annotations

from pathlib import Path

from harness.checks import ERROR
from harness.checks.output import line_of, template_lines
from harness.checks.run import check_deployed
from harness.cloud.clients import Aws
from harness.deploy import deploy, teardown

TEMPLATE = Path(__file__).resolve().parents[1] / "data" / "composite" / "unknown-child.yml"


def test_composite_rule_naming_an_alarm_not_deployed_is_an_error(aws: Aws) -> None:
    deployment = deploy(aws, TEMPLATE, {}, stack_name="check-composite")
    try:
        model, found = check_deployed(aws, deployment.stack_name)
    finally:
        teardown(aws, deployment)
    assert sorted(model.logical_ids[c] for c in ("Page", "Typo")) == sorted(c.name for c in model.composite_alarms)
    assert [(f.rule.id, f.severity, f.logical_id) for f in found] == [
        ("composite-alarm-unknown-child", ERROR, "Typo")]
    (f,) = found
    assert "check-composite-Latencyy" in f.message and "no alarm of the account" in f.message
    assert "!Ref" in f.fix and f.rule.doc_url.endswith("API_PutCompositeAlarm.html")
    text = TEMPLATE.read_text().splitlines()
    line = line_of(template_lines(TEMPLATE), f)
    assert line is not None and text[line - 1].strip().startswith("AlarmRule:")
    assert text[line - 5].strip() == "Typo:"
