"""The shared-load-balancer family of tests/data/shared-alb deployed into a test cloud: the shipped VPC,
a cluster stack with the ALB and its listener, an alert-topic stack, and a service stack behind a
ListenerRule, each parent passed by name (ParentXStack=<stack>) as a user would."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from harness.cloud.clients import Aws
from harness.deploy import Deployment, deploy, teardown
from harness.stack import StackModel, read_stack

DATA = Path(__file__).parent / "data" / "shared-alb"


@contextmanager
def shared_alb_stacks(aws: Aws, vpc_stack: str = "vpc") -> Iterator[tuple[str, StackModel]]:
    """Deploy cluster, alert and service stacks (unique names) on `vpc_stack`; yield (service stack, model)."""
    uid = uuid.uuid4().hex[:6]
    done: list[Deployment] = []
    try:
        done.append(deploy(aws, DATA / "cluster.yml", {"ParentVPCStack": vpc_stack}, stack_name=f"sa-cluster-{uid}"))
        done.append(deploy(aws, DATA / "alert.yml", {}, stack_name=f"sa-alert-{uid}"))
        done.append(deploy(aws, DATA / "service.yml", {"ParentVPCStack": vpc_stack,
                                                       "ParentClusterStack": f"sa-cluster-{uid}",
                                                       "ParentAlertStack": f"sa-alert-{uid}"},
                           stack_name=f"sa-svc-{uid}"))
        yield f"sa-svc-{uid}", read_stack(aws, f"sa-svc-{uid}")
    finally:
        for d in reversed(done):
            teardown(aws, d)
