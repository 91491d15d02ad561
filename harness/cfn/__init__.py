"""CloudFormation's own semantics, as pure functions over a parsed template.

The emulators create what they are given; CloudFormation first decides WHAT it would create (which
conditions hold, which resources and outputs exist, which imports are reached, what each intrinsic
function returns). The harness needs that decision before deploying, to check only what would be
created and to report every problem at once. Nothing here talks to a cloud.
"""

from harness.cfn.evaluate import (
    NO_VALUE,
    Evaluator,
    Pseudo,
    TemplateProblem,
    Unresolved,
    cidr,
    get_azs,
    typed_parameters,
)

__all__ = ["NO_VALUE", "Evaluator", "Pseudo", "TemplateProblem", "Unresolved", "cidr", "get_azs", "typed_parameters"]
