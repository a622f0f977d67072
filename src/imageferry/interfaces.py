"""What the copy engine sees of a registry: one source and one destination repository.

The engine (``imageferry.copy``) never speaks HTTP; it talks to these
interfaces, which :mod:`imageferry.registry` implements for the OCI
distribution API. Call order on a destination, which the engine keeps:

1. blobs (config and layers) of an image, via :meth:`ImageDestination.has_blob`,
   :meth:`ImageDestination.mount_blob` or :meth:`ImageDestination.put_blob`;
2. then the image manifest, pushed by digest;
3. for an index, every child manifest by digest, then the index by digest;
4. the tag last, so no tag ever points at something incomplete.

The chunks the engine hands to :meth:`ImageDestination.put_blob` may also be
:class:`ResumableChunks`: a destination that can resume a broken upload asks
them to go back to where the registry says the upload stands.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Protocol, runtime_checkable

from imageferry.digest import Digest
from imageferry.manifest import Descriptor, RawManifest

__all__ = ["BlobStream", "ImageDestination", "ImageSource", "ResumableChunks"]

#: An open blob: an async iterator of byte chunks, closed when the context exits.
BlobStream = AbstractAsyncContextManager[AsyncIterator[bytes]]


@runtime_checkable
class ResumableChunks(Protocol):
    """A blob's verified chunks that can go back to an earlier offset.

    Call order: :meth:`read` (or iterate) from the start; :meth:`mark` each
    time the registry has acknowledged every byte read so far; after a broken
    request, :meth:`rewind` to the offset the registry reports holding, which
    lies between the last mark and what was read. Reading on continues from
    there, and the digest check at the end still covers every byte.
    """

    def __aiter__(self) -> AsyncIterator[bytes]: ...

    async def __anext__(self) -> bytes: ...

    async def read(self, limit: int) -> bytes:
        """Up to ``limit`` bytes; ``b""`` at the end, once size and digest are verified."""

    def mark(self) -> None:
        """The destination holds every byte read so far."""

    async def rewind(self, offset: int) -> bool:
        """Continue from ``offset``; False when that is impossible (the upload must restart)."""


class ImageSource(Protocol):
    """The read side of one repository on one registry."""

    @property
    def registry(self) -> str:
        """The registry's host[:port] as the user named it (``docker.io`` ...)."""

    @property
    def repository(self) -> str: ...

    async def head_manifest(self, ref: str) -> Descriptor | None:
        """Descriptor of the manifest at tag or digest ``ref``, or None if absent."""

    async def get_manifest(self, ref: str) -> RawManifest:
        """The manifest bytes at tag or digest ``ref``. Raises NotFound if absent."""

    def open_blob(self, descriptor: Descriptor) -> BlobStream:
        """Stream a blob's bytes. The caller verifies size and digest."""


class ImageDestination(Protocol):
    """The write side of one repository on one registry."""

    @property
    def registry(self) -> str: ...

    @property
    def repository(self) -> str: ...

    async def head_manifest(self, ref: str) -> Descriptor | None: ...

    async def has_blob(self, digest: Digest) -> bool:
        """True when the blob already exists in this repository."""

    async def mount_blob(self, digest: Digest, from_repository: str) -> bool:
        """Cross-repository mount within this registry; False when the registry declined."""

    async def put_blob(self, descriptor: Descriptor, chunks: AsyncIterator[bytes]) -> None:
        """Upload a blob from a stream of chunks.

        The registry verifies the digest on commit; callers also verify as they
        stream (see :class:`imageferry.digest.Verifier`) and abort by raising
        from ``chunks``, which abandons the upload.
        """

    async def put_manifest(self, ref: str, manifest: RawManifest) -> None:
        """Push manifest bytes unchanged, at a tag or at its digest."""
