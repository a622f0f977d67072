"""An in-memory registry implementing the engine interfaces, for unit tests.

It behaves like distribution where the engine depends on it: blobs live
once per registry and are linked into repositories; a manifest push is
refused (MANIFEST_BLOB_UNKNOWN) unless every blob and child manifest it
references is in that repository; uploads verify the digest on commit.
Every call is logged so tests can assert what the engine did.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from imageferry.digest import Digest
from imageferry.errors import NotFound, ResponseError, TransportError
from imageferry.interfaces import BlobStream
from imageferry.manifest import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    OCI_INDEX,
    OCI_MANIFEST,
    Descriptor,
    ImageManifest,
    Index,
    Platform,
    RawManifest,
)

CHUNK = 7  # small on purpose: every blob streams in several chunks


@dataclass
class FakeRegistry:
    name: str
    blobs: dict[Digest, bytes] = field(default_factory=dict)
    links: dict[str, set[Digest]] = field(default_factory=dict)
    manifests: dict[str, dict[str, RawManifest]] = field(default_factory=dict)
    calls: list[tuple[str, str, str]] = field(default_factory=list)
    #: digest -> bytes served instead of the real content (a corrupt source).
    corrupt: dict[Digest, bytes] = field(default_factory=dict)
    #: digests whose next upload breaks mid-stream with a TransportError (counted down).
    break_uploads: dict[Digest, int] = field(default_factory=dict)
    #: digests whose next reads serve one byte flipped (counted down).
    corrupt_reads: dict[Digest, int] = field(default_factory=dict)
    #: digests whose next reads break half-way with a TransportError (counted down).
    break_reads: dict[Digest, int] = field(default_factory=dict)
    mount_declined: bool = False
    #: seconds each chunk of an upload takes, to make uploads overlap.
    upload_delay: float = 0.0
    uploading: int = 0
    max_uploading: int = 0
    #: When set, repositories check blobs in batches (like ECR) from this many blobs on.
    batch_from: int | None = None
    #: Batch checks raise this (a registry that cannot answer them).
    batch_error: Exception | None = None

    def repository(self, repo: str) -> FakeRepository:
        if self.batch_from is not None:
            return FakeBatchRepository(self, repo)
        return FakeRepository(self, repo)

    def calls_of(self, op: str) -> list[tuple[str, str, str]]:
        return [c for c in self.calls if c[0] == op]

    def add_blob(self, repo: str, data: bytes) -> Digest:
        digest = Digest.of(data)
        self.blobs[digest] = data
        self.links.setdefault(repo, set()).add(digest)
        return digest

    def add_manifest(self, repo: str, raw: RawManifest, tag: str | None = None) -> None:
        refs = self.manifests.setdefault(repo, {})
        refs[str(raw.digest)] = raw
        if tag is not None:
            refs[tag] = raw

    def tag(self, repo: str, tag: str) -> RawManifest | None:
        return self.manifests.get(repo, {}).get(tag)


class FakeRepository:
    """Both ImageSource and ImageDestination for one repository of a FakeRegistry."""

    def __init__(self, registry: FakeRegistry, repository: str) -> None:
        self._registry = registry
        self._repository = repository

    @property
    def registry(self) -> str:
        return self._registry.name

    @property
    def repository(self) -> str:
        return self._repository

    def _log(self, op: str, arg: str) -> None:
        self._registry.calls.append((op, self._repository, arg))

    async def head_manifest(self, ref: str) -> Descriptor | None:
        self._log("head_manifest", ref)
        raw = self._registry.manifests.get(self._repository, {}).get(ref)
        return raw.descriptor if raw is not None else None

    async def get_manifest(self, ref: str) -> RawManifest:
        self._log("get_manifest", ref)
        raw = self._registry.manifests.get(self._repository, {}).get(ref)
        if raw is None:
            raise NotFound(
                "manifest unknown", status=404, code="MANIFEST_UNKNOWN", registry=self.registry
            )
        return raw

    def open_blob(self, descriptor: Descriptor) -> BlobStream:
        self._log("open_blob", str(descriptor.digest))
        return self._stream(descriptor, 0)

    def open_blob_at(self, descriptor: Descriptor, offset: int) -> BlobStream:
        """A ranged GET (the engine's ``RangedSource`` capability)."""
        self._log("open_blob_at", f"{descriptor.digest} {offset}")
        return self._stream(descriptor, offset)

    def _stream(self, descriptor: Descriptor, offset: int) -> BlobStream:
        registry = self._registry
        digest = descriptor.digest
        if digest not in registry.links.get(self._repository, set()):
            raise NotFound("blob unknown", status=404, code="BLOB_UNKNOWN", registry=self.registry)
        data = registry.corrupt.get(digest, registry.blobs[digest])[offset:]
        if registry.corrupt_reads.get(digest):
            registry.corrupt_reads[digest] -= 1
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        breaks_at = len(data) // 2 if registry.break_reads.get(digest) else None
        if breaks_at is not None:
            registry.break_reads[digest] -= 1

        @asynccontextmanager
        async def stream() -> AsyncIterator[AsyncIterator[bytes]]:
            async def chunks() -> AsyncIterator[bytes]:
                for i in range(0, len(data), CHUNK):
                    if breaks_at is not None and i + CHUNK > breaks_at:
                        yield data[i:breaks_at]
                        raise TransportError("connection reset by peer", registry=self.registry)
                    yield data[i : i + CHUNK]

            yield chunks()

        return stream()

    async def has_blob(self, digest: Digest) -> bool:
        self._log("has_blob", str(digest))
        return digest in self._registry.links.get(self._repository, set())

    async def mount_blob(self, digest: Digest, from_repository: str) -> bool:
        self._log("mount_blob", f"{digest} from {from_repository}")
        registry = self._registry
        if registry.mount_declined or digest not in registry.links.get(from_repository, set()):
            return False
        registry.links.setdefault(self._repository, set()).add(digest)
        return True

    async def put_blob(self, descriptor: Descriptor, chunks: AsyncIterator[bytes]) -> None:
        self._log("put_blob", str(descriptor.digest))
        registry = self._registry
        registry.uploading += 1
        registry.max_uploading = max(registry.max_uploading, registry.uploading)
        try:
            received = bytearray()
            async for chunk in chunks:
                received += chunk
                if registry.upload_delay:
                    await asyncio.sleep(registry.upload_delay)
                remaining = registry.break_uploads.get(descriptor.digest, 0)
                if remaining:
                    registry.break_uploads[descriptor.digest] = remaining - 1
                    raise TransportError("connection reset by peer", registry=self.registry)
            if Digest.of(bytes(received)) != descriptor.digest:
                raise ResponseError(
                    "digest invalid", status=400, code="DIGEST_INVALID", registry=self.registry
                )
            registry.blobs[descriptor.digest] = bytes(received)
            registry.links.setdefault(self._repository, set()).add(descriptor.digest)
        finally:
            registry.uploading -= 1

    async def put_manifest(self, ref: str, manifest: RawManifest) -> None:
        self._log("put_manifest", ref)
        registry = self._registry
        parsed = manifest.parse()
        linked = registry.links.get(self._repository, set())
        known = registry.manifests.get(self._repository, {})
        if isinstance(parsed, ImageManifest):
            missing = [b.digest for b in parsed.blobs if b.digest not in linked]
        else:
            missing = [m.digest for m in parsed.manifests if str(m.digest) not in known]
        if missing:
            raise ResponseError(
                f"manifest references unknown {missing[0]}",
                status=400,
                code="MANIFEST_BLOB_UNKNOWN",
                registry=self.registry,
            )
        if not ref.startswith("sha256:"):
            registry.add_manifest(self._repository, manifest, ref)
        else:
            assert ref == str(manifest.digest)
            registry.add_manifest(self._repository, manifest)


class FakeBatchRepository(FakeRepository):
    """A repository with the engine's ``BlobBatchCheck`` capability.

    ``has_blobs`` is logged with the number of digests asked about.
    """

    def worth_batching(self, count: int) -> bool:
        threshold = self._registry.batch_from
        return threshold is not None and count >= threshold

    async def has_blobs(self, digests: Sequence[Digest]) -> set[Digest]:
        self._log("has_blobs", str(len(digests)))
        if self._registry.batch_error is not None:
            raise self._registry.batch_error
        linked = self._registry.links.get(self._repository, set())
        return {d for d in digests if d in linked}


class FakeRegistries:
    """A ``repository(registry, repo)`` factory over several fake registries."""

    def __init__(self, *registries: FakeRegistry) -> None:
        self.by_name = {r.name: r for r in registries}

    def __call__(self, registry: str, repository: str) -> FakeRepository:
        return self.by_name[registry].repository(repository)


# -- building images ----------------------------------------------------------


def blob_descriptor(data: bytes, media_type: str) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": str(Digest.of(data)), "size": len(data)}


def image_manifest(
    config: bytes,
    layers: list[bytes],
    *,
    oci: bool = False,
    config_type: str | None = None,
    layer_types: list[str] | None = None,
    subject: RawManifest | None = None,
    extra: dict[str, Any] | None = None,
) -> RawManifest:
    """Deterministic manifest bytes for ``config`` and ``layers``."""
    media_type = OCI_MANIFEST if oci else DOCKER_MANIFEST
    if config_type is None:
        config_type = (
            "application/vnd.oci.image.config.v1+json"
            if oci
            else "application/vnd.docker.container.image.v1+json"
        )
    default_layer = (
        "application/vnd.oci.image.layer.v1.tar+gzip"
        if oci
        else "application/vnd.docker.image.rootfs.diff.tar.gzip"
    )
    types = layer_types or [default_layer] * len(layers)
    data: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": blob_descriptor(config, config_type),
        "layers": [blob_descriptor(layer, t) for layer, t in zip(layers, types, strict=True)],
    }
    if subject is not None:
        data["subject"] = {
            "mediaType": subject.media_type,
            "digest": str(subject.digest),
            "size": len(subject.body),
        }
    data.update(extra or {})
    return RawManifest(json.dumps(data, indent=3).encode(), media_type)


