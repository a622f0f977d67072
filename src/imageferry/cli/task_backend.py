"""Where ``ferry task`` commands send their work: the local store or a running server.

:class:`TaskBackend` names the task-service methods the commands use.
:class:`LocalTasks` (the embedded runtime on the local store) and
:class:`~imageferry.cli.remote.RemoteTasks` (``ferry serve``'s JSON API)
both provide them, so every command has one code path.

Two decisions about the local side, because a ``ferry serve`` or another
``ferry task run`` may share the same store:

* The CLI never calls ``Runtime.start()``: that marks *every* active run as
  interrupted, which is right for the process that owns the store at boot
  and wrong for a command run beside a live server.
* ``stop`` only asks (STOPPING). The process executing the run sees the
  request (``ferry task run`` polls for it, see :meth:`LocalTasks.honour_stop`)
  and ends the run STOPPED after abandoning its in-flight uploads. Only when no
  process has reacted within the grace period does :meth:`settle_stop` end the
  run in the store, as ``TaskService.stop`` does for runs nobody executes.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol

from imageferry.logfile import LOG_FILE_NAME, log_to_file
from imageferry.store.records import ImageResultRecord, LogRecord, Page, RunRecord, TaskRecord
from imageferry.store.status import (
    FINISHED_RUN_STATUSES,
    ImageStatus,
    RunStatus,
    TaskStatus,
    Trigger,
)
from imageferry.tasks.service import NoActiveRun

if TYPE_CHECKING:
    from imageferry.copy import PlannedImage
    from imageferry.runtime import Runtime

__all__ = ["LocalTasks", "TaskBackend", "open_backend"]


class TaskBackend(Protocol):
    """The task operations behind ``ferry task`` (TaskService's names and types)."""

    def create_task(self, parameters: Mapping[str, str], name: str | None = None) -> TaskRecord: ...

    def warnings(self, parameters: Mapping[str, str]) -> list[str]:
        """What a task with these parameters should be warned of (alarms nobody sends)."""

    def list_tasks(
        self,
        status: TaskStatus | Iterable[TaskStatus] | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> Page[TaskRecord]: ...

    def get_task(self, task_id: str) -> TaskRecord: ...

    def clone(
        self,
        task_id: str,
        overrides: Mapping[str, str] | None = None,
        name: str | None = None,
    ) -> TaskRecord: ...

    def delete(self, task_id: str) -> None: ...

    def start(self, task_id: str, trigger: Trigger = Trigger.MANUAL) -> RunRecord: ...

    def stop(self, task_id: str) -> RunRecord: ...

    def runs(self, task_id: str, offset: int = 0, limit: int = 50) -> Page[RunRecord]: ...

    def get_run(self, run_id: str) -> RunRecord: ...

    def latest_run(self, task_id: str) -> RunRecord | None: ...

    def latest_runs(self, task_ids: Iterable[str]) -> dict[str, RunRecord]:
        """The newest run of each task that has one (one request or query for a list)."""

    def image_results(
        self,
        run_id: str,
        search: str | None = None,
        status: ImageStatus | None = None,
        offset: int = 0,
        limit: int = 500,
    ) -> Page[ImageResultRecord]: ...

    def logs(self, run_id: str, after_id: int = 0, limit: int = 1000) -> list[LogRecord]: ...

    async def plan(self, task_id: str) -> tuple[list[PlannedImage], list[str]]: ...

    def honour_stop(self, run_id: str) -> None:
        """Act on a stop request for a run this process executes."""

    def settle_stop(self, run_id: str) -> RunRecord:
        """The run after a stop nobody acted on within the grace period."""

    def join(self, run_id: str) -> None:
        """Wait until a finished run's executor has let go of it (closing log lines)."""


class LocalTasks:
    """The task service of an embedded runtime, with the CLI's stop protocol.

    Everything but ``stop`` is :class:`~imageferry.tasks.service.TaskService`
    unchanged, delegated method by method so that mypy checks each signature.
    """

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.service = runtime.service

    def create_task(self, parameters: Mapping[str, str], name: str | None = None) -> TaskRecord:
        return self.service.create_task(parameters, name)

    def warnings(self, parameters: Mapping[str, str]) -> list[str]:
        return self.service.warnings(parameters)

    def list_tasks(
        self,
        status: TaskStatus | Iterable[TaskStatus] | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> Page[TaskRecord]:
        return self.service.list_tasks(status, offset, limit)

    def get_task(self, task_id: str) -> TaskRecord:
        return self.service.get_task(task_id)

    def clone(
        self,
        task_id: str,
        overrides: Mapping[str, str] | None = None,
        name: str | None = None,
    ) -> TaskRecord:
        return self.service.clone(task_id, overrides, name)

    def delete(self, task_id: str) -> None:
        self.service.delete(task_id)

    def start(self, task_id: str, trigger: Trigger = Trigger.MANUAL) -> RunRecord:
        """Commit a run and execute it in this process's executor (in the background
        thread; the caller waits for it, see :mod:`imageferry.cli.task_follow`)."""
        return self.service.start(task_id, trigger)

    def stop(self, task_id: str) -> RunRecord:
        """Ask the task's active run to stop (STOPPING); see the module docstring."""
        store = self.runtime.store
        run = store.active_run(task_id)
        if run is None:
            store.get_task(task_id)  # TaskNotFound first, when that is the problem
            raise NoActiveRun(task_id)
        if run.status is not RunStatus.STOPPING:
            run = store.request_stop(run.id)
        self.honour_stop(run.id)
        return run

    def honour_stop(self, run_id: str) -> None:
        """Cancel the run if this process executes it (a no-op otherwise)."""
        self.runtime.executor.cancel(run_id)

    def settle_stop(self, run_id: str) -> RunRecord:
        """End a STOPPING run no process has ended: nobody executes it any more."""
        run = self.runtime.store.get_run(run_id)
        if run.status in FINISHED_RUN_STATUSES:
            return run
        return self.runtime.store.finish_run(run_id)

    def join(self, run_id: str) -> None:
        self.runtime.executor.wait(run_id, timeout=60)

    def runs(self, task_id: str, offset: int = 0, limit: int = 50) -> Page[RunRecord]:
        return self.service.runs(task_id, offset, limit)

    def get_run(self, run_id: str) -> RunRecord:
        return self.service.get_run(run_id)

    def latest_run(self, task_id: str) -> RunRecord | None:
        return self.service.latest_run(task_id)

    def latest_runs(self, task_ids: Iterable[str]) -> dict[str, RunRecord]:
        return self.service.latest_runs(task_ids)

    def image_results(
        self,
        run_id: str,
        search: str | None = None,
        status: ImageStatus | None = None,
        offset: int = 0,
        limit: int = 500,
    ) -> Page[ImageResultRecord]:
        return self.service.image_results(run_id, search, status, offset, limit)

    def logs(self, run_id: str, after_id: int = 0, limit: int = 1000) -> list[LogRecord]:
        return self.service.logs(run_id, after_id, limit)

    async def plan(self, task_id: str) -> tuple[list[PlannedImage], list[str]]:
        return await self.service.plan(task_id)


@contextmanager
def open_backend(server: str | None, token: str | None) -> Iterator[TaskBackend]:
    """``RemoteTasks`` when ``server`` is given, else the embedded runtime on the local store."""
    if server:
        from imageferry.cli.remote import RemoteTasks

        with RemoteTasks(server, token or "") as remote:
            yield remote
        return

    from imageferry.runtime import Runtime
    from imageferry.settings import load_settings

    settings = load_settings()  # ConfigError for a variable that does not validate
    # Runs execute in this process: the log (a defect's traceback) goes to a
    # file, and the terminal gets one line per problem.
    with log_to_file(settings.data_dir / LOG_FILE_NAME) as log_path:
        runtime = Runtime(settings, log_location=str(log_path))
        # Everything loaded so far (the store, the copy engine, their libraries) lives
        # as long as this command: sparing it from every garbage collection saves a
        # local run about a fifth of its CPU.
        gc.freeze()
        try:
            yield LocalTasks(runtime)
        finally:
            runtime.stop()
