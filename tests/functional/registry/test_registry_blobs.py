"""Blob upload (monolithic and chunked), download and cross-repository mount."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from functional.registry.registry_helpers import read_blob
from imageferry.digest import Digest
from imageferry.errors import ResponseError, SizeMismatch
from imageferry.manifest import Descriptor
from imageferry.registry.client import RegistryClient
from imageferry.registry.stats import RegistryStats
from stand_ins.images import random_bytes
from stand_ins.registry import LocalRegistry

LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def blob(seed: str, size: int) -> tuple[bytes, Descriptor]:
    data = random_bytes(seed, size)
    return data, Descriptor(LAYER, Digest.of(data), len(data))


async def chunks(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


@pytest.fixture
async def client() -> AsyncIterator[RegistryClient]:
    async with RegistryClient() as c:
        yield c


def fetched_by_httpx(registry: LocalRegistry, repo: str, digest: Digest) -> bytes:
    response = httpx.get(f"{registry.url}/v2/{repo}/blobs/{digest}", follow_redirects=True)
    response.raise_for_status()
    return response.content


async def test_monolithic_upload_and_download(
    registry: LocalRegistry, client: RegistryClient
) -> None:
    data, descriptor = blob("mono", 3 * 1024 * 1024 + 17)
    repo = client.repository(registry.host, "blobs/mono")
    assert not await repo.has_blob(descriptor.digest)
    await repo.put_blob(descriptor, chunks(data))
    assert await repo.has_blob(descriptor.digest)
    assert fetched_by_httpx(registry, "blobs/mono", descriptor.digest) == data
    assert await read_blob(repo, descriptor) == data


async def test_chunked_upload(registry: LocalRegistry) -> None:
    data, descriptor = blob("chunked", 2 * 1024 * 1024 + 5)
    async with RegistryClient(chunk_size=512 * 1024) as client:
        repo = client.repository(registry.host, "blobs/chunked")
        await repo.put_blob(descriptor, chunks(data, 100_000))
        assert await repo.has_blob(descriptor.digest)
        stats = client.stats
    assert fetched_by_httpx(registry, "blobs/chunked", descriptor.digest) == data
    assert isinstance(stats, RegistryStats)
    patches = sum(n for (_, method, _), n in stats.requests.items() if method == "PATCH")
    assert patches == 5


async def test_wrong_content_is_refused_by_the_registry(
    registry: LocalRegistry, client: RegistryClient
) -> None:
    data, descriptor = blob("liar", 10_000)
    other = random_bytes("other", 10_000)
    repo = client.repository(registry.host, "blobs/liar")
    with pytest.raises(ResponseError) as info:
        await repo.put_blob(descriptor, chunks(other))
    assert info.value.code == "DIGEST_INVALID"
    assert str(descriptor.digest) in str(info.value)
    assert not await repo.has_blob(descriptor.digest)
    with pytest.raises(SizeMismatch):
        await repo.put_blob(descriptor, chunks(data[:5000]))
    assert not await repo.has_blob(descriptor.digest)


async def test_mount_between_repositories(registry: LocalRegistry, client: RegistryClient) -> None:
    data, descriptor = blob("shared", 200_000)
    source = client.repository(registry.host, "team/base")
    await source.put_blob(descriptor, chunks(data))
    target = client.repository(registry.host, "team/app")
    assert not await target.has_blob(descriptor.digest)
    assert await target.mount_blob(descriptor.digest, "team/base") is True
    assert await target.has_blob(descriptor.digest)
    assert fetched_by_httpx(registry, "team/app", descriptor.digest) == data


async def test_mount_of_an_unknown_blob_is_declined(
    registry: LocalRegistry, client: RegistryClient
) -> None:
    _, descriptor = blob("nowhere", 1000)
    target = client.repository(registry.host, "team/app")
    assert await target.mount_blob(descriptor.digest, "team/base") is False
    assert not await target.has_blob(descriptor.digest)
