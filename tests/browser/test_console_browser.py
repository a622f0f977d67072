"""The console in real headless Chromium: log in, the wizard, live progress."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from fixtures.browser import screenshot
from imageferry.store import ImageStatus, RunStatus, Store

pytestmark = pytest.mark.browser


def _next(page: Page) -> None:
    page.click("#wizard-next")


def test_login_is_required_and_wrong_passwords_are_told(chromium, live_console) -> None:
    context = chromium.new_context(base_url=live_console.url)
    page = context.new_page()
    page.goto("/tasks/new")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.fill('input[name="username"]', "admin")
    page.fill('input[name="password"]', "wrong")
    page.click('button[type="submit"]')
    expect(page.locator(".flash.err")).to_contain_text("Wrong user name or password")
    screenshot(page, "login-failed")
    context.close()


def test_wizard_validates_inline_and_creates_the_task(console_page: Page, store: Store) -> None:
    page = console_page
    page.goto("/tasks/new")
    expect(page.locator("#wizard-steps li.current")).to_have_text("1. Engine")
    page.check('input[name="sourceType"][value="Public"]')
    _next(page)
    page.fill("#f-srcRegistry", "127.0.0.1:5000")
    _next(page)
    page.select_option("#f-srcList", "SELECTED")
    page.fill("#f-srcImageList", "app:1.0,\n tools:latest")
    _next(page)
    # A malformed region is caught on this step, with the CLI's message.
    page.fill("#f-destRegion", "mars-north")
    _next(page)
    problem = page.locator('.problem[data-problem="destRegion"]')
    expect(problem).not_to_be_empty()
    expect(page.locator("#wizard-steps li.current")).to_have_text("4. Destination")
    screenshot(page, "wizard-inline-problem")
    page.fill("#f-destRegion", "")
    page.check('input[name="destKind"][value="registry"]')
    page.fill("#f-destRegistry", "127.0.0.1:5001")
    page.fill("#f-destPrefix", "mirror")
    _next(page)
    expect(problem).to_be_empty()
    page.fill("#f-name", "browser task")
    page.select_option("#f-scheduleType", "ONE_TIME")
    _next(page)
    review = page.locator("#review-table")
    expect(review).to_contain_text("destPrefix")
    expect(review).to_contain_text("mirror")
    screenshot(page, "wizard-review")
    page.click("#wizard-create")
    expect(page.locator("h1")).to_contain_text("browser task")
    task = store.list_tasks().items[0]
    assert task.parameters["destRegistry"] == "127.0.0.1:5001"
    assert task.parameters["srcImageList"] == "app:1.0,\n tools:latest"
    assert page.url.endswith(f"/tasks/{task.id}?msg=Task+{task.id}+created")


def test_task_list_and_detail_update_live(console_page: Page, store: Store) -> None:
    page = console_page
    task = store.create_task(
        {
            "sourceType": "Public",
            "srcRegistry": "127.0.0.1:5000",
            "srcList": "SELECTED",
            "srcImageList": "a,b",
            "destRegistry": "127.0.0.1:5001",
        },
        name="live",
    )
    page.goto("/tasks")
    row = page.locator(f'tr[data-task="{task.id}"]')
    expect(row).to_contain_text("CREATED")
    # Play the executor: the list must follow without a reload.
    run = store.create_run(task.id)
    store.set_images_total(run.id, 2)
    store.set_run_status(run.id, RunStatus.IN_PROGRESS)
    store.record_image_result(
        run.id,
        source="127.0.0.1:5000/a:latest",
        destination="127.0.0.1:5001/a:latest",
        status=ImageStatus.COPIED,
        digest="sha256:" + "c" * 64,
        bytes_transferred=10_000,
        seconds=0.2,
        attempts=1,
    )
    expect(row.locator(".progress")).to_have_text("1 / 2")
    expect(row).to_contain_text("IN_PROGRESS")
    screenshot(page, "task-list-live")
    page.click(f'tr[data-task="{task.id}"] >> text=View')
    expect(page.locator("#image-table")).to_contain_text("127.0.0.1:5001/a:latest")
    store.append_log(run.id, "info", "copied a:latest")
    expect(page.locator("#run-log")).to_contain_text("copied a:latest")
    store.record_image_result(
        run.id,
        source="127.0.0.1:5000/b:latest",
        destination="127.0.0.1:5001/b:latest",
        status=ImageStatus.FAILED,
        attempts=3,
        error="manifest unknown",
    )
    store.finish_run(run.id)
    expect(page.locator("#task-status")).to_have_text("ERROR", timeout=20_000)
    expect(page.locator("#image-table")).to_contain_text("manifest unknown")
    expect(page.locator("svg.chart")).to_have_count(4)
    page.fill('input[name="q"]', "b:latest")
    page.click("#image-filter button")
    expect(page.locator("#image-table tbody tr")).to_have_count(1)
    screenshot(page, "task-detail-error")


def test_credentials_page_never_shows_values(console_page: Page) -> None:
    page = console_page
    page.goto("/credentials")
    page.fill('input[name="name"]', "hub")
    page.check('input[name="kind"][value="basic"]')
    page.fill('input[name="first"]', "robot")
    page.fill('input[name="second"]', "s3cr3t-value")
    page.click("#secret-form button[type=submit]")
    expect(page.locator(".flash.ok")).to_contain_text("Credential hub added")
    expect(page.locator('tr[data-secret="hub"]')).to_be_visible()
    assert "s3cr3t-value" not in page.content()
    page.goto("/tasks/new")
    assert page.locator('#f-srcCredential option[value="hub"]').count() == 1
    screenshot(page, "credentials")
