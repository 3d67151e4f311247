"""Pages with personal data are never stored by a browser or a proxy, cookies carry their
flags, and a client cannot choose the address its limits are counted against."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from django.urls import reverse

from wizard import ratelimit
from wizard.models import Diagnosis, Ticket

from .conftest import make_agent
from .test_wizard_flow import start


def assert_not_stored(response) -> None:
    cache_control = response.get("Cache-Control", "")
    assert "no-store" in cache_control and "private" in cache_control, cache_control


@pytest.fixture
def escalated_case(client, seeded) -> tuple[Diagnosis, Ticket]:
    diagnosis = start(client)
    ticket = Ticket.objects.create(diagnosis=diagnosis, name="王芳", phone="13912345678", has_consent=True)
    return diagnosis, ticket


def test_the_merchants_pages_with_personal_data_are_not_stored(client, escalated_case):
    diagnosis, ticket = escalated_case
    for url in (
        reverse("wizard:result", args=[diagnosis.code]),
        reverse("wizard:escalate", args=[diagnosis.code]),
        reverse("wizard:escalated", args=[diagnosis.code, ticket.reference]),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert_not_stored(response)


def test_every_agent_page_is_not_stored(client, escalated_case, django_user_model):
    diagnosis, ticket = escalated_case
    client.force_login(make_agent("agent-headers"))
    for url in (
        reverse("wizard:agent-home"),
        reverse("wizard:agent-case", args=[diagnosis.code]),
        reverse("wizard:agent-ticket", args=[ticket.reference]),
        reverse("wizard:agent-summary", args=[diagnosis.code]),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert_not_stored(response)


def test_the_language_cookie_is_not_for_scripts_or_other_sites(client, seeded):
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})
    cookie = response.cookies["django_language"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"


def test_a_client_cannot_choose_its_own_address_unless_a_proxy_is_configured(settings):
    assert settings.TRUSTED_PROXY_COUNT == 0  # the default (production's too: tests/test_production.py)
    request = RequestFactory().get("/", HTTP_X_FORWARDED_FOR="203.0.113.9", REMOTE_ADDR="198.51.100.7")
    assert ratelimit.client_address(request) == "198.51.100.7"
