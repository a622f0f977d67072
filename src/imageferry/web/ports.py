"""What the console needs from the rest of imageferry, as structural types.

The console is thin: every decision about tasks and runs belongs to the task
service, every decision about users and tokens to the store. Naming the exact
methods used here keeps the routes honest about their dependencies and lets
the app factory take the real objects (or, in a test, a real store with a
different service) without the routes knowing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from imageferry.copy import PlannedImage
from imageferry.executor.workers import WorkersSnapshot
from imageferry.store.records import (
    ImageResultRecord,
    LogRecord,
    NewApiToken,
    Page,
    RunRecord,
    TaskRecord,
    UserRecord,
)
from imageferry.store.status import ImageStatus, TaskStatus, Trigger
from imageferry.tasks.on_push import PushReceipt
from imageferry.tasks.push_events import PushEvent

__all__ = ["Accounts", "Runtime", "TaskServicePort", "WorkersPort"]


class TaskServicePort(Protocol):
    """The task operations that the console exposes.

    :class:`imageferry.tasks.service.TaskService` provides exactly these.
    """

    def create_task(self, parameters: Mapping[str, str], name: str | None = None) -> TaskRecord:
        """Validate and store a task; raises ``TaskSpecError`` with every problem."""

    def warnings(self, parameters: Mapping[str, str]) -> list[str]:
        """What a task with these parameters should be warned of (alarms nobody sends)."""

    def list_tasks(
        self,
        status: TaskStatus | Iterable[TaskStatus] | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> Page[TaskRecord]: ...

    def get_task(self, task_id: str) -> TaskRecord: ...

    def start(self, task_id: str, trigger: Trigger = Trigger.MANUAL) -> RunRecord: ...

    def stop(self, task_id: str) -> RunRecord: ...

    def receive_pushes(self, events: Sequence[PushEvent]) -> PushReceipt:
        """Runs of the ON_PUSH tasks that want these pushed images, after a short debounce."""

    def clone(
        self, task_id: str, overrides: Mapping[str, str] | None = None, name: str | None = None
    ) -> TaskRecord: ...

    def delete(self, task_id: str) -> None: ...

    def runs(self, task_id: str, offset: int = 0, limit: int = 50) -> Page[RunRecord]:
        """The task's runs, newest first."""

    def latest_run(self, task_id: str) -> RunRecord | None: ...

    def latest_runs(self, task_ids: Iterable[str]) -> dict[str, RunRecord]:
        """The newest run of each task that has one, in one query."""

    def get_run(self, run_id: str) -> RunRecord: ...

    def image_results(
        self,
        run_id: str,
        search: str | None = None,
        status: ImageStatus | None = None,
        offset: int = 0,
        limit: int = 500,
    ) -> Page[ImageResultRecord]: ...

    def logs(self, run_id: str, after_id: int = 0, limit: int = 1000) -> Sequence[LogRecord]: ...

    async def plan(self, task_id: str) -> tuple[list[PlannedImage], list[str]]:
        """What a run would copy now, with reads only (the server's registries and secrets)."""


class Accounts(Protocol):
    """Console users and API tokens, kept by the store.

    :class:`imageferry.store.Store` provides exactly these methods.
    """

    def count_users(self) -> int: ...

    def create_user(
        self, username: str, password: str, *, is_admin: bool = False
    ) -> UserRecord: ...

    def verify_password(self, username: str, password: str) -> UserRecord | None: ...

    def get_user(self, username: str) -> UserRecord:
        """The user, or ``UserNotFound``."""

    def create_api_token(self, username: str, name: str) -> NewApiToken: ...

    def verify_api_token(self, plaintext: str) -> UserRecord | None: ...


class Runtime(Protocol):
    """The embedded scheduler and executor ``ferry serve`` runs beside the console."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


class WorkersPort(Protocol):
    """The distributed mode's workers and queues, as the console shows them.

    :class:`imageferry.executor.workers.WorkerMonitor` provides it (cached broadcasts).
    """

    def snapshot(self) -> WorkersSnapshot: ...
