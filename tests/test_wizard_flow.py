"""The merchant's wizard through Django's test client: full pages and htmx partials."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from wizard import diagnoses, flow, knowledge, publishing
from wizard.content import load_payload
from wizard.models import Answer, Cause, Diagnosis, KnowledgeRevision
from wizard.position import Reply, locate

HTMX = {"HTTP_HX_REQUEST": "true"}


def start(client, **extra) -> Diagnosis:
    response = client.post(reverse("wizard:start"), {"token": ""}, **extra)
    assert response.status_code == 303
    return Diagnosis.objects.latest("created")


def current(client, diagnosis: Diagnosis):
    """Follow the case to where it stands; returns the final response."""
    return client.get(reverse("wizard:resume", args=[diagnosis.code]), follow=True)


def answer(client, diagnosis: Diagnosis, number: int, question: str, option: str, **extra):
    return client.post(
        reverse("wizard:step", args=[diagnosis.code, number]),
        {"question": question, "answer": option},
        **extra,
    )


def test_landing_says_what_it_does_and_starts(client, seeded):
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-action="start"' in html
    assert '<html lang="zh-hans"' in html


def test_landing_in_english(client, seeded):
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="en")
    assert "Start the diagnosis" in response.content.decode()


def test_start_creates_a_diagnosis_on_the_latest_revision_and_asks_question_one(client, seeded):
    diagnosis = start(client)
    assert diagnosis.revision_id == seeded.number
    assert diagnosis.status == Diagnosis.Status.IN_PROGRESS
    assert len(diagnosis.code) == 10
    response = client.get(reverse("wizard:step", args=[diagnosis.code, 1]))
    html = response.content.decode()
    assert response.status_code == 200
    assert re.search(r'data-question="[a-z0-9-]+"', html)
    assert 'value="unsure"' in html
    assert f'data-case-code="{diagnosis.code}"' in html
    assert 'data-action="results"' in html
    assert 'data-action="back"' in html


def test_double_click_on_start_makes_one_diagnosis(client, seeded):
    for _ in range(2):
        response = client.post(reverse("wizard:start"), {"token": "abc123"})
        assert response.status_code == 303
    assert Diagnosis.objects.filter(start_token="abc123").count() == 1


def test_no_published_knowledge_is_a_clear_503(client, db):
    Diagnosis.objects.all().delete()
    KnowledgeRevision.objects.all().delete()
    assert client.post(reverse("wizard:start")).status_code == 503
    assert "not available yet" in client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_answering_moves_to_the_next_question(client, seeded):
    diagnosis = start(client)
    first = current(client, diagnosis).context["question"]
    response = answer(client, diagnosis, 1, first["slug"], first["options"][0]["slug"])
    assert response.status_code == 303
    assert response["Location"] == reverse("wizard:step", args=[diagnosis.code, 2])
    second = client.get(response["Location"]).context["question"]
    assert second["slug"] != first["slug"]
    assert list(diagnosis.answers.values_list("question", "option")) == [
        (first["slug"], first["options"][0]["slug"])
    ]


def test_htmx_gets_the_partial_and_the_url_follows(client, seeded):
    diagnosis = start(client)
    first = current(client, diagnosis).context["question"]
    response = answer(client, diagnosis, 1, first["slug"], "unsure", follow=True, **HTMX)
    assert response.redirect_chain[-1][0] == reverse("wizard:step", args=[diagnosis.code, 2])
    html = response.content.decode()
    assert "<html" not in html  # only the partial for <main>
    assert "data-question=" in html
    assert "HX-Request" in response["Vary"]


def test_full_page_for_history_restore(client, seeded):
    diagnosis = start(client)
    response = client.get(
        reverse("wizard:step", args=[diagnosis.code, 1]),
        HTTP_HX_REQUEST="true",
        HTTP_HX_HISTORY_RESTORE_REQUEST="true",
    )
    assert "<html" in response.content.decode()


def test_unsure_is_recorded_but_carries_no_evidence(client, seeded, snapshot):
    diagnosis = start(client)
    first = current(client, diagnosis).context["question"]
    answer(client, diagnosis, 1, first["slug"], "unsure")
    progress = client.get(reverse("wizard:step", args=[diagnosis.code, 2])).context["progress"]
    before = client.get(reverse("wizard:step", args=[diagnosis.code, 1])).context["progress"]
    assert progress["confidence"] == pytest.approx(before["confidence"])
    assert diagnosis.answers.get().option == "unsure"


def test_double_submit_is_idempotent(client, seeded):
    diagnosis = start(client)
    first = current(client, diagnosis).context["question"]
    option = first["options"][0]["slug"]
    one = answer(client, diagnosis, 1, first["slug"], option)
    two = answer(client, diagnosis, 1, first["slug"], option)
    assert one.status_code == two.status_code == 303
    assert one["Location"] == two["Location"]
    assert diagnosis.answers.count() == 1


def test_answer_to_a_question_not_asked_is_a_400_with_the_current_question(client, seeded):
    diagnosis = start(client)
    first = current(client, diagnosis).context["question"]
    answer(client, diagnosis, 1, first["slug"], first["options"][0]["slug"])
    response = answer(client, diagnosis, 2, first["slug"], first["options"][0]["slug"])
    assert response.status_code == 400
    assert response.context["number"] == 2
    assert response.context["question"]["slug"] != first["slug"]
    assert "data-error" in response.content.decode()
    assert diagnosis.answers.count() == 1  # nothing lost, nothing added


def test_an_answer_for_a_step_far_ahead_is_a_400(client, seeded):
    diagnosis = start(client)
    first = current(client, diagnosis).context["question"]
    response = answer(client, diagnosis, 7, first["slug"], first["options"][0]["slug"])
    assert response.status_code == 400
    assert response.context["number"] == 1


def test_tampered_option_is_a_400_and_keeps_answers(client, seeded):
    diagnosis = start(client)
    first = current(client, diagnosis).context["question"]
    answer(client, diagnosis, 1, first["slug"], first["options"][0]["slug"])
    second = current(client, diagnosis).context["question"]
    for bad in ("not-an-option", "<script>", ""):
        response = answer(client, diagnosis, 2, second["slug"], bad, **HTMX)
        assert response.status_code == 400
        assert f'data-question="{second["slug"]}"' in response.content.decode()
    assert diagnosis.answers.count() == 1


def test_tampered_form_without_fields_is_a_400(client, seeded):
    diagnosis = start(client)
    response = client.post(reverse("wizard:step", args=[diagnosis.code, 1]), {})
    assert response.status_code == 400


def test_back_shows_the_earlier_answer_and_changing_it_keeps_the_rest(client, seeded):
    diagnosis = start(client)
    for number in (1, 2, 3):
        question = current(client, diagnosis).context["question"]
        answer(client, diagnosis, number, question["slug"], question["options"][-1]["slug"])
    back = client.get(reverse("wizard:step", args=[diagnosis.code, 1]))
    assert back.context["previous"] == back.context["question"]["options"][-1]["slug"]
    assert 'aria-pressed="true"' in back.content.decode()
    assert diagnosis.answers.count() == 3  # looking back loses nothing
    first = back.context["question"]
    later = list(diagnosis.answers.filter(position__gt=1).values_list("position", "option"))
    response = answer(client, diagnosis, 1, first["slug"], "unsure")
    # The other answers are facts about the terminal: they stay, and the next page says so.
    assert response["Location"] in (
        reverse("wizard:step", args=[diagnosis.code, 4]) + "?changed=1",
        reverse("wizard:result", args=[diagnosis.code]) + "?changed=1",
    )
    assert list(diagnosis.answers.values_list("position", "option")) == [(1, "unsure"), *later]


def test_show_results_now_stops_and_ranks(client, seeded):
    diagnosis = start(client)
    response = client.post(reverse("wizard:finish", args=[diagnosis.code]))
    assert response["Location"] == reverse("wizard:result", args=[diagnosis.code])
    diagnosis.refresh_from_db()
    assert diagnosis.status == Diagnosis.Status.DIAGNOSED
    assert len(diagnosis.ranking) == Cause.objects.published().count()
    html = client.get(response["Location"]).content.decode()
    assert html.count("data-cause=") == 5
    assert "data-solution=" in html


def run_to_the_end(client, diagnosis, snapshot, cause_slug: str, limit: int = 20):
    """Answer as a merchant whose terminal has ``cause_slug`` would."""
    c = snapshot.cause_index[cause_slug]
    for _ in range(limit):
        response = current(client, diagnosis)
        if "question" not in response.context:
            return response
        question = response.context["question"]
        q = snapshot.question_index[question["slug"]]
        best = int(snapshot.model.likelihood[q, : len(question["options"]), c].argmax())
        answer(
            client, diagnosis, response.context["number"], question["slug"], question["options"][best]["slug"]
        )
    raise AssertionError("the wizard never stopped")


def test_result_page_names_the_cause_with_reasons_steps_and_case_code(client, seeded, snapshot):
    diagnosis = start(client)
    cause = snapshot.causes[0]["slug"]
    response = run_to_the_end(client, diagnosis, snapshot, cause)
    html = response.content.decode()
    ranks = re.findall(r'data-cause="([a-z0-9-]+)" data-probability="([0-9.]+)"', html)
    assert ranks[0][0] == cause
    probabilities = [float(p) for _, p in ranks]
    assert probabilities == sorted(probabilities, reverse=True)
    assert response.context["result"].causes[0]["because"], "the top cause says which answers point to it"
    assert f'data-case-code="{diagnosis.code}"' in html
    assert 'href="/d/' in html and 'data-action="change"' in html
    assert 'media="print"' in html
    diagnosis.refresh_from_db()
    assert diagnosis.status == Diagnosis.Status.DIAGNOSED
    assert diagnosis.ranking[0][0] == cause


def test_solutions_appear_once_each(client, seeded, snapshot):
    diagnosis = start(client)
    response = run_to_the_end(client, diagnosis, snapshot, snapshot.causes[-1]["slug"])
    slugs = re.findall(r'data-solution="([a-z0-9-]+)"', response.content.decode())
    assert slugs and len(slugs) == len(set(slugs))


def test_steps_that_do_not_fit_the_answers_are_left_out(snapshot):
    """A step whose situations the answers all rule out is not shown."""
    tailored = [s for s in snapshot.solutions if s.get("contexts")]
    assert tailored, "the seed tailors some steps to the merchant's situation"
    solution = tailored[0]
    cause = next(c for c in snapshot.causes if solution["slug"] in c["solutions"])
    c = snapshot.cause_index[cause["slug"]]

    def touches_contexts(question) -> bool:
        return any(a.get("symptom") in solution["contexts"] for a in question["answers"])

    # The merchant's answers point to the cause, saying nothing about the device...
    typical = [
        Reply(
            q["slug"],
            q["answers"][int(snapshot.model.likelihood[i, : len(q["answers"]), c].argmax())]["slug"],
        )
        for i, q in enumerate(snapshot.questions)
        if not touches_contexts(q)
    ]
    assert solution["slug"] in {
        s["slug"] for s in flow.result(snapshot, locate(snapshot, typical), "zh-hans").solutions
    }
    # ...then rule out every situation the step is for.
    ruled_out = []
    for q in snapshot.questions:
        if touches_contexts(q) and q["kind"] == "binary":
            ruled_out.append(Reply(q["slug"], "no"))
        elif touches_contexts(q):
            other = next(a for a in q["answers"] if a["symptom"] not in solution["contexts"])
            ruled_out.append(Reply(q["slug"], other["slug"]))
    shown = {
        s["slug"] for s in flow.result(snapshot, locate(snapshot, typical + ruled_out), "zh-hans").solutions
    }
    assert solution["slug"] not in shown


def test_unknown_case_code_is_a_friendly_404(client, seeded):
    for url in (
        reverse("wizard:resume", args=["ZZZZZZZZZZ"]),
        reverse("wizard:step", args=["ZZZZZZZZZZ", 1]),
        reverse("wizard:result", args=["nope"]),
        reverse("wizard:find-case") + "?code=ABCDE-FGHJK",
    ):
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 404, url
        assert "could not find that case" in response.content.decode()
    assert client.post(reverse("wizard:finish", args=["ZZZZZZZZZZ"])).status_code == 404


def test_case_lookup_accepts_what_people_type(client, seeded):
    diagnosis = start(client)
    typed = f" {diagnosis.code[:5].lower()}-{diagnosis.code[5:]} "
    response = client.get(reverse("wizard:find-case"), {"code": typed})
    assert response.status_code == 303
    assert response["Location"] == reverse("wizard:resume", args=[diagnosis.code])


def test_malformed_case_code_is_a_400_that_keeps_the_input(client, seeded):
    response = client.get(reverse("wizard:find-case"), {"code": "12"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    html = response.content.decode()
    assert 'value="12"' in html
    assert 'aria-invalid="true"' in html


def test_unknown_page_is_a_friendly_404(client, seeded):
    response = client.get("/no-such-page/")
    assert response.status_code == 404


def test_a_diagnosis_finishes_on_the_revision_it_started_on(client, seeded, snapshot):
    diagnosis = start(client)
    first = current(client, diagnosis).context["question"]
    answer(client, diagnosis, 1, first["slug"], first["options"][0]["slug"])
    # An admin unpublishes the question asked second and publishes revision N+1.
    second = current(client, diagnosis).context["question"]
    from wizard.models import Question

    Question.objects.filter(slug=second["slug"]).update(is_published=False)
    revision, created = publishing.publish()
    assert created and revision.number == seeded.number + 1
    # The running diagnosis still asks it, and accepts the answer.
    assert current(client, diagnosis).context["question"]["slug"] == second["slug"]
    response = answer(client, diagnosis, 2, second["slug"], "unsure")
    assert response.status_code == 303
    # A new diagnosis uses the new revision and never asks it.
    fresh = start(client)
    assert fresh.revision_id == revision.number


def test_a_wizard_step_costs_a_bounded_number_of_queries(client, seeded, django_assert_max_num_queries):
    diagnosis = start(client)
    for number in range(1, 5):
        with django_assert_max_num_queries(1):
            response = client.get(reverse("wizard:step", args=[diagnosis.code, number]))
        assert response.status_code == 200
        question = response.context["question"]
        with django_assert_max_num_queries(3):
            answer(client, diagnosis, number, question["slug"], "unsure")


def test_the_answered_by_is_empty_for_anonymous_merchants(client, seeded):
    diagnosis = start(client)
    first = current(client, diagnosis).context["question"]
    answer(client, diagnosis, 1, first["slug"], "unsure")
    assert Answer.objects.get(diagnosis=diagnosis).answered_by is None


def test_language_switch_keeps_the_current_diagnosis(client, seeded):
    diagnosis = start(client)
    path = reverse("wizard:step", args=[diagnosis.code, 1])
    response = client.post(reverse("set_language"), {"language": "en", "next": path})
    assert response["Location"] == path
    html = client.get(path).content.decode()
    assert 'lang="en"' in html
    assert "Not sure" in html


def test_step_queries_do_not_grow_with_the_knowledge(
    client, db, payload_factory, django_assert_max_num_queries
):
    """A 300-cause knowledge base costs the same handful of queries per step as the seed."""
    import numpy as np

    rng = np.random.default_rng(5)
    words = list(knowledge.STRENGTHS)
    causes = {
        f"cause-{c}": {
            f"s-{s}": words[rng.integers(len(words))] for s in rng.choice(200, size=6, replace=False)
        }
        for c in range(300)
    }
    load_payload(payload_factory(causes))
    revision, _ = publishing.publish()
    assert len(revision.payload["causes"]) >= 300
    diagnosis = start(client)
    assert diagnosis.revision_id == revision.number
    for number in range(1, 4):
        with django_assert_max_num_queries(1):
            response = client.get(reverse("wizard:step", args=[diagnosis.code, number]))
        question = response.context["question"]
        with django_assert_max_num_queries(3):
            answer(client, diagnosis, number, question["slug"], question["options"][0]["slug"])


def test_a_race_for_the_same_step_keeps_the_first_answer_and_says_so(client, seeded, django_user_model):
    diagnosis = start(client)
    first = current(client, diagnosis).context["question"]
    # The merchant's page shows question 1 (no answers yet)...
    agent = django_user_model.objects.create_user("agent-race")
    # ...meanwhile an agent answers it.
    assert diagnoses.answer(diagnosis, 1, first["slug"], "unsure", seen=0, by=agent).verdict == "recorded"
    response = client.post(
        reverse("wizard:step", args=[diagnosis.code, 1]),
        {"question": first["slug"], "answer": first["options"][0]["slug"], "seen": 0},
    )
    assert response.status_code == 409
    assert response.context["number"] == 2  # shown where the case stands now
    assert list(diagnosis.answers.values_list("option", "answered_by")) == [("unsure", agent.pk)]


def test_changing_an_earlier_answer_on_purpose_is_not_a_race(client, seeded):
    diagnosis = start(client)
    first = current(client, diagnosis).context["question"]
    answer(client, diagnosis, 1, first["slug"], "unsure")
    response = client.post(
        reverse("wizard:step", args=[diagnosis.code, 1]),
        {"question": first["slug"], "answer": first["options"][0]["slug"], "seen": 1},
    )
    assert response.status_code == 303
    assert list(diagnosis.answers.values_list("option", flat=True)) == [first["options"][0]["slug"]]


def test_an_answer_posted_to_a_finished_diagnosis_shows_the_result(client, seeded, snapshot):
    """The wizard stopped asking: a stale or tampered answer lands on the result, never a 500."""
    diagnosis = start(client)
    run_to_the_end(client, diagnosis, snapshot, snapshot.causes[0]["slug"])
    n = diagnosis.answers.count()
    for number in (n + 1, n + 5):
        response = answer(client, diagnosis, number, "payment-screen", "unsure")
        assert response.status_code == 303, number
        assert response["Location"] in (
            reverse("wizard:result", args=[diagnosis.code]),
            reverse("wizard:resume", args=[diagnosis.code]),
        )
    assert diagnosis.answers.count() == n


def test_the_stored_current_question_is_always_the_engines_next_question(client, seeded, snapshot):
    """Answers are checked against the stored question: it must never drift from the engine."""
    diagnosis = start(client)
    for number in range(1, 6):
        diagnosis.refresh_from_db()
        position = diagnoses.position(diagnosis, snapshot)
        if position.is_finished:
            assert diagnosis.current_question == ""
            break
        assert diagnosis.current_question == snapshot.questions[position.step.question]["slug"]
        question = client.get(reverse("wizard:step", args=[diagnosis.code, number])).context["question"]
        answer(client, diagnosis, number, question["slug"], question["options"][-1]["slug"])
    # Going back and changing the first answer recomputes it too.
    first = client.get(reverse("wizard:step", args=[diagnosis.code, 1])).context["question"]
    client.post(
        reverse("wizard:step", args=[diagnosis.code, 1]),
        {"question": first["slug"], "answer": "unsure", "seen": diagnosis.answers.count()},
    )
    diagnosis.refresh_from_db()
    position = diagnoses.position(diagnosis, snapshot)
    assert diagnosis.trail[0] == [first["slug"], "unsure"]
    asked = "" if position.is_finished else snapshot.questions[position.step.question]["slug"]
    assert diagnosis.current_question == asked
