"""tags/list and _catalog pagination against docker-registry."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from imageferry.registry.client import RegistryClient
from imageferry.registry.stats import RegistryStats
from stand_ins import skopeo
from stand_ins.images import push_image
from stand_ins.registry import LocalRegistry


@pytest.fixture
async def client() -> AsyncIterator[RegistryClient]:
    async with RegistryClient() as c:
        yield c


async def test_tags_are_paginated_with_n(registry: LocalRegistry, client: RegistryClient) -> None:
    pushed = push_image(registry.url, "app/many", "t00")
    repo = client.repository(registry.host, "app/many")
    manifest = await repo.get_manifest("t00")
    tags = [f"t{i:02d}" for i in range(11)]
    for tag in tags[1:]:
        await repo.put_manifest(tag, manifest)

    # distribution 2.8 (Debian's docker-registry) answers tags/list in one page
    # whatever n says; Link-following for tags is covered by the unit tests and
    # here by the catalog, which this registry does paginate.
    listed = await client.list_tags(registry.host, "app/many", page_size=2)

    assert sorted(listed) == tags
    assert len(listed) == len(set(listed))
    assert sorted(listed) == skopeo.list_tags(f"{registry.host}/app/many")
    assert await client.list_tags(registry.host, "app/many") == listed
    assert pushed.digest == str(manifest.digest)


async def test_catalog_is_paginated(registry: LocalRegistry, client: RegistryClient) -> None:
    names = ["a/one", "a/two", "b/nested/three", "c", "d/four", "e/five/six/seven"]
    for name in names:
        push_image(registry.url, name, "v1", layers=1, seed=name)
    stats = client.stats
    assert isinstance(stats, RegistryStats)
    before = stats.requests[(registry.host, "GET", 200)]
    assert await client.catalog(registry.host, page_size=2) == sorted(names)
    # 6 repositories, 2 per page: 3 pages, and a 4th when the registry links to
    # an empty last page; never one big page.
    assert stats.requests[(registry.host, "GET", 200)] - before in (3, 4)
    assert await client.catalog(registry.host) == sorted(names)
