"""The agent console in headless Chromium, driven by the keyboard alone."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import Page, expect

from wizard.models import Diagnosis

pytestmark = pytest.mark.browser


@pytest.fixture
def agent_login(live_site, django_user_model):
    user = django_user_model.objects.create_user("kb.agent", password="a-long-test-password-42")
    user.groups.add(Group.objects.get_or_create(name="Agents")[0])
    return user


def test_full_diagnosis_with_the_keyboard_alone(page: Page, live_site, agent_login, console_errors):
    page.goto(live_site.url + "/agent/")
    # Sign in with the keyboard.
    page.locator("#id_username").focus()
    page.keyboard.type("kb.agent")
    page.keyboard.press("Tab")
    page.keyboard.type("a-long-test-password-42")
    page.keyboard.press("Enter")
    expect(page.locator('[data-action="start"]')).to_be_visible()
    # Signed in (a whole new page): the shortcuts work once its scripts have run.
    page.wait_for_load_state()
    # Tab to "start" and press Enter.
    page.locator('[data-action="start"]').focus()
    page.keyboard.press("Enter")
    expect(page.locator("[data-console] form[data-question]")).to_be_visible()
    page.evaluate("window.__sameDocument = true")

    first = page.locator("form[data-question]").get_attribute("data-question")
    page.keyboard.press("1")
    expect(page.locator("form[data-question]")).not_to_have_attribute("data-question", first)
    second = page.locator("form[data-question]").get_attribute("data-question")
    # Backspace goes back to question 1 with the answer shown.
    page.keyboard.press("Backspace")
    expect(page.locator("form[data-question]")).to_have_attribute("data-question", first)
    expect(page.locator('button[aria-pressed="true"]')).to_have_count(1)
    page.keyboard.press("1")  # the same answer again: nothing changes
    expect(page.locator("form[data-question]")).to_have_attribute("data-question", second)
    for _ in range(3):
        if not page.locator("form[data-question]").count():
            break
        current = page.locator("form[data-question]").get_attribute("data-question")
        page.keyboard.press("2")
        # The next question, or none when that answer ended the questions.
        expect(page.locator(f'form[data-question="{current}"]')).to_have_count(0)
    page.keyboard.press("r")
    expect(page.locator("[data-solution]").first).to_be_visible()
    # The swap has settled once the console moved focus to the result: typing elsewhere
    # before that would have the focus taken from under it.
    expect(page.locator("#result-heading")).to_be_focused()
    assert page.evaluate("window.__sameDocument") is True  # ranking moved without reloads

    code = page.locator("[data-case-code]").first.get_attribute("data-case-code")
    diagnosis = Diagnosis.objects.get(code=code)
    assert diagnosis.status == Diagnosis.Status.DIAGNOSED
    assert set(diagnosis.answers.values_list("answered_by__username", flat=True)) == {"kb.agent"}
    # Typing in the notes never triggers a shortcut, and the notes save by themselves:
    # wait for the save of the whole text (earlier saves may carry only the start of it).
    page.locator("#id_notes").focus()
    with page.expect_response(lambda r: "/notes/" in r.url and "restarted" in (r.request.post_data or "")):
        page.keyboard.type("r1 restarted")
    expect(page.locator("#notes-status")).not_to_be_empty()
    diagnosis.refresh_from_db()
    assert diagnosis.notes == "r1 restarted"
    assert console_errors == []


def sign_in_and_start(page: Page, live_site) -> None:
    page.goto(live_site.url + "/agent/login/")
    page.fill("#id_username", "kb.agent")
    page.fill("#id_password", "a-long-test-password-42")
    page.locator("#id_password").press("Enter")
    page.locator('[data-action="start"]').click()
    expect(page.locator("[data-console] form[data-question]")).to_be_visible()
    page.wait_for_load_state()


def test_after_an_error_the_address_is_the_case_page_and_a_reload_shows_it(
    page: Page, live_site, agent_login, console_errors
):
    sign_in_and_start(page, live_site)
    case_url = page.url
    # An outcome "resolved by this step" without choosing the step: an error, in place.
    page.locator("#id_notes").fill("caller restarted twice")
    page.locator('[data-outcome="resolved"]').click()
    expect(page.locator("[data-error]")).to_be_visible()
    assert "/outcome/" not in page.url
    assert page.url == case_url
    # What was typed is still there, and a reload shows the page (not "HTTP ERROR 405").
    expect(page.locator("#id_notes")).to_have_value("caller restarted twice")
    response = page.reload()
    assert response.status == 200
    expect(page.locator("[data-console]")).to_be_visible()
    expect(page.locator("#id_notes")).to_have_value("caller restarted twice")

    # An answer that clashes with the merchant's (answered meanwhile, elsewhere).
    code = page.locator("[data-case-code]").first.get_attribute("data-case-code")
    diagnosis = Diagnosis.objects.get(code=code)
    question = page.locator("form[data-question]").get_attribute("data-question")
    from wizard import diagnoses

    diagnoses.answer(diagnosis, 1, question, "unsure")
    page.keyboard.press("Backspace")  # nothing to go back to: step 1
    page.locator('form[data-question] button[name="answer"]').first.click()
    expect(page.locator("[data-error]")).to_be_visible()
    assert "/answer/" not in page.url
    assert page.reload().status == 200
    expect(page.locator("[data-console]")).to_be_visible()
    assert console_errors == []


def test_after_show_results_now_the_questions_can_be_taken_up_again(
    page: Page, live_site, agent_login, console_errors
):
    sign_in_and_start(page, live_site)
    first = page.locator("form[data-question]").get_attribute("data-question")
    page.keyboard.press("1")
    expect(page.locator("form[data-question]")).not_to_have_attribute("data-question", first)
    second = page.locator("form[data-question]").get_attribute("data-question")
    page.keyboard.press("r")
    expect(page.locator("[data-solution]").first).to_be_visible()
    expect(page.locator("form[data-question]")).to_have_count(0)

    # Backspace goes back to the last question answered, which can be changed.
    page.keyboard.press("Backspace")
    expect(page.locator("form[data-question]")).to_have_attribute("data-question", first)
    expect(page.locator('button[aria-pressed="true"]')).to_have_count(1)

    # "Show the latest" result again, then continue asking with the keyboard (C).
    page.keyboard.press("r")
    expect(page.locator("[data-solution]").first).to_be_visible()
    expect(page.locator('[data-action="continue"]')).to_be_visible()
    page.keyboard.press("c")
    expect(page.locator("form[data-question]")).to_have_attribute("data-question", second)
    code = page.locator("[data-case-code]").first.get_attribute("data-case-code")
    assert Diagnosis.objects.get(code=code).status == Diagnosis.Status.IN_PROGRESS
    # The "change the last answer" link on the result works too.
    page.keyboard.press("r")
    expect(page.locator("form[data-question]")).to_have_count(0)
    page.locator('[data-action="back"]').click()
    expect(page.locator("form[data-question]")).to_have_attribute("data-question", first)
    assert console_errors == []
