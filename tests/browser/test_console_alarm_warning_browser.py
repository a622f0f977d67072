"""The wizard's review step shows the API's warnings: an alarmEmail nobody would write to."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from fixtures.browser import screenshot, wizard_to_review

pytestmark = pytest.mark.browser


def test_review_warns_of_an_alarm_email_without_an_alarm_backend(console_page: Page) -> None:
    page = console_page
    wizard_to_review(page, alarm_email="ops@example.com")
    warning = page.locator("#review-warnings")
    expect(warning).to_contain_text("alarmEmail ops@example.com will not be told of failed runs")
    expect(warning).to_contain_text("FERRY_ALARM_BACKEND")
    expect(page.locator("#wizard-create")).to_be_enabled()
    screenshot(page, "wizard-review-alarm-warning")
