"""Tags that name one index, copied in one run into one docker-registry repository.

``app:2.0.0`` and ``app:latest`` naming the same index is the usual fleet
layout. Pushing the index's children twice at once made docker-registry
refuse the index now and then (400 DIGEST_INVALID / MANIFEST_BLOB_UNKNOWN):
its filesystem storage rewrites a manifest's files by truncating them first.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from imageferry.copy import CopyEngine
from imageferry.manifest import RawManifest
from imageferry.reference import Reference
from imageferry.registry import RegistryClient, RegistryStats
from imageferry.registry.repository import Repository
from stand_ins import skopeo
from stand_ins.images import push_index
from stand_ins.registry import LocalRegistry


class RecordingRepository(Repository):
    """The real repository, noting every manifest push it sends."""

    def __init__(self, pushes: list[tuple[str, str]], *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._pushes = pushes

    async def put_manifest(self, ref: str, manifest: RawManifest) -> None:
        self._pushes.append((self.repository, ref))
        await super().put_manifest(ref, manifest)


@pytest.fixture
async def client() -> AsyncIterator[RegistryClient]:
    async with RegistryClient(stats=RegistryStats()) as c:
        yield c


@pytest.mark.parametrize("fmt", ["docker", "oci"])
async def test_two_tags_of_one_index_push_each_child_once(
    client: RegistryClient,
    src_registry: LocalRegistry,
    dst_registry: LocalRegistry,
    tmp_oci_dir: Path,
    fmt: str,
) -> None:
    pushed = push_index(src_registry.url, "team/app", "2.0.0", fmt=fmt)  # type: ignore[arg-type]
    httpx.put(
        f"{src_registry.url}/v2/team/app/manifests/latest",
        content=pushed.body,
        headers={"Content-Type": pushed.media_type},
    ).raise_for_status()
    pushes: list[tuple[str, str]] = []

    def repository(registry: str, repo: str) -> Repository:
        return RecordingRepository(pushes, client.transport, registry, repo)

    results = await CopyEngine(repository).copy_many(
        [
            (
                Reference.parse(f"{src_registry.host}/team/app:{tag}"),
                Reference.parse(f"{dst_registry.host}/mirror/app:{tag}"),
            )
            for tag in ("2.0.0", "latest")
        ]
    )

    assert [r.status for r in results] == ["copied", "copied"], [r.error for r in results]
    children = sorted(("mirror/app", child.digest) for child in pushed.children)
    assert sorted(p for p in pushes if p[1].startswith("sha256:")) == children
    assert sorted(p for p in pushes if not p[1].startswith("sha256:")) == [
        ("mirror/app", "2.0.0"),
        ("mirror/app", "latest"),
    ]
    for tag in ("2.0.0", "latest"):
        assert skopeo.inspect_digest(f"{dst_registry.host}/mirror/app:{tag}") == pushed.digest
    skopeo.copy_to_oci_layout(f"{dst_registry.host}/mirror/app:latest", tmp_oci_dir)
