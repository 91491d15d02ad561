"""`harness run` checks the deployed stack before its scenario (cli._check_before_run): it prints every finding
and, with --strict, stops on an error. Against the session's embedded cloud, on a deployed template."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from harness import cli
from harness.cloud.clients import Aws
from harness.deploy import deploy, teardown
from harness.stack import read_stack

DATA = Path(__file__).resolve().parents[1] / "data" / "check"


@pytest.mark.parametrize(("template", "strict", "stops"), [
    ("scale-in-step-never-matches.yml", True, True),
    ("scale-in-step-never-matches.yml", False, False),
    ("cooldown-short.yml", True, False),  # a warning never stops a run
])
def test_findings_printed_and_strict_stops_on_errors(aws: Aws, capsys: pytest.CaptureFixture[str], template: str,
                                                     strict: bool, stops: bool) -> None:
    deployment = deploy(aws, DATA / template, {}, stack_name="strict")
    try:
        h = SimpleNamespace(aws=aws, model=read_stack(aws, "strict"), options=SimpleNamespace(template=DATA / template))
        assert cli._check_before_run(h, strict) is stops
    finally:
        teardown(aws, deployment)
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("check      ") and template in lines[0]
    assert ("--strict: 1 error(s); the scenario does not run" in out) is stops


def test_a_clean_stack_says_so(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    template = Path(__file__).resolve().parents[2] / "infrastructure" / "ecs.yml"
    deployment = deploy(aws, template, {}, stack_name="clean")
    try:
        h = SimpleNamespace(aws=aws, model=read_stack(aws, "clean"), options=SimpleNamespace(template=template))
        assert cli._check_before_run(h, True) is False
    finally:
        teardown(aws, deployment)
    assert capsys.readouterr().out.strip() == "check      no findings in the deployed stack"
