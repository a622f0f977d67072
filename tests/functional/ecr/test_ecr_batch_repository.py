"""The ECR repository adapter: batch blob checks for ECR hosts, plain repositories otherwise."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import pytest

from fixtures.ecr import ECR_ACCOUNT, ECR_REGION, ecr_login
from imageferry.aws import AwsKeys
from imageferry.copy import BlobBatchCheck, CopyEngine
from imageferry.digest import Digest
from imageferry.ecr.auth import EcrCredentialProvider
from imageferry.ecr.client import ecr_client
from imageferry.ecr.errors import EcrCredentialsError
from imageferry.ecr.hosts import EcrRegistry
from imageferry.ecr.repositories import ensure_repository
from imageferry.ecr.repository import EcrRepository, ecr_repository_factory
from imageferry.manifest import parse_manifest
from imageferry.reference import Reference
from imageferry.registry import RegistryClient, RegistryConfig
from stand_ins import skopeo
from stand_ins.ecr import EcrStandIn
from stand_ins.images import push_image
from stand_ins.registry import LocalRegistry

TARGET = EcrRegistry(ECR_ACCOUNT, ECR_REGION)
BATCH = "BatchCheckLayerAvailability"
REVOKED = AwsKeys("AKIAFERRYREVOKED0001", "no-longer-valid")


def absent(i: int) -> Digest:
    return Digest.parse("sha256:" + hashlib.sha256(f"not-pushed-{i}".encode()).hexdigest())


@pytest.fixture
async def client(ecr: EcrStandIn) -> AsyncIterator[RegistryClient]:
    ecr.ensure_account(TARGET.account_id, TARGET.region)
    config = RegistryConfig(mirrors=ecr.mirrors())
    async with RegistryClient(config, EcrCredentialProvider(aliases=ecr.aliases())) as c:
        yield c


async def test_ecr_hosts_get_the_batch_capability_and_others_do_not(
    ecr: EcrStandIn, client: RegistryClient, src_registry: LocalRegistry
) -> None:
    front = ecr.ensure_account(TARGET.account_id, TARGET.region)
    factory = ecr_repository_factory(client, aliases={front: TARGET.host})

    by_name = factory(TARGET.host, "team/app")
    by_alias = factory(front, "team/app")
    other = factory(src_registry.host, "team/app")

    assert isinstance(by_name, BlobBatchCheck) and isinstance(by_name, EcrRepository)
    assert isinstance(by_alias, EcrRepository) and by_alias.target == TARGET
    assert not isinstance(other, BlobBatchCheck)
    assert (by_name.registry, by_name.repository) == (TARGET.host, "team/app")
    assert by_name.worth_batching(30) and not by_name.worth_batching(1)


async def test_has_blobs_reports_what_the_repository_holds(
    ecr: EcrStandIn, client: RegistryClient
) -> None:
    control = ecr_client(TARGET.region)
    for name in ("app", "other"):
        await ensure_repository(control, name, target=TARGET)
    front = ecr.ensure_account(TARGET.account_id, TARGET.region)
    pushed = push_image(f"http://{front}", "app", "1", layers=4, auth=ecr_login(TARGET))
    manifest = parse_manifest(pushed.body, pushed.media_type)
    present = {blob.digest for blob in manifest.blobs}  # type: ignore[union-attr]
    missing = [absent(i) for i in range(150)]
    factory = ecr_repository_factory(client)
    ecr.reset_counts()

    found = await factory(TARGET.host, "app").has_blobs([*missing, *present])  # type: ignore[union-attr]

    assert found == present
    assert ecr.call_counts[BATCH] == 2  # 155 digests, 100 per call
    assert await factory(TARGET.host, "other").has_blobs(list(present)) == set()  # type: ignore[union-attr]


async def test_keys_the_control_plane_refuses_switch_batching_off_and_the_copy_still_works(
    ecr_env: None,
    monkeypatch: pytest.MonkeyPatch,
    src_registry: LocalRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    pushed = [push_image(src_registry.url, "app", tag, layers=5, seed=tag) for tag in ("1", "2")]
    pairs = [
        (
            Reference.parse(f"{src_registry.host}/app:{image.tag}"),
            Reference.parse(f"{TARGET.host}/app:{image.tag}"),
        )
        for image in pushed
    ]
    with EcrStandIn(revoked_keys=[REVOKED.access_key_id]) as stand_in:
        monkeypatch.setenv("AWS_ENDPOINT_URL_ECR", stand_in.endpoint_url)
        await ensure_repository(ecr_client(TARGET.region), "app", target=TARGET)
        front = stand_in.ensure_account(TARGET.account_id, TARGET.region)
        config = RegistryConfig(mirrors=stand_in.mirrors())
        # Data plane tokens come from the environment's keys; the batch check
        # is signed with keys AWS no longer accepts.
        provider = EcrCredentialProvider(aliases=stand_in.aliases())
        async with RegistryClient(config, provider) as client:
            factory = ecr_repository_factory(client, keys={TARGET.host: REVOKED})
            # An occupied repository: a new one would need no blob checks at all.
            push_image(src_registry.url, "occupant", "old", layers=1, seed="occupant")
            occupied = await CopyEngine(client.repository).copy(
                Reference.parse(f"{src_registry.host}/occupant:old"),
                Reference.parse(f"{TARGET.host}/app:old"),
            )
            assert occupied.status == "copied", occupied.error
            stand_in.reset_counts()

            results = await CopyEngine(factory, max_images=1).copy_many(pairs)

            probe = factory(TARGET.host, "app")
            assert isinstance(probe, EcrRepository)
            assert not probe.worth_batching(30)
            with pytest.raises(EcrCredentialsError) as refused:
                await probe.has_blobs([absent(i) for i in range(3)])

        assert [r.status for r in results] == ["copied", "copied"], [r.error for r in results]
        assert stand_in.call_counts[BATCH] == 2  # the copy's refused try, and the probe's
        creds = ecr_login(TARGET)
        for image in pushed:
            ref = f"{front}/app:{image.tag}"
            assert skopeo.inspect_digest(ref, creds=creds) == image.digest
    assert "one by one" in caplog.text
    for text in (caplog.text, str(refused.value)):
        assert REVOKED.secret_access_key not in text
