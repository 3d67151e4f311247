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
