"""The blob ledger: one run's memory of where blobs live in each destination registry.

Shared by every image of a run so that a blob used by many images crosses
the network once per destination registry (containers/image keeps the same
idea in its BlobInfoCache). Per blob and destination repository the choice is:

1. known (recorded this run) or present (HEAD) in that repository: reuse it;
2. known in another repository of the same registry: cross-repository mount
   (distribution-spec "Mounting a blob from another repository"), falling
   back to an upload when the registry declines;
3. otherwise stream it from the source.

A destination with the :class:`~imageferry.copy.capabilities.BlobBatchCheck`
capability (ECR) is asked about all of an image's unknown blobs at once
(:meth:`BlobLedger.check_many`); blobs it reports present are recorded like
any other location, and blobs it reports absent skip the HEAD in step 1.

While one image transfers a blob into a registry, another image needing the
same blob there waits for it instead of sending it a second time, then
reuses or mounts the result.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from imageferry.copy.capabilities import BlobBatchCheck
from imageferry.copy.turns import KeyedTurns
from imageferry.digest import Digest
from imageferry.errors import FerryError, NotFound, ResponseError
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
        self._turns: KeyedTurns[tuple[str, Digest]] = KeyedTurns()
        self._outcomes: list[tuple[str, str, BlobOutcome]] = []
        # (registry, repository, digest) a batch check answered for and no
        # decision has used yet: present ones report "exists", absent ones skip the HEAD.
        self._checked_present: set[tuple[str, str, Digest]] = set()
        self._checked_absent: set[tuple[str, str, Digest]] = set()
        #: Batch checks made (one per :meth:`check_many` that asked the destination).
        self.batch_checks = 0
        # (registry, repository) -> whether it held no tags when first asked this run.
        self._new: dict[tuple[str, str], asyncio.Future[bool]] = {}
        # (registry, repository) -> whether the first tag looked up there may exist
        # (found, or the lookup failed): then every other image asks for its own tag.
        self._first_tag: dict[tuple[str, str], asyncio.Future[bool]] = {}

    async def repository_is_new(self, destination: ImageDestination) -> bool:
        """True when the destination repository had no tags when this run first asked.

        In such a repository a blob or manifest HEAD can only answer 404
        (distribution keeps per-repository links; reuse from elsewhere is a
        mount), so those requests are skipped. What this run itself puts
        there is recorded and found without asking. One ``tags/list`` per
        repository per run replaces a HEAD per blob. A repository holding only
        untagged manifests also counts as new: at worst a blob is sent again.
        """
        return await asyncio.shield(self._probe(destination))

    def _probe(self, destination: ImageDestination) -> asyncio.Future[bool]:
        key = (destination.registry, destination.repository)
        probe = self._new.get(key)
        if probe is None:
            probe = self._new[key] = asyncio.ensure_future(_has_no_tags(destination))
        return probe

    async def lookup_tag(
        self,
        destination: ImageDestination,
        head: Callable[[], Awaitable[Descriptor | None]],
    ) -> Descriptor | None:
        """The destination tag's manifest (``head``), or None without asking where none can exist.

        The first image to look up a tag in a repository sends its HEAD; the
        others wait for its answer. When that tag was found, the repository
        is in use and each image sends its own HEAD (a re-run costs no extra
        request). When it was missing, the repository is probed once
        (:meth:`repository_is_new`), and in a repository without tags the
        other images skip their HEAD: it could only answer 404.
        """
        key = (destination.registry, destination.repository)
        first = self._first_tag.get(key)
        if first is None:
            first = self._first_tag[key] = asyncio.get_running_loop().create_future()
            try:
                found = await head()
            except BaseException:
                first.set_result(True)  # no answer: the others ask for themselves
                raise
            first.set_result(found is not None)
            if found is None:
                self._probe(destination)
            return found
        if not await asyncio.shield(first) and await self.repository_is_new(destination):
            return None
        return await head()

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

    async def check_many(
        self, destination: ImageDestination, descriptors: Iterable[Descriptor]
    ) -> None:
        """Ask a batch-capable destination once about the blobs this run knows nothing of.

        Does nothing for a destination without :class:`BlobBatchCheck`, or when
        the destination says the batch would not pay off. A failed batch check
        is not an error: the per-blob HEADs of :meth:`ensure` still answer.
        """
        if not isinstance(destination, BlobBatchCheck):
            return
        registry, repository = destination.registry, destination.repository
        unknown = [
            digest
            for digest in dict.fromkeys(d.digest for d in descriptors)
            if repository not in self._locations.get((registry, digest), ())
            and (registry, repository, digest) not in self._checked_absent
        ]
        if not unknown or not destination.worth_batching(len(unknown)):
            return
        try:
            present = await destination.has_blobs(unknown)
        except FerryError:
            return
        self.batch_checks += 1
        for digest in unknown:
            if digest in present:
                self.record(registry, repository, digest)
                self._checked_present.add((registry, repository, digest))
            else:
                self._checked_absent.add((registry, repository, digest))

    def known_absent(self, destination: ImageDestination, digest: Digest) -> bool:
        """True (once) when a batch check said ``digest`` is not in ``destination``."""
        key = (destination.registry, destination.repository, digest)
        if key in self._checked_absent:
            self._checked_absent.discard(key)
            return True
        return False

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
        if not await self._turns.claim(key, lambda: repository in self._locations.get(key, ())):
            checked = (registry, repository, descriptor.digest)
            action: BlobAction = "exists" if checked in self._checked_present else "known"
            self._checked_present.discard(checked)
            return self._note(registry, repository, BlobOutcome(descriptor, action, 0))
        try:
            outcome = await self._transfer(destination, descriptor, upload)
        finally:
            self._turns.release(key)
        self.record(registry, repository, descriptor.digest)
        return self._note(registry, repository, outcome)

    async def _transfer(
        self,
        destination: ImageDestination,
        descriptor: Descriptor,
        upload: Callable[[], Awaitable[int]],
    ) -> BlobOutcome:
        probe = self._new.get((destination.registry, destination.repository))
        new = probe is not None and probe.done() and not probe.cancelled() and probe.result()
        if (
            not new
            and not self.known_absent(destination, descriptor.digest)
            and await destination.has_blob(descriptor.digest)
        ):
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


async def _has_no_tags(destination: ImageDestination) -> bool:
    list_tags: Callable[[], Awaitable[list[str]]] | None = getattr(destination, "list_tags", None)
    if list_tags is None:
        return False
    try:
        return not await list_tags()
    except NotFound:
        return True
    except FerryError:
        return False
