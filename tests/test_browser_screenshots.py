"""Screenshots of the main pages at desktop and phone sizes.

They are written to ``SCREENSHOT_DIR``, and only when it is set (the ``screenshots``
marker, see conftest.py): ``make screenshots`` writes them to ``docs/screenshots``, where
the README shows them.
"""

from __future__ import annotations

import os
import random
import re
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from wizard.models import Answer, Diagnosis, KnowledgeRevision

pytestmark = [pytest.mark.browser, pytest.mark.screenshots]

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture
def out() -> Path:
    """The directory SCREENSHOT_DIR names (set whenever these tests run)."""
    path = Path(os.environ["SCREENSHOT_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def some_history(revision: KnowledgeRevision) -> None:
    """A few weeks of made-up diagnoses so the insights charts have something to show."""
    rng = random.Random(7)
    causes = [c["slug"] for c in revision.payload["causes"]]
    questions = [q["slug"] for q in revision.payload["questions"]][:8]
    for _ in range(120):
        fixed = rng.random() < 0.6
        diagnosis = Diagnosis.objects.create(
            revision=revision,
            status=rng.choice(["diagnosed", "resolved", "escalated", "in-progress"]),
            top_cause=rng.choice(causes),
            question_count=rng.randint(3, 8),
            is_fixed=fixed if rng.random() < 0.7 else None,
            fixed_by="restart-check-network" if fixed else "",
        )
        for position, question in enumerate(rng.sample(questions, 3), start=1):
            Answer.objects.create(
                diagnosis=diagnosis,
                position=position,
                question=question,
                option=rng.choice(["unsure", "yes", "no"]),
            )


@pytest.mark.parametrize("size", list(SIZES))
def test_screenshots_of_the_main_pages(new_page, live_site, django_user_model, size, out):
    page = new_page(viewport=SIZES[size], device_scale_factor=1)
    page.goto(live_site.url)
    page.screenshot(path=out / f"landing-{size}.png", full_page=True)
    page.locator('[data-action="start"]').click()
    expect(page.locator("form[data-question]")).to_be_visible()
    page.screenshot(path=out / f"question-{size}.png", full_page=True)
    for number in (2, 3):
        page.locator('form[data-question] button[name="answer"]').first.click()
        expect(page).to_have_url(re.compile(rf"/q/{number}/$"))
    page.locator('[data-action="results"]').click()
    expect(page.locator("[data-cause]").first).to_be_visible()
    page.screenshot(path=out / f"result-{size}.png", full_page=True)

    user = django_user_model.objects.create_user(
        f"shots-{size}", password="a-long-test-password-42", is_staff=True
    )
    user.groups.add(Group.objects.get(name="Agents"), Group.objects.get(name="Support admins"))
    page.goto(live_site.url + "/agent/login/")
    page.fill("#id_username", f"shots-{size}")
    page.fill("#id_password", "a-long-test-password-42")
    page.locator("main button[type=submit]").click()
    expect(page.locator('[data-action="start"]')).to_be_visible()
    page.wait_for_load_state()  # a whole new page: its scripts run before the shortcuts work
    page.locator('[data-action="start"]').click()
    expect(page.locator("[data-console]")).to_be_visible()
    page.keyboard.press("1")
    expect(page.locator("[data-console] .timeline li")).to_have_count(1)
    page.screenshot(path=out / f"agent-console-{size}.png", full_page=True)

    some_history(KnowledgeRevision.objects.latest())
    page.goto(live_site.url + "/insights/")
    expect(page.locator("canvas[data-chart]").first).to_be_visible()
    page.wait_for_function(  # drawn: every canvas has its chart
        "[...document.querySelectorAll('canvas[data-chart]')].every(c => window.Chart?.getChart(c))"
    )
    page.screenshot(path=out / f"insights-{size}.png", full_page=True)
    for name in ("landing", "question", "result", "agent-console", "insights"):
        assert (out / f"{name}-{size}.png").stat().st_size > 10_000
