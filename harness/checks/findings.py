"""The shape of a check finding, shared by the rules and the renderers (text, JSON, SARIF)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Rule:
    """One rule: a stable id (SARIF ruleId), a short name, the AWS behaviour it rests on and its doc page."""

    id: str
    name: str
    aws_rule: str
    doc_url: str


@dataclass(frozen=True)
class Finding:
    rule: Rule
    severity: str  # ERROR or WARNING
    logical_id: str | None  # the template resource, when the stack says which one it is
    resource: str  # the physical name (alarm name, policy name, service name)
    message: str  # what is wrong, with the stack's own numbers
    fix: str  # what to change in the template
    # The property the finding is about, as a path under the resource (e.g. StepScalingPolicyConfiguration,
    # StepAdjustments): the SARIF location descends as far as the template has it.
    path: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["rule"] = asdict(self.rule)
        out["path"] = list(self.path)
        return out
