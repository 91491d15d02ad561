"""AWS Cloud Map (AWS::ServiceDiscovery::*), which moto 5.2 has a backend for but no CloudFormation models:
an ECS service's `ServiceRegistries` point at such a Service in such a namespace."""

from __future__ import annotations

from typing import Any

import moto.servicediscovery.models  # noqa: F401  - moto's models first
from moto.core.common_models import CloudFormationModel
from moto.servicediscovery.models import servicediscovery_backends

from harness.cloud.cfn.base import _Stored


def _backend(account_id: str, region_name: str) -> Any:
    return servicediscovery_backends[account_id][region_name]


class _Namespace(_Stored):
    """A real moto namespace (ListNamespaces / GetNamespace show it). Ref = the namespace id (checked on each
    type's Return values section: "Ref returns the value of Id for the namespace, such as ns-e4anhexample0004");
    Fn::GetAtt Id, Arn (and HostedZoneId for the DNS ones)."""

    KIND = "real"
    GETATT = frozenset({"Id", "Arn"})

    # The backend's create call, and the properties it takes beyond Name, Description and Tags.
    CREATE: str = ""
    EXTRA: tuple[str, ...] = ()

    @classmethod
    def _make(cls, backend: Any, props: dict[str, Any]) -> str:
        """Create the namespace; return its CreateNamespace operation id."""
        extra = {"vpc": str(props.get("Vpc", "")), "properties": props.get("Properties") or {}}
        return str(getattr(backend, cls.CREATE)(
            name=str(props["Name"]), creator_request_id="", description=str(props.get("Description", "")),
            tags=props.get("Tags") or [], **{k: extra[k] for k in cls.EXTRA}))

    @classmethod
    def apply(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> tuple[str, dict[str, Any]]:
        backend = _backend(account_id, region_name)
        operation = backend.operations[cls._make(backend, props)]
        namespace = backend.get_namespace(operation.targets["NAMESPACE"])
        attrs = {"Id": namespace.id, "Arn": namespace.arn}
        zone = (namespace.dns_properties or {}).get("HostedZoneId")
        if zone:
            attrs["HostedZoneId"] = zone
        return str(namespace.id), attrs

    def remove(self) -> None:
        backend = _backend(self.account_id, self.region_name)
        if self.physical_id in backend.namespaces:
            backend.delete_namespace(self.physical_id)


class PrivateDnsNamespace(_Namespace, CloudFormationModel):
    """https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-servicediscovery-privatednsnamespace.html
    (Return values: Ref = the namespace id; GetAtt Arn, HostedZoneId, Id.)"""

    TYPE = "AWS::ServiceDiscovery::PrivateDnsNamespace"
    GETATT = frozenset({"Id", "Arn", "HostedZoneId"})
    CREATE, EXTRA = "create_private_dns_namespace", ("vpc", "properties")


class PublicDnsNamespace(_Namespace, CloudFormationModel):
    """https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-servicediscovery-publicdnsnamespace.html
    (Return values: Ref = the namespace id; GetAtt Arn, HostedZoneId, Id.)"""

    TYPE = "AWS::ServiceDiscovery::PublicDnsNamespace"
    GETATT = frozenset({"Id", "Arn", "HostedZoneId"})
    CREATE, EXTRA = "create_public_dns_namespace", ("properties",)


class HttpNamespace(_Namespace, CloudFormationModel):
    """https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-servicediscovery-httpnamespace.html
    (Return values: Ref = the namespace id; GetAtt Arn, Id.)"""

    TYPE = "AWS::ServiceDiscovery::HttpNamespace"
    CREATE = "create_http_namespace"


class Service(_Stored, CloudFormationModel):
    """https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-servicediscovery-service.html
    A real moto Cloud Map service (GetService / ListServices show it). Return values: Ref = the service id
    (checked: "the value of Id for the service, such as srv-e4anhexample0004");
    GetAtt Arn, Id, Name. Its namespace is `NamespaceId`, else DnsConfig's (the older form)."""

    TYPE = "AWS::ServiceDiscovery::Service"
    KIND = "real"
    NAME_PROPERTY = "Name"
    GETATT = frozenset({"Id", "Arn", "Name"})

    @classmethod
    def apply(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> tuple[str, dict[str, Any]]:
        dns = dict(props.get("DnsConfig") or {})
        namespace = props.get("NamespaceId") or dns.pop("NamespaceId", None)
        service = _backend(account_id, region_name).create_service(
            name=name, namespace_id=None if namespace is None else str(namespace), creator_request_id="",
            description=str(props.get("Description", "")), dns_config=dns or None,
            health_check_config=props.get("HealthCheckConfig"),
            health_check_custom_config=props.get("HealthCheckCustomConfig"), tags=props.get("Tags") or [],
            service_type=props.get("Type"))
        return str(service.id), {"Id": service.id, "Arn": service.arn, "Name": service.name}

    def remove(self) -> None:
        _backend(self.account_id, self.region_name).delete_service(self.physical_id)
