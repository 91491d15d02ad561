"""CloudFormation resource types moto 5.2.5 skips or deploys incompletely, filled in for the harness.

moto's CloudFormation creates a resource through the `CloudFormationModel` whose
`cloudformation_type()` matches; its type map (`moto.cloudformation.parsing.get_model_map`) is built,
once and cached, from the DIRECT subclasses of `CloudFormationModel`, a later class winning over an
earlier one for the same type. One model class per AWS type, grouped by service as moto lays out its
own (`cloudwatch`, `applicationautoscaling`, `ecs`, `elbv2`, `ec2`, `sns`, `sqs`, `autoscaling`, `cdk`,
`secretsmanager`, `s3`, `logs`, `servicediscovery`, `wafv2`, `acm`);
each module imports moto's models of its service first, so its classes are defined after moto's and
win. `MODELS` is the table `register()` loads and checks: type -> "module:Class".

A model either makes a real moto resource (its API shows it) or, where moto has nothing, is stored by
the harness with AWS's Ref and GetAtt values (`base._Stored`, KIND "stored"). `kinds()` says which.

Call `register()` in the process that serves moto before the first template is parsed.
"""

from __future__ import annotations

import importlib
from typing import Any, cast

from moto.core.common_models import CloudFormationModel

from harness.cloud.cfn.parsing import FAILED_RESOURCE_PREFIX

# type -> "module:Class" (module under harness.cloud.cfn).
MODELS: dict[str, str] = {
    "AWS::CloudWatch::Alarm": "cloudwatch:CloudWatchAlarm",
    "AWS::CloudWatch::CompositeAlarm": "cloudwatch:CompositeAlarm",
    "AWS::ApplicationAutoScaling::ScalableTarget": "applicationautoscaling:ScalableTarget",
    "AWS::ApplicationAutoScaling::ScalingPolicy": "applicationautoscaling:ScalingPolicy",
    "AWS::ECS::Service": "ecs:EcsService",
    "AWS::ECS::TaskDefinition": "ecs:EcsTaskDefinition",
    "AWS::ECS::CapacityProvider": "ecs:CapacityProvider",
    "AWS::ECS::ClusterCapacityProviderAssociations": "ecs:ClusterCapacityProviderAssociations",
    "AWS::ElasticLoadBalancingV2::LoadBalancer": "elbv2:LoadBalancer",
    "AWS::ElasticLoadBalancingV2::TargetGroup": "elbv2:TargetGroup",
    # moto creates these but cannot delete them, so a VPC stack could never be torn down:
    "AWS::EC2::Route": "ec2:Route",
    "AWS::EC2::RouteTable": "ec2:DeletableRouteTable",
    "AWS::EC2::SubnetRouteTableAssociation": "ec2:DeletableSubnetRouteTableAssociation",
    "AWS::EC2::VPCGatewayAttachment": "ec2:DeletableVPCGatewayAttachment",
    "AWS::EC2::InternetGateway": "ec2:DeletableInternetGateway",
    # Types real VPC, cluster, alert and CDK templates use that moto lacks or answers incompletely:
    "AWS::EC2::VPC": "ec2:Vpc",
    "AWS::EC2::Subnet": "ec2:Subnet",
    "AWS::EC2::VPCCidrBlock": "ec2:VpcCidrBlock",
    "AWS::EC2::EgressOnlyInternetGateway": "ec2:EgressOnlyInternetGateway",
    "AWS::EC2::NetworkAcl": "ec2:NetworkAcl",
    "AWS::EC2::NetworkAclEntry": "ec2:NetworkAclEntry",
    "AWS::EC2::SubnetNetworkAclAssociation": "ec2:SubnetNetworkAclAssociation",
    "AWS::EC2::SecurityGroupEgress": "ec2:SecurityGroupEgress",
    "AWS::EC2::SecurityGroup": "ec2_sg:SecurityGroup",
    "AWS::SNS::Subscription": "sns:Subscription",
    "AWS::SNS::TopicPolicy": "sns:TopicPolicy",
    "AWS::SQS::QueuePolicy": "sqs:QueuePolicy",
    "AWS::AutoScaling::AutoScalingGroup": "autoscaling:AutoScalingGroup",
    "AWS::AutoScaling::LifecycleHook": "autoscaling:LifecycleHook",
    "AWS::AutoScaling::ScalingPolicy": "autoscaling:ScalingPolicy",
    "AWS::CDK::Metadata": "cdk:CdkMetadata",
    # Types real ECS service templates use (secrets, Cloud Map, HTTPS listeners, WAF, log metrics):
    "AWS::SecretsManager::Secret": "secretsmanager:Secret",
    "AWS::S3::BucketPolicy": "s3:BucketPolicy",
    "AWS::Logs::MetricFilter": "logs:MetricFilter",
    "AWS::Logs::SubscriptionFilter": "logs:SubscriptionFilter",
    "AWS::ServiceDiscovery::PrivateDnsNamespace": "servicediscovery:PrivateDnsNamespace",
    "AWS::ServiceDiscovery::PublicDnsNamespace": "servicediscovery:PublicDnsNamespace",
    "AWS::ServiceDiscovery::HttpNamespace": "servicediscovery:HttpNamespace",
    "AWS::ServiceDiscovery::Service": "servicediscovery:Service",
    "AWS::ElasticLoadBalancingV2::ListenerCertificate": "elbv2:ListenerCertificate",
    "AWS::WAFv2::WebACL": "wafv2:WebACL",
    "AWS::WAFv2::WebACLAssociation": "wafv2:WebACLAssociation",
    "AWS::CertificateManager::Certificate": "acm:Certificate",
}
EXTENDED_TYPES: tuple[str, ...] = tuple(MODELS)

