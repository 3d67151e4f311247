"""The engine on plain arrays: properties that must hold for any knowledge base."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from wizard import engine


def random_model(rng: np.random.Generator, causes: int, questions: int, answers: int = 2) -> engine.Model:
    raw = rng.uniform(0.01, 1.0, size=(questions, answers, causes))
    likelihood = raw / raw.sum(axis=1, keepdims=True)
    return engine.Model(prior=rng.uniform(0.2, 3.0, causes), likelihood=likelihood, effort=np.ones(questions))


@st.composite
def models(draw, extreme: bool = False):
    causes = draw(st.integers(2, 7))
    questions = draw(st.integers(1, 6))
    low = 1e-12 if extreme else 0.01
    raw = draw(arrays(float, (questions, 2, causes), elements=st.floats(low, 1.0)))
    likelihood = raw / raw.sum(axis=1, keepdims=True)
    prior = draw(arrays(float, causes, elements=st.floats(1e-6 if extreme else 0.1, 10.0)))
    return engine.Model(prior=prior, likelihood=likelihood, effort=np.ones(questions))


@st.composite
def model_and_answers(draw, extreme: bool = False):
    model = draw(models(extreme=extreme))
    answers = draw(
        st.lists(
            st.tuples(st.integers(0, model.n_questions - 1), st.integers(0, 1)),
            max_size=30 if extreme else 6,
        )
    )
    return model, answers


@given(model_and_answers(extreme=True))
def test_posterior_sums_to_one_and_stays_finite_for_extreme_likelihoods(case):
    model, answers = case
    p = engine.posterior(model, answers)
    assert np.all(np.isfinite(p))
    assert np.all(p >= 0)
    assert p.sum() == pytest.approx(1.0)


@given(model_and_answers())
def test_not_sure_changes_nothing(case):
    model, answers = case
    before = engine.next_step(model, answers, asked=[])
    # "Not sure" to a question: it counts as asked, but adds no evidence.
    unsure_question = (before.question,) if before.question is not None else ()
    after = engine.posterior(model, answers)
    assert np.allclose(before.posterior, after)
    step = engine.next_step(model, answers, asked=unsure_question)
    assert np.allclose(step.posterior, before.posterior)


@given(model_and_answers(), st.randoms())
def test_answer_order_does_not_matter(case, random):
    model, answers = case
    shuffled = list(answers)
    random.shuffle(shuffled)
    assert np.allclose(engine.posterior(model, answers), engine.posterior(model, shuffled))


@given(model_and_answers())
def test_information_gain_is_never_negative(case):
    model, answers = case
    gains = engine.information_gain(model, engine.posterior(model, answers))
    assert np.all(gains >= 0)


def brute_force_gain(model: engine.Model, p: np.ndarray, q: int) -> float:
    expected = 0.0
    for row in model.likelihood[q]:
        joint = row * p
        pa = joint.sum()
        if pa > 0:
            expected += pa * engine.entropy(joint / pa)
    return engine.entropy(p) - expected


@settings(max_examples=60)
@given(model_and_answers())
def test_chosen_question_equals_the_brute_force_best(case):
    model, answers = case
    asked = {q for q, _ in answers}
    step = engine.next_step(model, answers, asked, confidence=1.1, min_gain=0.0, budget=99, rule="gain")
    p = engine.posterior(model, answers)
    remaining = [q for q in range(model.n_questions) if q not in asked]
    if not remaining:
        assert step.question is None
        return
    best = max(brute_force_gain(model, p, q) for q in remaining)
    if step.question is not None:
        assert brute_force_gain(model, p, step.question) == pytest.approx(best, abs=1e-5)
    for q in remaining:
        assert step.gains[q] == pytest.approx(brute_force_gain(model, p, q), abs=1e-5)


def test_confident_diagnosis_stops():
    likelihood = np.array([[[0.99, 0.01], [0.01, 0.99]]])
    model = engine.Model(prior=np.ones(2), likelihood=likelihood, effort=np.ones(1))
    assert engine.next_step(model, []).question == 0
    step = engine.next_step(model, [(0, 0)])
    assert step.question is None
    assert step.reason == "confident"


def test_uninformative_questions_stop_the_diagnosis():
    likelihood = np.full((3, 2, 4), 0.5)
    model = engine.Model(prior=np.ones(4), likelihood=likelihood, effort=np.ones(3))
    step = engine.next_step(model, [])
    assert step.question is None
    assert step.reason == "exhausted"


def test_question_budget_stops_the_diagnosis():
    model = random_model(np.random.default_rng(1), causes=30, questions=20)
    step = engine.next_step(model, [(q, 0) for q in range(5)], budget=5, confidence=1.1)
    assert step.question is None
    assert step.reason == "budget"


def test_not_sure_does_not_spend_the_budget_but_is_bounded():
    model = random_model(np.random.default_rng(1), causes=30, questions=20)
    answered = [(q, 0) for q in range(4)]
    unsure = range(4, 8)
    step = engine.next_step(model, answered, asked=unsure, budget=5, unsure_allowance=5, confidence=1.1)
    assert step.reason == "ask" and step.question not in {*range(8)}
    # Four answers and six "not sure": ten questions, the budget of five plus five.
    step = engine.next_step(model, answered, asked=range(4, 10), budget=5, unsure_allowance=5, confidence=1.1)
    assert step.reason == "budget"


def test_effort_makes_an_expensive_question_wait():
    likelihood = np.array([[[0.9, 0.1], [0.1, 0.9]], [[0.8, 0.2], [0.2, 0.8]]])
    cheap_first = engine.Model(prior=np.ones(2), likelihood=likelihood, effort=np.array([5.0, 1.0]))
    assert engine.next_step(cheap_first, []).question == 1
    plain = engine.Model(prior=np.ones(2), likelihood=likelihood, effort=np.ones(2))
    assert engine.next_step(plain, []).question == 0


def test_prior_must_be_positive():
    with pytest.raises(ValueError):
        engine.Model(prior=np.array([1.0, 0.0]), likelihood=np.full((1, 2, 2), 0.5), effort=np.ones(1))


def test_remediation_ranks_by_probability_per_minute_and_lists_shared_steps_once():
    fixes = np.array(
        [
            [True, True, False],  # shared by causes 0 and 1, 10 minutes
            [True, False, False],  # only cause 0, 1 minute
            [False, False, True],  # only cause 2, 1 minute
        ]
    )
    model = engine.Model(
        prior=np.ones(3),
        likelihood=np.full((1, 2, 3), 0.5),
        effort=np.ones(1),
        fixes=fixes,
        cost=np.array([10, 1, 1.0]),
    )
    p = np.array([0.5, 0.4, 0.1])
    # Step 1: 0.5/min; step 2 (covers 0 & 1): 0.9/10; step 3: 0.1/min.
    assert engine.remediation(model, p) == [1, 2, 0]
    # A step no longer worth anything (its causes already covered) is not listed.
    only_first_cause = np.array([0.9, 0.0, 0.1])
    assert engine.remediation(model, only_first_cause) == [1, 2]


def test_remediation_respects_the_allowed_mask():
    fixes = np.eye(2, dtype=bool)
    model = engine.Model(
        prior=np.ones(2), likelihood=np.full((1, 2, 2), 0.5), effort=np.ones(1), fixes=fixes, cost=np.ones(2)
    )
    assert engine.remediation(model, np.array([0.6, 0.4]), allowed=np.array([False, True])) == [1]


def test_support_names_the_answers_that_point_to_a_cause():
    likelihood = np.array([[[0.9, 0.1], [0.1, 0.9]], [[0.5, 0.5], [0.5, 0.5]]])
    model = engine.Model(prior=np.ones(2), likelihood=likelihood, effort=np.ones(2))
    answers = [(1, 0), (0, 0)]
    assert engine.support(model, answers, 0) == [1]
    assert engine.support(model, answers, 1) == []


def test_simulation_finds_a_clear_cause():
    rng = np.random.default_rng(7)
    model = random_model(rng, causes=6, questions=12)
    for cause in range(model.n_causes):

        def answer(q, cause=cause):
            return int(np.argmax(model.likelihood[q, :, cause]))

        transcript, p = engine.simulate(model, answer, budget=12)
        assert len(transcript) <= 12
        assert np.isclose(p.sum(), 1.0)


def test_all_questions_at_once_match_one_by_one():
    model = random_model(np.random.default_rng(3), causes=40, questions=25, answers=4)
    p = engine.posterior(model, [(0, 1), (3, 2)])
    gains = engine.information_gain(model, p)
    for q, _ in itertools.islice(enumerate(gains), 25):
        assert gains[q] == pytest.approx(brute_force_gain(model, p, q), abs=1e-5)
