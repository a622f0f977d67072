"""Optional destination capabilities the copy engine adapts to.

:class:`~imageferry.interfaces.ImageDestination` is what every destination
offers. Some registries can do more, and the engine uses that when a
destination object has it (checked at run time with ``isinstance``), the way
containers/image asks a destination what it supports before copying.

``BlobBatchCheck``
    Answers "which of these blobs does the repository hold?" for many blobs
    in one request. Amazon ECR's BatchCheckLayerAvailability takes up to 100
    digests per call, where the OCI API needs one ``HEAD /v2/<name>/blobs/<digest>``
    per blob (distribution-spec "Checking if content exists in the registry").
    Call order: the engine asks :meth:`BlobBatchCheck.worth_batching` with the
    number of blobs it would ask about, then, if True, calls
    :meth:`BlobBatchCheck.has_blobs` once for all the blobs of an image
    manifest that the run does not already know about, before any of their
    ``has_blob``/``mount_blob``/``put_blob`` calls. What it learns goes into the
    run's :class:`~imageferry.copy.ledger.BlobLedger`. ``has_blobs`` raises a
    :class:`~imageferry.errors.FerryError` when it cannot answer (permissions,
    throttling); the engine then falls back to one ``has_blob`` per blob, so
    the capability can only save requests, never fail a copy.

``RangedSource``
    Serves a blob from an offset on (distribution-spec "Fetch the blob",
    ``Range: bytes=<start>-``, answered ``206 Partial Content``). A stream that
    breaks after N bytes continues from N instead of starting again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from imageferry.digest import Digest
from imageferry.interfaces import BlobStream
from imageferry.manifest import Descriptor

__all__ = ["BlobBatchCheck", "RangedSource"]


@runtime_checkable
class BlobBatchCheck(Protocol):
    """A destination that can check many blobs' presence in one request."""

    def worth_batching(self, count: int) -> bool:
        """True when one batch check of ``count`` blobs saves requests over ``count`` HEADs.

        False also when the capability is known not to work (for instance the
        credentials lack the permission): the engine then uses ``has_blob``.
        """

    async def has_blobs(self, digests: Sequence[Digest]) -> set[Digest]:
        """The subset of ``digests`` that exists in this repository.

        A digest not in the answer is absent: the engine mounts or uploads it
        without asking again.
        """


@runtime_checkable
class RangedSource(Protocol):
    """A source that can stream a blob from an offset on."""

    def open_blob_at(self, descriptor: Descriptor, offset: int) -> BlobStream:
        """The blob's bytes from ``offset`` to its end (the caller verifies them)."""
