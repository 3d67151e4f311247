"""Every path a merchant takes works (issue 14): changing an answer keeps the others,
before and after the result; what a page says about answers and steps reads right in
both languages; "still not working" says which steps were tried."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from wizard import diagnoses, knowledge
from wizard.models import Diagnosis
from wizard.position import Reply, locate

HTMX = {"HTTP_HX_REQUEST": "true"}


def start(client, **extra) -> Diagnosis:
    assert client.post(reverse("wizard:start"), **extra).status_code == 303
    return Diagnosis.objects.latest("created")


def step_url(diagnosis: Diagnosis, number: int) -> str:
    return reverse("wizard:step", args=[diagnosis.code, number])


def result_url(diagnosis: Diagnosis) -> str:
    return reverse("wizard:result", args=[diagnosis.code])


def post_answer(client, diagnosis: Diagnosis, number: int, question: str, option: str, **extra):
    diagnosis.refresh_from_db()
    data = {"question": question, "answer": option, "seen": len(diagnosis.trail)}
    return client.post(step_url(diagnosis, number), data, **extra)


def keep_open(client, diagnosis: Diagnosis, count: int) -> list[Reply]:
    """Answer ``count`` questions, each with an answer that keeps the questions going."""
    snapshot = knowledge.get_snapshot(diagnosis.revision_id)
    for number in range(1, count + 1):
        question = client.get(step_url(diagnosis, number)).context["question"]
        given = diagnoses.replies(diagnosis)
        options = [o["slug"] for o in question["options"]] + ["unsure"]
        option = next(
            o for o in options if not locate(snapshot, [*given, Reply(question["slug"], o)]).is_finished
        )
        assert post_answer(client, diagnosis, number, question["slug"], option).status_code == 303
        diagnosis.refresh_from_db()
    return diagnoses.replies(diagnosis)


def other_option(snapshot, reply: Reply) -> str:
    options = [a["slug"] for a in snapshot.questions[snapshot.question_index[reply.question]]["answers"]]
    return next(o for o in [*options, "unsure"] if o != reply.option)


# --- Changing an earlier answer keeps the others ----------------------------------------------


def test_changing_an_earlier_answer_keeps_every_other_answer_and_says_so(client, seeded, snapshot):
    diagnosis = start(client)
    given = keep_open(client, diagnosis, 5)
    new = other_option(snapshot, given[1])
    response = post_answer(client, diagnosis, 2, given[1].question, new)
    assert response.status_code == 303
    diagnosis.refresh_from_db()
    expected = [given[0], Reply(given[1].question, new), *given[2:]]
    assert diagnoses.replies(diagnosis) == expected
    assert list(diagnosis.answers.values_list("position", "option")) == [
        (i, r.option) for i, r in enumerate(expected, start=1)
    ]
    # The next page is the next question still worth asking (or the result), and says
    # which answers were kept.
    assert response["Location"] in (
        step_url(diagnosis, 6) + "?changed=2",
        result_url(diagnosis) + "?changed=2",
    )
    page = client.get(response["Location"], follow=True).content.decode()
    assert 'data-changed="2"' in page
    for number in (1, 3, 4, 5):
        assert f'data-kept="{number}"' in page
    assert 'data-kept="2"' not in page
    # The stored next question is the engine's, over every answer.
    position = diagnoses.position(diagnosis, snapshot)
    asked = "" if position.is_finished else snapshot.questions[position.question]["slug"]
    assert diagnosis.current_question == asked
    assert diagnosis.question_count == 5


def test_after_a_change_htmx_keeps_the_plain_address_in_history(client, seeded, snapshot):
    diagnosis = start(client)
    given = keep_open(client, diagnosis, 3)
    post_answer(client, diagnosis, 1, given[0].question, other_option(snapshot, given[0]))
    diagnosis.refresh_from_db()
    url = step_url(diagnosis, 4) if not diagnoses.is_finished(diagnosis) else result_url(diagnosis)
    response = client.get(url + "?changed=1", **HTMX)
    assert response.status_code == 200
    assert "data-changed" in response.content.decode()
    # Back, forward and reload return to the page itself, without the notice.
    assert response["HX-Push-Url"] == url


def test_the_agent_console_changes_an_answer_the_same_way(client, seeded, snapshot, django_user_model):
    agent = django_user_model.objects.create_user("paths.agent")
    diagnosis = start(client)
    given = keep_open(client, diagnosis, 4)
    new = other_option(snapshot, given[0])
    submission = diagnoses.answer(diagnosis, 1, given[0].question, new, seen=4, by=agent)
    assert submission.verdict == diagnoses.Verdict.RECORDED and submission.changed
    assert diagnoses.replies(diagnosis) == [Reply(given[0].question, new), *given[1:]]
    assert diagnosis.answers.get(position=1).answered_by == agent
    assert diagnosis.answers.filter(position__gt=1, answered_by=None).count() == 3


def test_an_answer_from_a_stale_page_keeps_the_address_on_the_page_shown(client, seeded, snapshot):
    """Someone else answered in between: the page shown is where the case stands now, and
    with htmx the address (and so back, forward and reload) says the same."""
    diagnosis = start(client)
    first = client.get(step_url(diagnosis, 1)).context["question"]
    diagnoses.answer(diagnosis, 1, first["slug"], "unsure", seen=0)
    response = client.post(
        step_url(diagnosis, 1),
        {"question": first["slug"], "answer": first["options"][0]["slug"], "seen": 0},
        HTTP_HX_CURRENT_URL="http://testserver" + step_url(diagnosis, 1),
        **HTMX,
    )
    assert response.status_code == 409
    assert response.context["number"] == 2
    assert response["HX-Push-Url"] == step_url(diagnosis, 2)


def test_question_pages_are_never_kept_by_the_browser_or_by_htmx(client, seeded):
    """Back shows the answers as they are now: the page is fetched again, by the browser
    (no-store) and by htmx (no history cache), so a different answer is a change."""
    diagnosis = start(client)
    response = client.get(step_url(diagnosis, 1))
    assert "no-store" in response["Cache-Control"]
    assert '"historyCacheSize": 0' in response.content.decode()


# --- After the result -------------------------------------------------------------------------


def finish_early(client, diagnosis: Diagnosis, count: int) -> list[Reply]:
    given = keep_open(client, diagnosis, count)
    assert client.post(reverse("wizard:finish", args=[diagnosis.code])).status_code == 303
    diagnosis.refresh_from_db()
    assert diagnoses.is_finished(diagnosis)
    return given


def test_a_different_answer_after_the_result_is_applied_and_said(client, seeded, snapshot):
    diagnosis = start(client)
    given = finish_early(client, diagnosis, 3)
    # Back from the result: the last question, with its answer, and the answers as they are.
    page = client.get(step_url(diagnosis, 3))
    assert page.context["seen"] == 3 and page.context["previous"] == given[2].option
    new = other_option(snapshot, given[2])
    response = post_answer(client, diagnosis, 3, given[2].question, new)
    assert response.status_code == 303
    diagnosis.refresh_from_db()
    assert diagnoses.replies(diagnosis) == [*given[:2], Reply(given[2].question, new)]
    landing = client.get(response["Location"], follow=True)
    assert 'data-changed="3"' in landing.content.decode()


def test_a_clash_after_the_result_is_said_not_swallowed(client, seeded, snapshot):
    diagnosis = start(client)
    given = finish_early(client, diagnosis, 2)
    response = client.post(
        step_url(diagnosis, 2),
        {"question": given[1].question, "answer": other_option(snapshot, given[1]), "seen": 1},
    )
    assert response.status_code == 409
    assert "data-error" in response.content.decode()
    assert "data-cause" in response.content.decode()  # the result, as it stands
    diagnosis.refresh_from_db()
    assert diagnoses.replies(diagnosis) == given


def test_a_finished_case_of_another_browser_says_why_it_cannot_be_changed(client, seeded, snapshot):
    diagnosis = start(client)
    given = finish_early(client, diagnosis, 2)
    stranger = Client()
    response = stranger.post(
        step_url(diagnosis, 2),
        {"question": given[1].question, "answer": other_option(snapshot, given[1]), "seen": 2},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 403
    assert "only where it was started" in response.content.decode()


# --- Words: "not sure", lists -----------------------------------------------------------------

ESCALATION = {
    "token": "tok-paths",
    "name": "王老板",
    "phone": "138 0013 8000",
    "contact_time": "morning",
    "has_consent": "on",
}


@pytest.mark.parametrize(("accept", "label"), [("zh-hans", "不确定"), ("en", "Not sure")])
def test_not_sure_is_said_in_words_everywhere(client, seeded, django_user_model, accept, label):
    from .conftest import make_agent

    diagnosis = start(client, HTTP_ACCEPT_LANGUAGE=accept)
    first = client.get(step_url(diagnosis, 1)).context["question"]
    post_answer(client, diagnosis, 1, first["slug"], "unsure")
    assert client.post(reverse("wizard:finish", args=[diagnosis.code])).status_code == 303
    page = client.get(result_url(diagnosis), HTTP_ACCEPT_LANGUAGE=accept)
    assert page.context["result"].answers[0]["answer"] == label
    assert f"<strong>{label}</strong>" in page.content.decode()
    client.post(reverse("wizard:escalate", args=[diagnosis.code]), ESCALATION, HTTP_ACCEPT_LANGUAGE=accept)
    transcript = diagnosis.tickets.get().transcript
    assert f"— {label} (" in transcript and "unsure" not in transcript

    agent = Client()
    agent.force_login(make_agent("words.agent"))
    console = agent.get(reverse("wizard:agent-case", args=[diagnosis.code]), HTTP_ACCEPT_LANGUAGE=accept)
    assert console.context["timeline"][0]["answer"] == label
    assert "unsure" not in console.context["summary"]
    download = agent.get(reverse("wizard:agent-summary", args=[diagnosis.code]), HTTP_ACCEPT_LANGUAGE=accept)
    assert f"— {label} (" in download.content.decode() and "unsure" not in download.content.decode()


@pytest.mark.parametrize(("accept", "separator"), [("zh-hans", "、"), ("en", ", ")])
def test_lists_are_joined_as_the_language_writes_them(client, seeded, accept, separator):
    diagnosis = start(client)
    assert client.post(reverse("wizard:finish", args=[diagnosis.code])).status_code == 303
    result = client.get(result_url(diagnosis), HTTP_ACCEPT_LANGUAGE=accept).context["result"]
    tried = [s["slug"] for s in result.solutions[:2]]
    feedback = {"outcome": "not-fixed", "tried": tried}
    client.post(reverse("wizard:feedback", args=[diagnosis.code]), feedback, HTTP_ACCEPT_LANGUAGE=accept)
    page = client.get(result_url(diagnosis) + "?not-fixed=1", HTTP_ACCEPT_LANGUAGE=accept)
    titles = [escape(s["title"]) for s in result.solutions[:2]]
    full_stop = "。" if accept == "zh-hans" else "."
    assert separator.join(titles) + full_stop in page.content.decode()
    other = "、" if separator == ", " else ", "
    assert other.join(titles) not in page.content.decode()


def test_percentages_are_kept_with_their_number(client, seeded):
    """Every "93%" is one unbreakable piece (a <meter>'s fallback text is never shown)."""
    diagnosis = start(client)
    pages = [client.get(step_url(diagnosis, 1)).content.decode()]
    client.post(reverse("wizard:finish", args=[diagnosis.code]))
    pages.append(client.get(result_url(diagnosis)).content.decode())
    for html in pages:
        assert '<span class="percent">' in html
        rest = re.sub(r'<span class="percent">\d+%</span>|>\d+%</meter>', "", html)
        assert not re.search(r"\d%", rest)


# --- "Still not working" ----------------------------------------------------------------------


def test_still_not_working_with_nothing_ticked_asks_which_steps_were_tried(client, seeded):
    diagnosis = start(client)
    client.post(reverse("wizard:finish", args=[diagnosis.code]))
    response = client.post(
        reverse("wizard:feedback", args=[diagnosis.code]), {"outcome": "not-fixed"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Please tick the steps you tried" in html
    assert 'aria-invalid="true"' in html
    diagnosis.refresh_from_db()
    assert diagnosis.tried == [] and diagnosis.is_fixed is None
    assert not diagnosis.events.filter(kind="not-fixed").exists()


def test_what_was_ticked_is_kept_when_the_form_comes_back(client, seeded):
    diagnosis = start(client)
    client.post(reverse("wizard:finish", args=[diagnosis.code]))
    solution = client.get(result_url(diagnosis)).context["result"].solutions[0]["slug"]
    # Ticked, but the button sent neither outcome (a tampered or truncated form).
    response = client.post(
        reverse("wizard:feedback", args=[diagnosis.code]), {"outcome": "maybe", "tried": [solution]}
    )
    assert response.status_code == 400
    assert f'value="{solution}" checked' in response.content.decode()


def test_an_empty_tried_step_is_never_recorded(seeded):
    diagnosis = diagnoses.start(revision=seeded.number, language="en")
    diagnoses.record_outcome(diagnosis, diagnoses.Outcome.NOT_FIXED, tried=[], solution="")
    diagnosis.refresh_from_db()
    assert diagnosis.tried == []
    from wizard.views.common import case_summary

    assert "tried without success" not in case_summary(diagnosis, "en")


# --- Development: error pages are pages -------------------------------------------------------


def test_with_debug_on_no_script_replaces_error_pages_with_bare_html(client, seeded, settings):
    """django-htmx's debug script (added by {% htmx_script %} when DEBUG is on) turns any
    400/403/404 under htmx into the bare response; the site shows its own error pages."""
    settings.DEBUG = True
    html = client.get("/").content.decode()
    assert "django-htmx.js" not in html
    assert "htmx-2.min.js" in html
