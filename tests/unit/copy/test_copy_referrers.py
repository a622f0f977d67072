"""Finding an image's referrers in the three places a source may keep them."""

from __future__ import annotations

import json

from imageferry.copy.referrers import find_referrers, tag_for
from imageferry.digest import Digest
from imageferry.manifest import OCI_INDEX, OCI_MANIFEST, Descriptor, RawManifest
from imageferry.reference import Reference

SUBJECT = Digest.of(b"the image")
API_SBOM = Digest.of(b"sbom via the API")
INDEXED = Digest.of(b"sbom in the tag-schema index")
SIG = Digest.of(b"cosign signature")
SRC = Reference.parse("src.example.com/team/app:v1")
DST = Reference.parse("dst.example.com/mirror/app:v1")


class Source:
    def __init__(self, *, api: bool, tags: dict[str, Descriptor]) -> None:
        self.api = api
        self.tags = tags

    async def list_referrers(self, digest: Digest) -> list[Descriptor] | None:
        assert digest == SUBJECT
        return [Descriptor(OCI_MANIFEST, API_SBOM, 10)] if self.api else None

    async def head_manifest(self, ref: str) -> Descriptor | None:
        return self.tags.get(ref)

    async def get_manifest(self, ref: str) -> RawManifest:
        body = {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [{"mediaType": OCI_MANIFEST, "digest": str(INDEXED), "size": 5}],
        }
        return RawManifest(json.dumps(body).encode(), OCI_INDEX)


def schema_and_signature() -> dict[str, Descriptor]:
    schema = tag_for(SUBJECT)
    return {
        schema: Descriptor(OCI_INDEX, Digest.of(b"index"), 100),
        f"{schema}.sig": Descriptor(OCI_MANIFEST, SIG, 50),
    }


async def test_with_the_api_its_list_and_cosign_tags_count() -> None:
    schema = tag_for(SUBJECT)
    found = await find_referrers(Source(api=True, tags=schema_and_signature()), SRC, DST, SUBJECT)
    # The spec reads the tag schema only where the API is missing.
    assert [(str(s), str(d)) for s, d in found.pairs] == [
        (f"src.example.com/team/app@{API_SBOM}", f"dst.example.com/mirror/app@{API_SBOM}"),
        (f"src.example.com/team/app:{schema}.sig", f"dst.example.com/mirror/app:{schema}.sig"),
    ]
    assert found.digests == (API_SBOM, SIG)
    assert found.api == (API_SBOM,)


async def test_without_the_api_the_tag_schema_and_cosign_tags_count() -> None:
    schema = tag_for(SUBJECT)
    found = await find_referrers(Source(api=False, tags=schema_and_signature()), SRC, DST, SUBJECT)
    assert [(str(s), str(d)) for s, d in found.pairs] == [
        (f"src.example.com/team/app:{schema}", f"dst.example.com/mirror/app:{schema}"),
        (f"src.example.com/team/app:{schema}.sig", f"dst.example.com/mirror/app:{schema}.sig"),
    ]
    # Next level: the referrers themselves, not the tag schema's index.
    assert found.digests == (INDEXED, SIG)
    assert found.api == ()


async def test_nothing_refers_to_it() -> None:
    found = await find_referrers(Source(api=False, tags={}), SRC, DST, SUBJECT)
    assert found.pairs == () and found.digests == ()


def test_tag_schema_name() -> None:
    assert tag_for(SUBJECT) == "sha256-" + SUBJECT.encoded


async def test_a_failed_lookup_is_one_failed_outcome_and_the_walk_goes_on() -> None:
    from dataclasses import dataclass

    from imageferry.copy.referrers import walk_referrers
    from imageferry.errors import ServerError

    broken = Reference.parse("src.example.com/team/broken:v1")

    class Flaky(Source):
        def __init__(self, repository: str) -> None:
            super().__init__(api=True, tags={})
            self.repository = repository

        async def list_referrers(self, digest: Digest) -> list[Descriptor] | None:
            if self.repository == "team/broken":
                raise ServerError("answered 500", status=500, registry="src.example.com")
            return await super().list_referrers(digest) if digest == SUBJECT else []

    @dataclass
    class Out:
        source: str
        status: str
        digest: str | None = None
        error: str | None = None

    ran: list[str] = []

    async def run(pairs: object) -> list[Out]:
        copied = [Out(str(src), "copied") for src, _ in pairs]  # type: ignore[attr-defined]
        ran.extend(o.source for o in copied)
        return copied

    outcomes = await walk_referrers(
        [(SRC, DST), (broken, DST)],
        [Out(str(SRC), "copied", str(SUBJECT)), Out(str(broken), "copied", str(SUBJECT))],
        lambda registry, repository: Flaky(repository),
        run,
        lambda pair, error: Out(str(pair[0]), "failed", error=error),
    )

    assert ran == [f"src.example.com/team/app@{API_SBOM}"]
    failed = [o for o in outcomes if o.status == "failed"]
    assert [o.source for o in failed] == [str(broken)]
    assert failed[0].error is not None
    assert failed[0].error.startswith(f"looking for referrers of {broken}: ")
    assert "answered 500" in failed[0].error
