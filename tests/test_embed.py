"""The embedded wizard (wizard/embed.py): the merchant wizard inside a provider's page,
framed only by the integration's allowed origins, telling its parent what happened."""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from wizard.models import Diagnosis, Integration

EMBED = "/embed/pay/"
ORIGINS = "https://pay.example.com\nhttps://shop.example.com:8443/\n"


@pytest.fixture
def integration(db) -> Integration:
    return Integration.objects.create(name="Pay Co", slug="pay", allowed_origins=ORIGINS)


def directive(response, name: str) -> str:
    """One directive of the response's Content-Security-Policy, as sent."""
    for part in response["Content-Security-Policy"].split(";"):
        if part.strip().startswith(name + " ") or part.strip() == name:
            return part.strip()
    raise AssertionError(f"no {name} in {response['Content-Security-Policy']}")


def links(response) -> list[str]:
    return re.findall(r'(?:action|href)="(/[^"]*)"', response.content.decode())


# --- Framing --------------------------------------------------------------------------------


def test_the_embed_may_be_framed_by_the_allowed_origins_only(client, seeded, integration):
    response = client.get(EMBED)
    assert response.status_code == 200
    assert directive(response, "frame-ancestors") == (
        "frame-ancestors https://pay.example.com https://shop.example.com:8443"
    )
    assert "X-Frame-Options" not in response
    # The rest of the site's policy is untouched: scripts from the site only.
    assert directive(response, "script-src") == "script-src 'self'"
    assert directive(response, "default-src") == "default-src 'self'"


def test_what_is_answered_instead_of_an_embed_page_shows_in_the_frame_too(seeded, integration):
    """A browser that keeps no third-party cookie sends no CSRF token: the refusal, and
    an address the embed does not have, must show inside the provider's frame, not as a
    blank frame refused by X-Frame-Options."""
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    for response in (strict.post(EMBED + "start/", {"token": "t"}), strict.get(EMBED + "no/such/page/")):
        assert response.status_code in (403, 404)
        assert directive(response, "frame-ancestors") == (
            "frame-ancestors https://pay.example.com https://shop.example.com:8443"
        )
        assert "X-Frame-Options" not in response


def test_every_other_page_still_refuses_to_be_framed(client, seeded, integration):
    diagnosis = Diagnosis.objects.create(revision=seeded)
    for url in ("/", reverse("wizard:result", args=[diagnosis.code]), "/privacy/", "/embed/nobody/"):
        response = client.get(url)
        assert directive(response, "frame-ancestors") == "frame-ancestors 'none'", url
        assert response["X-Frame-Options"] == "DENY", url


def test_a_line_that_is_not_an_origin_never_reaches_the_policy(client, seeded, integration):
    integration.allowed_origins = (
        "https://ok.example.com\nhttps://x.example.com; script-src *\n*\njavascript:x"
    )
    integration.save()
    response = client.get(EMBED)
    assert directive(response, "frame-ancestors") == "frame-ancestors https://ok.example.com"
    assert directive(response, "script-src") == "script-src 'self'"


@pytest.mark.parametrize("problem", ["unknown", "inactive", "no origins"])
def test_an_integration_that_may_not_embed_gets_a_clear_404(client, seeded, integration, problem):
    if problem == "inactive":
        integration.is_active = False
    elif problem == "no origins":
        integration.allowed_origins = ""
    integration.save()
    slug = "nobody" if problem == "unknown" else "pay"
    for url in (f"/embed/{slug}/", f"/embed/{slug}/d/ABCDEFGHJK/result/"):
        response = client.get(url)
        assert response.status_code == 404
        assert f'data-embed-unavailable="{slug}"' in response.content.decode()
        assert "X-Frame-Options" in response
    assert client.post(f"/embed/{slug}/start/").status_code == 404
    assert not Diagnosis.objects.exists()


# --- The same wizard, inside ------------------------------------------------------------------


def test_an_embedded_diagnosis_end_to_end(client, seeded, integration):
    landing = client.get(EMBED)
    html = landing.content.decode()
    assert "site-header" not in html and "site-footer" not in html
    assert 'data-embed="pay"' in html and "js/embed.js" in html
    # Every link and form stays inside the embed; static files keep their own address.
    assert all(url.startswith(EMBED) or url.startswith("/static/") for url in links(landing)), links(landing)
    assert "/embed/pay/static/" not in html

    started = client.post(EMBED + "start/", {"token": "embed-start"})
    assert started.status_code == 303
    diagnosis = Diagnosis.objects.get()
    assert started["Location"] == f"{EMBED}d/{diagnosis.code}/q/1/"
    assert diagnosis.channel == Diagnosis.Channel.EMBED
    assert diagnosis.integration == integration

    question = client.get(started["Location"])
    assert question.status_code == 200
    assert all(url.startswith(EMBED) for url in links(question) if not url.startswith("/static/"))
    finished = client.post(f"{EMBED}d/{diagnosis.code}/finish/")
    assert finished["Location"] == f"{EMBED}d/{diagnosis.code}/result/"
    result = client.get(finished["Location"]).content.decode()
    assert 'data-embed-event="finished"' in result
    assert f'data-embed-code="{diagnosis.code}"' in result

    escalated = client.post(
        f"{EMBED}d/{diagnosis.code}/escalate/",
        {
            "token": "embed-ticket",
            "name": "王老板",
            "phone": "138 0013 8000",
            "contact_time": "any",
            "has_consent": "on",
        },
    )
    assert escalated.status_code == 303 and escalated["Location"].startswith(
        f"{EMBED}d/{diagnosis.code}/escalate/T-"
    )
    confirmation = client.get(escalated["Location"]).content.decode()
    ticket = diagnosis.tickets.get()
    assert 'data-embed-event="escalated"' in confirmation
    assert f'data-embed-reference="{ticket.reference}"' in confirmation

    # The site itself is unchanged afterwards: its addresses have no embed prefix.
    assert reverse("wizard:result", args=[diagnosis.code]) == f"/d/{diagnosis.code}/result/"
    assert 'data-embed="' not in client.get("/").content.decode()


