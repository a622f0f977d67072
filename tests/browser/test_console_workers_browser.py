"""The Workers page in headless Chromium, with a real Celery worker holding a real run's batch."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from playwright.sync_api import Page, expect

from fixtures.browser import VALID, screenshot
from fixtures.celery_worker import HeldBatches, celery_app, poll, running_worker, send_batch
from fixtures.redis_server import *  # noqa: F403
from imageferry.executor.workers import WorkerMonitor, monitor_app
from imageferry.secrets import open_secret_store
from imageferry.settings import Settings
from imageferry.store import Store
from imageferry.tasks.service import TaskService

pytestmark = pytest.mark.browser


@pytest.fixture
def monitor(redis_url: str) -> WorkerMonitor:
    return WorkerMonitor(monitor_app(redis_url), ("ferry",), ttl=0.0, timeout=0.5)


@pytest.fixture
def app(settings: Settings, store: Store, service: TaskService, monitor: WorkerMonitor) -> FastAPI:
    from imageferry.web import create_app

    return create_app(
        settings,
        service=service,
        accounts=store,
        secret_store=open_secret_store(settings),
        out=io.StringIO(),
        workers=monitor,
    )


@pytest.fixture
def holding_worker(monitor: WorkerMonitor, store: Store) -> Iterator[tuple[str, str]]:
    """A worker holding a 3-image batch of a real run: (task id, run id)."""
    task = store.create_task(VALID, name="fleet")
    run = store.create_run(task.id)
    app = celery_app(str(monitor.app.conf.broker_url))
    held = HeldBatches(app)
    with running_worker(app, "w1@ferry-browser", concurrency=1):
        send_batch(app, run.id, keys=3, batch="team/api")
        try:
            poll(lambda: held.started)
            yield task.id, run.id
        finally:
            held.release()


def test_the_workers_page_shows_who_holds_which_units(
    console_page: Page, holding_worker: tuple[str, str]
) -> None:
    task_id, run_id = holding_worker
    page = console_page
    page.click("nav >> text=Workers")
    row = page.locator('tr[data-worker="w1@ferry-browser"]')
    expect(row).to_contain_text("alive")
    expect(row.locator(".in-flight")).to_have_text("3")
    expect(row.locator(f'li[data-run="{run_id}"]')).to_contain_text("team/api, 3 units")
    expect(page.locator('dd[data-queue="ferry"]')).to_have_text("0")
    screenshot(page, "workers")
    # The run links to its task's page (not followed: an active run's page streams its
    # log, which would hold the server open past the test).
    expect(row.locator(f'a[href="/tasks/{task_id}?run={run_id}"]')).to_have_text(run_id)
