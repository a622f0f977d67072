"""Deployments: a task's stack is recorded, replaced on a new deploy, and goes with the task."""

from __future__ import annotations

import pytest

from imageferry.store import Store, TaskNotFound


def _deploy(store: Store, task_id: str, **changes: object) -> object:
    values: dict[str, object] = {
        "stack_name": "imageferry-t-1",
        "region": "cn-north-1",
        "stack_id": "arn:aws-cn:cloudformation:cn-north-1:123456789012:stack/imageferry-t-1/x",
        "worker_count": 4,
        "image_uri": "",
        **changes,
    }
    return store.set_deployment(task_id, **values)  # type: ignore[arg-type]


def test_a_deployment_is_recorded_replaced_and_deleted_with_its_task(store: Store) -> None:
    task = store.create_task({"destRegion": "cn-north-1"})
    assert store.get_deployment(task.id) is None
    _deploy(store, task.id)
    _deploy(store, task.id, worker_count=8, image_uri="example/ferry:1")
    deployment = store.get_deployment(task.id)
    assert deployment is not None
    assert (deployment.stack_name, deployment.region, deployment.target) == (
        "imageferry-t-1",
        "cn-north-1",
        "aws",
    )
    assert (deployment.worker_count, deployment.image_uri) == (8, "example/ferry:1")
    store.delete_task(task.id)
    assert store.get_deployment(task.id) is None


def test_an_unknown_task_cannot_be_deployed(store: Store) -> None:
    with pytest.raises(TaskNotFound):
        _deploy(store, "t-nosuchtask")
