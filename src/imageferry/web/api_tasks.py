"""``/api/tasks`` and ``/api/runs``: the task operations over HTTP.

Thin by design: each route calls one :class:`~imageferry.web.ports.TaskServicePort`
method and turns the record it returns into a response model. Errors are
mapped to status codes once, by the app's handler (:mod:`imageferry.web.app`).
Listings take ``offset``/``limit`` and answer with the matching ``total``, so a
client pages through everything.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from imageferry.store.base import MAX_PAGE
from imageferry.store.records import TaskRecord
from imageferry.store.status import FINISHED_RUN_STATUSES, ImageStatus, TaskStatus, Trigger
from imageferry.tasks.params import TaskSpec, TaskSpecError
from imageferry.web.console import Console, console_of
from imageferry.web.schemas import (
    CloneRequest,
    CreatedTaskOut,
    CreateTaskRequest,
    ImageResultsOut,
    LogsOut,
    PlanOut,
    ProblemOut,
    ProblemsOut,
    RunOut,
    RunPageOut,
    StartRequest,
    TaskDetailOut,
    TaskPageOut,
    ValidationOut,
    image_result_out,
    log_line_out,
    plan_out,
    run_out,
    task_out,
)
from imageferry.web.security import api_user

__all__ = ["router", "validate_parameters"]

router = APIRouter(prefix="/api", tags=["tasks"], dependencies=[Depends(api_user)])

ConsoleDep = Annotated[Console, Depends(console_of)]

_PROBLEMS: dict[int | str, dict[str, Any]] = {
    422: {"model": ProblemsOut, "description": "invalid parameters, every problem"}
}
#: How often a waiting log request looks for new lines.
_POLL_SECONDS = 0.5

_Offset = Annotated[int, Query(ge=0, description="skip this many items")]
_Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="at most this many items")]


def validate_parameters(parameters: dict[str, str], warnings: Sequence[str] = ()) -> ValidationOut:
    """The CLI's validation, without storing anything (for the wizard's inline checks)."""
    try:
        spec = TaskSpec.from_parameters(parameters)
    except TaskSpecError as e:
        problems = [ProblemOut(parameter=p.parameter, message=p.message) for p in e.problems]
        return ValidationOut(valid=False, problems=problems, warnings=list(warnings))
    return ValidationOut(
        valid=True, problems=[], parameters=spec.parameters(), warnings=list(warnings)
    )


@router.post("/tasks/validate", response_model=ValidationOut)
def validate_task(body: CreateTaskRequest, console: ConsoleDep) -> ValidationOut:
    """Check parameters with the same rules and messages as ``ferry task create``."""
    parameters = dict(body.parameters)
    if body.name is not None:
        parameters["name"] = body.name
    return validate_parameters(parameters, console.service.warnings(parameters))


def _created(task: TaskRecord, console: Console) -> CreatedTaskOut:
    base = task_out(task, None)
    return CreatedTaskOut(**base.model_dump(), warnings=console.service.warnings(task.parameters))


@router.post(
    "/tasks",
    response_model=CreatedTaskOut,
    status_code=status.HTTP_201_CREATED,
    responses=_PROBLEMS,
)
def create_task(body: CreateTaskRequest, console: ConsoleDep) -> CreatedTaskOut:
    """Create a task; ``warnings`` says what it should know (alarms nobody would send)."""
    return _created(console.service.create_task(body.parameters, body.name), console)


@router.get("/tasks", response_model=TaskPageOut)
def list_tasks(
    console: ConsoleDep,
    status_filter: Annotated[TaskStatus | None, Query(alias="status")] = None,
    offset: _Offset = 0,
    limit: _Limit = 50,
) -> TaskPageOut:
    page = console.service.list_tasks(status_filter, offset, limit)
    latest = console.service.latest_runs(t.id for t in page.items)
    items = [task_out(t, latest.get(t.id)) for t in page.items]
    return TaskPageOut(items=items, total=page.total, offset=page.offset, limit=page.limit)


@router.get("/tasks/{task_id}", response_model=TaskDetailOut)
def get_task(task_id: str, console: ConsoleDep) -> TaskDetailOut:
    task = console.service.get_task(task_id)
    runs = list(console.service.runs(task_id, 0, MAX_PAGE))
    base = task_out(task, runs[0] if runs else None)
    return TaskDetailOut(**base.model_dump(), runs=[run_out(r) for r in runs])


@router.post("/tasks/{task_id}/start", response_model=RunOut, status_code=202)
def start_task(task_id: str, console: ConsoleDep, body: StartRequest | None = None) -> RunOut:
    """Start a run (409 if one is active); the body's ``trigger`` is recorded on it."""
    trigger = Trigger(body.trigger) if body is not None else Trigger.MANUAL
    return run_out(console.service.start(task_id, trigger))


