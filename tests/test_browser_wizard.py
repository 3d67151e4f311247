"""The merchant flow in headless Chromium, with JavaScript on and off."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from wizard.models import Diagnosis

pytestmark = pytest.mark.browser

MAX_STEPS = 20


def answer_until_result(page: Page, *, choose=lambda buttons: buttons.first) -> list[str]:
    """Answer every question (first option) until the result page; returns the URLs seen."""
    urls = []
    for _ in range(MAX_STEPS):
        form = page.locator("form[data-question]")
        causes = page.locator("[data-cause]")
        expect(form.or_(causes.first)).to_be_visible()
        if causes.count():
            return urls
        urls.append(page.url)
        choose(form.locator('button[name="answer"]')).click()
        expect(page).not_to_have_url(urls[-1])
    raise AssertionError("the wizard never reached a result")


def test_merchant_flow_with_javascript(page: Page, live_site, console_errors):
    page.goto(live_site.url)
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    page.locator('[data-action="start"]').click()
    expect(page.locator("form[data-question]")).to_be_visible()
    # A marker on window survives only if htmx swaps steps in place (no full reload).
    page.evaluate("window.__sameDocument = true")
    first_url = page.url
    assert re.search(r"/d/[A-Z2-9]{10}/q/1/$", first_url)
    question = page.locator("form[data-question]")
    first_question = question.get_attribute("data-question")

    question.locator('button[name="answer"]').first.click()
    expect(page).to_have_url(re.compile(r"/q/2/$"))
    expect(question).not_to_have_attribute("data-question", first_question)
    second_question = question.get_attribute("data-question")
    assert page.evaluate("window.__sameDocument") is True
    # Once the step has settled, focus is on the new question's heading and the live
    # region announced it.
    expect(page.locator("[data-focus]")).to_be_focused()
    expect(page.locator("#announcer")).not_to_be_empty()

    # Back (the link) shows question 1 again with the earlier answer highlighted.
    page.locator('[data-action="back"]').click()
    expect(page).to_have_url(first_url)
    expect(page.locator('button[aria-pressed="true"]')).to_have_count(1)
    # The browser's back and forward buttons, and a reload, never show a bare fragment.
    page.go_back()
    expect(page).to_have_url(re.compile(r"/q/2/$"))
    expect(question).to_have_attribute("data-question", second_question)
    page.go_forward()
    expect(page).to_have_url(first_url)
    expect(question).to_have_attribute("data-question", first_question)
    page.reload()
    expect(page.locator("header.site-header")).to_be_visible()
    expect(question).to_have_attribute("data-question", first_question)
    page.evaluate("window.__sameDocument = true")

    # Change the earlier answer: the questions after it are asked afresh.
    code = page.locator("[data-case-code]").first.get_attribute("data-case-code")
    page.locator('form[data-question] button[value="unsure"]').click()
    expect(page).to_have_url(re.compile(r"/q/2/$"))
    assert list(Diagnosis.objects.get(code=code).answers.values_list("position", "option")) == [(1, "unsure")]

    answer_until_result(page)
    expect(page.locator("[data-cause]").first).to_be_visible()
    probabilities = [
        float(p)
        for p in page.locator("[data-cause]").evaluate_all("els => els.map(e => e.dataset.probability)")
    ]
    assert probabilities == sorted(probabilities, reverse=True)
    expect(page.locator("[data-solution]").first).to_be_visible()
    code = page.locator("[data-case-code]").get_attribute("data-case-code")
    assert Diagnosis.objects.get(code=code).status == Diagnosis.Status.DIAGNOSED
    expect(page.locator("[data-print]")).to_be_visible()
    assert page.evaluate("window.__sameDocument") is True
    assert console_errors == []


def test_merchant_flow_without_javascript(new_page, live_site):
    page = new_page(java_script_enabled=False)
    page.goto(live_site.url)
    page.locator('[data-action="start"]').click()
    expect(page.locator("form[data-question]")).to_be_visible()
    page.locator('form[data-question] button[value="unsure"]').click()
    expect(page).to_have_url(re.compile(r"/q/2/$"))
    page.locator('form[data-question] button[name="answer"]').first.click()
    expect(page).to_have_url(re.compile(r"/q/3/$"))
    page.locator('[data-action="back"]').click()
    expect(page).to_have_url(re.compile(r"/q/2/$"))
    page.locator('[data-action="results"]').click()
    expect(page.locator("[data-cause]").first).to_be_visible()
    expect(page.locator("[data-solution]").first).to_be_visible()
    # Print and share need JavaScript: without it they stay hidden rather than broken.
    expect(page.locator("[data-print]")).to_be_hidden()
    code = page.locator("[data-case-code]").get_attribute("data-case-code")
    assert Diagnosis.objects.get(code=code).answers.count() == 2
    # Continue the same case from its code, as a merchant coming back later would.
    page.goto(live_site.url)
    page.fill("input[name=code]", code.lower())
    page.locator(".case-form button").click()
    expect(page.locator("[data-case-code]")).to_have_attribute("data-case-code", code)


@pytest.mark.parametrize("width,height", [(390, 844)])
def test_phone_layout_has_no_horizontal_scroll(new_page, live_site, width, height):
    page = new_page(viewport={"width": width, "height": height})
    page.goto(live_site.url)
    page.locator('[data-action="start"]').click()
    expect(page.locator("form[data-question]")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    heights = page.locator('button[name="answer"]').evaluate_all(
        "els => els.map(e => e.getBoundingClientRect().height)"
    )
    assert min(heights) >= 44
