"""`harness check` end to end (its own embedded cloud, deploy, read back, tear down) and its three formats:
SARIF 2.1.0 validated against the vendored schema with jsonschema, located on the template's lines."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from harness.checks import ERROR, Finding
from harness.checks.output import as_sarif, sarif_schema, template_lines, validate_sarif
from harness.checks.rules import RULES
from harness.cli import main
from harness.net import free_port, port_in_use

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "check"
BROKEN = DATA / "scale-in-step-never-matches.yml"


def run_check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["check", *args])
    return code, capsys.readouterr().out


@pytest.mark.slow
def test_sarif_of_the_broken_scale_in_is_valid_and_points_at_its_step(capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    code, out = run_check(capsys, "--template", str(BROKEN), "--format", "sarif", "--cloud-port", str(port))
    assert code == 1
    log = json.loads(out)
    jsonschema.Draft4Validator(sarif_schema()).validate(log)
    (result,) = log["runs"][0]["results"]
    assert result["ruleId"] == "step-never-matches" and result["level"] == "error"
    loc = result["locations"][0]
    assert loc["logicalLocations"][0]["name"] == "ScaleDownPolicy"
    line = loc["physicalLocation"]["region"]["startLine"]
    assert BROKEN.read_text().splitlines()[line - 1].strip() == "StepAdjustments:"
    assert loc["physicalLocation"]["artifactLocation"]["uri"] == "tests/data/check/scale-in-step-never-matches.yml" \
        or loc["physicalLocation"]["artifactLocation"]["uri"].endswith("scale-in-step-never-matches.yml")
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [r.id for r, _ in RULES]
    assert all(r["helpUri"].startswith("https://docs.aws.amazon.com/") for r in rules)
    assert not port_in_use(port)  # the check's cloud is stopped


@pytest.mark.slow
def test_clean_template_exits_0_and_warnings_alone_do_not_fail(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_check(capsys, "--template", str(REPO / "infrastructure" / "ecs.yml"))
    assert code == 0
    assert out.strip().endswith("0 error(s), 0 warning(s) in " + str(REPO / "infrastructure" / "ecs.yml"))
    code, out = run_check(capsys, "--template", str(DATA / "cooldown-short.yml"), "--format", "json")
    report = json.loads(out)
    assert code == 0 and report["errors"] == 0 and report["warnings"] == 1
    (f,) = report["findings"]
    assert f["rule"]["id"] == "cooldown-shorter-than-alarm" and f["logical_id"] == "ScaleUpPolicy"
    assert (DATA / "cooldown-short.yml").read_text().splitlines()[f["line"] - 1].strip() == "Cooldown: 30"


@pytest.mark.slow
def test_text_names_severity_line_rule_doc_and_fix(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_check(capsys, "--template", str(BROKEN), "--param", "DesiredCount=3")
    assert code == 1
    first = out.splitlines()[0]
    assert first.startswith("ERROR   scale-in-step-never-matches.yml:") and "ScaleDownPolicy" in first
    assert "doc:  https://docs.aws.amazon.com/autoscaling/application/userguide/" in out
    assert "fix:  give the step MetricIntervalUpperBound: 0" in out


def test_bad_input_is_one_line_naming_the_culprit(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["check", "--template", str(tmp_path / "nope.yml")]) == 2
    assert "nope.yml does not exist" in capsys.readouterr().err
    assert main(["check", "--template", str(BROKEN), "--param", "NoSuchParam=1"]) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "NoSuchParam" in err


def test_an_invalid_sarif_log_is_refused() -> None:
    """The validation can fail: a log without a tool, or with a wrong level, is rejected by the schema."""
    finding = Finding(RULES[0][0], ERROR, "ScaleDownPolicy", "p", "m", "f", ("Properties",))
    log = as_sarif([finding], BROKEN, base=REPO)
    validate_sarif(log)
    broken = json.loads(json.dumps(log))
    del broken["runs"][0]["tool"]
    with pytest.raises(jsonschema.ValidationError):
        validate_sarif(broken)
    broken = json.loads(json.dumps(log))
    broken["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(jsonschema.ValidationError):
        validate_sarif(broken)


def test_line_map_reads_json_templates_too(tmp_path: Path) -> None:
    doc = {"Resources": {"A": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "x"}}}}
    path = tmp_path / "t.json"
    path.write_text(json.dumps(doc, indent=2))
    lines = template_lines(path)
    assert lines[("A",)] == 3 and lines[("A", "Properties", "TopicName")] == 6
