"""Run copies the way ``ferry copy`` does: build a client from user input, copy, summarise.

Kept apart from the CLI so the demo, the benchmark and the task executor
can run exactly what the command runs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import AbstractContextManager, asynccontextmanager, nullcontext
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from imageferry.copy import (
    CopyEngine,
    CopyOptions,
    ImageResult,
    PlannedImage,
    RepositoryFactory,
    destination_conflicts,
    summarize,
)
from imageferry.copy.events import ProgressSink
from imageferry.copy.referrer_index import indexer
from imageferry.copy.referrers import (
    Outcome,
    Pair,
    referrer_options,
    walk_referrers,
)
from imageferry.ecr.hosts import parse_registry_host
from imageferry.errors import ConfigError, FerryError
from imageferry.manifest import Platform
from imageferry.reference import Reference
from imageferry.registry import (
    ChainCredentials,
    CredentialProvider,
    Credentials,
    DockerConfigCredentials,
    RegistryClient,
    RegistryConfig,
    StaticCredentials,
    parse_user_pass,
)

_O = TypeVar("_O", bound=Outcome)

__all__ = [
    "CopyRequest",
    "build_client",
    "credential_chain",
    "describe_planned",
    "ecr_aliases",
    "ensure_ecr_repositories",
    "mirror_hosts",
    "planned_json",
    "repository_factory",
    "run_copy",
    "run_dry_run",
]

_MULTI_ARCH = ("all", "system", "index-only")


@dataclass(frozen=True)
class CopyRequest:
    """Everything one ``ferry copy`` invocation asked for, validated."""

    pairs: tuple[tuple[Reference, Reference], ...]
    options: CopyOptions
    config: RegistryConfig
    explicit: dict[str, Credentials] = field(repr=False)
    authfile: Path | None = None
    #: Images in flight at most; None: as many as the registries' windows take.
    concurrency: int | None = None
    #: Create missing ECR destination repositories before copying (ECR refuses
    #: pushes to a repository that does not exist).
    create_repositories: bool = True
    #: Also copy each image's referrers: signatures, SBOMs, attestations.
    referrers: bool = False
    #: The sources' explicit credentials, when a registry that is also a
    #: destination takes other ones there (``explicit`` then holds the
    #: destinations'): the sources are read through a client of their own.
    source_explicit: dict[str, Credentials] | None = field(default=None, repr=False)

    @classmethod
    def build(
        cls,
        *,
        pairs: Sequence[tuple[Reference, Reference]],
        multi_arch: str = "all",
        platforms: str | None = None,
        include_foreign_layers: bool = False,
        src_creds: str | None = None,
        dest_creds: str | None = None,
        authfile: Path | None = None,
        insecure: Sequence[str] = (),
        mirrors: Sequence[str] = (),
        concurrency: int | None = None,
        create_repositories: bool = True,
        referrers: bool = False,
    ) -> CopyRequest:
        if multi_arch not in _MULTI_ARCH:
            raise ConfigError(f"--multi-arch must be one of {', '.join(_MULTI_ARCH)}")
        if conflicts := destination_conflicts(pairs):
            raise ConfigError("; ".join(conflicts.values()))
        wanted: tuple[Platform, ...] = ()
        if platforms:
            try:
                wanted = tuple(Platform.parse(p) for p in platforms.split(",") if p.strip())
            except ValueError as e:
                raise ConfigError(f"--platform: {e}") from None
        mirror_map: dict[str, str] = {}
        for item in _comma_items(mirrors):
            name, eq, location = item.partition("=")
            if not eq or not name.strip() or not location.strip():
                raise ConfigError(f"--mirror {item!r} must be NAME=LOCATION, e.g. docker.io=m:5000")
            mirror_map[name.strip()] = location.strip()
        config = RegistryConfig(mirrors=mirror_map, insecure=frozenset(_comma_items(insecure)))
        sides: list[dict[str, Credentials]] = [{}, {}]
        for creds_text, side in ((src_creds, 0), (dest_creds, 1)):
            if creds_text:
                creds = parse_user_pass(creds_text)
                for pair in pairs:
                    sides[side][pair[side].registry] = creds
        # The transport asks for a mirrored registry's credentials by the mirror's host.
        for found in sides:
            for registry, host in mirror_hosts(config).items():
                for name in [n for n in found if n.lower() == registry]:
                    found.setdefault(host, found[name])
        sources, destinations = sides
        explicit = {**sources, **destinations}
        # One registry on both sides with other credentials on each (say, a
        # read-only account for the source projects): each side its own client.
        both = sources.keys() & destinations.keys()
        split = any(sources[r] != destinations[r] for r in both)
        options = CopyOptions(
            multi_arch=multi_arch,  # type: ignore[arg-type]
            platforms=wanted,
            include_foreign_layers=include_foreign_layers,
        )
        return cls(
            tuple(pairs),
            options,
            config,
            explicit,
            authfile,
            concurrency,
            create_repositories,
            referrers,
            {**destinations, **sources} if split else None,
        )


def _comma_items(values: Sequence[str]) -> list[str]:
    """Repeated options, each of which may also be a comma list (as their FERRY_* variables)."""
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


def mirror_hosts(config: RegistryConfig) -> dict[str, str]:
    """Each remapped registry's name → the host[:port] that serves it."""
    return {registry: config.location(registry)[1] for registry in config.mirrors}


