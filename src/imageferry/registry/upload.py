"""A blob upload that resumes where the registry says it stands.

distribution-spec "Pushing a blob in chunks": an upload session takes
``PATCH`` requests with ``Content-Range``, each answered ``202`` with the
next ``Location``; ``GET <location>`` answers ``204`` with ``Range: 0-<last>``,
the bytes it holds; the closing ``PUT ?digest=`` may carry the last bytes.

A blob up to ``part_size`` goes in one streamed ``PUT``, as before; a larger
one in ``PATCH`` parts of ``part_size``, each acknowledged part marked in the
chunks (:class:`~imageferry.interfaces.ResumableChunks`). When a request
breaks (the connection dropped, or a 5xx or 429 that cannot be replayed with
a streamed body), the session's status says how much the registry holds; the
chunks rewind there and the upload goes on. A registry that cannot say
(distribution 2.8 invalidates a session whose ``PATCH`` broke part-way),
or holds something outside what can be rewound to, gets the original error:
the engine then starts the blob again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import quote, urljoin

from imageferry.errors import (
    FerryError,
    ResponseError,
    ServerError,
    SizeMismatch,
    TooManyRequests,
    TransportError,
)
from imageferry.interfaces import ResumableChunks
from imageferry.manifest import Descriptor
from imageferry.registry.transport import Response, Transport, backoff_delay

__all__ = ["PART_SIZE", "ResumableUpload", "held_bytes"]

#: Parts of a large blob: a break costs at most this much read again from
#: the source, and each part one round trip more.
PART_SIZE = 64 * 1024 * 1024
#: Resumptions of one upload before the engine starts the blob again.
_RESUMES = 8
_OCTET = "application/octet-stream"
#: Failures after which asking the session where it stands may pay off.
_BROKEN = (TransportError, ServerError, TooManyRequests)


def held_bytes(range_header: str) -> int | None:
    """Bytes an upload holds from its ``Range: 0-<last>`` (distribution-spec).

    distribution says ``0-0`` for an empty session as well as for one byte;
    0 is taken, the registry's digest check at the end catching the other.
    """
    text = range_header.strip().removeprefix("bytes=")
    first, sep, last = text.partition("-")
    if not sep or first != "0" or not last.isdigit():
        return None
    return int(last) + 1 if int(last) else 0


class _Part:
    """Bytes ``offset`` to ``offset + length`` of the blob, as a request body.

    ``error`` keeps what the chunks raised: a failure of the source (or a
    digest mismatch) is not a reason to ask the registry where it stands.
    The final part reads on to the end, so that the digest is checked before
    the request carrying the last byte completes.
    """

    def __init__(
        self, chunks: ResumableChunks, descriptor: Descriptor, offset: int, length: int
    ) -> None:
        self._chunks = chunks
        self._descriptor = descriptor
        self._end = offset + length
        self.offset = offset
        self.length = length
        self.final = self._end == descriptor.size
        self.error: BaseException | None = None

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            at = self.offset
            while at < self._end:
                piece = await self._chunks.read(self._end - at)
                if not piece:
                    raise SizeMismatch(str(self._descriptor.digest), self._descriptor.size, at)
                at += len(piece)
                yield piece
            if self.final and (extra := await self._chunks.read(1)):
                size = self._descriptor.size
                raise SizeMismatch(str(self._descriptor.digest), size, size + len(extra))
        except Exception as e:
            self.error = e
            raise


@dataclass
class ResumableUpload:
    """One upload session of one blob, from its ``Location`` to the closing ``PUT``."""

    transport: Transport
    registry: str
    scopes: tuple[str, ...]
    what: str
    location: str
    part_size: int = PART_SIZE
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    async def send(self, descriptor: Descriptor, chunks: ResumableChunks) -> None:
        offset = resumes = 0
        while True:
            length = min(self.part_size, descriptor.size - offset)
            part = _Part(chunks, descriptor, offset, length)
            try:
                if part.final:
                    await self._close(descriptor, part)
                    return
                response = await self._patch(part)
            except _BROKEN as e:
                if part.error is not None or resumes == _RESUMES:
                    raise
                offset = await self._resume(e, chunks, resumes)
                resumes += 1
                continue
            except ResponseError as e:
                if part.error is not None or not resumes:
                    raise
                # A resumed session refused at the end (its bytes were not what
                # we thought): start again, as after any other broken upload.
                raise TransportError(
                    f"{self.what}: the resumed upload was refused ({e})", registry=self.registry
                ) from e
            self.location = self._next(response)
            offset += length
            chunks.mark()

    async def _patch(self, part: _Part) -> Response:
        return await self.transport.request(
            self.registry,
            "PATCH",
            self.location,
            what=self.what,
            scopes=self.scopes,
            headers={
                "Content-Type": _OCTET,
                "Content-Range": f"{part.offset}-{part.offset + part.length - 1}",
                "Content-Length": str(part.length),
            },
            body=part.__aiter__(),
            ok=(202,),
            retry=False,
        )

    async def _close(self, descriptor: Descriptor, part: _Part) -> None:
        separator = "&" if "?" in self.location else "?"
        digest = quote(str(descriptor.digest), safe="")
        await self.transport.request(
            self.registry,
            "PUT",
            f"{self.location}{separator}digest={digest}",
            what=self.what,
            scopes=self.scopes,
            headers={"Content-Type": _OCTET, "Content-Length": str(part.length)},
            body=part.__aiter__(),
            ok=(201,),
        )

    async def _resume(self, error: FerryError, chunks: ResumableChunks, resumes: int) -> int:
        """Where the session stands, the chunks rewound there; else ``error`` is raised."""
        config = self.transport.config
        if isinstance(error, ServerError | TooManyRequests):
            await self.sleep(backoff_delay(resumes, config.backoff_base, config.backoff_max))
        try:
            status = await self.transport.request(
                self.registry,
                "GET",
                self.location,
                what=f"{self.what}: upload status",
                scopes=self.scopes,
                ok=(204, 200),
            )
        except FerryError:
            raise error from None
        held = held_bytes(status.headers.get("Range", ""))
        if held is None or not await chunks.rewind(held):
            raise error
        if status.headers.get("Location"):
            self.location = self._next(status)
        return held

    def _next(self, response: Response) -> str:
        location = response.headers.get("Location")
        if not location:
            raise ResponseError(
                f"{self.what}: {self.registry} answered {response.status} "
                "without a Location header",
                status=response.status,
                registry=self.registry,
            )
        return urljoin(response.url, location)
