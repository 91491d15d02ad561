"""Application Auto Scaling, as the harness runs it: one module per policy type plus the executor.

moto stores scalable targets and policies but never runs them. Each AWS noun keeps its pure rules and
its I/O loop side by side here, so any rule is found in one place:

- `step`: step scaling (which step, how much, cooldowns), pure;
- `target_tracking`: target tracking (the alarms AWS creates for a policy, and what an invocation does),
  pure;
- `executor`: the loop that runs a policy when its alarm invokes it (reads the policy, target and
  service back from the API, asks the pure module, applies the decision with ECS UpdateService).

The step scaling names stay importable from `harness.autoscaling` itself (the module this package replaced).
"""

from __future__ import annotations

from harness.autoscaling.step import (
    ADJUSTMENT_TYPES,
    CHANGE_IN_CAPACITY,
    EXACT_CAPACITY,
    NO_COOLDOWN,
    PERCENT_CHANGE_IN_CAPACITY,
    SUCCESSFUL,
    Cooldown,
    Decision,
    PolicyLike,
    ScalingActivity,
    StepLike,
    TargetLike,
    adjustment,
    decide,
    is_above,
    round_percent_change,
    select_step,
    validate_steps,
)

__all__ = [
    "ADJUSTMENT_TYPES",
    "CHANGE_IN_CAPACITY",
    "EXACT_CAPACITY",
    "NO_COOLDOWN",
    "PERCENT_CHANGE_IN_CAPACITY",
    "SUCCESSFUL",
    "Cooldown",
    "Decision",
    "PolicyLike",
    "ScalingActivity",
    "StepLike",
    "TargetLike",
    "adjustment",
    "decide",
    "is_above",
    "round_percent_change",
    "select_step",
    "validate_steps",
]
