"""The capability probe: classification table, services from templates, and the embedded moto (all OK)."""

from __future__ import annotations

from pathlib import Path

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from harness.cloud.clients import Aws
from harness.cloud.probe import FIX, ApiCheck, ProbeReport, Status, classify, probe, services_for
from harness.deploy import load_template
from harness.errors import CloudError
from harness.net import free_port

REPO = Path(__file__).resolve().parents[2]
ECS = REPO / "infrastructure" / "ecs.yml"
LICENSE_MSG = "The API for service ecs is either not included in your current license plan or has not yet been emulated by LocalStack."


def _client_error(code: str, message: str, http: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": http}}, "ListClusters"
    )


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (None, Status.OK),
        # LocalStack free edition, 2026.3.0 (measured): InternalFailure, HTTP 501, the license sentence.
        (_client_error("InternalFailure", LICENSE_MSG, 501), Status.MISSING),
        (_client_error("InternalFailure", "whatever", 501), Status.MISSING),
        (_client_error("UnknownOperationException", "", 400), Status.MISSING),
        (_client_error("InvalidAction", "Could not find operation ListClusters", 400), Status.MISSING),
        (_client_error("InternalFailure", "api for service 'ecs' not yet implemented or pro feature", 500), Status.MISSING),
        (_client_error("AccessDenied", "no", 403), Status.ERROR),
        (_client_error("InternalError", "boom", 500), Status.ERROR),
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), Status.ERROR),
    ],
)
def test_classify(error: BaseException | None, status: Status) -> None:
    assert classify(error)[0] is status


def test_services_come_from_resource_types() -> None:
    assert services_for([load_template(ECS)]) == [
        "cloudformation", "ecs", "elbv2", "application-autoscaling", "cloudwatch", "sns", "ec2", "iam",
    ]
    cluster = load_template(REPO / "infrastructure" / "cluster.yml")
    assert "logs" in services_for([cluster])
    assert services_for([{"Resources": {}}]) == ["cloudformation"]


def test_embedded_moto_has_every_api(aws: Aws) -> None:
    report = probe(aws, ECS, REPO / "infrastructure" / "cluster.yml")
    assert report.ok, report.table()
    assert {c.service for c in report.checks} == {
        "cloudformation", "ecs", "elbv2", "application-autoscaling", "cloudwatch", "sns", "ec2", "iam", "logs",
    }
    report.raise_if_missing()  # does not raise


def test_unreachable_endpoint_is_an_error_per_api() -> None:
    aws = Aws(f"http://127.0.0.1:{free_port()}")
    report = probe(aws, services=["ecs", "sns"])
    assert [c.status for c in report.checks] == [Status.ERROR, Status.ERROR]
    assert "unreachable" in report.checks[0].detail
    with pytest.raises(CloudError, match="fails ecs"):
        report.raise_if_missing()


def test_table_and_error_name_missing_apis_and_the_fix() -> None:
    report = ProbeReport(
        "http://127.0.0.1:4566",
        (
            ApiCheck("cloudformation", "list_stacks", Status.OK),
            ApiCheck("ecs", "list_clusters", Status.MISSING, LICENSE_MSG),
            ApiCheck("elbv2", "describe_load_balancers", Status.MISSING, "x"),
        ),
    )
    table = report.table()
    assert "ecs" in table and "MISSING" in table and FIX in table
    assert report.status_of("cloudformation") is Status.OK
    with pytest.raises(CloudError) as err:
        report.raise_if_missing()
    assert "lacks ecs, elbv2" in str(err.value) and "harness LocalStack extension" in str(err.value)
