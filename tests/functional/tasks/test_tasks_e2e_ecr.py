"""Amazon_ECR sources and destinations, end to end through the Runtime.

Every image is checked the way a user would: skopeo reads the manifest digest
at the source and at the destination (they must match), and the run's status
and per-image results tell the truth. Covers the reference's ECR parameters
(sourceType, srcRegion, srcAccountId, srcList=ALL, srcCredential, destRegion,
destAccountId, destCredential, destPrefix, includeUntagged, ECS ones) and
REFERENCE.md defects 1 (prefix), 2 (untagged by digest) and 6 (pagination).
"""

from __future__ import annotations

from fixtures.tasks import (
    DST_ACCOUNT,
    DST_KEYS,
    SRC_ACCOUNT,
    SRC_KEYS,
    Runtimes,
    ecr_image,
    ecr_repo_push,
    run_to_end,
)
from imageferry.ecr.client import ecr_client
from imageferry.ecr.hosts import EcrRegistry
from imageferry.secrets.base import SecretStore
from imageferry.store.status import ImageStatus, RunStatus
from stand_ins.ecr import EcrStandIn
from stand_ins.skopeo import inspect_digest, list_tags

SRC = EcrRegistry(SRC_ACCOUNT, "us-east-1")
DST = EcrRegistry(DST_ACCOUNT, "us-west-2")
CN = EcrRegistry(DST_ACCOUNT, "cn-north-1")

ECS = {
    "ecsClusterName": "dth-v22-01-TaskCluster-eHzKkHatj0tN",
    "ecsVpcId": "vpc-07f56e8e21630a2a0",
    "ecsSubnetA": "subnet-034c58fe0e696eb0b",
    "ecsSubnetB": "subnet-0487ae5a1d3badde7",
}


def _secrets(store: SecretStore) -> None:
    store.put("dev-us-credential", SRC_KEYS)
    store.put("dest-credential", DST_KEYS)


def _repositories(target: EcrRegistry) -> dict[str, dict[str, object]]:
    client = ecr_client(target.region)
    found = client.describe_repositories(registryId=target.account_id, maxResults=1000)
    return {r["repositoryName"]: dict(r) for r in found["repositories"]}


def test_all_repositories_cross_account_with_prefix_and_repository_settings(
    accounts: EcrStandIn, runtimes: Runtimes
) -> None:
    api = ecr_repo_push(accounts, SRC, "team/api", ["1.0", "latest"])
    web = ecr_repo_push(accounts, SRC, "web", ["2.0"])
    runtime = runtimes.make(ecr_targets=(SRC, DST))
    _secrets(runtime.secrets)
    task = runtime.service.create_task(
        {
            "sourceType": "Amazon_ECR",
            "srcRegion": SRC.region,
            "srcAccountId": SRC.account_id,
            "srcList": "ALL",
            "srcImageList": "",
            "srcCredential": "dev-us-credential",
            "destRegion": DST.region,
            "destAccountId": DST.account_id,
            "destCredential": "dest-credential",
            "destPrefix": "mirror/prod",
            "includeUntagged": "false",
            "alarmEmail": "ops@example.com",
            "destScanOnPush": "true",
            "destTagMutability": "IMMUTABLE",
            "destEncryption": "KMS",
            "destKmsKey": "alias/ferry",
            **ECS,
        },
        name="nightly",
    )
    # ECS parameters are kept for the AWS deployment, unchanged.
    assert {k: task.parameters[k] for k in ECS} == ECS

    run = run_to_end(runtime, task.id)

    assert run.status is RunStatus.DONE, run.error
    assert (run.images_total, run.images_copied, run.images_failed) == (3, 3, 0)
    expected = {
        "mirror/prod/team/api:1.0": api[0].digest,
        "mirror/prod/team/api:latest": api[1].digest,
        "mirror/prod/web:2.0": web[0].digest,
    }
    for ref, digest in expected.items():
        location, login = ecr_image(accounts, DST, ref)
        assert inspect_digest(location, creds=login) == digest
    source, login = ecr_image(accounts, SRC, "team/api:1.0")
    assert inspect_digest(source, creds=login) == api[0].digest

    # Defect 1: the prefix is applied; nothing landed under the bare name.
    repos = _repositories(DST)
    assert set(repos) == {"mirror/prod/team/api", "mirror/prod/web"}
    created = repos["mirror/prod/web"]
    assert created["imageTagMutability"] == "IMMUTABLE"
    assert created["imageScanningConfiguration"] == {"scanOnPush": True}
    assert created["encryptionConfiguration"] == {
        "encryptionType": "KMS",
        "kmsKey": "alias/ferry",
    }
    # The source was read with the source keys, the destination written with
    # the destination keys (the stand-in maps each key to its own account).
    by_key = {(c.action, c.access_key_id) for c in accounts.calls}
    assert ("DescribeRepositories", SRC_KEYS["access_key_id"]) in by_key
    assert ("CreateRepository", DST_KEYS["access_key_id"]) in by_key
    assert ("CreateRepository", SRC_KEYS["access_key_id"]) not in by_key

    results = {r.destination: r for r in runtime.service.image_results(run.id)}
    api_result = results[f"{DST.host}/mirror/prod/team/api:1.0"]
    assert api_result.status is ImageStatus.COPIED
    assert api_result.digest == api[0].digest
    assert api_result.source == f"{SRC.host}/team/api:1.0"
    assert api_result.attempts == 1
    logs = "\n".join(line.message for line in runtime.service.logs(run.id))
    assert "3 image(s) selected" in logs
    assert "run ended DONE: 3 copied, 0 skipped, 0 failed of 3" in logs


