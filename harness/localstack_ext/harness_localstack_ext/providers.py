"""ECS, ELBv2 and Application Auto Scaling for LocalStack, served by the moto it bundles.

LocalStack's ASF skeleton looks each operation up in a dispatch table; the table built here maps
every operation of the service's botocore model to `call_moto`, the same fallback LocalStack uses
for its moto-backed community services (`localstack.services.moto`).
"""

from __future__ import annotations

from typing import Any, cast

from localstack.services.plugins import Service, aws_provider


class _MotoOnlyProvider:
    """A provider with no code of its own: LocalStack only needs its `service` name."""

    def __init__(self, service: str) -> None:
        self.service = service


def moto_service(service: str) -> Service:
    """A LocalStack Service whose every operation is answered by LocalStack's moto."""
    from localstack.aws.spec import load_service
    from localstack.services.moto import call_moto

    def forward(context: Any, request: Any) -> Any:
        return call_moto(context)

    operations = load_service(service).operation_names
    return Service.for_provider(
        _MotoOnlyProvider(service),
        dispatch_table_factory=lambda _provider: {op: forward for op in operations},
    )


def keep_deployment_configuration() -> None:
    """Make moto's CreateService keep `deploymentConfiguration` (moto drops it).

    ECS answers DescribeServices with the service's deployment configuration, 100 % minimum healthy
    and 200 % maximum when none was given; the harness's rolling deployments read it.
    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentConfiguration.html
    """
    from moto.ecs.responses import EC2ContainerServiceResponse

    original = EC2ContainerServiceResponse.create_service
    if getattr(original, "harness_patched", False):
        return

    def create_service(self: Any) -> Any:
        result = original(self)
        service = cast("dict[str, Any]", result.result)["service"]
        given = self._get_param("deploymentConfiguration") or {}
        service.deployment_configuration = {
            "maximumPercent": int(given.get("maximumPercent", 200)),
            "minimumHealthyPercent": int(given.get("minimumHealthyPercent", 100)),
            **{k: v for k, v in given.items() if k not in ("maximumPercent", "minimumHealthyPercent")},
        }
        return result

    create_service.harness_patched = True  # type: ignore[attr-defined]
    EC2ContainerServiceResponse.create_service = create_service  # type: ignore[method-assign]


@aws_provider(api="ecs")  # type: ignore[untyped-decorator]  # LocalStack is untyped where mypy runs
def ecs() -> Service:
    keep_deployment_configuration()
    return moto_service("ecs")


@aws_provider(api="elbv2")  # type: ignore[untyped-decorator]  # LocalStack is untyped where mypy runs
def elbv2() -> Service:
    return moto_service("elbv2")


@aws_provider(api="application-autoscaling")  # type: ignore[untyped-decorator]  # LocalStack is untyped where mypy runs
def application_autoscaling() -> Service:
    return moto_service("application-autoscaling")
