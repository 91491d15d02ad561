"""AWS::WAFv2::WebACLAssociation, which moto 5.2 has a backend call for but no CloudFormation model."""

from __future__ import annotations

from typing import Any

import moto.wafv2.models  # noqa: F401  - moto's models first
from moto.core.common_models import CloudFormationModel
from moto.wafv2.models import wafv2_backends

from harness.cloud.cfn.base import _Stored


class WebACLAssociation(_Stored, CloudFormationModel):
    """https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-wafv2-webaclassociation.html
    Kept by the harness, and associated in moto's WAFv2 (GetWebACLForResource) when that web ACL exists
    there; a template usually names an ACL made outside the stack (a parameter), which the embedded
    cloud does not have. The harness's load balancer filters nothing either way.
    Ref = `<ResourceArn>|<WebACLArn>` (the type's primary identifier); no Fn::GetAtt."""

    TYPE = "AWS::WAFv2::WebACLAssociation"
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
