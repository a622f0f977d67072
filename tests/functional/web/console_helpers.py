"""Helpers for the console's tests: a store-backed task service and logging in.

Everything is real except the executor: ``StoreTasks`` is the task service
the console talks to, built directly on the real SQLite store, and the tests
play the executor by recording results, logs and run ends in that store.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import httpx

from imageferry.store import (
    ImageResultRecord,
    ImageStatus,
    LogRecord,
    Page,
    RunRecord,
    Store,
    TaskRecord,
    TaskStatus,
    Trigger,
)
from imageferry.tasks.params import TaskSpec

ADMIN_PASSWORD = "correct horse battery staple"

#: A valid task between two loopback registries (the console never contacts them here).
VALID = {
    "sourceType": "Public",
    "srcRegistry": "127.0.0.1:5000",
    "srcList": "SELECTED",
    "srcImageList": "app:1.0, tools:latest",
    "destRegistry": "127.0.0.1:5001",
    "destPrefix": "mirror",
    "scheduleType": "ONE_TIME",
}


class StoreTasks:
    """The task operations on the real store, validated by ``TaskSpec`` like the CLI."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def create_task(self, parameters: Mapping[str, str], name: str | None = None) -> TaskRecord:
        spec = TaskSpec.from_parameters({**parameters, "name": name or ""})
        return self.store.create_task(spec.parameters(), name=spec.name)

    def list_tasks(
        self, status: TaskStatus | None = None, offset: int = 0, limit: int = 50
    ) -> Page[TaskRecord]:
        return self.store.list_tasks(status=status, offset=offset, limit=limit)

    def get_task(self, task_id: str) -> TaskRecord:
        return self.store.get_task(task_id)

    def start(self, task_id: str) -> RunRecord:
        return self.store.create_run(task_id, Trigger.MANUAL)

    def stop(self, task_id: str) -> RunRecord | None:
        active = self.store.active_run(task_id)
        return self.store.request_stop(active.id) if active else None

    def clone(self, task_id: str, overrides: Mapping[str, str]) -> TaskRecord:
        task = self.store.get_task(task_id)
        return self.create_task({**task.parameters, **overrides}, overrides.get("name"))

    def delete(self, task_id: str) -> None:
        self.store.delete_task(task_id)

    def runs(self, task_id: str) -> Sequence[RunRecord]:
        return self.store.list_runs(task_id).items

    def get_run(self, run_id: str) -> RunRecord:
        return self.store.get_run(run_id)

    def image_results(
        self, run_id: str, search: str | None = None, status: ImageStatus | None = None
    ) -> Sequence[ImageResultRecord]:
        return self.store.list_image_results(run_id, search=search, status=status).items

    def logs(self, run_id: str, after_id: int = 0, limit: int = 500) -> Sequence[LogRecord]:
        return self.store.logs(run_id, after=after_id, limit=limit)


def csrf_from(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html) or re.search(
        r'name="csrf-token" content="([^"]+)"', html
    )
    assert found, "page carries no CSRF token"
    return found.group(1)


def log_in(client: httpx.Client, username: str = "admin", password: str = ADMIN_PASSWORD) -> str:
    """Log ``client`` in through the login form; returns the session's CSRF token."""
    form = client.get("/login")
    response = client.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "csrf_token": csrf_from(form.text),
            "next": "/tasks",
        },
    )
    assert response.status_code == 303, response.text
    return csrf_from(client.get("/tasks").text)
