"""The Application Load Balancer on loopback: target registry, health checks, and the proxy."""

from __future__ import annotations

from harness.elb.health import HealthChecker, Matcher, ProbeResult, next_health
from harness.elb.proxy import GroupStats, LoadBalancerProxy, LoadBalancerStats
from harness.elb.targets import Target, TargetGroupRuntime, TargetState, routable_targets

__all__ = [
    "GroupStats", "HealthChecker", "LoadBalancerProxy", "LoadBalancerStats", "Matcher", "ProbeResult",
    "Target", "TargetGroupRuntime", "TargetState", "next_health", "routable_targets",
]
