"""Going on with a run after a restart: only its units that are not final yet.

A run resumed after its process died (see
:meth:`~imageferry.store.Store.resume_interrupted_runs`) selects its images
again, as any run does; units already recorded as copied, skipped or failed
are not copied a second time. Their recorded outcome stands in for a copy, so
the steps that look at every image's outcome (the referrer walk) see them too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from imageferry.copy import ImageResult
from imageferry.copy.result import Status
from imageferry.executor.base import WorkUnit
from imageferry.store import Store
from imageferry.store.base import MAX_PAGE
from imageferry.store.records import ImageResultRecord
from imageferry.store.status import FINISHED_IMAGE_STATUSES, ImageStatus

__all__ = ["copy_pending", "final_outcomes"]

_P = TypeVar("_P")

_STATUS: dict[ImageStatus, Status] = {
    ImageStatus.COPIED: "copied",
    ImageStatus.SKIPPED: "skipped",
    ImageStatus.FAILED: "failed",
}


def final_outcomes(store: Store, run_id: str) -> dict[str, ImageResult]:
    """The run's units already final in the store, by unit key (empty for a new run)."""
    found: dict[str, ImageResult] = {}
    offset = 0
    while True:
        page = store.list_image_results(
            run_id, status=FINISHED_IMAGE_STATUSES, offset=offset, limit=MAX_PAGE
        )
        found.update((r.unit_key, _outcome(r)) for r in page.items)
        offset += len(page.items)
        if not page.items or offset >= page.total:
            return found


def _outcome(record: ImageResultRecord) -> ImageResult:
    return ImageResult(
        record.source,
        record.destination,
        record.digest or None,
        _STATUS[record.status],
        bytes_transferred=record.bytes_transferred,
        bytes_reused=record.bytes_reused,
        seconds=record.seconds,
        error=record.error or None,
        attempts=record.attempts,
    )


async def copy_pending(
    units: Sequence[WorkUnit],
    pairs: Sequence[_P],
    final: dict[str, ImageResult],
    copy: Callable[[list[WorkUnit], list[_P]], Awaitable[list[ImageResult]]],
) -> list[ImageResult]:
    """``copy`` the units not in ``final``; one outcome per unit, in order."""
    todo = [i for i, unit in enumerate(units) if unit.key not in final]
    done = iter(await copy([units[i] for i in todo], [pairs[i] for i in todo]))
    wanted = set(todo)
    return [next(done) if i in wanted else final[u.key] for i, u in enumerate(units)]
