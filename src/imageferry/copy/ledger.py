"""The blob ledger: one run's memory of where blobs live in each destination registry.

Shared by every image of a run so that a blob used by many images crosses
the network once per destination registry (containers/image keeps the same
idea in its BlobInfoCache). Per blob and destination repository the choice is:

1. known (recorded this run) or present (HEAD) in that repository: reuse it;
2. known in another repository of the same registry: cross-repository mount
   (distribution-spec "Mounting a blob from another repository"), falling
   back to an upload when the registry declines;
3. otherwise stream it from the source.

While one image transfers a blob into a registry, another image needing the
same blob there waits for it instead of sending it a second time, then
reuses or mounts the result.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from imageferry.digest import Digest
from imageferry.errors import ResponseError
from imageferry.interfaces import ImageDestination
from imageferry.manifest import Descriptor

__all__ = ["BlobAction", "BlobLedger", "BlobOutcome"]

BlobAction = Literal["known", "exists", "mounted", "uploaded"]


@dataclass(frozen=True, slots=True)
class BlobOutcome:
    """How one blob got to one destination repository."""

    descriptor: Descriptor
    action: BlobAction
    #: Bytes streamed for it (0 unless ``uploaded``).
    bytes_transferred: int

    @property
    def bytes_reused(self) -> int:
        return 0 if self.action == "uploaded" else self.descriptor.size


class BlobLedger:
    """Where each blob is known to exist, per destination registry, and what is in flight."""

    def __init__(self) -> None:
        self._locations: dict[tuple[str, Digest], set[str]] = {}
        self._in_flight: dict[tuple[str, Digest], asyncio.Event] = {}
        self._outcomes: list[tuple[str, str, BlobOutcome]] = []

    def record(self, registry: str, repository: str, digest: Digest) -> None:
        """Remember that ``digest`` exists in ``registry/repository``."""
        self._locations.setdefault((registry, digest), set()).add(repository)

    def locations(self, registry: str, digest: Digest) -> frozenset[str]:
        """Repositories of ``registry`` known to hold ``digest``."""
        return frozenset(self._locations.get((registry, digest), ()))

    @property
    def outcomes(self) -> tuple[tuple[str, str, BlobOutcome], ...]:
        """Every decision taken: (registry, repository, outcome), in order."""
        return tuple(self._outcomes)

    async def ensure(
        self,
        destination: ImageDestination,
        descriptor: Descriptor,
        upload: Callable[[], Awaitable[int]],
    ) -> BlobOutcome:
        """Make ``descriptor`` exist in ``destination``; ``upload`` streams it when needed.

        ``upload`` returns the number of bytes it sent. Its exceptions
        propagate; a waiter whose leader failed tries on its own.
        """
        registry, repository = destination.registry, destination.repository
        key = (registry, descriptor.digest)
        while True:
            if repository in self._locations.get(key, ()):
                return self._note(registry, repository, BlobOutcome(descriptor, "known", 0))
            event = self._in_flight.get(key)
            if event is None:
                break
            await event.wait()
        event = self._in_flight[key] = asyncio.Event()
        try:
            outcome = await self._transfer(destination, descriptor, upload)
        finally:
            del self._in_flight[key]
            event.set()
        self.record(registry, repository, descriptor.digest)
        return self._note(registry, repository, outcome)

    async def _transfer(
        self,
        destination: ImageDestination,
        descriptor: Descriptor,
        upload: Callable[[], Awaitable[int]],
    ) -> BlobOutcome:
        if await destination.has_blob(descriptor.digest):
            return BlobOutcome(descriptor, "exists", 0)
        others = self.locations(destination.registry, descriptor.digest) - {destination.repository}
        for repository in sorted(others):
            try:
                mounted = await destination.mount_blob(descriptor.digest, repository)
            except ResponseError:
                # A mount is only a shortcut: a registry refusing it (no pull
                # access to the other repository, say) still takes an upload.
                mounted = False
            if mounted:
                return BlobOutcome(descriptor, "mounted", 0)
        sent = await upload()
        return BlobOutcome(descriptor, "uploaded", sent)

    def _note(self, registry: str, repository: str, outcome: BlobOutcome) -> BlobOutcome:
        self._outcomes.append((registry, repository, outcome))
        return outcome
