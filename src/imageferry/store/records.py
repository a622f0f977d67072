"""Plain frozen values the store hands out instead of live ORM objects.

Callers (CLI, API, scheduler, executor) keep these after the session is gone,
so they never meet a detached-instance error, and they cannot change the
database by mutating an attribute by accident.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

from imageferry.store import models
from imageferry.store.status import ImageStatus, RunStatus, ScheduleType, TaskStatus, Trigger

__all__ = [
    "ApiTokenRecord",
    "ImageResultRecord",
    "LogRecord",
    "NewApiToken",
    "Page",
    "RunRecord",
    "TaskRecord",
    "UserRecord",
    "api_token_record",
    "image_result_record",
    "log_record",
    "run_record",
    "task_record",
    "user_record",
]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing and the total number of matching rows."""

    items: tuple[T, ...]
    total: int
    offset: int
    limit: int

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


@dataclass(frozen=True, slots=True)
class TaskRecord:
    id: str
    name: str
    parameters: Mapping[str, str]
    status: TaskStatus
    schedule_type: ScheduleType
    schedule_expression: str
    next_run_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class RunRecord:
    id: str
    task_id: str
    number: int
    status: RunStatus
    trigger: Trigger
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    images_total: int
    images_copied: int
    images_skipped: int
    images_failed: int
    #: Finished units in any way (copied + skipped + failed): the progress numerator.
    images_done: int
    bytes_transferred: int
    bytes_reused: int
    error: str
    executor_id: str
    heartbeat_at: datetime | None
    #: Bytes of the run's results and log lines in the store, once it has ended (else 0).
    store_bytes: int = 0
    #: The source images this run is limited to (a push's); empty: the task's selection.
    images: tuple[str, ...] = ()

    @property
    def seconds(self) -> float | None:
        """Wall-clock duration, once the run has both started and ended."""
        if self.started_at is None or self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()


@dataclass(frozen=True, slots=True)
class ImageResultRecord:
    run_id: str
    unit_key: str
    source: str
    destination: str
    digest: str
    status: ImageStatus
    bytes_transferred: int
    bytes_reused: int
    seconds: float
    attempts: int
    error: str
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class LogRecord:
    run_id: str
    #: 1, 2, 3 ... within the run; pass the last one seen as ``after_id`` to follow.
    seq: int
    ts: datetime
    level: str
    message: str


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: int
    username: str
    is_admin: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ApiTokenRecord:
    id: str
    username: str
    name: str
    created_at: datetime
    last_used_at: datetime | None


@dataclass(frozen=True, slots=True)
class NewApiToken:
    """A freshly created token. ``plaintext`` exists only here, once; it is not in the repr."""

    record: ApiTokenRecord
    plaintext: str = field(repr=False)


def task_record(row: models.Task) -> TaskRecord:
    return TaskRecord(
        id=row.id,
        name=row.name,
        parameters=dict(row.parameters),
        status=TaskStatus(row.status),
        schedule_type=ScheduleType(row.schedule_type),
        schedule_expression=row.schedule_expression,
        next_run_at=row.next_run_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def run_record(row: models.Run) -> RunRecord:
    return RunRecord(
        id=row.id,
        task_id=row.task_id,
        number=row.number,
        status=RunStatus(row.status),
        trigger=Trigger(row.trigger),
        created_at=row.created_at,
        started_at=row.started_at,
        ended_at=row.ended_at,
        images_total=row.images_total,
        images_copied=row.images_copied,
        images_skipped=row.images_skipped,
        images_failed=row.images_failed,
        images_done=row.images_done,
        bytes_transferred=row.bytes_transferred,
        bytes_reused=row.bytes_reused,
        error=row.error,
        executor_id=row.executor_id,
        heartbeat_at=row.heartbeat_at,
        store_bytes=row.store_bytes,
        images=tuple(row.images or ()),
    )


def image_result_record(row: models.ImageResult) -> ImageResultRecord:
    return ImageResultRecord(
        run_id=row.run_id,
        unit_key=row.unit_key,
        source=row.source,
        destination=row.destination,
        digest=row.digest,
        status=ImageStatus(row.status),
        bytes_transferred=row.bytes_transferred,
        bytes_reused=row.bytes_reused,
        seconds=row.seconds,
        attempts=row.attempts,
        error=row.error,
        updated_at=row.updated_at,
    )


def log_record(row: models.LogLine) -> LogRecord:
    return LogRecord(
        run_id=row.run_id, seq=row.seq, ts=row.ts, level=row.level, message=row.message
    )


def user_record(row: models.User) -> UserRecord:
    return UserRecord(
        id=row.id, username=row.username, is_admin=row.is_admin, created_at=row.created_at
    )


def api_token_record(row: models.ApiToken, username: str) -> ApiTokenRecord:
    return ApiTokenRecord(
        id=row.id,
        username=username,
        name=row.name,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
    )
