"""The engine on plain arrays: properties that must hold for any knowledge base."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from wizard import engine

# A numpy warning here (log of 0, 0 × inf) is a NaN waiting to happen in a ranking.
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")


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


def test_effort_makes_an_expensive_question_wait():
    likelihood = np.array([[[0.9, 0.1], [0.1, 0.9]], [[0.8, 0.2], [0.2, 0.8]]])
    cheap_first = engine.Model(prior=np.ones(2), likelihood=likelihood, effort=np.array([5.0, 1.0]))
    assert engine.next_step(cheap_first, [], rule="gain").question == 1
    plain = engine.Model(prior=np.ones(2), likelihood=likelihood, effort=np.ones(2))
    assert engine.next_step(plain, [], rule="gain").question == 0
    # ...unless it settles the diagnosis at once (0.9 ≥ 0.88) where the cheap one cannot:
    # the look-ahead to the stop is worth its effort.
    assert engine.next_step(cheap_first, [], rule="reach").question == 0
    assert engine.next_step(cheap_first, [], rule="reach", confidence=0.95).question == 1


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


# --- Answers move the belief the right way --------------------------------------------------


def brute_force_posterior(model: engine.Model, answers, failed=()) -> np.ndarray:
    """Bayes' rule written out: prior × every answer's likelihood × every failed step's
    chance of not fixing, normalised."""
    p = model.prior.copy()
    for q, a in answers:
        p = p * model.likelihood[q, a]
    for s in failed:
        p = p * (1.0 - model.fixes[s])
    return p / p.sum()


@st.composite
def models_with_steps(draw):
    """Small models with padded answer slots (questions with 2 or 3 answers) and steps."""
    causes = draw(st.integers(2, 6))
    questions = draw(st.integers(1, 5))
    likelihood = np.zeros((questions, 3, causes))
    for q in range(questions):
        n_answers = draw(st.integers(2, 3))
        raw = draw(arrays(float, (n_answers, causes), elements=st.floats(0.01, 1.0)))
        likelihood[q, :n_answers] = raw / raw.sum(axis=0)
    steps = draw(st.integers(1, 4))
    return engine.Model(
        prior=draw(arrays(float, causes, elements=st.floats(0.1, 10.0))),
        likelihood=likelihood,
        effort=np.ones(questions),
        fixes=draw(arrays(float, (steps, causes), elements=st.floats(0.0, 0.95))),
        cost=draw(arrays(float, steps, elements=st.floats(1.0, 30.0))),
    )


@st.composite
def evidence(draw):
    model = draw(models_with_steps())
    answerable = [
        (q, a)
        for q in range(model.n_questions)
        for a in range(model.counts[q])
        if model.likelihood[q, a].any()
    ]
    answers = draw(st.lists(st.sampled_from(answerable), max_size=6))
    failed = draw(st.lists(st.integers(0, model.fixes.shape[0] - 1), max_size=3))
    return model, answers, failed


@given(evidence())
def test_posterior_is_bayes_rule(case):
    model, answers, failed = case
    expected = brute_force_posterior(model, answers, failed)
    # The log-likelihoods are float32: a few parts in a million.
    assert engine.posterior(model, answers, failed) == pytest.approx(expected, rel=1e-5, abs=1e-9)


def two_causes(*, yes_if_a: float, yes_if_b: float, prior=(1.0, 1.0)) -> engine.Model:
    """Causes A and B, one yes/no question: answer 0 is "yes"."""
    likelihood = np.array([[[yes_if_a, yes_if_b], [1 - yes_if_a, 1 - yes_if_b]]])
    return engine.Model(prior=np.array(prior), likelihood=likelihood, effort=np.ones(1))


def test_an_answer_typical_of_a_cause_raises_it_and_the_other_answer_lowers_it():
    model = two_causes(yes_if_a=0.9, yes_if_b=0.2, prior=(1.0, 3.0))
    before = engine.posterior(model, [])
    assert before == pytest.approx([0.25, 0.75])
    yes, no = engine.posterior(model, [(0, 0)]), engine.posterior(model, [(0, 1)])
    assert yes[0] == pytest.approx(0.25 * 0.9 / (0.25 * 0.9 + 0.75 * 0.2))
    assert no[0] == pytest.approx(0.25 * 0.1 / (0.25 * 0.1 + 0.75 * 0.8))
    assert no[0] < before[0] < yes[0]


def test_the_same_evidence_twice_counts_twice():
    model = two_causes(yes_if_a=0.8, yes_if_b=0.4)
    once, twice = engine.posterior(model, [(0, 0)]), engine.posterior(model, [(0, 0), (0, 0)])
    assert once[0] == pytest.approx(2 / 3)
    assert twice[0] == pytest.approx(0.8**2 / (0.8**2 + 0.4**2))


def test_an_answer_no_cause_explains_better_than_another_moves_nothing():
    model = two_causes(yes_if_a=0.5, yes_if_b=0.5, prior=(1.0, 4.0))
    assert engine.posterior(model, [(0, 0)]) == pytest.approx([0.2, 0.8])


def test_a_failed_step_lowers_the_causes_it_would_have_fixed():
    model = engine.Model(
        prior=np.ones(3),
        likelihood=np.full((1, 2, 3), 0.5),
        effort=np.ones(1),
        fixes=np.array([[0.9, 0.0, 0.5], [1.0, 0.0, 0.0]]),
        cost=np.ones(2),
    )
    p = engine.posterior(model, [], failed=[0])
    assert p == pytest.approx(np.array([0.1, 1.0, 0.5]) / 1.6)
    # A step certain to fix a cause rules it out, without dividing by zero.
    certain = engine.posterior(model, [], failed=[1])
    assert certain[0] < 1e-11 and certain[1:] == pytest.approx([0.5, 0.5])


def test_no_evidence_at_all_leaves_the_normalised_prior():
    model = engine.Model(prior=np.array([2.0, 6.0]), likelihood=np.full((3, 2, 2), 0.5), effort=np.ones(3))
    assert model.prior == pytest.approx([0.25, 0.75])
    assert engine.posterior(model, []) == pytest.approx([0.25, 0.75])
    assert (model.n_causes, model.n_questions) == (2, 3)


# --- Entropy and information gain -----------------------------------------------------------


def test_entropy_in_bits_ignores_impossible_causes():
    assert engine.entropy(np.array([0.5, 0.5])) == pytest.approx(1.0)
    assert engine.entropy(np.full(4, 0.25)) == pytest.approx(2.0)
    assert engine.entropy(np.array([1.0, 0.0, 0.0])) == 0.0
    assert engine.entropy(np.array([0.5, 0.5, 0.0])) == pytest.approx(1.0)


@settings(max_examples=60)
@given(evidence())
def test_gain_of_questions_with_fewer_answers_than_the_widest_equals_brute_force(case):
    # Unused answer slots are zero: no log(0) warning, no NaN, no gain from them.
    model, answers, failed = case
    p = engine.posterior(model, answers, failed)
    gains = engine.information_gain(model, p)
    assert gains == pytest.approx([brute_force_gain(model, p, q) for q in range(model.n_questions)], abs=1e-5)


def test_a_question_that_settles_two_equal_causes_is_worth_one_bit():
    model = two_causes(yes_if_a=1.0, yes_if_b=0.0)
    assert engine.information_gain(model, np.array([0.5, 0.5])) == pytest.approx([1.0])
    # Once the cause is known, the same question tells nothing more.
    assert engine.information_gain(model, np.array([1.0, 0.0])) == pytest.approx([0.0])


# --- When to ask, and what ---------------------------------------------------------------------


def test_the_first_step_asks_the_most_informative_question():
    likelihood = np.array([[[0.6, 0.4], [0.4, 0.6]], [[0.95, 0.05], [0.05, 0.95]], [[0.5, 0.5], [0.5, 0.5]]])
    model = engine.Model(prior=np.ones(2), likelihood=likelihood, effort=np.ones(3))
    step = engine.next_step(model, [])
    assert (step.question, step.reason) == (1, "ask")
    assert step.posterior == pytest.approx([0.5, 0.5])
    assert step.gains[1] > step.gains[0] > step.gains[2] == 0.0


def test_a_question_answered_or_skipped_is_never_asked_again():
    likelihood = np.array([[[0.95, 0.05], [0.05, 0.95]], [[0.7, 0.3], [0.3, 0.7]], [[0.6, 0.4], [0.4, 0.6]]])
    model = engine.Model(prior=np.ones(2), likelihood=likelihood, effort=np.ones(3))
    # Answered "not sure" (asked, no evidence): the next best question instead.
    step = engine.next_step(model, [], asked=[0], confidence=1.1)
    assert step.question == 1 and step.gains[0] == 0.0
    # Answered: counts as asked even when the caller does not list it.
    step = engine.next_step(model, [(0, 0), (1, 1)], confidence=1.1, min_gain=0.0)
    assert step.question == 2 and step.gains[0] == step.gains[1] == 0.0


def test_confidence_exactly_reached_stops():
    model = two_causes(yes_if_a=0.9, yes_if_b=0.3)
    reached = float(engine.posterior(model, [(0, 0)]).max())
    assert engine.next_step(model, [(0, 0)], confidence=reached).reason == "confident"
    assert engine.next_step(model, [(0, 0)], confidence=np.nextafter(reached, 1)).reason != "confident"


def test_a_question_worth_exactly_the_least_gain_is_asked():
    model = two_causes(yes_if_a=0.9, yes_if_b=0.3)
    gain = float(engine.information_gain(model, model.prior)[0])
    # The floor is min_gain times a factor of the causes in play: set it to the gain.
    min_gain = gain / engine.gain_floor(model.prior, min_gain=1.0)
    assert engine.gain_floor(model.prior, min_gain) == pytest.approx(gain)
    assert engine.next_step(model, [], min_gain=min_gain).question == 0
    step = engine.next_step(model, [], min_gain=np.nextafter(min_gain, 1))
    assert (step.question, step.reason) == (None, "exhausted")


def test_the_default_stop_rule_is_88_percent_and_20_questions():
    model = two_causes(yes_if_a=0.88, yes_if_b=0.12)
    assert engine.next_step(model, []).question == 0
    assert engine.next_step(model, [(0, 0)]).reason == "confident"  # exactly 0.88
    assert engine.next_step(two_causes(yes_if_a=0.87, yes_if_b=0.13), [(0, 0)]).reason != "confident"
    many = random_model(np.random.default_rng(5), causes=40, questions=30)
    answers = [(q, q % 2) for q in range(20)]
    assert engine.next_step(many, answers[:19], confidence=1.1).reason == "ask"
    assert engine.next_step(many, answers, confidence=1.1).reason == "budget"


def test_late_in_a_diagnosis_a_question_must_tell_a_tenth_of_a_bit():
    # Four causes or fewer in play: the floor is a tenth of a bit; many more: it shrinks
    # in proportion, down to the least gain ever asked for (0.02 bits).
    assert engine.gain_floor(np.array([0.5, 0.5])) == pytest.approx(0.1)
    assert engine.gain_floor(np.full(4, 0.25)) == pytest.approx(0.1)
    assert engine.gain_floor(np.full(8, 0.125)) == pytest.approx(0.05)
    assert engine.gain_floor(np.full(300, 1 / 300)) == pytest.approx(engine.MIN_GAIN_BITS)
    assert engine.gain_floor(np.array([0.5, 0.5]), min_gain=0.0) == 0.0
    # Two causes at 84.5 % / 15.5 %: a weak question (0.7 / 0.3) would tell 0.05 bits and
    # is not asked; a stronger one (0.9 / 0.1) is.
    weak = two_causes(yes_if_a=0.7, yes_if_b=0.3)
    leaning = [(0, 0), (0, 0)]
    assert engine.posterior(weak, leaning).max() == pytest.approx(0.845, abs=0.001)
    assert engine.next_step(weak, leaning, asked=[], confidence=0.9).reason == "exhausted"
    strong = engine.Model(
        prior=np.ones(2),
        likelihood=np.array([[[0.7, 0.3], [0.3, 0.7]], [[0.9, 0.1], [0.1, 0.9]]]),
        effort=np.ones(2),
    )
    assert engine.next_step(strong, [(0, 0)], confidence=0.9).question == 1


def test_many_weak_questions_are_still_asked_when_many_causes_are_open():
    # 300 equally likely causes, each question pointing to a few: no question tells a
    # tenth of a bit, and every one is still worth asking.
    likelihood = np.full((40, 2, 300), 0.05)
    for q in range(40):
        likelihood[q, 0, 3 * q : 3 * q + 3] = 0.7  # "often" for three causes each
    likelihood[:, 1] = 1 - likelihood[:, 0]
    many = engine.Model(prior=np.ones(300), likelihood=likelihood, effort=np.ones(40))
    assert engine.information_gain(many, many.prior).max() < 0.1
    assert engine.next_step(many, []).reason == "ask"


def test_the_budget_counts_answers_and_the_allowance_counts_not_sure_beyond_it():
    model = random_model(np.random.default_rng(2), causes=30, questions=10)
    answers = [(0, 0), (1, 1)]
    assert engine.next_step(model, answers, asked=[2, 3], budget=4, confidence=1.1).reason == "ask"
    assert engine.next_step(model, [*answers, (2, 0), (3, 1)], budget=4, confidence=1.1).reason == "budget"
    unsure = {"budget": 4, "unsure_allowance": 1, "confidence": 1.1}
    assert engine.next_step(model, answers, asked=[2, 3, 4], **unsure).reason == "budget"


def test_a_confident_diagnosis_stops_before_the_budget_is_checked():
    model = two_causes(yes_if_a=0.99, yes_if_b=0.01)
    assert engine.next_step(model, [(0, 0)], budget=1).reason == "confident"


def test_effort_divides_the_gain():
    likelihood = np.array([[[0.9, 0.1], [0.1, 0.9]], [[0.8, 0.2], [0.2, 0.8]]])
    model = engine.Model(prior=np.ones(2), likelihood=likelihood, effort=np.array([2.0, 1.0]))
    gains = engine.information_gain(model, model.prior)
    # The better question at twice the effort loses to the cheaper one.
    assert gains[0] / 2 < gains[1] < gains[0]
    assert engine.next_step(model, [], rule="gain").question == 1


# --- Ranking and the order of the steps ----------------------------------------------------


def test_ranking_puts_the_most_probable_first_and_keeps_the_order_of_ties():
    assert engine.ranking(np.array([0.1, 0.4, 0.1, 0.4])) == [1, 3, 0, 2]


def steps_model(fixes, cost) -> engine.Model:
    fixes = np.asarray(fixes, dtype=float)
    causes = fixes.shape[1]
    return engine.Model(
        prior=np.ones(causes),
        likelihood=np.full((1, 2, causes), 0.5),
        effort=np.ones(1),
        fixes=fixes,
        cost=np.asarray(cost, dtype=float),
    )


def test_remediation_discounts_what_earlier_steps_may_have_fixed():
    # Steps 0 and 1 both fix cause 0 six times in ten (0.3 each). Once step 0 failed,
    # cause 0 is down to 0.5 × 0.4 = 0.2 and step 1 is worth 0.12: less than step 2's
    # 0.2 for cause 1, more than 0.1.
    fixes_cause_0 = [[0.6, 0.0], [0.6, 0.0]]
    model = steps_model([*fixes_cause_0, [0.0, 0.4]], cost=[1, 1, 1])
    assert engine.remediation(model, np.array([0.5, 0.5])) == [0, 2, 1]
    model = steps_model([*fixes_cause_0, [0.0, 0.2]], cost=[1, 1, 1])
    assert engine.remediation(model, np.array([0.5, 0.5])) == [0, 1, 2]


def test_remediation_stops_at_the_limit():
    model = steps_model(np.eye(4), cost=np.ones(4))
    p = np.array([0.4, 0.3, 0.2, 0.1])
    assert engine.remediation(model, p, limit=2) == [0, 1]
    assert engine.remediation(model, p) == [0, 1, 2, 3]
    assert len(engine.remediation(steps_model(np.eye(10), np.ones(10)), np.full(10, 0.1))) == 8


def test_remediation_leaves_out_unlikely_causes_and_worthless_steps_at_the_threshold():
    model = steps_model(np.eye(3), cost=np.ones(3))
    p = np.array([0.97, 0.02, 0.01])
    assert engine.remediation(model, p) == [0, 1, 2]  # exactly 1 % still counts
    assert engine.remediation(model, p, min_probability=0.015) == [0, 1]
    assert engine.remediation(model, p, min_value=0.015) == [0, 1]
    assert engine.remediation(model, p, min_value=0.02) == [0, 1]


def test_remediation_of_a_step_that_takes_no_time_comes_first_without_dividing_by_zero():
    model = steps_model(np.eye(2) * 0.5, cost=[3.0, 0.0])
    assert engine.remediation(model, np.array([0.9, 0.1])) == [1, 0]


def test_remediation_ranks_fractions_of_a_minute_by_probability_per_minute():
    model = steps_model(np.eye(2), cost=[0.5, 0.2])
    assert engine.remediation(model, np.array([0.6, 0.4])) == [1, 0]


def test_remediation_without_steps_is_empty():
    assert (
        engine.remediation(engine.Model(np.ones(2), np.full((1, 2, 2), 0.5), np.ones(1)), np.ones(2) / 2)
        == []
    )


def test_remediation_with_every_step_masked_out_is_empty():
    model = steps_model(np.eye(2), cost=np.ones(2))
    assert engine.remediation(model, np.array([0.5, 0.5]), allowed=np.zeros(2, dtype=bool)) == []
    allowed = np.array([True, False])
    engine.remediation(model, np.array([0.5, 0.5]), allowed=allowed)
    assert allowed.tolist() == [True, False]  # the caller's mask is left as it was


# --- Which answers support a cause ---------------------------------------------------------


def test_support_needs_the_answer_to_be_one_and_a_half_times_likelier_than_on_average():
    # With equal priors P(yes) = 0.5 on average, and 0.75 = 1.5 × 0.5 under cause A.
    model = two_causes(yes_if_a=0.75, yes_if_b=0.25)
    assert engine.support(model, [(0, 0)], 0) == [0]
    assert engine.support(model, [(0, 0)], 0, ratio=1.6) == []
    assert engine.support(model, [(0, 0)], 1) == []
    # B being three times as common, "no" is 0.625 on average: 0.75 is likelier, not enough.
    common_b = two_causes(yes_if_a=0.75, yes_if_b=0.25, prior=(1.0, 3.0))
    assert engine.support(common_b, [(0, 1), (0, 0)], 1) == []
    assert engine.support(common_b, [(0, 1), (0, 0)], 1, ratio=1.2) == [0]
    assert engine.support(common_b, [(0, 1), (0, 0)], 0) == [1]


# --- A whole diagnosis -----------------------------------------------------------------------


def test_simulate_records_every_question_and_uses_only_real_answers_as_evidence():
    likelihood = np.array([[[0.9, 0.1], [0.1, 0.9]], [[0.8, 0.2], [0.2, 0.8]], [[0.9, 0.1], [0.1, 0.9]]])
    model = engine.Model(prior=np.ones(2), likelihood=likelihood, effort=np.ones(3))
    replies = {0: None, 1: 0, 2: 0}  # "not sure" to the first question asked
    transcript, p = engine.simulate(model, replies.get, confidence=0.99)
    assert transcript == [(0, None), (2, 0), (1, 0)]
    assert p == pytest.approx(engine.posterior(model, [(2, 0), (1, 0)]))


def test_simulate_follows_the_confidence_and_budget_it_is_given():
    # Every "yes" takes cause A from 50 % to 80 %, then 94.1 %.
    model = engine.Model(
        prior=np.ones(2), likelihood=np.array([[[0.8, 0.2], [0.2, 0.8]]] * 4), effort=np.ones(4)
    )
    assert len(engine.simulate(model, lambda q: 0)[0]) == 2  # 80 % is short of 85 %
    assert len(engine.simulate(model, lambda q: 0, confidence=0.8)[0]) == 1
    assert len(engine.simulate(model, lambda q: 0, budget=1)[0]) == 1


def test_simulate_asks_at_most_20_questions_by_default():
    # Answers that contradict each other keep the diagnosis open and every question useful.
    model = engine.Model(
        prior=np.ones(2), likelihood=np.array([[[0.7, 0.3], [0.3, 0.7]]] * 30), effort=np.ones(30)
    )
    transcript, p = engine.simulate(model, lambda q: q % 2)
    assert len(transcript) == 20
    assert p.max() < engine.CONFIDENCE


SHAPES = r"^prior must be \(C,\) and every likelihood block \(answers, C\)$"


def test_a_model_needs_matching_shapes():
    with pytest.raises(ValueError, match=SHAPES):  # three causes, two in the likelihood
        engine.Model(prior=np.ones(3), likelihood=np.full((1, 2, 2), 0.5), effort=np.ones(1))
    with pytest.raises(ValueError, match=SHAPES):
        engine.Model(prior=np.ones((2, 1)), likelihood=np.full((1, 2, 2), 0.5), effort=np.ones(1))
    with pytest.raises(ValueError, match=SHAPES):
        engine.Model(prior=np.ones(2), likelihood=np.full((2, 2), 0.5), effort=np.ones(1))
    with pytest.raises(ValueError, match="^every prior must be positive$"):
        engine.Model(prior=np.array([1.0, -1.0]), likelihood=np.full((1, 2, 2), 0.5), effort=np.ones(1))


def test_a_model_takes_plain_lists_and_keeps_float_arrays():
    # A certain answer, written as whole numbers: no log(0) when it rules a cause out.
    model = engine.Model(prior=[1, 3], likelihood=[[[1, 0], [0, 1]]], effort=[1], fixes=[[1, 0]], cost=[5])
    for name in ("prior", "effort", "cost"):
        value = getattr(model, name)
        assert isinstance(value, np.ndarray) and value.dtype == float, name
    # The large arrays are float32, one block of answers per question.
    assert model.likelihood[0].dtype == np.float32 and model.fixes.dtype == np.float32
    assert engine.posterior(model, [(0, 0)]) == pytest.approx([1.0, 0.0])
    assert engine.posterior(model, [], failed=[0]) == pytest.approx([0.0, 1.0])
    assert engine.information_gain(model, model.prior) == pytest.approx([engine.entropy(model.prior)])
    assert engine.remediation(model, model.prior) == [0]


def test_many_answers_unlikely_under_every_cause_still_give_a_proper_posterior():
    # Each answer is rare whatever the cause (1 or 2 in 100 000): 100 of them take every
    # cause's likelihood far below the smallest float, but not their ratio.
    model = two_causes(yes_if_a=1e-5, yes_if_b=2e-5)
    p = engine.posterior(model, [(0, 0)] * 100)
    assert p == pytest.approx([0.5**100, 1.0], rel=1e-9)


def test_the_steps_tried_move_the_next_question_too():
    model = engine.Model(
        prior=np.ones(2),
        likelihood=np.array([[[0.9, 0.1], [0.1, 0.9]]]),
        effort=np.ones(1),
        fixes=np.array([[0.9, 0.0]]),
        cost=np.ones(1),
    )
    step = engine.next_step(model, [], failed=[0])
    assert step.posterior == pytest.approx(engine.posterior(model, [], failed=[0]))
    assert step.reason == "confident"  # 1 / 1.1 ≈ 91 % for the cause the step cannot fix


def test_a_stopped_diagnosis_still_reports_the_belief_and_the_gains():
    model = random_model(np.random.default_rng(4), causes=5, questions=6)
    p = engine.posterior(model, [(0, 1)])
    for reason, options in [
        ("confident", {"confidence": 0.0}),
        ("budget", {"budget": 1, "confidence": 1.1}),
        ("exhausted", {"min_gain": 99.0, "confidence": 1.1}),
    ]:
        step = engine.next_step(model, [(0, 1)], **options)
        assert (step.question, step.reason) == (None, reason)
        assert step.posterior == pytest.approx(p)
        expected = engine.information_gain(model, p)
        expected[0] = 0.0
        assert step.gains == pytest.approx(expected)


def test_remediation_with_a_single_step():
    model = steps_model([[0.5]], cost=[2.0])
    assert engine.remediation(model, np.array([1.0])) == [0]


# --- The slip term, question rules and early questions ------------------------------------


def certain_twins(slip: float) -> engine.Model:
    # "always" against "never": a single answer is all but decisive without slips.
    likelihood = np.array([[[0.95, 0.01], [0.05, 0.99]]] * 4)
    return engine.Model(prior=np.ones(2), likelihood=likelihood, effort=np.ones(4), slip=slip)


def test_without_slips_one_answer_all_but_rules_a_cause_out():
    p = engine.posterior(certain_twins(0.0), [(0, 0)])
    assert p[1] < 0.011


def test_with_slips_no_single_answer_rules_a_cause_out():
    model = certain_twins(0.1)
    p = engine.posterior(model, [(0, 0)])
    assert p[1] > 0.04
    # ...and later answers bring it back.
    p = engine.posterior(model, [(0, 0), (1, 1), (2, 1), (3, 1)])
    assert engine.ranking(p)[0] == 1


def test_a_slip_changes_the_answer():
    # A merchant who slips one answer in five says "no" one time in five when the truth
    # is "yes": the engine must believe as much, not half of it (a slip to "any answer",
    # the same one included, made yes/no questions look twice as reliable as they are).
    model = certain_twins(0.2)
    believed = model.believed(0)
    assert believed.sum(axis=0) == pytest.approx([1.0, 1.0])
    assert believed[1, 0] == pytest.approx(0.8 * 0.05 + 0.2 * 0.95)


def test_slips_spread_over_the_other_answers():
    likelihood = [np.array([[1.0, 0.2], [0.0, 0.3], [0.0, 0.5]])]
    model = engine.Model(prior=np.ones(2), likelihood=likelihood, effort=np.ones(1), slip=0.2)
    assert model.believed(0)[:, 0] == pytest.approx([0.8, 0.1, 0.1])
    assert model.believed(0).sum(axis=0) == pytest.approx([1.0, 1.0])


@pytest.mark.parametrize("slip", [-0.1, 0.5, 0.9])
def test_a_slip_out_of_range_is_refused(slip):
    with pytest.raises(ValueError):
        certain_twins(slip)


def test_yes_no_questions_are_stored_without_padding():
    blocks = [np.full((2, 3), 0.5), np.full((6, 3), 1 / 6)]
    model = engine.Model(prior=np.ones(3), likelihood=blocks, effort=np.ones(2))
    assert list(model.counts) == [2, 6]
    assert model._believed.shape == (8, 3)
    assert model._believed.dtype == np.float32


# --- Choosing questions -----------------------------------------------------------------


def test_a_question_merchants_cannot_answer_is_worth_less():
    likelihood = np.array([[[0.9, 0.1], [0.1, 0.9]]] * 2)
    plain = engine.Model(prior=np.ones(2), likelihood=likelihood, effort=np.ones(2))
    unsure = engine.Model(
        prior=np.ones(2), likelihood=likelihood, effort=np.ones(2), unsure=np.array([0.6, 0.0])
    )
    assert engine.next_step(plain, []).question == 0  # a tie: the first
    assert engine.next_step(unsure, []).question == 1


def test_the_error_rule_prefers_the_question_that_settles_the_leader():
    # Question 0 splits the unlikely causes apart; question 1 tells the two likely ones apart.
    likelihood = np.array(
        [
            [[0.5, 0.5, 0.99, 0.01], [0.5, 0.5, 0.01, 0.99]],
            [[0.9, 0.1, 0.5, 0.5], [0.1, 0.9, 0.5, 0.5]],
        ]
    )
    model = engine.Model(prior=np.array([4.0, 4.0, 1.0, 1.0]), likelihood=likelihood, effort=np.ones(2))
    assert engine.next_step(model, [], rule="error").question == 1


def test_early_questions_come_second_and_before_any_stop():
    likelihood = np.array([[[0.99, 0.01], [0.01, 0.99]], [[0.5, 0.5], [0.5, 0.5]]])
    model = engine.Model(prior=np.ones(2), likelihood=likelihood, effort=np.ones(2))
    assert engine.next_step(model, [], early=[1]).question == 0
    # Confident after one answer, but the safety check is still asked.
    step = engine.next_step(model, [(0, 0)], early=[1])
    assert (step.question, step.reason) == (1, "ask")
    assert engine.next_step(model, [(0, 0), (1, 0)], early=[1]).reason == "confident"


def test_the_expected_leader_among_the_likeliest_causes_matches_all_causes():
    rng = np.random.default_rng(4)
    blocks = [rng.dirichlet(np.ones(3), size=200).T for _ in range(30)]
    model = engine.Model(prior=rng.uniform(0.5, 2.0, 200), likelihood=blocks, effort=np.ones(30))
    p = engine.posterior(model, [(q, 0) for q in range(12)])
    full = model._per_question((model._believed * p.astype(np.float32)).max(axis=1))
    assert len(p) > engine.LEADER_CANDIDATES
    assert np.allclose(engine.expected_leader(model, p), full, atol=1e-3)


def scoring_model(unsure=None) -> engine.Model:
    rng = np.random.default_rng(11)
    blocks = [rng.dirichlet(np.ones(k), size=5).T for k in (2, 3, 2, 4)]
    return engine.Model(
        prior=rng.uniform(0.5, 2.0, 5),
        likelihood=blocks,
        effort=np.array([1.0, 2.0, 1.0, 0.5]),
        unsure=unsure,
    )


def brute_force_leader(model: engine.Model, p: np.ndarray, q: int) -> float:
    return sum(float((row * p).max()) for row in model.likelihood[q])


def test_the_expected_leader_is_the_sum_of_each_answers_best_joint_probability():
    model = scoring_model()
    p = engine.posterior(model, [(0, 1)])
    expected = [brute_force_leader(model, p, q) for q in range(model.n_questions)]
    assert engine.expected_leader(model, p) == pytest.approx(expected, abs=1e-6)


def test_each_rule_scores_what_it_says_per_unit_of_effort_and_of_answers_to_come():
    model = scoring_model(unsure=np.array([0.0, 0.5, 0.25, 0.0]))
    p = engine.posterior(model, [(3, 2)])
    gains = engine.information_gain(model, p)
    error_drop = np.maximum(np.array([brute_force_leader(model, p, q) for q in range(4)]) - p.max(), 0.0)
    per_effort = (1.0 - model.unsure) / model.effort
    assert engine.question_scores(model, p, gains, "gain") == pytest.approx(gains * per_effort, abs=1e-6)
    assert engine.question_scores(model, p, gains, "error") == pytest.approx(
        error_drop * per_effort, abs=1e-6
    )
    hybrid = (gains + engine.HYBRID_WEIGHT * error_drop) * per_effort
    assert engine.question_scores(model, p, gains, "hybrid") == pytest.approx(hybrid, abs=1e-6)


def test_reach_is_the_chance_that_the_next_answer_ends_the_questions_confident():
    model = scoring_model()
    answers = [(3, 2)]
    p = engine.posterior(model, answers)
    for confidence in (0.5, 0.6, 0.8):
        expected = [
            sum(
                float(model.believed(q)[a] @ p)
                for a in range(model.counts[q])
                if engine.posterior(model, [*answers, (q, a)]).max() >= confidence
            )
            for q in range(model.n_questions)
        ]
        assert engine.reach(model, p, confidence) == pytest.approx(expected, abs=1e-5)
    gains = engine.information_gain(model, p)
    per_effort = (1.0 - model.unsure) / model.effort
    scored = (gains + engine.REACH_WEIGHT * engine.reach(model, p, 0.6)) * per_effort
    assert engine.question_scores(model, p, gains, "reach", confidence=0.6) == pytest.approx(scored, abs=1e-6)


def test_the_likeliest_causes_are_the_ones_searched_for_the_leader():
    rng = np.random.default_rng(8)
    blocks = [rng.dirichlet(np.ones(3), size=300).T for _ in range(6)]
    model = engine.Model(prior=np.ones(300), likelihood=blocks, effort=np.ones(6))
    p = np.full(300, 1e-9)
    p[rng.choice(300, size=20, replace=False)] = rng.uniform(0.5, 1.0, 20)
    p /= p.sum()
    expected = [brute_force_leader(model, p, q) for q in range(6)]
    assert engine.expected_leader(model, p) == pytest.approx(expected, abs=1e-6)


def test_the_safety_check_is_the_second_question_even_when_more_remain_to_ask():
    rng = np.random.default_rng(3)
    model = engine.Model(
        prior=np.ones(6),
        likelihood=[rng.dirichlet(np.ones(2), size=6).T for _ in range(8)],
        effort=np.ones(8),
    )
    first = engine.next_step(model, [], early=[7])
    assert first.question != 7
    second = engine.next_step(model, [(first.question, 0)], early=[7], confidence=1.1)
    assert second.question == 7
