"""A run's bookkeeping, written in batches: unit results and log lines.

A run over many up-to-date images does little but skip them, so a transaction
per image (and a recount of the run per image) would cost more than the
copies. :class:`RunRecorder` keeps what the copy reports and writes it with
:meth:`~imageferry.store.Store.record_results`: one transaction per batch, when
``max_items`` are waiting, when the oldest has waited ``max_delay`` seconds,
and at the end of the run.

What a batch loses if the process dies before writing it: the results of
units that finished since the last write. Those units stay pending (or
running) in the store; ``ferry serve`` resumes the run when it starts again
(or the next run takes over), checks them again, and skips an image that did
arrive. A unit reported
several times before a write (running, then skipped) is written once, in its
last state.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from imageferry.store import Store
from imageferry.store.errors import StoreError
from imageferry.store.results import LogLevel, UnitResult

__all__ = ["MAX_DELAY", "MAX_ITEMS", "RunRecorder"]

log = logging.getLogger(__name__)

#: Results and log lines per transaction, at most.
MAX_ITEMS = 500
#: Seconds a result or log line waits at most before it is written.
MAX_DELAY = 1.0


class RunRecorder:
    """Buffers one run's unit results and log lines, and writes them in batches."""

    def __init__(
        self,
        store: Store,
        run_id: str,
        *,
        max_items: int = MAX_ITEMS,
        max_delay: float = MAX_DELAY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._run_id = run_id
        self._max_items = max_items
        self._max_delay = max_delay
        self._clock = clock
        self._results: dict[str, UnitResult] = {}
        self._logs: list[tuple[LogLevel, str]] = []
        self._oldest: float | None = None
        #: Transactions written so far (for tests and the bench).
        self.batches = 0

    def result(self, result: UnitResult) -> None:
        """Keep a unit's state; a later state of the same unit replaces it."""
        self._results.pop(result.key, None)
        self._results[result.key] = result
        self._added()

    def log(self, level: LogLevel, message: str) -> None:
        self._logs.append((level, message))
        self._added()

    def _added(self) -> None:
        now = self._clock()
        if self._oldest is None:
            self._oldest = now
        if len(self._results) + len(self._logs) >= self._max_items or self.due(now):
            self.flush()

    def due(self, now: float | None = None) -> bool:
        """Has the oldest waiting item waited ``max_delay``?"""
        if self._oldest is None:
            return False
        return (self._clock() if now is None else now) - self._oldest >= self._max_delay

    def flush(self) -> None:
        """Write what is waiting, in one transaction (nothing when nothing waits)."""
        if self._oldest is None:
            return
        results, logs = list(self._results.values()), self._logs
        self._store.record_results(self._run_id, results, logs)
        self._results, self._logs, self._oldest = {}, [], None
        self.batches += 1

    async def flush_periodically(self) -> None:
        """Write waiting items once they are due, also when no new ones arrive.

        A long blob copy reports nothing for a while; what was reported before
        it still reaches the store (and the console) within ``max_delay``. A
        write that fails keeps its items waiting for the next one (at the
        latest, the final :meth:`flush`, whose error the run reports).
        """
        while True:
            await asyncio.sleep(self._max_delay / 2)
            if self.due():
                try:
                    self.flush()
                except StoreError as e:
                    log.warning("recording results of run %s: %s", self._run_id, e)
