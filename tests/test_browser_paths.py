"""Every path a merchant takes works (issue 14), in headless Chromium: the browser's own
back and forward with htmx, the confirmation after "did it work?", error pages in
development, the printed result, and numbers that never wrap away from their % sign."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from wizard import diagnoses
from wizard.models import Diagnosis

pytestmark = pytest.mark.browser


def start(page: Page, base: str) -> str:
    page.goto(base)
    page.locator('[data-action="start"]').click()
    expect(page.locator("form[data-question]")).to_be_visible()
    return page.locator("[data-case-code]").first.get_attribute("data-case-code")


def answer_open(page: Page, code: str, number: int) -> None:
    """Answer question ``number`` with an answer that keeps the questions going."""
    from wizard.knowledge import get_snapshot
    from wizard.position import Reply, locate

    diagnosis = Diagnosis.objects.get(code=code)
    snapshot = get_snapshot(diagnosis.revision_id)
    form = page.locator("form[data-question]")
    question = form.get_attribute("data-question")
    values = form.locator('button[name="answer"]').evaluate_all("els => els.map(e => e.value)")
    given = diagnoses.replies(diagnosis)
    value = next(v for v in values if not locate(snapshot, [*given, Reply(question, v)]).is_finished)
    form.locator(f'button[value="{value}"]').click()
    expect(page).to_have_url(re.compile(rf"/q/{number + 1}/$"))


def a_different_answer(page: Page) -> str:
    """Click an answer other than the highlighted one; returns its value."""
    buttons = page.locator('form[data-question] button[name="answer"]:not([aria-pressed="true"])')
    value = buttons.first.get_attribute("value")
    buttons.first.click()
    return value


def test_browser_back_then_a_different_answer_is_a_change(page: Page, live_site, console_errors):
    code = start(page, live_site.url)
    for number in (1, 2, 3):
        answer_open(page, code, number)
    question_3 = Diagnosis.objects.get(code=code).trail[2][0]
    # The browser's back button: question 3, showing the answer given.
    page.go_back()
    expect(page).to_have_url(re.compile(r"/q/3/$"))
    expect(page.locator("form[data-question]")).to_have_attribute("data-question", question_3)
    expect(page.locator('button[aria-pressed="true"]')).to_have_count(1)
    new = a_different_answer(page)
    # A change, not a clash: recorded, the other answers kept, and the page says so.
    notice = page.locator("[data-changed]")
    expect(notice).to_have_attribute("data-changed", "3")
    expect(page.locator("[data-error]")).to_have_count(0)
    diagnosis = Diagnosis.objects.get(code=code)
    assert len(diagnosis.trail) == 3 and diagnosis.trail[2] == [question_3, new]
    # The address is the page shown, and back and forward bring no stale page back.
    shown = r"/result/$" if page.locator("[data-cause]").count() else r"/q/4/$"
    expect(page).to_have_url(re.compile(shown))
    page.go_back()
    expect(page).to_have_url(re.compile(r"/q/3/$"))
    expect(page.locator(f'button[value="{new}"][aria-pressed="true"]')).to_be_visible()
    expect(page.locator("[data-error]")).to_have_count(0)
    page.go_forward()
    expect(page).to_have_url(re.compile(shown))
    expect(page.locator("[data-error]")).to_have_count(0)
    expect(page.locator("header.site-header")).to_be_visible()
    assert console_errors == []


def test_back_from_the_result_then_a_different_answer_is_applied(page: Page, live_site, console_errors):
    code = start(page, live_site.url)
    for number in (1, 2):
        answer_open(page, code, number)
    page.locator('[data-action="results"]').click()
    expect(page.locator("[data-cause]").first).to_be_visible()
    # Back: the question the merchant stopped at (still unanswered), then question 2.
    page.go_back()
    expect(page).to_have_url(re.compile(r"/q/3/$"))
    expect(page.locator("form[data-question]")).to_have_attribute("action", re.compile(r"/q/3/$"))
    expect(page.locator('button[aria-pressed="true"]')).to_have_count(0)
    page.go_back()
    expect(page).to_have_url(re.compile(r"/q/2/$"))
    expect(page.locator("form[data-question]")).to_have_attribute("action", re.compile(r"/q/2/$"))
    expect(page.locator('button[aria-pressed="true"]')).to_have_count(1)
    new = a_different_answer(page)
    # Applied as a change, and said: never the old result again as if nothing happened.
    expect(page.locator("[data-changed]")).to_have_attribute("data-changed", "2")
    expect(page.locator("[data-error]")).to_have_count(0)
    assert Diagnosis.objects.get(code=code).trail[1][1] == new
    assert console_errors == []


def test_a_finished_case_of_another_browser_says_why_an_answer_cannot_change(page: Page, new_page, live_site):
    code = start(page, live_site.url)
    answer_open(page, code, 1)
    page.locator('[data-action="results"]').click()
    expect(page.locator("[data-cause]").first).to_be_visible()
    # Someone given the case code looks at the first question and tries another answer.
    stranger = new_page()
    stranger.goto(f"{live_site.url}/d/{code}/q/1/")
    expect(stranger.locator('button[aria-pressed="true"]')).to_have_count(1)
    a_different_answer(stranger)
    expect(stranger.locator("[data-locked]")).to_be_visible()
    expect(stranger.locator("header.site-header")).to_be_visible()
    assert len(Diagnosis.objects.get(code=code).trail) == 1


def stop_early(page: Page, base: str) -> str:
    code = start(page, base)
    answer_open(page, code, 1)
    page.locator('[data-action="results"]').click()
    expect(page.locator("[data-solution]").first).to_be_visible()
    return code


@pytest.mark.parametrize("outcome", ["fixed", "not-fixed"])
def test_the_confirmation_after_did_it_work_is_in_view_and_focused(
    new_page, live_site, console_errors, outcome
):
    page = new_page(viewport={"width": 390, "height": 700})
    stop_early(page, live_site.url)
    page.evaluate("window.__sameDocument = true")
    if outcome == "fixed":
        page.locator('[data-outcome="fixed"]').first.click()
        confirmation = page.locator("#feedback-heading")
        expect(page.locator('[data-feedback="fixed"]')).to_be_visible()
    else:
        page.locator('input[name="tried"]').first.check()
        page.locator('[data-outcome="not-fixed"]').click()
        confirmation = page.locator("#next-steps")
    expect(confirmation).to_be_focused()
    expect(confirmation).to_be_in_viewport()
    assert page.evaluate("window.__sameDocument") is True  # htmx swapped it in


def test_still_not_working_with_nothing_ticked_is_asked_again(new_page, live_site):
    page = new_page(viewport={"width": 390, "height": 700})
    code = stop_early(page, live_site.url)
    page.locator('[data-outcome="not-fixed"]').click()
    error = page.locator("#feedback-error")
    expect(error).to_be_focused()
    expect(error).to_be_in_viewport()
    assert Diagnosis.objects.get(code=code).tried == []


def test_error_pages_stay_pages_with_debug_on(page: Page, live_site, settings):
    """Every local `make run` has DEBUG on: a 400 or 404 under htmx is still the site's
    own page in its layout, not bare unstyled HTML."""
    settings.DEBUG = True
    page.goto(live_site.url)
    page.evaluate("window.__sameDocument = true")
    page.fill("input[name=code]", "ABCDE-23456")  # the right shape, but no such case: 404
    page.locator(".case-form button").click()
    # The not-found page has come (its address, its heading focused): the landing page's
    # own field also holds the code typed, and filling it before the swap would be undone.
    expect(page).to_have_url(re.compile(r"/case/\?code=ABCDE-23456"))
    expect(page.locator("main h1[data-focus]")).to_be_focused()
    expect(page.locator("form input[name=code]")).to_have_value("ABCDE-23456")
    expect(page.locator("header.site-header")).to_be_visible()
    page.fill("input[name=code]", "??")  # not a case code at all: 400
    page.locator(".case-form button").click()
    expect(page.locator("[aria-invalid=true], .field-error, .error").first).to_be_visible()
    expect(page.locator("header.site-header")).to_be_visible()
    assert page.evaluate("window.__sameDocument") is True


def test_a_server_error_under_htmx_shows_the_error_page(page: Page, live_site):
    """A 500 is not swapped by htmx's rules: the error page's words show in place, not
    nothing at all (the answers already given are safe, and the page says so)."""
    start(page, live_site.url)
    body = (Path(__file__).parents[1] / "templates" / "500.html").read_text(encoding="utf-8")
    page.route("**/finish/", lambda route: route.fulfill(status=500, body=body, content_type="text/html"))
    page.locator('[data-action="results"]').click()
    heading = page.locator("main h1")
    expect(heading).to_contain_text("Something went wrong")
    expect(heading).to_be_focused()
    expect(page.locator("header.site-header")).to_be_visible()


def test_the_printed_result_says_whose_it_is_and_when(page: Page, live_site):
    code = stop_early(page, live_site.url)
    header = page.locator("[data-print-header]")
    expect(header).to_be_hidden()  # on screen, the page's own header says it
    page.emulate_media(media="print")
    expect(header).to_be_visible()
    display_code = Diagnosis.objects.get(code=code).display_code
    expect(header).to_contain_text(display_code)
    expect(header).to_contain_text(datetime.date.today().strftime("%Y-%m-%d"))
    expect(header).to_contain_text("POS")  # the site's name, in either language
    expect(page.locator("header.site-header")).to_be_hidden()


# A number and its % sign on different lines ("93 / %"): any text node holding "NN%"
# whose characters are laid out on more than one line.
SPLIT_PERCENTAGES = """() => {
  const split = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (const match of node.data.matchAll(/\\d+\\s*%/g)) {
      const range = document.createRange();
      range.setStart(node, match.index);
      range.setEnd(node, match.index + match[0].length);
      const lines = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
      if (lines.size > 1) split.push(match[0] + " in " + node.parentElement.outerHTML.slice(0, 80));
    }
  }
  return split;
}"""


def test_percentages_never_wrap_away_from_their_number(new_page, live_site, django_user_model):
    from .conftest import make_agent

    merchant = new_page(viewport={"width": 240, "height": 700}, locale="en-US")
    code = start(merchant, live_site.url)
    assert merchant.evaluate(SPLIT_PERCENTAGES) == []
    answer_open(merchant, code, 1)
    merchant.locator('[data-action="results"]').click()
    expect(merchant.locator("[data-cause]").first).to_be_visible()
    for width in (200, 240, 320):
        merchant.set_viewport_size({"width": width, "height": 700})
        assert merchant.evaluate(SPLIT_PERCENTAGES) == [], width

    make_agent("narrow.agent", password="a-long-test-password-42")
    agent = new_page(viewport={"width": 1024, "height": 700}, locale="en-US")
    agent.goto(f"{live_site.url}/agent/login/?next=/agent/case/{code}/")
    agent.fill("#id_username", "narrow.agent")
    agent.fill("#id_password", "a-long-test-password-42")
    agent.keyboard.press("Enter")
    expect(agent.locator(".console-side [data-cause]").first).to_be_visible()
    for width in (1024, 700, 320, 200):
        agent.set_viewport_size({"width": width, "height": 700})
        assert agent.evaluate(SPLIT_PERCENTAGES) == [], width
