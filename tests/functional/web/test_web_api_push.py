"""``/api/push/...``: each sender's payload, the token, bad bodies, debounce and repeats.

The real app on a real store; runs are held by :class:`HeldExecutor`, so these
tests check which runs start and which images each is limited to. The copy
itself, from a push to the destination, is tested with real processes in
``tests/functional/serve/test_serve_push.py``.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from fixtures.browser import HeldExecutor
from imageferry.store import Store, Trigger
from imageferry.store.records import RunRecord
from imageferry.tasks.on_push import PushDispatcher
from imageferry.tasks.service import TaskService

WINDOW = 0.3
HARBOR = "harbor.example.com"
DIGEST = "sha256:" + "a" * 64


@pytest.fixture(autouse=True)
def _short_window(service: TaskService, store: Store) -> None:
    service.pushes.close()
    service.pushes = PushDispatcher(store, service.start, window=WINDOW)


def _task(service: TaskService, **parameters: str) -> str:
    base = {"destRegistry": "127.0.0.1:5999", "destPrefix": "mirror", "scheduleType": "ON_PUSH"}
    return service.create_task({**base, **parameters}).id


def _all_tags_of_app(service: TaskService) -> str:
    return _task(
        service,
        sourceType="Public",
        srcRegistry="127.0.0.1:5000",
        srcList="SELECTED",
        srcImageList="app:ALL_TAGS",
    )


def _runs(store: Store, task_id: str, count: int) -> list[RunRecord]:
    """The task's runs once it has ``count``, after the debounce window has passed twice."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        runs = list(store.list_runs(task_id).items)
        if len(runs) >= count:
            time.sleep(2 * WINDOW)  # and no more come
            return list(store.list_runs(task_id).items)
        time.sleep(0.05)
    raise AssertionError(f"task {task_id} has fewer than {count} run(s)")


def _harbor(tag: str, digest: str = DIGEST) -> dict[str, Any]:
    return {
        "type": "PUSH_ARTIFACT",
        "occur_at": 1765080000,
        "operator": "ci",
        "event_data": {
            "resources": [
                {"digest": digest, "tag": tag, "resource_url": f"{HARBOR}/library/app:{tag}"}
            ],
            "repository": {"name": "app", "namespace": "library", "repo_full_name": "library/app"},
        },
    }


def _ecr(event_id: str, result: str = "SUCCESS", account: str = "111122223333") -> dict[str, Any]:
    return {
        "version": "0",
        "id": event_id,
        "detail-type": "ECR Image Action",
        "source": "aws.ecr",
        "account": account,
        "time": "2026-12-07T04:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "result": result,
            "repository-name": "team/app",
            "image-digest": DIGEST,
            "action-type": "PUSH",
            "image-tag": "2.0",
        },
    }


def _registry(*events: tuple[str, str, str]) -> dict[str, Any]:
    """A distribution registry envelope of (event id, tag, digest) pushes of app."""
    return {
        "events": [
            {
                "id": event_id,
                "action": "push",
                "target": {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": digest,
                    "repository": "app",
                    "tag": tag,
                },
                "request": {"host": "127.0.0.1:5000", "method": "PUT"},
            }
            for event_id, tag, digest in events
        ]
    }


def test_a_harbor_push_starts_a_run_of_the_matching_task_for_that_image_only(
    bearer: httpx.Client, service: TaskService, store: Store, executor: HeldExecutor
) -> None:
    wanted = _task(service, sourceType="Public", srcRegistry=HARBOR, srcList="ALL")
    elsewhere = _task(service, sourceType="Public", srcRegistry="other.example.com", srcList="ALL")
    answer = bearer.post("/api/push/harbor", json=_harbor("1.0"))
    assert answer.status_code == 202, answer.text
    assert answer.json() == {"events": 1, "duplicates": 0, "tasks": [wanted]}
    [run] = _runs(store, wanted, 1)
    assert (run.trigger, run.images) == (Trigger.PUSH, (f"{HARBOR}/library/app:1.0",))
    assert executor.held == [run.id]
    shown = bearer.get(f"/api/runs/{run.id}").json()
    assert (shown["trigger"], shown["pushed_images"]) == ("push", [f"{HARBOR}/library/app:1.0"])
    assert list(store.list_runs(elsewhere).items) == []
    # Other Harbor events are left out, not refused.
    other = bearer.post("/api/push/harbor", json={**_harbor("1.0"), "type": "PULL_ARTIFACT"})
    assert other.json() == {"events": 0, "duplicates": 0, "tasks": []}


