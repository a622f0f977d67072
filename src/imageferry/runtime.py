"""The embedded default: store + local executor + scheduler, in one process.

``ferry serve`` runs this with the web console; ``ferry task run`` uses the
same pieces in the foreground. With ``FERRY_EXECUTOR=celery`` the executor
plans runs here and ``ferry worker`` processes copy them. Start-up takes over the runs a previous
process left behind: those asked to stop end STOPPED, the others are handed to
the executor again and go on with their pending images. Then the schedules
resume from the store.
"""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING

from imageferry.executor.local import LocalExecutor
from imageferry.settings import Settings
from imageferry.store import Store, open_store
from imageferry.tasks.execution import RunDependencies, execute_run
from imageferry.tasks.scheduler import Scheduler
from imageferry.tasks.service import TaskService

if TYPE_CHECKING:
    from imageferry.alarms.base import Notifier
    from imageferry.executor.base import Executor
    from imageferry.executor.celery import CeleryExecutor
    from imageferry.secrets.base import SecretStore

__all__ = ["Runtime"]

log = logging.getLogger(__name__)


class Runtime:
    """Everything a running imageferry needs, wired once."""

    def __init__(
        self,
        settings: Settings,
        *,
        store: Store | None = None,
        secrets: SecretStore | None = None,
        notifier: Notifier | None = None,
        scheduler_interval: float = 5.0,
        retry_delay: float = 2.0,
        log_location: str = "the server log",
    ) -> None:
        from imageferry.alarms.factory import open_notifier
        from imageferry.secrets.factory import open_secret_store

        self.settings = settings
        self.store = store if store is not None else open_store(settings)
        self._owns_store = store is None
        self.secrets = secrets if secrets is not None else open_secret_store(settings)
        self.notifier = notifier if notifier is not None else open_notifier(settings)
        self.deps = RunDependencies(
            self.store,
            settings,
            self.secrets,
            self.notifier,
            retry_delay=retry_delay,
            log_location=log_location,
        )
        self.executor: Executor
        self._celery: CeleryExecutor | None = None
        if settings.executor == "celery":
            from imageferry.executor.celery import CeleryExecutor

            self._celery = self.executor = CeleryExecutor(self.deps)
        else:
            self.executor = LocalExecutor(functools.partial(execute_run, deps=self.deps))
        self.service = TaskService(
            self.store, self.executor, settings=settings, secrets=self.secrets
        )
        self.scheduler = Scheduler(self.store, self.service.start, interval=scheduler_interval)

    def start(self, *, schedules: bool = True) -> None:
        if self._celery is not None:
            self._celery.check_broker()  # before any run is taken over and queued
        stopped = self.store.mark_interrupted_runs(stopping_only=True)
        if stopped:
            log.warning("ended %d run(s) a previous process was stopping", len(stopped))
        for run in self.store.resume_interrupted_runs():
            log.warning("resuming run %s of task %s after a restart", run.id, run.task_id)
            self.executor.submit(run.id)
        if self._celery is not None:
            self._celery.start()
        if schedules:
            self.scheduler.start()

    def stop(self) -> None:
        self.scheduler.stop()
        self.service.pushes.close()
        self.executor.close()
        if self._owns_store:
            self.store.close()

    def __enter__(self) -> Runtime:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
