"""Compatibility name for `harness.cloud.cfn` (the CloudFormation models, one module per AWS service).

Import from `harness.cloud.cfn`; this module keeps `register()`, `supported_types()` and the
constants other code imported from here working.
"""

from __future__ import annotations

from harness.cloud.cfn import EXTENDED_TYPES, FAILED_RESOURCE_PREFIX, MODELS, kinds, register, supported_types
from harness.cloud.cfn.cloudwatch import INITIAL_REASON, INITIAL_STATE

__all__ = ["EXTENDED_TYPES", "FAILED_RESOURCE_PREFIX", "INITIAL_REASON", "INITIAL_STATE", "MODELS", "kinds",
           "register", "supported_types"]
