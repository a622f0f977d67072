"""Manifests of every kind go through the client byte for byte (checked by skopeo)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from functional.registry.registry_helpers import copy_tree
from imageferry.digest import Digest
from imageferry.errors import NotFound
from imageferry.manifest import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    OCI_INDEX,
    OCI_MANIFEST,
    Descriptor,
)
from imageferry.registry.client import RegistryClient
from stand_ins import skopeo
from stand_ins.images import PushedManifest, push_artifact, push_image, push_index
from stand_ins.registry import LocalRegistry


@pytest.fixture
async def client() -> AsyncIterator[RegistryClient]:
    async with RegistryClient() as c:
        yield c


KINDS: dict[str, tuple[str, Callable[[str], PushedManifest]]] = {
    "docker image": (DOCKER_MANIFEST, lambda url: push_image(url, "app/docker", "v1")),
    "oci image": (OCI_MANIFEST, lambda url: push_image(url, "app/oci", "v1", fmt="oci")),
    "docker manifest list": (
        DOCKER_MANIFEST_LIST,
        lambda url: push_index(url, "app/list", "v1", fmt="docker"),
    ),
    "oci index": (
        OCI_INDEX,
        lambda url: push_index(
            url, "app/index", "v1", ("linux/amd64", "linux/arm64/v8"), fmt="oci"
        ),
    ),
    "oci artifact": (OCI_MANIFEST, lambda url: push_artifact(url, "app/sbom", "v1")),
}


@pytest.mark.parametrize("kind", list(KINDS))
async def test_manifest_round_trips_byte_identical(
    kind: str, src_registry: LocalRegistry, dst_registry: LocalRegistry, client: RegistryClient
) -> None:
    media_type, push = KINDS[kind]
    pushed = push(src_registry.url)
    src = client.repository(src_registry.host, pushed.repository)
    dst = client.repository(dst_registry.host, f"copied/{pushed.repository}")

    head = await src.head_manifest("v1")
    assert head == Descriptor(media_type, Digest.parse(pushed.digest), len(pushed.body))
    manifest = await copy_tree(src, dst, "v1")

    assert manifest.body == pushed.body
    assert manifest.media_type == media_type
    assert str(manifest.digest) == pushed.digest
    assert skopeo.inspect_digest(f"{dst_registry.host}/copied/{pushed.repository}:v1") == (
        pushed.digest
    )
    assert (await dst.head_manifest("v1")) == head
    assert (await dst.head_manifest(pushed.digest)) == head


async def test_untagged_manifest_by_digest(
    src_registry: LocalRegistry, dst_registry: LocalRegistry, client: RegistryClient
) -> None:
    pushed = push_image(src_registry.url, "app/untagged", None, fmt="oci")
    src = client.repository(src_registry.host, "app/untagged")
    dst = client.repository(dst_registry.host, "app/untagged")
    await copy_tree(src, dst, pushed.digest)
    assert skopeo.inspect_digest(f"{dst_registry.host}/app/untagged@{pushed.digest}") == (
        pushed.digest
    )
    assert await dst.head_manifest(pushed.digest) == pushed.descriptor


async def test_copied_image_is_complete_for_an_independent_client(
    src_registry: LocalRegistry,
    dst_registry: LocalRegistry,
    client: RegistryClient,
    tmp_oci_dir: object,
) -> None:
    pushed = push_index(src_registry.url, "app/multi", "v2", layers=3, layer_size=300_000)
    src = client.repository(src_registry.host, "app/multi")
    dst = client.repository(dst_registry.host, "mirror/app/multi")
    await copy_tree(src, dst, "v2")
    # skopeo pulls every blob of every platform and verifies their digests.
    skopeo.copy_to_oci_layout(f"{dst_registry.host}/mirror/app/multi:v2", str(tmp_oci_dir))
    assert skopeo.inspect_digest(f"{dst_registry.host}/mirror/app/multi:v2") == pushed.digest


async def test_missing_tag_is_not_found_naming_the_tag(
    registry: LocalRegistry, client: RegistryClient
) -> None:
    push_image(registry.url, "app/present", "v1")
    repo = client.repository(registry.host, "app/present")
    assert await repo.head_manifest("nope") is None
    with pytest.raises(NotFound) as info:
        await repo.get_manifest("nope")
    message = str(info.value)
    assert f"{registry.host}/app/present:nope" in message
    assert "MANIFEST_UNKNOWN" in message
    assert info.value.status == 404


async def test_missing_repository_is_not_found(
    registry: LocalRegistry, client: RegistryClient
) -> None:
    repo = client.repository(registry.host, "no/such/repo")
    assert await repo.head_manifest("latest") is None
    with pytest.raises(NotFound, match="no/such/repo"):
        await repo.get_manifest("latest")
    with pytest.raises(NotFound, match="no/such/repo"):
        await client.list_tags(registry.host, "no/such/repo")
