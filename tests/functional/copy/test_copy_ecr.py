"""Copying into ECR (the loopback stand-in) checks blobs in batches, not one HEAD each.

The destination is named by its real ECR host and reached through a mirror
(``RegistryConfig.mirrors`` / ``ferry copy --mirror``), the way a user points
imageferry at a VPC endpoint or a proxy. The stand-in counts control-plane
calls per action; the registry client counts data-plane requests. Every copy
is checked with skopeo logged in as ``AWS:<token>``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from fixtures.ecr import ECR_ACCOUNT, ECR_REGION, ecr, ecr_env, ecr_login  # noqa: F401
from imageferry.copy import CopyEngine
from imageferry.ecr.auth import EcrCredentialProvider
from imageferry.ecr.client import ecr_client
from imageferry.ecr.hosts import EcrRegistry
from imageferry.ecr.repositories import ensure_repository
from imageferry.ecr.repository import ecr_repository_factory
from imageferry.reference import Reference
from imageferry.registry import RegistryClient, RegistryConfig, RegistryStats
from imageferry.sandbox import skopeo
from imageferry.sandbox.images import make_layer, push_image
from imageferry.sandbox.registry import LocalRegistry
from stand_ins.ecr import EcrStandIn

TARGET = EcrRegistry(ECR_ACCOUNT, ECR_REGION)
BATCH = "BatchCheckLayerAvailability"
FERRY = Path(sys.executable).parent / "ferry"


@pytest.fixture
def front(ecr: EcrStandIn) -> str:  # noqa: F811
    """The stand-in's data plane host:port for TARGET (what the mirror points at)."""
    return ecr.ensure_account(TARGET.account_id, TARGET.region)


@pytest.fixture
async def client(ecr: EcrStandIn, front: str) -> AsyncIterator[RegistryClient]:  # noqa: F811
    config = RegistryConfig(mirrors=ecr.mirrors())
    provider = EcrCredentialProvider(aliases=ecr.aliases())
    async with RegistryClient(config, provider, stats=RegistryStats()) as c:
        yield c


async def create_repositories(*names: str) -> None:
    client = ecr_client(TARGET.region)
    for name in names:
        await ensure_repository(client, name, target=TARGET)


async def occupy(client: RegistryClient, src: LocalRegistry, *repositories: str) -> None:
    """Give each destination repository an unrelated tag: batch checks are for
    repositories that already hold images (a new one needs no checks at all)."""
    push_image(src.url, "occupant", "old", layers=1, seed="occupant")
    engine = CopyEngine(client.repository)
    for repository in repositories:
        done = await engine.copy(src_ref(src, "occupant:old"), ecr_ref(f"{repository}:old"))
        assert done.status == "copied", done.error


def ecr_ref(path: str) -> Reference:
    return Reference.parse(f"{TARGET.host}/{path}")


def src_ref(registry: LocalRegistry, path: str) -> Reference:
    return Reference.parse(f"{registry.host}/{path}")


def heads(client: RegistryClient) -> int:
    """HEAD requests the ECR data plane answered (401 challenges left out)."""
    stats = client.stats
    assert isinstance(stats, RegistryStats)
    return sum(
        n
        for (registry, method, status), n in stats.requests.items()
        if registry == TARGET.host and method == "HEAD" and status != 401
    )


def served_digest(front: str, path: str) -> str:
    """The digest skopeo sees at the ECR data plane, logged in like ``docker login``."""
    return skopeo.inspect_digest(f"{front}/{path}", creds=ecr_login(TARGET))


async def test_thirty_layers_are_checked_with_one_batch_call_instead_of_thirty_heads(
    ecr: EcrStandIn,  # noqa: F811
    front: str,
    client: RegistryClient,
    src_registry: LocalRegistry,
    tmp_oci_dir: Path,
) -> None:
    pushed = push_image(src_registry.url, "team/app", "v1", layers=30, layer_size=2_000)
    await create_repositories("team/app", "plain/app")
    await occupy(client, src_registry, "team/app", "plain/app")
    ecr.reset_counts()
    before = heads(client)

    batched = await CopyEngine(ecr_repository_factory(client)).copy(
        src_ref(src_registry, "team/app:v1"), ecr_ref("team/app:v1")
    )

    assert batched.status == "copied", batched.error
    assert batched.digest == pushed.digest
    assert ecr.call_counts[BATCH] == 1  # config + 30 layers in one call
    batched_heads = heads(client) - before
    assert served_digest(front, "team/app:v1") == pushed.digest
    skopeo.copy_to_oci_layout(f"{front}/team/app:v1", tmp_oci_dir, creds=ecr_login(TARGET))

    # The same copy through the plain repositories asks about each blob with a HEAD.
    plain = await CopyEngine(client.repository).copy(
        src_ref(src_registry, "team/app:v1"), ecr_ref("plain/app:v1")
    )
    assert plain.status == "copied", plain.error
    assert ecr.call_counts[BATCH] == 1
    plain_heads = heads(client) - before - batched_heads
    assert batched_heads <= 2  # the destination tag and the manifest digest, no blob
    assert plain_heads >= batched_heads + 31


