"""``RemoteTasks`` against a mock transport: records back from JSON, errors from statuses."""

from __future__ import annotations

import json

import httpx
import pytest

from imageferry.cli.remote import (
    RemoteConflict,
    RemoteError,
    RemoteNotFound,
    RemoteTasks,
    RemoteUnauthorized,
    RemoteUnreachable,
    RemoteUnsupported,
)
from imageferry.errors import ConfigError
from imageferry.store.status import ImageStatus, RunStatus, ScheduleType, TaskStatus, Trigger
from imageferry.tasks.params import TaskSpecError
from imageferry.tasks.service import NoActiveRun

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
    "schedule": "CRON 0 3 * * *",
    "schedule_type": "CRON",
    "schedule_expression": "0 3 * * *",
    "next_run_at": "2025-01-03T03:00:00+00:00",
    "images_done": 2,
    "images_total": 2,
    "created_at": NOW,
    "updated_at": NOW,
    # The schedule comes from the task's own fields, not from parameters.
    "parameters": {"srcList": "ALL"},
    "latest_run": RUN,
}
IMAGE = {
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
        if request.url.path == "/api/tasks/t-1/runs":
            assert (request.url.params["offset"], request.url.params["limit"]) == ("0", "1")
            return httpx.Response(200, json={"items": [RUN], "total": 7, "offset": 0, "limit": 1})
        raise AssertionError(request.url)

    remote = _client(handler)
    task = remote.create_task({"a": "b"}, "n")
    assert task.status is TaskStatus.DONE
    assert task.schedule_type is ScheduleType.CRON
    assert task.schedule_expression == "0 3 * * *"
    assert task.next_run_at is not None and task.next_run_at.isoformat() == TASK["next_run_at"]
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


def test_latest_runs_of_listed_tasks_cost_no_further_request() -> None:
    asked: list[str] = []
    never_run = {**TASK, "id": "t-2", "latest_run": None}

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        if request.url.path == "/api/tasks":
            return httpx.Response(
                200, json={"items": [TASK, never_run], "total": 2, "offset": 0, "limit": 50}
            )
        assert request.url.path == "/api/tasks/t-3/runs"
        return httpx.Response(200, json={"items": [], "total": 0, "offset": 0, "limit": 1})

    remote = _client(handler)
    remote.list_tasks()
    latest = remote.latest_runs(["t-1", "t-2", "t-3"])
    assert list(latest) == ["t-1"] and latest["t-1"].number == 3
    assert asked == ["/api/tasks", "/api/tasks/t-3/runs"]


def test_runs_and_images_come_one_page_at_a_time_with_the_server_total() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        offset, limit = int(request.url.params["offset"]), int(request.url.params["limit"])
        if request.url.path == "/api/tasks/t-1/runs":
            doc = {"items": [RUN] * 2, "total": 1203, "offset": offset, "limit": limit}
            return httpx.Response(200, json=doc)
        assert request.url.path == "/api/runs/r-1/images"
        doc = {"run_id": "r-1", "items": [IMAGE], "total": 999, "offset": offset, "limit": limit}
        return httpx.Response(200, json=doc)

    remote = _client(handler)
    runs = remote.runs("t-1", 500, 2)
    assert (runs.total, runs.offset, runs.limit, len(runs)) == (1203, 500, 2, 2)
    images = remote.image_results("r-1", offset=998, limit=500)
    assert (images.total, images.offset, len(images)) == (999, 998, 1)


@pytest.mark.parametrize("trigger", [Trigger.MANUAL, Trigger.CLI])
def test_start_sends_the_trigger(trigger: Trigger) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/tasks/t-1/start"
        assert json.loads(request.content) == {"trigger": trigger.value}
        return httpx.Response(202, json={**RUN, "status": "STARTING", "trigger": trigger.value})

    assert _client(handler).start("t-1", trigger).trigger is trigger


def test_stop_without_an_active_run_is_no_active_run_other_conflicts_stay_remote() -> None:
    no_run = {"detail": "task 't-1' has no active run to stop", "error": "NoActiveRun"}
    remote = _client(lambda r: httpx.Response(409, json=no_run))
    with pytest.raises(NoActiveRun) as caught:
        remote.stop("t-1")
    assert isinstance(caught.value, ConfigError)
    assert "t-1" in str(caught.value) and "http" not in str(caught.value)
    finished = {"detail": "run 'r-1' already ended DONE", "error": "RunFinished"}
    with pytest.raises(RemoteConflict, match="already ended DONE"):
        _client(lambda r: httpx.Response(409, json=finished)).stop("t-1")


def test_image_results_and_logs() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/runs/r-1/images":
            assert request.url.params["status"] == "failed"
            assert (request.url.params["offset"], request.url.params["limit"]) == ("1", "5")
            doc = {"run_id": "r-1", "items": [IMAGE], "total": 2, "offset": 1, "limit": 5}
            return httpx.Response(200, json=doc)
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
        (409, RemoteConflict),
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


async def test_plan_comes_from_the_server() -> None:
    planned = {
        "source": "src:5000/app:1.0",
        "destination": "dst:5000/mirror/app:1.0",
        "digest": "sha256:" + "1" * 64,
        "status": "would-copy",
        "manifests": 1,
        "blobs_total": 3,
        "blobs_missing": 2,
        "bytes_total": 300,
        "bytes_missing": 200,
        "error": None,
        "notes": ["n1"],
    }
    failed = {**planned, "status": "failed", "digest": None, "error": "manifest unknown"}

    def handler(request: httpx.Request) -> httpx.Response:
        assert (request.method, request.url.path) == ("POST", "/api/tasks/t-1/plan")
        return httpx.Response(200, json={"images": [planned, failed], "notes": ["expanded"]})

    images, notes = await _client(handler).plan("t-1")
    assert notes == ["expanded"]
    assert [(p.status, p.bytes_missing, p.notes) for p in images] == [
        ("would-copy", 200, ("n1",)),
        ("failed", 200, ("n1",)),
    ]
    assert images[1].error == "manifest unknown" and images[1].digest is None


async def test_a_plan_with_an_unknown_status_is_refused() -> None:
    bad = {"images": [{"status": "maybe"}], "notes": []}
    with pytest.raises(RemoteError, match="unknown image status 'maybe'"):
        await _client(lambda r: httpx.Response(200, json=bad)).plan("t-1")


def test_only_the_scheduler_starts_scheduled_runs() -> None:
    remote = _client(lambda r: httpx.Response(500))
    with pytest.raises(RemoteUnsupported, match="scheduler"):
        remote.start("t-1", Trigger.SCHEDULE)
