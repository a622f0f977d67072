"""The blob stream: source -> verifier -> progress -> destination, chunk by chunk.

A blob is never held in memory: chunks flow from ``source.open_blob`` into
``destination.put_blob`` through :class:`BlobReader`, which checks size as
bytes arrive and size + digest at EOF (image-spec descriptor.md
"Verification"); on a mismatch it raises inside the destination's read, so
the destination abandons the upload and nothing that references the blob
gets pushed.

What a fault costs, from cheapest:

- a source stream that breaks mid-way (reset, timeout, a body cut short)
  continues where it broke: a :class:`~imageferry.copy.capabilities.RangedSource`
  is asked for the rest, and the digest goes on hashing where it stood;
- a destination that resumes uploads (large blobs go up in acknowledged parts)
  rewinds the reader to the offset the registry reports holding: the hash
  state saved at the last acknowledged part comes back, and the source is read
  again from there, with nothing sent twice that the registry already has;
- anything else retryable starts the blob again from the source with a fresh
  hash, up to ``attempts`` times: a verification failure at EOF (a truncated
  or corrupted body), an upload whose connection dropped, 5xx or 429 after
  the client's own retries.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from imageferry.copy.capabilities import RangedSource
from imageferry.digest import Verifier
from imageferry.errors import (
    ServerError,
    TooManyRequests,
    TransportError,
    VerificationError,
)
from imageferry.interfaces import ImageDestination, ImageSource
from imageferry.manifest import Descriptor

__all__ = ["RETRYABLE", "BlobReader", "BlobStreamer"]

log = logging.getLogger(__name__)

#: Errors after which a whole-blob retry may succeed.
RETRYABLE: tuple[type[BaseException], ...] = (TransportError, ServerError, TooManyRequests)
#: Resumptions of one source stream within one attempt: each costs only a
#: request, but a source that breaks this often is better started again.
_RESUMES = 8


class BlobReader:
    """One blob from a source, verified and resumable (a ``ResumableChunks``).

    ``on_bytes(n)`` sees each read (negative for a rewind), ``on_resume(message)``
    every resumption. ``failure`` keeps a verification error it raised: a
    destination may wrap what its read raised, and the caller wants the
    verification error itself.
    """

    def __init__(
        self,
        source: ImageSource,
        descriptor: Descriptor,
        on_bytes: Callable[[int], None],
        on_resume: Callable[[str], None],
    ) -> None:
        self._source = source
        self._descriptor = descriptor
        self._on_bytes = on_bytes
        self._on_resume = on_resume
        self._verifier = Verifier(descriptor.digest, descriptor.size)
        #: Bytes handed out (and hashed); ``_pending`` comes next, not yet hashed.
        self._position = 0
        self._pending = b""
        self._mark = (0, self._verifier.copy())
        self._opened: AbstractAsyncContextManager[AsyncIterator[bytes]] | None = None
        self._chunks: AsyncIterator[bytes] | None = None
        self._resumes = 0
        self._ended = False
        self.failure: VerificationError | None = None

    @property
    def position(self) -> int:
        """Bytes read so far, less those rewound."""
        return self._position

    # -- ResumableChunks -----------------------------------------------------------

    def __aiter__(self) -> BlobReader:
        return self

    async def __anext__(self) -> bytes:
        piece = await self.read(1 << 30)
        if not piece:
            raise StopAsyncIteration
        return piece

    async def read(self, limit: int) -> bytes:
        if self._ended:
            return b""
        piece = await self._next_piece()
        if piece is None:
            self._ended = True
            await self.aclose()
            self._check(self._verifier.verify)
            return b""
        piece, self._pending = piece[:limit], piece[limit:]
        self._check(lambda: self._verifier.update(piece))
        self._position += len(piece)
        self._on_bytes(len(piece))
        return piece

    def mark(self) -> None:
        self._mark = (self._position, self._verifier.copy())

    async def rewind(self, offset: int) -> bool:
        marked, verifier = self._mark
        if not marked <= offset <= self._position:
            return False
        if offset == self._position:
            return True
        if marked and not isinstance(self._source, RangedSource):
            return False
        await self.aclose()
        self._on_bytes(marked - self._position)
        self._verifier, self._position, self._pending = verifier.copy(), marked, b""
        self._ended = False
        self._on_resume(f"upload resumed at byte {offset}")
        while self._position < offset:
            # Hashed again, sent no more: the registry holds these bytes already.
            if not await self.read(offset - self._position):
                return False
        return True

    async def aclose(self) -> None:
        """Release the source's response (also done at EOF)."""
        opened, self._opened, self._chunks = self._opened, None, None
        if opened is not None:
            await opened.__aexit__(None, None, None)

    # -- the source ----------------------------------------------------------------

    def _check(self, step: Callable[[], None]) -> None:
        try:
            step()
        except VerificationError as e:
            self.failure = e
            raise

    async def _next_piece(self) -> bytes | None:
        """The next bytes from the source, resuming a broken stream; None at its end."""
        if self._pending:
            piece, self._pending = self._pending, b""
            return piece
        while True:
            if self._chunks is None:
                await self._open()
            assert self._chunks is not None
            try:
                piece = await anext(self._chunks)
            except StopAsyncIteration:
                if self._position >= self._descriptor.size or not self._may_resume():
                    return None
                why = "the body ended early"
            except Exception as e:
                error = await self._release(e)
                if not isinstance(error, RETRYABLE) or not self._may_resume():
                    if error is e:
                        raise
                    raise error from e
                why = str(error)
            else:
                if piece:
                    return piece
                continue
            await self.aclose()
            self._resumes += 1
            self._on_resume(f"source stream resumed at byte {self._position}: {why}")

    def _may_resume(self) -> bool:
        return isinstance(self._source, RangedSource) and self._resumes < _RESUMES

    async def _open(self) -> None:
        if self._position and isinstance(self._source, RangedSource):
            opened = self._source.open_blob_at(self._descriptor, self._position)
        else:
            opened = self._source.open_blob(self._descriptor)
        self._chunks = await opened.__aenter__()
        self._opened = opened

    async def _release(self, error: Exception) -> BaseException:
        """Close the source's stream with ``error``; what it turned the error into.

        The registry client names a failed read (``TransportError``) only
        when the error passes through its context manager.
        """
        opened, self._opened, self._chunks = self._opened, None, None
        if opened is None:
            return error
        try:
            await opened.__aexit__(type(error), error, error.__traceback__)
        except Exception as named:
            return named
        return error


