"""Build images in code and push them with plain httpx (no Docker engine here).

This is deliberately an *independent* client: it shares no code with
``imageferry.registry``, so a bug there cannot hide itself in tests that use
these builders to create the source images.

Content is deterministic: blobs come from an AES-CTR keystream keyed by a
``seed`` (fast, ~GB/s), so equal seeds give equal blobs (shared layers) and
different seeds give different ones. Layers are opaque pseudo-random bytes
labelled as tar+gzip; registries and copy tools never unpack them.

Every builder returns a :class:`PushedManifest`; its ``digest`` is a ``str``
(``sha256:...``), the digest of its exact ``body`` bytes.

Protocol: OCI distribution-spec, "Pushing blobs" (POST then monolithic PUT
``?digest=``) and "Pushing manifests"; auth per distribution's token spec.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal

import httpx
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from imageferry.digest import Digest
from imageferry.manifest import (
    DOCKER_MANIFEST,
    OCI_MANIFEST,
    Descriptor,
    Platform,
)
from imageferry.sandbox.registry import SandboxError

__all__ = [
    "DOCKER_CONFIG",
    "DOCKER_LAYER",
    "OCI_CONFIG",
    "OCI_LAYER",
    "Format",
    "PushedManifest",
    "Pusher",
    "Target",
    "push_image",
    "random_bytes",
    "random_chunks",
]

DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_EMPTY_JSON = "application/vnd.oci.empty.v1+json"

Format = Literal["docker", "oci"]
Credentials = tuple[str, str]

_CHUNK = 4 << 20
_PUSH_TIMEOUT = httpx.Timeout(60.0, connect=5.0)
_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')


# -- deterministic content -------------------------------------------------------


def random_chunks(seed: int | str, size: int, chunk_size: int = _CHUNK) -> Iterator[bytes]:
    """``size`` pseudo-random bytes for ``seed``, as chunks of ``chunk_size``.

    The same seed always yields the same bytes, however they are chunked.
    """
    key = hashlib.sha256(f"imageferry-sandbox:{seed}".encode()).digest()
    encryptor = Cipher(algorithms.AES(key), modes.CTR(bytes(16))).encryptor()
    zeros = bytes(min(chunk_size, size))
    remaining = size
    while remaining > 0:
        n = min(chunk_size, remaining)
        yield encryptor.update(zeros[:n] if n < len(zeros) else zeros)
        remaining -= n


def random_bytes(seed: int | str, size: int) -> bytes:
    """All of :func:`random_chunks` at once; for small blobs."""
    return b"".join(random_chunks(seed, size))


def _json(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), sort_keys=False).encode()


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


# -- the pusher ------------------------------------------------------------------


class Pusher:
    """A minimal synchronous push client for one registry.

    Handles anonymous registries, HTTP Basic (htpasswd) and Docker token auth:
    on a 401 it reads ``WWW-Authenticate``, fetches a bearer token for
    ``repository:<repo>:pull,push`` from the realm (with Basic credentials when
    given) and retries once. Tokens are cached per repository.
    """

    def __init__(self, url: str, auth: Credentials | None = None, *, timeout: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self._auth = auth
        self._client = httpx.Client(timeout=httpx.Timeout(timeout, connect=5.0))
        self._use_basic = False
        self._tokens: dict[str, str] = {}

    def __repr__(self) -> str:
        user = self._auth[0] if self._auth else None
        return f"Pusher(url={self.url!r}, user={user!r})"

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Pusher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- auth --------------------------------------------------------------

    def _headers(self, repo: str) -> dict[str, str]:
        token = self._tokens.get(repo)
        return {"Authorization": f"Bearer {token}"} if token else {}

    def _request(
        self,
        method: str,
        url: str,
        repo: str,
        *,
        content: bytes | Iterator[bytes] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send, answering one 401 challenge. Streams cannot be resent: callers
        authenticate with a small request to the same repository first."""
        for attempt in (1, 2):
            merged = {**self._headers(repo), **(headers or {})}
            basic = self._auth if self._use_basic else None
            response = self._client.request(
                method, url, content=content, headers=merged, auth=basic
            )
            if (
                response.status_code != 401
                or attempt == 2
                or not isinstance(content, (bytes, type(None)))
            ):
                return response
            self._answer_challenge(response, repo)
        raise AssertionError("unreachable")

    def _answer_challenge(self, response: httpx.Response, repo: str) -> None:
        challenge = response.headers.get("WWW-Authenticate", "")
        scheme, _, params_text = challenge.partition(" ")
        params = dict(_CHALLENGE_PARAM.findall(params_text))
        if scheme.lower() == "basic":
            if self._auth is None:
                raise SandboxError(f"{self.url} needs credentials (Basic auth) and none were given")
            self._use_basic = True
            return
        if scheme.lower() != "bearer" or "realm" not in params:
            raise SandboxError(f"{self.url} answered 401 with an unusable challenge {challenge!r}")
        query = {"service": params.get("service", ""), "scope": f"repository:{repo}:pull,push"}
        token_response = self._client.get(params["realm"], params=query, auth=self._auth)
        if token_response.status_code != 200:
            raise SandboxError(
                f"token server {params['realm']} refused a token for {query['scope']}: "
                f"{token_response.status_code} {token_response.text[:200]}"
            )
        data = token_response.json()
        self._tokens[repo] = str(data.get("token") or data.get("access_token"))

    # -- blobs -------------------------------------------------------------

    def has_blob(self, repo: str, digest: str) -> bool:
        response = self._request("HEAD", f"{self.url}/v2/{repo}/blobs/{digest}", repo)
        return response.status_code == 200

    def _start_upload(self, repo: str) -> str:
        response = self._request("POST", f"{self.url}/v2/{repo}/blobs/uploads/", repo)
        _check(response, 202, f"starting a blob upload to {repo}")
        return str(response.url.join(response.headers["Location"]))

    def push_blob(self, repo: str, data: bytes, media_type: str = OCI_LAYER) -> Descriptor:
        """Upload ``data`` unless the registry has it; return its descriptor."""
        digest = Digest.of(data)
        descriptor = Descriptor(media_type, digest, len(data))
        if self.has_blob(repo, str(digest)):
            return descriptor
        location = self._start_upload(repo)
        response = self._request(
            "PUT",
            str(httpx.URL(location).copy_merge_params({"digest": str(digest)})),
            repo,
            content=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        _check(response, 201, f"uploading blob {digest} to {repo}")
        return descriptor

    def push_blob_stream(
        self,
        repo: str,
        chunks: Iterator[bytes],
        size: int,
        digest: str,
        media_type: str = OCI_LAYER,
    ) -> Descriptor:
        """Upload a blob from an iterator of chunks without holding it in memory.

        ``size`` and ``digest`` must be known up front (the PUT names the
        digest, and Content-Length avoids chunked encoding); the registry
        verifies both.
        """
        descriptor = Descriptor(media_type, Digest.parse(digest), size)
        if self.has_blob(repo, digest):
            return descriptor
        location = self._start_upload(repo)
        response = self._request(
            "PUT",
            str(httpx.URL(location).copy_merge_params({"digest": digest})),
            repo,
            content=chunks,
            headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
        )
        _check(response, 201, f"uploading blob {digest} ({size} bytes) to {repo}")
        return descriptor

    # -- manifests ---------------------------------------------------------

    def push_manifest(self, repo: str, ref: str, body: bytes, media_type: str) -> str:
        """PUT a manifest under a tag or its digest; return its digest (``str``)."""
        digest = str(Digest.of(body))
        response = self._request(
            "PUT",
            f"{self.url}/v2/{repo}/manifests/{ref}",
            repo,
            content=body,
            headers={"Content-Type": media_type},
        )
        _check(response, 201, f"pushing manifest {repo}:{ref}")
        served = response.headers.get("Docker-Content-Digest")
        if served and served != digest:
            raise SandboxError(
                f"registry computed {served} for a manifest whose digest is {digest}"
            )
        return digest

    def delete_manifest(self, repo: str, digest: str) -> None:
        response = self._request("DELETE", f"{self.url}/v2/{repo}/manifests/{digest}", repo)
        _check(response, 202, f"deleting manifest {repo}@{digest}")


def _check(response: httpx.Response, expected: int, what: str) -> None:
    if response.status_code != expected:
        raise SandboxError(
            f"{what}: registry answered {response.status_code} {response.text[:300]}"
        )


# -- builders --------------------------------------------------------------------

#: Builders take a registry URL (a new :class:`Pusher` per call) or a Pusher.
Target = str | Pusher


class _Session:
    """Use the caller's Pusher, or make (and close) one for a URL."""

    def __init__(self, target: Target, auth: Credentials | None) -> None:
        self._owned = not isinstance(target, Pusher)
        self.pusher = target if isinstance(target, Pusher) else Pusher(target, auth)

    def __enter__(self) -> Pusher:
        return self.pusher

    def __exit__(self, *exc: object) -> None:
        if self._owned:
            self.pusher.close()


def _image_config(
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
    return _json(config)


def _image_manifest(
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
    return _json(manifest), media_type


def _push(pusher: Pusher, repo: str, tag: str | None, body: bytes, media_type: str) -> str:
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

    ``layers`` is either the layer contents or a count of ``layer_size``-byte
    pseudo-random layers derived from ``seed``. ``base_layers`` go first, so
    images built on the same base share those blobs.
    """
    platform = platform or Platform("linux", "amd64")
    if isinstance(layers, int):
        layers = [random_bytes(f"{seed}/layer/{i}", layer_size) for i in range(layers)]
    layer_type = DOCKER_LAYER if fmt == "docker" else OCI_LAYER
    with _Session(target, auth) as pusher:
        descriptors = [pusher.push_blob(repo, data, layer_type) for data in (*base_layers, *layers)]
        config = _image_config(platform, [str(d.digest) for d in descriptors], seed, fmt)
        config_desc = pusher.push_blob(
            repo, config, DOCKER_CONFIG if fmt == "docker" else OCI_CONFIG
        )
        body, media_type = _image_manifest(fmt, config_desc, descriptors)
        digest = _push(pusher, repo, tag, body, media_type)
    return PushedManifest(repo, tag, digest, body, media_type)
