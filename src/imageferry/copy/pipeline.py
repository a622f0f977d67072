"""The blob stream: source -> verifier -> progress -> destination, chunk by chunk.

A blob is never held in memory: chunks flow from ``source.open_blob`` into
``destination.put_blob`` through small wrappers. The verifier checks size as
bytes arrive and size + digest at EOF (image-spec descriptor.md "Verification");
on a mismatch it raises inside the chunk iterator, so the destination
abandons the upload and nothing that references the blob gets pushed.

A stream that breaks mid-way with a retryable error (connection reset,
5xx, 429 after the client's own retries) is started again from the source,
a bounded number of times.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from imageferry.digest import Verifier
from imageferry.errors import (
    ServerError,
    TooManyRequests,
    TransportError,
    VerificationError,
)
from imageferry.interfaces import ImageDestination, ImageSource
from imageferry.manifest import Descriptor

__all__ = ["RETRYABLE", "BlobStreamer"]

#: Errors after which a whole-blob retry may succeed.
RETRYABLE: tuple[type[BaseException], ...] = (TransportError, ServerError, TooManyRequests)


class _Progress:
    """Counts bytes passed through and reports them to a callback."""

    __slots__ = ("callback", "count")

    def __init__(self, callback: Callable[[int], None]) -> None:
        self.callback = callback
        self.count = 0

    def add(self, n: int) -> None:
        self.count += n
        self.callback(n)


async def _verified(
    chunks: AsyncIterator[bytes],
    verifier: Verifier,
    progress: _Progress,
    failure: list[VerificationError],
) -> AsyncIterator[bytes]:
    """Yield ``chunks`` unchanged while checking them; raise at overflow or EOF.

    The error is also kept in ``failure``: a destination may wrap what its
    chunk iterator raised, and the caller wants the verification error itself.
    """
    try:
        async for chunk in chunks:
            verifier.update(chunk)
            progress.add(len(chunk))
            yield chunk
        verifier.verify()
    except VerificationError as e:
        failure.append(e)
        raise


@dataclass(frozen=True, slots=True)
class BlobStreamer:
    """Streams blobs from one source repository to one destination repository."""

    source: ImageSource
    destination: ImageDestination
    attempts: int = 3
    retry_delay: float = 1.0

    async def stream(self, descriptor: Descriptor, on_bytes: Callable[[int], None]) -> int:
        """Copy one blob; return the bytes sent. ``on_bytes`` sees progress (rewound on retry)."""
        for attempt in range(1, self.attempts + 1):
            progress = _Progress(on_bytes)
            failure: list[VerificationError] = []
            try:
                async with self.source.open_blob(descriptor) as chunks:
                    verified = _verified(
                        chunks, Verifier(descriptor.digest, descriptor.size), progress, failure
                    )
                    await self.destination.put_blob(descriptor, verified)
                return progress.count
            except Exception as e:
                if failure:
                    raise failure[0] from None
                if progress.count:
                    on_bytes(-progress.count)
                if not isinstance(e, RETRYABLE) or attempt == self.attempts:
                    raise
                await asyncio.sleep(self.retry_delay * 2 ** (attempt - 1))
        raise AssertionError("unreachable: the last attempt returns or raises")
