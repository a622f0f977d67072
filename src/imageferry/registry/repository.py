"""One repository on one registry, as an image source and as a destination.

Implements :class:`~imageferry.interfaces.ImageSource` and
:class:`~imageferry.interfaces.ImageDestination` over the OCI distribution
API (distribution-spec "Pulling manifests", "Pulling blobs", "Pushing blobs",
"Pushing manifests", "Mounting a blob from another repository").
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode, urljoin

from imageferry.digest import Digest
from imageferry.errors import (
    DigestMismatch,
    FerryError,
    ResponseError,
    SizeMismatch,
    UnsupportedManifest,
)
from imageferry.interfaces import ResumableChunks
from imageferry.manifest import MANIFEST_ACCEPT, OCI_INDEX, Descriptor, RawManifest
from imageferry.registry.auth import pull_scope, push_scope
from imageferry.registry.pagination import next_link, paginate
from imageferry.registry.transport import REDIRECTS, Response, Transport
from imageferry.registry.upload import PART_SIZE, ResumableUpload

if TYPE_CHECKING:
    import aiohttp

__all__ = ["MIN_ECR_CHUNK", "Repository"]

#: ECR rejects upload parts below 5 MiB except the last (UploadLayerPart).
MIN_ECR_CHUNK = 5 * 1024 * 1024
_OCTET = "application/octet-stream"
#: Referrers are a handful per image; a registry paging past this is looping.
_MAX_REFERRER_PAGES = 50
#: distribution-spec "Error Codes": a manifest references a blob the registry lacks.
_BLOB_UNKNOWN_TO_MANIFEST = "MANIFEST_BLOB_UNKNOWN"


def _parse_digest(ref: str) -> Digest | None:
    if ":" not in ref:
        return None
    try:
        return Digest.parse(ref)
    except ValueError:
        return None


def _media_type(header: str | None) -> str:
    return (header or "").split(";")[0].strip()


def _with_digest(location: str, digest: Digest) -> str:
    # Append rather than rebuild the query: upload URLs carry opaque state.
    separator = "&" if "?" in location else "?"
    return f"{location}{separator}digest={quote(str(digest), safe='')}"


class Repository:
    """``registry/repository`` reached through a :class:`Transport`.

    ``chunk_size`` forces chunked uploads (PATCH with ``Content-Range``) in
    parts of that many bytes; otherwise blobs go up in one streamed PUT
    unless the registry asks for chunks (``OCI-Chunk-Min-Length``), or they
    are larger than ``part_size`` and resumable (:mod:`~imageferry.registry.upload`).
    """

    def __init__(
        self,
        transport: Transport,
        registry: str,
        repository: str,
        *,
        chunk_size: int | None = None,
        part_size: int = PART_SIZE,
    ) -> None:
        self._transport = transport
        self._part_size = part_size
        self._registry = registry
        self._repository = repository
        self._path = transport.config.repository_path(registry, repository)
        self._chunk_size = chunk_size

    @property
    def registry(self) -> str:
        return self._registry

    @property
    def repository(self) -> str:
        return self._repository

    @property
    def name(self) -> str:
        return f"{self._registry}/{self._repository}"

    def __repr__(self) -> str:
        return f"Repository({self.name!r})"

    def _url(self, suffix: str) -> str:
        return f"{self._transport.base_url(self._registry)}/v2/{self._path}{suffix}"

    def _manifest_name(self, ref: str) -> str:
        return f"manifest {self.name}{'@' if ':' in ref else ':'}{ref}"

    # -- manifests ------------------------------------------------------------

    async def head_manifest(self, ref: str) -> Descriptor | None:
        response = await self._transport.request(
            self._registry,
            "HEAD",
            self._url(f"/manifests/{ref}"),
            what=self._manifest_name(ref),
            scopes=(pull_scope(self._path),),
            headers={"Accept": MANIFEST_ACCEPT},
            ok=(200, 404),
        )
        if response.status == 404:
            return None
        digest = _parse_digest(response.headers.get("Docker-Content-Digest", ""))
        length = response.headers.get("Content-Length", "")
        media_type = _media_type(response.headers.get("Content-Type"))
        if digest is None or not length.isdigit() or not media_type:
            # Some registries omit these on HEAD; the body tells us for sure.
            return (await self.get_manifest(ref)).descriptor
        return Descriptor(media_type, digest, int(length))

    async def get_manifest(self, ref: str) -> RawManifest:
        what = self._manifest_name(ref)
        response = await self._transport.request(
            self._registry,
            "GET",
            self._url(f"/manifests/{ref}"),
            what=what,
            scopes=(pull_scope(self._path),),
            headers={"Accept": MANIFEST_ACCEPT},
        )
        manifest = RawManifest(response.body, self._manifest_type(response))
        self._check_digest(what, manifest, _parse_digest(ref))
        self._check_digest(
            what, manifest, _parse_digest(response.headers.get("Docker-Content-Digest", ""))
        )
        try:
            manifest.parse()
        except UnsupportedManifest as e:
            raise UnsupportedManifest(f"{what}: {e.message}", registry=self._registry) from None
        return manifest

    @staticmethod
    def _manifest_type(response: Response) -> str:
        header = _media_type(response.headers.get("Content-Type"))
        try:
            declared = json.loads(response.body).get("mediaType")
        except (ValueError, AttributeError, UnicodeDecodeError):
            declared = None
        # The body's mediaType is what the digest covers; a header may be generic.
        return declared if isinstance(declared, str) and declared else header

    @staticmethod
    def _check_digest(what: str, manifest: RawManifest, expected: Digest | None) -> None:
        if expected is None or not expected.verifiable:
            return
        actual = hashlib.new(expected.algorithm, manifest.body).hexdigest()
        if actual != expected.encoded:
            raise DigestMismatch(str(expected), f"{expected.algorithm}:{actual}")

    async def put_manifest(self, ref: str, manifest: RawManifest) -> None:
        """PUT ``manifest`` as ``ref`` (distribution-spec "Pushing Manifests").

        A ``MANIFEST_BLOB_UNKNOWN`` refusal is retried a couple of times: the
        copy pushes every blob and child manifest first, so the registry is
        usually wrong for a moment rather than missing content. Distribution's
        filesystem storage rewrites a link file by truncating it, then writing
        it, so a manifest PUT that checks a blob or child while another client
        pushes the same one again (a re-run in flight) can read it empty.
        """
        response = await self._transport.request(
            self._registry,
            "PUT",
            self._url(f"/manifests/{ref}"),
            what=f"pushing {self._manifest_name(ref)}",
            scopes=(push_scope(self._path),),
            headers={"Content-Type": manifest.media_type},
            body=manifest.body,
            ok=(201, 200),
            transient_codes=(_BLOB_UNKNOWN_TO_MANIFEST,),
        )
        echoed = _parse_digest(response.headers.get("Docker-Content-Digest", ""))
        if echoed is not None and echoed.algorithm == "sha256" and echoed != manifest.digest:
            raise DigestMismatch(str(manifest.digest), str(echoed))

    # -- blobs ------------------------------------------------------------------

    async def has_blob(self, digest: Digest) -> bool:
        """Whether the repository holds the blob. A redirect says yes.

        distribution with object storage (S3, GCS, Azure) and redirects on
        answers a HEAD of a blob it holds with a redirect to the storage, as it
        answers a GET; the storage is not asked.
        """
        response = await self._transport.request(
            self._registry,
            "HEAD",
            self._url(f"/blobs/{digest}"),
            what=f"blob {digest} in {self.name}",
            scopes=(pull_scope(self._path),),
            ok=(200, 404, *REDIRECTS),
        )
        return response.status != 404

    @asynccontextmanager
    async def open_blob(self, descriptor: Descriptor) -> AsyncIterator[AsyncIterator[bytes]]:
        async with self._transport.stream(
            self._registry,
            self._url(f"/blobs/{descriptor.digest}"),
            what=f"blob {descriptor.digest} in {self.name}",
            scopes=(pull_scope(self._path),),
        ) as response:
            yield _as_received(response.content)

    @asynccontextmanager
    async def open_blob_at(
        self, descriptor: Descriptor, offset: int
    ) -> AsyncIterator[AsyncIterator[bytes]]:
        """The blob from byte ``offset`` on: a ranged GET (RFC 9110 section 14.2).

        distribution-spec "Fetch the blob" lets a registry honour ``Range``;
        one that ignores it answers 200 with the whole blob, whose first
        ``offset`` bytes are then skipped here. A 206 must start at ``offset``.
        """
        what = f"blob {descriptor.digest} in {self.name} from byte {offset}"
        async with self._transport.stream(
            self._registry,
            self._url(f"/blobs/{descriptor.digest}"),
            what=what,
            scopes=(pull_scope(self._path),),
            headers={"Range": f"bytes={offset}-"},
            ok=(200, 206),
        ) as response:
            if response.status == 200:
                yield _skipped(_as_received(response.content), offset)
                return
            start = _range_start(response.headers.get("Content-Range", ""))
            if start != offset:
                raise ResponseError(
                    f"{what}: {self._registry} answered 206 for another range "
                    f"({response.headers.get('Content-Range', 'no Content-Range')})",
                    status=206,
                    registry=self._registry,
                )
            yield _as_received(response.content)

    async def mount_blob(self, digest: Digest, from_repository: str) -> bool:
        source = self._transport.config.repository_path(self._registry, from_repository)
        query = urlencode({"mount": str(digest), "from": source})
        response = await self._transport.request(
            self._registry,
            "POST",
            self._url(f"/blobs/uploads/?{query}"),
            what=f"mounting blob {digest} from {from_repository} into {self.name}",
            scopes=(push_scope(self._path), pull_scope(source)),
            ok=(201, 202),
        )
        if response.status == 201:
            return True
        # 202: the registry could not mount and opened an upload instead.
        location = response.headers.get("Location")
        if location:
            await self._cancel_upload(urljoin(response.url, location))
        return False

    async def put_blob(self, descriptor: Descriptor, chunks: AsyncIterator[bytes]) -> None:
        what = f"uploading blob {descriptor.digest} to {self.name}"
        started = await self._transport.request(
            self._registry,
            "POST",
            self._url("/blobs/uploads/"),
            what=what,
            scopes=(push_scope(self._path),),
            ok=(202,),
        )
        location = self._location(started, what)
        minimum = started.headers.get("OCI-Chunk-Min-Length", "")
        chunk_size = max(self._chunk_size or 0, int(minimum) if minimum.isdigit() else 0)
        counted = _counted(chunks, descriptor)
        resumable: ResumableUpload | None = None
        try:
            if chunk_size:
                await self._upload_chunked(location, descriptor, counted, chunk_size, what)
            elif isinstance(chunks, ResumableChunks):
                scopes = (push_scope(self._path),)
                resumable = ResumableUpload(
                    self._transport, self._registry, scopes, what, location, self._part_size
                )
                await resumable.send(descriptor, chunks)
            else:
                await self._transport.request(
                    self._registry,
                    "PUT",
                    _with_digest(location, descriptor.digest),
                    what=what,
                    scopes=(push_scope(self._path),),
                    headers={"Content-Type": _OCTET, "Content-Length": str(descriptor.size)},
                    body=counted,
                    ok=(201,),
                )
        except Exception:
            await self._cancel_upload(resumable.location if resumable else location)
            raise

    async def _upload_chunked(
        self,
        location: str,
        descriptor: Descriptor,
        chunks: AsyncIterator[bytes],
        chunk_size: int,
        what: str,
    ) -> None:
        """distribution-spec "Pushing a blob in chunks": PATCH parts in order, then PUT."""
        offset = 0
        buffer = bytearray()

        async def send(part: bytes) -> None:
            nonlocal location, offset
            response = await self._transport.request(
                self._registry,
                "PATCH",
                location,
                what=what,
                scopes=(push_scope(self._path),),
                headers={
                    "Content-Type": _OCTET,
                    "Content-Range": f"{offset}-{offset + len(part) - 1}",
                    "Content-Length": str(len(part)),
                },
                body=part,
                ok=(202,),
                retry=False,
            )
            location = self._location(response, what)
            offset += len(part)

        async for chunk in chunks:
            buffer += chunk
            while len(buffer) >= chunk_size:
                await send(bytes(buffer[:chunk_size]))
                del buffer[:chunk_size]
        if buffer or offset == 0:
            await send(bytes(buffer))
        await self._transport.request(
            self._registry,
            "PUT",
            _with_digest(location, descriptor.digest),
            what=what,
            scopes=(push_scope(self._path),),
            headers={"Content-Type": _OCTET, "Content-Length": "0"},
            body=b"",
            ok=(201,),
        )

    def _location(self, response: Response, what: str) -> str:
        location = response.headers.get("Location")
        if not location:
            raise ResponseError(
                f"{what}: {self._registry} answered {response.status} without a Location header",
                status=response.status,
                registry=self._registry,
            )
        return urljoin(response.url, location)

    async def _cancel_upload(self, location: str) -> None:
        """Best effort: an abandoned upload is garbage-collected by the registry anyway."""
        with suppress(FerryError):
            await self._transport.request(
                self._registry,
                "DELETE",
                location,
                what=f"cancelling an upload to {self.name}",
                scopes=(push_scope(self._path),),
                ok=(200, 202, 204, 404),
                retry=False,
            )

    async def list_referrers(self, digest: Digest) -> list[Descriptor] | None:
        """Manifests whose ``subject`` is ``digest``, or None without a referrers API.

        OCI distribution-spec 1.1, "Listing Referrers": ``GET
        /v2/<name>/referrers/<digest>`` answers an image index (possibly empty,
        possibly paged with ``Link``); a registry without the API answers 404.
        """
        url: str | None = self._url(f"/referrers/{digest}")
        found: list[Descriptor] = []
        pages = 0
        while url is not None and pages < _MAX_REFERRER_PAGES:
            pages += 1
            response = await self._transport.request(
                self._registry,
                "GET",
                url,
                what=f"referrers of {digest} in {self.name}",
                scopes=(pull_scope(self._path),),
                headers={"Accept": OCI_INDEX},
                ok=(200, 404),
            )
            if response.status == 404:
                return None if pages == 1 else found
            try:
                manifests = json.loads(response.body).get("manifests") or []
                found += [Descriptor.from_json(m) for m in manifests]
            except (ValueError, AttributeError, TypeError, FerryError):
                raise UnsupportedManifest(
                    f"referrers of {digest} in {self.name}: the registry answered something "
                    "other than an OCI image index",
                    registry=self._registry,
                ) from None
            url = next_link(response.headers.getall("Link", []), response.url)
        return found

    async def list_tags(self, *, page_size: int | None = None) -> list[str]:
        return await paginate(
            self._transport,
            self._registry,
            self._url("/tags/list"),
            "tags",
            what=f"listing tags of {self.name}",
            scopes=(pull_scope(self._path),),
            page_size=page_size,
        )


async def _as_received(content: aiohttp.StreamReader) -> AsyncIterator[bytes]:
    """The body in the pieces the socket delivered them (up to 256 KiB each).

    ``iter_chunked(n)`` joins pieces into ``n``-byte chunks: one more copy of
    every byte, about 15% of a copy's CPU in ``bench/``. Reads stay bounded
    by the session's ``read_bufsize``.
    """
    async for data, _end_of_http_chunk in content.iter_chunks():
        if data:
            yield data


async def _skipped(chunks: AsyncIterator[bytes], count: int) -> AsyncIterator[bytes]:
    """``chunks`` without their first ``count`` bytes."""
    async for chunk in chunks:
        if count >= len(chunk):
            count -= len(chunk)
            continue
        yield chunk[count:] if count else chunk
        count = 0


def _range_start(content_range: str) -> int | None:
    """The first byte of ``bytes <first>-<last>/<size>`` (RFC 9110 section 14.4)."""
    unit, _, spec = content_range.strip().partition(" ")
    first = spec.partition("-")[0]
    return int(first) if unit.lower() == "bytes" and first.isdigit() else None


async def _counted(chunks: AsyncIterator[bytes], descriptor: Descriptor) -> AsyncIterator[bytes]:
    """Pass chunks through, failing as soon as the stream exceeds or misses the size.

    The Content-Length we send is the descriptor's size; a stream of any other
    length would otherwise leave the registry waiting or truncate the blob.
    """
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > descriptor.size:
            raise SizeMismatch(str(descriptor.digest), descriptor.size, size)
        if chunk:
            yield chunk
    if size != descriptor.size:
        raise SizeMismatch(str(descriptor.digest), descriptor.size, size)
