"""The planner, table-driven and without I/O: which manifests and blobs a copy pushes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from imageferry.copy.options import CopyOptions
from imageferry.copy.plan import PlatformNotFound, build_plan, select
from imageferry.digest import Digest
from imageferry.errors import UnsupportedManifest
from imageferry.manifest import (
    DOCKER_FOREIGN_LAYER,
    DOCKER_MANIFEST_LIST,
    OCI_INDEX,
    Platform,
    RawManifest,
)
from unit.copy.fakes import image_manifest, index_manifest

AMD64 = Platform("linux", "amd64")
ARM64 = Platform("linux", "arm64", "v8")
ARMV7 = Platform("linux", "arm", "v7")
S390X = Platform("linux", "s390x")

DOCKER_IMG = image_manifest(b'{"cfg":"docker"}', [b"base-layer", b"app-layer"])
OCI_IMG = image_manifest(b'{"cfg":"oci"}', [b"oci-layer"], oci=True)
IMG_AMD64 = image_manifest(b'{"arch":"amd64"}', [b"base-layer", b"amd64-bin"], oci=True)
IMG_ARM64 = image_manifest(b'{"arch":"arm64"}', [b"base-layer", b"arm64-bin"], oci=True)
IMG_ARMV7 = image_manifest(b'{"arch":"armv7"}', [b"armv7-bin"], oci=True)
INDEX = index_manifest([(IMG_AMD64, AMD64), (IMG_ARM64, ARM64), (IMG_ARMV7, ARMV7)])
DOCKER_LIST = index_manifest([(IMG_AMD64, AMD64), (IMG_ARM64, ARM64)], oci=False)
ARTIFACT = image_manifest(
    b'{"kind":"sbom"}',
    [b"sbom-document"],
    oci=True,
    config_type="application/vnd.example.sbom.config.v1+json",
    layer_types=["application/spdx+json"],
)
FOREIGN = image_manifest(
    b'{"os":"windows"}',
    [b"windows-base", b"app"],
    layer_types=[DOCKER_FOREIGN_LAYER, "application/vnd.docker.image.rootfs.diff.tar.gzip"],
)
REFERRER = image_manifest(
    b"{}",
    [b"signature"],
    oci=True,
    config_type="application/vnd.oci.empty.v1+json",
    subject=OCI_IMG,
)
ALL_CHILDREN = {m.digest: m for m in (IMG_AMD64, IMG_ARM64, IMG_ARMV7)}


def d(data: bytes) -> Digest:
    return Digest.of(data)


@dataclass
class Case:
    name: str
    top: RawManifest
    options: CopyOptions
    #: expected push order, children first, target last
    pushes: list[RawManifest]
    #: expected blobs per image manifest, in push order
    blobs: list[list[bytes]]
    target_is_source: bool = True
    note: str | None = None
    left_out: list[bytes] = field(default_factory=list)


CASES = [
    Case(
        "docker image",
        DOCKER_IMG,
        CopyOptions(),
        [DOCKER_IMG],
        [[b'{"cfg":"docker"}', b"base-layer", b"app-layer"]],
    ),
    Case("oci image", OCI_IMG, CopyOptions(), [OCI_IMG], [[b'{"cfg":"oci"}', b"oci-layer"]]),
    Case(
        "index, all",
        INDEX,
        CopyOptions(),
        [IMG_AMD64, IMG_ARM64, IMG_ARMV7, INDEX],
        [
            [b'{"arch":"amd64"}', b"base-layer", b"amd64-bin"],
            [b'{"arch":"arm64"}', b"base-layer", b"arm64-bin"],
            [b'{"arch":"armv7"}', b"armv7-bin"],
        ],
    ),
    Case(
        "docker list, all",
        DOCKER_LIST,
        CopyOptions(),
        [IMG_AMD64, IMG_ARM64, DOCKER_LIST],
        [
            [b'{"arch":"amd64"}', b"base-layer", b"amd64-bin"],
            [b'{"arch":"arm64"}', b"base-layer", b"arm64-bin"],
        ],
    ),
    Case(
        "index, system on arm64",
        INDEX,
        CopyOptions(multi_arch="system", system_platform=Platform("linux", "arm64")),
        [IMG_ARM64],
        [[b'{"arch":"arm64"}', b"base-layer", b"arm64-bin"]],
        target_is_source=False,
        note="host platform",
    ),
    Case(
        "index, system on armv7 picks the variant",
        INDEX,
        CopyOptions(multi_arch="system", system_platform=ARMV7),
        [IMG_ARMV7],
        [[b'{"arch":"armv7"}', b"armv7-bin"]],
        target_is_source=False,
        note="linux/arm/v7",
    ),
    Case(
        "index-only pushes the index alone",
        INDEX,
        CopyOptions(multi_arch="index-only"),
        [INDEX],
        [],
        note="index-only",
    ),
    Case(
        "single image ignores system mode",
        DOCKER_IMG,
        CopyOptions(multi_arch="system", system_platform=S390X),
        [DOCKER_IMG],
        [[b'{"cfg":"docker"}', b"base-layer", b"app-layer"]],
    ),
    Case(
        "platform filter keeping everything keeps the index",
        DOCKER_LIST,
        CopyOptions(platforms=(AMD64, Platform("linux", "arm64"))),
        [IMG_AMD64, IMG_ARM64, DOCKER_LIST],
        [
            [b'{"arch":"amd64"}', b"base-layer", b"amd64-bin"],
            [b'{"arch":"arm64"}', b"base-layer", b"arm64-bin"],
        ],
        note="unchanged",
    ),
    Case(
        "artifact with a custom config type",
        ARTIFACT,
        CopyOptions(),
        [ARTIFACT],
        [[b'{"kind":"sbom"}', b"sbom-document"]],
    ),
    Case(
        "foreign layers left out by default",
        FOREIGN,
        CopyOptions(),
        [FOREIGN],
        [[b'{"os":"windows"}', b"app"]],
        note="non-distributable",
        left_out=[b"windows-base"],
    ),
    Case(
        "foreign layers copied with the flag",
        FOREIGN,
        CopyOptions(include_foreign_layers=True),
        [FOREIGN],
        [[b'{"os":"windows"}', b"windows-base", b"app"]],
    ),
    Case(
        "a referrer keeps its subject field and says the subject is not copied",
        REFERRER,
        CopyOptions(),
        [REFERRER],
        [[b"{}", b"signature"]],
        note="subject",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_plan(case: Case) -> None:
    plan = build_plan(case.top, ALL_CHILDREN, case.options)

    assert [m.digest for m in plan.pushes] == [m.digest for m in case.pushes]
    assert plan.target is plan.pushes[-1]
    assert [[b.digest for b in image.blobs] for image in plan.images] == [
        [d(b) for b in blobs] for blobs in case.blobs
    ]
    assert (plan.digest == case.top.digest) is case.target_is_source
    assert [b.digest for i in plan.images for b in i.left_out] == [d(b) for b in case.left_out]
    if case.note is None:
        assert plan.notes == ()
    else:
        assert any(case.note in n for n in plan.notes), plan.notes
    unique = {b for blobs in case.blobs for b in blobs}
    assert plan.blob_bytes == sum(len(b) for b in unique)


def test_shared_base_layer_counts_once_in_total_bytes() -> None:
    plan = build_plan(INDEX, ALL_CHILDREN, CopyOptions())
    assert [b.digest for b in plan.blobs].count(d(b"base-layer")) == 1


@pytest.mark.parametrize(
    ("top", "wanted", "kept"),
    [
        (INDEX, (AMD64,), [IMG_AMD64]),
        (INDEX, (AMD64, Platform("linux", "arm64")), [IMG_AMD64, IMG_ARM64]),
        (INDEX, (Platform("linux", "arm"),), [IMG_ARMV7]),
        (DOCKER_LIST, (ARM64,), [IMG_ARM64]),
    ],
)
def test_platform_filter_builds_a_new_index(
    top: RawManifest, wanted: tuple[Platform, ...], kept: list[RawManifest]
) -> None:
    plan = build_plan(top, ALL_CHILDREN, CopyOptions(platforms=wanted))

    new_index = plan.target
    assert new_index.digest != top.digest
    assert new_index.media_type == top.media_type
    body = json.loads(new_index.body)
    assert body["mediaType"] == json.loads(top.body)["mediaType"]
    assert [m["digest"] for m in body["manifests"]] == [str(k.digest) for k in kept]
    assert [m.digest for m in plan.pushes] == [*(k.digest for k in kept), new_index.digest]
    assert any(str(new_index.digest) in n and "new index" in n for n in plan.notes)
    # Deterministic: the same input gives the same bytes.
    again = build_plan(top, ALL_CHILDREN, CopyOptions(platforms=wanted))
    assert again.target.body == new_index.body


def test_filtered_index_keeps_media_type_for_docker_lists() -> None:
    plan = build_plan(DOCKER_LIST, ALL_CHILDREN, CopyOptions(platforms=(AMD64,)))
    assert plan.target.media_type == DOCKER_MANIFEST_LIST
    assert json.loads(plan.target.body)["mediaType"] == DOCKER_MANIFEST_LIST


@pytest.mark.parametrize(
    "options",
    [
        CopyOptions(platforms=(S390X,)),
        CopyOptions(platforms=(AMD64, S390X)),
        CopyOptions(multi_arch="system", system_platform=S390X),
    ],
)
def test_a_wanted_platform_matching_nothing_names_the_available_ones(
    options: CopyOptions,
) -> None:
    with pytest.raises(PlatformNotFound) as caught:
        select(INDEX, options)
    message = str(caught.value)
    assert "linux/s390x" in message
    for available in ("linux/amd64", "linux/arm64/v8", "linux/arm/v7"):
        assert available in message


def test_select_needs_only_the_top_manifest() -> None:
    selection = select(INDEX, CopyOptions(multi_arch="system", system_platform=AMD64))
    assert selection.target.digest == IMG_AMD64.digest
    assert [c.digest for c in selection.children] == [IMG_AMD64.digest]
    assert selection.index is None


def test_nested_index_children_come_first() -> None:
    inner = index_manifest([(IMG_AMD64, AMD64)])
    outer = index_manifest([(inner, None), (IMG_ARM64, ARM64)])
    fetched = {m.digest: m for m in (inner, IMG_AMD64, IMG_ARM64)}

    plan = build_plan(outer, fetched, CopyOptions())

    assert [m.digest for m in plan.pushes] == [
        IMG_AMD64.digest,
        inner.digest,
        IMG_ARM64.digest,
        outer.digest,
    ]


def test_a_child_served_with_other_bytes_is_rejected() -> None:
    tampered = {
        IMG_AMD64.digest: IMG_ARM64,
        IMG_ARM64.digest: IMG_ARM64,
        IMG_ARMV7.digest: IMG_ARMV7,
    }
    with pytest.raises(UnsupportedManifest, match="different content"):
        build_plan(INDEX, tampered, CopyOptions())


def test_index_media_type_is_preserved_in_plan() -> None:
    plan = build_plan(INDEX, ALL_CHILDREN, CopyOptions())
    assert plan.target.media_type == OCI_INDEX
    assert plan.target.body == INDEX.body


def test_a_referrer_notes_its_subject_is_left_behind_unless_the_run_copies_it() -> None:
    from imageferry.copy.referrers import referrer_options

    subject = image_manifest(b"app-config", [b"app-layer"], oci=True)
    signature = image_manifest(b"sig-config", [b"sig"], oci=True, subject=subject)

    alone = build_plan(signature, {}, CopyOptions())
    assert alone.notes == (
        f"{signature.digest} refers to subject {subject.digest}, which is not copied with it",
    )
    # --referrers copies referrers after (and with) their subjects: nothing to say.
    assert build_plan(signature, {}, referrer_options(CopyOptions())).notes == ()
