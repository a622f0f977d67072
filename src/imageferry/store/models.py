"""ORM models of the store (SQLAlchemy 2.0 typed declarative).

The schema itself is created by the Alembic migrations next to this module
(``migrations/versions``); these classes must stay in step with them, which
``tests/unit/store/test_migrate.py`` checks by diffing the two.

Statuses are stored as their string values (``VARCHAR``), not as native
enum types, so that adding a status is a plain migration on both SQLite and
PostgreSQL. Timestamps are stored in UTC and always come back timezone-aware.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from imageferry.store.columns import UTCDateTime
from imageferry.store.status import ImageStatus, RunStatus, ScheduleType, TaskStatus, Trigger

__all__ = [
    "ACTIVE_RUN_SQL",
    "ApiToken",
    "Base",
    "Deployment",
    "ImageResult",
    "LogLine",
    "Run",
    "Task",
    "User",
]

#: The partial-index predicate that makes overlapping runs impossible in the
#: database itself, shared with the migration.
ACTIVE_RUN_SQL = "status IN ('STARTING', 'IN_PROGRESS', 'STOPPING')"


def _now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map: dict[Any, Any] = {datetime: UTCDateTime()}


class Task(Base):
    """A transfer task: the reference's parameters plus a schedule."""

    __tablename__ = "tasks"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    #: The task spec as given: credential *names* only, never secret values.
    parameters: Mapped[dict[str, str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default=TaskStatus.CREATED.value, index=True)
    schedule_type: Mapped[str] = mapped_column(String(16), default=ScheduleType.ONE_TIME.value)
    schedule_expression: Mapped[str] = mapped_column(String(200), default="")
    next_run_at: Mapped[datetime | None] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=_now, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=_now, onupdate=_now)


class Run(Base):
    """One execution of a task, with counters kept in step with its image results."""

    __tablename__ = "runs"
    __table_args__ = (
        UniqueConstraint("task_id", "number", name="uq_runs_task_number"),
        Index(
            "uq_runs_one_active_per_task",
            "task_id",
            unique=True,
            sqlite_where=text(ACTIVE_RUN_SQL),
            postgresql_where=text(ACTIVE_RUN_SQL),
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    task_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("tasks.id", ondelete="CASCADE"), index=True
    )
    #: 1, 2, 3 ... within the task: "run #3" in the console.
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=RunStatus.STARTING.value)
    trigger: Mapped[str] = mapped_column(String(16), default=Trigger.MANUAL.value)
    created_at: Mapped[datetime] = mapped_column(default=_now)
    started_at: Mapped[datetime | None] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()
    images_total: Mapped[int] = mapped_column(Integer, default=0)
    images_copied: Mapped[int] = mapped_column(Integer, default=0)
    images_skipped: Mapped[int] = mapped_column(Integer, default=0)
    images_failed: Mapped[int] = mapped_column(Integer, default=0)
    images_done: Mapped[int] = mapped_column(Integer, default=0)
    bytes_transferred: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_reused: Mapped[int] = mapped_column(BigInteger, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    executor_id: Mapped[str] = mapped_column(String(200), default="")
    heartbeat_at: Mapped[datetime | None] = mapped_column()
    #: Sequence number of the run's last log line, so appends stay ordered.
    log_seq: Mapped[int] = mapped_column(Integer, default=0)
    #: What the run's results and log lines take in the store, set when it ends
    #: (see :func:`imageferry.store.runs.store_bytes`).
    store_bytes: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    #: The source images a run is limited to (a push event's), or None: the task's selection.
    images: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)


class ImageResult(Base):
    """The outcome of one work unit; unique per (run, unit key) so recording is an upsert."""

    __tablename__ = "image_results"
    __table_args__ = (
        UniqueConstraint("run_id", "unit_key", name="uq_image_results_run_unit"),
        Index("ix_image_results_run_status", "run_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(32), ForeignKey("runs.id", ondelete="CASCADE"))
    unit_key: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(1000))
    destination: Mapped[str] = mapped_column(String(1000))
    digest: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[str] = mapped_column(String(16), default=ImageStatus.PENDING.value)
    bytes_transferred: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_reused: Mapped[int] = mapped_column(BigInteger, default=0)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=_now, onupdate=_now)


class LogLine(Base):
    """One line of a run's log; ``seq`` counts from 1 within the run, for follow-by-seq."""

    __tablename__ = "log_lines"
    __table_args__ = (UniqueConstraint("run_id", "seq", name="uq_log_lines_run_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(32), ForeignKey("runs.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    ts: Mapped[datetime] = mapped_column(default=_now)
    level: Mapped[str] = mapped_column(String(16), default="info")
    message: Mapped[str] = mapped_column(Text)


class User(Base):
    """A console user. Only a salted scrypt hash of the password is kept."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(150), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=_now)


class ApiToken(Base):
    """An API token for the CLI and automation; only its SHA-256 is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=_now)
    last_used_at: Mapped[datetime | None] = mapped_column()


class Deployment(Base):
    """Where a task is deployed besides the local store: its AWS CloudFormation stack."""

    __tablename__ = "deployments"

    task_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True
    )
    #: "aws", the one target so far.
    target: Mapped[str] = mapped_column(String(16))
    stack_name: Mapped[str] = mapped_column(String(128))
    region: Mapped[str] = mapped_column(String(32))
    stack_id: Mapped[str] = mapped_column(String(400))
    worker_count: Mapped[int] = mapped_column(Integer)
    image_uri: Mapped[str] = mapped_column(String(1000))
    deployed_at: Mapped[datetime] = mapped_column(default=_now)
