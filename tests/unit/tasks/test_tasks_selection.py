"""select_images: what a task copies, with a fake source listing."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from imageferry.digest import Digest
from imageferry.reference import Reference
from imageferry.tasks import selection as selection_module
from imageferry.tasks.params import TaskSpec
from imageferry.tasks.selection import (
    ImagePair,
    SelectionError,
    destination_for,
    ecr_registry_host,
    select_images,
)

SRC_ACCOUNT = "111111111111"
DEST_ACCOUNT = "222222222222"
SRC_HOST = f"{SRC_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com"
DEST_HOST = f"{DEST_ACCOUNT}.dkr.ecr.us-west-2.amazonaws.com"
D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64


@dataclass
class FakeLister:
    """A registry's contents: repository -> (tags, untagged digests)."""

    repositories: dict[str, tuple[list[str], list[str]]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)

    async def list_repositories(self) -> list[str]:
        self.calls.append(("repositories", ""))
        return list(self.repositories)

    async def list_tags(self, repository: str) -> list[str]:
        self.calls.append(("tags", repository))
        return list(self.repositories.get(repository, ([], []))[0])

    async def list_untagged(self, repository: str) -> list[str]:
        self.calls.append(("untagged", repository))
        return list(self.repositories.get(repository, ([], []))[1])


def ecr_spec(**overrides: str) -> TaskSpec:
    base = {
        "srcRegion": "us-east-1",
        "srcAccountId": SRC_ACCOUNT,
        "destRegion": "us-west-2",
        "destAccountId": DEST_ACCOUNT,
    }
    return TaskSpec.from_parameters({**base, **overrides})


def pairs_as_text(pairs: tuple[ImagePair, ...]) -> list[tuple[str, str]]:
    return [(str(p.source), str(p.destination)) for p in pairs]


@pytest.mark.parametrize(
    ("account", "region", "host"),
    [
        ("123456789012", "us-east-1", "123456789012.dkr.ecr.us-east-1.amazonaws.com"),
        ("123456789012", "cn-north-1", "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn"),
        ("123456789012", "cn-northwest-1", "123456789012.dkr.ecr.cn-northwest-1.amazonaws.com.cn"),
        ("123456789012", "us-gov-west-1", "123456789012.dkr.ecr.us-gov-west-1.amazonaws.com"),
    ],
)
def test_ecr_registry_host(account: str, region: str, host: str) -> None:
    assert ecr_registry_host(account, region) == host


async def test_ecr_all_copies_every_repository_and_tag_past_a_hundred() -> None:
    contents = {f"team/app{i:03d}": ([f"v{j}" for j in range(120)], []) for i in range(150)}
    lister = FakeLister(contents)
    result = await select_images(ecr_spec(includeUntagged="false"), lister)
    assert len(result.pairs) == 150 * 120
    first = result.pairs[0]
    assert str(first.source) == f"{SRC_HOST}/team/app000:v0"
    assert str(first.destination) == f"{DEST_HOST}/team/app000:v0"
    last = result.pairs[-1]
    assert str(last.source) == f"{SRC_HOST}/team/app149:v119"
    assert not [c for c in lister.calls if c[0] == "untagged"]


async def test_include_untagged_copies_digest_to_digest() -> None:
    lister = FakeLister({"app": (["v1"], [D1, D2])})
    result = await select_images(ecr_spec(includeUntagged="true"), lister)
    assert pairs_as_text(result.pairs) == [
        (f"{SRC_HOST}/app:v1", f"{DEST_HOST}/app:v1"),
        (f"{SRC_HOST}/app@{D1}", f"{DEST_HOST}/app@{D1}"),
        (f"{SRC_HOST}/app@{D2}", f"{DEST_HOST}/app@{D2}"),
    ]
    untagged = result.pairs[1]
    assert untagged.source.tag is None and untagged.destination.tag is None
    assert untagged.destination.digest == Digest.parse(D1)


async def test_include_untagged_false_copies_tags_only() -> None:
    lister = FakeLister({"app": (["v1"], [D1])})
    result = await select_images(ecr_spec(includeUntagged="false"), lister)
    assert pairs_as_text(result.pairs) == [(f"{SRC_HOST}/app:v1", f"{DEST_HOST}/app:v1")]


async def test_dest_prefix_is_applied() -> None:
    lister = FakeLister({"team/app": (["v1"], [])})
    result = await select_images(ecr_spec(destPrefix="mirror/east"), lister)
    assert str(result.pairs[0].destination) == f"{DEST_HOST}/mirror/east/team/app:v1"