def ecr_aliases(config: RegistryConfig) -> dict[str, str]:
    """Mirror host → the ECR host it serves, for every mirrored ECR registry.

    The transport asks for credentials (and the ECR provider must recognise
    the registry) by the host it speaks to, which for a mirror is not an ECR name.
    """
    return {
        host: registry
        for registry, host in mirror_hosts(config).items()
        if parse_registry_host(registry) is not None
    }


def _has_ecr(registries: Iterable[str]) -> bool:
    return any(parse_registry_host(r) is not None for r in registries)


def credential_chain(
    explicit: dict[str, Credentials],
    authfile: Path | None = None,
    registries: Sequence[str] = (),
    *,
    config: RegistryConfig | None = None,
) -> CredentialProvider:
    """Explicit credentials, then ECR tokens for ECR hosts, then the Docker config.

    The ECR provider (and boto3 with it) is loaded only when one of
    ``registries`` is an ECR host: start-up time matters for no-op runs. It
    uses the default AWS credential chain (environment, profile, role), and
    knows mirrored ECR hosts by their mirror's host (``config.mirrors``).
    """
    providers: list[CredentialProvider] = [StaticCredentials(explicit)]
    if _has_ecr(registries):
        from imageferry.ecr.auth import EcrCredentialProvider

        aliases = ecr_aliases(config) if config is not None else {}
        providers.append(EcrCredentialProvider(aliases=aliases))
    providers.append(DockerConfigCredentials(authfile))
    return ChainCredentials(providers)


def _registries(request: CopyRequest) -> list[str]:
    return sorted({ref.registry for pair in request.pairs for ref in pair})


def build_client(request: CopyRequest, *, sources: bool = False) -> RegistryClient:
    """The run's client; with ``sources``, the one reading the sources (see ``source_explicit``)."""
    explicit = request.explicit
    if sources and request.source_explicit is not None:
        explicit = request.source_explicit
    chain = credential_chain(
        explicit, request.authfile, _registries(request), config=request.config
    )
    return RegistryClient(request.config, chain)


@asynccontextmanager
async def _clients(request: CopyRequest) -> AsyncIterator[tuple[RegistryClient, RegistryClient]]:
    """(destinations' client, sources' client): one client unless the sides' credentials differ."""
    async with build_client(request) as client:
        if request.source_explicit is None:
            yield client, client
            return
        async with build_client(request, sources=True) as source_client:
            yield client, source_client


def repository_factory(request: CopyRequest, client: RegistryClient) -> RepositoryFactory:
    """``client.repository``, or its ECR-aware wrapper when an ECR host takes part.

    The wrapper lets ECR destinations check an image's blobs with one
    BatchCheckLayerAvailability call instead of one HEAD each; boto3 is
    loaded only then.
    """
    if not _has_ecr(_registries(request)):
        return client.repository
    from imageferry.ecr.repository import ecr_repository_factory

    return ecr_repository_factory(client, aliases=ecr_aliases(request.config))


