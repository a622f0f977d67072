"""``RemoteTasks``: the task service of a running ``ferry serve``, over its JSON API.

The CLI talks to a running server (``--server URL`` with an API token) as
well as to the local store. This client has the method names
and return types of :class:`imageferry.tasks.service.TaskService` that the
``ferry task`` commands use, so each command has one code path whichever
side executes the runs. Responses are turned back into the store's frozen
records; HTTP failures become errors of the documented tree, with the
server's own message (validation problems arrive as :class:`TaskSpecError`,
every problem kept).

The API token travels only in the ``Authorization`` header: it is never part
of a message, a repr or a log line.

::

    FerryError
    └── RemoteError                 the server answered with an error or not at all
        ├── RemoteUnreachable       connection refused, DNS, timeout
        ├── RemoteUnauthorized      401/403: token missing, wrong or revoked
        ├── RemoteNotFound          404: no such task or run on the server
        └── RemoteConflict          409: the task's state forbids it (a run is active ...)
    ConfigError
    ├── RemoteUnsupported           the server's API cannot do this as asked
    └── NoActiveRun                 (imageferry.tasks.service) stop with no active run

Listings are paged on the server (``offset``/``limit`` with a ``total``); the
methods here return one page, as the task service does, and the commands page
through everything.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

import httpx

from imageferry.errors import ConfigError, FerryError
from imageferry.store.records import ImageResultRecord, LogRecord, Page, RunRecord, TaskRecord
from imageferry.store.status import ImageStatus, RunStatus, ScheduleType, TaskStatus, Trigger
from imageferry.tasks.params import Problem, TaskSpecError
from imageferry.tasks.service import NoActiveRun

if TYPE_CHECKING:
    from imageferry.copy import PlannedImage

__all__ = [
    "RemoteConflict",
    "RemoteError",
    "RemoteNotFound",
    "RemoteTasks",
    "RemoteUnauthorized",
    "RemoteUnreachable",
    "RemoteUnsupported",
]

T = TypeVar("T")

_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
#: A plan reads every selected image's manifests and checks its blobs: minutes for many.
_PLAN_TIMEOUT = httpx.Timeout(900.0, connect=10.0)


class RemoteError(FerryError):
    """The server refused or failed a request; ``status`` is its HTTP status (0: none)."""

    def __init__(self, message: str, *, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class RemoteUnreachable(RemoteError):
    """No answer from the server at all."""


class RemoteUnauthorized(RemoteError):
    """The server did not accept the API token."""


class RemoteNotFound(RemoteError):
    """The task or run does not exist on the server."""


class RemoteConflict(RemoteError):
    """409: the server refused because of the task's state; ``error`` names its class."""

    def __init__(self, message: str, *, status: int = 409, error: str = "") -> None:
        super().__init__(message, status=status)
        self.error = error


class RemoteUnsupported(ConfigError):
    """A command that only works against the local store (for now)."""


