"""``/api/push/...``: registries' push events start runs of ``ON_PUSH`` tasks.

One route per sender, each taking the body as that sender posts it (see
:mod:`imageferry.tasks.push_events`): ``registry`` (the distribution
registry's ``notifications``), ``harbor`` (Harbor webhooks) and ``ecr`` (ECR
image actions through an EventBridge API destination). Authenticated like the
rest of the API: ``Authorization: Bearer <API token>``, which every one of
these senders can be told to send. The answer, 202, says how many events were
taken, how many were repeats, and which tasks will run; the runs start after
a short debounce. A body that is not the sender's shape is a 400 with one line.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from imageferry.tasks.push_events import PushEventError, parse_push_events
from imageferry.web.console import Console, console_of
from imageferry.web.security import api_user

__all__ = ["PushReceiptOut", "router"]

router = APIRouter(prefix="/api/push", dependencies=[Depends(api_user)], tags=["push"])

ConsoleDep = Annotated[Console, Depends(console_of)]

_BAD: dict[int | str, dict[str, Any]] = {
    400: {"description": "The body is not the sender's event shape (one line says why)."}
}


class PushReceiptOut(BaseModel):
    """What became of the delivery."""

    #: Tagged push events taken (other events are left out).
    events: int
    #: Events seen before (a redelivery), which start nothing.
    duplicates: int
    #: Ids of the ON_PUSH tasks whose run the events start (after the debounce).
    tasks: list[str]


async def _receive(
    sender: str, request: Request, console: Console
) -> PushReceiptOut | JSONResponse:
    try:
        events = parse_push_events(sender, await request.body())
    except PushEventError as e:
        return JSONResponse({"detail": str(e), "error": "PushEventError"}, status_code=400)
    receipt = await run_in_threadpool(console.service.receive_pushes, events)
    return PushReceiptOut(
        events=receipt.events, duplicates=receipt.duplicates, tasks=list(receipt.tasks)
    )


@router.post("/registry", response_model=PushReceiptOut, status_code=202, responses=_BAD)
async def registry_notifications(
    request: Request, console: ConsoleDep
) -> PushReceiptOut | JSONResponse:
    """The distribution registry's ``notifications`` envelope (``action: push`` events)."""
    return await _receive("registry", request, console)


@router.post("/harbor", response_model=PushReceiptOut, status_code=202, responses=_BAD)
async def harbor_webhook(request: Request, console: ConsoleDep) -> PushReceiptOut | JSONResponse:
    """A Harbor webhook (``PUSH_ARTIFACT``; other types are left out)."""
    return await _receive("harbor", request, console)


@router.post("/ecr", response_model=PushReceiptOut, status_code=202, responses=_BAD)
async def ecr_event(request: Request, console: ConsoleDep) -> PushReceiptOut | JSONResponse:
    """An ECR ``Image Action`` event as EventBridge delivers it (successful PUSH only)."""
    return await _receive("ecr", request, console)
