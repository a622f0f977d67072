"""Status vocabularies of tasks, runs and per-image results.

Run statuses are the reference's (Data Transfer Hub shows STARTING,
IN_PROGRESS, DONE, STOPPING, STOPPED, ERROR), but truthful: a run with failed
images ends in ERROR instead of staying "In Progress" (REFERENCE.md, defect 7).

A task's status mirrors the status of its latest run. A task that has never
run is ``CREATED``: the one neutral state we add, because claiming STARTING
for a task that nothing is starting would be a lie.

Per-image statuses are those of ``ferry copy`` (copied, skipped, failed) plus
the two bookkeeping states a run needs while it works (pending, running).
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "ACTIVE_RUN_STATUSES",
    "FINISHED_IMAGE_STATUSES",
    "FINISHED_RUN_STATUSES",
    "ImageStatus",
    "RunStatus",
    "ScheduleType",
    "TaskStatus",
    "Trigger",
]


class RunStatus(StrEnum):
    """The life of one run; values are stored as-is in the database."""

    STARTING = "STARTING"
    IN_PROGRESS = "IN_PROGRESS"
    DONE = "DONE"
    STOPPING = "STOPPING"
    STOPPED = "STOPPED"
    ERROR = "ERROR"


class TaskStatus(StrEnum):
    """A task's status: its latest run's, or CREATED before its first run."""

    CREATED = "CREATED"
    STARTING = "STARTING"
    IN_PROGRESS = "IN_PROGRESS"
    DONE = "DONE"
    STOPPING = "STOPPING"
    STOPPED = "STOPPED"
    ERROR = "ERROR"


class ImageStatus(StrEnum):
    """One work unit (one image copy) inside a run."""

    PENDING = "pending"
    RUNNING = "running"
    COPIED = "copied"
    SKIPPED = "skipped"
    FAILED = "failed"


class Trigger(StrEnum):
    """Why a run exists: a user action, the scheduler, or ``ferry task run``."""

    MANUAL = "manual"
    SCHEDULE = "schedule"
    CLI = "cli"
    #: A registry's push event (``scheduleType=ON_PUSH``).
    PUSH = "push"


class ScheduleType(StrEnum):
    """How a task is scheduled: ONE_TIME, FIXED_RATE (the reference's daily run), CRON,
    or ON_PUSH (a run per push event of a matching image, no timed runs)."""

    ONE_TIME = "ONE_TIME"
    FIXED_RATE = "FIXED_RATE"
    CRON = "CRON"
    ON_PUSH = "ON_PUSH"


#: A run in one of these holds the task: no second run may start.
ACTIVE_RUN_STATUSES: frozenset[RunStatus] = frozenset(
    {RunStatus.STARTING, RunStatus.IN_PROGRESS, RunStatus.STOPPING}
)
FINISHED_RUN_STATUSES: frozenset[RunStatus] = frozenset(
    {RunStatus.DONE, RunStatus.STOPPED, RunStatus.ERROR}
)
FINISHED_IMAGE_STATUSES: frozenset[ImageStatus] = frozenset(
    {ImageStatus.COPIED, ImageStatus.SKIPPED, ImageStatus.FAILED}
)
