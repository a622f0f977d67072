"""A registry remapped to a mirror location (containers-registries.conf style)."""

from __future__ import annotations

from imageferry.registry.client import RegistryClient
from imageferry.registry.config import RegistryConfig
from stand_ins.images import push_image
from stand_ins.registry import LocalRegistry


async def test_docker_hub_served_by_a_loopback_mirror(registry: LocalRegistry) -> None:
    pushed = push_image(registry.url, "library/alpine", "3.20")
    config = RegistryConfig(mirrors={"docker.io": registry.host})
    async with RegistryClient(config) as client:
        repo = client.repository("docker.io", "library/alpine")
        assert repo.name == "docker.io/library/alpine"
        assert await repo.head_manifest("3.20") == pushed.descriptor
        assert await client.list_tags("docker.io", "library/alpine") == ["3.20"]


async def test_mirror_namespace_prefixes_the_repository(registry: LocalRegistry) -> None:
    pushed = push_image(registry.url, "hub-cache/library/busybox", "1.36", fmt="oci")
    config = RegistryConfig(mirrors={"docker.io": f"{registry.host}/hub-cache"})
    async with RegistryClient(config) as client:
        manifest = await client.repository("docker.io", "library/busybox").get_manifest("1.36")
    assert manifest.body == pushed.body
