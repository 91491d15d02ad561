"""Which AWS APIs an endpoint really has, before anything is deployed to it.

LocalStack's free edition answers ECS, ELBv2 and Application Auto Scaling with HTTP 501 "not included
in your current license plan", and its CloudFormation then deploys those resource types as empty
fallbacks: a run would half-work. So before deploying, one cheap read call per API the templates need
(derived from their resource types) is made and classified; the report names what is missing and how
to get it.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from harness.errors import CloudError

# CloudFormation resource type prefix -> the botocore service that serves it.
# https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-template-resource-type-ref.html
SERVICE_OF_PREFIX: dict[str, str] = {
    "AWS::ECS::": "ecs",
    "AWS::ElasticLoadBalancingV2::": "elbv2",
    "AWS::ApplicationAutoScaling::": "application-autoscaling",
    "AWS::CloudWatch::": "cloudwatch",
    "AWS::SNS::": "sns",
    "AWS::EC2::": "ec2",
    "AWS::IAM::": "iam",
    "AWS::Logs::": "logs",
}
# One cheap read-only call per service: (operation, arguments).
PROBE_CALLS: dict[str, tuple[str, dict[str, Any]]] = {
    "cloudformation": ("list_stacks", {}),
    "ecs": ("list_clusters", {"maxResults": 1}),
    "elbv2": ("describe_load_balancers", {"PageSize": 1}),
    "application-autoscaling": ("describe_scalable_targets", {"ServiceNamespace": "ecs", "MaxResults": 1}),
    "cloudwatch": ("describe_alarms", {"MaxRecords": 1}),
    "sns": ("list_topics", {}),
    "ec2": ("describe_vpcs", {"MaxResults": 5}),
    "iam": ("list_roles", {"MaxItems": 1}),
    "logs": ("describe_log_groups", {"limit": 1}),
}
FIX = "install the harness LocalStack extension (see README: `--cloud localstack` does it) or use LocalStack Pro"
# What an endpoint says when it does not have an API at all (as opposed to failing a call).
_MISSING_CODES = {"NotImplemented", "NotImplementedException", "UnknownOperationException", "InvalidAction", "UnknownOperation"}
_MISSING_PHRASES = ("not included in your current license plan", "not yet been emulated", "not yet implemented", "pro feature")


class Status(enum.StrEnum):
    OK = "ok"
    MISSING = "missing"
    ERROR = "error"


@dataclass(frozen=True)
class ApiCheck:
    service: str
    operation: str
    status: Status
    detail: str = ""


def classify(error: BaseException | None) -> tuple[Status, str]:
    """OK when the call answered; MISSING when the endpoint lacks the API; ERROR for anything else."""
    if error is None:
        return Status.OK, ""
    if isinstance(error, ClientError):
        err = error.response.get("Error", {}) or {}
        code = str(err.get("Code", ""))
        message = str(err.get("Message", "")) or str(error)
        http = int((error.response.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 0)
        if http == 501 or code in _MISSING_CODES or any(p in message.lower() for p in _MISSING_PHRASES):
            return Status.MISSING, message
        return Status.ERROR, f"{code or 'HTTP ' + str(http)}: {message}"
    if isinstance(error, EndpointConnectionError):
        return Status.ERROR, f"endpoint unreachable: {error}"
    if isinstance(error, BotoCoreError):
        return Status.ERROR, str(error)
    return Status.ERROR, f"{type(error).__name__}: {error}"


def services_for(templates: Iterable[Mapping[str, Any]]) -> list[str]:
    """The services the templates' resource types need, CloudFormation first, in a stable order."""
    needed = {"cloudformation"}
    for doc in templates:
        for res in (doc.get("Resources") or {}).values():
            rtype = str((res or {}).get("Type", ""))
            for prefix, service in SERVICE_OF_PREFIX.items():
                if rtype.startswith(prefix):
                    needed.add(service)
    order = list(PROBE_CALLS)
    return sorted(needed, key=lambda s: order.index(s) if s in order else len(order))


@dataclass(frozen=True)
class ProbeReport:
    endpoint: str
    checks: tuple[ApiCheck, ...]

    @property
    def missing(self) -> tuple[ApiCheck, ...]:
        return tuple(c for c in self.checks if c.status is Status.MISSING)

    @property
    def errors(self) -> tuple[ApiCheck, ...]:
        return tuple(c for c in self.checks if c.status is Status.ERROR)

    @property
    def ok(self) -> bool:
        return not self.missing and not self.errors

    def status_of(self, service: str) -> Status:
        for c in self.checks:
            if c.service == service:
                return c.status
        raise KeyError(f"the probe did not check {service}")

    def table(self) -> str:
        """One line per API: service, call, status, and the fix or the error."""
        rows = [("API", "call", "status", "fix / detail")]
        for c in self.checks:
            note = FIX if c.status is Status.MISSING else c.detail
            rows.append((c.service, c.operation, c.status.value.upper(), note))
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        lines = [f"capabilities of {self.endpoint}:"]
        for r in rows:
            lines.append("  " + "  ".join(r[i].ljust(widths[i]) for i in range(3)) + "  " + r[3])
        return "\n".join(line.rstrip() for line in lines)

    def raise_if_missing(self) -> None:
        """CloudError naming every missing or failing API, with the table."""
        if self.ok:
            return
        parts = []
        if self.missing:
            parts.append(f"lacks {', '.join(c.service for c in self.missing)} ({FIX})")
        if self.errors:
            parts.append("fails " + "; ".join(f"{c.service} ({c.detail})" for c in self.errors))
        raise CloudError(f"the cloud at {self.endpoint} cannot run this stack: it {' and '.join(parts)}.\n{self.table()}")


Template = Mapping[str, Any] | Path | str


def _load(template: Template) -> Mapping[str, Any]:
    if isinstance(template, Mapping):
        return template
    from harness.deploy import load_template

    return load_template(Path(template))


def probe(aws: Any, *templates: Template, services: Sequence[str] | None = None) -> ProbeReport:
    """Call each API the templates need once (read-only) and classify the answers.

    `aws` is a `harness.cloud.clients.Aws`; pass `services` to probe a fixed list instead.
    """
    wanted = list(services) if services is not None else services_for(_load(t) for t in templates)
    checks = []
    for service in wanted:
        operation, kwargs = PROBE_CALLS[service]
        checks.append(check(service, operation, functools.partial(_call, aws, service, operation, kwargs)))
    return ProbeReport(endpoint=str(aws.endpoint), checks=tuple(checks))


def _call(aws: Any, service: str, operation: str, kwargs: dict[str, Any]) -> Any:
    """`aws.client(service).<operation>(**kwargs)`."""
    return getattr(aws.client(service), operation)(**kwargs)


def check(service: str, operation: str, call: Callable[[], Any]) -> ApiCheck:
    try:
        call()
    except (ClientError, BotoCoreError) as exc:
        status, detail = classify(exc)
        return ApiCheck(service, operation, status, detail)
    return ApiCheck(service, operation, Status.OK)
