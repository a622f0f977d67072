"""End to end in headless Chromium with the embedded runtime really copying.

Images are pushed to one loopback registry; a task created through the
wizard copies them to another; the page shows the run finish, its per-image
table and charts. Then the task is cloned, and a run that keeps retrying an
unreachable source is stopped from the page. Tasks are ONE_TIME, which run
once as soon as they are created, so the pages only watch.
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from playwright.sync_api import Page, expect

from fixtures.browser import screenshot
from imageferry.runtime import Runtime
from imageferry.settings import Settings
from imageferry.store import Store
from imageferry.web import create_app
from stand_ins.images import push_image
from stand_ins.registry import LocalRegistry, free_port

pytestmark = pytest.mark.browser

DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "console.png"
IMAGES = ("app:1.0", "app:2.0", "tools:latest")


@pytest.fixture
def runtime(settings: Settings, store: Store) -> Iterator[Runtime]:
    # Short retry delay, but long enough that a retrying run can be seen and stopped.
    rt = Runtime(settings, store=store, scheduler_interval=0.5, retry_delay=3.0)
    rt.start()
    yield rt
    rt.stop()


@pytest.fixture
def app(settings: Settings, store: Store, runtime: Runtime) -> FastAPI:
    """The console on the embedded runtime (overrides the held-executor app)."""
    return create_app(
        settings,
        service=runtime.service,
        accounts=store,
        secret_store=runtime.secrets,
        out=io.StringIO(),
    )


def _wizard(page: Page, src: str, images: str, dst: str, prefix: str, name: str) -> None:
    page.goto("/tasks/new")
    page.check('input[name="sourceType"][value="Public"]')
    page.click("#wizard-next")
    page.fill("#f-srcRegistry", src)
    page.click("#wizard-next")
    page.select_option("#f-srcList", "SELECTED")
    page.fill("#f-srcImageList", images)
    page.click("#wizard-next")
    page.check('input[name="destKind"][value="registry"]')
    page.fill("#f-destRegistry", dst)
    page.fill("#f-destPrefix", prefix)
    page.click("#wizard-next")
    page.fill("#f-name", name)
    page.select_option("#f-scheduleType", "ONE_TIME")
    page.click("#wizard-next")
    expect(page.locator("#review-table")).to_contain_text(dst)
    page.click("#wizard-create")
    expect(page.locator("h1")).to_contain_text(name)


def _watch_finish(page: Page) -> None:
    """A ONE_TIME task runs once as soon as it exists; the open page follows it."""
    expect(page.locator("#task-status")).to_have_text("DONE", timeout=60_000)


def test_wizard_task_copies_and_the_page_shows_it(
    console_page: Page, src_registry: LocalRegistry, dst_registry: LocalRegistry
) -> None:
    page = console_page
    for i, ref in enumerate(IMAGES):
        repo, tag = ref.split(":")
        push_image(src_registry.url, repo, tag, layers=2, layer_size=256 * 1024, seed=i)
    _wizard(
        page,
        src_registry.host,
        ", ".join(IMAGES),
        dst_registry.host,
        "mirror",
        "nightly mirror",
    )
    _watch_finish(page)
    table = page.locator("#image-table tbody tr")
    expect(table).to_have_count(3)
    expect(page.locator('#image-table tbody tr[data-status="copied"]')).to_have_count(3)
    expect(page.locator("#image-table")).to_contain_text(f"{dst_registry.host}/mirror/app:2.0")
    expect(page.locator("#run-progress")).to_have_text("3 / 3")
    charts = page.locator("svg.chart")
    expect(charts).to_have_count(4)
    expect(page.locator('svg.chart[data-series="Images done"]')).to_have_attribute(
        "data-points", "4"
    )
    expect(page.locator("#run-log")).to_contain_text("3 image(s) selected")
    with httpx.Client() as client:
        for ref in IMAGES:
            repo, tag = ref.split(":")
            response = client.head(
                f"{dst_registry.url}/v2/mirror/{repo}/manifests/{tag}",
                headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
            )
            assert response.status_code == 200, ref
    shot = screenshot(page, "e2e-task-done")
    if os.environ.get("FERRY_DOCS_SCREENSHOT") == "1":
        # Refresh the README's picture of the console on request only.
        shutil.copyfile(shot, DOCS_SCREENSHOT)

    # Clone: the wizard opens pre-filled; change the prefix and run the copy.
    page.locator('.actions button[data-action="clone"]').first.click()
    expect(page.locator("h1")).to_contain_text("Clone task")
    expect(page.locator("#f-srcImageList")).to_have_value(", ".join(IMAGES))
    for _ in range(3):
        page.click("#wizard-next")
    page.fill("#f-destPrefix", "second")
    page.click("#wizard-next")
    expect(page.locator("#f-name")).to_have_value("nightly mirror (clone)")
    page.click("#wizard-next")
    page.click("#wizard-create")
    expect(page.locator("h1")).to_contain_text("nightly mirror (clone)")
    _watch_finish(page)
    expect(page.locator("#image-table")).to_contain_text(f"{dst_registry.host}/second/tools:latest")
    page.goto("/tasks")
    expect(page.locator("#task-table tbody tr")).to_have_count(2)
    expect(page.locator("#task-table")).not_to_contain_text("IN_PROGRESS")
    screenshot(page, "e2e-task-list")


def test_a_running_task_is_stopped_from_the_page(
    console_page: Page, dst_registry: LocalRegistry
) -> None:
    page = console_page
    unreachable = f"127.0.0.1:{free_port()}"
    _wizard(page, unreachable, "app:1.0", dst_registry.host, "", "will be stopped")
    expect(page.locator("#task-status")).to_have_text("IN_PROGRESS", timeout=30_000)
    page.locator('.actions button[data-action="stop"]').first.click()
    expect(page.locator("#task-status")).to_have_text("STOPPED", timeout=60_000)
    expect(page.locator("#run-section")).to_have_attribute("data-run-status", "STOPPED")
    screenshot(page, "e2e-task-stopped")
