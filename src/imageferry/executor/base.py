"""The executor interface and the unit of work it runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from imageferry.store.ids import unit_key

__all__ = ["Executor", "WorkUnit"]


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
