"""One DynamoDB row per image: the run's unit results as the table keeps them.

A row's key is the image (``Image``: the source's registry and repository)
and its tag (``Tag``: the digest for an untagged image), like the reference's
table; the other attributes say how it went in which run (``Execution``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from imageferry.errors import FerryError, InvalidReference
from imageferry.reference import Reference
from imageferry.store.results import LogLevel, UnitResult
from imageferry.store.status import ImageStatus

__all__ = ["STATUS", "Counts", "RowRecorder", "image_key", "row_for"]

#: The table's Status for each final unit state.
STATUS = {ImageStatus.COPIED: "Done", ImageStatus.SKIPPED: "Skipped", ImageStatus.FAILED: "Error"}
#: Characters of an error kept in a row (a DynamoDB item holds 400 KB).
MAX_ERROR = 2000
REFERRERS_OF = "referrers of "
#: Final results written to the table at once, while the batch goes on.
FLUSH_EVERY = 25


def image_key(source: str) -> tuple[str, str]:
    """``(Image, Tag)`` of a source reference: tag, else digest.

    The failure to list an image's referrers (``referrers of <source>``) has a
    row of its own, next to the image's: ``<tag> referrers``.
    """
    if source.startswith(REFERRERS_OF):
        image, tag = image_key(source.removeprefix(REFERRERS_OF))
        return image, f"{tag} referrers"
    try:
        reference = Reference.parse(source)
    except InvalidReference:
        return source, "-"
    tag = reference.tag or (str(reference.digest) if reference.digest else "latest")
    return reference.name, tag


def row_for(result: UnitResult, run_id: str) -> dict[str, Any]:
    image, tag = image_key(result.source)
    return {
        "Image": image,
        "Tag": tag,
        "Status": STATUS[ImageStatus(result.status)],
        "Destination": result.destination,
        "Digest": result.digest,
        "Bytes": result.bytes_transferred,
        "Seconds": round(result.seconds, 3),
        "Attempts": result.attempts,
        "Error": result.error[:MAX_ERROR],
        "Execution": run_id,
    }


@dataclass
class Counts:
    copied: int = 0
    skipped: int = 0
    failed: int = 0
    bytes_copied: int = 0

    def add(self, result: UnitResult) -> None:
        status = ImageStatus(result.status)
        if status is ImageStatus.COPIED:
            self.copied += 1
        elif status is ImageStatus.SKIPPED:
            self.skipped += 1
        else:
            self.failed += 1
        self.bytes_copied += result.bytes_transferred


@dataclass
class RowRecorder:
    """``UnitRecorder`` for a batch: final results become rows, log lines go to ``say``.

    Running states (one per attempt) are not rows: a row is written once, with
    the image's outcome, in groups of :data:`FLUSH_EVERY` as they finish.
    """

    run_id: str
    write: Callable[[list[dict[str, Any]]], None]
    say: Callable[[str], None]
    counts: Counts = field(default_factory=Counts)
    recorded: set[str] = field(default_factory=set)
    flush_every: int = FLUSH_EVERY
    _waiting: list[dict[str, Any]] = field(default_factory=list)

    def result(self, result: UnitResult) -> None:
        if ImageStatus(result.status) not in STATUS:
            return
        self.counts.add(result)
        self.recorded.add(result.source)
        self._waiting.append(row_for(result, self.run_id))
        if len(self._waiting) >= self.flush_every:
            self.flush()

    def urgent(self) -> None:
        """From now on, write each row at once (the container may be killed soon)."""
        self.flush_every = 1
        try:
            self.flush()
        except FerryError as e:  # called from a signal handler: said, and kept for later
            self.say(f"WARNING writing rows: {e}")

    def log(self, level: LogLevel, message: str) -> None:
        self.say(f"{level} {message}")

    def flush(self) -> None:
        """Write the waiting rows; when that fails they stay waiting."""
        if self._waiting:
            self.write(self._waiting)
            self._waiting = []
