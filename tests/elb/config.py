"""Target groups for the load balancer tests: the real `harness.stack` types, filled with AWS's
documented defaults for an HTTP target group unless a test says otherwise
(https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html)."""

from __future__ import annotations

from typing import Any

from harness.stack import HealthCheck, TargetGroup

AWS_DEFAULTS: dict[str, Any] = dict(path="/", port="traffic-port", protocol="HTTP", interval=30.0, timeout=5.0,
                                    healthy_threshold=5, unhealthy_threshold=2, matcher="200")


def health_check(**overrides: Any) -> HealthCheck:
    return HealthCheck(**{**AWS_DEFAULTS, **overrides})


def target_group(health: HealthCheck | None = None, *, name: str = "tg", deregistration_delay: float = 300.0) -> TargetGroup:
    suffix = f"{name}/0123456789abcdef"
    return TargetGroup(arn=f"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/{suffix}", name=name,
                       full_name=f"targetgroup/{suffix}", port=80, protocol="HTTP", target_type="instance",
                       health=health or health_check(), deregistration_delay=deregistration_delay)
