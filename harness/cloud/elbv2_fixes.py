"""ELBv2 target registration as AWS does it, fixed in the embedded cloud (moto 5.2 gets it wrong).

AWS identifies a registered target by its Id AND its port: "you can register each target with a
target group multiple times using different ports" (an EC2 instance running several tasks with dynamic
host ports; several awsvpc tasks behind one `ip` target group). moto keys targets by Id alone, so a
second task at the same address replaced the first, and deregistering the first then failed with
`InvalidTarget`. Here a target is (Id, Port), Port defaulting to the group's port as in AWS.
https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_TargetDescription.html
https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-register-targets.html

A stack's `AWS::ElasticLoadBalancingV2::ListenerRule` is deleted with the stack (moto has no delete for
it, so the stack's target group stayed "in use by a listener or a rule" and the stack could not be
deleted: a service stack on a shared load balancer could never be torn down).

Also as AWS: an `ip` target group takes IP addresses only (an instance id there is a ValidationError,
which would otherwise hide a harness that registers the wrong kind of target).
https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-target-groups.html#target-type
"""

from __future__ import annotations

import ipaddress
from typing import Any


def _key(target: dict[str, Any], default_port: Any) -> str:
    return f"{target['Id']}|{target.get('Port', default_port)}"


def apply() -> None:
    from moto.elbv2.exceptions import ELBClientError, InvalidTargetError
    from moto.elbv2.models import FakeHealthStatus, FakeTargetGroup

    def register(self: FakeTargetGroup, targets: list[dict[str, Any]]) -> None:
        for target in targets:
            if self.target_type == "ip":
                try:
                    ipaddress.ip_address(str(target["Id"]))
                except ValueError:
                    raise ELBClientError("ValidationError", f"The IP address '{target['Id']}' is not a valid IPv4 or "
                                    "IPv6 address (the target group's target type is ip)") from None
            elif (instance := self.ec2_backend.get_instance_by_id(target["Id"])) and instance.state != "running":
                from moto.elbv2.exceptions import TargetNotRunning

                raise TargetNotRunning(instance_id=target["Id"])
            key = _key(target, self.port)
            self.targets[key] = {"Id": target["Id"], "Port": int(target.get("Port", self.port))}
            self.deregistered_targets.pop(key, None)

    def deregister(self: FakeTargetGroup, targets: list[dict[str, Any]]) -> None:
        for target in targets:
            key = _key(target, self.port)
            t = self.targets.pop(key, None)
            if not t:
                raise InvalidTargetError()
            self.deregistered_targets[key] = t

    def deregister_terminated_instances(self: FakeTargetGroup, instance_ids: list[str]) -> None:
        for key, t in list(self.targets.items()):
            if t["Id"] in instance_ids:
                self.terminated_targets[key] = self.targets.pop(key)

    def health_for(self: FakeTargetGroup, target: dict[str, Any], ec2_backend: Any) -> FakeHealthStatus:
        key = _key(target, self.port)
        t = self.targets.get(key)
        if t is None:
            port = target.get("Port", self.port)
            if key in self.deregistered_targets:
                return FakeHealthStatus(target["Id"], port, self.health_check_port, "unused",
                                        "Target.NotRegistered", "Target is not registered to the target group")
            if key in self.terminated_targets:
                return FakeHealthStatus(target["Id"], port, self.health_check_port, "draining",
                                        "Target.DeregistrationInProgress", "Target deregistration is in progress")
            return FakeHealthStatus(target["Id"], port, self.health_check_port, "unused",
                                    "Target.NotRegistered", "Target is not registered to the target group")
        # moto's answer for a registered target: healthy, unless it is an EC2 instance that is stopped.
        if str(t["Id"]).startswith("i-"):
            instance = ec2_backend.get_instance_by_id(t["Id"])
            if instance and instance.state == "stopped":
                return FakeHealthStatus(t["Id"], t["Port"], self.health_check_port, "unused",
                                        "Target.InvalidState", "Target is in the stopped state")
        return FakeHealthStatus(t["Id"], t["Port"], self.health_check_port, "healthy")

    def delete_rule(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str) -> None:
        from moto.elbv2.models import elbv2_backends

        elbv2_backends[account_id][region_name].delete_rule(resource_name)

    from moto.elbv2.models import FakeListenerRule

    FakeListenerRule.delete_from_cloudformation_json = classmethod(delete_rule)  # type: ignore[assignment, method-assign]
    FakeTargetGroup.register = register  # type: ignore[method-assign]
    FakeTargetGroup.deregister = deregister  # type: ignore[method-assign]
    FakeTargetGroup.deregister_terminated_instances = deregister_terminated_instances  # type: ignore[method-assign]
    FakeTargetGroup.health_for = health_for  # type: ignore[method-assign]
