"""Image builders only tests and ``bench/`` use, and the sandbox's own, in one place.

``ferry demo`` needs only :func:`imageferry.sandbox.images.build_fleet`; the
other kinds of image tests push (multi-platform indexes, artifacts with a
subject, foreign layers, multi-GiB layers) are built here from the sandbox's
pieces, with the same conventions: content deterministic per ``seed``, and a
:class:`PushedManifest` whose ``digest`` is that of its exact ``body``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from imageferry.digest import Digest
from imageferry.manifest import DOCKER_FOREIGN_LAYER, Descriptor, Platform
from imageferry.sandbox.content import (
    CHUNK_SIZE,
    layer_chunks,
    make_layer,
    measure_layer,
    random_bytes,
    random_chunks,
)
from imageferry.sandbox.images import (
    DOCKER_LAYER,
    OCI_LAYER,
    Format,
    PushedManifest,
    Pusher,
    PusherSession,
    Target,
    build_fleet,
    compact_json,
    image_manifest,
    push_config_and_manifest,
    push_image,
    push_index_of,
    push_manifest_bytes,
)
from imageferry.sandbox.pusher import Credentials

__all__ = [
    "PushedManifest",
    "Pusher",
    "build_fleet",
    "delete_manifest",
    "make_layer",
    "push_artifact",
    "push_foreign_layer_image",
    "push_image",
    "push_index",
    "push_large_image",
    "random_bytes",
    "random_chunks",
]


def push_index(
    target: Target,
    repo: str,
    tag: str | None,
    platforms: Sequence[str] = ("linux/amd64", "linux/arm64"),
    *,
    fmt: Format = "docker",
    layers: int = 2,
    layer_size: int = 1024,
    seed: int | str = 0,
    auth: Credentials | None = None,
    base_layers: Mapping[str, Sequence[bytes]] | None = None,
) -> PushedManifest:
    """Push one image per platform by digest, then the index that lists them.

    ``fmt="docker"`` makes a Docker manifest list of Docker images,
    ``fmt="oci"`` an OCI image index of OCI images (image-spec index.md).
    ``base_layers`` maps a platform string to that platform's base layers.
    """
    with PusherSession(target, auth) as pusher:
        children = [
            (
                Platform.parse(text),
                push_image(
                    pusher,
                    repo,
                    None,
                    layers=layers,
                    layer_size=layer_size,
                    fmt=fmt,
                    platform=Platform.parse(text),
                    seed=f"{seed}/{text}",
                    base_layers=(base_layers or {}).get(text, ()),
                ),
            )
            for text in platforms
        ]
        return push_index_of(pusher, repo, tag, fmt, children)


def push_artifact(
    target: Target,
    repo: str,
    tag: str | None,
    artifact_type: str = "application/vnd.example.sbom.v1",
    config_media_type: str = "application/vnd.example.config.v1+json",
    *,
    subject: PushedManifest | Descriptor | None = None,
    blobs: Sequence[bytes] | None = None,
    blob_media_type: str = "application/json",
    seed: int | str = 0,
    auth: Credentials | None = None,
) -> PushedManifest:
    """Push an OCI artifact: an image manifest with ``artifactType`` and a
    custom config media type (image-spec manifest.md, "Guidelines for Artifact
    Usage"), optionally pointing at ``subject`` the way SBOMs and signatures
    do. Pass ``tag=None`` to push it by digest only, as referrers usually are.
    """
    if blobs is None:
        blobs = [compact_json({"sbom": f"sandbox artifact {seed}", "packages": []})]
    if isinstance(subject, PushedManifest):
        subject = subject.descriptor
    with PusherSession(target, auth) as pusher:
        config = pusher.push_blob(repo, compact_json({"seed": str(seed)}), config_media_type)
        layers = [pusher.push_blob(repo, data, blob_media_type) for data in blobs]
        body, media_type = image_manifest(
            "oci",
            config,
            layers,
            artifact_type=artifact_type,
            subject=subject,
            annotations={"org.opencontainers.image.created": "2024-01-01T00:00:00Z"},
        )
        digest = push_manifest_bytes(pusher, repo, tag, body, media_type)
    return PushedManifest(repo, tag, digest, body, media_type)


def push_foreign_layer_image(
    target: Target,
    repo: str,
    tag: str | None,
    *,
    foreign_size: int = 4096,
    foreign_url: str = "https://example.invalid/windows/base-layer.tar.gz",
    seed: int | str = 0,
    auth: Credentials | None = None,
    store_foreign: bool = False,
) -> PushedManifest:
    """Push a Docker image whose base layer is *foreign* (like Windows base
    layers): its descriptor carries ``urls`` and its blob is not uploaded,
    so a copier must skip it rather than fail on "blob unknown".
    ``store_foreign`` uploads it too, as a registry mirroring such layers holds it.
    """
    foreign = make_layer(f"{seed}/foreign", foreign_size)
    foreign_desc = Descriptor(
        DOCKER_FOREIGN_LAYER, Digest.parse(foreign.digest), len(foreign.blob), urls=(foreign_url,)
    )
    own = make_layer(f"{seed}/own", 1024)
    with PusherSession(target, auth) as pusher:
        if store_foreign:
            pusher.push_blob(repo, foreign.blob, DOCKER_FOREIGN_LAYER)
        layers = [foreign_desc, pusher.push_blob(repo, own.blob, DOCKER_LAYER)]
        platform = Platform("windows", "amd64")
        diff_ids = [foreign.diff_id, own.diff_id]
        return push_config_and_manifest(
            pusher, repo, tag, "docker", platform, layers, diff_ids, seed=seed
        )


def push_large_image(
    target: Target,
    repo: str,
    tag: str | None,
    layer_size: int,
    *,
    fmt: Format = "docker",
    seed: int | str = 0,
    auth: Credentials | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> PushedManifest:
    """Push an image with one layer holding a ``layer_size``-byte file (e.g.
    several GiB) without holding it in memory: one pass over the deterministic
    generator computes digest, DiffID and size; a second pass streams the same
    bytes to the registry.
    """
    seed_key = f"{seed}/large"
    digest, diff_id, blob_size = measure_layer(seed_key, layer_size, chunk_size)
    layer_type = DOCKER_LAYER if fmt == "docker" else OCI_LAYER
    with PusherSession(target, auth) as pusher:
        # A small request first, so that a 401 is answered before the stream starts.
        pusher.has_blob(repo, digest)
        chunks = layer_chunks(seed_key, layer_size, chunk_size)
        layer = pusher.push_blob_stream(repo, chunks, blob_size, digest, layer_type)
        platform = Platform("linux", "amd64")
        return push_config_and_manifest(
            pusher, repo, tag, fmt, platform, [layer], [diff_id], seed=seed
        )


def delete_manifest(
    target: Target, repo: str, digest: str, *, auth: Credentials | None = None
) -> None:
    """Delete a manifest by digest (the registry must allow deletes; ours do)."""
    with PusherSession(target, auth) as pusher:
        pusher.delete_manifest(repo, digest)
