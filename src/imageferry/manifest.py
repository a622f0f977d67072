"""Manifests, indexes and descriptors (OCI image-spec, Docker v2 schema 2).

Manifests are kept as the exact bytes received (:class:`RawManifest`): a digest
is a hash of bytes, so re-serialising would change it. The parsed views
(:class:`ImageManifest`, :class:`Index`) only say what to walk.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from imageferry.digest import Digest
from imageferry.errors import UnsupportedManifest

__all__ = [
    "DOCKER_FOREIGN_LAYER",
    "DOCKER_MANIFEST",
    "DOCKER_MANIFEST_LIST",
    "DOCKER_SCHEMA1",
    "DOCKER_SCHEMA1_SIGNED",
    "MANIFEST_ACCEPT",
    "OCI_INDEX",
    "OCI_MANIFEST",
    "Descriptor",
    "ImageManifest",
    "Index",
    "Platform",
    "RawManifest",
    "is_index_type",
    "is_non_distributable",
    "parse_manifest",
]

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json"
DOCKER_SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_FOREIGN_LAYER = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
_OCI_NONDISTRIBUTABLE_PREFIX = "application/vnd.oci.image.layer.nondistributable."

#: What we accept on manifest GET/HEAD. Schema 1 is listed last so that a
#: registry holding only schema 1 tells us so, and we can say it clearly.
MANIFEST_ACCEPT = ", ".join(
    [OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST, DOCKER_SCHEMA1_SIGNED]
)
_INDEX_TYPES = {OCI_INDEX, DOCKER_MANIFEST_LIST}
_IMAGE_TYPES = {OCI_MANIFEST, DOCKER_MANIFEST}


def is_index_type(media_type: str) -> bool:
    return media_type in _INDEX_TYPES


def is_non_distributable(media_type: str) -> bool:
    """Foreign (Docker) and non-distributable (OCI) layers, e.g. Windows base layers."""
    return media_type == DOCKER_FOREIGN_LAYER or media_type.startswith(_OCI_NONDISTRIBUTABLE_PREFIX)


@dataclass(frozen=True, slots=True)
class Platform:
    """image-spec index.md ``platform``: os/architecture[/variant]."""

    os: str
    architecture: str
    variant: str | None = None
    os_version: str | None = None

    @classmethod
    def parse(cls, text: str) -> Platform:
        parts = text.strip().split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise ValueError(f"platform {text!r} must be os/architecture[/variant]")
        return cls(parts[0], parts[1], parts[2] if len(parts) == 3 else None)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Platform:
        return cls(
            str(data.get("os", "")),
            str(data.get("architecture", "")),
            data.get("variant") or None,
            data.get("os.version") or None,
        )

    def matches(self, other: Platform) -> bool:
        """Does ``other`` (from an index) satisfy this wanted platform?

        A wanted platform without a variant matches any variant.
        """
        return (
            self.os == other.os
            and self.architecture == other.architecture
            and (self.variant is None or self.variant == other.variant)
        )

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


@dataclass(frozen=True, slots=True)
class Descriptor:
    """image-spec descriptor.md: what a manifest says about a blob or manifest."""

    media_type: str
    digest: Digest
    size: int
    platform: Platform | None = None
    urls: tuple[str, ...] = ()
    artifact_type: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Descriptor:
        try:
            digest = Digest.parse(str(data["digest"]))
            size = int(data["size"])
        except (KeyError, TypeError, ValueError) as e:
            raise UnsupportedManifest(f"descriptor without a valid digest and size: {e}") from e
        if size < 0:
            raise UnsupportedManifest(f"descriptor {digest} has a negative size")
        platform = data.get("platform")
        return cls(
            media_type=str(data.get("mediaType", "")),
            digest=digest,
            size=size,
            platform=Platform.from_json(platform) if isinstance(platform, dict) else None,
            urls=tuple(data.get("urls") or ()),
            artifact_type=data.get("artifactType"),
        )


@dataclass(frozen=True, slots=True)
class RawManifest:
    """A manifest exactly as served: bytes, media type, and the digest of the bytes."""

    body: bytes
    media_type: str
    digest: Digest = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "digest", Digest.of(self.body))

    @property
    def descriptor(self) -> Descriptor:
        return Descriptor(self.media_type, self.digest, len(self.body))

    def parse(self) -> ImageManifest | Index:
        return parse_manifest(self.body, self.media_type)


@dataclass(frozen=True, slots=True)
class ImageManifest:
    """A single image (or artifact): a config blob and layers."""

    media_type: str
    config: Descriptor
    layers: tuple[Descriptor, ...]
    subject: Descriptor | None = None

    @property
    def blobs(self) -> tuple[Descriptor, ...]:
        return (self.config, *self.layers)


@dataclass(frozen=True, slots=True)
class Index:
    """A list of manifests, usually one per platform."""

    media_type: str
    manifests: tuple[Descriptor, ...]
    subject: Descriptor | None = None


def parse_manifest(body: bytes, content_type: str) -> ImageManifest | Index:
    """Parse manifest bytes; the body's ``mediaType`` wins over the header.

    Raises :class:`UnsupportedManifest` for schema 1 and for bodies that are
    neither an image manifest nor an index.
    """
    try:
        data = json.loads(body)
    except ValueError as e:
        raise UnsupportedManifest(f"manifest is not valid JSON: {e}") from e
    if not isinstance(data, dict):
        raise UnsupportedManifest("manifest is not a JSON object")
    media_type = str(data.get("mediaType") or content_type.split(";")[0].strip())
    if data.get("schemaVersion") == 1 or media_type in (DOCKER_SCHEMA1, DOCKER_SCHEMA1_SIGNED):
        raise UnsupportedManifest(
            "Docker schema 1 manifests are deprecated and not supported; "
            "push the image again with a current Docker or buildah"
        )
    subject = data.get("subject")
    subject_desc = Descriptor.from_json(subject) if isinstance(subject, dict) else None
    if media_type in _INDEX_TYPES or (media_type not in _IMAGE_TYPES and "manifests" in data):
        manifests = data.get("manifests")
        if not isinstance(manifests, list):
            raise UnsupportedManifest("index has no 'manifests' list")
        return Index(
            media_type or OCI_INDEX,
            tuple(Descriptor.from_json(m) for m in manifests),
            subject_desc,
        )
    if media_type in _IMAGE_TYPES or "config" in data:
        config = data.get("config")
        layers = data.get("layers")
        if not isinstance(config, dict) or not isinstance(layers, list):
            raise UnsupportedManifest("image manifest needs a 'config' object and 'layers' list")
        return ImageManifest(
            media_type or OCI_MANIFEST,
            Descriptor.from_json(config),
            tuple(Descriptor.from_json(layer) for layer in layers),
            subject_desc,
        )
    raise UnsupportedManifest(f"unsupported manifest media type {media_type!r}")
