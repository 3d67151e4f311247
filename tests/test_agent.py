"""The agent console: permissions, scripted diagnosis, hand-off, summary, rate limits."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.urls import reverse

from wizard.models import CaseEvent, Diagnosis

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def agent(db, django_user_model):
    user = django_user_model.objects.create_user("li.agent", password="unused-password-123")
    user.groups.add(Group.objects.get_or_create(name="Agents")[0])
    return user


@pytest.fixture
def agent_client(client, agent, seeded):
    client.force_login(agent)
    return client


def start_case(agent_client, **details) -> Diagnosis:
    response = agent_client.post(reverse("wizard:agent-start"), details)
    assert response.status_code == 303, response.content
    return Diagnosis.objects.latest("created")


def console(agent_client, diagnosis, **extra):
    return agent_client.get(reverse("wizard:agent-case", args=[diagnosis.code]), **extra)


def answer(agent_client, diagnosis, option_index=0, **data):
    page = console(agent_client, diagnosis)
    question = page.context["question"]
    option = "unsure" if option_index is None else question["options"][option_index]["slug"]
    payload = {"question": question["slug"], "answer": option, "seen": page.context["seen"], **data}
    return agent_client.post(
        reverse("wizard:agent-answer", args=[diagnosis.code, page.context["number"]]), payload
    )


# --- Permissions -------------------------------------------------------------------------


def test_anonymous_users_are_sent_to_the_agent_login(client, seeded):
    response = client.get(reverse("wizard:agent-home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("wizard:agent-login"))


def test_a_signed_in_non_agent_is_refused(client, seeded, django_user_model):
    client.force_login(django_user_model.objects.create_user("shopkeeper"))
    assert client.get(reverse("wizard:agent-home")).status_code == 403


def test_agents_and_superusers_get_the_console_support_admins_do_not(agent_client, client, django_user_model):
    assert agent_client.get(reverse("wizard:agent-home")).status_code == 200
    support = django_user_model.objects.create_user("support", is_staff=True)
    support.groups.add(Group.objects.get(name="Support admins"))
    client.force_login(support)
    assert client.get(reverse("wizard:agent-home")).status_code == 403  # no contact details
    client.force_login(django_user_model.objects.create_superuser("boss"))
    assert client.get(reverse("wizard:agent-home")).status_code == 200


def test_agent_login_page_signs_in(client, seeded, agent):
    response = client.post(
        reverse("wizard:agent-login"), {"username": "li.agent", "password": "unused-password-123"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("wizard:agent-home")


def test_agents_have_no_admin(agent, agent_client):
    assert not agent.is_staff
    response = agent_client.get(reverse("admin:wizard_cause_changelist"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))


# --- Console -----------------------------------------------------------------------------


def test_start_records_the_caller_and_the_agent(agent_client, agent):
    diagnosis = start_case(
        agent_client, merchant_number="898000000001", phone="138 0013 8000", provider="bank"
    )
    assert diagnosis.channel == Diagnosis.Channel.AGENT
    assert diagnosis.agent == agent
    assert (diagnosis.merchant_number, diagnosis.phone, diagnosis.provider) == (
        "898000000001",
        "+8613800138000",  # E.164, however it was typed
        "bank",
    )
    assert diagnosis.events.get().kind == CaseEvent.Kind.STARTED


def test_invalid_caller_details_keep_what_was_typed(agent_client):
    response = agent_client.post(
        reverse("wizard:agent-start"), {"merchant_number": "898", "phone": "call me"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'value="898"' in html
    assert 'value="call me"' in html


def test_console_shows_script_shortcuts_why_and_candidates(agent_client):
    diagnosis = start_case(agent_client)
    response = console(agent_client, diagnosis, HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert "Read aloud" in html
    assert "<kbd>1</kbd>" in html and 'data-key="1"' in html
    assert 'aria-keyshortcuts="R"' in html
    assert response.context["why"], "the console says what the question separates"
    assert html.count("data-cause=") >= 5
    assert 'value="unsure"' in html


def test_each_answer_moves_the_ranking_and_is_attributed(agent_client, agent):
    diagnosis = start_case(agent_client)
    before = console(agent_client, diagnosis).context["candidates"]
    response = answer(agent_client, diagnosis, 0)
    assert response.status_code == 303
    after = console(agent_client, diagnosis, **HTMX)
    assert "<html" not in after.content.decode()
    assert diagnosis.answers.get().answered_by == agent
    assert re.findall(r'data-probability="([0-9.]+)"', after.content.decode()) != [
        f"{c['probability']:.4f}" for c in before
    ]


def test_back_and_results_from_the_console(agent_client):
    diagnosis = start_case(agent_client)
    answer(agent_client, diagnosis, 0)
    back = agent_client.get(reverse("wizard:agent-case", args=[diagnosis.code]) + "?step=1")
    assert back.context["number"] == 1
    assert back.context["previous"]
    response = agent_client.post(reverse("wizard:agent-finish", args=[diagnosis.code]))
    assert response.status_code == 303
    diagnosis.refresh_from_db()
    assert diagnosis.status == Diagnosis.Status.DIAGNOSED
    assert console(agent_client, diagnosis).context["question"] is None


def test_tampered_answer_is_a_400_that_keeps_the_case(agent_client):
    diagnosis = start_case(agent_client)
    response = agent_client.post(
        reverse("wizard:agent-answer", args=[diagnosis.code, 1]),
        {"question": "nope", "answer": "yes", "seen": 0},
    )
    assert response.status_code == 400
    assert diagnosis.answers.count() == 0


def test_notes_save_as_typed(agent_client, agent):
    diagnosis = start_case(agent_client)
    url = reverse("wizard:agent-notes", args=[diagnosis.code])
    response = agent_client.post(url, {"notes": "Caller is at the shop"}, **HTMX)
    assert response.status_code == 200
    agent_client.post(url, {"notes": "Caller is at the shop, terminal on"}, **HTMX)
    diagnosis.refresh_from_db()
    assert diagnosis.notes == "Caller is at the shop, terminal on"
    # One "notes edited" entry, not one per keystroke.
    assert diagnosis.events.filter(kind=CaseEvent.Kind.NOTES, actor=agent).count() == 1


def test_notes_typed_but_not_yet_saved_travel_with_an_answer(agent_client):
    diagnosis = start_case(agent_client)
    answer(agent_client, diagnosis, None, notes="said the screen is black")
    diagnosis.refresh_from_db()
    assert diagnosis.notes == "said the screen is black"


def test_outcome_resolved_needs_the_step_and_is_recorded(agent_client, agent):
    diagnosis = start_case(agent_client)
    agent_client.post(reverse("wizard:agent-finish", args=[diagnosis.code]))
    url = reverse("wizard:agent-outcome", args=[diagnosis.code])
    assert agent_client.post(url, {"kind": "resolved"}).status_code == 400
    solution = console(agent_client, diagnosis).context["result"].solutions[0]["slug"]
    assert agent_client.post(url, {"kind": "resolved", "solution": solution}).status_code == 303
    diagnosis.refresh_from_db()
    assert (diagnosis.status, diagnosis.is_fixed, diagnosis.fixed_by) == (
        Diagnosis.Status.RESOLVED,
        True,
        solution,
    )
    event = diagnosis.events.get(kind=CaseEvent.Kind.RESOLVED)
    assert (event.actor, event.detail) == (agent, solution)


def test_outcome_escalated_and_call_back(agent_client):
    diagnosis = start_case(agent_client)
    url = reverse("wizard:agent-outcome", args=[diagnosis.code])
    agent_client.post(url, {"kind": "callback"})
    diagnosis.refresh_from_db()
    assert diagnosis.status == Diagnosis.Status.IN_PROGRESS
    agent_client.post(url, {"kind": "escalated"})
    diagnosis.refresh_from_db()
    assert diagnosis.status == Diagnosis.Status.ESCALATED


def test_summary_text_for_the_ticket(agent_client):
    diagnosis = start_case(agent_client, merchant_number="898000000001", phone="13800138000")
    answer(agent_client, diagnosis, 0)
    agent_client.post(reverse("wizard:agent-notes", args=[diagnosis.code]), {"notes": "tried restarting"})
    response = agent_client.get(
        reverse("wizard:agent-summary", args=[diagnosis.code]), HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response["Content-Type"].startswith("text/plain")
    assert "attachment" in response["Content-Disposition"]
    text = response.content.decode()
    assert diagnosis.display_code in text
    assert "898000000001" in text and "138 0013 8000" in text
    assert "li.agent" in text
    assert "Most likely causes" in text and "%" in text
    assert "Steps, in order" in text
    assert "tried restarting" in text
    page = console(agent_client, diagnosis).content.decode()
    assert "data-summary" in page and "data-copy" in page


# --- Hand-off ----------------------------------------------------------------------------


def test_agent_opens_a_merchant_case_and_continues_it(agent_client, client, agent):
    merchant = client.__class__()
    merchant.post(reverse("wizard:start"))
    diagnosis = Diagnosis.objects.latest("created")
    first = merchant.get(reverse("wizard:step", args=[diagnosis.code, 1])).context["question"]
    merchant.post(
        reverse("wizard:step", args=[diagnosis.code, 1]),
        {"question": first["slug"], "answer": first["options"][0]["slug"], "seen": 0},
    )
    typed = f"{diagnosis.code[:5].lower()} {diagnosis.code[5:]}"
    response = agent_client.get(reverse("wizard:agent-open"), {"code": typed})
    assert response["Location"] == reverse("wizard:agent-case", args=[diagnosis.code])
    page = console(agent_client, diagnosis)
    assert page.context["number"] == 2
    assert page.context["timeline"][0]["by"]  # the merchant's answer is in the history
    answer(agent_client, diagnosis, None)
    diagnosis.refresh_from_db()
    assert diagnosis.agent == agent
    assert diagnosis.events.filter(kind=CaseEvent.Kind.OPENED, actor=agent).exists()
    # The merchant reloads and sees the agent's answer: they are now at question 3.
    resumed = merchant.get(reverse("wizard:resume", args=[diagnosis.code]))
    assert resumed["Location"] == reverse("wizard:step", args=[diagnosis.code, 3])


def test_merchant_continues_a_case_an_agent_started(agent_client, client):
    diagnosis = start_case(agent_client)
    answer(agent_client, diagnosis, 0)
    response = client.get(reverse("wizard:find-case"), {"code": diagnosis.code})
    assert response["Location"] == reverse("wizard:resume", args=[diagnosis.code])
    assert client.get(response["Location"])["Location"] == reverse("wizard:step", args=[diagnosis.code, 2])


def test_concurrent_answers_the_loser_sees_a_clear_message(agent_client, client):
    diagnosis = start_case(agent_client)
    page = console(agent_client, diagnosis)
    question = page.context["question"]
    # The merchant answers question 1 first...
    client.post(
        reverse("wizard:step", args=[diagnosis.code, 1]),
        {"question": question["slug"], "answer": "unsure", "seen": 0},
    )
    # ...then the agent's click on the page they had arrives.
    response = agent_client.post(
        reverse("wizard:agent-answer", args=[diagnosis.code, 1]),
        {"question": question["slug"], "answer": question["options"][0]["slug"], "seen": 0},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 409
    assert "a moment ago" in response.content.decode()
    assert list(diagnosis.answers.values_list("option", flat=True)) == ["unsure"]


def test_the_console_notices_when_the_merchant_answers(agent_client, client):
    diagnosis = start_case(agent_client)
    url = reverse("wizard:agent-state", args=[diagnosis.code])
    assert agent_client.get(url, {"seen": 0}).status_code == 204
    question = console(agent_client, diagnosis).context["question"]
    client.post(
        reverse("wizard:step", args=[diagnosis.code, 1]),
        {"question": question["slug"], "answer": "unsure", "seen": 0},
    )
    response = agent_client.get(url, {"seen": 0})
    assert response.status_code == 200
    assert reverse("wizard:agent-case", args=[diagnosis.code]) in response.content.decode()


# --- Security ----------------------------------------------------------------------------


def test_unknown_code_is_a_404_and_repeated_misses_are_rate_limited(agent_client, settings):
    url = reverse("wizard:agent-open")
    for _ in range(10):
        assert agent_client.get(url, {"code": "ZZZZZ-ZZZZZ"}).status_code == 404
    response = agent_client.get(url, {"code": "ZZZZZ-ZZZZZ"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 429
    assert "paused" in response.content.decode()
    assert 0 < int(response["Retry-After"]) <= 900


def test_misses_are_counted_per_agent_not_per_address(client, seeded, django_user_model, steady_clock):
    # One agent's typos must not lock out a call centre that shares one address; all of
    # them together meet a much higher ceiling per address (tests/test_rate_limits.py).
    group = Group.objects.get_or_create(name="Agents")[0]
    for n in range(2):
        user = django_user_model.objects.create_user(f"agent-{n}")
        user.groups.add(group)
        client.force_login(user)
        for _ in range(10):
            assert client.get(reverse("wizard:agent-open"), {"code": "ZZZZZ-ZZZZZ"}).status_code == 404
    assert client.get(reverse("wizard:agent-open"), {"code": "ZZZZZ-ZZZZZ"}).status_code == 429


def test_agents_work_tickets_open_in_progress_closed(agent_client, agent, client):
    merchant = client.__class__()
    merchant.post(reverse("wizard:start"))
    diagnosis = Diagnosis.objects.latest("created")
    merchant.post(
        reverse("wizard:escalate", args=[diagnosis.code]),
        {"name": "王老板", "phone": "13800138000", "contact_time": "any", "has_consent": "on"},
    )
    from wizard.models import Ticket

    ticket = Ticket.objects.get()
    home = agent_client.get(reverse("wizard:agent-home")).content.decode()
    assert f'data-ticket="{ticket.reference}"' in home
    page = agent_client.get(reverse("wizard:agent-ticket", args=[ticket.reference])).content.decode()
    assert "13800138000" in page and diagnosis.display_code in page
    url = reverse("wizard:agent-ticket-status", args=[ticket.reference])
    for status in ("in-progress", "closed"):
        assert agent_client.post(url, {"status": status}).status_code == 303
        ticket.refresh_from_db()
        assert ticket.status == status
    assert agent_client.post(url, {"status": "bogus"}).status_code == 400
    bogus = agent_client.post(url, {"status": "bogus"}, **HTMX)  # the address stays the ticket's
    assert bogus["HX-Replace-Url"] == reverse("wizard:agent-ticket", args=[ticket.reference])
    assert diagnosis.events.filter(kind=CaseEvent.Kind.TICKET, actor=agent).count() == 2
    home = agent_client.get(reverse("wizard:agent-home")).content.decode()
    assert f'data-ticket="{ticket.reference}"' not in home  # closed tickets leave the queue


def test_tried_not_fixed_in_the_console_moves_on_to_the_next_steps(agent_client):
    diagnosis = start_case(agent_client)
    answer(agent_client, diagnosis, 0)
    agent_client.post(reverse("wizard:agent-finish", args=[diagnosis.code]))
    first = console(agent_client, diagnosis).context["result"].solutions[0]["slug"]
    response = agent_client.post(
        reverse("wizard:agent-outcome", args=[diagnosis.code]), {"kind": "not-fixed", "solution": first}
    )
    assert response.status_code == 303
    diagnosis.refresh_from_db()
    assert diagnosis.tried == [first] and diagnosis.is_fixed is False
    shown = [s["slug"] for s in console(agent_client, diagnosis).context["result"].solutions]
    assert first not in shown and shown


def test_an_error_shown_in_place_keeps_the_case_address_and_what_was_typed(agent_client):
    diagnosis = start_case(agent_client)
    url = reverse("wizard:agent-outcome", args=[diagnosis.code])
    response = agent_client.post(url, {"kind": "resolved", "notes": "x" * 6000}, **HTMX)
    assert response.status_code == 400
    assert response["HX-Replace-Url"] == reverse("wizard:agent-case", args=[diagnosis.code])
    assert "x" * 6000 in response.content.decode()  # too long to save, but not lost
    response = agent_client.post(url, {"kind": "resolved", "notes": "restarted twice"}, **HTMX)
    assert response.status_code == 400
    diagnosis.refresh_from_db()
    assert diagnosis.notes == "restarted twice"


def test_after_show_results_now_the_agent_can_change_an_answer_or_continue(agent_client):
    diagnosis = start_case(agent_client)
    answer(agent_client, diagnosis, 0)
    agent_client.post(reverse("wizard:agent-finish", args=[diagnosis.code]))
    back = agent_client.get(reverse("wizard:agent-case", args=[diagnosis.code]) + "?step=1")
    assert back.context["question"] is not None and back.context["previous"]
    result = console(agent_client, diagnosis)
    assert result.context["question"] is None and result.context["can_continue"]
    response = agent_client.post(reverse("wizard:agent-more", args=[diagnosis.code]), {"resume": "1"})
    assert response.status_code == 303
    diagnosis.refresh_from_db()
    assert diagnosis.status == Diagnosis.Status.IN_PROGRESS
    assert console(agent_client, diagnosis).context["number"] == 2


@pytest.mark.parametrize(
    "action", ["agent-answer", "agent-finish", "agent-more", "agent-outcome", "agent-notes"]
)
def test_a_console_form_address_opened_with_get_shows_the_case(agent_client, action):
    diagnosis = start_case(agent_client)
    args = [diagnosis.code, 1] if action == "agent-answer" else [diagnosis.code]
    response = agent_client.get(reverse(f"wizard:{action}", args=args))
    assert response.status_code == 303
    assert response["Location"] == reverse("wizard:agent-case", args=[diagnosis.code])
    assert agent_client.put(reverse(f"wizard:{action}", args=args)).status_code == 405
