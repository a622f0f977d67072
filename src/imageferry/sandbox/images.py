"""Build images in code and push them with the sandbox's own httpx client.

``ferry demo`` fills its source registry with :func:`build_fleet`; tests and
``bench/`` build more kinds (artifacts, foreign layers, huge layers) in
``tests/stand_ins/images.py`` from the pieces here. They push through
:class:`Pusher`, which shares no code with ``imageferry.registry``. Content is
deterministic per ``seed`` (see :mod:`imageferry.sandbox.content`).

Every builder returns a :class:`PushedManifest` whose ``digest`` is a ``str``
(``sha256:...``): the digest of its exact ``body`` bytes as pushed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from imageferry.digest import Digest
from imageferry.manifest import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    OCI_INDEX,
    OCI_MANIFEST,
    Descriptor,
    Platform,
)
from imageferry.sandbox.content import (
    diff_id_of,
    make_layer,
)
from imageferry.sandbox.pusher import OCI_LAYER, Credentials, Pusher

__all__ = [
    "DOCKER_CONFIG",
    "DOCKER_LAYER",
    "OCI_CONFIG",
    "OCI_LAYER",
    "Format",
    "PushedManifest",
    "Pusher",
    "PusherSession",
    "Target",
    "build_fleet",
    "compact_json",
    "image_config",
    "image_manifest",
    "push_config_and_manifest",
    "push_image",
    "push_index_of",
    "push_manifest_bytes",
]

DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"

Format = Literal["docker", "oci"]


def compact_json(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _descriptor_json(d: Descriptor) -> dict[str, Any]:
    out: dict[str, Any] = {"mediaType": d.media_type, "digest": str(d.digest), "size": d.size}
    if d.urls:
        out["urls"] = list(d.urls)
    if d.artifact_type:
        out["artifactType"] = d.artifact_type
    if d.platform is not None:
        platform: dict[str, str] = {"architecture": d.platform.architecture, "os": d.platform.os}
        if d.platform.variant:
            platform["variant"] = d.platform.variant
        out["platform"] = platform
    return out


# -- results ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PushedManifest:
    """A manifest the sandbox pushed: its exact bytes, media type and digest."""

    repository: str
    tag: str | None
    digest: str
    body: bytes
    media_type: str
    children: tuple[PushedManifest, ...] = ()

    @property
    def descriptor(self) -> Descriptor:
        return Descriptor(self.media_type, Digest.parse(self.digest), len(self.body))

    @property
    def reference(self) -> str:
        """``repo:tag``, or ``repo@digest`` when pushed untagged."""
        if self.tag is None:
            return f"{self.repository}@{self.digest}"
        return f"{self.repository}:{self.tag}"


# -- builders --------------------------------------------------------------------

#: Builders take a registry URL (a new :class:`Pusher` per call) or a Pusher.
Target = str | Pusher


class PusherSession:
    """Use the caller's Pusher, or make (and close) one for a URL."""

    def __init__(self, target: Target, auth: Credentials | None) -> None:
        self._owned = not isinstance(target, Pusher)
        self.pusher = target if isinstance(target, Pusher) else Pusher(target, auth)

    def __enter__(self) -> Pusher:
        return self.pusher

    def __exit__(self, *exc: object) -> None:
        if self._owned:
            self.pusher.close()


def image_config(
    platform: Platform, diff_ids: Sequence[str], seed: int | str, fmt: Format
) -> bytes:
    """A minimal but valid image config (image-spec config.md)."""
    config: dict[str, Any] = {
        "created": "2024-01-01T00:00:00Z",
        "architecture": platform.architecture,
        "os": platform.os,
        "config": {"Labels": {"org.imageferry.sandbox.seed": str(seed)}},
        "rootfs": {"type": "layers", "diff_ids": list(diff_ids)},
    }
    if platform.variant:
        config["variant"] = platform.variant
    return compact_json(config)


def image_manifest(
    fmt: Format,
    config: Descriptor,
    layers: Sequence[Descriptor],
    *,
    artifact_type: str | None = None,
    subject: Descriptor | None = None,
    annotations: Mapping[str, str] | None = None,
) -> tuple[bytes, str]:
    media_type = DOCKER_MANIFEST if fmt == "docker" else OCI_MANIFEST
    manifest: dict[str, Any] = {"schemaVersion": 2, "mediaType": media_type}
    if artifact_type:
        manifest["artifactType"] = artifact_type
    manifest["config"] = _descriptor_json(config)
    manifest["layers"] = [_descriptor_json(layer) for layer in layers]
    if subject is not None:
        manifest["subject"] = _descriptor_json(subject)
    if annotations:
        manifest["annotations"] = dict(annotations)
    return compact_json(manifest), media_type