def test_a_diagnosis_started_from_a_description_is_embedded_too(client, seeded, integration):
    described = client.post(EMBED + "describe/", {"description": "升级后一直重启"})
    assert described.status_code == 200
    form = re.search(
        r'<form method="post" action="([^"]+)" data-action="confirm">', described.content.decode()
    )
    assert form and form.group(1) == EMBED + "start/"
    started = client.post(EMBED + "start/", {"description": "升级后一直重启", "token": "described"})
    assert started.status_code == 303 and started["Location"].startswith(EMBED + "d/")
    diagnosis = Diagnosis.objects.get()
    assert diagnosis.description == "升级后一直重启"
    assert (diagnosis.channel, diagnosis.integration) == (Diagnosis.Channel.EMBED, integration)


def test_embed_cookies_work_inside_a_third_party_frame(client, seeded, integration):
    client.get(EMBED)
    response = client.post(EMBED + "start/", {"token": "cookie"})
    cookie = response.cookies["cases"]
    # Partitioned (CHIPS): kept for the provider's site only, sent from inside its frame.
    assert cookie["samesite"] == "None; Partitioned" and cookie["secure"] and cookie["httponly"]
    # The site's own cookies keep SameSite=Lax.
    direct = client.post("/start/", {"token": "direct"})
    assert direct.cookies["cases"]["samesite"] == "Lax"


def test_a_case_started_on_the_site_opens_in_the_embed_and_stays_self_service(client, seeded, integration):
    client.post("/start/", {"token": "site"})
    diagnosis = Diagnosis.objects.get()
    response = client.get(f"{EMBED}d/{diagnosis.code}/")
    assert response["Location"] == f"{EMBED}d/{diagnosis.code}/q/1/"
    diagnosis.refresh_from_db()
    assert diagnosis.channel == Diagnosis.Channel.SELF_SERVICE and diagnosis.integration is None


# --- In a browser: the parent page hears "finished" ------------------------------------------

PARENT_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Provider</title></head>
<body>
<iframe src="{src}" title="doctor" width="800" height="900"></iframe>
<ol id="events"></ol>
<script>
window.addEventListener("message", function (event) {{
  if (!event.data || event.data.type !== "pos-upgrade-doctor" || event.data.event === "resize") return;
  var item = document.createElement("li");
  item.setAttribute("data-event", event.data.event);
  item.setAttribute("data-origin", event.origin);
  item.setAttribute("data-code", event.data.code);
  item.textContent = JSON.stringify(event.data);
  document.getElementById("events").appendChild(item);
}});
</script>
</body></html>
"""


@pytest.fixture
def provider_site():
    """A provider's page on another site (127.0.0.1, where the live server is localhost)
    that embeds the wizard; ``set(src)`` chooses the iframe's address."""
    page = {"html": ""}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = page["html"].encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    origin = f"http://127.0.0.1:{server.server_address[1]}"

    def set_src(src: str) -> str:
        page["html"] = PARENT_PAGE.format(src=src)
        return origin + "/"

    yield origin, set_src
    server.shutdown()
    server.server_close()


@pytest.mark.browser
def test_the_parent_page_hears_finished_from_the_embedded_wizard(page: Page, live_site, provider_site):
    origin, set_src = provider_site
    Integration.objects.create(
        name="Pay Co", slug="pay", allowed_origins=f"https://elsewhere.example\n{origin}"
    )
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.goto(set_src(live_site.url + EMBED))

    wizard = page.frame_locator("iframe")
    # Starting posts a form inside a third-party frame: the CSRF cookie must have come back.
    wizard.locator('[data-action="start"]').click()
    wizard.locator("form[data-question]").wait_for()
    wizard.locator('[data-action="results"]').click()

    event = page.locator('#events li[data-event="finished"]')
    expect(event).to_have_count(1)
    diagnosis = Diagnosis.objects.get()
    assert diagnosis.channel == Diagnosis.Channel.EMBED
    expect(event).to_have_attribute("data-code", diagnosis.code)
    expect(event).to_have_attribute("data-origin", live_site.url)
    assert errors == []


@pytest.mark.browser
def test_a_page_on_another_origin_cannot_frame_the_wizard(page: Page, live_site, provider_site):
    _origin, set_src = provider_site
    Integration.objects.create(name="Pay Co", slug="pay", allowed_origins="https://pay.example.com")
    with page.expect_console_message(lambda message: "frame-ancestors" in message.text) as refused:
        page.goto(set_src(live_site.url + EMBED))
    assert "https://pay.example.com" in refused.value.text
    expect(page.frame_locator("iframe").locator('[data-action="start"]')).to_have_count(0)
    expect(page.locator("#events li")).to_have_count(0)
