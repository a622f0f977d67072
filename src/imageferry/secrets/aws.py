"""AWS Secrets Manager as a secret store, in the reference's format.

Each secret is one Secrets Manager secret whose ``SecretString`` is a JSON
object, exactly what the reference's console creates for ECR credentials
(``{"access_key_id": ..., "secret_access_key": ...}``), so existing secrets
work unchanged. Deletion skips the recovery window
(``ForceDeleteWithoutRecovery``) so a name can be reused at once, matching the
local store.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

import boto3
from botocore.exceptions import ClientError

from imageferry.aws import aws_client
from imageferry.aws_errors import SECRETS_MANAGER, AwsCall, aws_errors
from imageferry.secrets.base import (
    InvalidSecret,
    SecretNotFound,
    validate_secret_name,
    validate_secret_value,
)

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

__all__ = ["AwsSecretStore"]


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class AwsSecretStore:
    """A :class:`~imageferry.secrets.base.SecretStore` backed by Secrets Manager.

    Failures of AWS itself (credentials, permissions, network, throttling)
    raise :class:`~imageferry.errors.AwsError`, worded by :mod:`imageferry.aws_errors`.
    """

    def __init__(self, session: boto3.Session) -> None:
        self._client: SecretsManagerClient = aws_client(session, "secretsmanager")

    def __repr__(self) -> str:
        return f"AwsSecretStore(region={self._client.meta.region_name!r})"

    @contextmanager
    def _calling(self, action: str, name: str = "") -> Iterator[None]:
        """AWS errors of ``action`` (on secret ``name``) as imageferry errors;
        a secret that does not exist as :class:`SecretNotFound`."""
        subject = f"secret {name!r}" if name else ""
        with aws_errors(AwsCall(SECRETS_MANAGER, self._client.meta.region_name, action, subject)):
            try:
                yield
            except ClientError as e:
                if name and _error_code(e) == "ResourceNotFoundException":
                    raise SecretNotFound(name) from None
                raise

    def get(self, name: str) -> dict[str, str]:
        validate_secret_name(name)
        with self._calling("GetSecretValue", name):
            response = self._client.get_secret_value(SecretId=name)
        text = response.get("SecretString")
        if text is None:
            raise InvalidSecret(
                f"secret {name!r} holds binary data; imageferry needs a JSON object of strings"
            )
        try:
            value = json.loads(text)
        except ValueError:
            raise InvalidSecret(
                f"secret {name!r} is not JSON; store it as a JSON object of strings"
            ) from None
        if not isinstance(value, dict):
            raise InvalidSecret(f"secret {name!r} is not a JSON object of strings")
        try:
            return validate_secret_value(value)
        except InvalidSecret as e:
            raise InvalidSecret(f"secret {name!r}: {e}") from None

    def put(self, name: str, value: Mapping[str, str]) -> None:
        validate_secret_name(name)
        text = json.dumps(validate_secret_value(value))
        with self._calling("CreateSecret", name):
            try:
                self._client.create_secret(Name=name, SecretString=text)
                return
            except ClientError as e:
                if _error_code(e) != "ResourceExistsException":
                    raise
        with self._calling("PutSecretValue", name):
            self._client.put_secret_value(SecretId=name, SecretString=text)

    def list(self) -> builtins.list[str]:
        names: builtins.list[str] = []
        with self._calling("ListSecrets"):
            # ListSecrets returns at most 100 per page; follow NextToken to the end.
            for page in self._client.get_paginator("list_secrets").paginate():
                names.extend(s["Name"] for s in page.get("SecretList", []) if "Name" in s)
        return sorted(names)

    def delete(self, name: str) -> None:
        validate_secret_name(name)
        # With ForceDeleteWithoutRecovery, AWS reports success for a name that
        # does not exist; ask first so both backends report SecretNotFound.
        with self._calling("DescribeSecret", name):
            self._client.describe_secret(SecretId=name)
        with self._calling("DeleteSecret", name):
            self._client.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
