"""The JSON API against the real app, SQLite store and local secret store."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
from prometheus_client.parser import text_string_to_metric_families

from fixtures.browser import VALID
from imageferry import metrics
from imageferry.store import ImageStatus, RunStatus, Store
from imageferry.tasks.params import TaskSpec, TaskSpecError


def test_create_returns_the_task_and_get_shows_it(bearer: httpx.Client) -> None:
    created = bearer.post("/api/tasks", json={"parameters": VALID, "name": "mirror apps"})
    assert created.status_code == 201
    task = created.json()
    assert task["id"].startswith("t-")
    assert task["status"] == "CREATED"
    assert task["source"] == "127.0.0.1:5000"
    assert task["destination"] == "127.0.0.1:5001/mirror"
    # No ECR at either end: the engine names the two registries.
    assert task["engine"] == "127.0.0.1:5000 → 127.0.0.1:5001"
    assert task["parameters"]["srcImageList"] == "app:1.0, tools:latest"
    shown = bearer.get(f"/api/tasks/{task['id']}").json()
    assert shown["name"] == "mirror apps"
    assert shown["runs"] == []


def test_invalid_parameters_give_422_with_every_problem_as_the_cli_says(
    bearer: httpx.Client,
) -> None:
    bad = {"sourceType": "Public", "srcList": "ALL", "destRegion": "mars-1", "alarmEmail": "x@"}
    response = bearer.post("/api/tasks", json={"parameters": bad})
    assert response.status_code == 422
    body = response.json()
    try:
        TaskSpec.from_parameters({**bad, "name": ""})
    except TaskSpecError as e:
        expected = [{"parameter": p.parameter, "message": p.message} for p in e.problems]
    assert len(expected) >= 3
    assert body["problems"] == expected
    assert bearer.get("/api/tasks").json()["total"] == 0


def test_validate_reports_problems_without_storing(bearer: httpx.Client) -> None:
    bad = bearer.post("/api/tasks/validate", json={"parameters": {"srcAccountId": "12"}})
    assert bad.status_code == 200
    assert bad.json()["valid"] is False
    assert "srcAccountId" in [p["parameter"] for p in bad.json()["problems"]]
    good = bearer.post("/api/tasks/validate", json={"parameters": VALID}).json()
    assert good["valid"] is True
    assert good["parameters"]["destPrefix"] == "mirror"
    assert bearer.get("/api/tasks").json()["total"] == 0


def test_paging_and_status_filter(bearer: httpx.Client, store: Store) -> None:
    ids = [
        bearer.post("/api/tasks", json={"parameters": VALID, "name": f"n{i}"}).json()["id"]
        for i in range(5)
    ]
    first = bearer.get("/api/tasks", params={"offset": 0, "limit": 2}).json()
    second = bearer.get("/api/tasks", params={"offset": 2, "limit": 2}).json()
    third = bearer.get("/api/tasks", params={"offset": 4, "limit": 2}).json()
    assert first["total"] == 5
    paged = [t["id"] for page in (first, second, third) for t in page["items"]]
    assert sorted(paged) == sorted(ids)
    assert len(set(paged)) == 5
    started = bearer.post(f"/api/tasks/{ids[1]}/start")
    assert started.status_code == 202
    running = bearer.get("/api/tasks", params={"status": "STARTING"}).json()
    assert [t["id"] for t in running["items"]] == [ids[1]]
    created = bearer.get("/api/tasks", params={"status": "CREATED"}).json()
    assert created["total"] == 4
    assert bearer.get("/api/tasks", params={"status": "BOGUS"}).status_code == 422


def test_start_twice_is_a_conflict_and_stop_then_delete(bearer: httpx.Client, store: Store) -> None:
    task_id = bearer.post("/api/tasks", json={"parameters": VALID}).json()["id"]
    run = bearer.post(f"/api/tasks/{task_id}/start").json()
    assert run["status"] == "STARTING"
    again = bearer.post(f"/api/tasks/{task_id}/start")
    assert again.status_code == 409
    assert run["id"] in again.json()["detail"]
    busy = bearer.delete(f"/api/tasks/{task_id}")
    assert busy.status_code == 409
    stopped = bearer.post(f"/api/tasks/{task_id}/stop").json()
    assert stopped["status"] == "STOPPING"
    store.finish_run(run["id"])
    assert bearer.get(f"/api/runs/{run['id']}").json()["status"] == "STOPPED"
    assert bearer.delete(f"/api/tasks/{task_id}").status_code == 204
    assert bearer.get(f"/api/tasks/{task_id}").status_code == 404


def test_start_records_the_trigger_manual_by_default(bearer: httpx.Client, store: Store) -> None:
    task_id = bearer.post("/api/tasks", json={"parameters": VALID}).json()["id"]
    first = bearer.post(f"/api/tasks/{task_id}/start")
    assert first.status_code == 202
    assert first.json()["trigger"] == "manual"
    store.finish_run(first.json()["id"])
    second = bearer.post(f"/api/tasks/{task_id}/start", json={"trigger": "cli"}).json()
    assert second["trigger"] == "cli"
    assert store.get_run(second["id"]).trigger.value == "cli"
    store.finish_run(second["id"])
    # Only the scheduler starts scheduled runs.
    refused = bearer.post(f"/api/tasks/{task_id}/start", json={"trigger": "schedule"})
    assert refused.status_code == 422
    assert store.list_runs(task_id).total == 2


def test_stop_without_an_active_run_is_a_409_conflict(bearer: httpx.Client, store: Store) -> None:
    task_id = bearer.post("/api/tasks", json={"parameters": VALID}).json()["id"]
    never = bearer.post(f"/api/tasks/{task_id}/stop")
    assert never.status_code == 409
    assert never.json()["detail"].startswith(f"task {task_id!r} has no active run to stop")
    assert never.json()["error"] == "NoActiveRun"
    run_id = bearer.post(f"/api/tasks/{task_id}/start").json()["id"]
    store.finish_run(run_id)
    assert bearer.post(f"/api/tasks/{task_id}/stop").status_code == 409
    assert bearer.post("/api/tasks/t-nope/stop").status_code == 404


def test_tasks_carry_their_schedule_and_next_run(bearer: httpx.Client) -> None:
    cron = {**VALID, "scheduleType": "CRON", "scheduleExpression": "0 3 * * *"}
    created = bearer.post("/api/tasks", json={"parameters": cron}).json()
    assert (created["schedule_type"], created["schedule_expression"]) == ("CRON", "0 3 * * *")
    next_run = datetime.fromisoformat(created["next_run_at"])
    assert (next_run.hour, next_run.minute) == (3, 0)
    assert next_run > datetime.now(UTC)
    once = bearer.post("/api/tasks", json={"parameters": VALID}).json()
    assert (once["schedule_type"], once["schedule_expression"]) == ("ONE_TIME", "")
    listed = {t["id"]: t for t in bearer.get("/api/tasks").json()["items"]}
    assert listed[created["id"]]["next_run_at"] == created["next_run_at"]
    shown = bearer.get(f"/api/tasks/{once['id']}").json()
    assert shown["schedule_type"] == "ONE_TIME"


def test_clone_copies_parameters_with_overrides(bearer: httpx.Client) -> None:
    task_id = bearer.post("/api/tasks", json={"parameters": VALID, "name": "orig"}).json()["id"]
    clone = bearer.post(
        f"/api/tasks/{task_id}/clone", json={"overrides": {"destPrefix": "copy", "name": "c"}}
    )
    assert clone.status_code == 201
    body = clone.json()
    assert body["id"] != task_id
    assert body["parameters"]["destPrefix"] == "copy"
    assert body["parameters"]["srcImageList"] == VALID["srcImageList"]
    bad = bearer.post(f"/api/tasks/{task_id}/clone", json={"overrides": {"destPrefix": "/x"}})
    assert bad.status_code == 422
    assert bad.json()["problems"][0]["parameter"] == "destPrefix"


def test_unknown_ids_are_404(bearer: httpx.Client) -> None:
    assert bearer.get("/api/tasks/t-nope").status_code == 404
    assert bearer.post("/api/tasks/t-nope/start").status_code == 404
    assert bearer.get("/api/runs/r-nope/images").status_code == 404
    assert "not found" in bearer.get("/api/runs/r-nope").json()["detail"]


def _run_with_results(bearer: httpx.Client, store: Store) -> tuple[str, str]:
    task_id = bearer.post("/api/tasks", json={"parameters": VALID}).json()["id"]
    run_id = bearer.post(f"/api/tasks/{task_id}/start").json()["id"]
    store.set_images_total(run_id, 3)
    store.set_run_status(run_id, RunStatus.IN_PROGRESS)
    store.record_image_result(
        run_id,
        source="127.0.0.1:5000/app:1.0",
        destination="127.0.0.1:5001/mirror/app:1.0",
        status=ImageStatus.COPIED,
        digest="sha256:" + "a" * 64,
        bytes_transferred=2048,
        seconds=0.5,
        attempts=1,
    )
    store.record_image_result(
        run_id,
        source="127.0.0.1:5000/tools:latest",
        destination="127.0.0.1:5001/mirror/tools:latest",
        status=ImageStatus.FAILED,
        attempts=3,
        error="manifest unknown",
    )
    return task_id, run_id


def test_image_results_search_and_status(bearer: httpx.Client, store: Store) -> None:
    _task_id, run_id = _run_with_results(bearer, store)
    everything = bearer.get(f"/api/runs/{run_id}/images").json()["items"]
    assert {i["status"] for i in everything} == {"copied", "failed"}
    failed = bearer.get(f"/api/runs/{run_id}/images", params={"status": "failed"}).json()
    assert [i["source"] for i in failed["items"]] == ["127.0.0.1:5000/tools:latest"]
    assert failed["items"][0]["error"] == "manifest unknown"
    assert failed["items"][0]["attempts"] == 3
    found = bearer.get(f"/api/runs/{run_id}/images", params={"search": "aaaa"}).json()
    assert [i["destination"] for i in found["items"]] == ["127.0.0.1:5001/mirror/app:1.0"]
    listed = bearer.get("/api/tasks").json()["items"][0]
    assert (listed["images_done"], listed["images_total"]) == (2, 3)


def test_logs_after_and_long_poll_end_when_the_run_ends(bearer: httpx.Client, store: Store) -> None:
    _, run_id = _run_with_results(bearer, store)
    store.append_logs(run_id, [("info", "listing"), ("info", "copying app"), ("error", "boom")])
    first = bearer.get(f"/api/runs/{run_id}/logs", params={"limit": 2}).json()
    assert [line["message"] for line in first["items"]] == ["listing", "copying app"]
    assert first["finished"] is False
    rest = bearer.get(f"/api/runs/{run_id}/logs", params={"after": first["last_id"]}).json()
    assert [(line["level"], line["message"]) for line in rest["items"]] == [("error", "boom")]
    store.finish_run(run_id)
    waited = bearer.get(
        f"/api/runs/{run_id}/logs", params={"after": rest["last_id"], "wait": 30}
    ).json()
    assert waited["items"] == []
    assert waited["finished"] is True


def test_logs_as_server_sent_events(bearer: httpx.Client, store: Store) -> None:
    _, run_id = _run_with_results(bearer, store)
    store.append_logs(run_id, [("info", "one"), ("info", "two")])
    store.finish_run(run_id)
    with bearer.stream("GET", f"/api/runs/{run_id}/logs/stream") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        text = "".join(response.iter_text())
    events = [block for block in text.split("\n\n") if block.strip()]
    logs = [json.loads(e.split("data: ", 1)[1]) for e in events if "event: log" in e]
    assert [line["message"] for line in logs] == ["one", "two"]
    assert events[-1].startswith("event: end")


def test_secret_values_never_leave_the_server(
    admin: tuple[httpx.Client, str], store: Store
) -> None:
    client, csrf = admin
    value = {"username": "robot", "password": "hunter2-very-secret"}
    put = client.put(
        "/api/secrets/dockerhub", json={"value": value}, headers={"X-CSRF-Token": csrf}
    )
    assert put.status_code == 204
    assert client.get("/api/secrets").json() == {"names": ["dockerhub"]}
    client.post(
        "/api/tasks",
        json={"parameters": {**VALID, "srcCredential": "dockerhub"}},
        headers={"X-CSRF-Token": csrf},
    )
    seen = "".join(
        client.get(path).text
        for path in ("/api/secrets", "/api/tasks", "/credentials", "/tasks/new", "/tasks")
    )
    assert "dockerhub" in seen
    assert "hunter2-very-secret" not in seen
    assert "robot" not in seen
    gone = client.delete("/api/secrets/dockerhub", headers={"X-CSRF-Token": csrf})
    assert gone.status_code == 204
    assert client.get("/api/secrets").json() == {"names": []}
    assert (
        client.delete("/api/secrets/dockerhub", headers={"X-CSRF-Token": csrf}).status_code == 404
    )


def test_bad_secret_is_422_naming_the_problem(bearer: httpx.Client) -> None:
    response = bearer.put("/api/secrets/bad name", json={"value": {"username": "u"}})
    assert response.status_code == 422
    assert "invalid secret name" in response.json()["detail"]


def test_metrics_summary_and_prometheus_exposition(bearer: httpx.Client, store: Store) -> None:
    _run_with_results(bearer, store)
    bearer.post("/api/tasks", json={"parameters": VALID})
    summary = bearer.get("/api/metrics").json()
    assert summary["tasks_by_status"]["IN_PROGRESS"] == 1, summary
    assert summary["tasks_by_status"]["CREATED"] == 1
    assert summary["images_failed"] == 1
    assert summary["bytes_transferred"] == 2048
    metrics.IMAGES.labels(status="copied").inc()
    response = bearer.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    tasks = {s.labels["status"]: s.value for s in families["ferry_tasks"].samples}
    assert tasks["CREATED"] == 1
    assert tasks["IN_PROGRESS"] == 1
    for name in (
        "ferry_images",
        "ferry_image_bytes",
        "ferry_run_duration_seconds",
        "ferry_registry_requests",
        "ferry_registry_request_duration_seconds",
        "ferry_retries",
        "ferry_rate_limit_waits",
    ):
        assert name in families, name


def test_openapi_lists_the_api(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in (
        "/api/tasks",
        "/api/tasks/{task_id}",
        "/api/tasks/{task_id}/start",
        "/api/tasks/{task_id}/stop",
        "/api/tasks/{task_id}/clone",
        "/api/tasks/{task_id}/plan",
        "/api/tasks/{task_id}/runs",
        "/api/runs/{run_id}/images",
        "/api/runs/{run_id}/logs",
        "/api/secrets",
        "/api/metrics",
    ):
        assert path in paths, path
    assert "/tasks/new" not in paths


def test_an_alarm_email_without_an_alarm_backend_is_warned_of(bearer: httpx.Client) -> None:
    with_alarm = {**VALID, "alarmEmail": "ops@example.com"}
    created = bearer.post("/api/tasks", json={"parameters": with_alarm})
    assert created.status_code == 201
    [warning] = created.json()["warnings"]
    assert warning.startswith("alarmEmail ops@example.com will not be told of failed runs")
    assert "FERRY_ALARM_BACKEND" in warning
    checked = bearer.post("/api/tasks/validate", json={"parameters": with_alarm}).json()
    assert (checked["valid"], checked["warnings"]) == (True, [warning])
    cloned = bearer.post(f"/api/tasks/{created.json()['id']}/clone", json={}).json()
    assert cloned["warnings"] == [warning]
    plain = bearer.post("/api/tasks", json={"parameters": VALID}).json()
    assert plain["warnings"] == []
    assert bearer.post("/api/tasks/validate", json={"parameters": VALID}).json()["warnings"] == []