async def test_a_second_image_sharing_layers_reuses_them(
    ecr: EcrStandIn,  # noqa: F811
    front: str,
    client: RegistryClient,
    src_registry: LocalRegistry,
) -> None:
    base = [make_layer(f"base/{i}", 4_000).blob for i in range(6)]
    first = push_image(src_registry.url, "app", "1", layers=3, seed="one", base_layers=base)
    second = push_image(src_registry.url, "app", "2", layers=3, seed="two", base_layers=base)
    await create_repositories("app")

    one = await CopyEngine(ecr_repository_factory(client)).copy(
        src_ref(src_registry, "app:1"), ecr_ref("app:1")
    )
    assert one.status == "copied", one.error
    ecr.reset_counts()

    # A later run: its ledger is empty, the batch check tells it what ECR holds.
    two = await CopyEngine(ecr_repository_factory(client)).copy(
        src_ref(src_registry, "app:2"), ecr_ref("app:2")
    )

    assert two.status == "copied", two.error
    assert ecr.call_counts[BATCH] == 1
    assert two.bytes_reused == sum(len(b) for b in base)
    assert 0 < two.bytes_transferred < one.bytes_transferred
    assert served_digest(front, "app:1") == first.digest
    assert served_digest(front, "app:2") == second.digest


async def test_images_of_one_run_share_what_the_batch_learned(
    ecr: EcrStandIn,  # noqa: F811
    client: RegistryClient,
    src_registry: LocalRegistry,
) -> None:
    base = [make_layer(f"shared/{i}", 3_000).blob for i in range(5)]
    for tag in ("a", "b", "c"):
        push_image(src_registry.url, "svc", tag, layers=1, seed=tag, base_layers=base)
    await create_repositories("svc")
    await occupy(client, src_registry, "svc")
    pairs = [(src_ref(src_registry, f"svc:{t}"), ecr_ref(f"svc:{t}")) for t in ("a", "b", "c")]
    ecr.reset_counts()

    engine = CopyEngine(ecr_repository_factory(client), max_images=1)
    results = await engine.copy_many(pairs)

    assert [r.status for r in results] == ["copied"] * 3, [r.error for r in results]
    # The first image asks about its 7 blobs; later ones know the 5 shared layers
    # and have only 2 unknown blobs each, too few for a batch: 2 HEADs each.
    assert ecr.call_counts[BATCH] == 1
    shared = sum(len(b) for b in base)
    assert [r.bytes_reused for r in results] == [0, shared, shared]


def ferry(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(FERRY), *args], capture_output=True, text=True, timeout=300, check=False
    )


