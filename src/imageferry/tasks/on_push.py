"""From push events to runs of ``ON_PUSH`` tasks: matched, debounced, idempotent.

A push often comes as several events (a registry notifies once per manifest
of an index, a CI job pushes two tags of one image, a sender retries after a
timeout). So:

* an event seen before (same sender id, or same image and digest within
  :data:`REMEMBER` seconds) is a duplicate and starts nothing;
* each task that wants a pushed image (:func:`imageferry.tasks.push_match.wants`)
  collects it for :data:`WINDOW` seconds after the first event; then one run
  starts, limited to the collected images;
* a task whose previous run is still active keeps its images and tries again
  one window later, so no push is lost while a run goes on.

Even a duplicate that slipped through copies nothing twice: the run finds the
image at the destination with the same digest and skips it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from imageferry.errors import FerryError
from imageferry.store import Store
from imageferry.store.base import MAX_PAGE
from imageferry.store.errors import RunAlreadyActive
from imageferry.store.records import RunRecord, TaskRecord
from imageferry.store.status import ScheduleType, Trigger
from imageferry.tasks.params import TaskSpec
from imageferry.tasks.push_events import PushEvent
from imageferry.tasks.push_match import wants

__all__ = ["REMEMBER", "WINDOW", "PushDispatcher", "PushReceipt"]

log = logging.getLogger(__name__)

#: Seconds a task collects pushed images before its run starts.
WINDOW = 2.0
#: Seconds an event is remembered, to recognise it when it comes again.
REMEMBER = 600.0
#: Events remembered at most (the oldest are forgotten first).
_MEMORY = 10_000

#: ``start(task_id, trigger, images)``: :meth:`TaskService.start`.
StartRun = Callable[[str, Trigger, Sequence[str]], RunRecord]


@dataclass(frozen=True, slots=True)
class PushReceipt:
    """What became of a delivery: events taken, duplicates dropped, tasks to run."""

    events: int
    duplicates: int
    tasks: tuple[str, ...]


class PushDispatcher:
    """Turns push events into runs of the ``ON_PUSH`` tasks that want them."""

    def __init__(
        self,
        store: Store,
        start: StartRun,
        *,
        window: float = WINDOW,
        remember: float = REMEMBER,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._start = start
        self._window = window
        self._remember = remember
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._pending: dict[str, dict[str, None]] = {}
        self._timers: dict[str, threading.Timer] = {}
        self._closed = False

    def receive(self, events: Sequence[PushEvent]) -> PushReceipt:
        """Take a delivery's events; runs start once each task's window has passed."""
        fresh = [e for e in events if self._first_time(e)]
        tasks = self._push_tasks() if fresh else []
        wanted: dict[str, list[str]] = {}
        for event in fresh:
            for task, spec in tasks:
                if wants(spec, event.image):
                    wanted.setdefault(task.id, []).append(str(event.image))
        for task_id, images in wanted.items():
            self._collect(task_id, images)
        return PushReceipt(len(fresh), len(events) - len(fresh), tuple(wanted))

    def _first_time(self, event: PushEvent) -> bool:
        keys = [f"id:{event.event_id}"] if event.event_id else []
        if event.digest:
            keys.append(f"image:{event.image}@{event.digest}")
        now = self._clock()
        with self._lock:
            while self._seen:
                oldest, at = next(iter(self._seen.items()))
                if now - at < self._remember and len(self._seen) <= _MEMORY:
                    break
                del self._seen[oldest]
            if any(k in self._seen for k in keys):
                return False
            for key in keys:
                self._seen[key] = now
        return True

    def _push_tasks(self) -> list[tuple[TaskRecord, TaskSpec]]:
        found: list[tuple[TaskRecord, TaskSpec]] = []
        offset = 0
        while True:
            page = self._store.list_tasks(offset=offset, limit=MAX_PAGE)
            for task in page.items:
                if task.schedule_type is ScheduleType.ON_PUSH:
                    found.append((task, TaskSpec.from_parameters(task.parameters)))
            offset += len(page.items)
            if not page.items or offset >= page.total:
                return found

    def _collect(self, task_id: str, images: Sequence[str]) -> None:
        with self._lock:
            if self._closed:
                return
            self._pending.setdefault(task_id, {}).update(dict.fromkeys(images))
            if task_id not in self._timers:
                self._arm(task_id)

    def _arm(self, task_id: str) -> None:
        timer = threading.Timer(self._window, self._fire, args=(task_id,))
        timer.daemon = True
        self._timers[task_id] = timer
        timer.start()

    def _fire(self, task_id: str) -> None:
        with self._lock:
            images = list(self._pending.pop(task_id, {}))
            self._timers.pop(task_id, None)
        if not images:
            return
        try:
            run = self._start(task_id, Trigger.PUSH, images)
            log.info(
                "run %s of task %s started for %d pushed image(s)", run.id, task_id, len(images)
            )
        except RunAlreadyActive:
            # Wait for the active run: the images go back, and are tried again later.
            self._collect(task_id, images)
        except FerryError as e:
            log.warning("starting task %s for %d pushed image(s): %s", task_id, len(images), e)
        except Exception:  # a defect: logged with its traceback, the server goes on
            log.exception("starting task %s for %d pushed image(s)", task_id, len(images))

    def close(self) -> None:
        """Cancel the waiting windows (their images are not copied by this process)."""
        with self._lock:
            self._closed = True
            timers = list(self._timers.values())
            self._timers.clear()
            self._pending.clear()
        for timer in timers:
            timer.cancel()