class RemoteTasks:
    """The ``ferry task`` operations against ``ferry serve`` at ``url``.

    ``transport`` is the one I/O seam: unit tests pass an
    :class:`httpx.MockTransport`, functional tests talk to the real app.
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout = _TIMEOUT,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ConfigError(
                f"--server {url!r} is not an http:// or https:// URL; "
                "write e.g. --server http://127.0.0.1:8080"
            )
        if not token:
            raise ConfigError(
                "--server needs an API token: pass --token or set FERRY_TOKEN "
                "(create one with `ferry serve --create-token NAME`)"
            )
        self.url = url.rstrip("/")
        # The latest runs that came with the last task listing (see latest_runs).
        self._listed_latest: dict[str, RunRecord | None] = {}
        self._client = httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            transport=transport,
            timeout=timeout,
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"RemoteTasks(url={self.url!r})"

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> RemoteTasks:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- HTTP -----------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str | int] | None = None,
        timeout: httpx.Timeout | None = None,
    ) -> Any:
        try:
            response = self._client.request(
                method,
                path,
                json=json,
                params=params,
                timeout=timeout if timeout is not None else self._client.timeout,
            )
        except httpx.TransportError as e:
            raise RemoteUnreachable(
                f"cannot reach the ferry server at {self.url} ({type(e).__name__}: {e}); "
                "is `ferry serve` running there?"
            ) from None
        if response.is_success:
            return response.json() if response.content else None
        raise _error_for(response, self.url)

    # -- tasks ----------------------------------------------------------------

    def create_task(self, parameters: Mapping[str, str], name: str | None = None) -> TaskRecord:
        body = {"parameters": dict(parameters), "name": name}
        return _task(self._request("POST", "/api/tasks", json=body))

    def warnings(self, parameters: Mapping[str, str]) -> list[str]:
        """The server's warnings: it knows which alarm backend it has."""
        doc = self._request("POST", "/api/tasks/validate", json={"parameters": dict(parameters)})
        return [str(w) for w in doc.get("warnings", [])]

    def list_tasks(
        self,
        status: TaskStatus | Iterable[TaskStatus] | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> Page[TaskRecord]:
        params: dict[str, str | int] = {"offset": offset, "limit": limit}
        if isinstance(status, TaskStatus):
            params["status"] = status.value
        elif status is not None:
            raise RemoteUnsupported("the server filters tasks by one status at a time")
        doc = self._request("GET", "/api/tasks", params=params)
        for item in doc["items"]:
            latest = item.get("latest_run")
            self._listed_latest[item["id"]] = _run(latest) if latest else None
        return Page(
            tuple(_task(item) for item in doc["items"]), doc["total"], doc["offset"], doc["limit"]
        )

    def get_task(self, task_id: str) -> TaskRecord:
        return _task(self._request("GET", f"/api/tasks/{_segment(task_id)}"))

    def clone(
        self,
        task_id: str,
        overrides: Mapping[str, str] | None = None,
        name: str | None = None,
    ) -> TaskRecord:
        body = {"overrides": dict(overrides or {}), "name": name}
        return _task(self._request("POST", f"/api/tasks/{_segment(task_id)}/clone", json=body))

    def delete(self, task_id: str) -> None:
        self._request("DELETE", f"/api/tasks/{_segment(task_id)}")

    # -- runs -----------------------------------------------------------------

    def start(self, task_id: str, trigger: Trigger = Trigger.MANUAL) -> RunRecord:
        """Start a run in the server's executor, recorded with ``trigger``
        (``manual`` or ``cli``; ``schedule`` is the server's scheduler's own)."""
        if trigger is Trigger.SCHEDULE:
            raise RemoteUnsupported("only the server's scheduler starts runs with trigger schedule")
        body = {"trigger": trigger.value}
        return _run(self._request("POST", f"/api/tasks/{_segment(task_id)}/start", json=body))

    def stop(self, task_id: str) -> RunRecord:
        """Ask the active run to stop; :class:`NoActiveRun` when the task has none."""
        try:
            return _run(self._request("POST", f"/api/tasks/{_segment(task_id)}/stop"))
        except RemoteConflict as e:
            if e.error == NoActiveRun.__name__:
                raise NoActiveRun(task_id) from None
            raise

    def honour_stop(self, run_id: str) -> None:
        """The server's executor acts on its own stop requests: nothing to do here."""

    def settle_stop(self, run_id: str) -> RunRecord:
        """The server ends runs nobody executes itself; report where the run is."""
        return self.get_run(run_id)

    def join(self, run_id: str) -> None:
        """The server's executor is out of reach; its closing lines come when they come."""

    def runs(self, task_id: str, offset: int = 0, limit: int = 50) -> Page[RunRecord]:
        """One page of the task's runs, newest first, with the server's total."""
        params = {"offset": offset, "limit": limit}
        doc = self._request("GET", f"/api/tasks/{_segment(task_id)}/runs", params=params)
        return _page(doc, _run)

    def get_run(self, run_id: str) -> RunRecord:
        return _run(self._request("GET", f"/api/runs/{_segment(run_id)}"))

    def latest_run(self, task_id: str) -> RunRecord | None:
        page = self.runs(task_id, 0, 1)
        return page.items[0] if page.items else None

    def latest_runs(self, task_ids: Iterable[str]) -> dict[str, RunRecord]:
        """The newest run of each task that has one.

        Tasks in the last :meth:`list_tasks` answer come with their latest run,
        so listing then asking costs no further request; others are asked for
        one by one.
        """
        found: dict[str, RunRecord] = {}
        for task_id in task_ids:
            if task_id in self._listed_latest:
                run = self._listed_latest[task_id]
            else:
                run = self.latest_run(task_id)
            if run is not None:
                found[task_id] = run
        return found

    def image_results(
        self,
        run_id: str,
        search: str | None = None,
        status: ImageStatus | None = None,
        offset: int = 0,
        limit: int = 500,
    ) -> Page[ImageResultRecord]:
        """One page of the run's results in source order, with the server's total."""
        params: dict[str, str | int] = {"offset": offset, "limit": limit}
        if search:
            params["search"] = search
        if status is not None:
            params["status"] = status.value
        doc = self._request("GET", f"/api/runs/{_segment(run_id)}/images", params=params)
        return _page(doc, lambda item: _image(run_id, item))

    def logs(self, run_id: str, after_id: int = 0, limit: int = 1000) -> list[LogRecord]:
        params = {"after": after_id, "limit": min(limit, 5000)}
        doc = self._request("GET", f"/api/runs/{_segment(run_id)}/logs", params=params)
        return [
            LogRecord(run_id, item["id"], _time(item["ts"]), item["level"], item["message"])
            for item in doc["items"]
        ]

    async def plan(self, task_id: str) -> tuple[list[PlannedImage], list[str]]:
        """The server's dry run: it reads the registries with its own credentials."""
        path = f"/api/tasks/{_segment(task_id)}/plan"
        # The client is synchronous; the caller's event loop stays free meanwhile.
        doc = await asyncio.to_thread(self._request, "POST", path, timeout=_PLAN_TIMEOUT)
        return [_planned(item) for item in doc["images"]], [str(n) for n in doc["notes"]]


def _segment(identifier: str) -> str:
    """An id as one path segment: a stray ``/`` or ``?`` must not change the route."""
    return quote(identifier, safe="")


def _error_for(response: httpx.Response, url: str) -> FerryError:
    status = response.status_code
    try:
        doc: Any = response.json()
    except ValueError:
        doc = None
    detail = doc.get("detail") if isinstance(doc, dict) else None
    if status == 422 and isinstance(doc, dict) and isinstance(doc.get("problems"), list):
        return TaskSpecError([Problem(p["parameter"], p["message"]) for p in doc["problems"]])
    if not isinstance(detail, str):
        # FastAPI's own request validation answers with a list of field errors.
        detail = _field_errors(detail) if isinstance(detail, list) else response.reason_phrase
    if status in (401, 403):
        return RemoteUnauthorized(
            f"the ferry server at {url} refused the request ({status}): {detail}; check "
            "--token / FERRY_TOKEN (create one with `ferry serve --create-token NAME`)",
            status=status,
        )
    if status == 404:
        return RemoteNotFound(detail, status=status)
    if status == 409:
        error = doc.get("error") if isinstance(doc, dict) else None
        return RemoteConflict(detail, error=error if isinstance(error, str) else "")
    if status == 422:
        return ConfigError(detail)
    return RemoteError(f"the ferry server at {url} answered {status}: {detail}", status=status)


def _field_errors(errors: list[Any]) -> str:
    parts = []
    for error in errors:
        if isinstance(error, dict):
            where = ".".join(str(x) for x in error.get("loc", ()))
            parts.append(f"{where}: {error.get('msg', '')}")
    return "; ".join(parts) or "invalid request"


def _time(value: str | None) -> datetime:
    if value is None:
        raise RemoteError("the server sent a record without a timestamp")
    return datetime.fromisoformat(value)


def _optional_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _page(doc: Mapping[str, Any], record: Callable[[Any], T]) -> Page[T]:
    items = tuple(record(item) for item in doc["items"])
    return Page(items, doc["total"], doc["offset"], doc["limit"])


def _task(doc: Mapping[str, Any]) -> TaskRecord:
    """The server's task, its schedule as the server keeps it (not re-derived
    from the parameters, which may leave the defaults out)."""
    return TaskRecord(
        id=doc["id"],
        name=doc["name"],
        parameters={str(k): str(v) for k, v in doc["parameters"].items()},
        status=TaskStatus(doc["status"]),
        schedule_type=ScheduleType(doc["schedule_type"]),
        schedule_expression=doc["schedule_expression"],
        next_run_at=_optional_time(doc["next_run_at"]),
        created_at=_time(doc["created_at"]),
        updated_at=_time(doc["updated_at"]),
    )


def _run(doc: Mapping[str, Any]) -> RunRecord:
    return RunRecord(
        id=doc["id"],
        task_id=doc["task_id"],
        number=doc["number"],
        status=RunStatus(doc["status"]),
        trigger=Trigger(doc["trigger"]),
        created_at=_time(doc["created_at"]),
        started_at=_optional_time(doc["started_at"]),
        ended_at=_optional_time(doc["ended_at"]),
        images_total=doc["images_total"],
        images_copied=doc["images_copied"],
        images_skipped=doc["images_skipped"],
        images_failed=doc["images_failed"],
        images_done=doc["images_done"],
        bytes_transferred=doc["bytes_transferred"],
        bytes_reused=doc["bytes_reused"],
        error=doc["error"],
        executor_id="",
        heartbeat_at=None,
    )


def _image(run_id: str, doc: Mapping[str, Any]) -> ImageResultRecord:
    return ImageResultRecord(
        run_id=run_id,
        unit_key="",
        source=doc["source"],
        destination=doc["destination"],
        digest=doc["digest"],
        status=ImageStatus(doc["status"]),
        bytes_transferred=doc["bytes_transferred"],
        bytes_reused=doc["bytes_reused"],
        seconds=doc["seconds"],
        attempts=doc["attempts"],
        error=doc["error"],
        updated_at=_time(doc["updated_at"]),
    )


def _planned(doc: Mapping[str, Any]) -> PlannedImage:
    from imageferry.copy import PlannedImage

    status = doc["status"]
    if status not in ("would-copy", "up-to-date", "failed"):
        raise RemoteError(f"the server sent a plan with an unknown image status {status!r}")
    return PlannedImage(
        source=doc["source"],
        destination=doc["destination"],
        digest=doc["digest"],
        status=status,
        manifests=doc["manifests"],
        blobs_total=doc["blobs_total"],
        blobs_missing=doc["blobs_missing"],
        bytes_total=doc["bytes_total"],
        bytes_missing=doc["bytes_missing"],
        error=doc["error"],
        notes=tuple(str(n) for n in doc["notes"]),
    )
