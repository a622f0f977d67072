"""The wizard's review step shows the API's warnings: an alarmEmail nobody would write to."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from fixtures.browser import screenshot

pytestmark = pytest.mark.browser


def test_review_warns_of_an_alarm_email_without_an_alarm_backend(console_page: Page) -> None:
    page = console_page
    page.goto("/tasks/new")
    page.check('input[name="sourceType"][value="Public"]')
    page.click("#wizard-next")
    page.fill("#f-srcRegistry", "127.0.0.1:5000")
    page.click("#wizard-next")
    page.select_option("#f-srcList", "SELECTED")
    page.fill("#f-srcImageList", "app:1.0")
    page.click("#wizard-next")
    page.check('input[name="destKind"][value="registry"]')
    page.fill("#f-destRegistry", "127.0.0.1:5001")
    page.click("#wizard-next")
    page.fill("#f-alarmEmail", "ops@example.com")
    page.click("#wizard-next")
    warning = page.locator("#review-warnings")
    expect(warning).to_contain_text("alarmEmail ops@example.com will not be told of failed runs")
    expect(warning).to_contain_text("FERRY_ALARM_BACKEND")
    expect(page.locator("#wizard-create")).to_be_enabled()
    screenshot(page, "wizard-review-alarm-warning")