async def test_dest_registry_with_prefix() -> None:
    lister = FakeLister({"app": (["v1"], [])})
    spec = ecr_spec(destRegion="", destAccountId="", destRegistry="localhost:5000", destPrefix="m")
    result = await select_images(spec, lister)
    assert str(result.pairs[0].destination) == "localhost:5000/m/app:v1"


async def test_tag_filters_apply_to_listed_tags() -> None:
    lister = FakeLister({"app": (["v1.0", "v1.1", "v2.0-rc1", "latest"], [])})
    spec = ecr_spec(includeTags=r"v\d.*", excludeTags=r".*-rc\d+", includeUntagged="false")
    result = await select_images(spec, lister)
    assert [p.source.tag for p in result.pairs] == ["v1.0", "v1.1"]
    assert any("left out 2 of 4" in n for n in result.notes)


async def test_blank_account_ids_mean_the_callers_account() -> None:
    lister = FakeLister({"app": (["v1"], [])})
    spec = ecr_spec(srcAccountId="", destAccountId="")
    result = await select_images(spec, lister, account_id="333333333333")
    pair = result.pairs[0]
    assert pair.source.registry == "333333333333.dkr.ecr.us-east-1.amazonaws.com"
    assert pair.destination.registry == "333333333333.dkr.ecr.us-west-2.amazonaws.com"


async def test_blank_account_without_the_callers_account_is_an_error() -> None:
    with pytest.raises(SelectionError, match="srcAccountId"):
        await select_images(ecr_spec(srcAccountId=""), FakeLister())
    with pytest.raises(SelectionError, match="destAccountId"):
        await select_images(ecr_spec(destAccountId=""), FakeLister())


async def test_china_destination_host() -> None:
    lister = FakeLister({"app": (["v1"], [])})
    result = await select_images(ecr_spec(destRegion="cn-north-1"), lister)
    assert result.pairs[0].destination.registry == (
        f"{DEST_ACCOUNT}.dkr.ecr.cn-north-1.amazonaws.com.cn"
    )


async def test_src_registry_all_lists_the_catalog() -> None:
    lister = FakeLister({"a": (["1"], []), "b/c": (["2", "3"], [])})
    spec = ecr_spec(srcRegion="", srcAccountId="", srcRegistry="localhost:5000")
    result = await select_images(spec, lister)
    assert pairs_as_text(result.pairs) == [
        ("localhost:5000/a:1", f"{DEST_HOST}/a:1"),
        ("localhost:5000/b/c:2", f"{DEST_HOST}/b/c:2"),
        ("localhost:5000/b/c:3", f"{DEST_HOST}/b/c:3"),
    ]


async def test_empty_repositories_are_noted() -> None:
    lister = FakeLister({"empty": ([], []), "app": (["v1"], [])})
    result = await select_images(ecr_spec(), lister)
    assert len(result.pairs) == 1
    assert any("empty has no images" in n for n in result.notes)


async def test_selected_entries_in_ecr() -> None:
    spec = ecr_spec(
        srcList="SELECTED",
        srcImageList=f"ubuntu, team/app:v2 ,\n\nbase@{D1},,tool:v1@{D2}",
        destPrefix="mirror",
    )
    result = await select_images(spec, FakeLister())
    assert pairs_as_text(result.pairs) == [
        (f"{SRC_HOST}/ubuntu:latest", f"{DEST_HOST}/mirror/ubuntu:latest"),
        (f"{SRC_HOST}/team/app:v2", f"{DEST_HOST}/mirror/team/app:v2"),
        (f"{SRC_HOST}/base@{D1}", f"{DEST_HOST}/mirror/base@{D1}"),
        (f"{SRC_HOST}/tool:v1@{D2}", f"{DEST_HOST}/mirror/tool:v1@{D2}"),
    ]


async def test_all_tags_expands_in_ecr_with_filters() -> None:
    lister = FakeLister({"app": (["v1", "v2", "dev"], [D1])})
    spec = ecr_spec(srcList="SELECTED", srcImageList="app:ALL_TAGS", excludeTags="dev")
    result = await select_images(spec, lister)
    assert [str(p.source) for p in result.pairs] == [f"{SRC_HOST}/app:v1", f"{SRC_HOST}/app:v2"]


