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
from collections.abc import Mapping
from typing import TYPE_CHECKING

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from imageferry.secrets.base import (
    InvalidSecret,
    SecretNotFound,
    SecretStoreError,
    validate_secret_name,
    validate_secret_value,
)

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

__all__ = ["AwsSecretStore"]


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class AwsSecretStore:
    """A :class:`~imageferry.secrets.base.SecretStore` backed by Secrets Manager."""

    def __init__(self, session: boto3.Session) -> None:
        self._client: SecretsManagerClient = session.client("secretsmanager")

    def __repr__(self) -> str:
        return f"AwsSecretStore(region={self._client.meta.region_name!r})"

    def get(self, name: str) -> dict[str, str]:
        validate_secret_name(name)
        try:
            response = self._client.get_secret_value(SecretId=name)
        except ClientError as e:
            if _error_code(e) == "ResourceNotFoundException":
                raise SecretNotFound(name) from None
            raise self._failure("reading", name, e) from None
        except BotoCoreError as e:
            raise self._failure("reading", name, e) from None
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
        try:
            try:
                self._client.create_secret(Name=name, SecretString=text)
            except ClientError as e:
                if _error_code(e) != "ResourceExistsException":
                    raise
                self._client.put_secret_value(SecretId=name, SecretString=text)
        except (ClientError, BotoCoreError) as e:
            raise self._failure("writing", name, e) from None

    def list(self) -> builtins.list[str]:
        names: builtins.list[str] = []
        try:
            # ListSecrets returns at most 100 per page; follow NextToken to the end.
            for page in self._client.get_paginator("list_secrets").paginate():
                names.extend(s["Name"] for s in page.get("SecretList", []) if "Name" in s)
        except (ClientError, BotoCoreError) as e:
            raise SecretStoreError(
                f"listing secrets in AWS Secrets Manager failed: {_describe(e)}"
            ) from None
        return sorted(names)

    def delete(self, name: str) -> None:
        validate_secret_name(name)
        try:
            # With ForceDeleteWithoutRecovery, AWS reports success for a name that
            # does not exist; ask first so both backends report SecretNotFound.
            self._client.describe_secret(SecretId=name)
            self._client.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
        except ClientError as e:
            if _error_code(e) == "ResourceNotFoundException":
                raise SecretNotFound(name) from None
            raise self._failure("deleting", name, e) from None
        except BotoCoreError as e:
            raise self._failure("deleting", name, e) from None

    @staticmethod
    def _failure(action: str, name: str, error: Exception) -> SecretStoreError:
        # botocore messages name the operation and AWS's reason; they never echo
        # request parameters, so no secret value can leak through them.
        return SecretStoreError(
            f"{action} secret {name!r} in AWS Secrets Manager failed: {_describe(error)}"
        )


def _describe(error: Exception) -> str:
    if isinstance(error, ClientError):
        err = error.response.get("Error", {})
        return f"{err.get('Code', 'error')}: {err.get('Message', '')}".rstrip(": ")
    return str(error)
