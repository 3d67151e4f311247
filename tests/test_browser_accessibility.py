"""Every page in a real browser: axe-core finds no serious or critical violation, the
phone layout does not scroll sideways and has large touch targets, the strict CSP holds,
and the result page prints cleanly."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import Page, expect

from wizard.models import Diagnosis, Ticket

pytestmark = pytest.mark.browser

AXE = (Path(__file__).parent / "vendor" / "axe-core-4.14.1.min.js").read_text(encoding="utf-8")
PHONE = {"width": 390, "height": 844}


def axe_violations(page: Page, exclude: tuple[str, ...] = ()) -> list[str]:
    """Serious and critical WCAG 2.x A/AA violations on the current page, outside ``exclude``
    (CSS selectors)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol, so the page's CSP does not apply.
        page.evaluate(AXE + "\n;0")
    results = page.evaluate(
        """(exclude) => axe.run({include: [document], exclude: exclude.map(s => [s])},
            {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})""",
        list(exclude),
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:6]}"
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def focus_is_visible(page: Page) -> dict:
    """What has the keyboard focus, and whether it shows: an outline at least 2 px wide
    (or a focus ring drawn as a box shadow) that is not transparent."""
    return page.evaluate(
        """() => {
            const e = document.activeElement;
            const s = getComputedStyle(e);
            const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2
                && !/rgba\\(.*, 0\\)$/.test(s.outlineColor) && s.outlineColor !== 'transparent';
            const ring = s.boxShadow && s.boxShadow !== 'none';
            return {tag: e.tagName.toLowerCase(), name: (e.name || e.textContent || e.id || '').trim().slice(0, 40),
                    outline: `${s.outlineStyle} ${s.outlineWidth} ${s.outlineColor}`,
                    visible: e !== document.body && (outline || ring)};
        }"""
    )


def merchant_pages(page: Page, base: str):
    """Walk the merchant's pages, yielding a name for each."""
    page.goto(base)
    yield "landing"
    page.locator('[data-action="start"]').click()
    expect(page.locator("form[data-question]")).to_be_visible()
    yield "question"
    page.locator('form[data-question] button[name="answer"]').first.click()
    expect(page).to_have_url(re.compile(r"/q/2/$"))
    page.locator('[data-action="results"]').click()
    expect(page.locator("[data-cause]").first).to_be_visible()
    yield "result"
    page.locator('[data-action="escalate"]').click()
    expect(page.locator('form[data-form="escalate"]')).to_be_visible()
    yield "escalate"
    page.locator('[data-action="submit-escalation"]').click()
    expect(page.locator("[data-error]")).to_be_visible()
    yield "escalate-errors"
    page.fill("#id_name", "王老板")
    page.fill("#id_phone", "13800138000")
    page.check("#id_has_consent")
    page.locator('[data-action="submit-escalation"]').click()
    expect(page.locator("[data-ticket]")).to_be_visible()
    yield "escalated"
    page.goto(base + "/d/ZZZZZZZZZZ/")
    yield "not-found"


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_merchant_pages_pass_axe(new_page, live_site, locale):
    page = new_page(locale=locale)
    errors = []
    page.on(
        "console",
        lambda m: (
            m.type == "error"
            and "status of 400" not in m.text
            and "status of 404" not in m.text
            and errors.append(m.text)
        ),
    )
    for name in merchant_pages(page, live_site.url):
        assert axe_violations(page) == [], name
    assert errors == []  # includes any Content-Security-Policy violation


def test_phone_layout_on_every_merchant_page(new_page, live_site):
    page = new_page(viewport=PHONE, has_touch=True, is_mobile=True)
    for name in merchant_pages(page, live_site.url):
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], name
        small = page.evaluate(
            """() => [...document.querySelectorAll('main button, main a.button, main input[type=checkbox], main input[type=text], main select, header button')]
                .filter(e => e.offsetParent !== null)
                .map(e => { const r = e.getBoundingClientRect(); return [e.textContent.trim() || e.name, r.width, r.height]; })
                .filter(([, w, h]) => h < 44)"""
        )
        # Checkboxes are small but sit inside a 44 px tall label: check the labels instead.
        small = [s for s in small if not page.locator(f'label.check:has(input[name="{s[0]}"])').count()]
        assert small == [], (name, small)


