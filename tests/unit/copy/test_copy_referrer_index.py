"""Keeping the referrers tag schema at a destination without the referrers API."""

from __future__ import annotations

import json

import pytest

from imageferry.copy.referrer_index import index_referrers, referrer_entry
from imageferry.copy.referrers import tag_for
from imageferry.digest import Digest
from imageferry.errors import UnsupportedManifest
from imageferry.manifest import OCI_INDEX, OCI_MANIFEST, Descriptor, RawManifest

SUBJECT = Digest.of(b"the image")
SBOM_TYPE = "application/spdx+json"


def artifact(name: str, *, artifact_type: str | None = None) -> RawManifest:
    body = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": "application/vnd.example.config+json",
            "digest": str(Digest.of(name.encode())),
            "size": 2,
        },
        "layers": [],
        "subject": {"mediaType": OCI_MANIFEST, "digest": str(SUBJECT), "size": 9},
        "annotations": {"org.example.name": name},
    }
    if artifact_type:
        body["artifactType"] = artifact_type
    return RawManifest(json.dumps(body).encode(), OCI_MANIFEST)


class Destination:
    """A repository without the referrers API unless ``api``; records what is pushed."""

    def __init__(self, manifests: dict[str, RawManifest], *, api: bool = False) -> None:
        self.manifests = manifests
        self.api = api
        self.pushed: list[str] = []

    async def list_referrers(self, digest: Digest) -> list[Descriptor] | None:
        return [] if self.api else None

    async def head_manifest(self, ref: str) -> Descriptor | None:
        raw = self.manifests.get(ref)
        return raw.descriptor if raw is not None else None

    async def get_manifest(self, ref: str) -> RawManifest:
        return self.manifests[ref]

    async def put_manifest(self, ref: str, manifest: RawManifest) -> None:
        self.pushed.append(ref)
        self.manifests[ref] = manifest


def stored(*raws: RawManifest) -> dict[str, RawManifest]:
    return {str(r.digest): r for r in raws}


def listed(destination: Destination) -> list[dict[str, object]]:
    entries: list[dict[str, object]] = json.loads(destination.manifests[tag_for(SUBJECT)].body)[
        "manifests"
    ]
    return entries


def test_an_entry_is_what_the_referrers_api_would_list() -> None:
    sbom = artifact("sbom", artifact_type=SBOM_TYPE)
    assert referrer_entry(sbom) == {
        "mediaType": OCI_MANIFEST,
        "digest": str(sbom.digest),
        "size": len(sbom.body),
        "artifactType": SBOM_TYPE,
        "annotations": {"org.example.name": "sbom"},
    }
    # Without artifactType, the config's media type stands for it.
    assert referrer_entry(artifact("sig"))["artifactType"] == "application/vnd.example.config+json"


async def test_a_new_index_lists_the_referrers() -> None:
    sbom, sig = artifact("sbom", artifact_type=SBOM_TYPE), artifact("sig")
    destination = Destination(stored(sbom, sig))

    assert await index_referrers(destination, SUBJECT, [sbom.digest, sig.digest])

    index = destination.manifests[tag_for(SUBJECT)]
    assert index.media_type == OCI_INDEX
    assert [e["digest"] for e in listed(destination)] == [str(sbom.digest), str(sig.digest)]


async def test_entries_already_there_are_kept_and_not_pushed_again() -> None:
    theirs, ours = artifact("pushed by someone else"), artifact("ours")
    destination = Destination(stored(theirs, ours))
    await index_referrers(destination, SUBJECT, [theirs.digest])

    assert await index_referrers(destination, SUBJECT, [ours.digest, theirs.digest])
    assert [e["digest"] for e in listed(destination)] == [str(theirs.digest), str(ours.digest)]
    # Nothing new: nothing pushed.
    assert not await index_referrers(destination, SUBJECT, [ours.digest])
    assert destination.pushed == [tag_for(SUBJECT)] * 2


async def test_a_destination_with_the_api_indexes_by_itself() -> None:
    sbom = artifact("sbom")
    destination = Destination(stored(sbom), api=True)
    assert not await index_referrers(destination, SUBJECT, [sbom.digest])
    assert destination.pushed == []


async def test_a_tag_holding_something_else_is_left_alone() -> None:
    sbom = artifact("sbom")
    destination = Destination({**stored(sbom), tag_for(SUBJECT): artifact("not an index")})
    with pytest.raises(UnsupportedManifest, match="something other than a referrers index"):
        await index_referrers(destination, SUBJECT, [sbom.digest])
    assert destination.pushed == []
