"""Template checks: what a deployed stack will do wrong, found before any load runs.

A user learns in seconds, in AWS's terms, that a scale-in step can never match its alarm or that an
alarm watches dimensions nothing publishes, instead of watching a run time out. Every rule is a pure
function of the `StackModel` read back from the cloud (so intrinsics, conditions and parameters are
resolved exactly as in `up`), plus the ARNs the account knows; `harness check`, `harness run` and the
tests all call `check_stack`.

    Finding       one problem: severity, resource (logical id), the AWS rule and its doc URL, the fix
    check_stack   every rule over one model -> findings, errors first
"""

from __future__ import annotations

from harness.checks.findings import ERROR, WARNING, Finding, Rule
from harness.checks.rules import RULES, check_stack

__all__ = ["ERROR", "WARNING", "Finding", "RULES", "Rule", "check_stack"]
