"""The console reads like a product, checked in headless Chromium.

Labels in words beside parameter names; only the fields that apply; the
engine as it is; the next run; buttons that act only when they can; long
values and wide tables that stay inside their cards on a phone; messages that
end with what they announced; the API's documentation served from here.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Locator, Page, Route, expect

from fixtures.browser import screenshot, wizard_to_review
from imageferry.store import RunStatus, Store
from imageferry.tasks.params import PARAMETER_TABLE
from imageferry.tasks.service import TaskService
from imageferry.web.fields import LABELS

pytestmark = pytest.mark.browser

LOOPBACK = {
    "sourceType": "Public",
    "srcRegistry": "127.0.0.1:5000",
    "srcList": "SELECTED",
    "srcImageList": "app:1.0",
    "destRegistry": "127.0.0.1:5001",
    "scheduleType": "ONE_TIME",
}
LONG_LIST = ", ".join(f"team-{i:03d}/service-with-a-long-name:release-2026.{i}" for i in range(40))


def _field(page: Page, name: str) -> Locator:
    return page.locator(f'.field[data-field="{name}"]')


def _no_page_overflow(page: Page) -> None:
    wide, inner = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
    assert wide <= inner, f"{page.url}: the page is {wide}px wide in a {inner}px window"


def test_labels_are_words_with_the_parameter_name_beside_them(
    console_page: Page, service: TaskService
) -> None:
    page = console_page
    page.goto("/tasks/new")
    for p in PARAMETER_TABLE:
        label = _field(page, p.name).locator("label").first
        assert label.locator("code.param").inner_text() == p.name
        assert LABELS[p.name] in label.inner_text(), p.name
    expect(_field(page, "sourceType").locator("label").first).to_contain_text("Source Type")
    page.check('input[name="sourceType"][value="Amazon_ECR"]')
    page.click("#wizard-next")
    region = _field(page, "srcRegion").locator("label")
    expect(region).to_contain_text("Source Region")
    expect(region.locator("code.param")).to_have_text("srcRegion")
    screenshot(page, "labels-wizard-source")

    task = service.create_task({**LOOPBACK, "destPrefix": "mirror"}, "labelled")
    page.goto(f"/tasks/{task.id}")
    rows = page.locator("#param-table tr[data-param]")
    assert rows.count() >= 5
    for i in range(rows.count()):
        row = rows.nth(i)
        name = row.get_attribute("data-param")
        assert name is not None
        header = row.locator("th")
        expect(header.locator("code.param")).to_have_text(name)
        expect(header).to_contain_text(LABELS[name])
    expect(page.locator('#param-table tr[data-param="destPrefix"] th')).to_contain_text(
        "Destination Repo Prefix"
    )
    screenshot(page, "labels-task-detail")


def test_fields_appear_only_when_they_apply(console_page: Page, store: Store) -> None:
    page = console_page
    page.goto("/tasks/new")
    # An ECR source asks for its region and account, not for a registry.
    page.check('input[name="sourceType"][value="Amazon_ECR"]')
    page.click("#wizard-next")
    expect(_field(page, "srcRegion")).to_be_visible()
    expect(_field(page, "srcAccountId")).to_be_visible()
    expect(_field(page, "srcRegistry")).to_be_hidden()
    # A value typed here, then made moot by choosing a Public source, is not
    # submitted: it would fail validation as a region.
    page.fill("#f-srcRegion", "not-a-region")
    screenshot(page, "fields-ecr-source")
    page.click("#wizard-steps li[data-step=engine]")
    page.check('input[name="sourceType"][value="Public"]')
    page.click("#wizard-next")
    expect(_field(page, "srcRegion")).to_be_hidden()
    expect(_field(page, "srcAccountId")).to_be_hidden()
    expect(_field(page, "srcRegistry")).to_be_visible()
    expect(_field(page, "srcCredential")).to_be_visible()
    screenshot(page, "fields-public-source")
    page.click("#wizard-next")
    # A public registry cannot be listed: ALL is not offered, SELECTED is chosen.
    expect(page.locator('#f-srcList option[value="ALL"]')).to_be_disabled()
    expect(page.locator("#f-srcList")).to_have_value("SELECTED")
    expect(_field(page, "srcImageList")).to_be_visible()
    screenshot(page, "fields-public-images")
    # With a source registry its catalog can be listed; with ALL there is no list to give.
    page.click("#wizard-steps li[data-step=source]")
    page.fill("#f-srcRegistry", "127.0.0.1:5000")
    page.click("#wizard-next")
    expect(page.locator('#f-srcList option[value="ALL"]')).to_be_enabled()
    page.fill("#f-srcImageList", "app:1.0")
    page.select_option("#f-srcList", "ALL")
    expect(_field(page, "srcImageList")).to_be_hidden()
    screenshot(page, "fields-list-all")
    page.click("#wizard-next")
    # Destination fields follow the destination's kind.
    expect(_field(page, "destRegion")).to_be_visible()
    expect(_field(page, "destTagMutability")).to_be_visible()
    expect(_field(page, "destRegistry")).to_be_hidden()
    expect(_field(page, "destKmsKey")).to_be_hidden()
    page.select_option("#f-destEncryption", "KMS")
    expect(_field(page, "destKmsKey")).to_be_visible()
    page.fill("#f-destRegion", "us-west-2")
    page.check('input[name="destKind"][value="registry"]')
    for name in ("destRegion", "destAccountId", "destTagMutability", "destKmsKey"):
        expect(_field(page, name)).to_be_hidden()
    expect(_field(page, "destRegistry")).to_be_visible()
    expect(_field(page, "destPrefix")).to_be_visible()
    page.fill("#f-destRegistry", "127.0.0.1:5001")
    screenshot(page, "fields-registry-destination")
    page.click("#wizard-next")
    expect(_field(page, "scheduleExpression")).to_be_visible()
    page.select_option("#f-scheduleType", "ONE_TIME")
    expect(_field(page, "scheduleExpression")).to_be_hidden()
    page.click("#wizard-next")
    review = page.locator("#review-table")
    expect(review).to_contain_text("127.0.0.1:5001")
    for hidden in ("srcRegion", "srcImageList", "destRegion", "destEncryption"):
        expect(review.locator(f'tr[data-param="{hidden}"]')).to_have_count(0)
    expect(page.locator("#review-problems")).to_be_empty()
    screenshot(page, "fields-review")
    page.click("#wizard-create")
    expect(page.locator(".flash.ok")).to_contain_text("created")
    task = store.list_tasks().items[0]
    assert task.parameters["srcRegion"] == ""
    assert task.parameters["srcImageList"] == ""
    assert task.parameters["destRegion"] == ""
    assert task.parameters["srcList"] == "ALL"


def test_the_engine_names_what_is_involved(console_page: Page, service: TaskService) -> None:
    page = console_page
    loopback = service.create_task(LOOPBACK, "loopback")
    public = service.create_task(
        {
            "sourceType": "Public",
            "srcList": "SELECTED",
            "srcImageList": "ubuntu:22.04, quay.io/org/app:1",
            "destRegion": "us-west-2",
        },
        "public to ecr",
    )
    ecr = service.create_task(
        {"sourceType": "Amazon_ECR", "srcRegion": "us-east-1", "destRegion": "cn-north-1"},
        "ecr to ecr",
    )
    page.goto("/tasks")
    engine = 5  # Task ID, Name, Source, Destination, Engine
    cell = 'tr[data-task="{}"] td:nth-child({})'
    expect(page.locator(cell.format(loopback.id, engine))).to_have_text(
        "127.0.0.1:5000 → 127.0.0.1:5001"
    )
    expect(page.locator(cell.format(public.id, engine))).to_have_text(
        "Public registries → Amazon ECR"
    )
    expect(page.locator(cell.format(ecr.id, engine))).to_have_text("Amazon ECR")
    screenshot(page, "engine-task-list")
    page.goto(f"/tasks/{loopback.id}")
    expect(page.locator("#task-engine")).to_have_text("127.0.0.1:5000 → 127.0.0.1:5001")
    assert "Amazon ECR" not in page.locator("#param-table").inner_text()


def test_the_next_run_is_on_the_list_and_the_detail(
    console_page: Page, service: TaskService
) -> None:
    page = console_page
    cron = service.create_task(
        {**LOOPBACK, "scheduleType": "CRON", "scheduleExpression": "0 3 * * *"}, "nightly"
    )
    assert cron.next_run_at is not None
    when = cron.next_run_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    assert when.endswith("03:00:00 UTC")
    page.goto("/tasks")
    row = page.locator(f'tr[data-task="{cron.id}"]')
    expect(row.locator("td.next-run")).to_have_text(when)
    # The list redraws itself every 2 s from the API; the next run stays.
    page.wait_for_timeout(2500)
    expect(row.locator("td.next-run")).to_have_text(when)
    screenshot(page, "next-run-list")
    page.goto(f"/tasks/{cron.id}")
    expect(page.locator("#task-next-run")).to_have_text(when)
    screenshot(page, "next-run-detail")


def test_start_and_stop_act_only_when_they_can_and_flashes_end_with_their_run(
    console_page: Page, service: TaskService, store: Store
) -> None:
    page = console_page
    task = service.create_task(LOOPBACK, "buttons")
    page.goto(f"/tasks/{task.id}")
    start = page.locator('.actions button[data-action="start"]')
    stop = page.locator('.actions button[data-action="stop"]')
    expect(start).to_be_enabled()
    expect(stop).to_be_disabled()
    expect(stop).to_have_attribute("title", "No run is active.")
    start.click()
    flash = page.locator(".flash.ok")
    expect(flash).to_have_text("Run #1 started")
    expect(start).to_be_disabled()
    expect(stop).to_be_enabled()
    screenshot(page, "buttons-running")
    # On the list too, while the run is active; the list follows without a reload.
    page.goto("/tasks")
    row = page.locator(f'tr[data-task="{task.id}"]')
    expect(row.locator('button[data-action="start"]')).to_be_disabled()
    expect(row.locator('button[data-action="stop"]')).to_be_enabled()
    page.go_back()
    expect(flash).to_have_text("Run #1 started")
    # The run ends: the page reloads itself and the message says how it ended.
    run = store.active_run(task.id)
    assert run is not None
    store.set_run_status(run.id, RunStatus.IN_PROGRESS)
    store.finish_run(run.id)
    expect(flash).to_have_text("Run #1 ended DONE: 0 copied, 0 skipped, 0 failed")
    expect(page.locator("body")).not_to_contain_text("Run #1 started")
    expect(start).to_be_enabled()
    expect(stop).to_be_disabled()
    screenshot(page, "buttons-finished")
    # A page opened before the run ended still has Stop enabled: pressing it
    # tells the user in the page's words, never with a command to type.
    page.evaluate(
        "document.querySelector('.actions button[data-action=\"stop\"]').disabled = false"
    )
    stop.click()
    refusal = page.locator(".flash.err")
    expect(refusal).to_contain_text("Nothing to stop")
    assert "ferry" not in refusal.inner_text()
    assert "`" not in refusal.inner_text()
    screenshot(page, "buttons-stop-finished")


def test_a_stopped_run_ends_its_stopping_message(
    console_page: Page, service: TaskService, store: Store
) -> None:
    page = console_page
    task = service.create_task(LOOPBACK, "stopping")
    page.goto(f"/tasks/{task.id}")
    page.click('.actions button[data-action="start"]')
    expect(page.locator(".flash.ok")).to_have_text("Run #1 started")
    page.click('.actions button[data-action="stop"]')
    expect(page.locator(".flash.ok")).to_have_text("Stopping run #1")
    expect(page.locator('.actions button[data-action="stop"]')).to_be_disabled()
    run = store.active_run(task.id)
    assert run is not None
    store.finish_run(run.id)
    expect(page.locator(".flash.ok")).to_have_text(
        "Run #1 ended STOPPED: 0 copied, 0 skipped, 0 failed"
    )
    screenshot(page, "flash-stopped")


def test_a_narrow_window_keeps_long_values_and_tables_in_their_cards(
    console_page: Page, service: TaskService
) -> None:
    page = console_page
    page.set_viewport_size({"width": 375, "height": 800})
    task = service.create_task(
        {**LOOPBACK, "srcImageList": LONG_LIST, "destPrefix": "a-rather-long/mirror-prefix"},
        "a task with a long image list",
    )
    page.goto("/tasks")
    _no_page_overflow(page)
    scroller = page.locator("#task-table").locator("xpath=..")
    wide, shown = scroller.evaluate("e => [e.scrollWidth, e.clientWidth]")
    assert wide > shown, "the task table should scroll inside its card"
    screenshot(page, "narrow-task-list")

    page.goto(f"/tasks/{task.id}")
    _no_page_overflow(page)
    card = page.locator("#param-table").locator("xpath=ancestor::section[1]").bounding_box()
    cell = page.locator('#param-table tr[data-param="srcImageList"] td').bounding_box()
    assert card is not None and cell is not None
    assert cell["x"] + cell["width"] <= card["x"] + card["width"], "srcImageList leaves its card"
    assert cell["height"] > 100, "the long list should wrap onto many lines"
    screenshot(page, "narrow-task-detail")

    for path in ("/tasks/new", "/credentials"):
        page.goto(path)
        _no_page_overflow(page)
    screenshot(page, "narrow-credentials")
    page.goto("/tasks/new")
    screenshot(page, "narrow-wizard")


def test_the_review_shows_the_warnings_validation_returns(console_page: Page) -> None:
    page = console_page
    said = "alarmEmail is set but no alarm backend is configured: nobody will be told"

    adding = [said]

    def with_warning(route: Route) -> None:
        # The validation answer as it is, plus a warning the server may give. The handler
        # stays in place (unrouting races answers in flight); it stops adding instead.
        response = route.fetch()
        body = response.json()
        body["warnings"] = list(adding)
        route.fulfill(response=response, body=json.dumps(body))

    page.route("**/api/tasks/validate", with_warning)
    wizard_to_review(page, alarm_email="ops@example.com")
    warnings = page.locator("#review-warnings")
    expect(warnings).to_be_visible()
    expect(warnings.locator("li")).to_have_text([said])
    expect(page.locator("#wizard-create")).to_be_enabled()
    screenshot(page, "review-warnings")
    adding.clear()
    page.click("#wizard-steps li[data-step=schedule]")
    page.click("#wizard-next")
    # The review validates again, now without the added warning (a round trip to the
    # server, slow when the machine is busy).
    expect(warnings).to_be_hidden(timeout=20_000)
    page.unroute_all(behavior="wait")


def test_the_api_docs_are_served_from_here(console_page: Page, live_console: object) -> None:
    page = console_page
    origin = urlsplit(page.url)
    outside: list[str] = []

    def note(request: object) -> None:
        url = urlsplit(request.url)  # type: ignore[attr-defined]
        if url.scheme in ("data", "blob"):
            return
        if url.hostname not in ("127.0.0.1", "localhost", "::1"):
            outside.append(request.url)  # type: ignore[attr-defined]

    page.on("request", note)
    page.goto("/tasks")
    page.click("nav >> text=API")
    expect(page).to_have_url(f"{origin.scheme}://{origin.netloc}/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("imageferry")
    expect(
        page.locator(".opblock-summary-path", has_text="/api/tasks/{task_id}/start")
    ).to_have_count(1)
    # "Try it out" works with the logged-in session (its CSRF token goes along).
    page.locator(".opblock-summary-path", has_text="/api/secrets").first.click()
    page.click("button.try-out__btn")
    page.click("button.execute")
    expect(page.locator(".responses-wrapper .live-responses-table")).to_contain_text("200")
    screenshot(page, "api-docs")
    assert not outside, f"requests left loopback: {outside}"
