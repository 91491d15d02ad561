"""Shared fixtures: one embedded cloud (moto in a child process, with the harness's CloudFormation
extensions) for the whole test session, moto's bare server (in this process) emptied for each test that
asks for it, a mailbox with its real SMTP sink, and real sample_app processes, all stopped at the end of
each test."""

from __future__ import annotations

import os
import sys
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from harness.cloud.clients import Aws
from harness.cloud.server import SEEDED_SSM_PARAMETERS, EmbeddedCloud
from harness.net import free_port
from harness.deploy import Deployment, deploy, teardown
from harness.mailbox import Mailbox, SmtpSink
from harness.stack import StackModel, read_stack

# A developer's shell may set these for their own `harness up`; the tests' harnesses must not inherit them.
for _var in ("HARNESS_LB_PORT", "HARNESS_MAIL_RELAY"):
    os.environ.pop(_var, None)

# The helper that starts a real sample_app process (tests/elb and tests/sample_app import it too).
sys.path.insert(0, str(Path(__file__).resolve().parent / "sample_app"))
from sample_app_process import App, start_app  # noqa: E402


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The fast tier first, the `slow` tests (live runs, Locust, Docker, LocalStack, timing) after it: a
    full run (CI's `python3 -m pytest`) reports a broken unit table within a minute. A stable sort keeps
    each tier's own order."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is not None)


@pytest.fixture(scope="session")
def cloud() -> Iterator[EmbeddedCloud]:
    """One EmbeddedCloud on a free loopback port, stopped at the end of the session."""
    with EmbeddedCloud(port=free_port()) as c:
        yield c


@pytest.fixture(scope="session")
def aws(cloud: EmbeddedCloud) -> Aws:
    """Clients for the session's embedded cloud."""
    return Aws(cloud.endpoint)


@pytest.fixture(scope="session")
def _scratch_cloud() -> Iterator[EmbeddedCloud]:
    """A second EmbeddedCloud for the session, lent to one module at a time by `own_aws`."""
    with EmbeddedCloud(port=free_port()) as c:
        yield c


@pytest.fixture(scope="module")
def own_aws(_scratch_cloud: EmbeddedCloud) -> Aws:
    """An empty account of this module's own, so its parent stacks (named after their parameters: vpc,
    cluster, alert) never meet the session's `ecs_deployment` nor another module's: the session's second
    embedded cloud, emptied for the module (moto's POST /moto-api/reset) and given back what every account
    of the embedded cloud starts with (its seeded SSM parameters). One moto child for all such modules
    instead of one each (about 2 s of start-up apiece). For modules that only deploy and read back: the
    harness's own records (alarm history, scaling activities, task states) are not moto's and outlive
    the reset, so a module that runs the control loops keeps a cloud of its own."""
    urllib.request.urlopen(urllib.request.Request(f"{_scratch_cloud.endpoint}/moto-api/reset", method="POST"),
                           timeout=10).close()
    aws = Aws(_scratch_cloud.endpoint)
    for name, value in SEEDED_SSM_PARAMETERS.items():
        aws.client("ssm").put_parameter(Name=name, Value=value, Type="String", Overwrite=True)
    return aws


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """moto's own server (ThreadedMotoServer, no harness extensions) on a free loopback port, for the session."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def moto_endpoint(moto_server: str) -> str:
    """The session's moto server, emptied: moto's backends are process-wide, so each test starts from an
    empty account (POST /moto-api/reset)."""
    urllib.request.urlopen(urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST"), timeout=10).close()
    return moto_server


@pytest.fixture
def moto_client(moto_endpoint: str) -> Callable[[str], Any]:
    """`moto_client("sns")`: a boto3 client for the emptied moto server, with moto's fake credentials."""

    def make(service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=moto_endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )

    return make


@pytest.fixture
def box(tmp_path: Path) -> Mailbox:
    """An empty mailbox folder of this test."""
    return Mailbox(tmp_path / "mail")


@pytest.fixture
def sink(box: Mailbox) -> Iterator[SmtpSink]:
    """The real SMTP sink on a free loopback port, storing into `box`; stopped when the test ends."""
    with SmtpSink(box) as s:
        yield s


REPO = Path(__file__).resolve().parents[1]
ECS_TEMPLATE = REPO / "infrastructure" / "ecs.yml"


@pytest.fixture(scope="session")
def ecs_deployment(aws: Aws) -> Iterator[Deployment]:
    """infrastructure/ecs.yml deployed unchanged as stack "ecs" (with parents "vpc" and "cluster").

    Shared by the session: tests that change what it deployed must restore it.
    """
    deployment = deploy(aws, ECS_TEMPLATE, {}, stack_name="ecs")
    try:
        yield deployment
    finally:
        teardown(aws, deployment)


@pytest.fixture(scope="session")
def ecs_stack(aws: Aws, ecs_deployment: Deployment) -> StackModel:
    """The deployed ecs.yml as read back from the cloud's APIs."""
    return read_stack(aws, ecs_deployment.stack_name)


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[[], App]]:
    """A factory that starts one more sample app; all are stopped (SIGTERM) when the test ends."""
    started: list[App] = []

    def _start() -> App:
        app = start_app(tmp_path)
        started.append(app)
        return app

    yield _start
    for app in started:
        app.stop()


@pytest.fixture
def app(start: Callable[[], App]) -> App:
    return start()
