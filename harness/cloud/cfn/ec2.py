"""AWS::EC2::*: types moto creates but cannot delete (given a delete), and types it lacks."""

from __future__ import annotations

from typing import Any

import moto.ec2.models  # noqa: F401  - moto's models first, so ours win their types
from moto.core.common_models import CloudFormationModel

from harness.cloud.cfn.base import _Deletable, _Model, _Stored, _Wrapped, _int


def _ec2_models() -> list[type[_Model]]:
    """EC2 types moto creates but cannot delete: same creation, plus a working delete."""
    from moto.ec2.models.internet_gateways import InternetGateway
    from moto.ec2.models.route_tables import Route, RouteTable
    from moto.ec2.models.subnets import SubnetRouteTableAssociation
    from moto.ec2.models.vpn_gateway import VPCGatewayAttachment

    # Each delete is idempotent: CloudFormation deletes in dependency order, moto in passes, so a
    # route's table (or an association's) may already be gone; then there is nothing left to do.
    def delete_route(route: Any, ec2: Any) -> None:
        if route.route_table.id not in ec2.route_tables:
            return
        ec2.delete_route(route.route_table.id, route.destination_cidr_block, route.destination_ipv6_cidr_block)

    def delete_route_table(table: Any, ec2: Any) -> None:
        if table.id in ec2.route_tables:
            ec2.delete_route_table(table.id)

    def delete_association(assoc: Any, ec2: Any) -> None:
        table = ec2.route_tables.get(assoc.route_table_id)
        if table is None:
            return
        for association_id, target in list(table._associations.items()):
            if target == assoc.subnet_id:
                ec2.disassociate_route_table(association_id)

    def delete_attachment(attachment: Any, ec2: Any) -> None:
        gateway_id = attachment.gateway_id or ""
        if gateway_id.startswith("igw-"):
            igw = ec2.internet_gateways.get(gateway_id)
            if igw is not None and igw.vpc is not None and igw.vpc.id == attachment.vpc_id:
                ec2.detach_internet_gateway(gateway_id, attachment.vpc_id)
        elif gateway_id:
            ec2.detach_vpn_gateway(gateway_id, attachment.vpc_id)

    def delete_gateway(igw: Any, ec2: Any) -> None:
        if igw.id in ec2.internet_gateways:
            ec2.delete_internet_gateway(igw.id)

    models: list[type[_Model]] = []
    for moto_cls, deleter in (
        (RouteTable, delete_route_table),
        (SubnetRouteTableAssociation, delete_association),
        (VPCGatewayAttachment, delete_attachment),
        (InternetGateway, delete_gateway),
    ):
        models.append(_deleting_model(moto_cls, deleter))
    return models


def _deleting_model(moto_cls: Any, deleter: Any) -> type[_Model]:
    """A direct CloudFormationModel subclass for moto_cls's type whose resources can be deleted."""

    class Model(_Model, CloudFormationModel):
        TYPE = str(moto_cls.cloudformation_type())
        NAME_PROPERTY = str(moto_cls.cloudformation_name_type())

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return bool(moto_cls.has_cfn_attr(attr))

        @classmethod
        def create_from_cloudformation_json(
            cls,
            resource_name: str,
            cloudformation_json: Any,
            account_id: str,
            region_name: str,
            **kwargs: Any,
        ) -> Any:
            inner = moto_cls.create_from_cloudformation_json(
                resource_name, cloudformation_json, account_id, region_name, **kwargs
            )
            return _Deletable(inner, deleter)

    Model.__name__ = Model.__qualname__ = f"Deletable{moto_cls.__name__}"
    return Model


DeletableRouteTable, DeletableSubnetRouteTableAssociation, DeletableVPCGatewayAttachment, DeletableInternetGateway = (
    _ec2_models()
)


def _ec2(account_id: str, region_name: str) -> Any:
    from moto.ec2.models import ec2_backends

    return ec2_backends[account_id][region_name]


