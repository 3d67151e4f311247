"""Quality gate for the seed knowledge: every cause is found by simulated merchants.

If a cause fails here, fix the knowledge (evidence, questions), not the test.
"""

from __future__ import annotations

import numpy as np
import pytest
from django.conf import settings

from wizard import engine
from wizard.content import read_file
from wizard.knowledge import Snapshot

SNAPSHOT = Snapshot.from_payload(0, read_file())
CAUSES = [c["slug"] for c in SNAPSHOT.causes]


def simulate(cause: str, *, max_questions: int, unsure_every: int = 0) -> tuple[int, np.ndarray]:
    """Answer as a merchant with ``cause`` would, most likely answer each time."""
    model = SNAPSHOT.model
    c = SNAPSHOT.cause_index[cause]
    answers: list[engine.Evidence] = []
    asked: list[int] = []
    while len(asked) < max_questions:
        step = engine.next_step(
            model,
            answers,
            asked,
            confidence=settings.WIZARD_CONFIDENCE,
            budget=settings.WIZARD_QUESTION_BUDGET,
        )
        if step.question is None:
            break
        asked.append(step.question)
        if unsure_every and len(asked) % unsure_every == 0:
            continue  # "not sure": asked, no evidence
        n_answers = len(SNAPSHOT.questions[step.question]["answers"])
        answers.append((step.question, int(model.likelihood[step.question, :n_answers, c].argmax())))
    return len(asked), engine.posterior(model, answers)


@pytest.mark.parametrize("cause", CAUSES)
def test_each_cause_is_ranked_first_within_eight_questions(cause):
    asked, p = simulate(cause, max_questions=8)
    assert engine.ranking(p)[0] == SNAPSHOT.cause_index[cause], f"after {asked} questions"


@pytest.mark.parametrize("cause", CAUSES)
def test_each_cause_is_in_the_top_two_with_every_third_answer_not_sure(cause):
    asked, p = simulate(cause, max_questions=12, unsure_every=3)
    assert SNAPSHOT.cause_index[cause] in engine.ranking(p)[:2], f"after {asked} questions"


def test_the_article_causes_are_all_there():
    assert len(CAUSES) >= 14
