"""``POST /api/tasks/{id}/plan``: the server's dry run against real loopback registries."""

from __future__ import annotations

import httpx

from stand_ins.images import push_image
from stand_ins.registry import LocalRegistry


def _task(bearer: httpx.Client, src: LocalRegistry, dst: LocalRegistry, images: str) -> str:
    parameters = {
        "sourceType": "Public",
        "srcRegistry": src.host,
        "srcList": "SELECTED",
        "srcImageList": images,
        "destRegistry": dst.host,
        "destPrefix": "mirror",
        "scheduleType": "ONE_TIME",
    }
    created = bearer.post("/api/tasks", json={"parameters": parameters})
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def test_plan_says_what_would_be_copied_and_stores_nothing(
    bearer: httpx.Client, src_registry: LocalRegistry, dst_registry: LocalRegistry
) -> None:
    pushed = push_image(src_registry.url, "app", "1.0", layers=2, layer_size=4096, seed="plan")
    task_id = _task(bearer, src_registry, dst_registry, "app:1.0, app:missing")

    response = bearer.post(f"/api/tasks/{task_id}/plan")

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"images", "notes"}
    by_status = {image["status"]: image for image in body["images"]}
    assert set(by_status) == {"would-copy", "failed"}
    would = by_status["would-copy"]
    assert would["source"] == f"{src_registry.host}/app:1.0"
    assert would["destination"] == f"{dst_registry.host}/mirror/app:1.0"
    assert would["digest"] == str(pushed.digest)
    assert would["blobs_missing"] == would["blobs_total"] == 3  # two layers and the config
    assert would["bytes_missing"] == would["bytes_total"] > 2 * 4096
    assert would["error"] is None
    failed = by_status["failed"]
    assert failed["source"] == f"{src_registry.host}/app:missing"
    assert failed["error"]
    # A dry run: no run recorded, nothing at the destination.
    assert bearer.get(f"/api/tasks/{task_id}/runs").json()["total"] == 0
    assert bearer.get(f"/api/tasks/{task_id}").json()["status"] == "CREATED"
    assert httpx.get(f"{dst_registry.url}/v2/mirror/app/tags/list").status_code == 404


def test_plan_of_an_image_already_there_is_up_to_date(
    bearer: httpx.Client, src_registry: LocalRegistry, dst_registry: LocalRegistry
) -> None:
    pushed = push_image(src_registry.url, "tools", "2", seed="there")
    # The same seed builds the same image: the destination already has it.
    assert push_image(dst_registry.url, "mirror/tools", "2", seed="there").digest == pushed.digest
    task_id = _task(bearer, src_registry, dst_registry, "tools:2")
    [image] = bearer.post(f"/api/tasks/{task_id}/plan").json()["images"]
    assert image["status"] == "up-to-date"
    assert image["digest"] == str(pushed.digest)
    assert (image["blobs_missing"], image["bytes_missing"]) == (0, 0)


def test_plan_of_an_unknown_task_is_404(bearer: httpx.Client) -> None:
    response = bearer.post("/api/tasks/t-nope/plan")
    assert response.status_code == 404
    assert "t-nope" in response.json()["detail"]