async def run_copy(
    request: CopyRequest, progress: ProgressSink | None = None
) -> tuple[list[ImageResult], dict[str, Any]]:
    """Copy every pair; the summary's ``wall_seconds`` is the whole run's elapsed time."""
    started = time.monotonic()
    # Best effort: with only a login token (no AWS keys) the repository cannot be
    # checked, yet pushing into an existing one works. A failed push says both.
    unchecked = await ensure_ecr_repositories(request)

    def failed(pair: Pair, error: str) -> ImageResult:
        # Not an image the engine ran: the progress display hears of it here.
        result = _failed_copy(pair, error)
        if progress is not None:
            key = f"referrers {pair[0]}"
            progress.image_started(key, result.source, result.destination)
            progress.image_finished(key, result)
        return result

    async with _clients(request) as (client, source_client):
        engine = CopyEngine(
            repository_factory(request, client),
            source_repository=source_client.repository,
            max_images=request.concurrency,
            events=progress,
        )
        # A display with a life cycle (progress bars) is open for the whole run.
        display: AbstractContextManager[object] = (
            progress if isinstance(progress, AbstractContextManager) else nullcontext()
        )
        with display:
            results = await _with_referrers(
                request, source_client, engine.copy_many, failed, client
            )
    # Results follow the pairs (referrers, when asked for, come after them).
    destinations = [dst for _, dst in request.pairs]
    destinations += [Reference.parse(r.destination) for r in results[len(destinations) :]]
    results = [
        replace(r, error=f"{r.error}; before that, {why}")
        if r.status == "failed" and (why := unchecked.get((dst.registry, dst.repository)))
        else r
        for r, dst in zip(results, destinations, strict=True)
    ]
    summary = summarize(results)
    summary["wall_seconds"] = round(time.monotonic() - started, 3)
    return results, summary


def _failed_copy(pair: Pair, error: str) -> ImageResult:
    return ImageResult(str(pair[0]), str(pair[1]), None, "failed", error=error)


def _failed_plan(pair: Pair, error: str) -> PlannedImage:
    return PlannedImage(str(pair[0]), str(pair[1]), None, "failed", error=error)


async def _with_referrers(
    request: CopyRequest,
    client: RegistryClient,
    run: Callable[[Sequence[Pair], CopyOptions], Awaitable[list[_O]]],
    failed: Callable[[Pair, str], _O],
    destinations: RegistryClient | None = None,
) -> list[_O]:
    """``run`` the requested pairs, then (with ``referrers``) what refers to them.

    ``run`` copies (or plans) pairs and returns one outcome per pair, in order;
    ``failed`` makes the failed outcome of a pair whose referrers could not be
    looked for. ``client`` reads the sources; ``destinations`` (copies only)
    writes the referrers tag schema where a destination lacks the API.
    """
    results = await run(request.pairs, request.options)
    if not request.referrers:
        return results
    options = referrer_options(request.options)

    async def more(pairs: Sequence[Pair]) -> list[_O]:
        return await run(pairs, options)

    index = indexer(destinations.repository) if destinations is not None else None
    return results + await walk_referrers(
        request.pairs, results, client.repository, more, failed, index
    )


async def ensure_ecr_repositories(request: CopyRequest) -> dict[tuple[str, str], str]:
    """Create the missing ECR destination repositories; returns those it could not.

    Uses the default AWS credential chain, as the ECR login does. Each failure
    maps ``(registry, repository)`` to one line saying why.
    """
    wanted = sorted(
        {
            (dst.registry, dst.repository)
            for _, dst in request.pairs
            if parse_registry_host(dst.registry) is not None
        }
    )
    if not request.create_repositories or not wanted:
        return {}
    from imageferry.ecr.client import ecr_client
    from imageferry.ecr.repositories import RepositoryEnsurer

    ensurers: dict[str, RepositoryEnsurer] = {}
    for registry, _ in wanted:
        target = parse_registry_host(registry)
        assert target is not None
        if registry not in ensurers:
            ensurers[registry] = RepositoryEnsurer(ecr_client(target.region), target=target)

    async def ensure(registry: str, repository: str) -> str | None:
        try:
            await ensurers[registry].ensure(repository)
        except FerryError as e:
            return f"creating the repository {registry}/{repository} failed: {e}"
        return None

    outcomes = await asyncio.gather(*(ensure(r, name) for r, name in wanted))
    return {key: error for key, error in zip(wanted, outcomes, strict=True) if error}


async def run_dry_run(request: CopyRequest) -> list[PlannedImage]:
    async with _clients(request) as (client, source_client):
        engine = CopyEngine(
            repository_factory(request, client),
            source_repository=source_client.repository,
            max_images=request.concurrency,
        )
        return await _with_referrers(request, source_client, engine.dry_run, _failed_plan)


def planned_json(planned: PlannedImage) -> dict[str, Any]:
    data = asdict(planned)
    data["notes"] = list(planned.notes)
    return data


def describe_planned(planned: PlannedImage) -> str:
    if planned.status == "failed":
        return f"failed      {planned.source}: {planned.error}"
    if planned.status == "up-to-date":
        return f"up-to-date  {planned.source} -> {planned.destination} {planned.digest}"
    return (
        f"would copy  {planned.source} -> {planned.destination}: "
        f"{planned.blobs_missing}/{planned.blobs_total} blobs, "
        f"{planned.bytes_missing} of {planned.bytes_total} bytes to send"
    )