def test_an_eventbridge_ecr_push_is_taken_once_however_often_it_is_delivered(
    bearer: httpx.Client, service: TaskService, store: Store
) -> None:
    task_id = _task(
        service,
        sourceType="Amazon_ECR",
        srcRegion="us-east-1",
        srcAccountId="111122223333",
        srcList="SELECTED",
        srcImageList="team/app:ALL_TAGS",
    )
    first = bearer.post("/api/push/ecr", json=_ecr("e-1"))
    again = bearer.post("/api/push/ecr", json=_ecr("e-1"))
    assert first.json() == {"events": 1, "duplicates": 0, "tasks": [task_id]}
    assert again.json() == {"events": 0, "duplicates": 1, "tasks": []}
    [run] = _runs(store, task_id, 1)
    assert run.images == ("111122223333.dkr.ecr.us-east-1.amazonaws.com/team/app:2.0",)
    failed = bearer.post("/api/push/ecr", json=_ecr("e-2", result="FAILURE"))
    assert failed.json()["events"] == 0
    other_account = bearer.post("/api/push/ecr", json=_ecr("e-3", account="999999999999"))
    assert other_account.json()["tasks"] == []


def test_pushes_within_the_window_start_one_run(
    bearer: httpx.Client, service: TaskService, store: Store
) -> None:
    task_id = _all_tags_of_app(service)
    other = "sha256:" + "b" * 64
    # The same tag pushed again (a new digest), and a second tag, in one burst.
    bearer.post("/api/push/registry", json=_registry(("r-1", "1", DIGEST)))
    bearer.post("/api/push/registry", json=_registry(("r-2", "1", other), ("r-3", "2", other)))
    [run] = _runs(store, task_id, 1)
    assert run.images == ("127.0.0.1:5000/app:1", "127.0.0.1:5000/app:2")


def test_a_push_while_a_run_is_active_waits_for_it(
    bearer: httpx.Client, service: TaskService, store: Store
) -> None:
    task_id = _all_tags_of_app(service)
    bearer.post("/api/push/registry", json=_registry(("r-1", "1", DIGEST)))
    [first] = _runs(store, task_id, 1)
    bearer.post("/api/push/registry", json=_registry(("r-2", "2", DIGEST)))
    time.sleep(3 * WINDOW)
    assert len(store.list_runs(task_id).items) == 1  # still active: the push waits
    store.finish_run(first.id)
    second, _ = _runs(store, task_id, 2)
    assert second.images == ("127.0.0.1:5000/app:2",)


def test_the_push_routes_need_an_api_token(client: httpx.Client, store: Store) -> None:
    for sender in ("registry", "harbor", "ecr"):
        assert client.post(f"/api/push/{sender}", json={}).status_code == 401
    wrong = client.post(
        "/api/push/registry", json={}, headers={"Authorization": "Bearer ferry_wrong"}
    )
    assert wrong.status_code == 401


@pytest.mark.parametrize(
    ("sender", "body", "message"),
    [
        ("registry", b"{not json", "the body is not JSON"),
        (
            "registry",
            b'{"event": []}',
            "not a distribution registry notification: events is missing",
        ),
        (
            "harbor",
            b'{"type": "PUSH_ARTIFACT", "event_data": {}}',
            "not a Harbor webhook: event_data.repository.repo_full_name is missing",
        ),
        (
            "ecr",
            b'{"detail-type": "ECR Image Action", "detail": {"action-type": "PUSH", '
            b'"result": "SUCCESS", "image-tag": "1"}, "account": "12", "region": "us-east-1"}',
            "not an ECR event from EventBridge: '12' is not an AWS account id",
        ),
    ],
)
def test_a_malformed_body_is_one_clear_400(
    bearer: httpx.Client, sender: str, body: bytes, message: str
) -> None:
    answer = bearer.post(
        f"/api/push/{sender}", content=body, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 400
    assert answer.json()["detail"].startswith(message)
