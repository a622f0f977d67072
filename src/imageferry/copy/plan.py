"""The planner: turns a manifest tree and options into an ordered copy plan.

It does no I/O. :func:`select` looks at the top manifest alone and says which
child manifests are needed and which digest the destination reference will
end up naming (that is enough for the skip check); :func:`build_plan` takes
the fetched manifests and lists, in push order, every manifest and the blobs
each image manifest needs.

Push order follows the distribution-spec ("Pushing Manifests": a registry may
reject a manifest whose blobs or child manifests are missing): blobs, then
image manifests by digest, then indexes (children before parents), the
destination tag or digest last.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from imageferry.copy.options import CopyOptions
from imageferry.digest import Digest
from imageferry.errors import ConfigError, UnsupportedManifest
from imageferry.manifest import (
    Descriptor,
    ImageManifest,
    Index,
    Platform,
    RawManifest,
    is_non_distributable,
)

__all__ = [
    "CopyPlan",
    "ImagePlan",
    "PlatformNotFound",
    "Selection",
    "build_plan",
    "select",
]


class PlatformNotFound(ConfigError):
    """A wanted platform matches no instance of the source index (or the single image)."""

    def __init__(
        self, wanted: Sequence[Platform], available: Sequence[Platform], *, single: bool = False
    ) -> None:
        names = ", ".join(sorted({str(p) for p in available})) or "none"
        wanted_text = ", ".join(str(p) for p in wanted)
        super().__init__(
            f"the source is a single {names} image, not an index: it matches none of "
            f"platform {wanted_text}"
            if single
            else f"no image in the index matches platform {wanted_text}; available: {names}"
        )
        self.wanted = tuple(wanted)
        self.available = tuple(available)


@dataclass(frozen=True, slots=True)
class Selection:
    """What the top manifest resolves to, before any child is fetched.

    ``target`` is what the destination reference will name once copied. It
    equals the source's top digest except in ``system`` mode (the chosen
    child) and with a platform filter that drops instances (a new index).
    """

    target: Descriptor
    #: Child manifests of the top index that must be fetched and copied.
    children: tuple[Descriptor, ...]
    #: The index to push (the source's, or a filtered copy), or None.
    index: RawManifest | None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ImagePlan:
    """One image manifest and the blobs that must exist before it is pushed."""

    manifest: RawManifest
    blobs: tuple[Descriptor, ...]
    #: Non-distributable layers deliberately not copied.
    left_out: tuple[Descriptor, ...] = ()


@dataclass(frozen=True, slots=True)
class CopyPlan:
    """Everything one image copy will push, in order.

    ``pushes`` lists manifests children-first; the last one is ``target``,
    which is pushed at the destination tag (or digest when untagged).
    """

    target: RawManifest
    pushes: tuple[RawManifest, ...]
    images: tuple[ImagePlan, ...]
    notes: tuple[str, ...] = ()

    @property
    def digest(self) -> Digest:
        return self.target.digest

    @property
    def blobs(self) -> tuple[Descriptor, ...]:
        """Every blob to copy, once each, in first-seen order."""
        seen: dict[Digest, Descriptor] = {}
        for image in self.images:
            for blob in image.blobs:
                seen.setdefault(blob.digest, blob)
        return tuple(seen.values())

    @property
    def blob_bytes(self) -> int:
        return sum(blob.size for blob in self.blobs)


def select(top: RawManifest, options: CopyOptions) -> Selection:
    """Decide which instances of ``top`` to copy. A single image selects itself."""
    parsed = top.parse()
    if isinstance(parsed, ImageManifest):
        notes: tuple[str, ...] = ()
        if options.platforms:
            notes = ("the source is a single image, not an index: platform filter not applied",)
        return Selection(top.descriptor, (), None, notes)
    manifests = _unique(parsed.manifests)
    if options.platforms:
        return _select_platforms(top, parsed, options.platforms)
    if options.multi_arch == "system":
        chosen = _best_match(manifests, options.system_platform)
        if chosen is None:
            raise PlatformNotFound([options.system_platform], _platforms(manifests))
        note = f"copied only {chosen.platform} ({chosen.digest}), the host platform, not the index"
        return Selection(chosen, (chosen,), None, (note,))
    if options.multi_arch == "index-only":
        # As skopeo's --multi-arch index-only: the index manifest alone. The
        # destination must already hold the instances, or the registry may
        # refuse the index (distribution-spec: MANIFEST_BLOB_UNKNOWN).
        note = (
            f"index-only: copied the index without its {len(manifests)} instance(s); "
            "they must already exist at the destination"
        )
        return Selection(top.descriptor, (), top, (note,))
    return Selection(top.descriptor, manifests, top, ())


def build_plan(
    top: RawManifest,
    fetched: Mapping[Digest, RawManifest],
    options: CopyOptions,
) -> CopyPlan:
    """The full plan, given ``top`` and every manifest :func:`select` asked for.

    ``fetched`` maps digests to manifests; in ``all`` mode it also holds the
    children of nested indexes. A manifest the plan needs but ``fetched``
    lacks is a programming error and raises :class:`KeyError`.
    """
    selection = select(top, options)
    pushes: dict[Digest, RawManifest] = {}
    images: dict[Digest, ImagePlan] = {}
    notes = list(selection.notes)

    def visit(raw: RawManifest) -> None:
        if raw.digest in pushes:
            return
        parsed = raw.parse()
        if isinstance(parsed, Index):
            for child in _unique(parsed.manifests):
                visit(_child(fetched, child))
        else:
            images[raw.digest] = _image_plan(raw, parsed, options, notes)
        pushes[raw.digest] = raw

    for child in selection.children:
        visit(_child(fetched, child))
    if selection.index is not None:
        pushes[selection.index.digest] = selection.index
        target = selection.index
    elif selection.children:
        target = _child(fetched, selection.target)
    else:
        visit(top)
        target = top
    return CopyPlan(target, tuple(pushes.values()), tuple(images.values()), tuple(notes))


def _image_plan(
    raw: RawManifest, parsed: ImageManifest, options: CopyOptions, notes: list[str]
) -> ImagePlan:
    blobs: list[Descriptor] = [parsed.config]
    left_out: list[Descriptor] = []
    for layer in parsed.layers:
        if is_non_distributable(layer.media_type) and not options.include_foreign_layers:
            left_out.append(layer)
            notes.append(
                f"left out non-distributable layer {layer.digest} of {raw.digest} "
                "(include foreign layers to copy it)"
            )
        else:
            blobs.append(layer)
    if parsed.subject is not None and not options.subjects_copied:
        notes.append(
            f"{raw.digest} refers to subject {parsed.subject.digest}, which is not copied with it"
        )
    return ImagePlan(raw, _unique(blobs), tuple(left_out))


def _child(fetched: Mapping[Digest, RawManifest], descriptor: Descriptor) -> RawManifest:
    raw = fetched[descriptor.digest]
    if raw.digest != descriptor.digest:
        raise UnsupportedManifest(
            f"manifest {descriptor.digest} was served with different content ({raw.digest})"
        )
    return raw


def _select_platforms(top: RawManifest, index: Index, wanted: Sequence[Platform]) -> Selection:
    manifests = _unique(index.manifests)
    missing = [w for w in wanted if _best_match(manifests, w) is None]
    if missing:
        raise PlatformNotFound(missing, _platforms(manifests))
    kept = [
        i
        for i, d in enumerate(index.manifests)
        if d.platform is not None and any(w.matches(d.platform) for w in wanted)
    ]
    if len(kept) == len(index.manifests):
        note = "every image of the index matches the platform filter: index copied unchanged"
        return Selection(top.descriptor, manifests, top, (note,))
    filtered = RawManifest(_filtered_index_body(top, kept), top.media_type)
    children = _unique([index.manifests[i] for i in kept])
    note = (
        f"platform filter kept {len(children)} of {len(manifests)} images: pushed a new index "
        f"{filtered.digest} (the source index is {top.digest})"
    )
    return Selection(filtered.descriptor, children, filtered, (note,))


def _filtered_index_body(top: RawManifest, kept: Sequence[int]) -> bytes:
    """The source index with only the kept entries, serialised deterministically.

    Entries are kept as the source wrote them (annotations, unknown fields);
    everything else in the index (mediaType, annotations, subject) is kept too.
    """
    data: dict[str, Any] = json.loads(top.body)
    entries = data["manifests"]
    data["manifests"] = [entries[i] for i in kept]
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode()


def _best_match(manifests: Sequence[Descriptor], wanted: Platform) -> Descriptor | None:
    """The first instance matching ``wanted``: image-spec index.md lists preferred first."""
    for descriptor in manifests:
        if descriptor.platform is not None and wanted.matches(descriptor.platform):
            return descriptor
    return None


def _platforms(manifests: Sequence[Descriptor]) -> list[Platform]:
    return [d.platform for d in manifests if d.platform is not None]


def _unique(descriptors: Sequence[Descriptor]) -> tuple[Descriptor, ...]:
    seen: dict[Digest, Descriptor] = {}
    for descriptor in descriptors:
        seen.setdefault(descriptor.digest, descriptor)
    return tuple(seen.values())
