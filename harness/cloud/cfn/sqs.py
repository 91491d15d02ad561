"""AWS::SQS::QueuePolicy, which moto 5.2.5 has no model for."""

from __future__ import annotations

import json
from typing import Any

import moto.sqs.models  # noqa: F401  - moto's models first
from moto.core.common_models import CloudFormationModel
from moto.sqs.models import sqs_backends

from harness.cloud.cfn.base import _Stored


def _queue_name(url_or_name: str) -> str:
    # Queues is a list of queue URLs (the queues' Ref): https://sqs.<region>.amazonaws.com/<account>/<name>
    return url_or_name.rstrip("/").rsplit("/", 1)[-1]


class QueuePolicy(_Stored, CloudFormationModel):
    """https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-sqs-queuepolicy.html
    Sets the real Policy attribute of each queue; deleting it removes the policy again."""

    TYPE = "AWS::SQS::QueuePolicy"
    KIND = "real"
    GETATT = frozenset({"Id"})

    @classmethod
    def apply(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> tuple[str, dict[str, Any]]:
        backend = sqs_backends[account_id][region_name]
        policy = props["PolicyDocument"]
        text = policy if isinstance(policy, str) else json.dumps(policy)
        for queue in props.get("Queues") or []:
            backend.set_queue_attributes(_queue_name(str(queue)), {"Policy": text})
        return name, {"Id": name}

    def remove(self) -> None:
        backend = sqs_backends[self.account_id][self.region_name]
        for queue in self.properties.get("Queues") or []:
            name = _queue_name(str(queue))
            if name in backend.queues:
                backend.set_queue_attributes(name, {"Policy": ""})
