"""Named credentials for tasks: a local encrypted store or AWS Secrets Manager.

``ferry secret put|list|delete`` manage them; values are never printed, and
the same names work with either backend.
"""

from typing import TYPE_CHECKING, Any

from imageferry.secrets.base import (
    InvalidSecret,
    SecretNotFound,
    SecretStore,
    SecretStoreError,
    validate_secret_name,
    validate_secret_value,
)
from imageferry.secrets.factory import open_secret_store
from imageferry.secrets.local import LocalSecretStore
from imageferry.secrets.shapes import registry_credentials_from_secret, resolve_credential

if TYPE_CHECKING:
    from imageferry.secrets.aws import AwsSecretStore


def __getattr__(name: str) -> Any:
    # The AWS store loads boto3: only for those who use it, not every task run.
    if name == "AwsSecretStore":
        from imageferry.secrets.aws import AwsSecretStore

        return AwsSecretStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AwsSecretStore",
    "InvalidSecret",
    "LocalSecretStore",
    "SecretNotFound",
    "SecretStore",
    "SecretStoreError",
    "open_secret_store",
    "registry_credentials_from_secret",
    "resolve_credential",
    "validate_secret_name",
    "validate_secret_value",
]
