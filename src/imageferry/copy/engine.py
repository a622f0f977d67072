"""The copy engine's entry point: one image or many, concurrently, one shared ledger.

A run of many images shares one :class:`BlobLedger`, so a base layer used by
every image crosses the network once per destination registry, and one
global bound on concurrent blob streams. A failing image never stops the
others; results come back in input order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Protocol

from imageferry.copy.events import NullSink, ProgressSink
from imageferry.copy.image import (
    MAX_BLOB_STREAMS,
    ImageCopy,
    PlannedImage,
    RunLimits,
    describe_error,
)
from imageferry.copy.ledger import BlobLedger
from imageferry.copy.options import CopyOptions
from imageferry.copy.pipeline import RETRYABLE
from imageferry.copy.result import ImageResult
from imageferry.errors import ConfigError
from imageferry.interfaces import ImageDestination, ImageSource
from imageferry.reference import Reference

__all__ = [
    "MAX_IMAGES",
    "CopyEngine",
    "Repository",
    "RepositoryFactory",
    "destination_conflicts",
]

#: Images in flight at most. Not a pace: an image waiting for its registry's
#: window costs a task and its manifests (kilobytes), so this only keeps a
#: run of many thousand tags from holding all their manifests at once.
MAX_IMAGES = 256


class Repository(ImageSource, ImageDestination, Protocol):
    """One repository that can be read and written (what the registry client hands out)."""


#: ``factory(registry, repository)``, e.g. ``RegistryClient.repository``.
RepositoryFactory = Callable[[str, str], Repository]


def destination_conflicts(pairs: Sequence[tuple[Reference, Reference]]) -> dict[str, str]:
    """Destination tags that more than one source is copied to, each with one line saying so.

    Two sources racing for one tag leave it on whichever push lands last, and
    would both report success; the engine copies neither. The same pair given
    twice is no conflict.
    """
    sources: dict[str, list[str]] = {}
    for src, dst in pairs:
        if dst.tag is not None:
            named = sources.setdefault(str(dst.with_digest(None)), [])
            if str(src) not in named:
                named.append(str(src))
    return {
        dst: f"{dst} is the destination of {len(named)} different sources "
        f"({', '.join(named)}): name each destination once"
        for dst, named in sources.items()
        if len(named) > 1
    }


def _conflict(conflicts: dict[str, str], dst: Reference) -> str | None:
    return conflicts.get(str(dst.with_digest(None))) if dst.tag is not None else None


class CopyEngine:
    """Copies images between registries reached through ``repository(registry, repo)``.

    The pace is the registry client's: each registry's adaptive request window
    decides how many requests run at once. ``max_images`` and ``max_blobs``
    only bound memory: images in flight, and blob streams across all images of
    one :meth:`copy_many` call (and blob checks per image). A caller may lower
    them (a task's ``concurrency``), but need not.
    The ledger lives as long as the engine and trusts what it learned, so make
    one engine per run (a scheduled task run, a CLI invocation), or pass a
    fresh ``ledger``. ``blob_attempts`` bounds the times a blob is fetched
    from the source (a break it cannot resume, a body that fails verification,
    a dropped upload); ``image_attempts`` whole-image retries after a retryable
    failure (connection, 5xx, 429). ``source_repository`` opens the sources
    when they are read with other credentials than the destinations are written.
    """

    def __init__(
        self,
        repository: RepositoryFactory,
        *,
        source_repository: RepositoryFactory | None = None,
        ledger: BlobLedger | None = None,
        max_images: int | None = None,
        max_blobs: int = MAX_BLOB_STREAMS,
        events: ProgressSink | None = None,
        blob_attempts: int = 3,
        image_attempts: int = 1,
        retry_delay: float = 1.0,
    ) -> None:
        max_images = MAX_IMAGES if max_images is None else max_images
        if max_images < 1 or max_blobs < 1 or blob_attempts < 1 or image_attempts < 1:
            raise ConfigError("concurrency limits and attempts must be at least 1")
        self._repository = repository
        self._source_repository = source_repository or repository
        self.ledger = ledger if ledger is not None else BlobLedger()
        self.max_images = max_images
        self.max_blobs = max_blobs
        self.events: ProgressSink = events or NullSink()
        self.blob_attempts = blob_attempts
        self.image_attempts = image_attempts
        self.retry_delay = retry_delay

    async def copy(
        self, src: Reference, dst: Reference, options: CopyOptions | None = None
    ) -> ImageResult:
        """Copy one image. A failure is a ``failed`` result, not an exception."""
        return (await self.copy_many([(src, dst)], options))[0]

    async def copy_many(
        self,
        pairs: Sequence[tuple[Reference, Reference]],
        options: CopyOptions | None = None,
    ) -> list[ImageResult]:
        """Copy every (source, destination) pair concurrently; results in input order."""
        options = options or CopyOptions()
        limits = RunLimits(self.ledger, self.max_blobs, self.blob_attempts, self.retry_delay)
        slots = asyncio.Semaphore(self.max_images)
        conflicts = destination_conflicts(pairs)

        async def one(index: int, src: Reference, dst: Reference) -> ImageResult:
            if (conflict := _conflict(conflicts, dst)) is not None:
                return ImageResult(str(src), str(dst), None, "failed", error=conflict)
            async with slots:
                return await self._copy_with_retries(str(index), src, dst, options, limits)

        return await asyncio.gather(*(one(i, s, d) for i, (s, d) in enumerate(pairs)))

    async def dry_run(
        self,
        pairs: Sequence[tuple[Reference, Reference]],
        options: CopyOptions | None = None,
    ) -> list[PlannedImage]:
        """What :meth:`copy_many` would copy, with reads only (HEAD/GET), in input order.

        A blob missing at a destination registry is counted once, for the first
        image needing it: later images would mount it or find it there.
        """
        options = options or CopyOptions()
        limits = RunLimits(self.ledger, self.max_blobs, self.blob_attempts, self.retry_delay)
        slots = asyncio.Semaphore(self.max_images)
        conflicts = destination_conflicts(pairs)

        async def one(index: int, src: Reference, dst: Reference) -> PlannedImage:
            if (conflict := _conflict(conflicts, dst)) is not None:
                return PlannedImage(str(src), str(dst), None, "failed", error=conflict)
            async with slots:
                try:
                    copier = self._image(str(index), src, dst, options, limits)
                except Exception as e:
                    return PlannedImage(
                        str(src), str(dst), None, "failed", error=describe_error(f"{src}", e)
                    )
                return await copier.dry_run()

        return await asyncio.gather(*(one(i, s, d) for i, (s, d) in enumerate(pairs)))

    async def plan(
        self, src: Reference, dst: Reference, options: CopyOptions | None = None
    ) -> PlannedImage:
        """Dry run of one image."""
        return (await self.dry_run([(src, dst)], options))[0]

    # -- internals ------------------------------------------------------------

    def _image(
        self, key: str, src: Reference, dst: Reference, options: CopyOptions, limits: RunLimits
    ) -> ImageCopy:
        source = self._source_repository(src.registry, src.repository)
        destination = self._repository(dst.registry, dst.repository)
        return ImageCopy(
            source, destination, src, dst, options, limits, key=key, events=self.events
        )

    async def _copy_with_retries(
        self, key: str, src: Reference, dst: Reference, options: CopyOptions, limits: RunLimits
    ) -> ImageResult:
        result: ImageResult | None = None
        for attempt in range(1, self.image_attempts + 1):
            try:
                copier = self._image(key, src, dst, options, limits)
            except Exception as e:
                return ImageResult(
                    str(src), str(dst), None, "failed", error=describe_error(f"{src} -> {dst}", e)
                )
            result = await copier.run()
            result = _with_attempts(result, attempt)
            if result.status != "failed" or not _retryable(result):
                return result
            if attempt < self.image_attempts:
                await asyncio.sleep(self.retry_delay * 2 ** (attempt - 1))
        assert result is not None
        return result


def _retryable(result: ImageResult) -> bool:
    return result.exception is not None and isinstance(result.exception.cause, RETRYABLE)


def _with_attempts(result: ImageResult, attempt: int) -> ImageResult:
    return replace(result, attempts=attempt)
