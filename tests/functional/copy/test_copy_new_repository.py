"""A repository that does not exist yet needs no blob or manifest HEADs."""

from imageferry.copy import CopyEngine
from imageferry.reference import Reference
from imageferry.registry import RegistryClient, RegistryStats
from imageferry.sandbox.images import push_image
from imageferry.sandbox.skopeo import inspect_digest


def requests(stats: RegistryStats, registry: str, method: str) -> int:
    return sum(n for (r, m, _), n in stats.requests.items() if r == registry and m == method)


async def test_new_repository_is_probed_once_instead_of_a_head_per_blob(src_registry, dst_registry):
    pushed = [push_image(src_registry.url, "app", tag, layers=6, seed=tag) for tag in ("v1", "v2")]
    stats = RegistryStats()
    async with RegistryClient(stats=stats) as client:
        results = await CopyEngine(client.repository).copy_many(
            [
                (Reference.parse(f"{src_registry.host}/app:{t}"),
                 Reference.parse(f"{dst_registry.host}/app:{t}"))
                for t in ("v1", "v2")
            ]
        )  # fmt: skip
    assert [r.status for r in results] == ["copied", "copied"], [r.error for r in results]
    # Two tag HEADs for the skip check, one tags/list probe, no blob HEADs.
    assert requests(stats, dst_registry.host, "HEAD") == 2
    assert requests(stats, dst_registry.host, "GET") == 1
    for p, t in zip(pushed, ("v1", "v2"), strict=True):
        assert inspect_digest(f"{dst_registry.host}/app:{t}") == p.digest


async def test_existing_repository_still_checks_blobs_and_reuses_them(src_registry, dst_registry):
    base = [b"shared base layer " * 500]
    push_image(src_registry.url, "app", "v1", layers=1, seed="v1", base_layers=base)
    pushed = push_image(src_registry.url, "app", "v2", layers=1, seed="v2", base_layers=base)
    src = Reference.parse(f"{src_registry.host}/app:v1")
    async with RegistryClient() as client:
        first = await CopyEngine(client.repository).copy(
            src, Reference.parse(f"{dst_registry.host}/app:v1")
        )
        assert first.status == "copied", first.error
    stats = RegistryStats()
    async with RegistryClient(stats=stats) as client:
        second = await CopyEngine(client.repository).copy(
            Reference.parse(f"{src_registry.host}/app:v2"),
            Reference.parse(f"{dst_registry.host}/app:v2"),
        )
    assert second.status == "copied", second.error
    # The shared base layer is found by a HEAD in the existing repository and not sent.
    assert second.bytes_reused >= len(base[0])
    assert requests(stats, dst_registry.host, "HEAD") >= 3  # tag, manifest, blobs
    assert inspect_digest(f"{dst_registry.host}/app:v2") == pushed.digest