def index_manifest(
    children: list[tuple[RawManifest, Platform | None]], *, oci: bool = True
) -> RawManifest:
    media_type = OCI_INDEX if oci else DOCKER_MANIFEST_LIST
    entries = []
    for raw, platform in children:
        entry: dict[str, Any] = {
            "mediaType": raw.media_type,
            "digest": str(raw.digest),
            "size": len(raw.body),
        }
        if platform is not None:
            entry["platform"] = {"architecture": platform.architecture, "os": platform.os}
            if platform.variant:
                entry["platform"]["variant"] = platform.variant
        entries.append(entry)
    body = {"schemaVersion": 2, "mediaType": media_type, "manifests": entries}
    return RawManifest(json.dumps(body, indent=2).encode(), media_type)


def store_image(
    registry: FakeRegistry,
    repo: str,
    config: bytes,
    layers: list[bytes],
    tag: str | None = None,
    **kwargs: Any,
) -> RawManifest:
    """Put an image's blobs and manifest into ``registry/repo``."""
    for data in [config, *layers]:
        registry.add_blob(repo, data)
    raw = image_manifest(config, layers, **kwargs)
    registry.add_manifest(repo, raw, tag)
    return raw


def store_index(
    registry: FakeRegistry,
    repo: str,
    children: list[tuple[RawManifest, Platform | None]],
    tag: str | None = None,
    **kwargs: Any,
) -> RawManifest:
    raw = index_manifest(children, **kwargs)
    registry.add_manifest(repo, raw, tag)
    return raw


def parse(raw: RawManifest) -> ImageManifest | Index:
    return raw.parse()
