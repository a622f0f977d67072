"""The distributed mode's workers: ``/api/workers`` and the console's Workers page.

Both read the console's :class:`~imageferry.web.ports.WorkersPort` (a cached
broadcast to the Celery workers and the broker's queue depths). In the
embedded default there are no workers to show: both answer 404 and the
navigation has no Workers entry.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from imageferry.executor.workers import WorkersSnapshot
from imageferry.store.errors import RunNotFound
from imageferry.web.console import Console, console_of
from imageferry.web.pages import render
from imageferry.web.security import Principal, api_user, page_user

__all__ = ["UnitsHeldOut", "WorkerOut", "WorkersOut", "api_router", "page_router", "workers_out"]

api_router = APIRouter(prefix="/api", dependencies=[Depends(api_user)])
page_router = APIRouter(include_in_schema=False)

ConsoleDep = Annotated[Console, Depends(console_of)]


class UnitsHeldOut(BaseModel):
    """One batch a worker holds: ``active`` (copying) or ``reserved`` (prefetched)."""

    run_id: str
    batch: str
    units: int
    state: str


class WorkerOut(BaseModel):
    name: str
    alive: bool
    last_seen: datetime | None
    units_in_flight: int
    held: list[UnitsHeldOut]


class WorkersOut(BaseModel):
    """Workers and queue depths as of ``taken_at`` (answers are cached a few seconds)."""

    workers: list[WorkerOut]
    queues: dict[str, int]
    taken_at: datetime
    #: Why the broker could not be asked, when it could not; workers then show not alive.
    error: str = ""


def workers_out(snapshot: WorkersSnapshot) -> WorkersOut:
    return WorkersOut(
        workers=[
            WorkerOut(
                name=w.name,
                alive=w.alive,
                last_seen=w.last_seen,
                units_in_flight=w.units_in_flight,
                held=[
                    UnitsHeldOut(run_id=h.run_id, batch=h.batch, units=h.units, state=h.state)
                    for h in w.held
                ],
            )
            for w in snapshot.workers
        ],
        queues=dict(snapshot.queues),
        taken_at=snapshot.taken_at,
        error=snapshot.error,
    )


def _snapshot(console: Console) -> WorkersSnapshot:
    if console.workers is None:
        raise HTTPException(404, "no workers: the executor is local (FERRY_EXECUTOR=celery)")
    return console.workers.snapshot()


@api_router.get("/workers", response_model=WorkersOut, tags=["workers"])
def list_workers(console: ConsoleDep) -> WorkersOut:
    """The Celery workers, alive or last seen, with the batches of units each holds."""
    return workers_out(_snapshot(console))


@page_router.get("/workers", response_class=HTMLResponse)
def workers_page(
    request: Request, console: ConsoleDep, user: Annotated[Principal, Depends(page_user)]
) -> HTMLResponse:
    view = workers_out(_snapshot(console))
    return render(request, console, user, "workers.html", view=view, tasks=_tasks_of(console, view))


def _tasks_of(console: Console, view: WorkersOut) -> dict[str, str]:
    """The task of each run a worker holds, for links (a run deleted since is left out)."""
    tasks: dict[str, str] = {}
    for run_id in {h.run_id for w in view.workers for h in w.held}:
        try:
            tasks[run_id] = console.service.get_run(run_id).task_id
        except RunNotFound:
            continue
    return tasks
