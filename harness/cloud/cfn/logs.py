"""AWS::Logs::MetricFilter and AWS::Logs::SubscriptionFilter, which moto 5.2 has backend calls for but no
CloudFormation models."""

from __future__ import annotations

from typing import Any

import moto.logs.models  # noqa: F401  - moto's models first
from moto.core.common_models import CloudFormationModel
from moto.logs.models import logs_backends

from harness.cloud.cfn.base import _Stored

# CloudFormation's MetricTransformation property -> the API's metricTransformations key
# (aws-properties-logs-metricfilter-metrictransformation.html, API_MetricTransformation.html).
_TRANSFORMATION_KEYS = {"MetricName": "metricName", "MetricNamespace": "metricNamespace",
                        "MetricValue": "metricValue", "DefaultValue": "defaultValue", "Unit": "unit"}


def transformations(props: dict[str, Any]) -> list[dict[str, Any]]:
    """The template's MetricTransformations in PutMetricFilter's shape."""
    out = []
    for t in props.get("MetricTransformations") or []:
        item: dict[str, Any] = {api: t[cfn] for cfn, api in _TRANSFORMATION_KEYS.items() if t.get(cfn) is not None}
        if "defaultValue" in item:
            item["defaultValue"] = float(item["defaultValue"])
        if t.get("Dimensions"):
            item["dimensions"] = {str(d["Key"]): str(d["Value"]) for d in t["Dimensions"]}
        out.append(item)
    return out


class MetricFilter(_Stored, CloudFormationModel):
    """https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-logs-metricfilter.html
    A real metric filter (DescribeMetricFilters lists it). Ref = the filter's name; no Fn::GetAtt. (The page's
    Return values section was not found in the stored documentation.)"""

    TYPE = "AWS::Logs::MetricFilter"
    KIND = "real"
    NAME_PROPERTY = "FilterName"
    GETATT = frozenset()

    @classmethod
    def apply(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> tuple[str, dict[str, Any]]:
        group = str(props["LogGroupName"])
        logs_backends[account_id][region_name].put_metric_filter(
            name, str(props.get("FilterPattern", "")), group, transformations(props))  # type: ignore[arg-type]
        props["_group"] = group
        return name, {}

    def remove(self) -> None:
        logs_backends[self.account_id][self.region_name].delete_metric_filter(self.physical_id,
                                                                               self.properties.get("_group"))


class SubscriptionFilter(_Stored, CloudFormationModel):
    """https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-logs-subscriptionfilter.html
    Kept by the harness: moto's PutSubscriptionFilter demands that the destination (Kinesis, Firehose, a Lambda
    it would invoke) exists, and the harness ships logs to no destination. Ref = the filter's name (checked: "Ref
    returns the resource name"); no Fn::GetAtt."""

    TYPE = "AWS::Logs::SubscriptionFilter"
    NAME_PROPERTY = "FilterName"
    GETATT = frozenset()
