"""AWS::S3::BucketPolicy, which moto 5.2 has a backend call for but no CloudFormation model."""

from __future__ import annotations

import json
from typing import Any

import moto.s3.models  # noqa: F401  - moto's models first
from moto.core.common_models import CloudFormationModel
from moto.s3.models import s3_backends

from harness.cloud.cfn.base import _Stored


class BucketPolicy(_Stored, CloudFormationModel):
    """https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-s3-bucketpolicy.html
    Puts the real bucket policy (GetBucketPolicy shows it); deleting the resource deletes the policy.
    Ref = the bucket's name (the type's primary identifier is `Bucket`); no Fn::GetAtt. (The page's Return values
    section was not found in the stored documentation: the older page has none.)"""

    TYPE = "AWS::S3::BucketPolicy"
    KIND = "real"
    GETATT = frozenset()

    @classmethod
    def apply(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> tuple[str, dict[str, Any]]:
        bucket = str(props["Bucket"])
        policy = props["PolicyDocument"]
        text = policy if isinstance(policy, str) else json.dumps(policy)
        s3_backends[account_id]["aws"].put_bucket_policy(bucket, text.encode())
        return bucket, {}

    def remove(self) -> None:
        backend = s3_backends[self.account_id]["aws"]
        if self.physical_id in backend.buckets:
            backend.delete_bucket_policy(self.physical_id)
