"""``RemoteTasks``: the task service of a running ``ferry serve``, over its JSON API.

Issue 4, item 1: the CLI talks to a running server (``--server URL`` with an
API token) as well as to the local store. This client has the method names
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
        └── RemoteNotFound          404: no such task or run on the server
    ConfigError
    └── RemoteUnsupported           the server's API has no route for this command
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from imageferry.errors import ConfigError, FerryError
from imageferry.store.records import ImageResultRecord, LogRecord, Page, RunRecord, TaskRecord
from imageferry.store.status import ImageStatus, RunStatus, ScheduleType, TaskStatus, Trigger
from imageferry.tasks.params import Problem, TaskSpecError

if TYPE_CHECKING:
    from imageferry.copy import PlannedImage

__all__ = [
    "RemoteError",
    "RemoteNotFound",
    "RemoteTasks",
    "RemoteUnauthorized",
    "RemoteUnreachable",
    "RemoteUnsupported",
]

_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


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
    ) -> Any:
        try:
            response = self._client.request(method, path, json=json, params=params)
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
        """Start a run in the server's executor. The API records every start as
        ``manual``; ``trigger`` is accepted for the TaskService signature."""
        return _run(self._request("POST", f"/api/tasks/{_segment(task_id)}/start"))

    def stop(self, task_id: str) -> RunRecord:
        return _run(self._request("POST", f"/api/tasks/{_segment(task_id)}/stop"))

    def honour_stop(self, run_id: str) -> None:
        """The server's executor acts on its own stop requests: nothing to do here."""

    def settle_stop(self, run_id: str) -> RunRecord:
        """The server ends runs nobody executes itself; report where the run is."""
        return self.get_run(run_id)

    def join(self, run_id: str) -> None:
        """The server's executor is out of reach; its closing lines come when they come."""

    def runs(self, task_id: str, offset: int = 0, limit: int = 50) -> Page[RunRecord]:
        items = [_run(r) for r in self._request("GET", f"/api/tasks/{_segment(task_id)}/runs")]
        return Page(tuple(items[offset : offset + limit]), len(items), offset, limit)

    def get_run(self, run_id: str) -> RunRecord:
        return _run(self._request("GET", f"/api/runs/{_segment(run_id)}"))

    def latest_run(self, task_id: str) -> RunRecord | None:
        latest = self._request("GET", f"/api/tasks/{_segment(task_id)}")["latest_run"]
        return _run(latest) if latest else None

    def image_results(
        self,
        run_id: str,
        search: str | None = None,
        status: ImageStatus | None = None,
        offset: int = 0,
        limit: int = 500,
    ) -> Page[ImageResultRecord]:
        params: dict[str, str | int] = {}
        if search:
            params["search"] = search
        if status is not None:
            params["status"] = status.value
        doc = self._request("GET", f"/api/runs/{_segment(run_id)}/images", params=params)
        items = [_image(run_id, item) for item in doc["items"]]
        return Page(tuple(items[offset : offset + limit]), len(items), offset, limit)

    def logs(self, run_id: str, after_id: int = 0, limit: int = 1000) -> list[LogRecord]:
        params = {"after": after_id, "limit": min(limit, 5000)}
        doc = self._request("GET", f"/api/runs/{_segment(run_id)}/logs", params=params)
        return [
            LogRecord(run_id, item["id"], _time(item["ts"]), item["level"], item["message"])
            for item in doc["items"]
        ]

    async def plan(self, task_id: str) -> tuple[list[PlannedImage], list[str]]:
        raise RemoteUnsupported(
            "`ferry task plan` needs the registries and credentials the server uses, and its "
            "API has no plan route yet; run it on the server's host without --server"
        )


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


def _task(doc: Mapping[str, Any]) -> TaskRecord:
    parameters = {str(k): str(v) for k, v in doc["parameters"].items()}
    try:
        schedule = ScheduleType(parameters.get("scheduleType", "ONE_TIME"))
    except ValueError:
        schedule = ScheduleType.ONE_TIME
    return TaskRecord(
        id=doc["id"],
        name=doc["name"],
        parameters=parameters,
        status=TaskStatus(doc["status"]),
        schedule_type=schedule,
        schedule_expression=parameters.get("scheduleExpression", ""),
        next_run_at=None,
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