async def test_explicit_tags_are_not_filtered() -> None:
    spec = ecr_spec(srcList="SELECTED", srcImageList="app:dev", excludeTags="dev")
    result = await select_images(spec, FakeLister())
    assert [p.source.tag for p in result.pairs] == ["dev"]


async def test_all_tags_for_a_non_ecr_registry() -> None:
    registry = FakeLister({"team/app": (["1.0", "2.0"], [])})
    spec = TaskSpec.from_parameters(
        {
            "sourceType": "Public",
            "srcList": "SELECTED",
            "srcImageList": "localhost:5000/team/app:ALL_TAGS",
            "destRegistry": "127.0.0.1:6000",
        }
    )
    asked: list[str] = []

    def lister_for(host: str) -> FakeLister:
        asked.append(host)
        return registry

    result = await select_images(spec, FakeLister(), lister_for=lister_for)
    assert asked == ["localhost:5000"]
    assert pairs_as_text(result.pairs) == [
        ("localhost:5000/team/app:1.0", "127.0.0.1:6000/team/app:1.0"),
        ("localhost:5000/team/app:2.0", "127.0.0.1:6000/team/app:2.0"),
    ]


async def test_all_tags_on_src_registry_uses_the_main_lister() -> None:
    lister = FakeLister({"x": (["a", "b"], [])})
    spec = ecr_spec(
        srcRegion="", srcRegistry="quay.io", srcList="SELECTED", srcImageList="x:ALL_TAGS"
    )
    result = await select_images(spec, lister, lister_for=lambda host: pytest.fail(host))
    assert [str(p.source) for p in result.pairs] == ["quay.io/x:a", "quay.io/x:b"]


async def test_public_entries_with_ports_digests_and_docker_hub() -> None:
    spec = TaskSpec.from_parameters(
        {
            "sourceType": "Public",
            "srcList": "SELECTED",
            "srcImageList": (
                f"ubuntu,nginx:1.25,bitnami/redis:7,host:5000/x:tag,x@{D1},"
                "quay.io/coreos/etcd:v3.5,ghcr.io/owner/tool"
            ),
            "destRegion": "us-west-2",
            "destAccountId": DEST_ACCOUNT,
            "destPrefix": "hub",
        }
    )
    result = await select_images(spec, FakeLister())
    assert pairs_as_text(result.pairs) == [
        ("docker.io/library/ubuntu:latest", f"{DEST_HOST}/hub/library/ubuntu:latest"),
        ("docker.io/library/nginx:1.25", f"{DEST_HOST}/hub/library/nginx:1.25"),
        ("docker.io/bitnami/redis:7", f"{DEST_HOST}/hub/bitnami/redis:7"),
        ("host:5000/x:tag", f"{DEST_HOST}/hub/x:tag"),
        (f"docker.io/library/x@{D1}", f"{DEST_HOST}/hub/library/x@{D1}"),
        ("quay.io/coreos/etcd:v3.5", f"{DEST_HOST}/hub/coreos/etcd:v3.5"),
        ("ghcr.io/owner/tool:latest", f"{DEST_HOST}/hub/owner/tool:latest"),
    ]


async def test_duplicates_are_copied_once() -> None:
    spec = ecr_spec(srcList="SELECTED", srcImageList="app,app:latest,app")
    result = await select_images(spec, FakeLister())
    assert len(result.pairs) == 1
    assert any("2 duplicate" in n for n in result.notes)


async def test_all_tags_with_no_tags_is_reported_missing() -> None:
    spec = ecr_spec(srcList="SELECTED", srcImageList="ghost:ALL_TAGS", destPrefix="m")
    result = await select_images(spec, FakeLister())
    assert result.pairs == ()
    (missing,) = result.missing
    assert (missing.source.repository, missing.source.tag) == ("ghost", "ALL_TAGS")
    assert missing.destination.repository == "m/ghost"


def test_destination_keeps_tag_and_digest() -> None:
    source = Reference.parse(f"quay.io/a/b:v1@{D1}")
    dest = destination_for(source, "localhost:5000", "p/q")
    assert str(dest) == f"localhost:5000/p/q/a/b:v1@{D1}"


def test_destination_too_long_is_an_error() -> None:
    source = Reference.parse("quay.io/" + "a" * 200 + ":v1")
    with pytest.raises(SelectionError, match="cannot copy"):
        destination_for(source, "localhost:5000", "b" * 60)


def test_module_exports_exist() -> None:
    for name in selection_module.__all__:
        assert hasattr(selection_module, name), name