class Route(_Model, CloudFormationModel):
    """https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ec2-route.html
    moto's creates every route as IPv4 (it drops DestinationIpv6CidrBlock, so a '::/0' route to an
    egress-only gateway collided with the IPv4 default route) and cannot delete it."""

    TYPE = "AWS::EC2::Route"

    @classmethod
    def _create(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> Any:
        ec2 = _ec2(account_id, region_name)
        route = ec2.create_route(
            route_table_id=props["RouteTableId"],
            destination_cidr_block=props.get("DestinationCidrBlock"),
            destination_ipv6_cidr_block=props.get("DestinationIpv6CidrBlock"),
            gateway_id=props.get("GatewayId"),
            instance_id=props.get("InstanceId"),
            nat_gateway_id=props.get("NatGatewayId"),
            egress_only_igw_id=props.get("EgressOnlyInternetGatewayId"),
            transit_gateway_id=props.get("TransitGatewayId"),
            interface_id=props.get("NetworkInterfaceId"),
            vpc_peering_connection_id=props.get("VpcPeeringConnectionId"),
        )

        def delete_route(r: Any, ec2: Any) -> None:
            if r.route_table.id in ec2.route_tables:
                ec2.delete_route(r.route_table.id, r.destination_cidr_block, r.destination_ipv6_cidr_block)

        return _Deletable(route, delete_route)


class Vpc(_Model, CloudFormationModel):
    """https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ec2-vpc.html
    moto's VPC, plus GetAtt Ipv6CidrBlocks (the IPv6 blocks associated with it, e.g. by VPCCidrBlock)."""

    TYPE = "AWS::EC2::VPC"
    GETATT = frozenset({"CidrBlock", "CidrBlockAssociations", "DefaultNetworkAcl", "DefaultSecurityGroup",
                        "Ipv6CidrBlocks", "VpcId"})

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        from moto.ec2.models.vpcs import VPC

        inner = VPC.create_from_cloudformation_json(resource_name, cloudformation_json, account_id, region_name,
                                                    **kwargs)

        def attrs(vpc: Any, name: str) -> Any:
            if name == "Ipv6CidrBlocks":
                return [c["cidr_block"] for c in vpc.get_cidr_block_association_set(ipv6=True)]
            if name == "DefaultNetworkAcl":
                acls = vpc.ec2_backend.describe_network_acls(filters={"vpc-id": [vpc.id], "default": ["true"]})
                return acls[0].id if acls else ""
            raise KeyError(name)

        def delete(vpc: Any, account_id: str, region_name: str) -> None:
            ec2 = _ec2(account_id, region_name)
            if vpc.id in ec2.vpcs:
                ec2.delete_vpc(vpc.id)

        return _Wrapped(inner, attrs, delete)


class VpcCidrBlock(_Stored, CloudFormationModel):
    """https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ec2-vpccidrblock.html
    A real association on moto's VPC (IPv4 CidrBlock, or AmazonProvidedIpv6CidrBlock). Ref = association id."""

    TYPE = "AWS::EC2::VPCCidrBlock"
    KIND = "real"
    GETATT = frozenset({"Id", "Ipv6CidrBlock"})

    @classmethod
    def apply(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> tuple[str, dict[str, Any]]:
        ec2 = _ec2(account_id, region_name)
        amazon_ipv6 = str(props.get("AmazonProvidedIpv6CidrBlock", False)).lower() == "true"
        assoc = ec2.associate_vpc_cidr_block(props["VpcId"], props.get("CidrBlock") or props.get("Ipv6CidrBlock"),
                                             amazon_ipv6)
        return str(assoc["association_id"]), {"Id": assoc["association_id"],
                                              "Ipv6CidrBlock": assoc.get("cidr_block", "")}

    def remove(self) -> None:
        ec2 = _ec2(self.account_id, self.region_name)
        vpc = ec2.vpcs.get(self.properties["VpcId"])
        if vpc is not None and self.physical_id in vpc._cidr_block_association_set:
            ec2.disassociate_vpc_cidr_block(self.physical_id)


class EgressOnlyInternetGateway(_Stored, CloudFormationModel):
    """https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ec2-egressonlyinternetgateway.html
    A real moto gateway. Ref = its id (eigw-...)."""

    TYPE = "AWS::EC2::EgressOnlyInternetGateway"
    KIND = "real"
    GETATT = frozenset({"Id"})

    @classmethod
    def apply(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> tuple[str, dict[str, Any]]:
        gw = _ec2(account_id, region_name).create_egress_only_internet_gateway(props["VpcId"])
        return str(gw.id), {"Id": gw.id}

    def remove(self) -> None:
        ec2 = _ec2(self.account_id, self.region_name)
        if self.physical_id in ec2.egress_only_internet_gateways:
            ec2.delete_egress_only_internet_gateway(self.physical_id)


class NetworkAcl(_Stored, CloudFormationModel):
    """https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ec2-networkacl.html
    A real moto network ACL. Ref = its id (acl-...)."""

    TYPE = "AWS::EC2::NetworkAcl"
    KIND = "real"
    GETATT = frozenset({"Id"})

    @classmethod
    def apply(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> tuple[str, dict[str, Any]]:
        tags = [{"Key": str(t["Key"]), "Value": str(t["Value"])} for t in props.get("Tags") or []]
        acl = _ec2(account_id, region_name).create_network_acl(props["VpcId"], tags=tags)
        return str(acl.id), {"Id": acl.id}

    def remove(self) -> None:
        ec2 = _ec2(self.account_id, self.region_name)
        acl = ec2.network_acls.get(self.physical_id)
        if acl is None:
            return
        # An association outlives its subnet in moto; a deleted subnet has no association on AWS.
        for assoc_id, assoc in list(acl._associations.items()):
            if not _has_subnet(ec2, str(assoc.subnet_id)):
                del acl._associations[assoc_id]
        ec2.delete_network_acl(self.physical_id)


class NetworkAclEntry(_Stored, CloudFormationModel):
    """https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ec2-networkaclentry.html
    A real rule in moto's network ACL (ingress or egress, IPv4 or IPv6, port range, ICMP)."""

    TYPE = "AWS::EC2::NetworkAclEntry"
    KIND = "real"
    GETATT = frozenset({"Id"})

    @classmethod
    def apply(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> tuple[str, dict[str, Any]]:
        ports = props.get("PortRange") or {}
        icmp = props.get("Icmp") or {}
        egress = str(props.get("Egress", False)).lower() == "true"
        rule = int(props["RuleNumber"])
        _ec2(account_id, region_name).create_network_acl_entry(
            network_acl_id=props["NetworkAclId"],
            rule_number=rule,
            protocol=str(props["Protocol"]),
            rule_action=str(props["RuleAction"]),
            egress=egress,
            cidr_block=props.get("CidrBlock"),
            icmp_code=_int(icmp.get("Code")),
            icmp_type=_int(icmp.get("Type")),
            port_range_from=_int(ports.get("From")),
            port_range_to=_int(ports.get("To")),
            ipv6_cidr_block=props.get("Ipv6CidrBlock"),
        )
        physical = f"{props['NetworkAclId']}|{rule}|{'egress' if egress else 'ingress'}"
        return physical, {"Id": physical}

    def remove(self) -> None:
        ec2 = _ec2(self.account_id, self.region_name)
        acl_id = self.properties["NetworkAclId"]
        if acl_id in ec2.network_acls:
            egress = str(self.properties.get("Egress", False)).lower() == "true"
            try:
                ec2.delete_network_acl_entry(acl_id, int(self.properties["RuleNumber"]), egress)
            except Exception:  # noqa: BLE001 - moto raises when the entry is already gone
                pass


class SubnetNetworkAclAssociation(_Stored, CloudFormationModel):
    """https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ec2-subnetnetworkaclassociation.html
    Moves the subnet's real association in moto from its current ACL to NetworkAclId; deleting moves it
    back to the VPC's default ACL. Ref and GetAtt AssociationId = the association id."""

    TYPE = "AWS::EC2::SubnetNetworkAclAssociation"
    KIND = "real"
    GETATT = frozenset({"AssociationId"})

    @classmethod
    def apply(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> tuple[str, dict[str, Any]]:
        ec2 = _ec2(account_id, region_name)
        current = _association_of(ec2, str(props["SubnetId"]))
        assoc = ec2.replace_network_acl_association(current, str(props["NetworkAclId"]))
        return str(assoc.new_association_id), {"AssociationId": assoc.new_association_id}

    def remove(self) -> None:
        ec2 = _ec2(self.account_id, self.region_name)
        subnet = ec2.get_subnet(self.properties["SubnetId"]) if _has_subnet(ec2, self.properties["SubnetId"]) else None
        if subnet is None:
            return
        defaults = ec2.describe_network_acls(filters={"vpc-id": [subnet.vpc_id], "default": ["true"]})
        current = _association_of(ec2, subnet.id)
        if defaults and current:
            ec2.replace_network_acl_association(current, defaults[0].id)


def _has_subnet(ec2: Any, subnet_id: str) -> bool:
    return any(subnet_id in subnets for subnets in ec2.subnets.values())


def _association_of(ec2: Any, subnet_id: str) -> str:
    for acl in ec2.network_acls.values():
        for assoc_id, assoc in acl._associations.items():
            if assoc.subnet_id == subnet_id:
                return str(assoc_id)
    raise ValueError(f"subnet {subnet_id} has no network ACL association")


class SecurityGroupEgress(_Stored, CloudFormationModel):
    """https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ec2-securitygroupegress.html
    A real egress rule on moto's security group (CidrIp, CidrIpv6, DestinationSecurityGroupId or
    DestinationPrefixListId). Ref = the rule id (sgr-...)."""

    TYPE = "AWS::EC2::SecurityGroupEgress"
    KIND = "real"
    GETATT = frozenset({"Id"})

    @classmethod
    def _rule(cls, props: dict[str, Any]) -> dict[str, Any]:
        from harness.cloud.cfn.ec2_sg import permission

        # IpProtocol -1 means all ports; EC2 then takes no FromPort/ToPort.
        return permission(props, str(props["GroupId"]), "SecurityGroupEgress")

    @classmethod
    def apply(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> tuple[str, dict[str, Any]]:
        rules, _group = _ec2(account_id, region_name).authorize_security_group_egress(**cls._rule(props))
        rule_id = str(rules[0].id) if rules else name
        return rule_id, {"Id": rule_id}

    def remove(self) -> None:
        ec2 = _ec2(self.account_id, self.region_name)
        try:
            ec2.revoke_security_group_egress(**self._rule(self.properties))
        except Exception:  # noqa: BLE001 - the group (and with it the rule) is already gone
            pass


class Subnet(_Model, CloudFormationModel):
    """https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ec2-subnet.html
    moto's subnet, plus what moto's model drops: Ipv6CidrBlock, AssignIpv6AddressOnCreation and
    MapPublicIpOnLaunch. Ref = the subnet id."""

    TYPE = "AWS::EC2::Subnet"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        from moto.ec2.models.subnets import Subnet as MotoSubnet

        return bool(MotoSubnet.has_cfn_attr(attr))

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        from moto.ec2.models.subnets import Subnet as MotoSubnet

        props = cloudformation_json["Properties"]
        subnet = MotoSubnet.create_from_cloudformation_json(resource_name, cloudformation_json, account_id,
                                                            region_name, **kwargs)
        ec2 = _ec2(account_id, region_name)
        if props.get("Ipv6CidrBlock"):
            ec2.associate_subnet_cidr_block(subnet.id, str(props["Ipv6CidrBlock"]))
        for prop, attr in (("MapPublicIpOnLaunch", "map_public_ip_on_launch"),
                           ("AssignIpv6AddressOnCreation", "assign_ipv6_address_on_creation")):
            if prop in props:
                ec2.modify_subnet_attribute(subnet.id, attr, str(props[prop]).lower() == "true")
        return subnet

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        from moto.ec2.models.subnets import Subnet as MotoSubnet

        MotoSubnet.delete_from_cloudformation_json(resource_name, cloudformation_json, account_id, region_name)
