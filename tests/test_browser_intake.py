"""Intake in a real browser: the understood list follows the typing, then the confirm
page, then the questions carry on after what was said."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from wizard.models import Diagnosis

pytestmark = pytest.mark.browser


def test_the_understood_list_follows_the_typing_and_the_facts_are_confirmed(
    page: Page, live_site, console_errors
):
    page.goto(live_site.url)
    box = page.locator('form[data-action="describe"] textarea[name="description"]')
    box.fill("刷卡提示请输入授权码，网络正常")
    expect(page.locator('[data-understood-live] [data-symptom="pay-asks-auth-code"]')).to_have_count(1)
    expect(page.locator('[data-understood-live] [data-symptom="network-no-signal"]')).to_have_attribute(
        "data-polarity", "absent"
    )
    page.locator('form[data-action="describe"] button[type="submit"]').click()
    confirm = page.locator('form[data-action="confirm"]')
    expect(confirm.locator("[data-understood]")).to_have_count(2)
    confirm.locator('input[value="q-network-no-signal:no"]').uncheck()
    confirm.locator('button[type="submit"]').click()
    expect(page.locator("form[data-question]")).to_be_visible()
    diagnosis = Diagnosis.objects.get()
    assert list(diagnosis.answers.values_list("question", "from_description")) == [("payment-screen", True)]
    expect(page.locator("form[data-question]")).not_to_have_attribute("data-question", "payment-screen")
    assert console_errors == []


def test_the_description_works_with_javascript_off(new_page, live_site):
    page = new_page(java_script_enabled=False)
    page.goto(live_site.url)
    page.locator('form[data-action="describe"] textarea[name="description"]').fill("电池鼓包了")
    page.locator('form[data-action="describe"] button[type="submit"]').click()
    expect(page.locator('[data-understood][data-symptom="battery-swollen"]')).to_be_visible()
    page.locator('form[data-action="confirm"] button[type="submit"]').click()
    # A hazard was reported: its warning leads every later page.
    expect(page.locator("[data-safety]")).to_be_visible()
    expect(page.locator("form[data-question]")).to_be_visible()
