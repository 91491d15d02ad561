"""Shared fixtures: one embedded cloud (moto in a child process) for the whole test session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.cloud.clients import Aws
from harness.cloud.server import EmbeddedCloud
from harness.net import free_port
from harness.deploy import Deployment, deploy, teardown
from harness.stack import StackModel, read_stack


@pytest.fixture(scope="session")
def cloud() -> Iterator[EmbeddedCloud]:
    """One EmbeddedCloud on a free loopback port, stopped at the end of the session."""
    c = EmbeddedCloud(port=free_port())
    c.start()
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture(scope="session")
def aws(cloud: EmbeddedCloud) -> Aws:
    """Clients for the session's embedded cloud."""
    return Aws(cloud.endpoint)


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