@router.post("/tasks/{task_id}/stop", response_model=RunOut, status_code=202)
def stop_task(task_id: str, console: ConsoleDep) -> RunOut:
    """Ask the active run to stop: STOPPING now, STOPPED once it has let go.

    409 when the task has no active run.
    """
    return run_out(console.service.stop(task_id))


@router.post("/tasks/{task_id}/plan", response_model=PlanOut)
async def plan_task(task_id: str, console: ConsoleDep) -> PlanOut:
    """What a run would copy now (``ferry task plan``), computed here with the
    server's registries and credentials: reads only, nothing recorded."""
    planned, notes = await console.service.plan(task_id)
    return plan_out(planned, notes)


@router.post(
    "/tasks/{task_id}/clone", response_model=CreatedTaskOut, status_code=201, responses=_PROBLEMS
)
def clone_task(task_id: str, body: CloneRequest, console: ConsoleDep) -> CreatedTaskOut:
    return _created(console.service.clone(task_id, body.overrides, body.name), console)


@router.delete("/tasks/{task_id}", status_code=204)
def delete_task(task_id: str, console: ConsoleDep) -> Response:
    console.service.delete(task_id)
    return Response(status_code=204)


@router.get("/tasks/{task_id}/runs", response_model=RunPageOut)
def task_runs(
    task_id: str, console: ConsoleDep, offset: _Offset = 0, limit: _Limit = 50
) -> RunPageOut:
    """One page of the task's runs, newest first."""
    page = console.service.runs(task_id, offset, limit)
    return RunPageOut(
        items=[run_out(r) for r in page.items],
        total=page.total,
        offset=page.offset,
        limit=page.limit,
    )


@router.get("/runs/{run_id}", response_model=RunOut)
def get_run(run_id: str, console: ConsoleDep) -> RunOut:
    return run_out(console.service.get_run(run_id))


@router.get("/runs/{run_id}/images", response_model=ImageResultsOut)
def run_images(
    run_id: str,
    console: ConsoleDep,
    search: str | None = None,
    status_filter: Annotated[ImageStatus | None, Query(alias="status")] = None,
    offset: _Offset = 0,
    limit: _Limit = MAX_PAGE,
) -> ImageResultsOut:
    """One page of the run's per-image results in source order, with the total."""
    page = console.service.image_results(run_id, search or None, status_filter, offset, limit)
    return ImageResultsOut(
        run_id=run_id,
        items=[image_result_out(r) for r in page.items],
        total=page.total,
        offset=page.offset,
        limit=page.limit,
    )


def _logs(console: Console, run_id: str, after: int, limit: int) -> LogsOut:
    run = console.service.get_run(run_id)
    lines = console.service.logs(run_id, after, limit)
    last = lines[-1].seq if lines else after
    return LogsOut(
        run_id=run_id,
        items=[log_line_out(line) for line in lines],
        last_id=last,
        finished=run.status in FINISHED_RUN_STATUSES,
    )


@router.get("/runs/{run_id}/logs", response_model=LogsOut)
async def run_logs(
    run_id: str,
    request: Request,
    after: Annotated[int, Query(ge=0, description="only lines after this id")] = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    wait: Annotated[
        float, Query(ge=0, le=60, description="long-poll: seconds to wait for new lines")
    ] = 0,
) -> LogsOut:
    """A run's log lines after ``after``; with ``wait``, holds until lines come or it ends."""
    console = console_of(request)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        out = await run_in_threadpool(_logs, console, run_id, after, limit)
        if out.items or out.finished or loop.time() >= deadline:
            return out
        if await request.is_disconnected():
            return out
        await asyncio.sleep(_POLL_SECONDS)


@router.get("/runs/{run_id}/logs/stream", response_class=StreamingResponse)
async def run_logs_stream(
    run_id: str,
    request: Request,
    after: Annotated[int, Query(ge=0)] = 0,
) -> StreamingResponse:
    """Server-Sent Events: one ``log`` event per line (id = line id), then ``end``.

    A reconnecting ``EventSource`` sends ``Last-Event-ID``, which resumes after it.
    """
    console = console_of(request)
    resume = request.headers.get("last-event-id", "")
    start = int(resume) if resume.isdigit() else after
    await run_in_threadpool(console.service.get_run, run_id)

    async def events() -> AsyncIterator[str]:
        cursor = start
        while True:
            out = await run_in_threadpool(_logs, console, run_id, cursor, 500)
            for line in out.items:
                yield f"id: {line.id}\nevent: log\ndata: {line.model_dump_json()}\n\n"
            cursor = out.last_id
            if out.finished and not out.items:
                yield f"event: end\ndata: {json.dumps({'last_id': cursor})}\n\n"
                return
            if await request.is_disconnected():
                return
            if not out.items:
                await asyncio.sleep(_POLL_SECONDS)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