def test_result_page_prints_cleanly(page: Page, live_site):
    for name in merchant_pages(page, live_site.url):
        if name == "result":
            break
    page.emulate_media(media="print")
    for hidden in ("header.site-header", "footer.site-footer", '[data-action="change"]', "form"):
        for element in page.locator(hidden).all():
            expect(element).to_be_hidden()
    expect(page.locator("[data-cause]").first).to_be_visible()
    expect(page.locator("[data-solution]").first).to_be_visible()
    expect(page.locator("[data-case-code]").first).to_be_visible()


def test_agent_and_insights_pages_pass_axe(page: Page, live_site, django_user_model, console_errors):
    user = django_user_model.objects.create_user("a11y", password="a-long-test-password-42", is_staff=True)
    user.groups.add(Group.objects.get(name="Agents"), Group.objects.get(name="Support admins"))
    page.goto(live_site.url + "/agent/login/")
    assert axe_violations(page) == [], "agent login"
    page.fill("#id_username", "a11y")
    page.fill("#id_password", "a-long-test-password-42")
    page.locator("main button[type=submit]").click()
    expect(page.locator('[data-action="start"]')).to_be_visible()
    page.wait_for_load_state()  # a whole new page: its scripts run before the shortcuts work
    assert axe_violations(page) == [], "agent home"
    page.locator('[data-action="start"]').click()
    expect(page.locator("[data-console]")).to_be_visible()
    # The console is swapped in by htmx, which then moves focus to its question: wait
    # for that before walking from it.
    expect(page.locator("[data-console] [data-focus]").first).to_be_focused()
    assert axe_violations(page) == [], "console"
    page.keyboard.press("1")
    expect(page.locator("[data-console] .timeline li")).to_have_count(1)
    page.keyboard.press("r")
    expect(page.locator("[data-console] [data-solution]").first).to_be_visible()
    assert axe_violations(page) == [], "console result"
    code = page.locator("[data-case-code]").first.get_attribute("data-case-code")
    ticket = Ticket.objects.create(
        diagnosis=Diagnosis.objects.get(code=code), name="王老板", phone="13800138000"
    )
    page.goto(f"{live_site.url}/agent/tickets/{ticket.reference}/")
    assert axe_violations(page) == [], "ticket"
    page.goto(live_site.url + "/insights/")
    expect(page.locator("canvas[data-chart]").first).to_be_visible()
    assert axe_violations(page) == [], "insights"
    assert console_errors == []


def test_language_switch_keeps_the_diagnosis(page: Page, live_site):
    page.goto(live_site.url)
    page.locator('[data-action="start"]').click()
    page.locator('form[data-question] button[name="answer"]').first.click()
    expect(page).to_have_url(re.compile(r"/q/2/$"))
    url = page.url
    page.locator('[data-action="language"]').click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.wait_for_load_state()  # the switch loads a whole new page
    assert page.url == url
    expect(page.locator('button[value="unsure"]')).to_have_text("Not sure")
    page.locator('[data-action="back"]').click()
    expect(page.locator('button[aria-pressed="true"]')).to_have_count(1)  # the answer is still there


# --- Narrow screens and zoom; the keyboard ------------------------------------------------

NARROWEST = {"width": 320, "height": 640}
# A 1280 × 900 window at 200 % zoom lays the page out in 640 × 450 CSS pixels.
ZOOMED = {"width": 640, "height": 450}


def fits_the_width(page: Page) -> list[str]:
    """What makes the page scroll sideways, or sticks out of it: [] when nothing does."""
    return page.evaluate(
        """() => {
            const width = document.documentElement.clientWidth;
            const out = [];
            if (document.documentElement.scrollWidth > width) out.push(`page ${document.documentElement.scrollWidth} > ${width}`);
            for (const e of document.querySelectorAll('main button, main a, main input, main select, main textarea, main [data-cause], main [data-solution], header a, header button')) {
                if (e.offsetParent === null) continue;
                const r = e.getBoundingClientRect();
                if (r.right > width + 1 || r.left < -1) out.push(`${e.tagName} ${(e.textContent || e.name || '').trim().slice(0, 30)} ${Math.round(r.left)}-${Math.round(r.right)}`);
            }
            return out;
        }"""
    )