async def test_ferry_copy_to_an_ecr_host_through_a_mirror(
    ecr: EcrStandIn,  # noqa: F811
    front: str,
    client: RegistryClient,
    src_registry: LocalRegistry,
) -> None:
    pushed = push_image(src_registry.url, "web", "2.0", layers=12, layer_size=1_500)
    await create_repositories("mirror/web")
    await occupy(client, src_registry, "mirror/web")
    destination = f"{TARGET.host}/mirror/web:2.0"
    ecr.reset_counts()

    done = ferry(
        "copy", "-o", "json", "--mirror", f"{TARGET.host}={front}",
        f"{src_registry.host}/web:2.0", destination,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["summary"]["copied"] == 1
    assert report["images"][0]["digest"] == pushed.digest
    assert ecr.call_counts[BATCH] == 1
    assert ecr.call_counts["GetAuthorizationToken"] >= 1
    assert served_digest(front, "mirror/web:2.0") == pushed.digest

    again = ferry("copy", "-q", "--mirror", f"{TARGET.host}={front}",
                  f"{src_registry.host}/web:2.0", destination)  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert "0 copied, 1 skipped" in again.stdout


async def test_ferry_copy_dry_run_to_an_ecr_host_counts_with_a_batch(
    ecr: EcrStandIn,  # noqa: F811
    front: str,
    src_registry: LocalRegistry,
) -> None:
    push_image(src_registry.url, "web", "1", layers=8, layer_size=1_000)
    await create_repositories("web")
    ecr.reset_counts()

    planned = ferry("copy", "--dry-run", "-o", "json", "--mirror", f"{TARGET.host}={front}",
                    f"{src_registry.host}/web:1", f"{TARGET.host}/web:1")  # fmt: skip

    assert planned.returncode == 0, planned.stderr
    (image,) = json.loads(planned.stdout)["images"]
    assert (image["status"], image["blobs_total"], image["blobs_missing"]) == ("would-copy", 9, 9)
    assert ecr.call_counts[BATCH] == 1
    assert skopeo.list_tags(f"{front}/web", creds=ecr_login(TARGET)) == []


async def test_ferry_copy_with_dest_creds_through_a_mirror_needs_no_aws_keys(
    ecr: EcrStandIn,  # noqa: F811
    front: str,
    src_registry: LocalRegistry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``--dest-creds AWS:<token>`` (from ``aws ecr get-login-password``) is enough.

    The transport asks for the mirror host's credentials; without AWS keys the
    batch check cannot be signed, so the copy checks blobs with HEADs instead.
    """
    pushed = push_image(src_registry.url, "tool", "3", layers=6, layer_size=1_000)
    await create_repositories("tool")
    user, token = ecr_login(TARGET)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    ecr.reset_counts()

    done = ferry("copy", "-q", "--dest-creds", f"{user}:{token}",
                 "--mirror", f"{TARGET.host}={front}",
                 f"{src_registry.host}/tool:3", f"{TARGET.host}/tool:3")  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert "1 copied" in done.stdout
    assert token not in done.stdout + done.stderr
    assert ecr.call_counts["GetAuthorizationToken"] == 0
    assert skopeo.inspect_digest(f"{front}/tool:3", creds=(user, token)) == pushed.digest


async def test_a_new_repository_needs_no_blob_checks_at_all(
    ecr: EcrStandIn,  # noqa: F811
    front: str,
    client: RegistryClient,
    src_registry: LocalRegistry,
) -> None:
    pushed = push_image(src_registry.url, "fresh/app", "v1", layers=20, layer_size=1_000)
    await create_repositories("fresh/app")
    ecr.reset_counts()

    done = await CopyEngine(ecr_repository_factory(client)).copy(
        src_ref(src_registry, "fresh/app:v1"), ecr_ref("fresh/app:v1")
    )

    assert done.status == "copied", done.error
    assert ecr.call_counts[BATCH] == 0
    assert heads(client) == 1  # only the destination tag, for the skip check
    assert served_digest(front, "fresh/app:v1") == pushed.digest


def test_ferry_copy_creates_a_missing_ecr_repository(
    ecr: EcrStandIn,  # noqa: F811
    front: str,
    src_registry: LocalRegistry,
) -> None:
    pushed = push_image(src_registry.url, "tool", "1")
    mirror = f"{TARGET.host}={front}"
    source = f"{src_registry.host}/tool:1"

    refused = ferry("copy", "-q", "--no-create-repositories", "--mirror", mirror,
                    source, f"{TARGET.host}/kept/out:1")  # fmt: skip
    assert refused.returncode == 1
    assert "kept/out" in refused.stderr  # the push is refused: the repository is missing

    done = ferry("copy", "-o", "json", "--mirror", mirror, source, f"{TARGET.host}/team/tool:1")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["summary"]["copied"] == 1
    names = [
        r["repositoryName"]
        for r in ecr_client(TARGET.region).describe_repositories(registryId=TARGET.account_id)[
            "repositories"
        ]
    ]
    assert "team/tool" in names and "kept/out" not in names
    assert served_digest(front, "team/tool:1") == pushed.digest


def test_without_aws_keys_a_missing_repository_fails_with_both_reasons(
    ecr: EcrStandIn,  # noqa: F811
    front: str,
    src_registry: LocalRegistry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    push_image(src_registry.url, "tool", "4")
    user, token = ecr_login(TARGET)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")

    done = ferry("copy", "-q", "--dest-creds", f"{user}:{token}",
                 "--mirror", f"{TARGET.host}={front}",
                 f"{src_registry.host}/tool:4", f"{TARGET.host}/absent/tool:4")  # fmt: skip

    assert done.returncode == 1
    line = done.stderr.strip().splitlines()[-1]
    assert "absent/tool" in line and "creating the repository" in line
    assert "credentials" in line
    assert token not in done.stdout + done.stderr
