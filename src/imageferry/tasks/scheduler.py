"""Starts due tasks: FIXED_RATE, CRON and ONE_TIME, never overlapping a run.

The scheduler is a loop over ``store.due_tasks(now)``. A due task is claimed
with a compare-and-set of its ``next_run_at`` (so two schedulers on one
Postgres store start it once), then started unless its previous run is still
active; in that case the slot is skipped and the next one kept. Missed slots
(the process was down) collapse into one run. Everything lives in the store,
so a restarted process resumes the schedules where they were.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from imageferry.store import Store
from imageferry.store.base import utcnow
from imageferry.store.errors import RunAlreadyActive
from imageferry.store.records import RunRecord, TaskRecord
from imageferry.store.status import Trigger
from imageferry.tasks.schedule import next_run_after

__all__ = ["Scheduler"]

log = logging.getLogger(__name__)

StartRun = Callable[[str, Trigger], RunRecord]


class Scheduler:
    """Checks for due tasks every ``interval`` seconds on a background thread."""

    def __init__(
        self,
        store: Store,
        start_run: StartRun,
        *,
        clock: Callable[[], datetime] = utcnow,
        interval: float = 5.0,
    ) -> None:
        self._store = store
        self._start_run = start_run
        self._clock = clock
        self._interval = interval
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> list[str]:
        """Start every due task once; returns the ids of the runs started."""
        now = self._clock()
        started: list[str] = []
        for task in self._store.due_tasks(now):
            run = self._fire(task, now)
            if run is not None:
                started.append(run.id)
        return started

    def _fire(self, task: TaskRecord, now: datetime) -> RunRecord | None:
        due = task.next_run_at
        assert due is not None
        following = next_run_after(task.schedule_type, task.schedule_expression, due)
        while following is not None and following <= now:
            following = next_run_after(task.schedule_type, task.schedule_expression, following)
        if not self._store.set_next_run(task.id, following, expected=due, check_expected=True):
            return None  # another scheduler claimed this slot
        active = self._store.active_run(task.id)
        if active is not None:
            self._store.append_log(
                active.id,
                "WARNING",
                f"scheduled run at {due.isoformat()} skipped: this run is still active",
            )
            return None
        try:
            return self._start_run(task.id, Trigger.SCHEDULE)
        except RunAlreadyActive:
            return None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._loop, name="ferry-scheduler", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("scheduler tick failed; retrying in %ss", self._interval)
            self._stopping.wait(self._interval)

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
