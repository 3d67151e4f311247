"""What a case code lets a stranger do, and what only the browser that started the case
(or an agent) may do; and a case and its ticket that always say the same."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from wizard import diagnoses
from wizard.models import Answer, Diagnosis, Ticket
from wizard.views.common import OWNED_COOKIE

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def answer_first(client: Client, diagnosis: Diagnosis, number: int) -> int:
    url = reverse("wizard:step", args=[diagnosis.code, number])
    question = client.get(url).context["question"]
    return client.post(
        url, {"question": question["slug"], "answer": question["options"][0]["slug"], "seen": number - 1}
    ).status_code


@pytest.fixture
def finished(client, seeded) -> Diagnosis:
    """A merchant (``client``) answered two questions and asked for the result."""
    client.post(reverse("wizard:start"))
    diagnosis = Diagnosis.objects.get()
    answer_first(client, diagnosis, 1)
    answer_first(client, diagnosis, 2)
    client.post(reverse("wizard:finish", args=[diagnosis.code]))
    diagnosis.refresh_from_db()
    return diagnosis


@pytest.fixture
def escalated(client, finished) -> Ticket:
    client.post(
        reverse("wizard:escalate", args=[finished.code]),
        {
            "token": "t",
            "name": "王老板",
            "phone": "139 1234 5678",
            "contact_time": "any",
            "has_consent": "on",
        },
    )
    return Ticket.objects.get()


@pytest.fixture
def stranger(seeded) -> Client:
    """Someone else who has the case code (read aloud, printed, a forwarded link)."""
    return Client()


def test_a_stranger_with_the_code_sees_the_result(stranger, finished):
    response = stranger.get(reverse("wizard:result", args=[finished.code]))
    assert response.status_code == 200
    assert "data-cause" in response.content.decode()


@pytest.mark.parametrize(
    "route, data",
    [
        ("wizard:finish", {}),
        ("wizard:more", {}),
        ("wizard:more", {"resume": "1"}),
        ("wizard:feedback", {"outcome": "fixed", "solution": "restart-check-network"}),
    ],
)
def test_a_stranger_cannot_change_a_finished_case(stranger, finished, route, data):
    before = (finished.status, list(Answer.objects.values_list("question", "option")))
    response = stranger.post(reverse(route, args=[finished.code]), data, **EN)
    assert response.status_code == 403
    assert "data-locked" in response.content.decode()
    finished.refresh_from_db()
    assert (finished.status, list(Answer.objects.values_list("question", "option"))) == before


def test_a_stranger_cannot_change_an_answer_of_a_finished_case(stranger, finished):
    url = reverse("wizard:step", args=[finished.code, 1])
    assert stranger.get(url).status_code == 200  # the questions can be seen
    first = Answer.objects.get(position=1)
    response = stranger.post(url, {"question": first.question, "answer": "unsure", "seen": 2})
    assert response.status_code == 403
    assert Answer.objects.count() == 2 and Answer.objects.get(position=1).option == first.option


def test_a_stranger_may_carry_on_a_case_still_in_progress(client, stranger, seeded):
    client.post(reverse("wizard:start"))
    diagnosis = Diagnosis.objects.get()
    assert answer_first(stranger, diagnosis, 1) == 303  # e.g. the merchant moved to a computer


def test_only_the_merchant_and_agents_see_the_contact_details_and_the_ticket(client, stranger, escalated):
    code = escalated.diagnosis.code
    confirmation = reverse("wizard:escalated", args=[code, escalated.reference])
    mine = client.get(confirmation).content.decode()
    assert "139****5678" in mine and "1234" not in mine  # masked, even for the merchant
    assert escalated.reference in client.get(reverse("wizard:result", args=[code])).content.decode()

    refused = stranger.get(confirmation)
    assert refused.status_code == 403 and "5678" not in refused.content.decode()
    assert escalated.reference not in stranger.get(reverse("wizard:result", args=[code])).content.decode()
    assert stranger.get(reverse("wizard:escalate", args=[code])).status_code == 403


def test_a_forged_ownership_cookie_gives_nothing(stranger, finished):
    stranger.cookies[OWNED_COOKIE] = finished.code  # not signed
    assert stranger.post(reverse("wizard:finish", args=[finished.code])).status_code == 403


def test_the_merchant_who_started_it_may_change_a_finished_case(client, finished):
    response = client.post(reverse("wizard:more", args=[finished.code]))
    assert response.status_code == 303
    finished.refresh_from_db()
    assert finished.status == Diagnosis.Status.IN_PROGRESS


# --- One state for a case and its ticket ---------------------------------------------------


def test_fixed_after_asking_for_help_closes_the_ticket_too(client, escalated):
    diagnosis = escalated.diagnosis
    client.post(
        reverse("wizard:feedback", args=[diagnosis.code]),
        {"outcome": "fixed", "solution": "restart-check-network"},
    )
    diagnosis.refresh_from_db()
    escalated.refresh_from_db()
    assert (diagnosis.status, escalated.status) == (Diagnosis.Status.RESOLVED, Ticket.Status.CLOSED)
    assert diagnosis.events.filter(detail__contains="closed: resolved").exists()


def test_asking_for_more_questions_does_not_take_a_case_from_the_person_handling_it(client, escalated):
    diagnosis = escalated.diagnosis
    client.post(reverse("wizard:more", args=[diagnosis.code]))
    diagnosis.refresh_from_db()
    assert diagnosis.status == Diagnosis.Status.ESCALATED
    assert diagnoses.awaits_a_person(diagnosis)
