"""Everything one run of a task talks to, built from its spec and the secret store.

A task names credentials (``srcCredential``, ``destCredential``); this module
turns those names into a registry client whose credential chain answers for
the source and destination registries, a lister for the source, and (for an
ECR destination) the repository creator. Secret values live only in memory
here: they are never logged or stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from imageferry.aws import AwsKeys, aws_client, aws_session
from imageferry.aws_errors import STS, AwsCall, aws_errors
from imageferry.copy import RepositoryFactory
from imageferry.ecr.hosts import EcrRegistry, parse_registry_host
from imageferry.errors import ConfigError, NotFound
from imageferry.metrics import PrometheusStats
from imageferry.registry import (
    ChainCredentials,
    CredentialProvider,
    Credentials,
    DockerConfigCredentials,
    RegistryClient,
    RegistryConfig,
)
from imageferry.secrets.shapes import resolve_credential
from imageferry.settings import Settings
from imageferry.tasks.params import TaskSpec, parse_image_entry
from imageferry.tasks.selection import SourceLister, destination_registry, source_registry

if TYPE_CHECKING:
    from mypy_boto3_sts import STSClient

    from imageferry.secrets.base import SecretStore

__all__ = ["RegistryLister", "RunConnections", "SideCredentials", "open_connections"]


class RegistryLister:
    """``SourceLister`` of any OCI registry: ``_catalog`` and ``tags/list``, all pages."""

    def __init__(self, client: RegistryClient, registry: str) -> None:
        self._client = client
        self._registry = registry

    async def list_repositories(self) -> list[str]:
        return await self._client.catalog(self._registry)

    async def list_tags(self, repository: str) -> list[str]:
        try:
            return await self._client.list_tags(self._registry, repository)
        except NotFound:
            # distribution answers 404 for a repository without tags.
            return []

    async def list_untagged(self, repository: str) -> list[str]:
        # The distribution API cannot enumerate untagged manifests.
        return []


class SideCredentials:
    """Registry credentials of a task: the destination's for the destination
    registry, the source's for the source registry, none for any other host.

    A user name and password belong to one registry: sent to every registry
    a Public task's images come from, they would reach hosts they are not for.
    """

    def __init__(
        self,
        destination_host: str,
        source: Credentials | None,
        destination: Credentials | None,
        source_hosts: frozenset[str] = frozenset(),
    ) -> None:
        self._destination_host = destination_host
        self._source = source
        self._destination = destination
        self._source_hosts = source_hosts

    async def get(self, registry: str) -> Credentials | None:
        if registry == self._destination_host:
            return self._destination
        return self._source if registry in self._source_hosts else None

    def __repr__(self) -> str:
        return f"SideCredentials(destination={self._destination_host!r})"


@dataclass
class RunConnections:
    """What a run uses; close it with :meth:`aclose`."""

    #: The task's spec with blank account ids resolved through STS.
    spec: TaskSpec
    client: RegistryClient
    lister: SourceLister
    lister_for: Callable[[str], SourceLister]
    source_host: str | None
    destination_host: str
    #: The caller's account, when a blank account id was resolved (else None).
    account_id: str | None
    #: Creates a missing destination repository (ECR); None for other registries.
    ensure_repository: Callable[[str], Awaitable[object]] | None
    #: ``(registry, repository) -> Repository`` for the copy engine: ECR
    #: destinations check blobs with BatchCheckLayerAvailability.
    repository: RepositoryFactory

    async def aclose(self) -> None:
        await self.client.aclose()


def _credential(store: SecretStore | None, name: str) -> Credentials | AwsKeys | None:
    if not name:
        return None
    if store is None:
        raise ConfigError(f"credential {name!r} is named but no secret store is configured")
    return resolve_credential(store, name)


def _caller_account(region: str, keys: AwsKeys | None, keys_from: str) -> str:
    """The AWS account the keys (or the default chain) belong to, via STS.

    ``keys_from`` is the parameter whose secret would hold the keys
    (``destCredential``), named in the fix when there are none.
    """
    with aws_errors(AwsCall(STS, region, "GetCallerIdentity", keys_from=keys_from)):
        sts: STSClient = aws_client(aws_session(region or None, keys), "sts")
        return str(sts.get_caller_identity()["Account"])


def _credential_host(spec: TaskSpec, credentials: Credentials | None) -> str | None:
    """The one registry a Public task's ``srcCredential`` is for: where its images are."""
    if credentials is None:
        return None
    hosts = sorted({parse_image_entry(entry, None).registry for entry in spec.image_entries})
    if len(hosts) > 1:
        raise ConfigError(
            f"srcCredential {spec.srcCredential!r} holds a password for one registry, but "
            f"srcImageList names images from {len(hosts)}: {', '.join(hosts)}; set srcRegistry "
            "to the registry it is for, or copy each registry's images in a task of its own"
        )
    return hosts[0] if hosts else None


