"""Errors of the store, subclasses of the documented tree in :mod:`imageferry.errors`.

::

    FerryError
    └── StoreError                  the task store cannot do what was asked
        ├── StoreUnavailable        the database cannot be reached or migrated
        ├── TaskNotFound
        ├── RunNotFound
        ├── RunAlreadyActive        a run of this task is still going (no overlap)
        ├── TaskBusy                the task has an active run; stop it first
        ├── RunFinished             the run already ended; its status is final
        ├── UserExists
        └── UserNotFound
"""

from __future__ import annotations

from imageferry.errors import FerryError

__all__ = [
    "RunAlreadyActive",
    "RunFinished",
    "RunNotFound",
    "StoreError",
    "StoreUnavailable",
    "TaskBusy",
    "TaskNotFound",
    "UserExists",
    "UserNotFound",
]


class StoreError(FerryError):
    """The task store refused or failed an operation."""


class StoreUnavailable(StoreError):
    """The database could not be opened, reached or migrated.

    The message names the database with its password masked.
    """


class TaskNotFound(StoreError):
    def __init__(self, task_id: str) -> None:
        super().__init__(f"task {task_id!r} not found; `ferry task list` shows the tasks")
        self.task_id = task_id


class RunNotFound(StoreError):
    def __init__(self, run_id: str) -> None:
        super().__init__(f"run {run_id!r} not found; `ferry task show TASK` lists its runs")
        self.run_id = run_id


class RunAlreadyActive(StoreError):
    """A run never overlaps the previous run of the same task: one is still active."""

    def __init__(self, task_id: str, active_run_id: str) -> None:
        super().__init__(
            f"task {task_id!r} already has an active run {active_run_id!r}; "
            f"wait for it to finish or stop it with `ferry task stop {task_id}`"
        )
        self.task_id = task_id
        self.active_run_id = active_run_id


class TaskBusy(StoreError):
    def __init__(self, task_id: str, active_run_id: str) -> None:
        super().__init__(
            f"task {task_id!r} has an active run {active_run_id!r}; "
            f"stop it first with `ferry task stop {task_id}`"
        )
        self.task_id = task_id
        self.active_run_id = active_run_id


class RunFinished(StoreError):
    def __init__(self, run_id: str, status: str) -> None:
        super().__init__(f"run {run_id!r} already ended with status {status}; start a new run")
        self.run_id = run_id
        self.status = status


class UserExists(StoreError):
    def __init__(self, username: str) -> None:
        super().__init__(f"user {username!r} already exists; choose another name")
        self.username = username


class UserNotFound(StoreError):
    def __init__(self, username: str) -> None:
        super().__init__(f"user {username!r} not found")
        self.username = username
