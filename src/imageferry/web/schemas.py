"""Pydantic models of the JSON API: what goes in and out of ``/api``.

Responses are built from the store's frozen records by the ``from_*``
functions below, field by field, so that nothing reaches a client by
accident. Task parameters hold credential *names* only;
secret values have no field anywhere in this module.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from imageferry.copy import PlannedImage
from imageferry.ecr.hosts import parse_registry_host
from imageferry.errors import InvalidReference
from imageferry.store.records import (
    ImageResultRecord,
    LogRecord,
    RunRecord,
    TaskRecord,
)
from imageferry.store.status import ACTIVE_RUN_STATUSES
from imageferry.tasks.params import parse_image_entry, split_image_list

__all__ = [
    "CloneRequest",
    "CreateTaskRequest",
    "CreatedTaskOut",
    "ImageResultOut",
    "ImageResultsOut",
    "LogLineOut",
    "LogsOut",
    "MetricsSummary",
    "PlanOut",
    "PlannedImageOut",
    "ProblemOut",
    "ProblemsOut",
    "RunOut",
    "RunPageOut",
    "SecretNamesOut",
    "SecretPutRequest",
    "StartRequest",
    "TaskDetailOut",
    "TaskOut",
    "TaskPageOut",
    "TokenOut",
    "TokenRequest",
    "ValidationOut",
    "destination_label",
    "engine_label",
    "image_result_out",
    "log_line_out",
    "plan_out",
    "run_out",
    "schedule_label",
    "source_label",
    "task_out",
]


class ProblemOut(BaseModel):
    """One invalid parameter and how to fix it (the CLI's message, word for word)."""

    parameter: str
    message: str


class ProblemsOut(BaseModel):
    """The 422 body of task creation: every problem at once."""

    detail: str
    error: str = "TaskSpecError"
    problems: list[ProblemOut]


class ValidationOut(BaseModel):
    valid: bool
    problems: list[ProblemOut]
    #: What the task should know but that does not stop it, one sentence each
    #: (an alarmEmail while no alarm backend is configured).
    warnings: list[str] = Field(default_factory=list)
    #: The parameters as they would be stored (canonical spelling), when valid.
    parameters: dict[str, str] = Field(default_factory=dict)


class CreateTaskRequest(BaseModel):
    """The reference's parameters by name (``srcList``, ``destRegion`` ...), as strings."""

    parameters: dict[str, str]
    name: str | None = None


class CloneRequest(BaseModel):
    overrides: dict[str, str] = Field(default_factory=dict)
    #: The new task's name; default "<original> (clone)".
    name: str | None = None


class StartRequest(BaseModel):
    """Why the run is started: a user in the console or the API (``manual``, the
    default), or ``ferry task run`` following it in a terminal (``cli``).
    ``schedule`` is the scheduler's alone."""

    trigger: Literal["manual", "cli"] = "manual"


class RunOut(BaseModel):
    id: str
    task_id: str
    number: int
    status: str
    trigger: str
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    seconds: float | None
    images_total: int
    images_done: int
    images_copied: int
    images_skipped: int
    images_failed: int
    bytes_transferred: int
    bytes_reused: int
    error: str
    #: The source images the run is limited to (a push's run); empty: the task's selection.
    pushed_images: list[str] = Field(default_factory=list)


class TaskOut(BaseModel):
    id: str
    name: str
    status: str
    source: str
    destination: str
    #: "Amazon ECR" when both ends are ECR registries; otherwise what the
    #: images move between, e.g. "Public registries → Amazon ECR" or
    #: "127.0.0.1:5000 → 127.0.0.1:5001".
    engine: str
    schedule: str
    #: ONE_TIME, FIXED_RATE or CRON.
    schedule_type: str
    #: The rate ("1 day") or cron expression; empty for ONE_TIME.
    schedule_expression: str
    #: When the scheduler starts the next run; null when none is due.
    next_run_at: datetime | None
    #: Whether a run is active (STARTING, IN_PROGRESS or STOPPING): it can be
    #: stopped, and no other run can start until it ends.
    running: bool
    images_done: int
    images_total: int
    created_at: datetime
    updated_at: datetime
    parameters: dict[str, str]
    latest_run: RunOut | None


class CreatedTaskOut(TaskOut):
    """A task just created (or cloned), with the warnings of :class:`ValidationOut`."""

    warnings: list[str] = Field(default_factory=list)


class TaskPageOut(BaseModel):
    items: list[TaskOut]
    total: int
    offset: int
    limit: int


class TaskDetailOut(TaskOut):
    runs: list[RunOut]


class RunPageOut(BaseModel):
    """One page of a task's runs, newest first, and how many there are in all."""

    items: list[RunOut]
    total: int
    offset: int
    limit: int


class ImageResultOut(BaseModel):
    source: str
    destination: str
    digest: str
    status: str
    bytes_transferred: int
    bytes_reused: int
    seconds: float
    attempts: int
    error: str
    updated_at: datetime


class ImageResultsOut(BaseModel):
    """One page of a run's per-image results (source order) and the matching total."""

    run_id: str
    items: list[ImageResultOut]
    total: int
    offset: int
    limit: int


class PlannedImageOut(BaseModel):
    """What a run would do to one image now (``ferry task plan``'s per-image line)."""

    source: str
    destination: str
    digest: str | None
    status: Literal["would-copy", "up-to-date", "failed"]
    manifests: int
    blobs_total: int
    blobs_missing: int
    bytes_total: int
    bytes_missing: int
    error: str | None
    notes: list[str]


class PlanOut(BaseModel):
    """A dry run on the server: reads only, nothing copied or recorded."""

    images: list[PlannedImageOut]
    #: What the planner wants the user to know (skipped tags, expansions ...).
    notes: list[str]


class LogLineOut(BaseModel):
    id: int
    ts: datetime
    level: str
    message: str


class LogsOut(BaseModel):
    run_id: str
    items: list[LogLineOut]
    #: Pass as ``after`` to get only newer lines.
    last_id: int
    #: True when the run has ended: no more lines will come.
    finished: bool


class SecretNamesOut(BaseModel):
    names: list[str]


class SecretPutRequest(BaseModel):
    """A secret to create or replace; the value is write-only and never echoed."""

    value: dict[str, str]


class MetricsSummary(BaseModel):
    tasks_by_status: dict[str, int]
    runs_active: int
    images_copied: int
    images_skipped: int
    images_failed: int
    bytes_transferred: int
    bytes_reused: int


class TokenRequest(BaseModel):
    name: str = Field(min_length=1, max_length=200)


class TokenOut(BaseModel):
    id: str
    name: str
    #: Shown once, at creation; only its hash is stored.
    token: str


def source_label(parameters: Mapping[str, str]) -> str:
    """The task list's Source column: region, "Public", or the registry."""
    if parameters.get("srcRegistry"):
        return parameters["srcRegistry"]
    if parameters.get("sourceType") == "Public":
        return "Public"
    region = parameters.get("srcRegion", "")
    account = parameters.get("srcAccountId", "")
    return f"{region} ({account})" if account else region or "ECR"


def destination_label(parameters: Mapping[str, str]) -> str:
    if parameters.get("destRegistry"):
        label = parameters["destRegistry"]
    else:
        region = parameters.get("destRegion", "")
        account = parameters.get("destAccountId", "")
        label = f"{region} ({account})" if account else region or "ECR"
    prefix = parameters.get("destPrefix", "")
    return f"{label}/{prefix}" if prefix else label


_ECR = "Amazon ECR"
_PUBLIC = "Public registries"


def _registry_label(host: str) -> str:
    return _ECR if parse_registry_host(host) is not None else host


def _public_source_label(parameters: Mapping[str, str]) -> str:
    """The one registry a Public task's images all come from, or "Public registries"."""
    hosts: set[str] = set()
    for entry in split_image_list(parameters.get("srcImageList", "")):
        try:
            hosts.add(parse_image_entry(entry, None).registry)
        except InvalidReference:
            return _PUBLIC
    return _registry_label(hosts.pop()) if len(hosts) == 1 else _PUBLIC


def engine_label(parameters: Mapping[str, str]) -> str:
    """The Engine column: "Amazon ECR", as the reference says, only when ECR is
    both ends; otherwise the registries the images move between."""
    if parameters.get("srcRegistry"):
        source = _registry_label(parameters["srcRegistry"])
    elif parameters.get("sourceType") == "Public":
        source = _public_source_label(parameters)
    else:
        source = _ECR
    destination = (
        _registry_label(parameters["destRegistry"]) if parameters.get("destRegistry") else _ECR
    )
    return _ECR if source == destination == _ECR else f"{source} → {destination}"


def schedule_label(task: TaskRecord) -> str:
    if task.schedule_type.value == "ONE_TIME":
        return "One time"
    if task.schedule_type.value == "ON_PUSH":
        return "On push"
    expression = task.schedule_expression or task.parameters.get("scheduleExpression", "")
    return f"{task.schedule_type.value} {expression}".strip()


def run_out(run: RunRecord) -> RunOut:
    return RunOut(
        id=run.id,
        task_id=run.task_id,
        number=run.number,
        status=run.status.value,
        trigger=run.trigger.value,
        created_at=run.created_at,
        started_at=run.started_at,
        ended_at=run.ended_at,
        seconds=run.seconds,
        images_total=run.images_total,
        images_done=run.images_done,
        images_copied=run.images_copied,
        images_skipped=run.images_skipped,
        images_failed=run.images_failed,
        bytes_transferred=run.bytes_transferred,
        bytes_reused=run.bytes_reused,
        error=run.error,
        pushed_images=list(run.images),
    )


def task_out(task: TaskRecord, latest: RunRecord | None) -> TaskOut:
    # A task's status is its latest run's. Taking it from ``latest`` (read with
    # the runs) keeps a page's header and its run section from disagreeing when
    # a run ends between the two reads.
    return TaskOut(
        id=task.id,
        name=task.name,
        status=latest.status.value if latest else task.status.value,
        source=source_label(task.parameters),
        destination=destination_label(task.parameters),
        engine=engine_label(task.parameters),
        schedule=schedule_label(task),
        schedule_type=task.schedule_type.value,
        schedule_expression=task.schedule_expression,
        next_run_at=task.next_run_at,
        running=latest is not None and latest.status in ACTIVE_RUN_STATUSES,
        images_done=latest.images_done if latest else 0,
        images_total=latest.images_total if latest else 0,
        created_at=task.created_at,
        updated_at=task.updated_at,
        parameters=dict(task.parameters),
        latest_run=run_out(latest) if latest else None,
    )


def image_result_out(result: ImageResultRecord) -> ImageResultOut:
    return ImageResultOut(
        source=result.source,
        destination=result.destination,
        digest=result.digest,
        status=result.status.value,
        bytes_transferred=result.bytes_transferred,
        bytes_reused=result.bytes_reused,
        seconds=result.seconds,
        attempts=result.attempts,
        error=result.error,
        updated_at=result.updated_at,
    )


def log_line_out(line: LogRecord) -> LogLineOut:
    return LogLineOut(id=line.seq, ts=line.ts, level=line.level, message=line.message)


def plan_out(planned: Sequence[PlannedImage], notes: Sequence[str]) -> PlanOut:
    images = [
        PlannedImageOut(
            source=p.source,
            destination=p.destination,
            digest=p.digest,
            status=p.status,
            manifests=p.manifests,
            blobs_total=p.blobs_total,
            blobs_missing=p.blobs_missing,
            bytes_total=p.bytes_total,
            bytes_missing=p.bytes_missing,
            error=p.error,
            notes=list(p.notes),
        )
        for p in planned
    ]
    return PlanOut(images=images, notes=list(notes))
