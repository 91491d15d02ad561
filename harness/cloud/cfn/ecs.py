"""AWS::ECS::*: moto's service drops LoadBalancers, Role and DeploymentConfiguration, its task definition
NetworkMode and Cpu; ours keep them."""

from __future__ import annotations

from typing import Any

import moto.ecs.models  # noqa: F401  - moto's models first, so ours win their types
from moto.core.common_models import CloudFormationModel
from moto.core.utils import pascal_to_camelcase, remap_nested_keys
from moto.ecs.models import TaskDefinition as MotoTaskDefinition
from moto.ecs.models import ecs_backends

from harness.cloud.cfn.base import _int, _Model, _Reapplied, _Stored


class EcsService(_Model, CloudFormationModel):
    """https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ecs-service.html
    Like moto's, but keeps LoadBalancers, Role, DeploymentConfiguration and LaunchType.
    Returns moto's own Service object (Ref = service ARN, GetAtt Name = service name)."""

    TYPE = "AWS::ECS::Service"
    NAME_PROPERTY = "ServiceName"
    GETATT = frozenset({"Name"})

    @classmethod
    def _create(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> Any:
        backend = ecs_backends[account_id][region_name]
        cluster = _name_of(props.get("Cluster", "default"))
        task_definition = _name_of(props["TaskDefinition"])
        load_balancers = [
            {
                "targetGroupArn": lb.get("TargetGroupArn"),
                "loadBalancerName": lb.get("LoadBalancerName"),
                "containerName": lb.get("ContainerName"),
                "containerPort": _int(lb.get("ContainerPort")),
            }
            for lb in props.get("LoadBalancers", [])
        ]
        load_balancers = [{k: v for k, v in lb.items() if v is not None} for lb in load_balancers]
        service = backend.create_service(
            cluster,
            name,
            # moto annotates desired_count as int but treats None as 0 (its own model passes None).
            _int(props.get("DesiredCount")),  # type: ignore[arg-type]
            task_definition_str=task_definition,
            load_balancers=load_balancers,
            launch_type=props.get("LaunchType"),
            role_arn=props.get("Role"),
            tags=remap_nested_keys(props.get("Tags", []), pascal_to_camelcase),
        )
        dc = props.get("DeploymentConfiguration") or {}
        # ECS's defaults for a rolling update: 100% minimum healthy, 200% maximum.
        # https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentConfiguration.html
        # moto's Service has no such attribute; its DescribeServices serializer picks it up by name.
        service.deployment_configuration = {  # type: ignore[attr-defined]
            "maximumPercent": _int(dc.get("MaximumPercent", 200)),
            "minimumHealthyPercent": _int(dc.get("MinimumHealthyPercent", 100)),
        }
        return service

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
    ) -> Any:
        props = cloudformation_json["Properties"]
        backend = ecs_backends[account_id][region_name]
        service = backend.update_service(
            {
                "cluster": original_resource.cluster_name,
                "service": original_resource.name,
                "task_definition": _name_of(props["TaskDefinition"]),
                "desired_count": _int(props.get("DesiredCount")),
            }
        )
        dc = props.get("DeploymentConfiguration") or {}
        service.deployment_configuration = {  # type: ignore[attr-defined]  # as in _create
            "maximumPercent": _int(dc.get("MaximumPercent", 200)),
            "minimumHealthyPercent": _int(dc.get("MinimumHealthyPercent", 100)),
        }
        return service

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        # resource_name is the service ARN: arn:...:service/<cluster>/<name>
        backend = ecs_backends[account_id][region_name]
        for service in list(backend.services.values()):
            if service.arn == resource_name and service.status == "ACTIVE":
                backend.delete_service(service.cluster_name, service.name, force=True)

