"""Personal information as PIPL expects: said before it is collected, consent recorded,
kept only for its purpose, erased on request everywhere, handed over on request."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from wizard import privacy, roles
from wizard.models import CaseEvent, Diagnosis, Ticket

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
PHONE = "139 1234 5678"
STORED = "+8613912345678"


@pytest.fixture
def finished(client, seeded) -> Diagnosis:
    client.post(reverse("wizard:start"))
    diagnosis = Diagnosis.objects.get()
    client.post(reverse("wizard:finish", args=[diagnosis.code]))
    diagnosis.refresh_from_db()
    return diagnosis


def escalate(client, diagnosis: Diagnosis) -> Ticket:
    client.post(
        reverse("wizard:escalate", args=[diagnosis.code]),
        {
            "token": "t",
            "name": "王老板",
            "phone": PHONE,
            "email": "wang@example.com",
            "merchant_number": "M-12345",
            "contact_time": "any",
            "has_consent": "on",
        },
    )
    return Ticket.objects.get(diagnosis=diagnosis)


@pytest.fixture
def agent_client(seeded, django_user_model):
    from django.test import Client

    agent = django_user_model.objects.create_user("privacy-agent")
    roles.grant(agent, roles.AGENT)
    client = Client()
    client.force_login(agent)
    return client


# --- Notice and consent ------------------------------------------------------------------


def test_the_notice_at_the_escalation_form_states_the_configured_period(client, finished, settings):
    settings.CONTACT_RETENTION_DAYS = 17
    settings.PRIVACY_CONTROLLER = "Example Pay Ltd"
    html = client.get(reverse("wizard:escalate", args=[finished.code]), **EN).content.decode()
    assert "data-privacy-notice" in html and f'data-notice-version="{privacy.NOTICE_VERSION}"' in html
    assert "erased 17 days after your request is closed" in html
    assert "Example Pay Ltd" in html
    assert reverse("wizard:privacy") in html


def test_the_description_box_states_how_long_a_description_is_kept(client, seeded, settings):
    settings.DIAGNOSIS_RETENTION_DAYS = 200
    html = client.get("/", **EN).content.decode()
    assert "kept with your case for 200 days" in html


def test_the_privacy_page_lists_every_kind_of_personal_data_with_its_retention(client, seeded, settings):
    settings.CONTACT_RETENTION_DAYS, settings.DIAGNOSIS_RETENTION_DAYS, settings.LOGIN_LOG_RETENTION_DAYS = (
        11,
        22,
        33,
    )
    html = client.get(reverse("wizard:privacy"), **EN).content.decode()
    for kind in ("contact", "description", "answers", "logins"):
        assert f'data-kind="{kind}"' in html
    assert "then 11 more days" in html and "22 days after the case last changed" in html and "33 days" in html


def test_consent_is_recorded_with_its_time_and_the_notice_version(client, finished):
    before = timezone.now()
    ticket = escalate(client, finished)
    assert ticket.has_consent and ticket.consented_at >= before
    assert ticket.notice_version == privacy.NOTICE_VERSION


# --- Withdrawal --------------------------------------------------------------------------


def every_text_value() -> list[str]:
    """Every text value of every table of the project's apps."""
    values = []
    with connection.cursor() as cursor:
        for model in apps.get_models():
            table = model._meta.db_table
            columns = [
                f.column
                for f in model._meta.concrete_fields
                if f.get_internal_type() in ("CharField", "TextField", "EmailField", "JSONField")
            ]
            if not columns:
                continue
            cursor.execute(
                f"SELECT {', '.join(connection.ops.quote_name(c) for c in columns)} FROM {connection.ops.quote_name(table)}"
            )
            values += [str(v) for row in cursor.fetchall() for v in row if v]
    return values


