"""Pick the secret store the configuration asks for (``FERRY_SECRET_BACKEND``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from imageferry.aws import aws_session
from imageferry.secrets.base import SecretStore
from imageferry.secrets.local import LocalSecretStore
from imageferry.settings import Settings

if TYPE_CHECKING:
    import boto3

__all__ = ["open_secret_store"]


def open_secret_store(settings: Settings, session: boto3.Session | None = None) -> SecretStore:
    """The local encrypted store under ``data_dir``, or Secrets Manager.

    ``session`` is used for the AWS backend when given; otherwise one is made
    for ``settings.aws_region`` with the default credential chain.
    """
    if settings.secret_backend == "aws":
        from imageferry.secrets.aws import AwsSecretStore  # boto3 only for this backend

        return AwsSecretStore(session or aws_session(settings.aws_region))
    return LocalSecretStore(settings.data_dir)
