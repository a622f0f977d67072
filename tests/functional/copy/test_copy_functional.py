"""The copy engine with the real registry client against real docker-registry servers.

Every copy is checked by skopeo, an independent client: the destination serves
the same manifest digest as the source, and ``skopeo copy`` of the destination
into an OCI layout (which fetches and verifies every blob) succeeds.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from imageferry.copy import CopyEngine, CopyOptions
from imageferry.errors import DigestMismatch
from imageferry.manifest import Platform
from imageferry.reference import Reference
from imageferry.registry import Credentials, RegistryClient, RegistryStats, StaticCredentials
from stand_ins import skopeo
from stand_ins.images import (
    push_artifact,
    push_foreign_layer_image,
    push_image,
    push_index,
    push_large_image,
    random_bytes,
)
from stand_ins.registry import LocalRegistry


@pytest.fixture
async def client() -> AsyncIterator[RegistryClient]:
    async with RegistryClient(stats=RegistryStats()) as c:
        yield c


def ref(registry: LocalRegistry, path: str) -> Reference:
    return Reference.parse(f"{registry.host}/{path}")


def assert_same_image(
    src: LocalRegistry, src_path: str, dst: LocalRegistry, dst_path: str, layout: Path
) -> str:
    digest = skopeo.inspect_digest(f"{src.host}/{src_path}")
    assert skopeo.inspect_digest(f"{dst.host}/{dst_path}") == digest
    skopeo.copy_to_oci_layout(f"{dst.host}/{dst_path}", layout)
    return digest


def tags(registry: LocalRegistry, repo: str) -> list[str]:
    response = httpx.get(f"{registry.url}/v2/{repo}/tags/list")
    if response.status_code == 404:
        return []
    return sorted(response.json().get("tags") or [])


@pytest.mark.parametrize("fmt", ["docker", "oci"])
async def test_copy_single_image_then_skip(
    client: RegistryClient,
    src_registry: LocalRegistry,
    dst_registry: LocalRegistry,
    tmp_oci_dir: Path,
    fmt: str,
) -> None:
    pushed = push_image(
        src_registry.url,
        "team/app",
        "v1",
        fmt=fmt,
        layers=3,  # type: ignore[arg-type]
        layer_size=50_000,
        seed=fmt,
    )
    engine = CopyEngine(client.repository)
    src, dst = ref(src_registry, "team/app:v1"), ref(dst_registry, "mirror/team/app:v1")

    first = await engine.copy(src, dst)

    assert first.status == "copied", first.error
    assert first.digest == pushed.digest
    assert first.bytes_transferred >= 3 * 50_000
    assert (
        assert_same_image(
            src_registry, "team/app:v1", dst_registry, "mirror/team/app:v1", tmp_oci_dir
        )
        == pushed.digest
    )

    second = await CopyEngine(client.repository).copy(src, dst)
    assert second.status == "skipped"
    assert second.digest == pushed.digest
    assert second.bytes_transferred == 0


@pytest.mark.parametrize("fmt", ["docker", "oci"])
async def test_copy_multi_arch_preserves_the_index_digest(
    client: RegistryClient,
    src_registry: LocalRegistry,
    dst_registry: LocalRegistry,
    tmp_oci_dir: Path,
    fmt: str,
) -> None:
    pushed = push_index(
        src_registry.url, "app", "v1", ("linux/amd64", "linux/arm64", "linux/arm/v7"), fmt=fmt
    )  # type: ignore[arg-type]

    result = await CopyEngine(client.repository).copy(
        ref(src_registry, "app:v1"), ref(dst_registry, "app:v1")
    )

    assert result.status == "copied", result.error
    assert result.digest == pushed.digest
    assert_same_image(src_registry, "app:v1", dst_registry, "app:v1", tmp_oci_dir)
    for child in pushed.children:
        assert skopeo.inspect_digest(f"{dst_registry.host}/app@{child.digest}") == child.digest


async def test_platform_filter_pushes_a_new_index_with_only_those_platforms(
    client: RegistryClient,
    src_registry: LocalRegistry,
    dst_registry: LocalRegistry,
    tmp_oci_dir: Path,
) -> None:
    pushed = push_index(
        src_registry.url, "app", "v1", ("linux/amd64", "linux/arm64", "linux/s390x"), fmt="oci"
    )
    options = CopyOptions(platforms=(Platform("linux", "amd64"), Platform("linux", "s390x")))

    result = await CopyEngine(client.repository).copy(
        ref(src_registry, "app:v1"), ref(dst_registry, "app:v1"), options
    )

    assert result.status == "copied", result.error
    served = skopeo.inspect_raw(f"{dst_registry.host}/app:v1")
    assert result.digest == skopeo.inspect_digest(f"{dst_registry.host}/app:v1") != pushed.digest
    platforms = [m["platform"]["architecture"] for m in json.loads(served)["manifests"]]
    assert platforms == ["amd64", "s390x"]
    assert any("new index" in note for note in result.notes)
    skopeo.copy_to_oci_layout(f"{dst_registry.host}/app:v1", tmp_oci_dir)


async def test_system_mode_copies_one_platform(
    client: RegistryClient, src_registry: LocalRegistry, dst_registry: LocalRegistry
) -> None:
    pushed = push_index(src_registry.url, "app", "v1", ("linux/amd64", "linux/arm64"))
    arm = pushed.children[1]
    options = CopyOptions(multi_arch="system", system_platform=Platform("linux", "arm64"))

    result = await CopyEngine(client.repository).copy(
        ref(src_registry, "app:v1"), ref(dst_registry, "app:v1"), options
    )

    assert result.status == "copied", result.error
    assert skopeo.inspect_digest(f"{dst_registry.host}/app:v1") == arm.digest == result.digest
    again = await CopyEngine(client.repository).copy(
        ref(src_registry, "app:v1"), ref(dst_registry, "app:v1"), options
    )
    assert again.status == "skipped"


async def test_platform_filter_on_a_single_image_of_another_platform_fails(
    client: RegistryClient, src_registry: LocalRegistry, dst_registry: LocalRegistry
) -> None:
    pushed = push_image(src_registry.url, "app", "v1", platform=Platform("linux", "amd64"))
    engine = CopyEngine(client.repository)
    src = ref(src_registry, "app:v1")

    wrong = await engine.copy(
        src, ref(dst_registry, "app:arm"), CopyOptions(platforms=(Platform("linux", "arm64"),))
    )
    either = await engine.copy(
        src,
        ref(dst_registry, "app:any"),
        CopyOptions(platforms=(Platform("linux", "arm64"), Platform("linux", "amd64"))),
    )

    assert wrong.status == "failed"
    assert wrong.error is not None
    assert "single linux/amd64 image" in wrong.error and "linux/arm64" in wrong.error
    assert either.status == "copied", either.error
    assert any("platform filter not applied" in note for note in either.notes)
    assert tags(dst_registry, "app") == ["any"]
    assert skopeo.inspect_digest(f"{dst_registry.host}/app:any") == pushed.digest


async def test_copy_artifact_with_custom_config_type(
    client: RegistryClient,
    src_registry: LocalRegistry,
    dst_registry: LocalRegistry,
    tmp_oci_dir: Path,
) -> None:
    image = push_image(src_registry.url, "app", "v1", fmt="oci")
    push_artifact(src_registry.url, "app", "sbom", subject=image)

    results = await CopyEngine(client.repository).copy_many(
        [
            (ref(src_registry, "app:v1"), ref(dst_registry, "app:v1")),
            (ref(src_registry, "app:sbom"), ref(dst_registry, "app:sbom")),
        ]
    )

    assert [r.status for r in results] == ["copied", "copied"], [r.error for r in results]
    assert_same_image(src_registry, "app:sbom", dst_registry, "app:sbom", tmp_oci_dir)
    body = json.loads(skopeo.inspect_raw(f"{dst_registry.host}/app:sbom"))
    assert body["config"]["mediaType"] == "application/vnd.example.config.v1+json"
    assert body["subject"]["digest"] == image.digest


async def test_copy_untagged_image_by_digest(
    client: RegistryClient,
    src_registry: LocalRegistry,
    dst_registry: LocalRegistry,
    tmp_oci_dir: Path,
) -> None:
    pushed = push_image(src_registry.url, "app", None)
    path = f"app@{pushed.digest}"

    result = await CopyEngine(client.repository).copy(
        ref(src_registry, path), ref(dst_registry, path)
    )

    assert result.status == "copied", result.error
    assert_same_image(src_registry, path, dst_registry, path, tmp_oci_dir)
    assert tags(dst_registry, "app") == []


@pytest.mark.parametrize("named", ["app:prod@{digest}", "app@{digest}"])
async def test_destination_naming_another_digest_is_refused_and_tags_nothing(
    client: RegistryClient, src_registry: LocalRegistry, dst_registry: LocalRegistry, named: str
) -> None:
    push_image(src_registry.url, "app", "v1", seed="app")
    other = push_image(src_registry.url, "other", "v1", seed="other")

    result = await CopyEngine(client.repository).copy(
        ref(src_registry, "app:v1"), ref(dst_registry, named.format(digest=other.digest))
    )

    assert result.status == "failed"
    assert result.error is not None
    assert "not the digest named by the destination" in result.error
    assert tags(dst_registry, "app") == []


async def test_shared_layers_cross_the_network_once(
    src_registry: LocalRegistry, dst_registry: LocalRegistry
) -> None:
    base = [random_bytes("shared-base", 300_000)]
    for i in range(5):
        push_image(
            src_registry.url, f"svc{i}", "v1", base_layers=base, layers=1, layer_size=1000, seed=i
        )
    stats = RegistryStats()
    pairs = [
        (ref(src_registry, f"svc{i}:v1"), ref(dst_registry, f"mirror/svc{i}:v1")) for i in range(5)
    ]

    async with RegistryClient(stats=stats) as client:
        results = await CopyEngine(client.repository, max_images=5).copy_many(pairs)

    assert [r.status for r in results] == ["copied"] * 5, [r.error for r in results]
    assert sum(r.bytes_reused for r in results) == 4 * 300_000
    assert sum(r.bytes_transferred for r in results) < 2 * 300_000
    # Every image arrived whole: skopeo pulls each.
    for i in range(5):
        assert skopeo.inspect_digest(
            f"{dst_registry.host}/mirror/svc{i}:v1"
        ) == skopeo.inspect_digest(f"{src_registry.host}/svc{i}:v1")
    # The four other images got the base by cross-repository mount (201 Created).
    assert stats.requests[(dst_registry.host, "POST", 201)] == 4


async def test_copy_many_layer_image(
    client: RegistryClient,
    src_registry: LocalRegistry,
    dst_registry: LocalRegistry,
    tmp_oci_dir: Path,
) -> None:
    pushed = push_image(src_registry.url, "big/many", "v1", layers=60, layer_size=2000)

    result = await CopyEngine(client.repository, max_blobs=8).copy(
        ref(src_registry, "big/many:v1"), ref(dst_registry, "big/many:v1")
    )

    assert result.status == "copied", result.error
    assert result.digest == pushed.digest
    assert_same_image(src_registry, "big/many:v1", dst_registry, "big/many:v1", tmp_oci_dir)


async def test_missing_tag_fails_and_tags_nothing(
    client: RegistryClient, src_registry: LocalRegistry, dst_registry: LocalRegistry
) -> None:
    push_image(src_registry.url, "app", "v1")
    src = ref(src_registry, "app:nope")

    result = await CopyEngine(client.repository).copy(src, ref(dst_registry, "app:nope"))

    assert result.status == "failed"
    assert result.error is not None and "\n" not in result.error
    assert result.error.startswith(f"{src}: ")
    assert "MANIFEST_UNKNOWN" in result.error or "manifest unknown" in result.error
    assert tags(dst_registry, "app") == []


async def test_auth_failure_at_destination_fails_and_tags_nothing(
    client: RegistryClient, src_registry: LocalRegistry, basic_registry: LocalRegistry
) -> None:
    push_image(src_registry.url, "app", "v1")
    wrong = StaticCredentials({basic_registry.host: Credentials("alice", "wrong-password")})

    async with RegistryClient(credentials=wrong) as bad_client:
        result = await CopyEngine(bad_client.repository).copy(
            ref(src_registry, "app:v1"), ref(basic_registry, "app:v1")
        )

    assert result.status == "failed"
    assert result.error is not None and "\n" not in result.error
    assert "wrong-password" not in result.error
    user, password = next(iter(basic_registry.users.items()))
    listed = httpx.get(f"{basic_registry.url}/v2/app/tags/list", auth=(user, password))
    assert listed.status_code == 404 or not listed.json().get("tags")


async def test_corrupt_blob_in_source_storage_is_caught_and_nothing_is_tagged(
    client: RegistryClient, src_registry: LocalRegistry, dst_registry: LocalRegistry
) -> None:
    pushed = push_image(src_registry.url, "app", "v1", layers=2, layer_size=10_000)
    descriptor = json.loads(pushed.body)["layers"][1]
    layer = descriptor["digest"].removeprefix("sha256:")
    # distribution's filesystem driver: blobs/sha256/<2 hex>/<hex>/data, served unchecked.
    (data,) = src_registry.data_dir.rglob(f"blobs/sha256/{layer[:2]}/{layer}/data")
    data.write_bytes(random_bytes("corruption", descriptor["size"]))  # same size, other bytes

    result = await CopyEngine(client.repository, retry_delay=0.05).copy(
        ref(src_registry, "app:v1"), ref(dst_registry, "app:v1")
    )

    assert result.status == "failed"
    assert result.exception is not None and isinstance(result.exception.cause, DigestMismatch)
    assert result.retries == 2  # fetched three times: a corrupt store stays corrupt
    assert tags(dst_registry, "app") == []
    head = httpx.head(f"{dst_registry.url}/v2/app/blobs/sha256:{layer}")
    assert head.status_code == 404


async def test_foreign_layers_are_left_out_with_a_note(
    client: RegistryClient, src_registry: LocalRegistry, dst_registry: LocalRegistry
) -> None:
    pushed = push_foreign_layer_image(src_registry.url, "win", "v1")

    result = await CopyEngine(client.repository).copy(
        ref(src_registry, "win:v1"), ref(dst_registry, "win:v1")
    )

    assert result.status == "copied", result.error
    assert skopeo.inspect_digest(f"{dst_registry.host}/win:v1") == pushed.digest
    assert any("non-distributable" in note for note in result.notes)


async def test_foreign_layers_asked_for_later_are_sent_though_the_manifest_is_there(
    client: RegistryClient, src_registry: LocalRegistry, dst_registry: LocalRegistry
) -> None:
    pushed = push_foreign_layer_image(src_registry.url, "win", "v1", store_foreign=True)
    foreign = next(
        layer for layer in json.loads(pushed.body)["layers"] if "foreign" in layer["mediaType"]
    )
    engine = CopyEngine(client.repository)
    first = await engine.copy(ref(src_registry, "win:v1"), ref(dst_registry, "win:v1"))
    assert first.status == "copied", first.error

    # Another tag of the same repository, now with foreign layers: the registry
    # took the manifest without that layer, so it must still be sent.
    second = await CopyEngine(client.repository).copy(
        ref(src_registry, "win:v1"),
        ref(dst_registry, "win:v1-full"),
        CopyOptions(include_foreign_layers=True),
    )

    assert second.status == "copied", second.error
    assert second.bytes_transferred == foreign["size"]
    blob = httpx.head(f"{dst_registry.url}/v2/win/blobs/{foreign['digest']}")
    assert blob.status_code == 200
    assert skopeo.inspect_digest(f"{dst_registry.host}/win:v1-full") == pushed.digest


async def test_dry_run_writes_nothing(
    client: RegistryClient, src_registry: LocalRegistry, dst_registry: LocalRegistry
) -> None:
    push_image(src_registry.url, "app", "v1", layers=2, layer_size=5000)

    (planned,) = await CopyEngine(client.repository).dry_run(
        [(ref(src_registry, "app:v1"), ref(dst_registry, "app:v1"))]
    )

    assert planned.status == "would-copy", planned.error
    assert planned.bytes_missing == planned.bytes_total >= 10_000
    assert tags(dst_registry, "app") == []


async def test_copy_between_repositories_of_one_registry_mounts_every_blob(
    registry: LocalRegistry, tmp_oci_dir: Path
) -> None:
    push_image(registry.url, "team/app", "v1", layers=2, layer_size=40_000)
    stats = RegistryStats()

    async with RegistryClient(stats=stats) as client:
        result = await CopyEngine(client.repository).copy(
            ref(registry, "team/app:v1"), ref(registry, "archive/app:v1")
        )

    assert result.status == "copied", result.error
    assert result.bytes_transferred == 0
    assert result.bytes_reused >= 80_000
    assert stats.requests[(registry.host, "POST", 201)] == 3  # config and two layers mounted
    assert_same_image(registry, "team/app:v1", registry, "archive/app:v1", tmp_oci_dir)


@pytest.mark.parametrize("auth", ["basic", "token"])
async def test_copy_between_authenticated_registries(
    request: pytest.FixtureRequest, registry: LocalRegistry, auth: str, tmp_oci_dir: Path
) -> None:
    secured: LocalRegistry = request.getfixturevalue(f"{auth}_registry")
    ((user, password),) = secured.users.items()
    push_index(registry.url, "app", "v1", fmt="oci")
    pushed = push_image(registry.url, "app", "v2", layers=2)
    creds = StaticCredentials({secured.host: Credentials(user, password)})

    async with RegistryClient(credentials=creds) as client:
        engine = CopyEngine(client.repository)
        there = await engine.copy_many(
            [
                (ref(registry, "app:v1"), ref(secured, "team/app:v1")),
                (ref(registry, "app:v2"), ref(secured, "team/app:v2")),
            ]
        )
        # And back out of the secured registry into another repository.
        back = await engine.copy(ref(secured, "team/app:v2"), ref(registry, "copy/app:v2"))

    assert [r.status for r in there] == ["copied", "copied"], [r.error for r in there]
    assert back.status == "copied", back.error
    assert (
        skopeo.inspect_digest(f"{secured.host}/team/app:v2", creds=(user, password))
        == pushed.digest
    )
    assert skopeo.inspect_digest(f"{registry.host}/copy/app:v2") == pushed.digest


async def test_large_layer_streams_without_being_held_in_memory(
    client: RegistryClient, src_registry: LocalRegistry, dst_registry: LocalRegistry
) -> None:
    import tracemalloc

    size = 96 << 20
    pushed = push_large_image(src_registry.url, "big", "v1", size)

    tracemalloc.start()
    try:
        result = await CopyEngine(client.repository).copy(
            ref(src_registry, "big:v1"), ref(dst_registry, "big:v1")
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert result.status == "copied", result.error
    assert result.bytes_transferred >= size
    assert peak < size // 4, f"peak Python allocation {peak} bytes for a {size}-byte layer"
    assert skopeo.inspect_digest(f"{dst_registry.host}/big:v1") == pushed.digest
