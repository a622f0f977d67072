"""The referrers tag schema, kept for a destination without the referrers API.

OCI distribution-spec 1.1, "Pushing Manifests with Subject": a registry with
the referrers API indexes a pushed manifest by its ``subject`` itself; for one
without it, the client pushing the manifest must add it to the image index
tagged ``sha256-<hex>`` of the subject (the "Referrers Tag Schema"), so that
clients find it there. A referrer found at the source through the API and
copied to such a destination is otherwise invisible there.

Each entry is what the API would list: the referrer's media type, digest and
size, its ``artifactType`` (or its config's media type) and its annotations.
Entries already in the index are kept, so referrers pushed by others stay.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from imageferry.copy.referrers import tag_for
from imageferry.digest import Digest
from imageferry.errors import UnsupportedManifest
from imageferry.manifest import OCI_INDEX, Descriptor, Index, RawManifest
from imageferry.reference import Reference

__all__ = ["IndexDestination", "index_referrers", "indexer", "referrer_entry"]


class IndexDestination(Protocol):
    """What keeping the tag schema asks of a destination repository."""

    async def list_referrers(self, digest: Digest) -> list[Descriptor] | None: ...

    async def head_manifest(self, ref: str) -> Descriptor | None: ...

    async def get_manifest(self, ref: str) -> RawManifest: ...

    async def put_manifest(self, ref: str, manifest: RawManifest) -> None: ...


def referrer_entry(referrer: RawManifest) -> dict[str, Any]:
    """The index entry for one referrer, as the referrers API would list it."""
    data = json.loads(referrer.body)
    entry: dict[str, Any] = {
        "mediaType": referrer.media_type,
        "digest": str(referrer.digest),
        "size": len(referrer.body),
    }
    config = data.get("config")
    artifact_type = data.get("artifactType") or (
        config.get("mediaType") if isinstance(config, dict) else None
    )
    if artifact_type:
        entry["artifactType"] = artifact_type
    if data.get("annotations"):
        entry["annotations"] = data["annotations"]
    return entry


async def index_referrers(
    destination: IndexDestination, subject: Digest, referrers: Sequence[Digest]
) -> bool:
    """List ``referrers`` (already in ``destination``) in ``subject``'s tag-schema index.

    Does nothing where the destination has the referrers API. Returns True
    when it pushed a new index. A tag ``sha256-<hex>`` holding something other
    than an index is left alone: :class:`UnsupportedManifest`.
    """
    if not referrers or await destination.list_referrers(subject) is not None:
        return False
    tag = tag_for(subject)
    entries: list[dict[str, Any]] = []
    if await destination.head_manifest(tag) is not None:
        current = await destination.get_manifest(tag)
        data = json.loads(current.body)
        if not isinstance(current.parse(), Index) or not isinstance(data.get("manifests"), list):
            raise UnsupportedManifest(
                f"the tag {tag} holds something other than a referrers index; left as it is"
            )
        entries = list(data["manifests"])
    listed = {str(entry.get("digest")) for entry in entries}
    added = 0
    for digest in dict.fromkeys(referrers):
        if str(digest) not in listed:
            entries.append(referrer_entry(await destination.get_manifest(str(digest))))
            added += 1
    if not added:
        return False
    body = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
    await destination.put_manifest(tag, RawManifest(json.dumps(body).encode(), OCI_INDEX))
    return True


def indexer(
    repository: Callable[[str, str], IndexDestination],
) -> Callable[[Reference, Digest, Sequence[Digest]], Awaitable[bool]]:
    """:func:`index_referrers` for ``walk_referrers``, opening destinations with ``repository``."""

    async def index(destination: Reference, subject: Digest, referrers: Sequence[Digest]) -> bool:
        target = repository(destination.registry, destination.repository)
        return await index_referrers(target, subject, referrers)

    return index