def agent_console(page: Page, base: str, django_user_model) -> None:
    """Sign an agent in and open the console on a new diagnosis."""
    user = django_user_model.objects.create_user("narrow.agent", password="a-long-test-password-42")
    user.groups.add(Group.objects.get(name="Agents"))
    page.goto(base + "/agent/login/")
    page.fill("#id_username", "narrow.agent")
    page.fill("#id_password", "a-long-test-password-42")
    page.locator("main button[type=submit]").click()
    expect(page.locator('[data-action="start"]')).to_be_visible()
    page.wait_for_load_state()
    page.locator('[data-action="start"]').click()
    expect(page.locator("[data-console]")).to_be_visible()
    # The console is swapped in by htmx, which then moves focus to its question: wait
    # for that before walking from it.
    expect(page.locator("[data-console] [data-focus]").first).to_be_focused()


@pytest.mark.parametrize("viewport", [NARROWEST, ZOOMED], ids=["320px", "200%"])
def test_result_page_is_usable_narrow_and_zoomed(new_page, live_site, viewport):
    page = new_page(viewport=viewport, device_scale_factor=2)
    for name in merchant_pages(page, live_site.url):
        if name in ("question", "result"):
            assert fits_the_width(page) == [], name
        if name == "result":
            break
    for control in ('[data-action="escalate"]', "[data-solution]"):
        element = page.locator(control).first
        element.scroll_into_view_if_needed()
        expect(element).to_be_in_viewport()


@pytest.mark.parametrize("viewport", [NARROWEST, ZOOMED], ids=["320px", "200%"])
def test_agent_console_is_usable_narrow_and_zoomed(new_page, live_site, django_user_model, viewport):
    page = new_page(viewport=viewport, device_scale_factor=2)
    agent_console(page, live_site.url, django_user_model)
    assert fits_the_width(page) == [], "console"
    answer = page.locator('[data-console] button[name="answer"]').first
    answer.scroll_into_view_if_needed()
    expect(answer).to_be_in_viewport()
    answer.click()
    expect(page.locator("[data-console] .timeline li")).to_have_count(1)
    assert fits_the_width(page) == [], "console after an answer"
    page.locator('[data-console] [data-action="results"]').first.click()
    expect(page.locator("[data-console] [data-solution]").first).to_be_visible()
    assert fits_the_width(page) == [], "console result"


def walk_with_tab(page: Page, stops: int) -> set[str]:
    """Press Tab ``stops`` times: each stop must show where the focus is. The tags seen."""
    seen = set()
    for _ in range(stops):
        page.keyboard.press("Tab")
        focused = focus_is_visible(page)
        if focused["tag"] == "body":
            break  # past the last control
        assert focused["visible"], focused
        seen.add(focused["tag"])
    return seen


def from_the_top(page: Page) -> None:
    """Start the next Tab walk at the top of the page (its skip link), once it has loaded
    and htmx has settled it (settling moves the focus to the new content's heading)."""
    page.wait_for_load_state()
    # A locator, not wait_for_function: polling a string predicate is evaluated in the
    # page, where its Content-Security-Policy forbids eval whenever the first check fails.
    expect(page.locator(".htmx-request, .htmx-swapping, .htmx-settling")).to_have_count(0)
    page.locator(".skip-link").focus()


def test_keyboard_walk_through_the_merchant_path_keeps_focus_visible(page: Page, live_site):
    page.goto(live_site.url)
    assert {"a", "button", "textarea"} <= walk_with_tab(page, 30)
    page.locator('[data-action="start"]').focus()
    page.keyboard.press("Enter")
    expect(page.locator("form[data-question]")).to_be_visible()
    from_the_top(page)
    assert "button" in walk_with_tab(page, 20)
    page.locator('form[data-question] button[name="answer"]').first.focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/q/2/$"))
    page.locator('[data-action="results"]').focus()
    page.keyboard.press("Enter")
    expect(page.locator("[data-cause]").first).to_be_visible()
    from_the_top(page)
    assert {"a", "button"} <= walk_with_tab(page, 60)


def test_keyboard_walk_through_the_agent_console_keeps_focus_visible(
    page: Page, live_site, django_user_model
):
    page.goto(live_site.url + "/agent/login/")
    assert "input" in walk_with_tab(page, 10)
    agent_console(page, live_site.url, django_user_model)
    assert {"button", "textarea"} <= walk_with_tab(page, 60)
    page.keyboard.press("Escape")
    page.locator('[data-console] button[name="answer"]').first.focus()
    page.keyboard.press("Enter")
    expect(page.locator("[data-console] .timeline li")).to_have_count(1)
    expect(page.locator("[data-console] [data-focus]").first).to_be_focused()
    assert "button" in walk_with_tab(page, 60)
