"""The distributed executor of ``ferry serve`` (``FERRY_EXECUTOR=celery``).

``submit`` plans the run in this process (select the images, record them as
pending units, create missing repositories: :func:`execute_run` with a
dispatch) and sends one ``imageferry.copy_batch`` message per batch to the
broker; ``ferry worker`` processes copy them, and the worker whose batch
completes the run ends it.

``cancel`` (a stop, already STOPPING in the store) revokes the batches this
process sent; a batch that is delivered anyway (sent by a previous server
process, or revoked too late) sees the stop and does nothing. A supervisor
thread ends the runs nobody else will: a STOPPING run once no unit is in
flight any more, and an IN_PROGRESS run whose every unit is final (its last
worker died between the batch and the end).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import time
from typing import TYPE_CHECKING

from imageferry.executor.base import Batch
from imageferry.executor.celery_app import TASK_NAME, broker_errors, check_broker, create_app
from imageferry.executor.local import LocalExecutor
from imageferry.store.errors import StoreError
from imageferry.store.status import RunStatus

if TYPE_CHECKING:
    import celery

    from imageferry.tasks.execution import RunDependencies

__all__ = ["SUPERVISE_SECONDS", "CeleryExecutor"]

log = logging.getLogger(__name__)

#: How often the server looks for runs to end (stopped ones, or complete ones left open).
SUPERVISE_SECONDS = 2.0


class CeleryExecutor:
    """Plans runs here, copies them on ``ferry worker`` processes through the broker."""

    def __init__(
        self,
        deps: RunDependencies,
        *,
        app: celery.Celery | None = None,
        supervise_every: float = SUPERVISE_SECONDS,
    ) -> None:
        from imageferry.tasks.execution import execute_run

        self._deps = deps
        self._app = app if app is not None else create_app(deps.settings)
        self._queue = deps.settings.queue
        self._planner = LocalExecutor(
            functools.partial(execute_run, deps=deps, dispatch=self._dispatch),
            name="ferry-planner",
        )
        self._sent: dict[str, list[str]] = {}
        self._lock = threading.Lock()
        self._every = supervise_every
        self._stopping = threading.Event()
        self._supervisor: threading.Thread | None = None

    async def _dispatch(self, run_id: str, batches: list[Batch]) -> None:
        for batch in batches:
            with broker_errors(self._deps.settings):
                sent = await asyncio.to_thread(
                    self._app.send_task,
                    TASK_NAME,
                    kwargs={"run_id": run_id, "unit_keys": batch.keys, "batch": batch.name},
                    queue=self._queue,
                )
            with self._lock:
                self._sent.setdefault(run_id, []).append(sent.id)
        units = sum(len(b.units) for b in batches)
        await asyncio.to_thread(
            self._deps.store.append_log,
            run_id,
            "INFO",
            f"{units} image(s) in {len(batches)} batch(es) queued for the workers",
        )

    def check_broker(self) -> None:
        """One line (ConfigError, BrokerUnavailable) unless the broker answers in time."""
        check_broker(self._app, self._deps.settings)

    def start(self) -> None:
        """Begin supervising; call once the runs of a previous process were submitted."""
        if self._supervisor is None:
            self._supervisor = threading.Thread(
                target=self._supervise, name="ferry-supervisor", daemon=True
            )
            self._supervisor.start()

    def submit(self, run_id: str) -> None:
        self._planner.submit(run_id)

    def cancel(self, run_id: str) -> bool:
        """Revoke the run's queued batches; it ends STOPPED once its workers let go."""
        planning = self._planner.cancel(run_id)  # then the planner ends it
        with self._lock:
            sent = self._sent.pop(run_id, [])
        if sent:
            self._app.control.revoke(sent)
        if not planning:
            self._end_if_complete(run_id)
        return True

    def wait(self, run_id: str, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._deps.store.get_run(run_id).status in (
            RunStatus.STARTING,
            RunStatus.IN_PROGRESS,
            RunStatus.STOPPING,
        ):
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.2)
        return True

    def running(self) -> list[str]:
        return [r.id for r in self._deps.store.active_runs()]

    def close(self) -> None:
        self._stopping.set()
        if self._supervisor is not None:
            self._supervisor.join(timeout=10)
        self._planner.close()

    def _supervise(self) -> None:
        while not self._stopping.wait(self._every):
            try:
                active = self._deps.store.active_runs()
            except StoreError as e:
                log.warning("supervising runs: %s", e)
                continue
            planning = set(self._planner.running())
            for run in active:
                if run.id not in planning:
                    self._end_if_complete(run.id)

    def _end_if_complete(self, run_id: str) -> None:
        from imageferry.tasks.batch import finish_if_complete

        try:
            finished = asyncio.run(finish_if_complete(run_id, self._deps))
        except StoreError as e:
            log.warning("ending run %s: %s", run_id, e)
            return
        if finished is not None:
            with self._lock:
                self._sent.pop(run_id, None)
