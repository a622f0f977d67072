"""The image builders, each checked by skopeo (an independent client)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

import httpx
import pytest

from imageferry.manifest import DOCKER_FOREIGN_LAYER, OCI_INDEX, OCI_MANIFEST, Platform
from stand_ins import skopeo
from stand_ins.images import (
    build_fleet,
    delete_manifest,
    push_artifact,
    push_foreign_layer_image,
    push_image,
    push_index,
    push_large_image,
    random_bytes,
)
from stand_ins.registry import LocalRegistry, SandboxError


def _layer_digests(body: bytes) -> list[str]:
    return [layer["digest"] for layer in json.loads(body)["layers"]]


def _oci_layout_has(layout: Path, digest: str) -> bool:
    return (layout / "blobs" / "sha256" / digest.removeprefix("sha256:")).is_file()


@pytest.mark.parametrize("fmt", ["docker", "oci"])
def test_push_image_digest_matches_skopeo(
    registry: LocalRegistry, tmp_oci_dir: Path, fmt: str
) -> None:
    pushed = push_image(registry.url, "team-a/svc/api", "v1", fmt=fmt, seed=fmt)  # type: ignore[arg-type]

    assert skopeo.inspect_digest(f"{registry.host}/team-a/svc/api:v1") == pushed.digest
    assert skopeo.inspect_raw(f"{registry.host}/team-a/svc/api@{pushed.digest}") == pushed.body
    skopeo.copy_to_oci_layout(f"{registry.host}/team-a/svc/api:v1", tmp_oci_dir)
    for digest in _layer_digests(pushed.body):
        assert _oci_layout_has(tmp_oci_dir, digest)


def test_untagged_image_is_reachable_by_digest_only(registry: LocalRegistry) -> None:
    pushed = push_image(registry.url, "app", None, platform=Platform("linux", "arm64"))
    push_image(registry.url, "app", "v1", seed="tagged")

    assert pushed.reference == f"app@{pushed.digest}"
    assert skopeo.inspect_digest(f"{registry.host}/app@{pushed.digest}") == pushed.digest
    assert skopeo.list_tags(f"{registry.host}/app") == ["v1"]
    assert skopeo.inspect_digest(f"{registry.host}/app:v1") != pushed.digest


def test_seeds_decide_whether_layers_are_shared(registry: LocalRegistry) -> None:
    base = [random_bytes("base", 2048)]
    a = push_image(registry.url, "app", "a", seed=1, base_layers=base)
    b = push_image(registry.url, "app", "b", seed=2, base_layers=base)
    a_again = push_image(registry.url, "other", "a", seed=1, base_layers=base)

    layers_a, layers_b = _layer_digests(a.body), _layer_digests(b.body)
    assert layers_a[0] == layers_b[0] == f"sha256:{hashlib.sha256(base[0]).hexdigest()}"
    assert not set(layers_a[1:]) & set(layers_b[1:])
    assert a_again.digest == a.digest


@pytest.mark.parametrize(("fmt", "media_type"), [("docker", None), ("oci", OCI_INDEX)])
def test_push_index_children_by_digest(
    registry: LocalRegistry, tmp_oci_dir: Path, fmt: str, media_type: str | None
) -> None:
    index = push_index(
        registry.url,
        "multi",
        "v1",
        ("linux/amd64", "linux/arm64/v8"),
        fmt=fmt,  # type: ignore[arg-type]
    )

    raw = skopeo.inspect_raw(f"{registry.host}/multi:v1")
    assert raw == index.body
    listed = json.loads(raw)["manifests"]
    assert [m["platform"]["architecture"] for m in listed] == ["amd64", "arm64"]
    assert listed[1]["platform"]["variant"] == "v8"
    for child in index.children:
        assert skopeo.inspect_digest(f"{registry.host}/multi@{child.digest}") == child.digest
    skopeo.copy_to_oci_layout(f"{registry.host}/multi:v1", tmp_oci_dir)
    if media_type == OCI_INDEX:
        # An OCI index is copied unchanged, so its children keep their digests.
        for child in index.children:
            assert _oci_layout_has(tmp_oci_dir, child.digest)


def test_push_artifact_with_subject(registry: LocalRegistry, tmp_oci_dir: Path) -> None:
    image = push_image(registry.url, "app", "v1", fmt="oci")
    sbom = push_artifact(registry.url, "app", None, subject=image)

    manifest = json.loads(skopeo.inspect_raw(f"{registry.host}/app@{sbom.digest}"))
    assert skopeo.inspect_digest(f"{registry.host}/app@{sbom.digest}") == sbom.digest
    assert manifest["mediaType"] == OCI_MANIFEST
    assert manifest["artifactType"] == "application/vnd.example.sbom.v1"
    assert manifest["config"]["mediaType"] == "application/vnd.example.config.v1+json"
    assert manifest["subject"]["digest"] == image.digest
    skopeo.copy_to_oci_layout(f"{registry.host}/app@{sbom.digest}", tmp_oci_dir)
    assert _oci_layout_has(tmp_oci_dir, manifest["config"]["digest"])


def test_foreign_layer_blob_is_not_in_the_registry(registry: LocalRegistry) -> None:
    pushed = push_foreign_layer_image(registry.url, "win/app", "ltsc")

    assert skopeo.inspect_digest(f"{registry.host}/win/app:ltsc") == pushed.digest
    foreign, own = json.loads(pushed.body)["layers"]
    assert foreign["mediaType"] == DOCKER_FOREIGN_LAYER
    assert foreign["urls"]
    blobs = f"{registry.url}/v2/win/app/blobs"
    assert httpx.head(f"{blobs}/{foreign['digest']}").status_code == 404
    assert httpx.head(f"{blobs}/{own['digest']}").status_code == 200


def test_push_large_image_streams_the_layer(registry: LocalRegistry, tmp_path: Path) -> None:
    size = 48 * 1024 * 1024 + 5
    pushed = push_large_image(registry.url, "big", "v1", size, chunk_size=1 << 20, seed=7)

    assert skopeo.inspect_digest(f"{registry.host}/big:v1") == pushed.digest
    (layer,) = json.loads(pushed.body)["layers"]
    head = httpx.head(f"{registry.url}/v2/big/blobs/{layer['digest']}")
    assert head.status_code == 200
    assert int(head.headers["Content-Length"]) == layer["size"]
    # The blob is a real tar+gzip holding one file of exactly `size` bytes.
    blob = httpx.get(f"{registry.url}/v2/big/blobs/{layer['digest']}").content
    assert f"sha256:{hashlib.sha256(blob).hexdigest()}" == layer["digest"]
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
        (member,) = tar.getmembers()
        assert member.size == size
    config = json.loads(
        httpx.get(
            f"{registry.url}/v2/big/blobs/{json.loads(pushed.body)['config']['digest']}"
        ).content
    )
    assert config["rootfs"]["diff_ids"] == [
        f"sha256:{hashlib.sha256(gzip.decompress(blob)).hexdigest()}"
    ]


def test_build_fleet(registry: LocalRegistry) -> None:
    refs = build_fleet(registry.url, total_mb=3, seed="fleet")

    repos = {ref.rsplit(":", 1)[0] for ref in refs}
    assert len(refs) >= 30
    assert len(repos) >= 10
    assert any(repo.count("/") >= 2 for repo in repos)
    for repo in repos:
        expected = sorted(ref.rsplit(":", 1)[1] for ref in refs if ref.startswith(f"{repo}:"))
        assert skopeo.list_tags(f"{registry.host}/{repo}") == expected
    latest = skopeo.inspect_digest(f"{registry.host}/team-a/svc/api:latest")
    assert latest == skopeo.inspect_digest(f"{registry.host}/team-a/svc/api:2.0.0")
    media_types = {
        json.loads(skopeo.inspect_raw(f"{registry.host}/{ref}"))["mediaType"]
        for ref in ("team-a/worker:1.0.0", "platform/gateway:1.0.0", "team-b/ui:1.0.0")
    }
    assert media_types == {
        "application/vnd.docker.distribution.manifest.list.v2+json",
        OCI_INDEX,
        OCI_MANIFEST,
    }
    blob_bytes = sum(p.stat().st_size for p in registry.data_dir.rglob("data"))
    assert 2.5 * 2**20 < blob_bytes < 3.5 * 2**20


def test_delete_manifest(registry: LocalRegistry) -> None:
    pushed = push_image(registry.url, "app", "v1")
    delete_manifest(registry.url, "app", pushed.digest)

    with pytest.raises(SandboxError, match="manifest unknown"):
        skopeo.inspect_digest(f"{registry.host}/app@{pushed.digest}")
