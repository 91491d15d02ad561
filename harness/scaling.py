"""Where the scaling executor used to live: it is `harness.autoscaling.executor` now.

Kept so that code written against the old path (`from harness.scaling import ScalingExecutor`) still
imports; new code imports from `harness.autoscaling.executor`.
"""

from __future__ import annotations

from harness.autoscaling.executor import (
    InvokingAlarm,
    PolicyRef,
    ScalingExecutor,
    Step,
    StepPolicy,
    Target,
    TrackingPolicy,
    deployment_in_progress,
    metric_value_for,
    parse_policy,
    parse_policy_arn,
    parse_target,
)

__all__ = [
    "InvokingAlarm",
    "PolicyRef",
    "ScalingExecutor",
    "Step",
    "StepPolicy",
    "Target",
    "TrackingPolicy",
    "deployment_in_progress",
    "metric_value_for",
    "parse_policy",
    "parse_policy_arn",
    "parse_target",
]
