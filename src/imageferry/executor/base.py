"""The executor interface and the unit of work it runs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from imageferry.reference import Reference
from imageferry.store.ids import unit_key

__all__ = ["BATCH_SIZE", "Batch", "Dispatch", "Executor", "WorkUnit", "make_batches"]


@dataclass(frozen=True, slots=True)
class WorkUnit:
    """Copy one image of one run. Addressable by ``(run_id, key)`` and idempotent:
    running it twice copies nothing the second time (the destination already
    has the digest) and records one result (the store upserts by key)."""

    run_id: str
    source: str
    destination: str

    @property
    def key(self) -> str:
        return unit_key(self.source, self.destination)


#: Units per batch at most, so that a huge repository spreads over several workers.
BATCH_SIZE = 50


@dataclass(frozen=True, slots=True)
class Batch:
    """Units of one run copied together, with one blob ledger: one source repository's
    images (or a slice of them), so that layers they share cross once."""

    name: str
    units: tuple[WorkUnit, ...]

    @property
    def keys(self) -> list[str]:
        return [u.key for u in self.units]


def make_batches(units: Sequence[WorkUnit], size: int = BATCH_SIZE) -> list[Batch]:
    """Group units by source repository, at most ``size`` units per batch, in order."""
    by_repository: dict[str, list[WorkUnit]] = {}
    for unit in units:
        by_repository.setdefault(Reference.parse(unit.source).name, []).append(unit)
    size = max(1, size)
    return [
        Batch(repository, tuple(group[i : i + size]))
        for repository, group in by_repository.items()
        for i in range(0, len(group), size)
    ]


#: ``dispatch(run_id, batches)``: hands a planned run's batches to the workers.
Dispatch = Callable[[str, list[Batch]], Awaitable[None]]


class Executor(Protocol):
    """Runs runs. ``submit`` returns at once; the run's row was committed first."""

    def submit(self, run_id: str) -> None:
        """Start executing a committed run (enqueue after commit)."""

    def cancel(self, run_id: str) -> bool:
        """Stop a run this executor is executing; False when it is not here."""

    def wait(self, run_id: str, timeout: float | None = None) -> bool:
        """Block until the run finished here; False on timeout."""

    def running(self) -> list[str]:
        """Ids of runs executing now."""

    def close(self) -> None:
        """Cancel what is running and release resources."""
