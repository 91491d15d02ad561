"""CloudWatch as the harness reproduces it: metric alarm evaluation (pure, `evaluate`), state-change reasons
(`reason`), and the loops that feed them metrics and run their actions.

Submodules are imported explicitly (`from harness.cloudwatch.evaluate import evaluate`) so that importing
the package stays free of I/O and of the other engineers' modules.
"""

from __future__ import annotations
