"""Copying one image: skip check, manifest tree, plan, blobs, manifests, tag last.

Order of work (interfaces.py states the destination's side of it):

1. HEAD the source reference and the destination reference, at once. When the
   destination already names the digest the copy would produce, stop: the
   image is up to date (one HEAD on each side, plus one GET of a source index
   when a platform selection decides the digest). A destination tag in a
   repository that holds no tags is known to be missing without its HEAD
   (:meth:`BlobLedger.lookup_tag`).
2. GET the manifest tree by digest, verifying each body against its digest.
3. Plan (:mod:`imageferry.copy.plan`).
4. Per image manifest: one batch presence check when the destination can
   (:class:`~imageferry.copy.capabilities.BlobBatchCheck`), then its blobs
   concurrently (reused, mounted or streamed through the shared
   :class:`BlobLedger`), then the manifest by digest;
   then indexes by digest; the destination tag last, so a failure anywhere
   leaves no tag pointing at an incomplete image.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from imageferry.copy.ahead import Ahead
from imageferry.copy.events import NullSink, ProgressSink
from imageferry.copy.ledger import BlobLedger
from imageferry.copy.options import CopyOptions
from imageferry.copy.pipeline import BlobStreamer
from imageferry.copy.plan import CopyPlan, ImagePlan, PlatformNotFound, build_plan, select
from imageferry.copy.pushes import ManifestPushes
from imageferry.copy.result import ImageResult
from imageferry.digest import Digest
from imageferry.errors import (
    ConfigError,
    CopyError,
    DigestMismatch,
    FerryError,
    NotFound,
    RegistryError,
    ResponseError,
)
from imageferry.interfaces import ImageDestination, ImageSource
from imageferry.manifest import (
    Descriptor,
    ImageManifest,
    Index,
    Platform,
    RawManifest,
    is_index_type,
    is_non_distributable,
)
from imageferry.reference import Reference

__all__ = ["MAX_BLOB_STREAMS", "ImageCopy", "PlannedImage", "RunLimits", "describe_error"]

#: Blob streams in flight at most, for memory, not pace: each buffers up to
#: about 2 MiB (the client's 1 MiB read buffer, which aiohttp lets fill
#: twice), so 32 streams stay within 64 MiB. The registries' request windows
#: decide how many actually run.
MAX_BLOB_STREAMS = 32

_T = TypeVar("_T")
#: A config larger than this is not read to learn the image's platform.
_MAX_CONFIG = 4 << 20


@dataclass(frozen=True, slots=True)
class PlannedImage:
    """What a dry run found for one image: what would be copied, and how many bytes."""

    source: str
    destination: str
    digest: str | None
    status: Literal["would-copy", "up-to-date", "failed"]
    manifests: int = 0
    blobs_total: int = 0
    blobs_missing: int = 0
    bytes_total: int = 0
    bytes_missing: int = 0
    error: str | None = None
    notes: tuple[str, ...] = ()


@dataclass(slots=True)
class RunLimits:
    """What the images of one run share: the ledger and the global blob bound."""

    ledger: BlobLedger = field(default_factory=BlobLedger)
    max_blobs: int = MAX_BLOB_STREAMS
    blob_attempts: int = 3
    retry_delay: float = 1.0
    blob_slots: asyncio.Semaphore = field(init=False)
    #: Dry runs: (registry, digest) already counted as missing by an earlier image.
    planned: set[tuple[str, Digest]] = field(default_factory=set)
    #: Manifests pushed by digest this run: images sharing one push it once.
    manifests: ManifestPushes = field(default_factory=ManifestPushes)

    def __post_init__(self) -> None:
        self.blob_slots = asyncio.Semaphore(self.max_blobs)


class _Blamed(Exception):
    """A failure with the reference it happened at (internal, unwrapped by run)."""

    def __init__(self, where: str, cause: BaseException) -> None:
        super().__init__(f"{where}: {cause}")
        self.where = where
        self.cause = cause


def describe_error(where: str, cause: BaseException) -> str:
    """One line for a user: where it failed, what, and the registry's code.

    ``where`` is left out when the message already names it (the registry
    client's messages say which manifest or blob they were about).
    """
    text = str(cause) if isinstance(cause, FerryError) else f"{type(cause).__name__}: {cause}"
    text = " ".join(text.split()) or type(cause).__name__
    if isinstance(cause, ResponseError) and cause.code and cause.code not in text:
        text += f" ({cause.status} {cause.code})"
    return text if where in text else f"{where}: {text}"


class ImageCopy:
    """Copies (or dry-runs) one image from ``source`` to ``destination``."""

    def __init__(
        self,
        source: ImageSource,
        destination: ImageDestination,
        src: Reference,
        dst: Reference,
        options: CopyOptions,
        limits: RunLimits,
        *,
        key: str = "0",
        events: ProgressSink | None = None,
    ) -> None:
        self.source = source
        self.destination = destination
        self.src = src
        self.dst = dst
        self.options = options
        self.limits = limits
        self.key = key
        self.events: ProgressSink = events or NullSink()
        self._transferred = 0
        self._reused = 0
        self._retries = 0
        self._image_slots = asyncio.Semaphore(limits.max_blobs)
        self._streamer = BlobStreamer(
            source, destination, limits.blob_attempts, limits.retry_delay, self._count_retry
        )

    # -- public -------------------------------------------------------------

    async def run(self) -> ImageResult:
        """Copy the image. Never raises for a failed copy: the result says why."""
        started = time.monotonic()
        self.events.image_started(self.key, str(self.src), str(self.dst))
        digest: str | None = None
        notes: tuple[str, ...] = ()
        failure: CopyError | None = None
        try:
            resolved = await self._resolve()
            if resolved.up_to_date:
                status: Literal["copied", "skipped", "failed"] = "skipped"
                digest = str(resolved.target)
            else:
                plan = await self._plan(resolved)
                digest, notes = str(plan.digest), plan.notes
                self.events.image_planned(self.key, plan.blob_bytes)
                await self._execute(plan)
                status = "copied"
            error = None
        except _Blamed as e:
            status, error = "failed", describe_error(e.where, e.cause)
            failure = CopyError(str(self.src), str(self.dst), e.cause)
        except Exception as e:  # a bug or an unwrapped library error: still one line
            status, error = "failed", describe_error(self._pair, e)
            failure = CopyError(str(self.src), str(self.dst), e)
        result = ImageResult(
            source=str(self.src),
            destination=str(self.dst),
            digest=digest,
            status=status,
            bytes_transferred=self._transferred,
            bytes_reused=self._reused,
            seconds=time.monotonic() - started,
            error=error,
            notes=notes,
            retries=self._retries,
            exception=failure,
        )
        self.events.image_finished(self.key, result)
        return result

    async def dry_run(self) -> PlannedImage:
        """Report what :meth:`run` would copy, with HEAD and GET requests only."""
        try:
            resolved = await self._resolve()
            if resolved.up_to_date:
                return self._planned("up-to-date", str(resolved.target))
            plan = await self._plan(resolved)
            missing = await self._missing_blobs(plan)
        except _Blamed as e:
            return self._planned("failed", None, error=describe_error(e.where, e.cause))
        except Exception as e:
            return self._planned("failed", None, error=describe_error(self._pair, e))
        return PlannedImage(
            source=str(self.src),
            destination=str(self.dst),
            digest=str(plan.digest),
            status="would-copy",
            manifests=len(plan.pushes),
            blobs_total=len(plan.blobs),
            blobs_missing=len(missing),
            bytes_total=plan.blob_bytes,
            bytes_missing=sum(d.size for d in missing),
            notes=plan.notes,
        )

    # -- steps --------------------------------------------------------------

    @property
    def _pair(self) -> str:
        return f"{self.src} -> {self.dst}"

    async def _blame(self, where: str, work: Awaitable[_T]) -> _T:
        try:
            return await work
        except FerryError as e:
            raise _Blamed(self._side_of(e, where), e) from e

    def _side_of(self, error: FerryError, default: str) -> str:
        """The reference an error belongs to: by its registry when that is unambiguous."""
        if isinstance(error, RegistryError) and self.src.registry != self.dst.registry:
            if error.registry == self.src.registry:
                return str(self.src)
            if error.registry == self.dst.registry:
                return str(self.dst)
        return default

    async def _resolve(self) -> _Resolved:
        src_text, dst_text = str(self.src), str(self.dst)
        # The source HEAD goes alongside the destination HEAD when one is sent:
        # an up-to-date image then costs one round trip, not two.
        source = Ahead(lambda: self._source_head(src_text))
        try:
            return await self._resolve_with(source, src_text, dst_text)
        finally:
            source.cancel()

    async def _resolve_with(
        self, source: Ahead[Descriptor], src_text: str, dst_text: str
    ) -> _Resolved:
        top: RawManifest | None = None
        try:
            dst_head = await self._blame(dst_text, self._destination_head(source.start))
        except _Blamed:
            # When both sides fail, the source's failure is the one to report.
            await source.result()
            raise
        if dst_head is None:
            if source.started:
                await source.result()  # sent alongside a HEAD that found nothing: its errors
            # Nothing to compare with: the GET the copy needs anyway tells the
            # source digest, so a source HEAD would be one request too many.
            try:
                top = await self._blame(src_text, self.source.get_manifest(self.src.manifest_ref))
            except _Blamed as e:
                if isinstance(e.cause, NotFound):
                    raise _Blamed(src_text, self._unknown()) from None
                raise
            src_head = top.descriptor
        else:
            # Only HEADs when the image may be up to date: registries such as
            # Docker Hub count manifest GETs against pull quotas, HEADs not.
            src_head = await source.result()
        current = dst_head.digest if dst_head is not None else None
        if self.src.digest is not None and src_head.digest != self.src.digest:
            raise _Blamed(src_text, DigestMismatch(str(self.src.digest), str(src_head.digest)))
        target = src_head.digest
        if is_index_type(src_head.media_type) and (
            self.options.platforms or self.options.multi_arch == "system"
        ):
            # The digest this copy produces depends on the index's contents.
            fetched = top = top if top is not None else await self._get(src_head)
            selection = await self._blame(src_text, _async(lambda: select(fetched, self.options)))
            target = selection.target.digest
        if self.dst.digest is not None and self.dst.digest != target:
            # With or without a tag: a destination naming a digest names what must arrive.
            raise _Blamed(
                dst_text,
                ConfigError(
                    f"the copy produces {target}, not the digest named by the destination; "
                    "name the destination by tag alone, or with the digest the copy produces"
                ),
            )
        return _Resolved(src_head, target, current == target, top)

    async def _destination_head(self, sending: Callable[[], None]) -> Descriptor | None:
        """What the destination reference names now; for a tag, maybe known without asking.

        ``sending`` is called when the HEAD is actually sent.
        """

        def head() -> Awaitable[Descriptor | None]:
            sending()
            return self.destination.head_manifest(self._dst_lookup)

        if self.dst.tag is None:
            # A repository without tags may still hold this digest, untagged.
            return await head()
        return await self.limits.ledger.lookup_tag(self.destination, head)

    async def _source_head(self, src_text: str) -> Descriptor:
        src_head = await self._blame(src_text, self.source.head_manifest(self.src.manifest_ref))
        if src_head is None:
            raise _Blamed(src_text, self._unknown())
        return src_head

    def _unknown(self) -> NotFound:
        return NotFound(
            "manifest unknown", status=404, code="MANIFEST_UNKNOWN", registry=self.src.registry
        )

    @property
    def _dst_lookup(self) -> str:
        return self.dst.tag if self.dst.tag is not None else self.dst.manifest_ref

    async def _get(self, descriptor: Descriptor) -> RawManifest:
        """GET a manifest by digest and check the body is what the digest names."""
        raw = await self._blame(str(self.src), self.source.get_manifest(str(descriptor.digest)))
        if raw.digest != descriptor.digest:
            raise _Blamed(str(self.src), DigestMismatch(str(descriptor.digest), str(raw.digest)))
        return raw

    async def _plan(self, resolved: _Resolved) -> CopyPlan:
        src_text = str(self.src)
        top = resolved.top if resolved.top is not None else await self._get(resolved.source)
        selection = await self._blame(src_text, _async(lambda: select(top, self.options)))
        parsed = await self._blame(src_text, _async(top.parse))
        if self.options.platforms and isinstance(parsed, ImageManifest):
            await self._check_platform(parsed.config)
        fetched: dict[Digest, RawManifest] = {}
        await self._fetch(selection.children, fetched)
        return await self._blame(src_text, _async(lambda: build_plan(top, fetched, self.options)))

    async def _check_platform(self, config: Descriptor) -> None:
        """A single image matching none of ``--platform``: fail, as for an index.

        Its platform is in its config (image-spec config.md ``os``,
        ``architecture``, ``variant``); a config without them (an artifact) passes.
        """
        if config.size > _MAX_CONFIG:
            return
        data = await self._blame(str(self.src), self._streamer.fetch(config))
        try:
            platform = Platform.from_json(json.loads(data))
        except (ValueError, AttributeError):
            return
        wanted = self.options.platforms
        if platform.os and platform.architecture and not any(w.matches(platform) for w in wanted):
            raise _Blamed(str(self.src), PlatformNotFound(wanted, [platform], single=True))

    async def _fetch(self, wanted: Iterable[Descriptor], into: dict[Digest, RawManifest]) -> None:
        """GET child manifests concurrently, descending into nested indexes."""
        todo = [d for d in wanted if d.digest not in into]
        manifests = await _all(self._get(d) for d in todo)
        nested: list[Descriptor] = []
        for raw in manifests:
            into[raw.digest] = raw
            parsed = await self._blame(str(self.src), _async(raw.parse))
            if isinstance(parsed, Index):
                nested.extend(parsed.manifests)
        if nested:
            await self._fetch(nested, into)

    async def _execute(self, plan: CopyPlan) -> None:
        dst_text = str(self.dst)
        images = {image.manifest.digest: image for image in plan.images}
        await _all(self._copy_image_manifest(image, plan) for image in plan.images)
        for manifest in plan.pushes:
            if manifest.digest not in images and manifest is not plan.target:
                await self._blame(dst_text, self._put_by_digest(manifest))
        await self._blame(dst_text, self.destination.put_manifest(self._dst_lookup, plan.target))

    async def _copy_image_manifest(self, image: ImagePlan, plan: CopyPlan) -> None:
        dst_text = str(self.dst)
        digest = image.manifest.digest
        ledger = self.limits.ledger
        new = await ledger.repository_is_new(self.destination)
        present = (
            None
            if new
            else await self._blame(dst_text, self.destination.head_manifest(str(digest)))
        )
        if present is not None and present.digest == digest:
            self.limits.manifests.record(self.destination, digest)
            # The registry only accepts a manifest once its blobs exist there,
            # foreign layers excepted: a copy without them may have pushed it.
            foreign = [b for b in image.blobs if is_non_distributable(b.media_type)]
            for blob in (b for b in image.blobs if b not in foreign):
                self.limits.ledger.record(
                    self.destination.registry, self.destination.repository, blob.digest
                )
                self._reused += blob.size
            await _all(self._copy_blob(blob) for blob in foreign)
            return
        if self.source.registry == self.destination.registry:
            # Same registry: the source repository is a place to mount from.
            for blob in image.blobs:
                self.limits.ledger.record(self.source.registry, self.source.repository, blob.digest)
        if not new:
            # ECR answers for up to 100 blobs in one call: ask before the per-blob work.
            await ledger.check_many(self.destination, image.blobs)
        await _all(self._copy_blob(blob) for blob in image.blobs)
        if image.manifest is not plan.target:
            await self._blame(dst_text, self._put_by_digest(image.manifest))

    async def _put_by_digest(self, manifest: RawManifest) -> None:
        """Push a manifest by digest, once per destination repository per run."""
        await self.limits.manifests.push_once(
            self.destination,
            manifest.digest,
            lambda: self.destination.put_manifest(str(manifest.digest), manifest),
        )

    async def _copy_blob(self, blob: Descriptor) -> None:
        async with self._image_slots:
            outcome = await self._blame(
                self._pair,
                self.limits.ledger.ensure(self.destination, blob, lambda: self._upload(blob)),
            )
        self._transferred += outcome.bytes_transferred
        self._reused += outcome.bytes_reused

    async def _upload(self, blob: Descriptor) -> int:
        async with self.limits.blob_slots:
            return await self._streamer.stream(blob, self._progress)

    def _count_retry(self, message: str) -> None:
        del message  # the pipeline logs it
        self._retries += 1

    def _progress(self, n: int) -> None:
        self.events.bytes_transferred(self.key, n)

    async def _missing_blobs(self, plan: CopyPlan) -> list[Descriptor]:
        registry = self.destination.registry
        known = self.limits.ledger

        await known.check_many(self.destination, plan.blobs)

        async def check(blob: Descriptor) -> Descriptor | None:
            if self.destination.repository in known.locations(registry, blob.digest):
                return None
            if known.known_absent(self.destination, blob.digest):
                return blob
            async with self._image_slots:
                exists = await self._blame(str(self.dst), self.destination.has_blob(blob.digest))
            return None if exists else blob

        checked = await _all(check(blob) for blob in plan.blobs)
        missing = []
        for blob in checked:
            if blob is None or (registry, blob.digest) in self.limits.planned:
                continue
            self.limits.planned.add((registry, blob.digest))
            missing.append(blob)
        return missing

    def _planned(
        self,
        status: Literal["would-copy", "up-to-date", "failed"],
        digest: str | None,
        *,
        error: str | None = None,
    ) -> PlannedImage:
        return PlannedImage(str(self.src), str(self.dst), digest, status, error=error)


@dataclass(frozen=True, slots=True)
class _Resolved:
    #: The source manifest the reference names (HEAD).
    source: Descriptor
    target: Digest
    up_to_date: bool
    #: The source's top manifest when it was already fetched to decide ``target``.
    top: RawManifest | None


async def _async(function: Callable[[], _T]) -> _T:
    """Run a pure function where :meth:`ImageCopy._blame` can attribute its errors."""
    return function()


async def _all(works: Iterable[Awaitable[_T]]) -> list[_T]:
    """Await all concurrently; on the first failure cancel the rest and raise it."""
    tasks: list[asyncio.Task[_T]] = []
    try:
        async with asyncio.TaskGroup() as group:
            for work in works:
                tasks.append(group.create_task(_await(work)))
    except BaseExceptionGroup as group_error:
        raise _first(group_error) from None
    return [task.result() for task in tasks]


async def _await(work: Awaitable[_T]) -> _T:
    return await work


def _first(error: BaseException) -> BaseException:
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    return error
