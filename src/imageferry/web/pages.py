"""The console's pages: server-rendered HTML.

Pages read through the same task service as the API. Every state-changing
form posts here with the session's CSRF token (checked by
:func:`~imageferry.web.security.page_user`) and is answered with a redirect
carrying a short message, so reloading a page never repeats an action.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from imageferry.errors import FerryError
from imageferry.secrets.base import validate_secret_name, validate_secret_value
from imageferry.store.base import MAX_PAGE
from imageferry.store.records import ImageResultRecord
from imageferry.store.status import ImageStatus, TaskStatus
from imageferry.tasks.params import PARAMETER_TABLE, TaskSpecError
from imageferry.web import fields
from imageferry.web.charts import Finished, bar_chart, human_bytes, line_chart, run_series
from imageferry.web.console import Console, console_of
from imageferry.web.messages import refusal, run_message
from imageferry.web.schemas import TaskOut, task_out
from imageferry.web.security import Principal, page_user
from imageferry.web.wizard import FIELD_ORDER, WIZARD_STEPS, form_parameters, initial_values

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

ConsoleDep = Annotated[Console, Depends(console_of)]
UserDep = Annotated[Principal, Depends(page_user)]


def _back(path: str, *, msg: str = "", error: str = "", about: str = "") -> RedirectResponse:
    """Back to ``path`` with a message; ``about`` names the run the message is about."""
    pairs = (("msg", msg), ("error", error), ("about", about))
    query = urlencode({k: v for k, v in pairs if v})
    return RedirectResponse(f"{path}?{query}" if query else path, status_code=303)


def utc(moment: datetime | None) -> str:
    """A time as pages show it, to the second, in UTC; blank for none."""
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else ""


def render(
    request: Request, console: Console, user: Principal, name: str, **context: object
) -> HTMLResponse:
    context.setdefault("msg", request.query_params.get("msg", ""))
    context.setdefault("error", request.query_params.get("error", ""))
    context.update(
        user=user,
        csrf=user.csrf,
        human_bytes=human_bytes,
        utc=utc,
        label=fields.label,
        workers_page=console.workers is not None,
    )
    return console.templates.TemplateResponse(request, name, context)


@router.get("/")
def home(user: UserDep) -> RedirectResponse:
    return RedirectResponse("/tasks", status_code=303)


@router.get("/tasks", response_class=HTMLResponse)
def task_list(
    request: Request, console: ConsoleDep, user: UserDep, status: str = "", offset: int = 0
) -> HTMLResponse:
    wanted = TaskStatus(status) if status in TaskStatus.__members__ else None
    page = console.service.list_tasks(wanted, max(offset, 0), 50)
    latest = console.service.latest_runs(t.id for t in page.items)
    tasks = [task_out(t, latest.get(t.id)) for t in page.items]
    return render(
        request,
        console,
        user,
        "tasks.html",
        tasks=tasks,
        page=page,
        status=wanted.value if wanted else "",
        statuses=[s.value for s in TaskStatus],
    )


@router.get("/tasks/new", response_class=HTMLResponse)
def wizard(request: Request, console: ConsoleDep, user: UserDep, clone: str = "") -> HTMLResponse:
    source = console.service.get_task(clone) if clone else None
    values = initial_values(source.parameters if source else None)
    if source is not None:
        values["name"] = f"{source.name or source.id} (clone)"
    return _wizard_page(request, console, user, values, [], clone_of=source.id if source else "")


def _wizard_page(
    request: Request,
    console: Console,
    user: Principal,
    values: dict[str, str],
    problems: list[dict[str, str]],
    clone_of: str = "",
) -> HTMLResponse:
    response = render(
        request,
        console,
        user,
        "wizard.html",
        steps=WIZARD_STEPS,
        table={p.name: p for p in PARAMETER_TABLE},
        values=values,
        problems=problems,
        secret_names=console.secrets.list(),
        clone_of=clone_of,
        rules=fields.RULES,
        option_rules=fields.OPTION_RULES,
        rule_json=fields.rule_json,
        applies=fields.applies,
    )
    if problems:
        response.status_code = 422
    return response


@router.post("/tasks/new", response_model=None)
async def create_from_wizard(
    request: Request, console: ConsoleDep, user: UserDep
) -> HTMLResponse | RedirectResponse:
    form = await request.form()
    parameters = form_parameters({k: v for k, v in form.items() if isinstance(v, str)})
    name = parameters.pop("name", "") or None
    try:
        task = console.service.create_task(parameters, name)
    except TaskSpecError as e:
        problems = [{"parameter": p.parameter, "message": p.message} for p in e.problems]
        values = dict(parameters, name=name or "")
        values[fields.DEST_KIND] = fields.dest_kind({k: str(v) for k, v in form.items()})
        return _wizard_page(request, console, user, values, problems)
    return _back(f"/tasks/{task.id}", msg=f"Task {task.id} created")


def _every_result(console: Console, run_id: str) -> list[ImageResultRecord]:
    """All of a run's results, page by page (the charts count every image)."""
    results: list[ImageResultRecord] = []
    while True:
        page = console.service.image_results(run_id, None, None, len(results), MAX_PAGE)
        results.extend(page.items)
        if not page.items or len(results) >= page.total:
            return results


