"""``/api/secrets``, ``/api/metrics``, ``/api/tokens`` and the Prometheus ``/metrics``.

Secrets: names are listed, values are written and deleted, and no route ever
returns a value. ``/metrics`` needs the same login
as everything else; point Prometheus at it with ``authorization: {credentials:
<API token>}``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Response

from imageferry import metrics
from imageferry.secrets.base import validate_secret_name, validate_secret_value
from imageferry.store.status import ACTIVE_RUN_STATUSES, TaskStatus
from imageferry.web.console import Console, console_of
from imageferry.web.schemas import (
    MetricsSummary,
    SecretNamesOut,
    SecretPutRequest,
    TokenOut,
    TokenRequest,
)
from imageferry.web.security import Principal, api_user

__all__ = ["metrics_router", "router", "summarize"]

router = APIRouter(prefix="/api", dependencies=[Depends(api_user)])
metrics_router = APIRouter(dependencies=[Depends(api_user)])

ConsoleDep = Annotated[Console, Depends(console_of)]

_PAGE = 500


@router.get("/secrets", response_model=SecretNamesOut, tags=["secrets"])
def list_secrets(console: ConsoleDep) -> SecretNamesOut:
    return SecretNamesOut(names=console.secrets.list())


@router.put("/secrets/{name:path}", status_code=204, tags=["secrets"])
def put_secret(name: str, body: SecretPutRequest, console: ConsoleDep) -> Response:
    """Create or replace a secret. The value is stored and never returned."""
    console.secrets.put(validate_secret_name(name), validate_secret_value(body.value))
    return Response(status_code=204)


@router.delete("/secrets/{name:path}", status_code=204, tags=["secrets"])
def delete_secret(name: str, console: ConsoleDep) -> Response:
    console.secrets.delete(name)
    return Response(status_code=204)


def summarize(console: Console) -> MetricsSummary:
    """Totals over every task's latest run, and task counts by status.

    Two queries per page of tasks (the tasks, then their latest runs at once),
    however many tasks there are.
    """
    summary = MetricsSummary(
        tasks_by_status={s.value: 0 for s in TaskStatus},
        runs_active=0,
        images_copied=0,
        images_skipped=0,
        images_failed=0,
        bytes_transferred=0,
        bytes_reused=0,
    )
    offset = 0
    while True:
        page = console.service.list_tasks(None, offset, _PAGE)
        latest = console.service.latest_runs(t.id for t in page.items)
        for task in page.items:
            summary.tasks_by_status[task.status.value] += 1
            run = latest.get(task.id)
            if run is None:
                continue
            summary.runs_active += run.status in ACTIVE_RUN_STATUSES
            summary.images_copied += run.images_copied
            summary.images_skipped += run.images_skipped
            summary.images_failed += run.images_failed
            summary.bytes_transferred += run.bytes_transferred
            summary.bytes_reused += run.bytes_reused
        offset += len(page.items)
        if not page.items or offset >= page.total:
            return summary


@router.get("/metrics", response_model=MetricsSummary, tags=["metrics"])
def metrics_summary(console: ConsoleDep) -> MetricsSummary:
    """The console's dashboard numbers: tasks by status and the latest runs' totals."""
    return summarize(console)


@router.post("/tokens", response_model=TokenOut, status_code=201, tags=["auth"])
def create_token(
    body: TokenRequest, console: ConsoleDep, principal: Annotated[Principal, Depends(api_user)]
) -> TokenOut:
    """A new API token for the caller; the plaintext is in this response only."""
    if principal.via != "session":
        raise HTTPException(403, "create API tokens from a logged-in session, not with a token")
    new = console.accounts.create_api_token(principal.username, body.name)
    return TokenOut(id=new.record.id, name=new.record.name, token=new.plaintext)


@metrics_router.get("/metrics", tags=["metrics"], response_class=Response)
def prometheus(console: ConsoleDep) -> Response:
    """Every ``ferry_*`` metric in the Prometheus text format (with the Celery
    workers' gauges when the executor is ``celery``)."""
    summary = summarize(console)
    for name, count in summary.tasks_by_status.items():
        metrics.TASKS.labels(status=name).set(count)
    body = metrics.exposition()
    if console.workers is not None:
        body += metrics.worker_exposition(console.workers.snapshot)
    return Response(body, media_type=metrics.CONTENT_TYPE)
