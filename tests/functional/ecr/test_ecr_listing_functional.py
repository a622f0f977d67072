"""EcrLister lists every repository, tag and untagged digest, however many pages."""

from __future__ import annotations

from fixtures.ecr import ECR_ACCOUNT, ECR_REGION, data_plane_url, ecr_login
from imageferry.ecr.client import ecr_client
from imageferry.ecr.hosts import EcrRegistry
from imageferry.ecr.listing import EcrLister
from imageferry.ecr.repositories import ensure_repository
from stand_ins.ecr import EcrStandIn
from stand_ins.images import Pusher, push_image

TARGET = EcrRegistry(ECR_ACCOUNT, ECR_REGION)
TAGGED = 160
UNTAGGED = 110


async def test_every_tag_and_untagged_digest_across_pages(ecr: EcrStandIn) -> None:
    client = ecr_client(TARGET.region)
    await ensure_repository(client, "big/repo", target=TARGET)
    tags: set[str] = set()
    untagged: set[str] = set()
    with Pusher(data_plane_url(ecr, TARGET), ecr_login(TARGET)) as pusher:
        for i in range(TAGGED):
            tag = f"v{i:03d}"
            push_image(pusher, "big/repo", tag, layers=0, seed=f"t{i}")
            tags.add(tag)
        for i in range(UNTAGGED):
            untagged.add(push_image(pusher, "big/repo", None, layers=0, seed=f"u{i}").digest)
        # Moving a tag leaves the image it named untagged, as in ECR.
        moved = push_image(pusher, "big/repo", "v000", layers=0, seed="moved")
    ecr.reset_counts()

    lister = EcrLister(client, TARGET, page_size=100)
    listed_tags = await lister.list_tags("big/repo")
    listed_untagged = await lister.list_untagged("big/repo")

    assert listed_tags == sorted(tags)
    assert len(listed_untagged) == UNTAGGED + 1
    assert untagged < set(listed_untagged)
    assert moved.digest not in listed_untagged
    # 160 tagged images → 2 pages; 111 untagged → 2 pages: nextToken was followed.
    assert ecr.call_counts["DescribeImages"] == 4

    images = await lister.list_images("big/repo")
    assert len(images) == TAGGED + UNTAGGED + 1
    by_digest = {i.digest: i for i in images}
    assert by_digest[moved.digest].tags == ("v000",)
    assert all(i.pushed_at is not None and i.size for i in images)


async def test_default_page_size_lists_more_than_one_hundred_images(ecr: EcrStandIn) -> None:
    client = ecr_client(TARGET.region)
    await ensure_repository(client, "repo", target=TARGET)
    with Pusher(data_plane_url(ecr, TARGET), ecr_login(TARGET)) as pusher:
        digests = {
            push_image(pusher, "repo", f"t{i}", layers=0, seed=f"d{i}").digest for i in range(130)
        }
    images = await EcrLister(client, TARGET).list_images("repo", "TAGGED")
    assert {i.digest for i in images} == digests


async def test_repositories_across_pages_and_accounts(ecr: EcrStandIn) -> None:
    client = ecr_client(TARGET.region)
    names = [f"team{i % 7}/svc-{i:03d}" for i in range(230)]
    for name in names:
        client.create_repository(repositoryName=name)
    other = EcrRegistry("999988887777", TARGET.region)
    client.create_repository(registryId=other.account_id, repositoryName="elsewhere")
    ecr.reset_counts()

    assert await EcrLister(client, TARGET, page_size=50).list_repositories() == sorted(names)
    assert ecr.call_counts["DescribeRepositories"] == 5
    # registryId is passed: the same credentials list another account's registry.
    assert await EcrLister(client, other).list_repositories() == ["elsewhere"]
