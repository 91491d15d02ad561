"""CloudFormation resource providers for the types LocalStack's free edition deploys as empty fallbacks.

Each provider calls the service's API through LocalStack's CloudFormation client factory, which maps
CloudFormation's PascalCase properties onto the API's shapes (case and types) and drops keys the API
does not know; so the providers only add what CloudFormation does beyond one API call: generated
names, attributes set by a second call, the Ref value and the GetAtt attributes AWS documents.

Ref / GetAtt values follow the AWS resource reference pages:
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-template-resource-type-ref.html
"""

from __future__ import annotations

import re
import uuid
from typing import Any, ClassVar

from localstack.services.cloudformation.resource_provider import (
    CloudFormationResourceProviderPlugin,
    OperationStatus,
    ProgressEvent,
    ResourceProvider,
    ResourceRequest,
)

Model = dict[str, Any]


def _schema(type_name: str, primary: str, read_only: list[str], create_only: tuple[str, ...] | list[str] = ()) -> dict[str, Any]:
    """The parts of a resource schema LocalStack's engine reads (identifier, create-only properties)."""
    return {
        "typeName": type_name,
        "primaryIdentifier": [f"/properties/{primary}"],
        "readOnlyProperties": [f"/properties/{p}" for p in read_only],
        "createOnlyProperties": [f"/properties/{p}" for p in create_only],
        "properties": {},
    }


def _ok(model: Model) -> ProgressEvent[Model]:
    return ProgressEvent(status=OperationStatus.SUCCESS, resource_model=model)


