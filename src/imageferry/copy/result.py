"""The outcome of copying one image, as the CLI's ``--output json`` prints it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from imageferry.errors import CopyError

__all__ = ["ImageResult", "Status", "summarize"]

Status = Literal["copied", "skipped", "failed"]


@dataclass(frozen=True, slots=True)
class ImageResult:
    """One image's outcome.

    ``bytes_transferred`` counts blob bytes streamed to the destination;
    ``bytes_reused`` counts blob bytes that did not cross the network because
    the destination had them, mounted them, or got them from another image of
    the same run. ``error`` is one line, set when ``status`` is ``failed``.
    """

    source: str
    destination: str
    digest: str | None
    status: Status
    bytes_transferred: int = 0
    bytes_reused: int = 0
    seconds: float = 0.0
    error: str | None = None
    notes: tuple[str, ...] = ()
    attempts: int = 1
    #: Blob streams resumed or started again after a fault (a reset, a bad body).
    retries: int = 0
    #: The failure with its cause, for callers that classify errors (not serialised).
    exception: CopyError | None = field(default=None, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        return self.status != "failed"

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "destination": self.destination,
            "digest": self.digest,
            "status": self.status,
            "bytes_transferred": self.bytes_transferred,
            "bytes_reused": self.bytes_reused,
            "seconds": round(self.seconds, 3),
            "error": self.error,
            "notes": list(self.notes),
            "retries": self.retries,
        }


def summarize(results: Iterable[ImageResult]) -> dict[str, Any]:
    """Totals for a run: images by status, bytes moved and reused, retries, summed seconds."""
    counts = {"copied": 0, "skipped": 0, "failed": 0}
    transferred = reused = retries = 0
    seconds = 0.0
    total = 0
    for result in results:
        total += 1
        counts[result.status] += 1
        transferred += result.bytes_transferred
        reused += result.bytes_reused
        retries += result.retries
        seconds += result.seconds
    return {
        "images": total,
        **counts,
        "bytes_transferred": transferred,
        "bytes_reused": reused,
        "retries": retries,
        "seconds": round(seconds, 3),
    }
