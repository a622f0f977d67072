"""Create missing ECR destination repositories, and report immutable-tag refusals.

ECR, unlike most registries, does not create a repository on first push: the
push fails with NAME_UNKNOWN. The reference ran ``create-repository`` and
ignored every error; we check once per repository and run (DescribeRepositories,
which needs only read permission when the repository exists), create it with
the task's settings when missing, and treat RepositoryAlreadyExistsException (a
concurrent creator) as success. An existing repository keeps its settings.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Literal

from botocore.exceptions import ClientError

from imageferry.ecr.client import call
from imageferry.ecr.errors import aws_errors
from imageferry.ecr.hosts import EcrRegistry
from imageferry.errors import ConfigError, ResponseError, TagImmutable

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient
    from mypy_boto3_ecr.type_defs import EncryptionConfigurationTypeDef

__all__ = [
    "Encryption",
    "Ensured",
    "RepositoryEnsurer",
    "RepositorySettings",
    "TagMutability",
    "ensure_repository",
    "tag_immutable",
    "tag_immutable_from",
]

TagMutability = Literal["MUTABLE", "IMMUTABLE"]
Encryption = Literal["AES256", "KMS"]


class Ensured(Enum):
    EXISTED = "existed"
    CREATED = "created"


@dataclass(frozen=True, slots=True)
class RepositorySettings:
    """How a repository that imageferry creates is configured.

    ``kms_key`` (a key id or ARN) is only valid with ``encryption="KMS"``;
    without it ECR uses the AWS-managed key.
    """

    scan_on_push: bool = False
    tag_mutability: TagMutability = "MUTABLE"
    encryption: Encryption = "AES256"
    kms_key: str | None = None

    def __post_init__(self) -> None:
        if self.kms_key and self.encryption != "KMS":
            raise ConfigError("a KMS key was given but encryption is not KMS; set encryption=KMS")

    def encryption_configuration(self) -> EncryptionConfigurationTypeDef:
        """CreateRepository's ``encryptionConfiguration`` for these settings."""
        if self.kms_key:
            return {"encryptionType": self.encryption, "kmsKey": self.kms_key}
        return {"encryptionType": self.encryption}


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


async def ensure_repository(
    client: ECRClient,
    name: str,
    settings: RepositorySettings = RepositorySettings(),
    *,
    target: EcrRegistry,
    keys_from: str = "",
) -> Ensured:
    """Make sure repository ``name`` exists in ``target``; create it with
    ``settings`` if missing. ``registryId`` is always sent, so a credential of
    another account creates the repository in ``target``'s account.
    ``keys_from`` names the task parameter holding the keys, for messages."""
    what = f"repository {name!r}"
    with aws_errors("DescribeRepositories", target, what, keys_from=keys_from):
        try:
            await call(
                client.describe_repositories,
                registryId=target.account_id,
                repositoryNames=[name],
            )
            return Ensured.EXISTED
        except ClientError as e:
            if _error_code(e) != "RepositoryNotFoundException":
                raise
    with aws_errors("CreateRepository", target, what, keys_from=keys_from):
        try:
            await call(
                client.create_repository,
                registryId=target.account_id,
                repositoryName=name,
                imageTagMutability=settings.tag_mutability,
                imageScanningConfiguration={"scanOnPush": settings.scan_on_push},
                encryptionConfiguration=settings.encryption_configuration(),
            )
        except ClientError as e:
            if _error_code(e) != "RepositoryAlreadyExistsException":
                raise
            return Ensured.EXISTED
    return Ensured.CREATED


class RepositoryEnsurer:
    """:func:`ensure_repository` with a per-run cache: each repository is checked
    once however many images go to it, and concurrent copies to the same new
    repository wait for one creation instead of racing."""

    def __init__(
        self,
        client: ECRClient,
        settings: RepositorySettings = RepositorySettings(),
        *,
        target: EcrRegistry,
        keys_from: str = "",
    ) -> None:
        self._client = client
        self._settings = settings
        self._target = target
        self._keys_from = keys_from
        self._done: dict[str, Ensured] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def ensure(self, name: str) -> Ensured:
        lock = self._locks.setdefault(name, asyncio.Lock())
        async with lock:
            known = self._done.get(name)
            if known is None:
                known = await ensure_repository(
                    self._client,
                    name,
                    self._settings,
                    target=self._target,
                    keys_from=self._keys_from,
                )
                self._done[name] = known
            return known

    @property
    def created(self) -> list[str]:
        """Repositories this run created, in creation order."""
        return [name for name, how in self._done.items() if how is Ensured.CREATED]


def tag_immutable(registry: str, repository: str, tag: str, *, url: str = "") -> TagImmutable:
    """The error for a push refused because ``tag`` exists in an immutable repository."""
    return TagImmutable(
        f"cannot push {registry}/{repository}:{tag}: the repository has immutable tags and "
        f"tag {tag!r} already exists with different content; push under a new tag, or make "
        "the repository's tags mutable (PutImageTagMutability) if overwriting is intended",
        status=400,
        code="TAG_INVALID",
        registry=registry,
        url=url,
    )


def tag_immutable_from(
    error: BaseException, *, registry: str, repository: str, tag: str
) -> TagImmutable | None:
    """``error`` as :class:`TagImmutable` when it is ECR refusing to move a tag, else None.

    ECR answers a manifest PUT onto an existing immutable tag with 400 and
    ``TAG_INVALID`` ("... cannot be overwritten because the repository is
    immutable"); its PutImage API raises ImageTagAlreadyExistsException. Such a
    refusal is final: callers must not retry it.
    """
    if isinstance(error, TagImmutable):
        return error
    if isinstance(error, ResponseError):
        if error.code == "TAG_INVALID" and "immutable" in error.message.lower():
            return tag_immutable(registry, repository, tag, url=error.url)
        return None
    if isinstance(error, ClientError) and _error_code(error) == "ImageTagAlreadyExistsException":
        return tag_immutable(registry, repository, tag)
    return None