def push_manifest_bytes(
    pusher: Pusher, repo: str, tag: str | None, body: bytes, media_type: str
) -> str:
    """Push by tag, or by digest when untagged."""
    ref = tag if tag is not None else str(Digest.of(body))
    return pusher.push_manifest(repo, ref, body, media_type)


def push_image(
    target: Target,
    repo: str,
    tag: str | None,
    *,
    layers: Sequence[bytes] | int = 2,
    layer_size: int = 1024,
    fmt: Format = "docker",
    platform: Platform | None = None,
    seed: int | str = 0,
    auth: Credentials | None = None,
    base_layers: Sequence[bytes] = (),
) -> PushedManifest:
    """Push a single-platform image; ``tag=None`` pushes it by digest only.

    ``layers`` is either the layer blobs or a count of tar+gzip layers, each
    holding a ``layer_size``-byte file derived from ``seed``. ``base_layers``
    go first, so images built on the same base share those blobs.
    """
    platform = platform or Platform("linux", "amd64")
    if isinstance(layers, int):
        layers = [make_layer(f"{seed}/layer/{i}", layer_size).blob for i in range(layers)]
    blobs = (*base_layers, *layers)
    layer_type = DOCKER_LAYER if fmt == "docker" else OCI_LAYER
    with PusherSession(target, auth) as pusher:
        descriptors = [pusher.push_blob(repo, data, layer_type) for data in blobs]
        diff_ids = [diff_id_of(data) for data in blobs]
        return push_config_and_manifest(
            pusher, repo, tag, fmt, platform, descriptors, diff_ids, seed=seed
        )


def push_config_and_manifest(
    pusher: Pusher,
    repo: str,
    tag: str | None,
    fmt: Format,
    platform: Platform,
    layers: Sequence[Descriptor],
    diff_ids: Sequence[str],
    *,
    seed: int | str,
) -> PushedManifest:
    """Push the config, then the image manifest of already-pushed ``layers``."""
    config = image_config(platform, diff_ids, seed, fmt)
    config_desc = pusher.push_blob(repo, config, DOCKER_CONFIG if fmt == "docker" else OCI_CONFIG)
    body, media_type = image_manifest(fmt, config_desc, layers)
    digest = push_manifest_bytes(pusher, repo, tag, body, media_type)
    return PushedManifest(repo, tag, digest, body, media_type)


def push_index_of(
    pusher: Pusher,
    repo: str,
    tag: str | None,
    fmt: Format,
    children: Sequence[tuple[Platform, PushedManifest]],
) -> PushedManifest:
    """Push the index listing already-pushed ``children`` (image-spec index.md)."""
    media_type = DOCKER_MANIFEST_LIST if fmt == "docker" else OCI_INDEX
    entries = [
        _descriptor_json(
            Descriptor(c.media_type, Digest.parse(c.digest), len(c.body), platform=platform)
        )
        for platform, c in children
    ]
    body = compact_json({"schemaVersion": 2, "mediaType": media_type, "manifests": entries})
    digest = push_manifest_bytes(pusher, repo, tag, body, media_type)
    return PushedManifest(repo, tag, digest, body, media_type, tuple(c for _, c in children))


# -- a fleet ---------------------------------------------------------------------

#: (repository, kind, base) for :func:`build_fleet`. Kinds: "docker" and "oci"
#: single-platform images, "index" (Docker manifest list) and "oci-index".
_FLEET: tuple[tuple[str, str, str], ...] = (
    ("team-a/svc/api", "docker", "debian"),
    ("team-a/svc/web", "docker", "debian"),
    ("team-a/worker", "index", "debian"),
    ("team-b/db/migrate", "docker", "alpine"),
    ("team-b/ui", "oci", "alpine"),
    ("team-b/jobs/nightly", "docker", "alpine"),
    ("platform/gateway", "oci-index", "alpine"),
    ("platform/tools/ci", "docker", "debian"),
    ("ml/train/gpu", "docker", "debian"),
    ("ml/serve", "oci", "debian"),
    ("library/cache", "docker", "alpine"),
    ("library/proxy", "index", "alpine"),
)
_FLEET_VERSIONS = ("1.0.0", "1.1.0", "2.0.0")
_FLEET_PLATFORMS = ("linux/amd64", "linux/arm64")