_REGISTERED: dict[str, type[CloudFormationModel]] = {}

__all__ = ["EXTENDED_TYPES", "FAILED_RESOURCE_PREFIX", "MODELS", "kinds", "register", "supported_types"]


def _load(ref: str) -> type[CloudFormationModel]:
    module, _, name = ref.partition(":")
    return cast("type[CloudFormationModel]", getattr(importlib.import_module(f"harness.cloud.cfn.{module}"), name))


def register() -> dict[str, type[CloudFormationModel]]:
    """Load the models (once), make moto see them, and check that each one won its type."""
    import moto.cloudformation.parsing as parsing

    from harness.cloud.cfn import iam
    from harness.cloud.cfn import parsing as patches

    if not _REGISTERED:
        for type_name, ref in MODELS.items():
            cls = _load(ref)
            if cls.cloudformation_type() != type_name:
                raise RuntimeError(f"harness.cloud.cfn: {ref} models {cls.cloudformation_type()}, not {type_name}")
            _REGISTERED[type_name] = cls
        patches.apply(parsing)
        iam.apply()
    parsing.get_model_list.cache_clear()
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()
    model_map = parsing.get_model_map()
    for type_name, cls in _REGISTERED.items():
        if model_map.get(type_name) is not cls:
            raise RuntimeError(
                f"moto maps {type_name} to {model_map.get(type_name)!r}, not to the harness's {cls!r}: "
                "the CloudFormation extensions were not registered before the first template parse"
            )
    return dict(_REGISTERED)


def supported_types() -> frozenset[str]:
    """Every resource type the embedded cloud can create (moto's models + ours + moto's no-ops)."""
    import moto.cloudformation.parsing as parsing

    register()
    return frozenset(parsing.get_model_map()) | frozenset(parsing.NULL_MODELS)


def kinds() -> dict[str, str]:
    """type -> "real" (a moto resource the AWS API shows) or "stored" (kept by the harness), for
    every type the embedded cloud creates."""
    import moto.cloudformation.parsing as parsing

    register()
    out = {t: "real" for t in parsing.get_model_map()}
    for type_name, cls in _REGISTERED.items():
        out[type_name] = str(getattr(cls, "KIND", "real"))
    out.update({t: "stored" for t in parsing.NULL_MODELS})
    return out


def describe(type_name: str) -> Any:
    """The harness's model class for a type (None if moto's own serves it)."""
    return _REGISTERED.get(type_name)
