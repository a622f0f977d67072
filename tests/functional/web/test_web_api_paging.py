"""Listings page with totals, and task lists read every latest run in one query."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from sqlalchemy import event

from fixtures.browser import VALID
from imageferry.store import ImageStatus, Store
from imageferry.store.results import ImageUnit


def _run_with_pending(store: Store, task_id: str, count: int) -> str:
    """A run with ``count`` results, recorded straight in the store (one transaction)."""
    run = store.create_run(task_id)
    units = [ImageUnit(f"src/app{i:04d}:1", f"dst/mirror/app{i:04d}:1") for i in range(count)]
    store.add_pending_images(run.id, units)
    return run.id


def test_image_results_page_with_the_total(bearer: httpx.Client, store: Store) -> None:
    task_id = bearer.post("/api/tasks", json={"parameters": VALID}).json()["id"]
    run_id = _run_with_pending(store, task_id, 620)
    store.record_image_result(
        run_id,
        source="src/app0007:1",
        destination="dst/mirror/app0007:1",
        status=ImageStatus.FAILED,
    )

    first = bearer.get(f"/api/runs/{run_id}/images").json()
    assert (first["total"], first["offset"], first["limit"], len(first["items"])) == (
        620,
        0,
        500,
        500,
    )
    rest = bearer.get(f"/api/runs/{run_id}/images", params={"offset": 500}).json()
    assert (rest["total"], rest["offset"], len(rest["items"])) == (620, 500, 120)
    sources = [i["source"] for i in first["items"] + rest["items"]]
    assert sources == [f"src/app{i:04d}:1" for i in range(620)]
    small = bearer.get(f"/api/runs/{run_id}/images", params={"offset": 10, "limit": 3}).json()
    assert [i["source"] for i in small["items"]] == [f"src/app{i:04d}:1" for i in (10, 11, 12)]
    failed = bearer.get(f"/api/runs/{run_id}/images", params={"status": "failed"}).json()
    assert (failed["total"], [i["source"] for i in failed["items"]]) == (1, ["src/app0007:1"])
    too_many = bearer.get(f"/api/runs/{run_id}/images", params={"limit": 501})
    assert too_many.status_code == 422


def test_task_runs_page_newest_first_with_the_total(bearer: httpx.Client, store: Store) -> None:
    task_id = bearer.post("/api/tasks", json={"parameters": VALID}).json()["id"]
    for _ in range(5):
        store.finish_run(store.create_run(task_id).id)
    first = bearer.get(f"/api/tasks/{task_id}/runs", params={"limit": 2}).json()
    assert (first["total"], first["offset"], first["limit"]) == (5, 0, 2)
    assert [r["number"] for r in first["items"]] == [5, 4]
    last = bearer.get(f"/api/tasks/{task_id}/runs", params={"offset": 4, "limit": 2}).json()
    assert [r["number"] for r in last["items"]] == [1]
    assert bearer.get("/api/tasks/t-nope/runs").status_code == 404


@contextmanager
def _counted(store: Store) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    event.listen(store.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(store.engine, "before_cursor_execute", count)


def _tasks_with_runs(store: Store, count: int) -> None:
    for i in range(count):
        task = store.create_task(VALID, name=f"task {i}")
        run = store.create_run(task.id)
        store.set_images_total(run.id, 2)
        store.record_image_result(run.id, source="s/a:1", destination="d/a:1", status="copied")
        store.finish_run(run.id)


def _queries(store: Store, client: httpx.Client, path: str) -> int:
    with _counted(store) as statements:
        response = client.get(path)
    assert response.status_code == 200, response.text
    return len(statements)


def test_task_list_metrics_and_page_read_latest_runs_in_one_query(
    admin: tuple[httpx.Client, str], store: Store
) -> None:
    client, _ = admin
    _tasks_with_runs(store, 2)
    few = {path: _queries(store, client, path) for path in ("/api/tasks", "/api/metrics", "/tasks")}
    _tasks_with_runs(store, 9)
    many = {
        path: _queries(store, client, path) for path in ("/api/tasks", "/api/metrics", "/tasks")
    }
    # The same number of queries for 11 tasks as for 2: none per task.
    assert many == few
    listed = client.get("/api/tasks").json()
    assert listed["total"] == 11
    assert all(t["latest_run"]["status"] == "ERROR" for t in listed["items"])  # 1 of 2 done
    assert all((t["images_done"], t["images_total"]) == (1, 2) for t in listed["items"])
    assert client.get("/api/metrics").json()["images_copied"] == 11
    assert client.get("/tasks").text.count("1 / 2") == 11
