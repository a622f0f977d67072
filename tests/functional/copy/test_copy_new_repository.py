"""A repository that does not exist yet needs no blob or manifest HEADs, and one tag HEAD."""

from imageferry.copy import CopyEngine
from imageferry.reference import Reference
from imageferry.registry import RegistryClient, RegistryStats
from stand_ins.images import push_image
from stand_ins.skopeo import inspect_digest


def ref(host: str, path: str) -> Reference:
    return Reference.parse(f"{host}/{path}")


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
    # One tag HEAD (the first image's: 404), one tags/list probe (no tags), so no
    # HEAD for the other tag, nor for any manifest or blob.
    assert requests(stats, dst_registry.host, "HEAD") == 1
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


async def test_rerun_asks_for_every_tag_and_a_new_tag_in_a_used_repository_too(
    src_registry, dst_registry
):
    for i in range(4):
        push_image(src_registry.url, "team/app", f"v{i}", layers=1, layer_size=1000, seed=i)

    def pairs(*versions):
        return [
            (ref(src_registry.host, f"team/app:v{i}"), ref(dst_registry.host, f"team/app:v{i}"))
            for i in versions
        ]

    async def copy(versions):
        stats = RegistryStats()
        async with RegistryClient(stats=stats) as client:
            results = await CopyEngine(client.repository).copy_many(pairs(*versions))
        return [r.status for r in results], stats

    statuses, _ = await copy(range(4))
    assert statuses == ["copied"] * 4

    # A re-run: every image asks for its tag, finds it, and is skipped.
    statuses, stats = await copy(range(4))
    assert statuses == ["skipped"] * 4
    assert stats.requests[(dst_registry.host, "HEAD", 200)] == 4
    assert requests(stats, dst_registry.host, "HEAD") == 4

    # New tags in a repository that has tags: each is asked for (404), and so
    # are their manifests and blobs.
    for i in (4, 5):
        push_image(src_registry.url, "team/app", f"v{i}", layers=1, layer_size=1000, seed=i)
    statuses, stats = await copy((4, 5))
    assert statuses == ["copied"] * 2
    assert stats.requests[(dst_registry.host, "HEAD", 404)] == 2 + 2 + 4
    for i in range(6):
        assert inspect_digest(f"{dst_registry.host}/team/app:v{i}") == inspect_digest(
            f"{src_registry.host}/team/app:v{i}"
        )
