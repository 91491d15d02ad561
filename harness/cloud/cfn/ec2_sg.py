"""AWS::EC2::SecurityGroup with its inline rules as CloudFormation takes them.

https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ec2-securitygroup.html
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-ec2-securitygroup-ingress.html
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-ec2-securitygroup-egress.html

moto 5.2.5's model reads each inline `SecurityGroupIngress` rule as `rule["FromPort"]`, so a rule with
`IpProtocol: -1` (all protocols, where EC2 takes no port range: "Use -1 to specify all protocols ...
If you specify -1 ... traffic on all ports is allowed, regardless of any ports you specify") fails the
stack with `'FromPort'`. It also hands `CidrIp` over as a bare string, drops `CidrIpv6`,
`SourcePrefixListId` and `Description`, and ignores `SecurityGroupEgress` altogether. This model makes
moto's group, then authorizes every inline rule of either list through moto's EC2 backend in the form
the EC2 API takes (so `describe-security-groups` shows them). As in EC2, the group's default
allow-all egress rule is removed when `SecurityGroupEgress` names rules of its own ("When you specify
a VPC security group, Amazon EC2 creates a default egress rule ... removed only when you specify one
or more egress rules"). Ref = the group id (VPC groups), GetAtt GroupId and VpcId.
"""

from __future__ import annotations

from typing import Any

import moto.ec2.models  # noqa: F401  - moto's models first, so ours win the type
from moto.core.common_models import CloudFormationModel

from harness.cloud.cfn.base import _Replaced, _Wrapped

_PEERS = {
    # list property -> (peer group key, prefix list key)
    "SecurityGroupIngress": ("SourceSecurityGroupId", "SourcePrefixListId"),
    "SecurityGroupEgress": ("DestinationSecurityGroupId", "DestinationPrefixListId"),
}


def permission(rule: dict[str, Any], group_id: str, list_property: str) -> dict[str, Any]:
    """One inline rule as the keyword arguments of moto's authorize_security_group_ingress/_egress.
    Ports stay None when absent (IpProtocol -1 takes none); the protocol is EC2's string ("-1", "tcp")."""
    peer_key, prefix_key = _PEERS[list_property]
    ip_ranges: list[dict[str, Any]] = []
    for key in ("CidrIp", "CidrIpv6"):
        if rule.get(key):
            ip_ranges.append({key: str(rule[key]), "Description": rule.get("Description")})
    groups: list[dict[str, str]] = []
    if rule.get(peer_key):
        groups.append({"GroupId": str(rule[peer_key])})
    elif rule.get("SourceSecurityGroupName"):
        groups.append({"GroupName": str(rule["SourceSecurityGroupName"])})
    prefixes = [{"PrefixListId": str(rule[prefix_key])}] if rule.get(prefix_key) else []
    return {
        "group_name_or_id": group_id,
        "ip_protocol": str(rule["IpProtocol"]),
        "from_port": None if rule.get("FromPort") is None else str(rule["FromPort"]),
        "to_port": None if rule.get("ToPort") is None else str(rule["ToPort"]),
        "ip_ranges": ip_ranges,
        "source_groups": groups,
        "prefix_list_ids": prefixes,
    }


def _rules(props: dict[str, Any], list_property: str) -> list[dict[str, Any]]:
    return [r for r in props.get(list_property) or [] if isinstance(r, dict)]


class SecurityGroup(_Replaced, CloudFormationModel):
    """moto's security group, created without its inline rules, which are then authorized one by one."""

    TYPE = "AWS::EC2::SecurityGroup"
    NAME_PROPERTY = "GroupName"
    GETATT = frozenset({"GroupId", "VpcId"})

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        from moto.ec2.models import ec2_backends
        from moto.ec2.models.security_groups import SecurityGroup as MotoSecurityGroup

        props = dict(cloudformation_json.get("Properties") or {})
        bare = {k: v for k, v in props.items() if k not in _PEERS}
        name = str(props.get("GroupName") or resource_name)
        group = MotoSecurityGroup.create_from_cloudformation_json(
            name, {**cloudformation_json, "Properties": bare}, account_id, region_name, **kwargs
        )
        ec2 = ec2_backends[account_id][region_name]
        egress = _rules(props, "SecurityGroupEgress")
        if egress:
            for default in list(group.egress_rules):
                group.egress_rules.remove(default)
        for rule in _rules(props, "SecurityGroupIngress"):
            ec2.authorize_security_group_ingress(**permission(rule, group.id, "SecurityGroupIngress"),
                                                 vpc_id=props.get("VpcId"))
        for rule in egress:
            ec2.authorize_security_group_egress(**permission(rule, group.id, "SecurityGroupEgress"),
                                                vpc_id=props.get("VpcId"))

        def attrs(sg: Any, attribute: str) -> Any:
            if attribute == "VpcId":
                return sg.vpc_id
            raise KeyError(attribute)

        return _Wrapped(group, attrs)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        from moto.ec2.models.security_groups import SecurityGroup as MotoSecurityGroup

        MotoSecurityGroup.delete_from_cloudformation_json(resource_name, cloudformation_json, account_id,
                                                          region_name)
