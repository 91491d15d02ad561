"""AWS::SNS::Subscription and AWS::SNS::TopicPolicy, which moto 5.2.5 has no models for."""

from __future__ import annotations

import json
from typing import Any

import moto.sns.models  # noqa: F401  - moto's models first
from moto.core.common_models import CloudFormationModel
from moto.sns.models import sns_backends

from harness.cloud.cfn.base import _Stored


class Subscription(_Stored, CloudFormationModel):
    """https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-sns-subscription.html
    A real moto subscription (so the harness delivers to it like to a topic's inline Subscription).
    Ref = the subscription ARN."""

    TYPE = "AWS::SNS::Subscription"
    KIND = "real"
    GETATT = frozenset({"Arn"})

    @classmethod
    def apply(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> tuple[str, dict[str, Any]]:
        backend = sns_backends[account_id][region_name]
        sub = backend.subscribe(str(props["TopicArn"]), str(props["Endpoint"]), str(props["Protocol"]))
        for key in ("FilterPolicy", "FilterPolicyScope", "RawMessageDelivery", "RedrivePolicy", "DeliveryPolicy"):
            if key in props:
                value = props[key]
                text = json.dumps(value) if isinstance(value, (dict, list)) else str(value).lower() \
                    if isinstance(value, bool) else str(value)
                backend.set_subscription_attributes(sub.arn, key, text)
        return str(sub.arn), {"Arn": sub.arn}

    def remove(self) -> None:
        backend = sns_backends[self.account_id][self.region_name]
        if self.physical_id in backend.subscriptions:
            backend.unsubscribe(self.physical_id)


class TopicPolicy(_Stored, CloudFormationModel):
    """https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-sns-topicpolicy.html
    Sets the real Policy attribute of each topic; deleting it gives each topic back its previous policy."""

    TYPE = "AWS::SNS::TopicPolicy"
    KIND = "real"
    GETATT = frozenset({"Id"})

    @classmethod
    def apply(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> tuple[str, dict[str, Any]]:
        backend = sns_backends[account_id][region_name]
        policy = props["PolicyDocument"]
        text = policy if isinstance(policy, str) else json.dumps(policy)
        previous: dict[str, str] = {}
        for arn in props.get("Topics") or []:
            topic = backend.get_topic(str(arn))
            previous[str(arn)] = topic.policy
            backend.set_topic_attribute(str(arn), "policy", text)
        props["_previous"] = previous
        return name, {"Id": name}

    def remove(self) -> None:
        backend = sns_backends[self.account_id][self.region_name]
        for arn, policy in (self.properties.get("_previous") or {}).items():
            if arn in backend.topics:
                backend.set_topic_attribute(arn, "policy", policy)