def test_more_than_one_hundred_images_in_a_repository_china_destination(
    accounts: EcrStandIn, runtimes: Runtimes
) -> None:
    tags: list[str | None] = [f"v{i:03d}" for i in range(130)]
    pushed = ecr_repo_push(accounts, SRC, "big", tags)
    runtime = runtimes.make(ecr_targets=(SRC, CN))
    _secrets(runtime.secrets)
    task = runtime.service.create_task(
        {
            "srcRegion": SRC.region,
            "srcAccountId": SRC.account_id,
            "srcCredential": "dev-us-credential",
            "destRegion": CN.region,
            "destAccountId": CN.account_id,
            "destCredential": "dest-credential",
            "includeUntagged": "false",
            "concurrency": "16",
        }
    )
    run = run_to_end(runtime, task.id)

    assert run.status is RunStatus.DONE, run.error
    assert run.images_copied == 130
    # Defect 6: all 130 images of the repository are listed and copied (the
    # reference stopped after the first 100).
    assert CN.host.endswith(".amazonaws.com.cn")
    location, login = ecr_image(accounts, CN, "big")
    assert list_tags(location, creds=login) == sorted(t for t in tags if t)
    last, login = ecr_image(accounts, CN, "big:v129")
    assert inspect_digest(last, creds=login) == pushed[-1].digest
    hosts = {r.destination.split("/")[0] for r in runtime.service.image_results(run.id)}
    assert hosts == {f"{DST_ACCOUNT}.dkr.ecr.cn-north-1.amazonaws.com.cn"}


def test_include_untagged_copies_untagged_images_by_digest(
    accounts: EcrStandIn, runtimes: Runtimes
) -> None:
    tagged, untagged = ecr_repo_push(accounts, SRC, "app", ["1.0", None])
    runtime = runtimes.make(ecr_targets=(SRC, DST))
    _secrets(runtime.secrets)
    base = {
        "srcRegion": SRC.region,
        "srcAccountId": SRC.account_id,
        "srcCredential": "dev-us-credential",
        "destRegion": DST.region,
        "destAccountId": DST.account_id,
        "destCredential": "dest-credential",
    }
    without = runtime.service.create_task({**base, "includeUntagged": "false"})
    run = run_to_end(runtime, without.id)
    assert run.status is RunStatus.DONE, run.error
    assert [r.source for r in runtime.service.image_results(run.id)] == [f"{SRC.host}/app:1.0"]

    # The reference's default (includeUntagged=true) copies the untagged one too.
    with_untagged = runtime.service.create_task(base)
    run = run_to_end(runtime, with_untagged.id)
    assert run.status is RunStatus.DONE, run.error
    results = {r.source: r for r in runtime.service.image_results(run.id)}
    by_digest = results[f"{SRC.host}/app@{untagged.digest}"]
    assert by_digest.destination == f"{DST.host}/app@{untagged.digest}"
    assert by_digest.status is ImageStatus.COPIED
    assert results[f"{SRC.host}/app:1.0"].status is ImageStatus.SKIPPED
    location, login = ecr_image(accounts, DST, f"app@{untagged.digest}")
    assert inspect_digest(location, creds=login) == untagged.digest
    location, login = ecr_image(accounts, DST, "app")
    assert list_tags(location, creds=login) == ["1.0"]
    assert tagged.digest != untagged.digest