def test_the_merchant_withdraws_and_the_number_is_nowhere_any_more(client, finished, agent_client):
    ticket = escalate(client, finished)
    Diagnosis.objects.filter(pk=finished.pk).update(notes=f"Called {PHONE}, no answer", phone=STORED)
    assert any("5678" in v for v in every_text_value())
    result = client.get(reverse("wizard:result", args=[finished.code]), **EN).content.decode()
    assert 'data-action="withdraw"' in result and "139****5678" in result

    response = client.post(reverse("wizard:withdraw", args=[finished.code]))
    assert response.status_code == 303
    leftovers = [v for v in every_text_value() if "5678" in v or "wang@example.com" in v or "王老板" in v]
    assert leftovers == []
    ticket.refresh_from_db()
    assert ticket.contact_erased_at and not ticket.has_consent
    event = CaseEvent.objects.get(kind=CaseEvent.Kind.WITHDRAWN)
    assert event.actor is None and "5678" not in event.detail
    # The agent sees that the contact was withdrawn; no page, summary or export holds it.
    page = agent_client.get(reverse("wizard:agent-ticket", args=[ticket.reference])).content.decode()
    assert "data-withdrawn" in page and "5678" not in page
    for name in ("wizard:agent-summary", "wizard:agent-personal-data", "wizard:agent-case"):
        assert "5678" not in agent_client.get(reverse(name, args=[finished.code])).content.decode(), name
    assert "data-withdrawn" in client.get(response["Location"]).content.decode()


def test_only_the_merchants_own_browser_may_withdraw(client, finished, seeded):
    from django.test import Client

    escalate(client, finished)
    assert Client().post(reverse("wizard:withdraw", args=[finished.code])).status_code == 403
    assert Ticket.objects.get().phone == STORED


def test_an_agent_erases_on_the_callers_request_and_the_audit_says_who(client, finished, agent_client):
    ticket = escalate(client, finished)
    response = agent_client.post(reverse("wizard:agent-ticket-withdraw", args=[ticket.reference]))
    assert response.status_code == 303
    ticket.refresh_from_db()
    assert (ticket.name, ticket.phone, ticket.email, ticket.merchant_number) == ("", "", "", "")
    event = CaseEvent.objects.get(kind=CaseEvent.Kind.WITHDRAWN)
    assert event.actor.username == "privacy-agent" and event.created


# --- Retention by purpose -----------------------------------------------------------------


def purge() -> str:
    out = io.StringIO()
    call_command("purge_diagnoses", stdout=out)
    return out.getvalue()


def test_contact_details_go_after_the_ticket_is_closed_plus_the_period_and_the_case_stays(
    client, finished, settings
):
    settings.CONTACT_RETENTION_DAYS = 30
    ticket = escalate(client, finished)
    Ticket.objects.filter(pk=ticket.pk).update(
        status=Ticket.Status.CLOSED, updated=timezone.now() - timedelta(days=31)
    )
    first = purge()
    assert "erased:\n  tickets: 1" in first
    ticket.refresh_from_db()
    assert ticket.phone == "" and ticket.contact_erased_at
    assert Diagnosis.objects.filter(pk=finished.pk).exists()  # the anonymous diagnosis stays
    assert "erased:\n  tickets: 0" in purge()  # a second run erases nothing


def test_open_work_keeps_its_contact_details_however_old(client, finished):
    ticket = escalate(client, finished)
    Ticket.objects.filter(pk=ticket.pk).update(updated=timezone.now() - timedelta(days=400))
    purge()
    assert Ticket.objects.get().phone == STORED


# --- Access ------------------------------------------------------------------------------


def test_an_agent_exports_everything_held_about_a_case(client, finished, agent_client):
    Diagnosis.objects.filter(pk=finished.pk).update(description="电池鼓包了")
    escalate(client, finished)
    response = agent_client.get(reverse("wizard:agent-personal-data", args=[finished.code]), **EN)
    text = response.content.decode()
    assert response["Content-Type"].startswith("text/plain")
    assert "no-store" in response["Cache-Control"]
    for held in (
        "电池鼓包了",
        "139 1234 5678",
        "wang@example.com",
        "M-12345",
        "王老板",
        privacy.NOTICE_VERSION,
    ):
        assert held in text, held
