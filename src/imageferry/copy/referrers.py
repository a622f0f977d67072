"""Referrers: the signatures, SBOMs and attestations that point at an image.

Copying an image alone leaves its cosign signature behind, and a deployment
that verifies signatures then refuses the copy. A referrer can be found at the
source in three places, and all three are looked at:

1. the referrers API (OCI distribution-spec 1.1, "Listing Referrers");
2. the referrers tag schema (same spec, "Referrers Tag Schema"): the tag
   ``sha256-<hex>`` names an index of the referrers, kept by clients for
   registries without the API;
3. cosign's tags ``sha256-<hex>.sig``, ``.att`` and ``.sbom``.

Each referrer found becomes an ordinary copy pair, by digest for the API's
entries and by tag for tags. The engine copies and verifies it like any image,
and a second run skips it. Referrers of referrers (a signature on an SBOM) are
followed too, :data:`MAX_DEPTH` levels down.

A destination with the referrers API indexes a copied manifest by its
``subject`` itself. For a destination without it, referrers the source's API
listed are added to the subject's tag-schema index there
(:mod:`imageferry.copy.referrer_index`); those the source kept in tags arrive
with their tags.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol, TypeVar

from imageferry.copy.options import CopyOptions
from imageferry.digest import Digest
from imageferry.errors import FerryError
from imageferry.manifest import Descriptor, Index, RawManifest
from imageferry.reference import Reference

__all__ = [
    "COSIGN_SUFFIXES",
    "MAX_DEPTH",
    "Found",
    "Outcome",
    "Pair",
    "ReferrerSource",
    "find_referrers",
    "referrer_options",
    "tag_for",
    "walk_referrers",
]

#: cosign's tags next to ``sha256-<hex>``: signature, attestations, SBOM.
COSIGN_SUFFIXES = (".sig", ".att", ".sbom")
#: Levels of referrers followed below a copied image.
MAX_DEPTH = 3

Pair = tuple[Reference, Reference]


class ReferrerSource(Protocol):
    """What finding referrers asks of a source repository."""

    async def head_manifest(self, ref: str) -> Descriptor | None: ...

    async def get_manifest(self, ref: str) -> RawManifest: ...

    async def list_referrers(self, digest: Digest) -> list[Descriptor] | None: ...


@dataclass(frozen=True, slots=True)
class Found:
    """The referrers of one manifest: what to copy, and whose referrers come next."""

    pairs: tuple[Pair, ...]
    #: The referrer manifests themselves (a tag-schema index's entries, not the index).
    digests: tuple[Digest, ...]
    #: The referrers the source's referrers API listed (a subset of ``digests``).
    api: tuple[Digest, ...] = ()


def tag_for(digest: Digest) -> str:
    """The tag-schema tag for ``digest``: ``sha256:abc...`` → ``sha256-abc...``."""
    return str(digest).replace(":", "-", 1)


def referrer_options(options: CopyOptions) -> CopyOptions:
    """Referrers are copied whole (a platform filter would change their digests),
    and with their subjects."""
    return replace(options, multi_arch="all", platforms=(), subjects_copied=True)


async def find_referrers(
    source: ReferrerSource, src: Reference, dst: Reference, digest: Digest
) -> Found:
    """Every referrer of ``digest`` in ``src``'s repository, as pairs into ``dst``'s.

    Where the referrers API answers, the tag schema's index is not copied: the
    spec falls back to it only without the API, and the destination's own
    index (see :mod:`imageferry.copy.referrer_index`) lists what was copied.
    """
    tags = _tags(digest)
    listed, heads = await asyncio.gather(
        source.list_referrers(digest),
        asyncio.gather(*(source.head_manifest(tag) for tag in tags)),
    )
    pairs: list[Pair] = []
    digests: list[Digest] = []
    for descriptor in listed or ():
        pairs.append(_by_digest(src, dst, descriptor.digest))
        digests.append(descriptor.digest)
    for tag, head in zip(tags, heads, strict=True):
        if head is None or (tag == tags[0] and listed is not None):
            continue
        pairs.append((src.with_digest(None).with_tag(tag), dst.with_digest(None).with_tag(tag)))
        if tag == tags[0]:
            # The tag schema's index lists the referrers; copying it copies them.
            index = (await source.get_manifest(tag)).parse()
            if isinstance(index, Index):
                digests += [d.digest for d in index.manifests]
        else:
            digests.append(head.digest)
    api = tuple(dict.fromkeys(d.digest for d in listed or ()))
    return Found(tuple(pairs), tuple(dict.fromkeys(digests)), api)


def _by_digest(src: Reference, dst: Reference, digest: Digest) -> Pair:
    return src.with_tag(None).with_digest(digest), dst.with_tag(None).with_digest(digest)


def _tags(digest: Digest) -> Sequence[str]:
    base = tag_for(digest)
    return (base, *(base + suffix for suffix in COSIGN_SUFFIXES))


class Outcome(Protocol):
    """What a copy (or a plan) of one pair says: enough to look for its referrers."""

    @property
    def status(self) -> str: ...

    @property
    def digest(self) -> str | None: ...


_O = TypeVar("_O", bound=Outcome)


async def walk_referrers(
    pairs: Sequence[Pair],
    outcomes: Sequence[Outcome],
    source: Callable[[str, str], ReferrerSource],
    run: Callable[[Sequence[Pair]], Awaitable[list[_O]]],
    failed: Callable[[Pair, str], _O],
    index: Callable[[Reference, Digest, Sequence[Digest]], Awaitable[object]] | None = None,
) -> list[_O]:
    """Find and ``run`` the referrers of every pair that did not fail, level by level.

    ``outcomes`` are the pairs' own, in order; ``source(registry, repository)``
    opens a source repository (``RegistryClient.repository``); ``run`` copies
    (or plans) new pairs and returns one outcome each. Returns the referrers'
    outcomes. Each referrer is looked for once, and each pair run once, even
    when several images share it. Where looking fails (the source answers an
    error), ``failed(pair, message)`` makes that pair's failed outcome, and the
    walk goes on with the others. After each level, ``index(destination,
    subject, referrers)`` (copies, not dry runs) is given the API-found
    referrers that arrived, for a destination without the API to list them
    (:func:`imageferry.copy.referrer_index.index_referrers`).
    """
    level = [
        (src, dst, Digest.parse(o.digest))
        for (src, dst), o in zip(pairs, outcomes, strict=True)
        if o.status != "failed" and o.digest
    ]
    done = {str(src) for src, _ in pairs}
    statuses = {str(src): o.status for (src, _), o in zip(pairs, outcomes, strict=True)}
    looked_at: set[tuple[str, Digest]] = set()
    results: list[_O] = []
    for _depth in range(MAX_DEPTH):
        level = [x for x in level if (x[0].name, x[2]) not in looked_at]
        looked_at.update((src.name, digest) for src, _, digest in level)
        if not level:
            break
        looked = await asyncio.gather(
            *(
                find_referrers(source(src.registry, src.repository), src, dst, digest)
                for src, dst, digest in level
            ),
            return_exceptions=True,
        )
        found: list[Found] = []
        for (src, dst, _), answer in zip(level, looked, strict=True):
            if isinstance(answer, FerryError):
                results.append(failed((src, dst), f"looking for referrers of {src}: {answer}"))
                answer = Found((), ())
            elif isinstance(answer, BaseException):
                raise answer
            found.append(answer)
        fresh = [p for f in found for p in f.pairs if str(p[0]) not in done]
        done.update(str(src) for src, _ in fresh)
        if fresh:
            ran = await run(fresh)
            statuses.update((str(src), o.status) for (src, _), o in zip(fresh, ran, strict=True))
            results += ran
        if index is not None:
            for (src, dst, subject), f in zip(level, found, strict=True):
                arrived = [
                    d
                    for d in f.api
                    if statuses.get(str(_by_digest(src, dst, d)[0])) in ("copied", "skipped")
                ]
                if not arrived:
                    continue
                try:
                    await index(dst, subject, arrived)
                except FerryError as e:
                    where = dst.with_tag(None).with_digest(subject)
                    results.append(failed((src, dst), f"listing the referrers of {where}: {e}"))
        level = [
            (src, dst, d) for (src, dst, _), f in zip(level, found, strict=True) for d in f.digests
        ]
    return results
