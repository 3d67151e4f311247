"""A support admin's paths in a real browser: the banner's links can be read, and a
member of the "Support admins" group (nothing else) finds the Publish button."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import Page, expect

from wizard.models import Cause

from .test_browser_accessibility import axe_violations

pytestmark = pytest.mark.browser

# WCAG 2.x contrast ratio of an element's text colour on the first opaque background
# behind it (the banner's links sit on its cream background).
CONTRAST = """(element) => {
  function rgb(text) { return text.match(/[\\d.]+/g).map(Number); }
  function luminance(c) {
    const [r, g, b] = c.slice(0, 3).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  }
  let node = element, background = null;
  while (node && node.nodeType === 1) {
    const c = rgb(getComputedStyle(node).backgroundColor);
    if (c.length < 4 || c[3] > 0) { background = c; break; }
    node = node.parentElement;
  }
  background = background || [255, 255, 255];
  const [a, b] = [luminance(rgb(getComputedStyle(element).color)), luminance(background)];
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


@pytest.fixture
def support_admin(live_site, django_user_model):
    user = django_user_model.objects.create_user(
        "kb.admin", password="a-long-test-password-42", is_staff=True
    )
    user.groups.add(Group.objects.get(name="Support admins"))
    return user


def sign_in(page: Page, live_site, username: str = "kb.admin") -> None:
    page.goto(live_site.url + "/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "a-long-test-password-42")
    page.locator("#id_password").press("Enter")
    expect(page.locator("#user-tools")).to_be_visible()


def test_the_banner_links_have_aa_contrast(page: Page, live_site, support_admin, console_errors):
    cause = Cause.objects.get(slug="network-problem")
    cause.prior = 4  # something unpublished: the banner offers to publish it
    cause.save()
    sign_in(page, live_site)
    page.goto(live_site.url + "/admin/wizard/knowledgerevision/")
    links = page.locator(".unpublished-banner a")
    expect(links.first).to_be_visible()
    hrefs = [link.get_attribute("href") for link in links.all()]
    for page_name in ("/health/", "/preview/", "/publish/", "/insights/"):
        assert any(href.endswith(page_name) for href in hrefs), (page_name, hrefs)
    for link in links.all():
        ratio = link.evaluate(CONTRAST)
        assert ratio >= 4.5, (link.inner_text(), ratio)
    banner = [v for v in axe_violations(page) if "color-contrast" in v and "unpublished" in v]
    assert banner == []


def test_a_support_admin_finds_the_publish_button_on_the_revisions_list(
    page: Page, live_site, support_admin, console_errors
):
    sign_in(page, live_site)
    page.goto(live_site.url + "/admin/wizard/knowledgerevision/")
    button = page.locator('.object-tools a[href$="/publish/"]')
    expect(button).to_be_visible()
    button.click()
    expect(page.locator("input[type=submit][value]")).to_be_visible()
    assert "/publish/" in page.url
