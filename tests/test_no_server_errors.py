"""Odd but harmless requests get a clear 4xx page, never a server error.

Each test is something a person (or a careless script) can do from a browser. Where
PostgreSQL refuses what SQLite accepts, ``like_postgresql`` makes SQLite refuse it too.
"""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from wizard.models import Diagnosis, KnowledgeRevision, Ticket

NUL = "\x00"


@pytest.fixture
def agent_client(client, seeded, django_user_model):
    agent = django_user_model.objects.create_user("wang.agent", password="unused-password-123")
    agent.groups.add(Group.objects.get_or_create(name="Agents")[0])
    client.force_login(agent)
    return client


@pytest.fixture
def case(seeded) -> Diagnosis:
    return Diagnosis.objects.create(revision=KnowledgeRevision.objects.latest())


@pytest.mark.parametrize("url", ["/agent/login/", "/admin/login/"])
def test_signing_in_with_a_username_too_long_to_store_shows_the_form_again(url, client, db):
    response = client.post(url, {"username": "a" * 300, "password": "whatever"})
    assert response.status_code == 200
    assert response.context["form"].errors["username"]
    # django-axes records failed logins; PostgreSQL refuses a username longer than its column.
    longest = AccessAttempt._meta.get_field("username").max_length
    assert all(len(name) <= longest for name in AccessAttempt.objects.values_list("username", flat=True))


@pytest.mark.parametrize("url", ["/agent/login/", "/admin/login/"])
def test_signing_in_with_a_nul_byte_in_the_username_shows_the_form_again(url, client, db, like_postgresql):
    response = client.post(url, {"username": f"clerk{NUL}", "password": "whatever"})
    assert response.status_code == 200
    assert response.context["form"].errors["username"]


def test_a_nul_byte_in_the_address_is_a_400_page(client, case, like_postgresql):
    response = client.get(f"/d/{case.code}/escalate/%00/")
    assert response.status_code == 400
    assert b"<html" in response.content


def test_agent_opening_a_ticket_with_a_nul_byte_is_refused(agent_client, like_postgresql):
    assert agent_client.get("/agent/tickets/%00/").status_code == 400
    assert agent_client.post("/agent/tickets/%00/status/", {"status": "closed"}).status_code == 400


@pytest.mark.parametrize("reference", ["T-ÄÄÄÄÄÄÄÄ", "t-abc²", "T-" + "A" * 5000])
def test_a_ticket_reference_outside_the_alphabet_is_not_found_without_a_query(reference, agent_client, case):
    with CaptureQueriesContext(connection) as queries:
        merchant = agent_client.get(reverse("wizard:escalated", args=[case.code, reference]))
        agent = agent_client.get(reverse("wizard:agent-ticket", args=[reference]))
        status = agent_client.post(
            reverse("wizard:agent-ticket-status", args=[reference]), {"status": "closed"}
        )
    assert (merchant.status_code, agent.status_code, status.status_code) == (404, 404, 404)
    assert not [q for q in queries if Ticket._meta.db_table in q["sql"]]


def test_a_case_code_outside_the_alphabet_is_not_found_without_a_query(client, seeded):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("wizard:resume", args=["ABCDE²23456"]))
    assert response.status_code == 404
    assert not [q for q in queries if Diagnosis._meta.db_table in q["sql"]]


def test_agent_following_a_step_link_with_a_superscript_digit_sees_the_console(agent_client, case):
    console = agent_client.get(reverse("wizard:agent-case", args=[case.code]) + "?step=²")
    assert console.status_code == 200
    assert console.context["number"] == 1
    state = agent_client.get(reverse("wizard:agent-state", args=[case.code]) + "?seen=²")
    assert state.status_code == 200  # "someone answered": the console reloads


def test_agent_notes_with_a_nul_byte_are_refused_with_a_clear_message(agent_client, case, like_postgresql):
    notes_url = reverse("wizard:agent-notes", args=[case.code])
    response = agent_client.post(notes_url, {"notes": f"caller said{NUL}"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert b"control characters" in response.content
    console = agent_client.get(reverse("wizard:agent-case", args=[case.code]))
    question = console.context["question"]
    answer = agent_client.post(
        reverse("wizard:agent-answer", args=[case.code, 1]),
        {"question": question["slug"], "answer": question["options"][0]["slug"], "seen": 0, "notes": NUL},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert answer.status_code == 400
    assert "control characters" in answer.context["error"]
    case.refresh_from_db()
    assert case.notes == "" and not case.answers.exists()  # nothing half-saved


def test_admin_comparing_revisions_with_a_superscript_digit_or_a_huge_number_shows_the_page(
    admin_client, seeded
):
    url = reverse("admin:wizard_revision", args=[seeded.number])
    for compare in ["²", "99999999999999999999"]:
        assert admin_client.get(url, {"compare": compare}).status_code == 200


def test_admin_filtering_diagnoses_by_a_nul_status_is_a_400(admin_client, seeded, like_postgresql):
    response = admin_client.get(reverse("admin:wizard_diagnosis_changelist") + "?status=%00")
    assert response.status_code == 400


def test_admin_filtering_diagnoses_by_an_impossible_year_shows_the_list_with_an_error(admin_client, seeded):
    url = reverse("admin:wizard_diagnosis_changelist")
    response = admin_client.get(url, {"created__year": "99999999999999999999"})
    assert response.status_code in (200, 302, 400)
    if response.status_code == 302:
        assert response["Location"].endswith("?e=1")


@pytest.mark.parametrize("url", ["/", "/healthz", "/readyz"])
def test_a_head_request_is_answered_without_a_body(url, client, seeded):
    response = client.head(url)
    assert response.status_code == 200
    assert response.content == b""
