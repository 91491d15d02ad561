"""IAM policy documents as IAM reads them: a document without Version is valid.

"If you do not include a Version element, the value defaults to 2008-10-17" (and the document is
accepted). moto's validator demanded Version 2012-10-17, so an `AWS::IAM::Policy` (or a role's inline
policy) written without Version failed to create.
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html
"""

from __future__ import annotations

from typing import Any


def apply() -> None:
    from moto.iam.policy_validation import BaseIAMPolicyValidator

    original = BaseIAMPolicyValidator._validate_version
    if getattr(original, "_harness_wrapped", False):
        return

    def _validate_version(self: Any) -> None:
        if "Version" not in self._policy_json:
            return  # IAM's default version, 2008-10-17
        original(self)

    _validate_version._harness_wrapped = True  # type: ignore[attr-defined]
    BaseIAMPolicyValidator._validate_version = _validate_version  # type: ignore[method-assign]