def _fleet_shape(repositories: int, tags: int) -> tuple[list[tuple[str, str, str]], list[str]]:
    """The repositories and versions of a fleet: today's 12 x 4, or a larger one alike.

    More repositories repeat the 12's kinds and bases under numbered names,
    keeping every last path component distinct (``skopeo sync`` keeps only that).
    """
    fleet = list(_FLEET)
    for i in range(len(fleet), repositories):
        repo, kind, base = _FLEET[i % len(_FLEET)]
        fleet.append((f"fleet{i}/{repo.rsplit('/', 1)[-1]}{i}", kind, base))
    fleet = fleet[:repositories]
    if tags == len(_FLEET_VERSIONS) + 1:
        return fleet, list(_FLEET_VERSIONS)
    return fleet, [f"1.{minor}.0" for minor in range(tags - 1)]


def build_fleet(
    target: Target,
    *,
    total_mb: float = 200,
    seed: int | str = 0,
    auth: Credentials | None = None,
    repositories: int = len(_FLEET),
    tags_per_repository: int = len(_FLEET_VERSIONS) + 1,
) -> list[str]:
    """Fill a registry with a realistic fleet of about ``total_mb`` MB of unique blobs.

    By default 12 repositories with nested paths, 4 tags each (three versions and
    ``latest`` pointing at the newest); ``repositories`` and
    ``tags_per_repository`` make a larger fleet of the same kinds (40 and 25:
    1000 tags). Docker and OCI images, Docker manifest
    lists and OCI indexes for two platforms. Images share a base layer per
    (base, platform), versions of a repository share a dependency layer, and
    each version has its own application layer. Sizes split about 30 % base,
    30 % dependencies, 40 % application. Returns ``repo:tag`` references
    relative to the registry, in push order.
    """
    total = int(total_mb * 1024 * 1024)
    fleet, versions = _fleet_shape(repositories, tags_per_repository)
    platforms_of = {
        repo: _FLEET_PLATFORMS if "index" in kind else _FLEET_PLATFORMS[:1]
        for repo, kind, _ in fleet
    }
    bases = {(base, p) for repo, _, base in fleet for p in platforms_of[repo]}
    deps_count = sum(len(p) for p in platforms_of.values())
    base_size = max(256, int(total * 0.3) // len(bases))
    deps_size = max(256, int(total * 0.3) // deps_count)
    app_size = max(256, int(total * 0.4) // (deps_count * len(versions)))
    base_blobs = {key: make_layer(f"{seed}/base/{key[0]}/{key[1]}", base_size) for key in bases}

    refs: list[str] = []
    with PusherSession(target, auth) as pusher:
        for repo, kind, base in fleet:
            fmt: Format = "oci" if kind.startswith("oci") else "docker"
            pushed: PushedManifest | None = None
            for version in versions:
                layers_of = {
                    p: [
                        base_blobs[(base, p)].blob,
                        make_layer(f"{seed}/{repo}/deps/{p}", deps_size).blob,
                        make_layer(f"{seed}/{repo}/{version}/app/{p}", app_size).blob,
                    ]
                    for p in platforms_of[repo]
                }
                if "index" in kind:
                    pushed = _push_fleet_index(pusher, repo, version, fmt, layers_of, seed)
                else:
                    (only,) = layers_of.values()
                    image_seed = f"{seed}/{repo}/{version}"
                    pushed = push_image(
                        pusher, repo, version, layers=only, fmt=fmt, seed=image_seed
                    )
                refs.append(f"{repo}:{version}")
            assert pushed is not None
            pusher.push_manifest(repo, "latest", pushed.body, pushed.media_type)
            refs.append(f"{repo}:latest")
    return refs


def _push_fleet_index(
    pusher: Pusher,
    repo: str,
    tag: str,
    fmt: Format,
    layers_of: Mapping[str, Sequence[bytes]],
    seed: int | str,
) -> PushedManifest:
    """An index whose per-platform images have exactly ``layers_of[platform]``."""
    children = [
        (
            Platform.parse(p),
            push_image(
                pusher,
                repo,
                None,
                layers=layers,
                fmt=fmt,
                platform=Platform.parse(p),
                seed=f"{seed}/{repo}/{tag}/{p}",
            ),
        )
        for p, layers in layers_of.items()
    ]
    return push_index_of(pusher, repo, tag, fmt, children)
