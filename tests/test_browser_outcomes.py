"""Outcomes and authoring, end to end in headless Chromium."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import Page, expect

from wizard.models import Diagnosis, KnowledgeRevision, Ticket

pytestmark = pytest.mark.browser


def start_and_stop_early(page: Page, base: str) -> str:
    page.goto(base)
    page.locator('[data-action="start"]').click()
    page.locator('form[data-question] button[name="answer"]').first.click()
    expect(page).to_have_url(re.compile(r"/q/2/$"))
    page.locator('[data-action="results"]').click()
    expect(page.locator("[data-solution]").first).to_be_visible()
    return page.locator("[data-case-code]").first.get_attribute("data-case-code")


def test_not_fixed_then_escalate_with_a_validation_error(page: Page, live_site, console_errors):
    code = start_and_stop_early(page, live_site.url)
    first_step = page.locator("li[data-solution]").first.get_attribute("data-solution")
    page.locator(f'input[name="tried"][value="{first_step}"]').check()
    page.locator('[data-outcome="not-fixed"]').click()
    expect(page.locator("[data-tried]")).to_be_visible()
    expect(page.locator(f'li[data-solution="{first_step}"]')).to_have_count(0)

    page.locator('[data-action="escalate"]').click()
    form = page.locator('form[data-form="escalate"]')
    expect(form).to_be_visible()
    page.fill("#id_name", "王老板")
    page.fill("#id_phone", "12345")
    page.fill("#id_merchant_number", "898100000000001")
    page.check("#id_has_consent")
    page.locator('[data-action="submit-escalation"]').click()
    expect(page.locator("#id_phone")).to_have_attribute("aria-invalid", "true")
    # Everything typed is still there.
    expect(page.locator("#id_name")).to_have_value("王老板")
    expect(page.locator("#id_merchant_number")).to_have_value("898100000000001")
    expect(page.locator("#id_has_consent")).to_be_checked()
    page.fill("#id_phone", "138 0013 8000")
    page.locator('[data-action="submit-escalation"]').click()
    expect(page.locator("[data-ticket]")).to_be_visible()
    reference = page.locator("[data-ticket]").first.get_attribute("data-ticket")
    ticket = Ticket.objects.get(reference=reference)
    assert ticket.diagnosis.code == code and ticket.phone == "+8613800138000"
    assert Diagnosis.objects.get(code=code).status == Diagnosis.Status.ESCALATED
    assert console_errors == []


def test_admin_edit_shows_in_the_health_report_publish_and_wizard(
    page: Page, new_page, live_site, django_user_model, console_errors
):
    user = django_user_model.objects.create_user("editor", password="a-long-test-password-42", is_staff=True)
    user.groups.add(Group.objects.get(name="Support admins"))
    old_revision = KnowledgeRevision.objects.latest().number
    # A merchant starts before the change and answers one question.
    merchant = new_page()
    merchant.goto(live_site.url)
    merchant.locator('[data-action="start"]').click()
    first_question = merchant.locator("form[data-question]").get_attribute("data-question")
    merchant.locator('form[data-question] button[name="answer"]').first.click()
    expect(merchant).to_have_url(re.compile(r"/q/2/$"))

    page.goto(live_site.url + "/admin/")
    page.fill("#id_username", "editor")
    page.fill("#id_password", "a-long-test-password-42")
    page.locator("input[type=submit]").click()
    expect(page).to_have_url(live_site.url + "/admin/")  # signed in
    page.goto(live_site.url + "/admin/wizard/knowledgerevision/health/")
    expect(page.locator('[data-findings="none"]')).to_be_visible()
    # Make the first question useless: every link to its symptoms removed.
    page.goto(live_site.url + "/admin/wizard/question/?q=" + first_question)
    page.locator("#result_list tbody th a").first.click()
    page.locator("#id_is_published").uncheck()
    page.locator("input[name=_save]").click()
    expect(page.locator("[data-unpublished]")).to_have_attribute("data-unpublished", "1")
    page.goto(live_site.url + "/admin/wizard/knowledgerevision/publish/")
    expect(page.locator("[data-changes]")).to_be_visible()
    page.fill("#id_note", "drop the first question")
    page.locator("input[type=submit][value]").last.click()
    expect(page.locator("[data-unpublished]")).to_have_attribute("data-unpublished", "0")
    assert KnowledgeRevision.objects.latest().number == old_revision + 1

    # A new diagnosis never asks the unpublished question...
    fresh = new_page()
    fresh.goto(live_site.url)
    fresh.locator('[data-action="start"]').click()
    expect(fresh.locator("form[data-question]")).to_be_visible()
    expect(fresh.locator("form[data-question]")).not_to_have_attribute("data-question", first_question)
    # ...while the one started before finishes on its own revision.
    merchant.locator('[data-action="back"]').click()
    expect(merchant.locator("form[data-question]")).to_have_attribute("data-question", first_question)
    code = merchant.locator("[data-case-code]").first.get_attribute("data-case-code")
    assert Diagnosis.objects.get(code=code).revision_id == old_revision
    assert console_errors == []
