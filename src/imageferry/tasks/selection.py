"""What a transfer task copies: its spec and a source listing, turned into image pairs.

Pure logic with the registry I/O injected through :class:`SourceLister`, so
the planner (``ferry task plan``) and the runner share it and unit tests drive
it with a fake.

Rules, and where they differ from the reference:

* ``srcList=ALL``: every repository (ECR DescribeRepositories, or the
  registry's ``_catalog`` for ``srcRegistry``) and every tag; the lister must
  page through everything (the reference stops after 100 images). With
  ``includeUntagged=true``, untagged images are copied too, digest to digest
  (the reference only switched ``--multi-arch``).
* ``srcList=SELECTED``: entries from ``srcImageList``; ``repo`` is
  ``repo:latest``; ``repo:ALL_TAGS`` lists the tags for any registry (the
  reference: ECR only); ``host:5000/x:tag`` and ``x@sha256:...`` are parsed
  with the reference grammar (the reference splits on ':' and breaks).
* ``includeTags``/``excludeTags`` filter *listed* tags (ALL and ALL_TAGS);
  a tag named explicitly in ``srcImageList`` is always copied.
* ``includeUntagged`` applies to ``srcList=ALL``; ``ALL_TAGS`` means tags.
* Destination repository = ``destPrefix/<source repository path>`` (the
  reference forgets the prefix), for ECR and ``destRegistry`` alike. Docker
  Hub's ``library/`` stays in the path: ``ubuntu`` from Docker Hub lands in
  ``<prefix>/library/ubuntu``, so official and user images never collide.
* The destination keeps the source's tag and/or digest.

ECR hosts come from :mod:`imageferry.ecr.hosts` (re-exported here as
:func:`ecr_registry_host`), so both packages agree on partitions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from imageferry.digest import Digest
from imageferry.ecr.hosts import registry_host as ecr_registry_host
from imageferry.errors import ConfigError, InvalidReference
from imageferry.reference import Reference
from imageferry.tasks.params import ALL_TAGS, TaskSpec, parse_image_entry

__all__ = [
    "ImagePair",
    "Selection",
    "SelectionError",
    "SourceLister",
    "destination_for",
    "destination_registry",
    "ecr_registry_host",
    "select_images",
    "source_registry",
]

#: Repositories listed at once when the task leaves concurrency blank.
_LISTINGS = 16


class SelectionError(ConfigError):
    """The task's images cannot be worked out from its parameters as given."""


class SourceLister(Protocol):
    """Lists what a source registry holds. Implementations page through everything."""

    async def list_repositories(self) -> list[str]:
        """Every repository path (ECR DescribeRepositories, or ``/v2/_catalog``)."""
        ...

    async def list_tags(self, repository: str) -> list[str]:
        """Every tag of ``repository`` (a path inside the registry)."""
        ...

    async def list_untagged(self, repository: str) -> list[str]:
        """Digests of untagged images; registries that cannot say return ``[]``."""
        ...


@dataclass(frozen=True, slots=True)
class ImagePair:
    """One unit of copy work: this source image to that destination."""

    source: Reference
    destination: Reference


@dataclass(frozen=True, slots=True)
class Selection:
    """The ordered image pairs of a run, and notes worth showing the user."""

    pairs: tuple[ImagePair, ...]
    notes: tuple[str, ...] = ()
    #: Entries the user named that match no image (``repo:ALL_TAGS`` of a
    #: repository without tags): a run reports each as a failed image.
    missing: tuple[ImagePair, ...] = ()


def _account(given: str, caller: str | None, parameter: str) -> str:
    account = given or caller
    if not account:
        raise SelectionError(
            f"{parameter} is blank, meaning the current AWS account, but the current "
            f"account id is unknown; set {parameter} to the 12-digit account id"
        )
    return account


def source_registry(spec: TaskSpec, *, account_id: str | None = None) -> str | None:
    """The source registry host; None for a Public source (each entry names its own)."""
    if spec.srcRegistry:
        return spec.srcRegistry
    if spec.sourceType == "Public":
        return None
    return ecr_registry_host(
        _account(spec.srcAccountId, account_id, "srcAccountId"), spec.srcRegion
    )


def destination_registry(spec: TaskSpec, *, account_id: str | None = None) -> str:
    """The destination registry host: ``destRegistry``, else the destination ECR."""
    if spec.destRegistry:
        return spec.destRegistry
    account = _account(spec.destAccountId, account_id, "destAccountId")
    return ecr_registry_host(account, spec.destRegion)


def destination_for(source: Reference, registry: str, prefix: str) -> Reference:
    """Where ``source`` goes: ``registry/prefix/<source path>``, same tag and digest."""
    repository = f"{prefix}/{source.repository}" if prefix else source.repository
    try:
        base = Reference.parse(f"{registry}/{repository}")
    except InvalidReference as e:
        raise SelectionError(
            f"cannot copy {source} to {registry}/{repository}: {e.part} {e.reason}"
        ) from None
    return Reference(base.registry, base.repository, source.tag, source.digest)


