"""Helpers for registry functional tests: a minimal copy using only the client."""

from __future__ import annotations

from imageferry.manifest import Index, RawManifest
from imageferry.registry.repository import Repository


async def copy_tree(src: Repository, dst: Repository, ref: str) -> RawManifest:
    """Copy ``ref`` and everything it references, children and blobs first."""
    manifest = await src.get_manifest(ref)
    parsed = manifest.parse()
    if isinstance(parsed, Index):
        for child in parsed.manifests:
            await copy_tree(src, dst, str(child.digest))
    else:
        for blob in parsed.blobs:
            if not await dst.has_blob(blob.digest):
                async with src.open_blob(blob) as chunks:
                    await dst.put_blob(blob, chunks)
    await dst.put_manifest(ref, manifest)
    return manifest


async def read_blob(repo: Repository, descriptor: object) -> bytes:
    from imageferry.manifest import Descriptor

    assert isinstance(descriptor, Descriptor)
    async with repo.open_blob(descriptor) as chunks:
        return b"".join([chunk async for chunk in chunks])