async def open_connections(
    spec: TaskSpec, *, settings: Settings, secrets: SecretStore | None
) -> RunConnections:
    """Resolve credentials, work out hosts and build the client for one run."""
    src = await asyncio.to_thread(_credential, secrets, spec.srcCredential)
    dst = await asyncio.to_thread(_credential, secrets, spec.destCredential)
    src_keys = src if isinstance(src, AwsKeys) else None
    dst_keys = dst if isinstance(dst, AwsKeys) else None

    # A blank account id means "the account of these keys" (the reference:
    # "leave it blank if ... in current account"): ask STS, once per side,
    # with that side's keys, and run with the ids filled in.
    src_blank = spec.sourceType == "Amazon_ECR" and not spec.srcRegistry and not spec.srcAccountId
    dst_blank = not spec.destRegistry and not spec.destAccountId
    resolved: dict[str, str] = {}
    if dst_blank:
        region = spec.destRegion or settings.aws_region
        resolved["destAccountId"] = await asyncio.to_thread(
            _caller_account, region, dst_keys, "destCredential"
        )
    if src_blank:
        if dst_blank and src_keys == dst_keys:
            resolved["srcAccountId"] = resolved["destAccountId"]
        else:
            region = spec.srcRegion or settings.aws_region
            resolved["srcAccountId"] = await asyncio.to_thread(
                _caller_account, region, src_keys, "srcCredential"
            )
    if resolved:
        spec = spec.model_copy(update=resolved)
    account_id = resolved.get("destAccountId") or resolved.get("srcAccountId")

    source_host = source_registry(spec, account_id=account_id)
    destination_host = destination_registry(spec, account_id=account_id)
    mirrors = settings.mirror_map
    config = RegistryConfig(mirrors=mirrors, insecure=settings.insecure_set)

    src_creds = src if isinstance(src, Credentials) else None
    credential_host = source_host if source_host is not None else _credential_host(spec, src_creds)
    # The transport asks for a mirrored registry's credentials by its mirror's host.
    source_hosts = (
        frozenset({credential_host, config.location(credential_host)[1]})
        if credential_host is not None
        else frozenset()
    )
    providers: list[CredentialProvider] = [
        SideCredentials(
            destination_host,
            src_creds,
            dst if isinstance(dst, Credentials) else None,
            source_hosts,
        )
    ]
    ecr_keys: dict[str, AwsKeys | None] = {}
    keys_from: dict[str, str] = {}
    src_ecr = parse_registry_host(source_host) if source_host else None
    dst_ecr = parse_registry_host(destination_host)
    if src_ecr is not None:
        ecr_keys[src_ecr.host] = src_keys
        keys_from[src_ecr.host] = "srcCredential"
    if dst_ecr is not None:
        ecr_keys[dst_ecr.host] = dst_keys
        keys_from[dst_ecr.host] = "destCredential"
    # A remapped ECR host is asked for by its location; map it back.
    aliases = {
        location.split("/")[0].removeprefix("http://").removeprefix("https://"): name
        for name, location in mirrors.items()
        if name in ecr_keys
    }
    if ecr_keys:
        from imageferry.ecr.auth import EcrCredentialProvider

        providers.insert(0, EcrCredentialProvider(ecr_keys, aliases=aliases, keys_from=keys_from))
    providers.append(DockerConfigCredentials())
    client = RegistryClient(config, ChainCredentials(providers), stats=PrometheusStats())
    repository: RepositoryFactory = client.repository
    if ecr_keys:
        from imageferry.ecr.repository import ecr_repository_factory

        repository = ecr_repository_factory(client, keys=ecr_keys, aliases=aliases)

    def lister_for(host: str) -> SourceLister:
        return RegistryLister(client, host)

    lister: SourceLister
    if src_ecr is not None and not spec.srcRegistry:
        from imageferry.ecr.client import ecr_client
        from imageferry.ecr.listing import EcrLister

        lister = EcrLister(ecr_client(src_ecr.region, src_keys), src_ecr, keys_from="srcCredential")
    else:
        lister = lister_for(source_host or "docker.io")

    ensure: Callable[[str], Awaitable[object]] | None = None
    if dst_ecr is not None and not spec.destRegistry:
        ensure = _repository_creator(spec, dst_ecr, dst_keys)
    return RunConnections(
        spec,
        client,
        lister,
        lister_for,
        source_host,
        destination_host,
        account_id,
        ensure,
        repository,
    )


def _repository_creator(
    spec: TaskSpec, target: EcrRegistry, keys: AwsKeys | None
) -> Callable[[str], Awaitable[object]]:
    from imageferry.ecr.client import ecr_client
    from imageferry.ecr.repositories import RepositoryEnsurer, RepositorySettings

    settings = RepositorySettings(
        scan_on_push=spec.destScanOnPush,
        tag_mutability=spec.destTagMutability,
        encryption=spec.destEncryption,
        kms_key=spec.destKmsKey or None,
    )
    ensurer = RepositoryEnsurer(
        ecr_client(target.region, keys), settings, target=target, keys_from="destCredential"
    )
    return ensurer.ensure
