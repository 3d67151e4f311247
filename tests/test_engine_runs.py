"""Each request asks the engine where a diagnosis stands once, and passes the answer along.

The engine is counted where every caller reaches it: ``engine.next_step`` (which chooses
the next question) and ``engine.posterior`` (which it, and anything else ranking causes,
would call). A page builder that quietly recomputed the position shows up here.
"""

from __future__ import annotations

from collections import Counter

import pytest
from django.urls import reverse

from wizard import engine

from .conftest import make_agent
from .test_wizard_flow import answer, current, run_to_the_end, start


@pytest.fixture
def engine_runs(monkeypatch) -> Counter:
    runs: Counter = Counter()
    for name in ("next_step", "posterior"):
        original = getattr(engine, name)

        def counting(*args, _original=original, _name=name, **kwargs):
            runs[_name] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(engine, name, counting)
    return runs


def assert_ran_once(runs: Counter) -> None:
    assert runs == Counter(next_step=1, posterior=1), dict(runs)


def test_engine_runs_once_per_answer(client, seeded, engine_runs):
    diagnosis = start(client)
    question = current(client, diagnosis).context["question"]
    engine_runs.clear()
    response = answer(client, diagnosis, 1, question["slug"], question["options"][0]["slug"])
    assert response.status_code == 303
    assert_ran_once(engine_runs)


def test_engine_runs_once_per_answer_that_changes_an_earlier_one(client, seeded, engine_runs):
    diagnosis = start(client)
    first = current(client, diagnosis).context["question"]
    answer(client, diagnosis, 1, first["slug"], "unsure")
    engine_runs.clear()
    response = client.post(
        reverse("wizard:step", args=[diagnosis.code, 1]),
        {"question": first["slug"], "answer": first["options"][0]["slug"], "seen": 1},
    )
    assert response.status_code == 303
    assert_ran_once(engine_runs)


def test_engine_runs_once_per_answer_that_finishes(client, seeded, snapshot, engine_runs):
    """Answer as a merchant with the first cause would, counting every POST."""
    diagnosis = start(client)
    c = snapshot.cause_index[snapshot.causes[0]["slug"]]
    posted = None
    for _ in range(20):
        page = current(client, diagnosis)
        if "question" not in page.context:
            break
        question = page.context["question"]
        q = snapshot.question_index[question["slug"]]
        best = question["options"][int(snapshot.model.likelihood[q, : len(question["options"]), c].argmax())]
        engine_runs.clear()
        posted = answer(client, diagnosis, page.context["number"], question["slug"], best["slug"])
        assert_ran_once(engine_runs)
    assert posted is not None and posted["Location"] == reverse("wizard:result", args=[diagnosis.code])


def test_engine_runs_once_per_question_page(client, seeded, engine_runs):
    diagnosis = start(client)
    engine_runs.clear()
    response = client.get(reverse("wizard:step", args=[diagnosis.code, 1]))
    assert response.status_code == 200
    assert_ran_once(engine_runs)


def test_engine_runs_once_per_result_page(client, seeded, snapshot, engine_runs):
    diagnosis = start(client)
    run_to_the_end(client, diagnosis, snapshot, snapshot.causes[0]["slug"])
    engine_runs.clear()
    response = client.get(reverse("wizard:result", args=[diagnosis.code]))
    assert response.status_code == 200
    assert response.context["result"].causes
    assert_ran_once(engine_runs)


def test_engine_runs_once_per_agent_console(client, seeded, django_user_model, engine_runs):
    client.force_login(make_agent("agent-counted"))
    diagnosis = start(client)
    engine_runs.clear()
    response = client.get(reverse("wizard:agent-case", args=[diagnosis.code]))
    assert response.status_code == 200
    assert response.context["question"] is not None
    assert_ran_once(engine_runs)


def test_a_step_never_reads_the_knowledge_payload_again(client, seeded, django_user_model):
    """The compiled snapshot is cached per process: a page that loads the diagnosis with
    its revision's payload (a join too many) pays for decoding the whole knowledge."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    diagnosis = start(client)
    question = current(client, diagnosis).context["question"]  # compiles the snapshot once
    client.force_login(make_agent("agent-payload"))
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("wizard:step", args=[diagnosis.code, 1]))
        answer(client, diagnosis, 1, question["slug"], "unsure")
        client.get(reverse("wizard:result", args=[diagnosis.code]))
        client.get(reverse("wizard:agent-case", args=[diagnosis.code]))
    assert not [q["sql"] for q in queries.captured_queries if '"payload"' in q["sql"]]
