"""Destination repositories are created once with their settings; immutable tags refuse clearly."""

from __future__ import annotations

import asyncio

import pytest

from fixtures.ecr import ECR_ACCOUNT, ECR_REGION, data_plane_url, ecr_login
from imageferry.ecr.auth import EcrCredentialProvider
from imageferry.ecr.client import ecr_client
from imageferry.ecr.hosts import EcrRegistry
from imageferry.ecr.repositories import (
    Ensured,
    RepositoryEnsurer,
    RepositorySettings,
    ensure_repository,
    tag_immutable_from,
)
from imageferry.errors import TagImmutable
from imageferry.manifest import RawManifest
from imageferry.registry import RegistryClient, RegistryConfig
from stand_ins.ecr import EcrStandIn
from stand_ins.images import push_image

TARGET = EcrRegistry(ECR_ACCOUNT, ECR_REGION)


async def test_missing_repository_is_created_with_settings_and_then_left_alone(
    ecr: EcrStandIn,
) -> None:
    client = ecr_client(TARGET.region)
    settings = RepositorySettings(
        scan_on_push=True, tag_mutability="IMMUTABLE", encryption="KMS", kms_key="alias/ferry"
    )
    assert await ensure_repository(client, "team/api", settings, target=TARGET) is Ensured.CREATED
    again = await ensure_repository(client, "team/api", RepositorySettings(), target=TARGET)
    assert again is Ensured.EXISTED

    (repo,) = client.describe_repositories(repositoryNames=["team/api"])["repositories"]
    assert repo["imageTagMutability"] == "IMMUTABLE"
    assert repo["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repo["encryptionConfiguration"] == {"encryptionType": "KMS", "kmsKey": "alias/ferry"}
    assert ecr.call_counts["CreateRepository"] == 1


async def test_push_needs_the_repository_which_ensure_creates(ecr: EcrStandIn) -> None:
    url = data_plane_url(ecr, TARGET)
    creds = ecr_login(TARGET)
    with pytest.raises(Exception, match="NAME_UNKNOWN"):
        push_image(url, "new/repo", "1", auth=creds)
    await ensure_repository(ecr_client(TARGET.region), "new/repo", target=TARGET)
    pushed = push_image(url, "new/repo", "1", auth=creds)
    assert pushed.digest.startswith("sha256:")


async def test_ensurer_checks_each_repository_once_per_run(ecr: EcrStandIn) -> None:
    ensurer = RepositoryEnsurer(ecr_client(TARGET.region), target=TARGET)
    names = ["svc-a", "svc-b", "svc-a", "svc-a", "svc-b", "svc-c"] * 5
    results = await asyncio.gather(*(ensurer.ensure(n) for n in names))
    assert set(results) == {Ensured.CREATED}
    assert sorted(ensurer.created) == ["svc-a", "svc-b", "svc-c"]
    assert ecr.call_counts["DescribeRepositories"] == 3
    assert ecr.call_counts["CreateRepository"] == 3
    listed = ecr_client(TARGET.region).describe_repositories()["repositories"]
    assert sorted(r["repositoryName"] for r in listed) == ["svc-a", "svc-b", "svc-c"]


async def test_immutable_tag_conflict_is_a_clear_tag_immutable(ecr: EcrStandIn) -> None:
    await ensure_repository(
        ecr_client(TARGET.region),
        "frozen",
        RepositorySettings(tag_mutability="IMMUTABLE"),
        target=TARGET,
    )
    first = push_image(data_plane_url(ecr, TARGET), "frozen", "v1", auth=ecr_login(TARGET), seed=1)
    other = push_image(data_plane_url(ecr, TARGET), "frozen", None, auth=ecr_login(TARGET), seed=2)

    provider = EcrCredentialProvider(aliases=ecr.aliases())
    config = RegistryConfig(mirrors=ecr.mirrors())
    async with RegistryClient(config, provider) as client:
        repo = client.repository(TARGET.host, "frozen")
        # Re-pushing the same content under the tag is not a conflict.
        await repo.put_manifest("v1", RawManifest(first.body, first.media_type))
        with pytest.raises(TagImmutable) as caught:
            await repo.put_manifest("v1", RawManifest(other.body, other.media_type))
        error = tag_immutable_from(
            caught.value, registry=TARGET.host, repository="frozen", tag="v1"
        )
        assert error is caught.value
        assert "immutable" in str(caught.value)
        assert "'v1'" in str(caught.value)
        # Nothing moved: the tag still names the first image.
        still = await repo.get_manifest("v1")
    assert str(still.digest) == first.digest