@dataclass(frozen=True, slots=True)
class BlobStreamer:
    """Streams blobs from one source repository to one destination repository.

    ``on_retry(message)`` hears of every resumption and restart, for counting
    and logging.
    """

    source: ImageSource
    destination: ImageDestination
    attempts: int = 3
    retry_delay: float = 1.0
    on_retry: Callable[[str], None] | None = None

    async def stream(self, descriptor: Descriptor, on_bytes: Callable[[int], None]) -> int:
        """Copy one blob; return the bytes sent. ``on_bytes`` sees progress (rewound on retry)."""

        async def put(reader: BlobReader) -> None:
            await self.destination.put_blob(descriptor, reader)

        return await self._with_attempts(descriptor, on_bytes, put)

    async def fetch(self, descriptor: Descriptor) -> bytes:
        """A small blob's bytes (a config), verified, with the same resumption and retries."""
        data = bytearray()

        async def collect(reader: BlobReader) -> None:
            data.clear()
            async for piece in reader:
                data.extend(piece)

        await self._with_attempts(descriptor, lambda n: None, collect)
        return bytes(data)

    async def _with_attempts(
        self,
        descriptor: Descriptor,
        on_bytes: Callable[[int], None],
        consume: Callable[[BlobReader], Awaitable[None]],
    ) -> int:
        for attempt in range(1, self.attempts + 1):
            reader = BlobReader(self.source, descriptor, on_bytes, self._retried(descriptor))
            try:
                await consume(reader)
                return reader.position
            except Exception as e:
                error: Exception = reader.failure or e
                if reader.position:
                    on_bytes(-reader.position)
                if not isinstance(error, (*RETRYABLE, VerificationError)):
                    raise
                if attempt == self.attempts:
                    raise error from None
                self._retried(descriptor)(
                    f"attempt {attempt + 1} of {self.attempts} after: {error}"
                )
            finally:
                await reader.aclose()
            await asyncio.sleep(self.retry_delay * 2 ** (attempt - 1))
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _retried(self, descriptor: Descriptor) -> Callable[[str], None]:
        def note(message: str) -> None:
            log.info("blob %s: %s", descriptor.digest, message)
            if self.on_retry is not None:
                self.on_retry(message)

        return note
