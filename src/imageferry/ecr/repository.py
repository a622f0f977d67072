"""ECR repositories as copy destinations that check many blobs in one call.

:class:`EcrRepository` wraps the registry client's
:class:`~imageferry.registry.Repository` for an ECR host and adds the copy
engine's :class:`~imageferry.copy.capabilities.BlobBatchCheck` capability:
``has_blobs`` asks BatchCheckLayerAvailability about up to 100 digests per
call (see :mod:`imageferry.ecr.layers`) instead of one data-plane HEAD per
blob. Everything else (manifests, blob streams, uploads, mounts) goes to the
wrapped repository unchanged.

:func:`ecr_repository_factory` wraps ``RegistryClient.repository`` so that
ECR hosts, whether named directly or reached through
``RegistryConfig.mirrors`` (the reference still names the ECR host), get the
adapter and every other registry the plain repository.

The control plane is signed with AWS keys, not with the data plane's
``AWS:<token>``, so the factory picks keys per ECR registry the way
:class:`~imageferry.ecr.auth.EcrCredentialProvider` does (by host, then
account id, then ``default_keys``; None is the default credential chain).
When a batch check fails (the keys lack ``ecr:BatchCheckLayerAvailability``,
the control plane is unreachable from where the data plane is), batching is
switched off for that registry for the rest of the run and the engine goes
back to HEADs: the capability saves requests, it never fails a copy.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from imageferry.aws import AwsKeys
from imageferry.digest import Digest
from imageferry.ecr.client import ecr_client
from imageferry.ecr.errors import EcrError
from imageferry.ecr.hosts import EcrRegistry, parse_registry_host
from imageferry.ecr.layers import batch_check_layers, worth_batching
from imageferry.interfaces import BlobStream
from imageferry.manifest import Descriptor, RawManifest
from imageferry.registry.client import RegistryClient
from imageferry.registry.repository import Repository

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient

    from imageferry.copy.engine import RepositoryFactory

__all__ = [
    "EcrLayerChecker",
    "EcrRepositories",
    "EcrRepository",
    "ecr_repository_factory",
]

_log = logging.getLogger(__name__)


def _default_client(region: str, keys: AwsKeys | None) -> ECRClient:
    return ecr_client(region, keys)


class EcrLayerChecker:
    """BatchCheckLayerAvailability for one ECR registry, shared by its repositories.

    The boto3 client is made on first use, in a worker thread (making one
    loads botocore's service model, which would stall the event loop).
    """

    def __init__(
        self,
        target: EcrRegistry,
        keys: AwsKeys | None,
        client_factory: Callable[[str, AwsKeys | None], ECRClient] = _default_client,
    ) -> None:
        self.target = target
        self._keys = keys
        self._client_factory = client_factory
        self._client: ECRClient | None = None
        self._lock = asyncio.Lock()
        #: False once a batch check failed: the rest of the run uses HEADs.
        self.enabled = True

    def __repr__(self) -> str:
        return f"EcrLayerChecker({self.target.host!r}, enabled={self.enabled})"

    async def _ecr(self) -> ECRClient:
        async with self._lock:
            if self._client is None:
                self._client = await asyncio.to_thread(
                    self._client_factory, self.target.region, self._keys
                )
            return self._client

    async def available(self, repository: str, digests: Sequence[Digest]) -> set[Digest]:
        """The subset of ``digests`` in ``repository``; raises EcrError (and disables itself)."""
        try:
            client = await self._ecr()
            present = await batch_check_layers(
                client, repository, [str(d) for d in digests], target=self.target
            )
        except EcrError as e:
            self.enabled = False
            _log.warning("checking blobs with ECR failed, checking one by one instead: %s", e)
            raise
        return {d for d in digests if str(d) in present}


class EcrRepository:
    """An ECR repository: the registry client's repository plus ``has_blobs``.

    ``repository`` is the ECR repository name the control plane knows (the
    reference's path, even when a mirror serves it under a namespace).
    """

    def __init__(self, inner: Repository, checker: EcrLayerChecker) -> None:
        self.inner = inner
        self._checker = checker

    def __repr__(self) -> str:
        return f"EcrRepository({self.inner.name!r})"

    @property
    def registry(self) -> str:
        return self.inner.registry

    @property
    def repository(self) -> str:
        return self.inner.repository

    @property
    def target(self) -> EcrRegistry:
        return self._checker.target

    # -- the batch capability -------------------------------------------------

    def worth_batching(self, count: int) -> bool:
        return self._checker.enabled and worth_batching(count)

    async def has_blobs(self, digests: Sequence[Digest]) -> set[Digest]:
        return await self._checker.available(self.repository, digests)

    # -- delegated ------------------------------------------------------------

    async def head_manifest(self, ref: str) -> Descriptor | None:
        return await self.inner.head_manifest(ref)

    async def get_manifest(self, ref: str) -> RawManifest:
        return await self.inner.get_manifest(ref)

    def open_blob(self, descriptor: Descriptor) -> BlobStream:
        return self.inner.open_blob(descriptor)

    def open_blob_at(self, descriptor: Descriptor, offset: int) -> BlobStream:
        # ECR serves layers from S3 behind a redirect, which honours Range: a
        # broken layer download continues where it stopped, as from any registry.
        return self.inner.open_blob_at(descriptor, offset)

    async def has_blob(self, digest: Digest) -> bool:
        return await self.inner.has_blob(digest)

    async def mount_blob(self, digest: Digest, from_repository: str) -> bool:
        return await self.inner.mount_blob(digest, from_repository)

    async def put_blob(self, descriptor: Descriptor, chunks: AsyncIterator[bytes]) -> None:
        await self.inner.put_blob(descriptor, chunks)

    async def put_manifest(self, ref: str, manifest: RawManifest) -> None:
        await self.inner.put_manifest(ref, manifest)

    async def list_tags(self, *, page_size: int | None = None) -> list[str]:
        return await self.inner.list_tags(page_size=page_size)


class EcrRepositories:
    """``factory(registry, repository)``: ECR hosts wrapped, other registries as they are.

    One :class:`EcrLayerChecker` (one boto3 client) per ECR registry for the
    factory's lifetime: make one factory per run, like the copy engine.
    """

    def __init__(
        self,
        client: RegistryClient,
        *,
        keys: Mapping[str, AwsKeys | None] | None = None,
        aliases: Mapping[str, str] | None = None,
        default_keys: AwsKeys | None = None,
        client_factory: Callable[[str, AwsKeys | None], ECRClient] = _default_client,
    ) -> None:
        self._client = client
        self._keys = dict(keys or {})
        self._aliases = {k.lower(): v for k, v in (aliases or {}).items()}
        self._default_keys = default_keys
        self._client_factory = client_factory
        self._checkers: dict[EcrRegistry, EcrLayerChecker] = {}

    def __repr__(self) -> str:
        return f"EcrRepositories(registries={sorted(c.host for c in self._checkers)!r})"

    def target_of(self, registry: str) -> EcrRegistry | None:
        """The ECR registry ``registry`` names (directly or as an alias), else None."""
        return parse_registry_host(self._aliases.get(registry.lower(), registry))

    def keys_for(self, target: EcrRegistry) -> AwsKeys | None:
        for name in (target.host, target.account_id):
            if name in self._keys:
                return self._keys[name]
        return self._default_keys

    def checker(self, target: EcrRegistry) -> EcrLayerChecker:
        found = self._checkers.get(target)
        if found is None:
            found = EcrLayerChecker(target, self.keys_for(target), self._client_factory)
            self._checkers[target] = found
        return found

    def __call__(self, registry: str, repository: str) -> Repository | EcrRepository:
        inner = self._client.repository(registry, repository)
        target = self.target_of(registry)
        if target is None:
            return inner
        return EcrRepository(inner, self.checker(target))


def ecr_repository_factory(
    client: RegistryClient,
    *,
    keys: Mapping[str, AwsKeys | None] | None = None,
    aliases: Mapping[str, str] | None = None,
    default_keys: AwsKeys | None = None,
) -> RepositoryFactory:
    """``client.repository``, with ECR destinations able to check blobs in batches.

    ``keys`` maps an ECR host or account id to AWS keys (None: the default
    credential chain); ``aliases`` maps other host names that the references
    use to the ECR host they stand for.
    """
    return EcrRepositories(client, keys=keys, aliases=aliases, default_keys=default_keys)