# ------------------------------------------------------------------ AWS::ECS::TaskDefinition
class EcsTaskDefinition(_Reapplied, CloudFormationModel):
    """https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ecs-taskdefinition.html
    Like moto's, but keeps NetworkMode, Cpu, Memory, roles and compatibilities. Ref = ARN.
    Any change registers a new revision, as on AWS."""

    TYPE = "AWS::ECS::TaskDefinition"

    @classmethod
    def _create(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> Any:
        backend = ecs_backends[account_id][region_name]
        containers = remap_nested_keys(props.get("ContainerDefinitions", []), pascal_to_camelcase)
        for c in containers:
            # Log driver options are a free-form map: keep their keys as written.
            opts = (c.get("logConfiguration") or {}).get("options")
            if opts is not None:
                c["logConfiguration"]["options"] = {str(k): str(v) for k, v in opts.items()}
            for pm in c.get("portMappings", []):
                for key in ("containerPort", "hostPort"):
                    if key in pm:
                        pm[key] = int(pm[key])
            for key in ("cpu", "memory", "memoryReservation"):
                if key in c:
                    c[key] = int(c[key])
        cpu = props.get("Cpu")
        memory = props.get("Memory")
        return backend.register_task_definition(
            family=props.get("Family") or name,
            container_definitions=containers,
            volumes=remap_nested_keys(props.get("Volumes", []), pascal_to_camelcase),
            network_mode=props.get("NetworkMode"),
            placement_constraints=remap_nested_keys(
                props.get("PlacementConstraints", []), pascal_to_camelcase
            ),
            requires_compatibilities=props.get("RequiresCompatibilities"),
            cpu=None if cpu is None else str(cpu),
            memory=None if memory is None else str(memory),
            task_role_arn=props.get("TaskRoleArn"),
            execution_role_arn=props.get("ExecutionRoleArn"),
            tags=remap_nested_keys(props.get("Tags", []), pascal_to_camelcase),
        )

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        ecs_backends[account_id][region_name].deregister_task_definition(resource_name)


def _name_of(value: Any) -> str:
    """A cluster or task definition given as a moto object, an ARN or a name."""
    if isinstance(value, MotoTaskDefinition):
        return str(value.arn)
    name = getattr(value, "name", None)
    return str(name) if name is not None else str(value)


class CapacityProvider(_Stored, CloudFormationModel):
    """https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ecs-capacityprovider.html
    A real moto capacity provider over the group (CDK's AsgCapacityProvider emits it). Ref = its name."""

    TYPE = "AWS::ECS::CapacityProvider"
    KIND = "real"
    NAME_PROPERTY = "Name"
    GETATT = frozenset()

    @classmethod
    def apply(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> tuple[str, dict[str, Any]]:
        asg = remap_nested_keys(props.get("AutoScalingGroupProvider") or {}, pascal_to_camelcase)
        tags = remap_nested_keys(props.get("Tags") or [], pascal_to_camelcase)
        provider = ecs_backends[account_id][region_name].create_capacity_provider(name, asg, tags)
        return str(provider.name), {}

    def remove(self) -> None:
        backend = ecs_backends[self.account_id][self.region_name]
        if self.physical_id in backend.capacity_providers:
            backend.delete_capacity_provider(self.physical_id)


class ClusterCapacityProviderAssociations(_Stored, CloudFormationModel):
    """https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ecs-clustercapacityproviderassociations.html
    Sets the cluster's real capacity providers and default strategy; deleting it clears them."""

    TYPE = "AWS::ECS::ClusterCapacityProviderAssociations"
    KIND = "real"
    GETATT = frozenset()

    @classmethod
    def apply(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> tuple[str, dict[str, Any]]:
        strategy = remap_nested_keys(props.get("DefaultCapacityProviderStrategy") or [], pascal_to_camelcase)
        for item in strategy:
            for key in ("base", "weight"):
                if key in item:
                    item[key] = int(item[key])
        ecs_backends[account_id][region_name].put_cluster_capacity_providers(
            _name_of(props["Cluster"]), [str(p) for p in props.get("CapacityProviders") or []], strategy)
        return name, {}

    def remove(self) -> None:
        backend = ecs_backends[self.account_id][self.region_name]
        cluster = _name_of(self.properties["Cluster"])
        if cluster in backend.clusters:
            backend.put_cluster_capacity_providers(cluster, [], [])
