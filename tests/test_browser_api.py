"""The API in a real browser: its documentation page under the strict CSP, and a page on
an integration's own site calling the API across origins (the preflight and the answer's
CORS headers, as Chromium enforces them)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from wizard.models import ApiKey, Integration

from .test_browser_accessibility import axe_violations

pytestmark = pytest.mark.browser


CALL = """async ([url, key]) => {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: {"Authorization": "Bearer " + key, "Content-Type": "application/json"},
      body: JSON.stringify({language: "en"}),
    });
    const state = await response.json();
    return {status: response.status, code: state.code || ""};
  } catch (error) {
    return {status: 0, code: String(error)};
  }
}"""


def test_the_api_docs_work_under_the_strict_csp(page: Page, live_site, console_errors):
    page.goto(f"{live_site.url}/api/v1/docs")
    expect(page.locator("[data-operation]").first).to_be_visible()
    expect(page.locator("[data-openapi]")).to_have_attribute("href", "/api/v1/openapi.json")
    assert page.locator("[data-operation]").count() >= 12
    assert axe_violations(page) == []
    assert console_errors == []


def test_a_page_on_an_allowed_origin_calls_the_api_and_another_cannot(page: Page, live_site):
    # A page of another origin on this machine: the site under its address instead of its
    # name. The admin's login page, which carries no CSP of the site's own to stop the call.
    origin = live_site.url.replace("localhost", "127.0.0.1")
    integration = Integration.objects.create(name="Pay app", slug="pay-app", allowed_origins=origin)
    _, secret = ApiKey.issue(integration, "browser", ["diagnose"])
    url = f"{live_site.url}/api/v1/diagnoses"
    page.goto(f"{origin}/admin/login/")

    allowed = page.evaluate(CALL, [url, secret])
    assert allowed["status"] == 201 and len(allowed["code"]) == 10, allowed

    Integration.objects.filter(pk=integration.pk).update(allowed_origins="https://pay.example.com")
    refused = page.evaluate(CALL, [url, secret])
    assert refused["status"] == 0 and "Failed to fetch" in refused["code"]
