"""A minimal, independent push client for sandbox registries (httpx, sync).

It shares no code with ``imageferry.registry`` on purpose: tests build their
source images with it, so a bug in the product's client cannot hide itself.

Protocol: OCI distribution-spec, "Pushing blobs" (POST, then a monolithic
PUT ``?digest=``) and "Pushing manifests"; authentication per distribution's
"Token Authentication Specification" (401 → ``WWW-Authenticate`` → token).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from types import TracebackType

import httpx

from imageferry.digest import Digest
from imageferry.manifest import Descriptor
from imageferry.sandbox.registry import SandboxError

__all__ = ["OCI_LAYER", "Credentials", "Pusher"]

OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"

#: (username, password) of a sandbox test user.
Credentials = tuple[str, str]

_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')


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

        def send() -> httpx.Response:
            merged = {**self._headers(repo), **(headers or {})}
            basic = self._auth if self._use_basic else None
            return self._client.request(method, url, content=content, headers=merged, auth=basic)

        response = send()
        if response.status_code == 401 and (content is None or isinstance(content, bytes)):
            self._answer_challenge(response, repo)
            response = send()
        return response

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
