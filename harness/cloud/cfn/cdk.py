"""AWS::CDK::Metadata: the construct library versions `cdk synth` records; CloudFormation creates
nothing for it. https://docs.aws.amazon.com/cdk/v2/guide/cli.html (version reporting)"""

from __future__ import annotations

from moto.core.common_models import CloudFormationModel

from harness.cloud.cfn.base import _Stored


class CdkMetadata(_Stored, CloudFormationModel):
    """Kept with its properties (Analytics), nothing else. Ref = a generated id."""

    TYPE = "AWS::CDK::Metadata"
    GETATT = frozenset()
