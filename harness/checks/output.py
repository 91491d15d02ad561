"""Findings rendered for people (text), programs (JSON) and CI code scanning (SARIF 2.1.0).

SARIF results point at the template's own lines: the template is parsed again with YAML node marks (a
JSON template is YAML too), and each finding's logical id, then as much of its property path as the
template spells out, gives the line. Every SARIF log is validated against the vendored 2.1.0 schema
with jsonschema before it is handed out, so a malformed log is a bug here, never an upload failure.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from harness.checks.findings import ERROR, Finding
from harness.checks.rules import RULES
from harness.errors import TemplateError

SARIF_SCHEMA = "sarif-2.1.0-rtm.5.json"
SARIF_SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
TOOL_URI = "https://github.com/harness-dev/harness"


# ------------------------------------------------------------------------------------------ locations


class _MarkLoader(yaml.SafeLoader):
    """Composes CloudFormation YAML (short-form tags included) into nodes; nothing is constructed."""


def template_lines(path: Path) -> dict[tuple[str, ...], int]:
    """(logical id, property, ...) -> 1-based line, for every mapping key under Resources."""
    try:
        root = yaml.compose(path.read_text(encoding="utf-8"), Loader=_MarkLoader)
    except (OSError, yaml.YAMLError) as err:
        raise TemplateError(f"template {path} cannot be read for line numbers: {err}") from err
    lines: dict[tuple[str, ...], int] = {}

    def walk(node: yaml.Node, prefix: tuple[str, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    here = (*prefix, str(key.value))
                    lines[here] = key.start_mark.line + 1
                    walk(value, here)

    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if isinstance(key, yaml.ScalarNode) and key.value == "Resources":
                walk(value, ())
    return lines


def line_of(lines: dict[tuple[str, ...], int], finding: Finding) -> int | None:
    """The line of the deepest part of the finding's path the template has (None: no logical id known)."""
    if finding.logical_id is None:
        return None
    best = lines.get((finding.logical_id,))
    path: tuple[str, ...] = (finding.logical_id,)
    for part in finding.path:
        path = (*path, part)
        if path in lines:
            best = lines[path]
    return best


# ---------------------------------------------------------------------------------------------- text


def as_text(findings: Sequence[Finding], template: Path) -> str:
    lines = template_lines(template)
    out: list[str] = []
    for f in findings:
        line = line_of(lines, f)
        where = f"{template.name}:{line}" if line else template.name
        out.append(f"{f.severity.upper():<7} {where}  {f.logical_id or f.resource}  [{f.rule.id}]")
        out.append(f"        {f.message}")
        out.append(f"        rule: {f.rule.aws_rule}")
        out.append(f"        doc:  {f.rule.doc_url}")
        out.append(f"        fix:  {f.fix}")
    errors = sum(f.severity == ERROR for f in findings)
    out.append(f"{errors} error(s), {len(findings) - errors} warning(s) in {template}")
    return "\n".join(out)


def as_json(findings: Sequence[Finding], template: Path) -> dict[str, Any]:
    lines = template_lines(template)
    return {
        "template": str(template),
        "errors": sum(f.severity == ERROR for f in findings),
        "warnings": sum(f.severity != ERROR for f in findings),
        "findings": [{**f.as_dict(), "line": line_of(lines, f)} for f in findings],
    }


# --------------------------------------------------------------------------------------------- SARIF


@cache
def sarif_schema() -> dict[str, Any]:
    text = resources.files("harness.checks").joinpath("schema", SARIF_SCHEMA).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def validate_sarif(log: dict[str, Any]) -> None:
    """Raise jsonschema.ValidationError unless `log` is valid SARIF 2.1.0."""
    jsonschema.Draft4Validator(sarif_schema()).validate(log)


def as_sarif(findings: Sequence[Finding], template: Path, *, base: Path | None = None) -> dict[str, Any]:
    """A SARIF 2.1.0 log with one run; result locations relative to `base` (default: the working folder)."""
    lines = template_lines(template)
    base = (base or Path.cwd()).resolve()
    try:
        uri = template.resolve().relative_to(base).as_posix()
    except ValueError:
        uri = template.resolve().as_uri()
    rules = [rule for rule, _ in RULES]
    index = {rule.id: i for i, rule in enumerate(rules)}
    results = []
    for f in findings:
        region = {"startLine": line_of(lines, f) or 1}
        results.append({
            "ruleId": f.rule.id,
            "ruleIndex": index[f.rule.id],
            "level": "error" if f.severity == ERROR else "warning",
            "message": {"text": f"{f.message} Fix: {f.fix}"},
            "locations": [{
                "physicalLocation": {"artifactLocation": {"uri": uri, "uriBaseId": "SRCROOT"}, "region": region},
                "logicalLocations": [{"name": f.logical_id or f.resource, "kind": "resource"}],
            }],
            "properties": {"fix": f.fix, "resource": f.resource},
        })
    log = {
        "$schema": SARIF_SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "harness check",
                "informationUri": TOOL_URI,
                "rules": [{
                    "id": r.id,
                    "name": "".join(w.capitalize() for w in r.id.split("-")),
                    "shortDescription": {"text": r.name},
                    "fullDescription": {"text": r.aws_rule},
                    "helpUri": r.doc_url,
                } for r in rules],
            }},
            "originalUriBaseIds": {"SRCROOT": {"uri": base.as_uri() + "/"}},
            "results": results,
        }],
    }
    validate_sarif(log)
    return log
