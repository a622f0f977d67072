"""The ECR stand-in behaves like ECR where imageferry depends on it, and is a real registry."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from fixtures.ecr import ECR_ACCOUNT, ECR_REGION, data_plane_url, ecr_login
from imageferry.digest import Digest
from imageferry.ecr.auth import EcrCredentialProvider
from imageferry.ecr.client import ecr_client
from imageferry.ecr.hosts import EcrRegistry
from imageferry.ecr.layers import batch_check_layers
from imageferry.manifest import Descriptor
from imageferry.registry import MIN_ECR_CHUNK, RegistryClient, RegistryConfig
from stand_ins import skopeo
from stand_ins.ecr import EcrStandIn
from stand_ins.images import push_image, push_index, random_bytes, random_chunks
from stand_ins.registry import SandboxError

TARGET = EcrRegistry(ECR_ACCOUNT, ECR_REGION)


def test_skopeo_reads_and_copies_through_the_data_plane(ecr: EcrStandIn, tmp_path: Path) -> None:
    ecr_client(TARGET.region).create_repository(repositoryName="tools/cli")
    url = data_plane_url(ecr, TARGET)
    creds = ecr_login(TARGET)
    assert creds[0] == "AWS"
    # Layers larger than one proxy chunk prove the streaming path end to end.
    pushed = push_image(url, "tools/cli", "2.0", auth=creds, layers=2, layer_size=3 << 20)
    host = url.removeprefix("http://")

    assert skopeo.inspect_digest(f"{host}/tools/cli:2.0", creds=creds) == pushed.digest
    assert skopeo.list_tags(f"{host}/tools/cli", creds) == ["2.0"]
    skopeo.copy_to_oci_layout(f"{host}/tools/cli:2.0", tmp_path / "oci", creds)
    # skopeo verified every blob it pulled; the layers are in the layout byte for byte.
    for layer in json.loads(pushed.body)["layers"]:
        blob = tmp_path / "oci" / "blobs" / "sha256" / layer["digest"].removeprefix("sha256:")
        assert "sha256:" + hashlib.sha256(blob.read_bytes()).hexdigest() == layer["digest"]

    with pytest.raises(SandboxError):
        skopeo.inspect_raw(f"{host}/tools/cli:2.0", ("AWS", "not-a-token"))


def test_data_plane_answers_like_ecr(ecr: EcrStandIn) -> None:
    ecr_client(TARGET.region).create_repository(repositoryName="known")
    url = data_plane_url(ecr, TARGET)
    creds = ecr_login(TARGET)
    with httpx.Client(base_url=url) as http:
        anonymous = http.get("/v2/")
        assert anonymous.status_code == 401
        assert anonymous.headers["WWW-Authenticate"].startswith("Basic realm=")
        assert http.get("/v2/", auth=creds).status_code == 200
        missing = http.post("/v2/unknown/blobs/uploads/", auth=creds)
        assert missing.status_code == 404
        assert missing.json()["errors"][0]["code"] == "NAME_UNKNOWN"
        assert "does not exist" in missing.json()["errors"][0]["message"]
        assert http.get("/v2/_catalog", auth=creds).status_code == 404
        assert http.get("/v2/known/tags/list", auth=creds).json()["name"] == "known"


def test_describe_and_list_images_report_what_was_pushed(ecr: EcrStandIn) -> None:
    client = ecr_client(TARGET.region)
    client.create_repository(repositoryName="multi")
    url = data_plane_url(ecr, TARGET)
    creds = ecr_login(TARGET)
    image = push_image(url, "multi", "single", auth=creds, layers=2, layer_size=1000)
    index = push_index(
        url,
        "multi",
        "both",
        platforms=["linux/amd64", "linux/arm64"],
        auth=creds,
    )

    details = client.describe_images(repositoryName="multi", imageIds=[{"imageTag": "single"}])
    (detail,) = details["imageDetails"]
    assert detail["imageDigest"] == image.digest
    assert detail["imageDigest"] == "sha256:" + hashlib.sha256(image.body).hexdigest()
    assert detail["imageManifestMediaType"] == image.media_type
    assert detail["imageSizeInBytes"] > 2000

    tagged = client.describe_images(repositoryName="multi", filter={"tagStatus": "TAGGED"})
    assert {d["imageDigest"] for d in tagged["imageDetails"]} == {image.digest, index.digest}
    # The index's children are pushed by digest: ECR lists them as untagged images.
    untagged = client.describe_images(repositoryName="multi", filter={"tagStatus": "UNTAGGED"})
    assert {d["imageDigest"] for d in untagged["imageDetails"]} == {
        c.digest for c in index.children
    }

    ids: list[dict[str, str]] = []
    for page in client.get_paginator("list_images").paginate(
        repositoryName="multi", PaginationConfig={"PageSize": 1}
    ):
        ids.extend(page["imageIds"])
    assert len(ids) == 4
    assert ecr.call_counts["ListImages"] == 4

    with pytest.raises(client.exceptions.ImageNotFoundException):
        client.describe_images(repositoryName="multi", imageIds=[{"imageTag": "nope"}])
    with pytest.raises(client.exceptions.RepositoryNotFoundException):
        client.describe_images(repositoryName="absent")
    with pytest.raises(client.exceptions.RepositoryAlreadyExistsException):
        client.create_repository(repositoryName="multi")


def test_deleting_an_image_removes_it_from_describe_images(ecr: EcrStandIn) -> None:
    client = ecr_client(TARGET.region)
    client.create_repository(repositoryName="gone")
    url = data_plane_url(ecr, TARGET)
    creds = ecr_login(TARGET)
    keep = push_image(url, "gone", "keep", auth=creds, seed=1)
    drop = push_image(url, "gone", "drop", auth=creds, seed=2)
    with httpx.Client(base_url=url, auth=creds) as http:
        assert http.delete(f"/v2/gone/manifests/{drop.digest}").status_code == 202
    listed = client.describe_images(repositoryName="gone")["imageDetails"]
    assert [(d["imageDigest"], d["imageTags"]) for d in listed] == [(keep.digest, ["keep"])]


@pytest.mark.parametrize("chunk_size", [None, MIN_ECR_CHUNK])
async def test_registry_client_uploads_large_blobs_through_the_stand_in(
    ecr: EcrStandIn, chunk_size: int | None
) -> None:
    client = ecr_client(TARGET.region)
    client.create_repository(repositoryName="big")
    data_plane_url(ecr, TARGET)
    size = 2 * MIN_ECR_CHUNK + 12345
    digest = Digest.parse("sha256:" + hashlib.sha256(random_bytes("big", size)).hexdigest())
    descriptor = Descriptor("application/octet-stream", digest, size)

    async def chunks() -> AsyncIterator[bytes]:
        for chunk in random_chunks("big", size, 1 << 20):
            yield chunk

    provider = EcrCredentialProvider(aliases=ecr.aliases())
    config = RegistryConfig(mirrors=ecr.mirrors())
    async with RegistryClient(config, provider, chunk_size=chunk_size) as registry:
        repo = registry.repository(TARGET.host, "big")
        assert not await repo.has_blob(digest)
        await repo.put_blob(descriptor, chunks())
        assert await repo.has_blob(digest)
    present = await batch_check_layers(client, "big", [str(digest)], target=TARGET)
    assert present == {str(digest)}
