"""The admin in a real browser, as support admins use it: the solution editor's previews,
axe on the main admin pages, and the keyboard."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import Page, expect

from wizard.models import Cause, KnowledgeRevision, Question, Solution

from .test_browser_accessibility import axe_violations, focus_is_visible

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
PASSWORD = "a-long-test-password-42"


@pytest.fixture
def admin_page(live_site, new_page, django_user_model) -> Page:
    """A support admin signed in to the admin, on a desktop-sized screen."""
    user = django_user_model.objects.create_user("support.admin", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name="Support admins"))
    page = new_page(viewport=DESKTOP)
    page.goto(live_site.url + "/admin/login/")
    page.fill("#id_username", "support.admin")
    page.fill("#id_password", PASSWORD)
    page.locator("input[type=submit]").click()
    expect(page.locator("#site-name")).to_be_visible()
    expect(page).not_to_have_url(re.compile(r"/login/"))
    return page


def box(page: Page, selector: str) -> dict:
    return page.locator(selector).bounding_box()


def test_each_language_has_its_own_labelled_preview_under_its_field(admin_page: Page, live_site):
    solution = Solution.objects.published().first()
    admin_page.goto(f"{live_site.url}/admin/wizard/solution/{solution.pk}/change/")
    for field, language in (("id_steps_zh_hans", "中文"), ("id_steps_en", "英文")):
        preview = admin_page.locator(f'[data-preview-for="{field}"]')
        expect(preview).to_be_visible()
        region = admin_page.locator(f"section:has([data-preview-for='{field}'])")
        label = admin_page.locator(f"#{region.get_attribute('aria-labelledby')}")
        expect(label).to_be_visible()
        expect(label).to_contain_text(language)
        textarea, shown = box(admin_page, f"#{field}"), preview.bounding_box()
        # Right under its own field, in the same column.
        assert 0 <= shown["y"] - (textarea["y"] + textarea["height"]) < 80, (field, textarea, shown)
        assert abs(shown["x"] - textarea["x"]) < 40, (field, textarea, shown)
    zh_before = admin_page.locator('[data-preview-for="id_steps_zh_hans"]').inner_html()
    admin_page.locator("#id_steps_en").fill("1. **Restart** the terminal")
    en = admin_page.locator('[data-preview-for="id_steps_en"]')
    expect(en.locator("strong")).to_have_text("Restart")
    assert admin_page.locator('[data-preview-for="id_steps_zh_hans"]').inner_html() == zh_before


def admin_pages(live_site) -> dict[str, str]:
    cause = Cause.objects.published().first()
    question = Question.objects.filter(kind="choice").first()
    solution = Solution.objects.published().first()
    revision = KnowledgeRevision.objects.latest()
    base = live_site.url + "/admin/wizard/"
    return {
        "index": live_site.url + "/admin/",
        "cause list": base + "cause/",
        "cause": f"{base}cause/{cause.pk}/change/",
        "solution list": base + "solution/",
        "solution": f"{base}solution/{solution.pk}/change/",
        "question list": base + "question/",
        "question": f"{base}question/{question.pk}/change/",
        "new cause": base + "cause/add/",
        "revisions": base + "knowledgerevision/",
        "revision": f"{base}knowledgerevision/{revision.number}/",
        "health": base + "knowledgerevision/health/",
        "import": base + "knowledgerevision/import/",
        "insights": live_site.url + "/insights/",
    }


def test_admin_pages_pass_axe(admin_page: Page, live_site):
    problems = {}
    for name, url in admin_pages(live_site).items():
        admin_page.goto(url)
        admin_page.wait_for_load_state()  # the admin's widgets draw themselves on load
        found = axe_violations(admin_page)
        if found:
            problems[name] = found
    for name, found in problems.items():
        print(name)
        for line in found:
            print("   ", line)
    assert problems == {}


def test_keyboard_walk_through_the_admin_keeps_focus_visible(admin_page: Page, live_site):
    """From the top of a cause's page to its Save button: header, fields, the inline rows
    and their searchable selects, every stop shows where the focus is."""
    cause = Cause.objects.published().first()
    admin_page.goto(f"{live_site.url}/admin/wizard/cause/{cause.pk}/change/")
    admin_page.wait_for_load_state()
    seen = set()
    for _ in range(400):
        admin_page.keyboard.press("Tab")
        focused = focus_is_visible(admin_page)
        assert focused["visible"], focused
        seen.add(focused["tag"])
        if focused["name"] == "_save":
            break
    else:
        pytest.fail("Tab never reached the Save button")
    assert {"a", "input", "select", "textarea", "span"} <= seen  # span: the searchable selects
