"""Every template under tests/data (and the shipped ones) through deploy, as `harness up` deploys them:
each either deploys (and tears down) or fails with one line naming its culprit; never a traceback.
And `harness up` itself: a deploy failure is one line on stderr with a non-zero exit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.cloud.clients import Aws
from harness.deploy import DEFAULT_PARENTS, PARENT_PARAM, deploy, load_template, parent_stack_name, teardown
from harness.errors import HarnessError
from harness.net import free_port

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"
CORPUS = sorted(
    p for p in [*DATA.rglob("*.yml"), *DATA.rglob("*.yaml"), *DATA.rglob("*.template.json"),
                *(REPO / "infrastructure").glob("*.yml")]
    if "node_modules" not in p.parts
)
# Templates that must deploy unchanged (the families the harness promises), not merely fail cleanly.
MUST_DEPLOY = ("real-family", "shared-alb", "cdk", "infrastructure")


def sibling_parents(template: Path) -> dict[str, Path]:
    """--parent for each required Parent...Stack parameter a sibling file answers (alert.yml for
    ParentAlertStack), as a user of the family would pass them; the two defaults are deploy's own."""
    try:
        declared = load_template(template).get("Parameters") or {}
    except HarnessError:
        return {}
    out: dict[str, Path] = {}
    for name, spec in declared.items():
        if name in DEFAULT_PARENTS or not PARENT_PARAM.fullmatch(name) or "Default" in (spec or {}):
            continue
        for ext in (".yml", ".yaml"):
            candidate = template.parent / f"{parent_stack_name(name)}{ext}"
            if candidate.is_file() and candidate != template:
                out[name] = candidate
    return out


@pytest.mark.parametrize("template", CORPUS, ids=[str(p.relative_to(REPO)) for p in CORPUS])
def test_every_template_deploys_or_names_its_culprit(own_aws: Aws, template: Path) -> None:
    try:
        d = deploy(own_aws, template, {}, stack_name="corpus", parents=sibling_parents(template))
    except HarnessError as err:
        text = str(err)
        assert "\n" not in text and "Traceback" not in text, text
        try:
            doc = load_template(template)
            names = [*doc.get("Resources", {}), *(doc.get("Parameters") or {})]
        except HarnessError:
            names = []
        assert template.name in text or any(n in text for n in names), f"no culprit named: {text}"
        assert not any(part in MUST_DEPLOY for part in template.relative_to(REPO).parts), text
        stacks = own_aws.client("cloudformation").describe_stacks()["Stacks"]
        assert stacks == [], f"left behind: {[s['StackName'] for s in stacks]}"
        return
    teardown(own_aws, d)
    assert own_aws.client("cloudformation").describe_stacks()["Stacks"] == []


@pytest.mark.slow
@pytest.mark.parametrize(("args", "culprit"), [
    (["--template", str(DATA / "unknown_type.yml")], "resource Weird"),
    (["--template", str(DATA / "missing_import.yml")], "imports export nosuchvpc-VPC"),
    (["--template", str(DATA / "real-family" / "service-dedicated-alb.yaml"),
      "--parent", f"ParentVPCStack={DATA / 'real-family' / 'vpc.yaml'}"], "pass --parent ParentAlertStack=FILE"),
    (["--parent", "ParentVPCStack=/no/such.yaml"], "--parent ParentVPCStack=/no/such.yaml"),
    (["--param", "NoSuchParam=1"], "parameter NoSuchParam is not declared"),
])
def test_up_fails_with_one_line_naming_the_culprit(tmp_path: Path, args: list[str], culprit: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "harness.cli", "--home", str(tmp_path), "up", "--cloud-port", str(free_port()), *args],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode != 0
    errors = [line for line in proc.stderr.splitlines() if line.strip()]
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    assert len(errors) == 1 and errors[0].startswith("harness: error: ") and culprit in errors[0], proc.stderr
