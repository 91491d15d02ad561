"""AWS::SecretsManager::Secret, which moto 5.2 has a backend for but no CloudFormation model."""

from __future__ import annotations

import json
from typing import Any

import moto.secretsmanager.models  # noqa: F401  - moto's models first
from moto.core.common_models import CloudFormationModel
from moto.secretsmanager.models import secretsmanager_backends

from harness.cloud.cfn.base import _Stored


def _generated(backend: Any, spec: dict[str, Any]) -> str:
    """GenerateSecretString: a password as GetRandomPassword makes it, alone or put into the template
    string under GenerateStringKey (aws-properties-secretsmanager-secret-generatesecretstring.html)."""
    def flag(key: str) -> bool:
        value = spec.get(key, False)
        return value.strip().lower() == "true" if isinstance(value, str) else bool(value)

    length = int(spec.get("PasswordLength", 32))
    password = json.loads(backend.get_random_password(
        password_length=length,
        exclude_characters=str(spec.get("ExcludeCharacters", "")),
        exclude_numbers=flag("ExcludeNumbers"),
        exclude_punctuation=flag("ExcludePunctuation"),
        exclude_uppercase=flag("ExcludeUppercase"),
        exclude_lowercase=flag("ExcludeLowercase"),
        include_space=flag("IncludeSpace"),
        require_each_included_type=flag("RequireEachIncludedType") if "RequireEachIncludedType" in spec else True,
    ))["RandomPassword"]
    template, key = spec.get("SecretStringTemplate"), spec.get("GenerateStringKey")
    if template and key:
        doc = json.loads(str(template))
        doc[str(key)] = password
        return json.dumps(doc)
    return str(password)


class Secret(_Stored, CloudFormationModel):
    """https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-secretsmanager-secret.html
    A real moto secret (GetSecretValue reads it). Return values: Ref = the secret's ARN (checked on the page's
    Return values section); GetAtt Id = the ARN (the current page's attribute; not found in the stored page text)
    Deleting the stack deletes the secret without a recovery window, so a new stack may take its name again."""

    TYPE = "AWS::SecretsManager::Secret"
    KIND = "real"
    NAME_PROPERTY = "Name"
    GETATT = frozenset({"Id"})

    @classmethod
    def apply(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> tuple[str, dict[str, Any]]:
        backend = secretsmanager_backends[account_id][region_name]
        secret = props.get("SecretString")
        if secret is None and props.get("GenerateSecretString") is not None:
            secret = _generated(backend, dict(props["GenerateSecretString"]))
        out = backend.create_secret(
            name=name, secret_string=None if secret is None else str(secret), secret_binary=None,
            description=props.get("Description"), tags=props.get("Tags"), kms_key_id=props.get("KmsKeyId"),
            client_request_token=None, replica_regions=props.get("ReplicaRegions") or [], force_overwrite=False)
        arn = str(json.loads(out)["ARN"])
        return arn, {"Id": arn}

    def remove(self) -> None:
        backend = secretsmanager_backends[self.account_id][self.region_name]
        if self.physical_id in backend.secrets:  # by ARN, as moto's store looks secrets up
            backend.delete_secret(self.physical_id, None, True)