def _run_context(
    console: Console, task_id: str, run_id: str, q: str, status: str
) -> dict[str, object]:
    runs = list(console.service.runs(task_id, 0, 100))
    run = next((r for r in runs if r.id == run_id), runs[0] if runs else None)
    context: dict[str, object] = {"runs": runs, "run": run, "q": q, "image_status": status}
    if run is None:
        return context
    wanted = ImageStatus(status) if status in {s.value for s in ImageStatus} else None
    every = _every_result(console, run.id)
    shown = console.service.image_results(run.id, q or None, wanted, 0, MAX_PAGE)
    context["images"] = list(shown.items)
    context["images_total"] = shown.total
    finished = [
        Finished(at=r.updated_at, status=r.status.value, bytes_transferred=r.bytes_transferred)
        for r in every
        if r.status.value in {"copied", "skipped", "failed"}
    ]
    series = run_series(run.started_at or run.created_at, finished)
    context["charts"] = [
        line_chart(series.images_done),
        line_chart(series.bytes_transferred),
        bar_chart(series.throughput),
        line_chart(series.failures),
    ]
    context["image_statuses"] = [s.value for s in ImageStatus]
    return context


@router.get("/tasks/{task_id}", response_class=HTMLResponse)
def task_detail(
    request: Request,
    task_id: str,
    console: ConsoleDep,
    user: UserDep,
    run: str = "",
    q: str = "",
    status: str = "",
) -> HTMLResponse:
    task, context = _task_context(console, task_id, run, q, status)
    return render(
        request,
        console,
        user,
        "task.html",
        task=task,
        table={p.name: p for p in PARAMETER_TABLE},
        shown=fields.shown_parameters(task.parameters, FIELD_ORDER),
        **run_message(console, task_id, request.query_params.get("about", "")),
        **context,
    )


@router.get("/tasks/{task_id}/live", response_class=HTMLResponse)
def task_live(
    request: Request,
    task_id: str,
    console: ConsoleDep,
    user: UserDep,
    run: str = "",
    q: str = "",
    status: str = "",
) -> HTMLResponse:
    """The run section of the detail page alone, for the page's live refresh."""
    task, context = _task_context(console, task_id, run, q, status)
    return render(request, console, user, "_run.html", task=task, **context)


def _task_context(
    console: Console, task_id: str, run: str, q: str, status: str
) -> tuple[TaskOut, dict[str, object]]:
    """The task (its status the latest run's) and the selected run's context."""
    task = console.service.get_task(task_id)
    context = _run_context(console, task_id, run, q, status)
    runs = context["runs"]
    latest = runs[0] if isinstance(runs, list) and runs else None
    return task_out(task, latest), context


@router.post("/tasks/{task_id}/{action}")
def task_action(task_id: str, action: str, console: ConsoleDep, user: UserDep) -> Response:
    """The task list's and detail page's buttons: start, stop, clone, delete."""
    path = f"/tasks/{task_id}"
    try:
        if action == "start":
            run = console.service.start(task_id)
            return _back(path, msg=f"Run #{run.number} started", about=run.id)
        if action == "stop":
            # A run that was not executing ends at once; the page then says so.
            run = console.service.stop(task_id)
            return _back(path, msg=f"Stopping run #{run.number}", about=run.id)
        if action == "delete":
            console.service.delete(task_id)
            return _back("/tasks", msg=f"Task {task_id} deleted")
        if action == "clone":
            return RedirectResponse(f"/tasks/new?clone={quote(task_id)}", status_code=303)
    except FerryError as e:
        return _back(path, error=refusal(console, e))
    return _back(path, error=f"unknown action {action!r}")


@router.get("/credentials", response_class=HTMLResponse)
def credentials(request: Request, console: ConsoleDep, user: UserDep) -> HTMLResponse:
    return render(request, console, user, "credentials.html", names=console.secrets.list())


@router.post("/credentials")
def put_credential(
    console: ConsoleDep,
    user: UserDep,
    name: Annotated[str, Form()],
    kind: Annotated[str, Form()],
    first: Annotated[str, Form()],
    second: Annotated[str, Form()],
) -> RedirectResponse:
    """Add or replace a credential; the form's values go to the store and nowhere else."""
    keys = ("access_key_id", "secret_access_key") if kind == "aws" else ("username", "password")
    try:
        existed = name in console.secrets.list()
        console.secrets.put(
            validate_secret_name(name.strip()),
            validate_secret_value({keys[0]: first, keys[1]: second}),
        )
    except FerryError as e:
        return _back("/credentials", error=str(e))
    return _back("/credentials", msg=f"Credential {name} {'replaced' if existed else 'added'}")


@router.post("/credentials/delete")
def delete_credential(
    console: ConsoleDep, user: UserDep, name: Annotated[str, Form()]
) -> RedirectResponse:
    try:
        console.secrets.delete(name)
    except FerryError as e:
        return _back("/credentials", error=str(e))
    return _back("/credentials", msg=f"Credential {name} deleted")