def _generated_name(request: ResourceRequest[Model], max_len: int) -> str:
    """A name like CloudFormation's (`<stack>-<logical id>-<random>`), within the service's limit.

    ELBv2 names: at most 32 characters, alphanumerics and hyphens, no hyphen at either end
    (https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html).
    """
    suffix = uuid.uuid4().hex[:8].upper()
    room = max_len - len(suffix) - 2
    stack = re.sub(r"[^A-Za-z0-9]", "", request.stack_name)[: max(room // 2, 1)]
    logical = re.sub(r"[^A-Za-z0-9]", "", request.logical_resource_id)[: max(room - len(stack), 1)]
    return f"{stack}-{logical}-{suffix}"


def _tags(model: Model) -> list[dict[str, str]]:
    return [t for t in model.get("Tags") or [] if t.get("Key")]


# LocalStack is installed only in its own venv; where mypy runs, its classes are Any. These two are the
# only classes here that subclass LocalStack's directly.
class _Provider(ResourceProvider[Model]):  # type: ignore[misc]  # base is Any without LocalStack
    """What each provider here declares: the resource type it serves and the schema parts LocalStack reads."""

    TYPE: ClassVar[str]
    SCHEMA: ClassVar[dict[str, Any]]


def _plugin(provider: type[_Provider]) -> type[CloudFormationResourceProviderPlugin]:
    """The plux plugin LocalStack loads by resource type name."""

    class _Plugin(CloudFormationResourceProviderPlugin):  # type: ignore[misc]  # base is Any without LocalStack
        name = provider.TYPE

        def __init__(self) -> None:
            self.factory: type[_Provider] | None = None

        def load(self) -> None:
            self.factory = provider

    _Plugin.__name__ = _Plugin.__qualname__ = provider.__name__ + "Plugin"
    return _Plugin


# ------------------------------------------------------------------------------------------- ECS


class EcsCluster(_Provider):
    """Ref: the cluster name; GetAtt Arn.
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ecs-cluster.html"""

    TYPE = "AWS::ECS::Cluster"
    SCHEMA = _schema(TYPE, "ClusterName", ["Arn"], ["ClusterName"])

    def create(self, request: ResourceRequest[Model]) -> ProgressEvent[Model]:
        model = request.desired_state
        model.setdefault("ClusterName", _generated_name(request, 255))
        params = {k: v for k, v in model.items() if k != "Tags"}
        if _tags(model):
            params["Tags"] = _tags(model)
        cluster = request.aws_client_factory.ecs.create_cluster(**params)["cluster"]
        model["Arn"] = cluster["clusterArn"]
        return _ok(model)

    def delete(self, request: ResourceRequest[Model]) -> ProgressEvent[Model]:
        request.aws_client_factory.ecs.delete_cluster(cluster=request.desired_state["ClusterName"])
        return _ok({})

    def update(self, request: ResourceRequest[Model]) -> ProgressEvent[Model]:
        raise NotImplementedError("the harness extension does not update ECS clusters")


class EcsTaskDefinition(_Provider):
    """Ref: the task definition ARN; GetAtt TaskDefinitionArn. A family defaults to `<stack>-<logical id>`.
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ecs-taskdefinition.html"""

    TYPE = "AWS::ECS::TaskDefinition"
    SCHEMA = _schema(TYPE, "TaskDefinitionArn", ["TaskDefinitionArn"])

    def create(self, request: ResourceRequest[Model]) -> ProgressEvent[Model]:
        model = request.desired_state
        params = {k: v for k, v in model.items() if k != "Tags"}
        params.setdefault("Family", _generated_name(request, 255))
        if _tags(model):
            params["Tags"] = _tags(model)
        td = request.aws_client_factory.ecs.register_task_definition(**params)["taskDefinition"]
        model["TaskDefinitionArn"] = td["taskDefinitionArn"]
        return _ok(model)

    def delete(self, request: ResourceRequest[Model]) -> ProgressEvent[Model]:
        arn = request.desired_state.get("TaskDefinitionArn")
        if arn:
            request.aws_client_factory.ecs.deregister_task_definition(taskDefinition=arn)
        return _ok({})


class EcsService(_Provider):
    """Ref: the service ARN; GetAtt Name and ServiceArn.
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ecs-service.html"""

    TYPE = "AWS::ECS::Service"
    SCHEMA = _schema(TYPE, "ServiceArn", ["ServiceArn", "Name"], ["ServiceName", "Cluster"])

    def create(self, request: ResourceRequest[Model]) -> ProgressEvent[Model]:
        model = request.desired_state
        params = {k: v for k, v in model.items() if k != "Tags"}
        params.setdefault("ServiceName", _generated_name(request, 255))
        if _tags(model):
            params["Tags"] = _tags(model)
        service = request.aws_client_factory.ecs.create_service(**params)["service"]
        model["ServiceArn"] = service["serviceArn"]
        model["Name"] = service["serviceName"]
        model.setdefault("ServiceName", service["serviceName"])
        return _ok(model)

    def update(self, request: ResourceRequest[Model]) -> ProgressEvent[Model]:
        model = request.desired_state
        previous = request.previous_state or {}
        ecs = request.aws_client_factory.ecs
        params: Model = {"Cluster": model.get("Cluster"), "Service": previous.get("ServiceArn")}
        for key in ("DesiredCount", "TaskDefinition", "DeploymentConfiguration", "LoadBalancers"):
            if key in model:
                params[key] = model[key]
        service = ecs.update_service(**{k: v for k, v in params.items() if v is not None})["service"]
        model["ServiceArn"] = service["serviceArn"]
        model["Name"] = service["serviceName"]
        return _ok(model)

    def delete(self, request: ResourceRequest[Model]) -> ProgressEvent[Model]:
        model = request.desired_state
        ecs = request.aws_client_factory.ecs
        arn = model.get("ServiceArn")
        if arn:
            kwargs = {"service": arn, "force": True}
            if model.get("Cluster"):
                kwargs["cluster"] = model["Cluster"]
            ecs.delete_service(**kwargs)
        return _ok({})


# ------------------------------------------------------------------------------------------- ELBv2


def _elb_full_name(arn: str, marker: str) -> str:
    # LoadBalancerFullName `app/<name>/<id>` and TargetGroupFullName `targetgroup/<name>/<id>`: the
    # ARN's resource part (the CloudWatch dimension values of AWS/ApplicationELB).
    # https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html
    return arn.split(marker, 1)[1]


class Elbv2LoadBalancer(_Provider):
    """Ref: the ARN; GetAtt DNSName, LoadBalancerFullName, LoadBalancerName, CanonicalHostedZoneID,
    SecurityGroups. https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-elasticloadbalancingv2-loadbalancer.html"""

    TYPE = "AWS::ElasticLoadBalancingV2::LoadBalancer"
    SCHEMA = _schema(
        TYPE,
        "LoadBalancerArn",
        ["LoadBalancerArn", "DNSName", "LoadBalancerFullName", "LoadBalancerName", "CanonicalHostedZoneID"],
        ["Name", "Scheme"],
    )

    def create(self, request: ResourceRequest[Model]) -> ProgressEvent[Model]:
        model = request.desired_state
        elbv2 = request.aws_client_factory.elbv2
        params = {k: v for k, v in model.items() if k not in ("Tags", "LoadBalancerAttributes")}
        params.setdefault("Name", _generated_name(request, 32))
        if _tags(model):
            params["Tags"] = _tags(model)
        lb = elbv2.create_load_balancer(**params)["LoadBalancers"][0]
        if model.get("LoadBalancerAttributes"):
            elbv2.modify_load_balancer_attributes(
                LoadBalancerArn=lb["LoadBalancerArn"], Attributes=model["LoadBalancerAttributes"]
            )
        model["LoadBalancerArn"] = lb["LoadBalancerArn"]
        model["LoadBalancerName"] = lb["LoadBalancerName"]
        model["LoadBalancerFullName"] = _elb_full_name(lb["LoadBalancerArn"], ":loadbalancer/")
        model["DNSName"] = lb.get("DNSName", "")
        model["CanonicalHostedZoneID"] = lb.get("CanonicalHostedZoneId", "")
        model["SecurityGroups"] = lb.get("SecurityGroups", model.get("SecurityGroups", []))
        return _ok(model)

    def delete(self, request: ResourceRequest[Model]) -> ProgressEvent[Model]:
        arn = request.desired_state.get("LoadBalancerArn")
        if arn:
            request.aws_client_factory.elbv2.delete_load_balancer(LoadBalancerArn=arn)
        return _ok({})


class Elbv2TargetGroup(_Provider):
    """Ref: the ARN; GetAtt TargetGroupFullName, TargetGroupName, LoadBalancerArns, TargetGroupArn.
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-elasticloadbalancingv2-targetgroup.html"""

    TYPE = "AWS::ElasticLoadBalancingV2::TargetGroup"
    SCHEMA = _schema(
        TYPE, "TargetGroupArn", ["TargetGroupArn", "TargetGroupFullName", "TargetGroupName", "LoadBalancerArns"], ["Name"]
    )

    def create(self, request: ResourceRequest[Model]) -> ProgressEvent[Model]:
        model = request.desired_state
        elbv2 = request.aws_client_factory.elbv2
        params = {k: v for k, v in model.items() if k not in ("Tags", "TargetGroupAttributes", "Targets")}
        params.setdefault("Name", _generated_name(request, 32))
        if _tags(model):
            params["Tags"] = _tags(model)
        tg = elbv2.create_target_group(**params)["TargetGroups"][0]
        arn = tg["TargetGroupArn"]
        if model.get("TargetGroupAttributes"):
            elbv2.modify_target_group_attributes(TargetGroupArn=arn, Attributes=model["TargetGroupAttributes"])
        if model.get("Targets"):
            elbv2.register_targets(TargetGroupArn=arn, Targets=model["Targets"])
        model["TargetGroupArn"] = arn
        model["TargetGroupName"] = tg["TargetGroupName"]
        model["TargetGroupFullName"] = arn.split(":", 5)[5]  # targetgroup/<name>/<id>
        model["LoadBalancerArns"] = tg.get("LoadBalancerArns", [])
        return _ok(model)

    def delete(self, request: ResourceRequest[Model]) -> ProgressEvent[Model]:
        arn = request.desired_state.get("TargetGroupArn")
        if arn:
            request.aws_client_factory.elbv2.delete_target_group(TargetGroupArn=arn)
        return _ok({})


class Elbv2Listener(_Provider):
    """Ref: the ARN; GetAtt ListenerArn.
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-elasticloadbalancingv2-listener.html"""

    TYPE = "AWS::ElasticLoadBalancingV2::Listener"
    SCHEMA = _schema(TYPE, "ListenerArn", ["ListenerArn"], ["LoadBalancerArn"])

    def create(self, request: ResourceRequest[Model]) -> ProgressEvent[Model]:
        model = request.desired_state
        params = {k: v for k, v in model.items() if k != "Tags"}
        listener = request.aws_client_factory.elbv2.create_listener(**params)["Listeners"][0]
        model["ListenerArn"] = listener["ListenerArn"]
        return _ok(model)

    def delete(self, request: ResourceRequest[Model]) -> ProgressEvent[Model]:
        arn = request.desired_state.get("ListenerArn")
        if arn:
            request.aws_client_factory.elbv2.delete_listener(ListenerArn=arn)
        return _ok({})


class Elbv2ListenerRule(_Provider):
    """Ref and GetAtt RuleArn: the rule's ARN; GetAtt IsDefault.
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-elasticloadbalancingv2-listenerrule.html"""

    TYPE = "AWS::ElasticLoadBalancingV2::ListenerRule"
    SCHEMA = _schema(TYPE, "RuleArn", ["RuleArn", "IsDefault"], ["ListenerArn"])

    def create(self, request: ResourceRequest[Model]) -> ProgressEvent[Model]:
        model = request.desired_state
        params = {k: v for k, v in model.items() if k != "Tags"}
        params["Priority"] = int(model["Priority"])
        rule = request.aws_client_factory.elbv2.create_rule(**params)["Rules"][0]
        model["RuleArn"] = rule["RuleArn"]
        model["IsDefault"] = bool(rule.get("IsDefault", False))
        return _ok(model)

    def delete(self, request: ResourceRequest[Model]) -> ProgressEvent[Model]:
        arn = request.desired_state.get("RuleArn")
        if arn:
            request.aws_client_factory.elbv2.delete_rule(RuleArn=arn)
        return _ok({})


# ------------------------------------------------------------------------------ Application Auto Scaling


def scalable_target_ref(resource_id: str, dimension: str, namespace: str) -> str:
    # Ref of a scalable target: `<ResourceId>|<ScalableDimension>|<ServiceNamespace>`, which a scaling
    # policy's ScalingTargetId takes.
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-applicationautoscaling-scalabletarget.html
    return f"{resource_id}|{dimension}|{namespace}"


class ScalableTarget(_Provider):
    TYPE = "AWS::ApplicationAutoScaling::ScalableTarget"
    SCHEMA = _schema(TYPE, "Id", ["Id"], ["ResourceId", "ScalableDimension", "ServiceNamespace"])

    def create(self, request: ResourceRequest[Model]) -> ProgressEvent[Model]:
        model = request.desired_state
        params = {k: v for k, v in model.items() if k not in ("ScheduledActions", "Tags")}
        request.aws_client_factory.application_autoscaling.register_scalable_target(**params)
        model["Id"] = scalable_target_ref(model["ResourceId"], model["ScalableDimension"], model["ServiceNamespace"])
        return _ok(model)

    def update(self, request: ResourceRequest[Model]) -> ProgressEvent[Model]:
        return self.create(request)

    def delete(self, request: ResourceRequest[Model]) -> ProgressEvent[Model]:
        model = request.desired_state
        request.aws_client_factory.application_autoscaling.deregister_scalable_target(
            ServiceNamespace=model["ServiceNamespace"],
            ResourceId=model["ResourceId"],
            ScalableDimension=model["ScalableDimension"],
        )
        return _ok({})


class ScalingPolicy(_Provider):
    """Ref and GetAtt Arn: the policy ARN. ScalingTargetId (a scalable target's Ref) stands for
    ResourceId, ScalableDimension and ServiceNamespace.
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-applicationautoscaling-scalingpolicy.html"""

    TYPE = "AWS::ApplicationAutoScaling::ScalingPolicy"
    SCHEMA = _schema(TYPE, "Arn", ["Arn"], ["PolicyName", "ScalingTargetId"])

    def create(self, request: ResourceRequest[Model]) -> ProgressEvent[Model]:
        model = request.desired_state
        params = {k: v for k, v in model.items() if k != "ScalingTargetId"}
        if model.get("ScalingTargetId"):
            resource_id, dimension, namespace = str(model["ScalingTargetId"]).split("|")
            params.update(ResourceId=resource_id, ScalableDimension=dimension, ServiceNamespace=namespace)
        response = request.aws_client_factory.application_autoscaling.put_scaling_policy(**params)
        model["Arn"] = response["PolicyARN"]
        return _ok(model)

    def update(self, request: ResourceRequest[Model]) -> ProgressEvent[Model]:
        return self.create(request)

    def delete(self, request: ResourceRequest[Model]) -> ProgressEvent[Model]:
        model = request.desired_state
        if model.get("ScalingTargetId"):
            resource_id, dimension, namespace = str(model["ScalingTargetId"]).split("|")
        else:
            resource_id, dimension, namespace = model["ResourceId"], model["ScalableDimension"], model["ServiceNamespace"]
        request.aws_client_factory.application_autoscaling.delete_scaling_policy(
            PolicyName=model["PolicyName"],
            ServiceNamespace=namespace,
            ResourceId=resource_id,
            ScalableDimension=dimension,
        )
        return _ok({})


# ------------------------------------------------------------------------------------------- EC2


class SecurityGroupIngress(_Provider):
    """One ingress rule added to an existing security group. Ref: the rule's id.
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ec2-securitygroupingress.html"""

    TYPE = "AWS::EC2::SecurityGroupIngress"
    SCHEMA = _schema(TYPE, "Id", ["Id"])

    @staticmethod
    def _permission(model: Model) -> Model:
        perm: Model = {"IpProtocol": str(model["IpProtocol"])}
        if model.get("FromPort") is not None:
            perm["FromPort"] = int(model["FromPort"])
        if model.get("ToPort") is not None:
            perm["ToPort"] = int(model["ToPort"])
        if model.get("CidrIp"):
            perm["IpRanges"] = [{"CidrIp": model["CidrIp"], **({"Description": model["Description"]} if model.get("Description") else {})}]
        if model.get("CidrIpv6"):
            perm["Ipv6Ranges"] = [{"CidrIpv6": model["CidrIpv6"]}]
        if model.get("SourceSecurityGroupId") or model.get("SourceSecurityGroupName"):
            pair = {"GroupId": model.get("SourceSecurityGroupId"), "GroupName": model.get("SourceSecurityGroupName")}
            if model.get("SourceSecurityGroupOwnerId"):
                pair["UserId"] = model["SourceSecurityGroupOwnerId"]
            perm["UserIdGroupPairs"] = [{k: v for k, v in pair.items() if v}]
        if model.get("SourcePrefixListId"):
            perm["PrefixListIds"] = [{"PrefixListId": model["SourcePrefixListId"]}]
        return perm

    def _group(self, model: Model) -> Model:
        return {"GroupId": model["GroupId"]} if model.get("GroupId") else {"GroupName": model["GroupName"]}

    def create(self, request: ResourceRequest[Model]) -> ProgressEvent[Model]:
        model = request.desired_state
        response = request.aws_client_factory.ec2.authorize_security_group_ingress(
            **self._group(model), IpPermissions=[self._permission(model)]
        )
        rules = response.get("SecurityGroupRules") or []
        model["Id"] = rules[0]["SecurityGroupRuleId"] if rules else f"sgr-{uuid.uuid4().hex[:17]}"
        return _ok(model)

    def delete(self, request: ResourceRequest[Model]) -> ProgressEvent[Model]:
        model = request.desired_state
        request.aws_client_factory.ec2.revoke_security_group_ingress(
            **self._group(model), IpPermissions=[self._permission(model)]
        )
        return _ok({})


class SecurityGroupEgress(SecurityGroupIngress):
    """One egress rule added to an existing security group (same properties, `DestinationSecurityGroupId`
    and `DestinationPrefixListId` for the other end). Ref: the rule's id.
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ec2-securitygroupegress.html"""

    TYPE = "AWS::EC2::SecurityGroupEgress"
    SCHEMA = _schema(TYPE, "Id", ["Id"])

    @staticmethod
    def _permission(model: Model) -> Model:
        return SecurityGroupIngress._permission({
            **model, "SourceSecurityGroupId": model.get("DestinationSecurityGroupId"),
            "SourcePrefixListId": model.get("DestinationPrefixListId")})

    def create(self, request: ResourceRequest[Model]) -> ProgressEvent[Model]:
        model = request.desired_state
        response = request.aws_client_factory.ec2.authorize_security_group_egress(
            GroupId=model["GroupId"], IpPermissions=[self._permission(model)]
        )
        rules = response.get("SecurityGroupRules") or []
        model["Id"] = rules[0]["SecurityGroupRuleId"] if rules else f"sgr-{uuid.uuid4().hex[:17]}"
        return _ok(model)

    def delete(self, request: ResourceRequest[Model]) -> ProgressEvent[Model]:
        model = request.desired_state
        request.aws_client_factory.ec2.revoke_security_group_egress(
            GroupId=model["GroupId"], IpPermissions=[self._permission(model)]
        )
        return _ok({})


EcsClusterPlugin = _plugin(EcsCluster)
EcsTaskDefinitionPlugin = _plugin(EcsTaskDefinition)
EcsServicePlugin = _plugin(EcsService)
Elbv2LoadBalancerPlugin = _plugin(Elbv2LoadBalancer)
Elbv2TargetGroupPlugin = _plugin(Elbv2TargetGroup)
Elbv2ListenerPlugin = _plugin(Elbv2Listener)
Elbv2ListenerRulePlugin = _plugin(Elbv2ListenerRule)
ScalableTargetPlugin = _plugin(ScalableTarget)
ScalingPolicyPlugin = _plugin(ScalingPolicy)
SecurityGroupIngressPlugin = _plugin(SecurityGroupIngress)
SecurityGroupEgressPlugin = _plugin(SecurityGroupEgress)

RESOURCE_TYPES = tuple(
    p.TYPE
    for p in (
        EcsCluster,
        EcsTaskDefinition,
        EcsService,
        Elbv2LoadBalancer,
        Elbv2TargetGroup,
        Elbv2Listener,
        Elbv2ListenerRule,
        ScalableTarget,
        ScalingPolicy,
        SecurityGroupIngress,
        SecurityGroupEgress,
    )
)
