"""AWS::ElasticLoadBalancingV2::*: GetAtt LoadBalancerFullName / TargetGroupFullName (the CloudWatch
dimensions) and TargetGroupAttributes, which moto cannot answer or ignores."""

from __future__ import annotations

from typing import Any

import moto.elbv2.models  # noqa: F401  - moto's models first, so ours win their types
from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.core.common_models import CloudFormationModel
from moto.elbv2.models import FakeTargetGroup, elbv2_backends

from harness.cloud.cfn.base import _int, _Model, _Stored, _strs


class LoadBalancer(_Model, CloudFormationModel):
    """https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-elasticloadbalancingv2-loadbalancer.html
    Wraps moto's load balancer to answer GetAtt LoadBalancerFullName (`app/<name>/<id>`,
    the value of the CloudWatch dimension LoadBalancer). Ref = ARN."""

    TYPE = "AWS::ElasticLoadBalancingV2::LoadBalancer"
    NAME_PROPERTY = "Name"
    GETATT = frozenset(
        {
            "DNSName",
            "LoadBalancerName",
            "LoadBalancerFullName",
            "LoadBalancerArn",
            "CanonicalHostedZoneID",
            "SecurityGroups",
        }
    )

    def __init__(self, lb: Any) -> None:
        self.lb = lb

    @property
    def physical_resource_id(self) -> str:
        return str(self.lb.arn)

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name == "LoadBalancerFullName":
            # arn:aws:elasticloadbalancing:<region>:<account>:loadbalancer/app/<name>/<id>
            return str(self.lb.arn).split(":loadbalancer/", 1)[1]
        if attribute_name == "DNSName":
            return self.lb.dns_name
        if attribute_name == "LoadBalancerName":
            return self.lb.name
        if attribute_name == "LoadBalancerArn":
            return self.lb.arn
        if attribute_name == "SecurityGroups":
            return list(self.lb.security_groups)
        if attribute_name == "CanonicalHostedZoneID":
            # The us-east-1 ALB hosted zone; only used for Route 53 alias records.
            return "Z35SXDOTRQ7X7K"
        raise UnformattedGetAttTemplateException()

    @classmethod
    def _create(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> LoadBalancer:
        backend = elbv2_backends[account_id][region_name]
        lb = backend.create_load_balancer(
            name,
            _strs(props.get("SecurityGroups")),
            _strs(props.get("Subnets")),
            scheme=props.get("Scheme", "internet-facing"),
            loadbalancer_type=props.get("Type", "application"),
            ip_address_type=props.get("IpAddressType", "ipv4"),
            tags=props.get("Tags"),
        )
        attrs = props.get("LoadBalancerAttributes")
        if attrs:
            backend.modify_load_balancer_attributes(lb.arn, {a["Key"]: str(a["Value"]) for a in attrs})
        return cls(lb)

    def delete(self, account_id: str, region_name: str) -> None:
        elbv2_backends[account_id][region_name].delete_load_balancer(self.lb.arn)

# --------------------------------------------------- AWS::ElasticLoadBalancingV2::TargetGroup
class TargetGroup(_Model, CloudFormationModel):
    """https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-elasticloadbalancingv2-targetgroup.html
    moto's target group plus TargetGroupAttributes (e.g. deregistration_delay.timeout_seconds)."""

    TYPE = "AWS::ElasticLoadBalancingV2::TargetGroup"
    NAME_PROPERTY = "Name"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return bool(FakeTargetGroup.has_cfn_attr(attr))

    def __init__(self, tg: Any) -> None:
        self.tg = tg

    @property
    def physical_resource_id(self) -> str:
        return str(self.tg.arn)

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        # moto's FakeTargetGroup names these GetAtt attributes but cannot answer them.
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        arn = str(self.tg.arn)
        if attribute_name == "TargetGroupFullName":
            # targetgroup/<name>/<id>: the value of the CloudWatch dimension TargetGroup.
            return arn.split(":", 5)[5]
        if attribute_name == "TargetGroupName":
            return self.tg.name
        if attribute_name == "TargetGroupArn":
            return arn
        if attribute_name == "LoadBalancerArns":
            return list(self.tg.load_balancer_arns)
        raise UnformattedGetAttTemplateException()

    @classmethod
    def _create(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> Any:
        for key in (
            "Port",
            "HealthCheckIntervalSeconds",
            "HealthCheckTimeoutSeconds",
            "HealthyThresholdCount",
            "UnhealthyThresholdCount",
        ):
            if key in props:
                props[key] = int(props[key])
        if "HealthCheckPort" in props:
            props["HealthCheckPort"] = str(props["HealthCheckPort"])
        tg = FakeTargetGroup.create_from_cloudformation_json(name, {"Properties": props}, account_id, region_name)
        attrs = props.get("TargetGroupAttributes")
        if attrs:
            elbv2_backends[account_id][region_name].modify_target_group_attributes(
                tg.arn, {a["Key"]: str(a["Value"]) for a in attrs}
            )
        return cls(tg)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        elbv2_backends[account_id][region_name].delete_target_group(resource_name)


# --------------------------------------------------- AWS::ElasticLoadBalancingV2::ListenerCertificate
class ListenerCertificate(_Stored, CloudFormationModel):
    """https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-elasticloadbalancingv2-listenercertificate.html
    Adds the certificates to the listener's certificate list for real (DescribeListenerCertificates shows
    them); deleting it removes them. Return values: the page's attribute type lists `Id` (its
    return-values anchor, #aws-resource-elasticloadbalancingv2-listenercertificate-return-values); Ref and
    GetAtt Id = the resource's id. The harness's load balancer serves plain HTTP on loopback: the
    certificates are kept, never presented."""

    TYPE = "AWS::ElasticLoadBalancingV2::ListenerCertificate"
    KIND = "real"
    GETATT = frozenset({"Id"})

    @classmethod
    def apply(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> tuple[str, dict[str, Any]]:
        certs = [{"CertificateArn": str(c["CertificateArn"])} for c in props.get("Certificates") or []]
        elbv2_backends[account_id][region_name].add_listener_certificates(str(props["ListenerArn"]), certs)
        return name, {"Id": name}

    def remove(self) -> None:
        backend = elbv2_backends[self.account_id][self.region_name]
        arn = str(self.properties["ListenerArn"])
        if any(arn in lb.listeners for lb in backend.load_balancers.values()):
            backend.remove_listener_certificates(
                arn, [{"CertificateArn": str(c["CertificateArn"])} for c in self.properties.get("Certificates") or []])
