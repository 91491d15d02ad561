"""AWS::WAFv2::WebACL and AWS::WAFv2::WebACLAssociation, which moto 5.2 has backend calls for but no
CloudFormation models."""

from __future__ import annotations

import base64
from typing import Any

import moto.wafv2.models  # noqa: F401  - moto's models first
from moto.core.common_models import CloudFormationModel
from moto.wafv2.models import wafv2_backends

from harness.cloud.cfn.base import _Stored

# FakeRule's keyword arguments (moto/wafv2/models.py): a rule property outside these is refused by name.
_RULE_KEYS = {"Name": "name", "Priority": "priority", "Statement": "statement",
              "VisibilityConfig": "visibility_config", "Action": "action", "CaptchaConfig": "captcha_config",
              "ChallengeConfig": "challenge_config", "OverrideAction": "override_action",
              "RuleLabels": "rule_labels"}


def _api_shape(value: Any) -> Any:
    """A rule as CreateWebACL receives it: `SearchString` is a blob on the wire (base64), a plain string in
    the template, and moto keeps what the wire carried."""
    if isinstance(value, dict):
        return {k: base64.b64encode(str(v).encode()).decode() if k == "SearchString" and isinstance(v, str)
                else _api_shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_api_shape(v) for v in value]
    return value


class WebACL(_Stored, CloudFormationModel):
    """https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-wafv2-webacl.html
    (Return values: Ref = `name|id|scope`, e.g. `my-webacl-name|1234a1a-a1b1-12a1-abcd-a123b123456|REGIONAL`;
    GetAtt Arn, Capacity, Id, LabelNamespace.)
    A real moto web ACL (GetWebACL / ListWebACLs show it, with its rules and default action); the
    harness's load balancer applies none of its rules."""

    TYPE = "AWS::WAFv2::WebACL"
    KIND = "real"
    NAME_PROPERTY = "Name"
    GETATT = frozenset({"Arn", "Capacity", "Id", "LabelNamespace"})

    @classmethod
    def apply(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> tuple[str, dict[str, Any]]:
        scope = str(props.get("Scope") or "REGIONAL")
        rules = []
        for rule in props.get("Rules") or []:
            unknown = sorted(set(rule) - set(_RULE_KEYS))
            if unknown:
                raise ValueError(f"web ACL {name}: rule {rule.get('Name')!r} has properties the embedded "
                                 f"WAFv2 does not take: {', '.join(unknown)}")
            rules.append(_api_shape(dict(rule)))
        acl = wafv2_backends[account_id][region_name].create_web_acl(
            name, props.get("VisibilityConfig") or {}, props.get("DefaultAction") or {}, scope,
            str(props.get("Description") or ""), props.get("Tags") or [], rules, props.get("AssociationConfig"),
            props.get("CaptchaConfig"), props.get("ChallengeConfig"), props.get("CustomResponseBodies"),
            props.get("TokenDomains"))
        props["_scope"] = scope
        return f"{acl.name}|{acl.id}|{scope}", {"Arn": acl.arn, "Capacity": acl.capacity, "Id": acl.id,
                                                  "LabelNamespace": acl.label_namespace}

    def remove(self) -> None:
        backend = wafv2_backends[self.account_id][self.region_name]
        acl = backend.wacls.get(str(self.attrs["Arn"]))
        if acl is not None:
            backend.delete_web_acl(acl.name, str(self.properties.get("_scope", "REGIONAL")), acl.id, acl.lock_token)


class WebACLAssociation(_Stored, CloudFormationModel):
    """https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-wafv2-webaclassociation.html
    Associated in moto's WAFv2 (GetWebACLForResource shows it) when the web ACL exists there (an
    `AWS::WAFv2::WebACL` of any deployed stack); an ACL made outside the embedded cloud is only kept.
    The harness's load balancer filters nothing either way.
    Ref = `<ResourceArn>|<WebACLArn>`: the type's primary identifier (ResourceArn, WebACLArn), joined with
    `|` as CloudFormation joins compound identifiers. The page's Return values text reads `name|id|scope`,
    the WebACL's wording, which names nothing an association has; no Fn::GetAtt."""

    TYPE = "AWS::WAFv2::WebACLAssociation"
    KIND = "real"
    GETATT = frozenset()

    @classmethod
    def apply(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> tuple[str, dict[str, Any]]:
        resource, acl = str(props["ResourceArn"]), str(props["WebACLArn"])
        backend = wafv2_backends[account_id][region_name]
        if acl in backend.wacls:
            backend.associate_web_acl(acl, resource)
        return f"{resource}|{acl}", {}

    def remove(self) -> None:
        backend = wafv2_backends[self.account_id][self.region_name]
        resource, acl = str(self.properties["ResourceArn"]), str(self.properties["WebACLArn"])
        if acl in backend.wacls and resource in backend.wacls[acl].associated_resources:
            backend.disassociate_web_acl(resource)
