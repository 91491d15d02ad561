"""AWS::CertificateManager::Certificate, which moto 5.2 has a backend for but no CloudFormation model."""

from __future__ import annotations

from typing import Any

import moto.acm.models  # noqa: F401  - moto's models first
from moto.core.common_models import CloudFormationModel
from moto.acm.models import acm_backends

from harness.cloud.cfn.base import _Stored, _strs


class Certificate(_Stored, CloudFormationModel):
    """https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-certificatemanager-certificate.html
    A real moto certificate (DescribeCertificate shows it; moto issues it at once, where AWS would wait for
    DNS or email validation). Return values: Ref = the certificate's ARN; GetAtt CertificateArn = the ARN
    RequestCertificate returned (the page's current Fn::GetAtt section; older versions of the page had none)."""

    TYPE = "AWS::CertificateManager::Certificate"
    KIND = "real"
    GETATT = frozenset({"CertificateArn"})

    @classmethod
    def apply(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> tuple[str, dict[str, Any]]:
        # No idempotency token (None): each resource is a new certificate.
        arn = acm_backends[account_id][region_name].request_certificate(
            str(props["DomainName"]), None, _strs(props.get("SubjectAlternativeNames")),  # type: ignore[arg-type]
            props.get("Tags") or [], props.get("CertificateAuthorityArn"))
        return str(arn), {"CertificateArn": str(arn)}

    def remove(self) -> None:
        backend = acm_backends[self.account_id][self.region_name]
        if self.physical_id in backend._certificates:
            backend.delete_certificate(self.physical_id)
