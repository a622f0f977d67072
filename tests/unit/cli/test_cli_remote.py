"""``RemoteTasks`` against a mock transport: records back from JSON, errors from statuses."""

from __future__ import annotations

import json

import httpx
import pytest

from imageferry.cli.remote import (
    RemoteError,
    RemoteNotFound,
    RemoteTasks,
    RemoteUnauthorized,
    RemoteUnreachable,
    RemoteUnsupported,
)
from imageferry.errors import ConfigError
from imageferry.store.status import ImageStatus, RunStatus, ScheduleType, TaskStatus
from imageferry.tasks.params import TaskSpecError

TOKEN = "secret-token-value-0123456789"
NOW = "2025-01-02T03:04:05.123456+00:00"

RUN = {
    "id": "r-1",
    "task_id": "t-1",
    "number": 3,
    "status": "DONE",
    "trigger": "manual",
    "created_at": NOW,
    "started_at": NOW,
    "ended_at": NOW,
    "seconds": 0.0,
    "images_total": 2,
    "images_done": 2,
    "images_copied": 1,
    "images_skipped": 1,
    "images_failed": 0,
    "bytes_transferred": 10,
    "bytes_reused": 5,
    "error": "",
}
TASK = {
    "id": "t-1",
    "name": "n",
    "status": "DONE",
    "source": "Public",
    "destination": "x",
    "engine": "Amazon ECR",
    "schedule": "CRON",
    "images_done": 2,
    "images_total": 2,
    "created_at": NOW,
    "updated_at": NOW,
    "parameters": {"scheduleType": "CRON", "scheduleExpression": "0 3 * * *"},
    "latest_run": RUN,
}


def _client(handler) -> RemoteTasks:
    return RemoteTasks("http://ferry.test/", TOKEN, transport=httpx.MockTransport(handler))


def test_requests_carry_the_bearer_token_and_records_come_back_typed() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/api/tasks" and request.method == "POST":
            body = json.loads(request.content)
            assert body == {"parameters": {"a": "b"}, "name": "n"}
            return httpx.Response(201, json=TASK)
        if request.url.path == "/api/tasks/t-1":
            return httpx.Response(200, json={**TASK, "runs": [RUN]})
        raise AssertionError(request.url)

    remote = _client(handler)
    task = remote.create_task({"a": "b"}, "n")
    assert task.status is TaskStatus.DONE
    assert task.schedule_type is ScheduleType.CRON
    assert task.schedule_expression == "0 3 * * *"
    assert task.created_at.utcoffset() is not None
    latest = remote.latest_run("t-1")
    assert latest is not None and latest.status is RunStatus.DONE and latest.number == 3
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in seen)
    assert TOKEN not in repr(remote)


def test_list_pages_and_the_status_filter_go_to_the_query() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.params["status"] == "ERROR"
        assert (request.url.params["offset"], request.url.params["limit"]) == ("5", "2")
        return httpx.Response(200, json={"items": [TASK], "total": 9, "offset": 5, "limit": 2})

    page = _client(handler).list_tasks(TaskStatus.ERROR, 5, 2)
    assert (page.total, page.offset, len(page)) == (9, 5, 1)


def test_image_results_and_logs() -> None:
    image = {
        "source": "s",
        "destination": "d",
        "digest": "sha256:" + "0" * 64,
        "status": "failed",
        "bytes_transferred": 0,
        "bytes_reused": 0,
        "seconds": 1.5,
        "attempts": 3,
        "error": "boom",
        "updated_at": NOW,
    }

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/runs/r-1/images":
            assert request.url.params["status"] == "failed"
            return httpx.Response(200, json={"run_id": "r-1", "items": [image, image]})
        assert request.url.path == "/api/runs/r-1/logs"
        assert request.url.params["after"] == "7"
        line = {"id": 8, "ts": NOW, "level": "INFO", "message": "hi"}
        return httpx.Response(
            200, json={"run_id": "r-1", "items": [line], "last_id": 8, "finished": True}
        )

    remote = _client(handler)
    page = remote.image_results("r-1", status=ImageStatus.FAILED, offset=1, limit=5)
    assert (page.total, len(page)) == (2, 1)
    assert page.items[0].status is ImageStatus.FAILED and page.items[0].attempts == 3
    [line] = remote.logs("r-1", after_id=7)
    assert (line.seq, line.message) == (8, "hi")


def test_a_422_with_problems_is_a_task_spec_error_with_every_problem() -> None:
    problems = [
        {"parameter": "srcList", "message": "use SELECTED"},
        {"parameter": "destRegion", "message": "not a region"},
    ]
    remote = _client(
        lambda r: httpx.Response(422, json={"detail": "invalid", "problems": problems})
    )
    with pytest.raises(TaskSpecError) as caught:
        remote.create_task({})
    assert [(p.parameter, p.message) for p in caught.value.problems] == [
        ("srcList", "use SELECTED"),
        ("destRegion", "not a region"),
    ]


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, RemoteUnauthorized),
        (403, RemoteUnauthorized),
        (404, RemoteNotFound),
        (409, RemoteError),
        (500, RemoteError),
        (422, ConfigError),
    ],
)
def test_error_statuses_map_to_the_error_tree(status: int, error: type[Exception]) -> None:
    remote = _client(lambda r: httpx.Response(status, json={"detail": "the server's words"}))
    with pytest.raises(error) as caught:
        remote.get_task("t-1")
    assert "the server's words" in str(caught.value)
    assert TOKEN not in str(caught.value)


def test_unreachable_server_and_bad_arguments() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(RemoteUnreachable, match="is `ferry serve` running"):
        _client(refuse).get_run("r-1")
    with pytest.raises(ConfigError, match="FERRY_TOKEN"):
        RemoteTasks("http://ferry.test", "")
    with pytest.raises(ConfigError, match="http://"):
        RemoteTasks("ferry.test:8080", TOKEN)


def test_ids_stay_one_path_segment() -> None:
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.raw_path.decode())
        return httpx.Response(404, json={"detail": "no"})

    with pytest.raises(RemoteNotFound):
        _client(handler).get_task("../runs/x?y")
    assert paths == ["/api/tasks/..%2Fruns%2Fx%3Fy"]


async def test_plan_is_unsupported_remotely() -> None:
    remote = _client(lambda r: httpx.Response(200, json={}))
    with pytest.raises(RemoteUnsupported, match="no plan route"):
        await remote.plan("t-1")
