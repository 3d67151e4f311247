"""Did it work, not fixed, more questions, and escalation to a person."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from wizard.models import CaseEvent, Diagnosis, Ticket

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def finished(client, seeded) -> Diagnosis:
    """A merchant who answered two questions and asked for results."""
    client.post(reverse("wizard:start"))
    diagnosis = Diagnosis.objects.latest("created")
    for number in (1, 2):
        page = client.get(reverse("wizard:step", args=[diagnosis.code, number]))
        question = page.context["question"]
        client.post(
            reverse("wizard:step", args=[diagnosis.code, number]),
            {"question": question["slug"], "answer": question["options"][0]["slug"], "seen": number - 1},
        )
    client.post(reverse("wizard:finish", args=[diagnosis.code]))
    diagnosis.refresh_from_db()
    return diagnosis


def steps(client, diagnosis) -> list[str]:
    html = client.get(reverse("wizard:result", args=[diagnosis.code])).content.decode()
    return re.findall(r'<li data-solution="([a-z0-9-]+)"', html)


def test_fixed_by_a_step_is_stored_with_the_revision(client, finished):
    first = steps(client, finished)[0]
    response = client.post(
        reverse("wizard:feedback", args=[finished.code]), {"outcome": "fixed", "solution": first}
    )
    assert response.status_code == 303
    finished.refresh_from_db()
    assert (finished.is_fixed, finished.fixed_by, finished.status) == (True, first, Diagnosis.Status.RESOLVED)
    assert finished.revision_id and finished.feedback_at
    assert finished.events.filter(kind=CaseEvent.Kind.RESOLVED, detail=first).exists()
    html = client.get(reverse("wizard:result", args=[finished.code])).content.decode()
    assert 'data-feedback="fixed"' in html


def test_fixed_without_a_step_is_a_400_keeping_the_result(client, finished):
    response = client.post(reverse("wizard:feedback", args=[finished.code]), {"outcome": "fixed"}, **EN)
    assert response.status_code == 400
    assert "which step fixed it" in response.content.decode()
    finished.refresh_from_db()
    assert finished.is_fixed is None


def test_a_tampered_step_is_a_400(client, finished):
    response = client.post(
        reverse("wizard:feedback", args=[finished.code]), {"outcome": "fixed", "solution": "nope"}
    )
    assert response.status_code == 400


def test_not_fixed_shows_the_next_steps_not_tried_and_updates_the_ranking(client, finished):
    before = steps(client, finished)
    ranking_before = list(finished.ranking)
    tried = before[:2]
    response = client.post(
        reverse("wizard:feedback", args=[finished.code]), {"outcome": "not-fixed", "tried": tried}
    )
    assert response.status_code == 303
    finished.refresh_from_db()
    assert finished.tried == tried and finished.is_fixed is False
    after = steps(client, finished)
    assert after and not set(after) & set(tried)
    assert finished.ranking != ranking_before  # failed steps are evidence
    html = client.get(reverse("wizard:result", args=[finished.code]), **EN).content.decode()
    assert 'data-tried="2"' in html
    assert 'data-action="escalate"' in html


def test_steps_tried_in_two_rounds_are_all_remembered_once_and_never_suggested_again(client, finished):
    url = reverse("wizard:feedback", args=[finished.code])
    first = steps(client, finished)[:1]
    client.post(url, {"outcome": "not-fixed", "tried": first})
    second = steps(client, finished)[:1]
    assert second != first
    # The step tried before may be ticked again: it is still only tried once.
    client.post(url, {"outcome": "not-fixed", "tried": second + first})
    finished.refresh_from_db()
    assert finished.tried == first + second
    assert not set(steps(client, finished)) & set(first + second)
    html = client.get(reverse("wizard:result", args=[finished.code])).content.decode()
    assert 'data-tried="2"' in html


def answer_until_the_wizard_stops(client, diagnosis: Diagnosis) -> int:
    """Answer every question with its first option until the wizard shows the result;
    returns how many answers the diagnosis then has."""
    number = len(diagnosis.trail) + 1
    while True:
        url = reverse("wizard:step", args=[diagnosis.code, number])
        page = client.get(url)
        if page.status_code == 303:  # nothing is asked at this step: the result
            assert page["Location"] == reverse("wizard:result", args=[diagnosis.code])
            diagnosis.refresh_from_db()
            return number - 1
        question = page.context["question"]
        answer = {"question": question["slug"], "answer": question["options"][0]["slug"], "seen": number - 1}
        assert client.post(url, answer).status_code == 303
        number += 1


def test_ask_more_after_stopping_early_asks_the_next_question(client, finished):
    response = client.post(reverse("wizard:more", args=[finished.code]))
    assert response.status_code == 303
    assert response["Location"] == reverse("wizard:step", args=[finished.code, 3])
    finished.refresh_from_db()
    assert finished.wants_more and finished.status == Diagnosis.Status.IN_PROGRESS
    question = client.get(response["Location"]).context["question"]
    assert question["slug"] not in {slug for slug, _ in finished.trail}


def test_ask_more_keeps_asking_past_the_confidence_where_the_wizard_stopped(client, seeded):
    client.post(reverse("wizard:start"))
    diagnosis = Diagnosis.objects.latest("created")
    answered = answer_until_the_wizard_stops(client, diagnosis)
    assert diagnosis.status == Diagnosis.Status.DIAGNOSED
    result = client.get(reverse("wizard:result", args=[diagnosis.code])).content.decode()
    assert 'data-action="more"' in result
    response = client.post(reverse("wizard:more", args=[diagnosis.code]))
    assert response["Location"] == reverse("wizard:step", args=[diagnosis.code, answered + 1])
    diagnosis.refresh_from_db()
    assert diagnosis.wants_more and diagnosis.status == Diagnosis.Status.IN_PROGRESS
    assert diagnosis.current_question  # the question asked now is recorded for insights
    question = client.get(response["Location"]).context["question"]
    assert question["slug"] == diagnosis.current_question
    assert question["slug"] not in {slug for slug, _ in diagnosis.trail}
    # Its answers narrow the diagnosis down further, until the extra questions run out.
    assert answer_until_the_wizard_stops(client, diagnosis) > answered
    assert diagnosis.status == Diagnosis.Status.DIAGNOSED


def test_ask_more_with_no_question_left_shows_the_result_again(client, seeded):
    client.post(reverse("wizard:start"))
    diagnosis = Diagnosis.objects.latest("created")
    answer_until_the_wizard_stops(client, diagnosis)
    client.post(reverse("wizard:more", args=[diagnosis.code]))
    answered = answer_until_the_wizard_stops(client, diagnosis)
    response = client.post(reverse("wizard:more", args=[diagnosis.code]))
    assert response["Location"] == reverse("wizard:result", args=[diagnosis.code])
    diagnosis.refresh_from_db()
    assert diagnosis.status == Diagnosis.Status.DIAGNOSED
    assert (diagnosis.question_count, diagnosis.current_question) == (answered, "")
    html = client.get(response["Location"]).content.decode()
    assert 'data-action="more"' not in html  # not offered when it would do nothing


def escalation(**overrides):
    data = {
        "token": "tok-1",
        "name": "王老板",
        "phone": "138 0013 8000",
        "merchant_number": "898100000000001",
        "contact_time": "morning",
        "has_consent": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_escalation_creates_one_ticket_with_the_transcript(client, finished):
    url = reverse("wizard:escalate", args=[finished.code])
    assert 'data-form="escalate"' in client.get(url).content.decode()
    first = client.post(url, escalation())
    second = client.post(url, escalation())  # a double submit
    assert first.status_code == second.status_code == 303
    assert first["Location"] == second["Location"]
    ticket = Ticket.objects.get(diagnosis=finished)
    assert ticket.phone == "+8613800138000"  # E.164 (tests/test_contact_details.py)
    assert ticket.status == Ticket.Status.OPEN and ticket.has_consent
    assert finished.display_code in ticket.transcript
    assert "%" in ticket.transcript  # the ranking travels with it
    finished.refresh_from_db()
    assert finished.status == Diagnosis.Status.ESCALATED
    page = client.get(first["Location"], **EN).content.decode()
    assert f'data-ticket="{ticket.reference}"' in page
    assert "What happens next" in page
    # The confirmation page is reached by the case code, which is meant to be shared: the
    # number is shown masked, enough for the merchant to recognise it.
    assert "138****8000" in page and "0013" not in page


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("phone", "12345", "11-digit mainland China mobile"),
        ("phone", "23800138000", "11-digit mainland China mobile"),
        ("name", "", "This field is required"),
        ("has_consent", None, "agree to be contacted"),
        ("phone", "12800138000", "11-digit mainland China mobile"),  # no mobile starts 12
        ("name", "王" * 51, "at most 50 characters"),
        ("merchant_number", "<script>", "letters and digits"),
        ("merchant_number", "898", "letters and digits"),  # too short to be one
    ],
)
def test_invalid_escalation_keeps_everything_typed_and_marks_the_field(
    client, finished, field, value, message
):
    response = client.post(
        reverse("wizard:escalate", args=[finished.code]), escalation(**{field: value}), **EN
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert 'aria-invalid="true"' in html
    if field != "name":
        assert 'value="王老板"' in html
    assert not Ticket.objects.exists()


def test_a_tampered_contact_time_is_a_400_without_a_ticket(client, finished):
    response = client.post(
        reverse("wizard:escalate", args=[finished.code]), escalation(contact_time="midnight")
    )
    assert response.status_code == 400
    assert not Ticket.objects.exists()


def test_unknown_ticket_reference_is_a_404(client, finished):
    assert client.get(reverse("wizard:escalated", args=[finished.code, "T-NOPE"])).status_code == 404
