"""Referrers the source's API lists stay findable at a destination without the API.

Debian's docker-registry 2.8 has no referrers API; the source's API is played
here by the source repository plus the list a registry with the API would
answer. The destination is a real docker-registry, and skopeo reads the
referrers tag schema index written there.
"""

from __future__ import annotations

import json

from imageferry.copy import CopyEngine
from imageferry.copy.options import CopyOptions
from imageferry.copy.referrer_index import indexer
from imageferry.copy.referrers import referrer_options, tag_for, walk_referrers
from imageferry.copy.result import ImageResult
from imageferry.digest import Digest
from imageferry.manifest import OCI_MANIFEST, Descriptor
from imageferry.reference import Reference
from imageferry.registry import RegistryClient
from stand_ins.images import PushedManifest, push_artifact, push_image
from stand_ins.registry import LocalRegistry
from stand_ins.skopeo import inspect_raw

SBOM = "application/spdx+json"


class WithReferrersApi:
    """A source repository whose referrers API lists ``referrers`` for ``subject``."""

    def __init__(self, repository: object, subject: str, referrers: list[PushedManifest]) -> None:
        self._repository = repository
        self._subject = Digest.parse(subject)
        self._referrers = referrers

    async def list_referrers(self, digest: Digest) -> list[Descriptor]:
        if digest != self._subject:
            return []
        return [
            Descriptor(OCI_MANIFEST, Digest.parse(r.digest), len(r.body), artifact_type=SBOM)
            for r in self._referrers
        ]

    def __getattr__(self, name: str) -> object:
        return getattr(self._repository, name)


async def copy_with_referrers(
    src_registry: LocalRegistry,
    dst_registry: LocalRegistry,
    image: PushedManifest,
    sbom: PushedManifest,
) -> list[ImageResult]:
    pair = (
        Reference.parse(f"{src_registry.host}/app:v1"),
        Reference.parse(f"{dst_registry.host}/mirror/app:v1"),
    )
    async with RegistryClient() as client:
        engine = CopyEngine(client.repository)

        def source(registry: str, repository: str) -> WithReferrersApi:
            return WithReferrersApi(client.repository(registry, repository), image.digest, [sbom])

        async def run(pairs: object) -> list[ImageResult]:
            return await engine.copy_many(pairs, referrer_options(CopyOptions()))  # type: ignore[arg-type]

        def failed(pair: tuple[Reference, Reference], error: str) -> ImageResult:
            return ImageResult(str(pair[0]), str(pair[1]), None, "failed", error=error)

        results = await engine.copy_many([pair])
        return results + await walk_referrers(
            [pair], results, source, run, failed, indexer(client.repository)
        )


async def test_api_found_referrers_are_listed_in_the_destination_tag_schema(
    src_registry: LocalRegistry, dst_registry: LocalRegistry
) -> None:
    image = push_image(src_registry.url, "app", "v1")
    sbom = push_artifact(src_registry.url, "app", None, SBOM, subject=image, seed="sbom")

    results = await copy_with_referrers(src_registry, dst_registry, image, sbom)

    assert [r.status for r in results] == ["copied", "copied"], [r.error for r in results]
    schema = f"{dst_registry.host}/mirror/app:{tag_for(Digest.parse(image.digest))}"
    index = json.loads(inspect_raw(schema))
    assert [(m["digest"], m["artifactType"]) for m in index["manifests"]] == [(sbom.digest, SBOM)]
    assert inspect_raw(f"{dst_registry.host}/mirror/app@{sbom.digest}") == sbom.body

    # A second run finds everything there and leaves the index as it is.
    again = await copy_with_referrers(src_registry, dst_registry, image, sbom)
    assert [r.status for r in again] == ["skipped", "skipped"]
    assert json.loads(inspect_raw(schema)) == index
