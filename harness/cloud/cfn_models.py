"""CloudFormation resource types moto 5.2.5 skips or deploys incompletely, filled in for the harness.

moto's CloudFormation creates a resource through the `CloudFormationModel` whose
`cloudformation_type()` matches; its type map (`moto.cloudformation.parsing.get_model_map`) is built,
once and cached, from the DIRECT subclasses of `CloudFormationModel`, a later class winning over an
earlier one for the same type. moto 5.2.5 has no model for AWS::CloudWatch::Alarm and
AWS::ApplicationAutoScaling::* (it logs a warning and skips them), drops an ECS service's
LoadBalancers, Role and DeploymentConfiguration, drops a task definition's NetworkMode and Cpu,
ignores a target group's TargetGroupAttributes, and cannot resolve GetAtt LoadBalancerFullName.
`register()` defines the classes below after moto's own, clears the cache, and asserts ours won.

Call `register()` in the process that serves moto before the first template is parsed.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar, cast

from moto.core.common_models import CloudFormationModel

logger = logging.getLogger(__name__)

# Resource types handled here (the harness's deploy validation also reads this).
EXTENDED_TYPES: tuple[str, ...] = (
    "AWS::CloudWatch::Alarm",
    "AWS::ApplicationAutoScaling::ScalableTarget",
    "AWS::ApplicationAutoScaling::ScalingPolicy",
    "AWS::ECS::Service",
    "AWS::ECS::TaskDefinition",
    "AWS::ElasticLoadBalancingV2::LoadBalancer",
    "AWS::ElasticLoadBalancingV2::TargetGroup",
    # moto creates these but cannot delete them, so a VPC stack could never be torn down:
    "AWS::EC2::Route",
    "AWS::EC2::RouteTable",
    "AWS::EC2::SubnetRouteTableAssociation",
    "AWS::EC2::VPCGatewayAttachment",
    "AWS::EC2::InternetGateway",
)

_REGISTERED: dict[str, type[CloudFormationModel]] = {}

# CloudWatch starts every new alarm here; moto starts it in OK.
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html
INITIAL_STATE = "INSUFFICIENT_DATA"
INITIAL_REASON = "Unchecked: Initial alarm creation"


def _int(value: Any) -> int | None:
    """CloudFormation passes parameter values (and often literals) as strings."""
    return None if value is None else int(value)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _strs(value: Any) -> list[str]:
    return [str(v) for v in (value or [])]


class _Deletable:
    """A moto resource plus the way to delete it (moto has none for some EC2 types).

    Deliberately NOT a CloudFormationModel: direct subclasses of that join moto's type map.
    """

    def __init__(self, inner: Any, deleter: Any) -> None:
        self._inner = inner
        self._deleter = deleter

    @property
    def physical_resource_id(self) -> str:
        return str(self._inner.physical_resource_id)

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        return self._inner.get_cfn_attribute(attribute_name)

    def delete(self, account_id: str, region_name: str) -> None:
        from moto.ec2.models import ec2_backends

        self._deleter(self._inner, ec2_backends[account_id][region_name])

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _Model:
    """What the harness's models share: type, name property and GetAtt names as class data, and a
    create that hands the Properties and the resource's name to `_create`.

    A mixin, not a CloudFormationModel subclass: moto's type map lists only the DIRECT subclasses of
    CloudFormationModel, so each model names both (`class X(_Model, CloudFormationModel)`). Update and
    delete_from_cloudformation_json are left to each model: moto treats a model that does not define
    them (they stay abstract) as one it cannot update or delete that way.
    """

    TYPE: ClassVar[str]
    # The property that names the resource; "" where it has none.
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-name.html
    NAME_PROPERTY: ClassVar[str] = ""
    # The GetAtt attribute names; None accepts any (moto's default).
    GETATT: ClassVar[frozenset[str] | None] = None

    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.TYPE

    @classmethod
    def cloudformation_name_type(cls) -> str:
        return cls.NAME_PROPERTY

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return cls.GETATT is None or attr in cls.GETATT

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        props = cloudformation_json["Properties"]
        return cls._create(props.get(cls.NAME_PROPERTY) or resource_name, props, account_id, region_name)

    @classmethod
    def _create(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> Any:
        raise NotImplementedError(f"{cls.__name__} does not define _create")


class _Reapplied(_Model):
    """A resource that an update simply creates again (a re-registration, or a new revision)."""

    @classmethod
    def update_from_cloudformation_json(
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> Any:
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)


class _Renamable(_Model):
    """A resource kept under its name (`self.name`) with an ARN (Ref/GetAtt Arn): an update puts it
    again under the same name, and a changed name property replaces it (the old one is deleted)."""

    GETATT = frozenset({"Arn"})
    name: str
    arn: str

    def get_cfn_attribute(self, attribute_name: str) -> str:
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        if attribute_name == "Arn":
            return self.arn
        raise UnformattedGetAttTemplateException()

    @classmethod
    def update_from_cloudformation_json(
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> Any:
        props = cloudformation_json["Properties"]
        name = props.get(cls.NAME_PROPERTY) or original_resource.name
        if name != original_resource.name:
            original_resource.delete(account_id, region_name)
        return cls._create(name, props, account_id, region_name)


def register() -> dict[str, type[CloudFormationModel]]:
    """Define the models (once), make moto see them, and check that each one won its type."""
    # Import moto's own models first, so that ours are defined (and so win) after theirs.
    import moto.applicationautoscaling.models  # noqa: F401
    import moto.cloudformation.parsing as parsing
    import moto.cloudwatch.models  # noqa: F401
    import moto.ecs.models  # noqa: F401
    import moto.elbv2.models  # noqa: F401

    if not _REGISTERED:
        for model in _define_models():
            # Each model is `class X(_Model, CloudFormationModel)`, left abstract on purpose (see _Model).
            _REGISTERED[model.cloudformation_type()] = cast("type[CloudFormationModel]", model)
        _name_failing_resources(parsing)
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


FAILED_RESOURCE_PREFIX = "Resource "


def _name_failing_resources(parsing: Any) -> None:
    """Make a resource that fails to create fail the CreateStack call with its logical id.

    moto records no per-resource events and lets the backend's exception escape as the whole
    call's error (often an HTTP 500), so the user could not tell which resource broke. Wrapping moto's
    module-level `parse_and_create_resource` (resolved at call time) adds the name; the error is
    otherwise unchanged. Message: "Resource <LogicalId> (<Type>) failed to create: <reason>".
    """
    from moto.cloudformation.exceptions import ValidationError

    original = parsing.parse_and_create_resource
    if getattr(original, "_harness_wrapped", False):
        return

    def parse_and_create_resource(
        logical_id: str, resource_json: dict[str, Any], resources_map: Any, account_id: str, region_name: str
    ) -> Any:
        try:
            return original(logical_id, resource_json, resources_map, account_id, region_name)
        except Exception as exc:
            if getattr(exc, "_harness_named", False):
                raise  # a dependency failed and is already named
            reason = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            named = ValidationError(
                message=f"{FAILED_RESOURCE_PREFIX}{logical_id} ({resource_json.get('Type')}) failed to create: {reason}"
            )
            named._harness_named = True  # type: ignore[attr-defined]
            raise named from exc

    parse_and_create_resource._harness_wrapped = True  # type: ignore[attr-defined]
    parsing.parse_and_create_resource = parse_and_create_resource


def supported_types() -> frozenset[str]:
    """Every resource type the embedded cloud can create (moto's models + ours + moto's no-ops)."""
    import moto.cloudformation.parsing as parsing

    register()
    return frozenset(parsing.get_model_map()) | frozenset(parsing.NULL_MODELS)


def _define_models() -> list[type[_Model]]:
    """The model classes. Defined lazily so that moto's models exist first (later subclasses win)."""
    from moto.applicationautoscaling.models import applicationautoscaling_backends
    from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
    from moto.cloudwatch.models import cloudwatch_backends
    from moto.core.utils import pascal_to_camelcase, remap_nested_keys
    from moto.ecs.models import Service as MotoEcsService
    from moto.ecs.models import TaskDefinition as MotoTaskDefinition
    from moto.ecs.models import ecs_backends
    from moto.elbv2.models import FakeLoadBalancer, FakeTargetGroup, elbv2_backends

    # ---------------------------------------------------------------- AWS::CloudWatch::Alarm
    class CloudWatchAlarm(_Renamable, CloudFormationModel):
        """https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-cloudwatch-alarm.html
        Ref returns the alarm name; GetAtt Arn the alarm ARN."""

        TYPE = "AWS::CloudWatch::Alarm"
        NAME_PROPERTY = "AlarmName"

        def __init__(self, name: str, arn: str, account_id: str, region_name: str) -> None:
            self.name = name
            self.arn = arn
            self.account_id = account_id
            self.region_name = region_name

        @property
        def physical_resource_id(self) -> str:
            return self.name

        @classmethod
        def _create(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> CloudWatchAlarm:
            if props.get("Metrics"):
                # Metric-math alarms are not modelled by the harness's evaluator.
                raise ValueError(f"alarm {name}: the Metrics (metric math) property is not supported")
            backend = cloudwatch_backends[account_id][region_name]
            dims = [{"Name": d["Name"], "Value": str(d["Value"])} for d in props.get("Dimensions", [])]
            # moto annotates these parameters as required, but takes None for an absent property
            # (its own PutMetricAlarm handler passes them straight from the request).
            alarm = backend.put_metric_alarm(
                name=name,
                namespace=props.get("Namespace"),  # type: ignore[arg-type]
                metric_name=props.get("MetricName"),  # type: ignore[arg-type]
                comparison_operator=props.get("ComparisonOperator"),  # type: ignore[arg-type]
                evaluation_periods=_int(props.get("EvaluationPeriods")),  # type: ignore[arg-type]
                period=_int(props.get("Period")),  # type: ignore[arg-type]
                threshold=_float(props.get("Threshold")),  # type: ignore[arg-type]
                statistic=props.get("Statistic"),  # type: ignore[arg-type]
                extended_statistic=props.get("ExtendedStatistic"),
                description=props.get("AlarmDescription"),  # type: ignore[arg-type]
                dimensions=dims,
                alarm_actions=_strs(props.get("AlarmActions")),
                ok_actions=_strs(props.get("OKActions")),
                insufficient_data_actions=_strs(props.get("InsufficientDataActions")),
                datapoints_to_alarm=_int(props.get("DatapointsToAlarm")),
                unit=props.get("Unit"),
                actions_enabled=str(props.get("ActionsEnabled", True)).lower() != "false",
                treat_missing_data=props.get("TreatMissingData"),
                evaluate_low_sample_count_percentile=props.get("EvaluateLowSampleCountPercentile"),
                threshold_metric_id=props.get("ThresholdMetricId"),
            )
            # A new alarm starts in INSUFFICIENT_DATA until its first evaluation.
            # https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html
            alarm.state_value = INITIAL_STATE
            alarm.state_reason = INITIAL_REASON
            alarm.state_reason_data = "{}"
            return cls(name, alarm.alarm_arn, account_id, region_name)

        @classmethod
        def delete_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
        ) -> None:
            cloudwatch_backends[account_id][region_name].delete_alarms([resource_name])

        def delete(self, account_id: str, region_name: str) -> None:
            cloudwatch_backends[account_id][region_name].delete_alarms([self.name])

    # ---------------------------------------------------- AWS::ApplicationAutoScaling::ScalableTarget
    class ScalableTarget(_Reapplied, CloudFormationModel):
        """https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-applicationautoscaling-scalabletarget.html
        Ref returns `<ResourceId>|<ScalableDimension>|<ServiceNamespace>`."""

        TYPE = "AWS::ApplicationAutoScaling::ScalableTarget"

        def __init__(self, namespace: str, resource_id: str, dimension: str) -> None:
            self.namespace = namespace
            self.resource_id = resource_id
            self.dimension = dimension

        @property
        def physical_resource_id(self) -> str:
            return f"{self.resource_id}|{self.dimension}|{self.namespace}"

        @classmethod
        def _create(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> ScalableTarget:
            backend = applicationautoscaling_backends[account_id][region_name]
            suspended = props.get("SuspendedState") or {}
            target = cls(str(props["ServiceNamespace"]), str(props["ResourceId"]), str(props["ScalableDimension"]))
            # moto annotates role_arn and suspended_state as str; its RegisterScalableTarget handler
            # passes None for an absent RoleARN and the SuspendedState structure (a dict) as is.
            backend.register_scalable_target(
                namespace=target.namespace,
                r_id=target.resource_id,
                dimension=target.dimension,
                min_capacity=_int(props.get("MinCapacity")),
                max_capacity=_int(props.get("MaxCapacity")),
                role_arn=props.get("RoleARN"),  # type: ignore[arg-type]
                suspended_state=suspended,  # type: ignore[arg-type]
            )
            return target

        def delete(self, account_id: str, region_name: str) -> None:
            backend = applicationautoscaling_backends[account_id][region_name]
            backend.deregister_scalable_target(self.namespace, self.resource_id, self.dimension)

    # ---------------------------------------------------- AWS::ApplicationAutoScaling::ScalingPolicy
    class ScalingPolicy(_Renamable, CloudFormationModel):
        """https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-applicationautoscaling-scalingpolicy.html
        Ref returns the policy ARN (what an alarm names as its action); GetAtt Arn too."""

        TYPE = "AWS::ApplicationAutoScaling::ScalingPolicy"
        NAME_PROPERTY = "PolicyName"

        def __init__(self, name: str, namespace: str, resource_id: str, dimension: str, arn: str) -> None:
            self.name = name
            self.namespace = namespace
            self.resource_id = resource_id
            self.dimension = dimension
            self.arn = arn

        @property
        def physical_resource_id(self) -> str:
            return self.arn

        @classmethod
        def _create(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> ScalingPolicy:
            target_id = props.get("ScalingTargetId")
            if target_id:
                # ScalingTargetId is the scalable target's Ref: resource|dimension|namespace.
                resource_id, dimension, namespace = str(target_id).split("|")
            else:
                resource_id = str(props["ResourceId"])
                dimension = str(props["ScalableDimension"])
                namespace = str(props["ServiceNamespace"])
            policy_type = props.get("PolicyType")
            if policy_type == "StepScaling":
                body = _step_config(props.get("StepScalingPolicyConfiguration") or {})
            else:
                body = props.get("TargetTrackingScalingPolicyConfiguration") or {}
            backend = applicationautoscaling_backends[account_id][region_name]
            policy = backend.put_scaling_policy(
                policy_name=name,
                service_namespace=namespace,
                resource_id=resource_id,
                scalable_dimension=dimension,
                policy_body=body,
                policy_type=policy_type,
            )
            return cls(name, namespace, resource_id, dimension, policy.policy_arn)

        def delete(self, account_id: str, region_name: str) -> None:
            backend = applicationautoscaling_backends[account_id][region_name]
            backend.delete_scaling_policy(self.name, self.namespace, self.resource_id, self.dimension)

    # ------------------------------------------------------------------------- AWS::ECS::Service
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

    # -------------------------------------------------- AWS::ElasticLoadBalancingV2::LoadBalancer
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

    def _name_of(value: Any) -> str:
        """A cluster or task definition given as a moto object, an ARN or a name."""
        if isinstance(value, MotoTaskDefinition):
            return str(value.arn)
        name = getattr(value, "name", None)
        return str(name) if name is not None else str(value)

    def _step_config(conf: dict[str, Any]) -> dict[str, Any]:
        """Numbers in a step scaling configuration as the API returns them (ints and floats)."""
        out = dict(conf)
        for key in ("Cooldown", "MinAdjustmentMagnitude"):
            if key in out:
                out[key] = int(out[key])
        steps = []
        for step in conf.get("StepAdjustments", []):
            s = dict(step)
            for key in ("MetricIntervalLowerBound", "MetricIntervalUpperBound"):
                if key in s:
                    s[key] = float(s[key])
            s["ScalingAdjustment"] = int(s["ScalingAdjustment"])
            steps.append(s)
        if steps:
            out["StepAdjustments"] = steps
        return out

    del MotoEcsService, FakeLoadBalancer  # imported to be defined before ours; not used directly
    return _ec2_models() + [
        CloudWatchAlarm,
        ScalableTarget,
        ScalingPolicy,
        EcsService,
        EcsTaskDefinition,
        LoadBalancer,
        TargetGroup,
    ]


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
        (Route, delete_route),
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