async def select_images(
    spec: TaskSpec,
    lister: SourceLister,
    *,
    account_id: str | None = None,
    lister_for: Callable[[str], SourceLister] | None = None,
) -> Selection:
    """Work out the image pairs of a run of ``spec``.

    ``lister`` lists the task's source registry. ``lister_for(host)`` lists
    any other registry an entry names (a Public source's Docker Hub, quay.io
    ...); without it ``lister`` serves those too. ``account_id`` is the
    current AWS account (from STS), used where an account id is left blank.
    """
    planner = _Planner(spec, lister, lister_for, account_id)
    if spec.srcList == "ALL":
        await planner.select_all()
    else:
        await planner.select_entries()
    return planner.result()


class _Planner:
    def __init__(
        self,
        spec: TaskSpec,
        lister: SourceLister,
        lister_for: Callable[[str], SourceLister] | None,
        account_id: str | None,
    ) -> None:
        self.spec = spec
        self.lister = lister
        self.lister_for = lister_for
        self.source = source_registry(spec, account_id=account_id)
        # ECR repository names may hold dots: there "my.team/app" is no host.
        self._ecr = spec.sourceType == "Amazon_ECR" and not spec.srcRegistry
        self.destination = destination_registry(spec, account_id=account_id)
        # Listing calls in flight; the registries' windows pace them further.
        self.limit = asyncio.Semaphore(spec.concurrency or _LISTINGS)
        self.pairs: list[ImagePair] = []
        self.seen: set[tuple[Reference, Reference]] = set()
        self.duplicates = 0
        self.notes: list[str] = []
        self.missing: list[ImagePair] = []

    def result(self) -> Selection:
        if self.duplicates:
            self.notes.append(f"{self.duplicates} duplicate image(s) listed more than once")
        return Selection(tuple(self.pairs), tuple(self.notes), tuple(self.missing))

    def _lister(self, registry: str) -> SourceLister:
        if registry == self.source or self.lister_for is None:
            return self.lister
        return self.lister_for(registry)

    def add(self, source: Reference) -> None:
        pair = ImagePair(source, destination_for(source, self.destination, self.spec.destPrefix))
        key = (pair.source, pair.destination)
        if key in self.seen:
            self.duplicates += 1
            return
        self.seen.add(key)
        self.pairs.append(pair)

    async def _tags(self, lister: SourceLister, repository: str) -> list[str]:
        async with self.limit:
            return await lister.list_tags(repository)

    async def _untagged(self, repository: str) -> list[str]:
        async with self.limit:
            return await self.lister.list_untagged(repository)

    def _filtered(self, base: Reference, tags: Sequence[str]) -> list[str]:
        kept = [t for t in tags if self.spec.tag_wanted(t)]
        if len(kept) < len(tags):
            self.notes.append(
                f"{base.name}: includeTags/excludeTags left out {len(tags) - len(kept)} "
                f"of {len(tags)} tag(s)"
            )
        return kept

    def _add_tags(self, base: Reference, tags: Sequence[str]) -> None:
        for tag in self._filtered(base, tags):
            try:
                source = Reference.parse(f"{base.name}:{tag}")
            except InvalidReference:
                self.notes.append(f"{base.name}: skipped tag {tag!r}, not a valid tag")
                continue
            self.add(source)

    async def select_all(self) -> None:
        # validation guarantees a listable source: ECR or srcRegistry
        assert self.source is not None
        repositories = list(dict.fromkeys(await self.lister.list_repositories()))
        if not repositories:
            self.notes.append(f"{self.source} has no repositories")
        bases: list[Reference] = []
        for path in repositories:
            try:
                bases.append(Reference.parse(f"{self.source}/{path}"))
            except InvalidReference as e:
                self.notes.append(f"skipped repository {path!r}: {e.reason}")
        tag_lists = await asyncio.gather(*(self._tags(self.lister, b.repository) for b in bases))
        untagged_lists: Sequence[list[str]] = [[] for _ in bases]
        if self.spec.includeUntagged:
            untagged_lists = await asyncio.gather(*(self._untagged(b.repository) for b in bases))
        for base, tags, untagged in zip(bases, tag_lists, untagged_lists, strict=True):
            if not tags and not untagged:
                self.notes.append(f"{base.name} has no images to copy")
            self._add_tags(base, tags)
            for text in untagged:
                try:
                    digest = Digest.parse(text)
                except ValueError:
                    self.notes.append(f"{base.name}: skipped untagged image {text!r}, not a digest")
                    continue
                self.add(Reference(base.registry, base.repository, None, digest))

    async def select_entries(self) -> None:
        references: list[Reference] = []
        for entry in self.spec.image_entries:
            try:
                references.append(parse_image_entry(entry, self.source, ecr=self._ecr))
            except InvalidReference as e:
                raise SelectionError(f"srcImageList entry {entry!r}: {e.part} {e.reason}") from None
        expansions = await asyncio.gather(
            *(
                self._tags(self._lister(r.registry), r.repository)
                for r in references
                if r.tag == ALL_TAGS
            )
        )
        expanded = iter(expansions)
        for reference in references:
            if reference.tag != ALL_TAGS:
                self.add(reference)
                continue
            base = reference.with_tag(None)
            tags = next(expanded)
            if not tags:
                self.missing.append(
                    ImagePair(
                        reference,
                        destination_for(reference, self.destination, self.spec.destPrefix),
                    )
                )
            self._add_tags(base, tags)
