"""Tasks: create, read, list with paging and status filter, update, delete, schedule.

A task holds its parameters exactly as the user gave them (the reference's
parameter table), with credential *names* only. Clone is
``create_task(old.parameters | overrides)`` at the caller.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import func, select, update

from imageferry.errors import ConfigError
from imageferry.store import models
from imageferry.store.base import StoreBase, page_bounds
from imageferry.store.errors import TaskBusy
from imageferry.store.ids import new_task_id
from imageferry.store.records import Page, TaskRecord, task_record
from imageferry.store.status import ACTIVE_RUN_STATUSES, ScheduleType, TaskStatus

__all__ = ["TaskService", "check_parameters"]

# Parameter names that would hold a secret value rather than the name of one.
_SECRET_KEY = re.compile(r"(password|passwd|secret_?access_?key|secret_?key|token|api_?key)", re.I)


def check_parameters(parameters: Mapping[str, str]) -> dict[str, str]:
    """A copy of ``parameters`` after checking they can be stored.

    The store keeps credential names (``srcCredential=my-ecr``), never values:
    a parameter whose name says it carries a secret is refused.
    """
    checked: dict[str, str] = {}
    for key, value in parameters.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise ConfigError(
                f"task parameter {key!r} must map a string to a string, got {type(value).__name__}"
            )
        if _SECRET_KEY.search(key):
            raise ConfigError(
                f"task parameter {key!r} looks like a secret value; tasks keep credential "
                "names only: store the value with `ferry secret put NAME` and pass "
                "srcCredential=NAME or destCredential=NAME"
            )
        checked[key] = value
    return checked


class TaskService(StoreBase):
    """Task methods of :class:`imageferry.store.Store`."""

    def create_task(
        self,
        parameters: Mapping[str, str],
        *,
        name: str = "",
        schedule_type: ScheduleType = ScheduleType.ONE_TIME,
        schedule_expression: str = "",
        next_run_at: datetime | None = None,
    ) -> TaskRecord:
        """Store a new task in status CREATED and return it with its new id."""
        checked = check_parameters(parameters)
        now = self._now()
        with self._write() as session:
            row = models.Task(
                id=new_task_id(),
                name=name,
                parameters=checked,
                status=TaskStatus.CREATED.value,
                schedule_type=ScheduleType(schedule_type).value,
                schedule_expression=schedule_expression,
                next_run_at=next_run_at,
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            session.flush()
            return task_record(row)

    def get_task(self, task_id: str) -> TaskRecord:
        """The task, or :class:`TaskNotFound`."""
        with self._read() as session:
            return task_record(self._task_row(session, task_id))

    def list_tasks(
        self,
        *,
        status: TaskStatus | Iterable[TaskStatus] | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> Page[TaskRecord]:
        """Tasks newest first, optionally only those in the given status(es)."""
        offset, limit = page_bounds(offset, limit)
        query = select(models.Task)
        if status is not None:
            wanted = [status] if isinstance(status, TaskStatus) else list(status)
            query = query.where(models.Task.status.in_([TaskStatus(s).value for s in wanted]))
        with self._read() as session:
            total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = session.scalars(
                query.order_by(models.Task.created_at.desc(), models.Task.id.desc())
                .offset(offset)
                .limit(limit)
            )
            return Page(tuple(task_record(r) for r in rows), total, offset, limit)

    def update_task(
        self,
        task_id: str,
        *,
        name: str | None = None,
        parameters: Mapping[str, str] | None = None,
        schedule_type: ScheduleType | None = None,
        schedule_expression: str | None = None,
    ) -> TaskRecord:
        """Change what is given, leave the rest."""
        checked = check_parameters(parameters) if parameters is not None else None
        with self._write() as session:
            row = self._task_row(session, task_id, lock=True)
            if name is not None:
                row.name = name
            if checked is not None:
                row.parameters = checked
            if schedule_type is not None:
                row.schedule_type = ScheduleType(schedule_type).value
            if schedule_expression is not None:
                row.schedule_expression = schedule_expression
            row.updated_at = self._now()
            session.flush()
            return task_record(row)

    def update_task_status(self, task_id: str, status: TaskStatus) -> TaskRecord:
        """Set the task's status directly.

        Runs keep it in step themselves; this is for callers that decide a
        task-level state without a run (e.g. a validation failure at start).
        """
        with self._write() as session:
            row = self._task_row(session, task_id, lock=True)
            row.status = TaskStatus(status).value
            row.updated_at = self._now()
            session.flush()
            return task_record(row)

    def delete_task(self, task_id: str) -> None:
        """Delete the task with its runs, results and logs; refuse while a run is active."""
        with self._write() as session:
            row = self._task_row(session, task_id, lock=True)
            active = session.scalar(
                select(models.Run.id).where(
                    models.Run.task_id == task_id,
                    models.Run.status.in_([s.value for s in ACTIVE_RUN_STATUSES]),
                )
            )
            if active is not None:
                raise TaskBusy(task_id, active)
            session.delete(row)

    def due_tasks(self, now: datetime, *, limit: int = 100) -> list[TaskRecord]:
        """Tasks whose ``next_run_at`` has come, earliest first."""
        with self._read() as session:
            rows = session.scalars(
                select(models.Task)
                .where(models.Task.next_run_at.is_not(None), models.Task.next_run_at <= now)
                .order_by(models.Task.next_run_at, models.Task.id)
                .limit(limit)
            )
            return [task_record(r) for r in rows]

    def set_next_run(
        self,
        task_id: str,
        when: datetime | None,
        *,
        expected: datetime | None = None,
        check_expected: bool = False,
    ) -> bool:
        """Set (or clear, with None) when the scheduler should next start the task.

        With ``check_expected=True`` this is a compare-and-set: it only changes
        a task whose ``next_run_at`` still equals ``expected``, and returns
        False otherwise. Two schedulers sharing a Postgres store use it to
        claim a due task exactly once.
        """
        query = update(models.Task).where(models.Task.id == task_id)
        if check_expected:
            query = query.where(
                models.Task.next_run_at.is_(None)
                if expected is None
                else models.Task.next_run_at == expected
            )
        with self._write() as session:
            result = session.execute(
                query.values(next_run_at=when, updated_at=self._now()),
                execution_options={"synchronize_session": False},
            )
            changed = bool(getattr(result, "rowcount", 0))
            if not changed and not check_expected:
                self._task_row(session, task_id)  # raises TaskNotFound
            return changed
