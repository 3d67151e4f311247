"""The diagnosis mathematics: a naive-Bayes belief over causes and greedy questioning.

Pure numpy, no Django. Everything works on a :class:`Model`, a set of arrays compiled
from one published knowledge revision:

- ``prior[c]``: how common cause ``c`` is (normalised to sum to 1);
- ``likelihood[q, a, c]``: probability that a merchant whose terminal has cause ``c``
  gives answer ``a`` to question ``q``. Questions have different numbers of answers; the
  unused slots of the padded answer axis are zero and never chosen;
- ``effort[q]``: how hard question ``q`` is to answer (1.0 is a plain question);
- ``fixes[s, c]``: the chance that solution ``s`` fixes cause ``c``; ``cost[s]``: the
  minutes it takes.

An answer is a pair ``(question index, answer index)``; "not sure" is simply not an
answer, so it carries no evidence. Probabilities are kept in log space while answers are
combined so that many extreme likelihoods never underflow to zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

# One answer as array indices: (question, answer). "Not sure" is no evidence at all.
Evidence = tuple[int, int]

# Below this many bits, a question is not worth asking any more.
MIN_GAIN_BITS = 0.02


@dataclass(frozen=True)
class Model:
    prior: np.ndarray  # (C,)
    likelihood: np.ndarray  # (Q, A, C)
    effort: np.ndarray  # (Q,)
    fixes: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # (S, C) in [0, 1]
    cost: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (S,)

    def __post_init__(self) -> None:
        prior = np.asarray(self.prior, dtype=float)
        likelihood = np.asarray(self.likelihood, dtype=float)
        if prior.ndim != 1 or likelihood.ndim != 3 or likelihood.shape[2] != prior.shape[0]:
            raise ValueError("prior must be (C,) and likelihood (Q, A, C)")
        if np.any(prior <= 0):
            raise ValueError("every prior must be positive")
        object.__setattr__(self, "prior", prior / prior.sum())
        object.__setattr__(self, "likelihood", likelihood)
        object.__setattr__(self, "effort", np.asarray(self.effort, dtype=float))
        object.__setattr__(self, "fixes", np.asarray(self.fixes, dtype=float))
        object.__setattr__(self, "cost", np.asarray(self.cost, dtype=float))
        # Precomputed once per model: the flattened matrix for P(answer) and the
        # conditional answer entropy H(A | C = c) of every question, so that the
        # information gain of all questions is two matrix-vector products.
        q, a, c = likelihood.shape
        object.__setattr__(self, "_flat", likelihood.reshape(q * a, c))
        with np.errstate(divide="ignore", invalid="ignore"):
            plogp = np.where(likelihood > 0, likelihood * np.log2(likelihood), 0.0)
        object.__setattr__(self, "_answer_entropy", -plogp.sum(axis=1))  # (Q, C)
        object.__setattr__(self, "_log_likelihood", np.log(np.clip(likelihood, 1e-300, None)))

    @property
    def n_causes(self) -> int:
        return self.prior.shape[0]

    @property
    def n_questions(self) -> int:
        return self.likelihood.shape[0]


def posterior(model: Model, answers: Iterable[Evidence], failed: Iterable[int] = ()) -> np.ndarray:
    """P(cause | answers): prior times the likelihood of every answer, normalised.

    ``failed`` lists solutions tried without success: each is evidence against the
    causes it would have fixed, by the chance it had of fixing them.
    """
    log_p = np.log(model.prior)
    for q, a in answers:
        log_p = log_p + model._log_likelihood[q, a]
    for s in failed:
        log_p = log_p + np.log(np.clip(1.0 - model.fixes[s], 1e-12, None))
    log_p -= log_p.max()
    p = np.exp(log_p)
    return p / p.sum()


def entropy(p: np.ndarray) -> float:
    """Shannon entropy in bits."""
    nz = p[p > 0]
    return float(-(nz * np.log2(nz)).sum())


def information_gain(model: Model, p: np.ndarray) -> np.ndarray:
    """Expected drop in entropy of the cause distribution for every question, in bits.

    Uses I(C; A) = H(A) - H(A | C): ``H(A)`` from the answer marginals ``L @ p`` and
    ``H(A | C)`` from the precomputed per-cause answer entropy.
    """
    q, a, _ = model.likelihood.shape
    marginal = (model._flat @ p).reshape(q, a)
    with np.errstate(divide="ignore", invalid="ignore"):
        h_answer = -np.where(marginal > 0, marginal * np.log2(marginal), 0.0).sum(axis=1)
    gain = h_answer - model._answer_entropy @ p
    # Rounding can leave a hair below zero for useless questions.
    return np.maximum(gain, 0.0)


@dataclass(frozen=True)
class Step:
    """What the engine says after a set of answers."""

    posterior: np.ndarray
    question: int | None  # the next question to ask, or None when it is time to stop
    gains: np.ndarray  # information gain of every question (asked ones are 0)
    reason: str  # "ask", "confident", "uninformative" or "budget"


def next_step(
    model: Model,
    answers: Sequence[Evidence],
    asked: Iterable[int] = (),
    *,
    confidence: float = 0.85,
    budget: int = 15,
    min_gain: float = MIN_GAIN_BITS,
    failed: Iterable[int] = (),
) -> Step:
    """Choose the most informative question per unit of effort, or decide to stop.

    ``asked`` lists every question already put to the merchant, including those
    answered "not sure", which are never asked again.
    """
    p = posterior(model, answers, failed)
    gains = information_gain(model, p)
    asked = set(asked) | {q for q, _ in answers}
    open_ = np.ones(model.n_questions, dtype=bool)
    if asked:
        open_[list(asked)] = False
        gains[~open_] = 0.0
    if p.max() >= confidence:
        return Step(p, None, gains, "confident")
    if len(asked) >= budget:
        return Step(p, None, gains, "budget")
    worth_asking = open_ & (gains >= min_gain)
    if not worth_asking.any():
        return Step(p, None, gains, "uninformative")
    score = np.where(worth_asking, gains / model.effort, -np.inf)
    return Step(p, int(np.argmax(score)), gains, "ask")


def ranking(p: np.ndarray) -> list[int]:
    """Cause indices, most probable first; ties keep the knowledge order."""
    return sorted(range(len(p)), key=lambda c: (-p[c], c))


def remediation(
    model: Model,
    p: np.ndarray,
    allowed: np.ndarray | None = None,
    *,
    min_probability: float = 0.01,
    min_value: float = 0.01,
    limit: int = 8,
) -> list[int]:
    """Order solutions by probability of fixing the problem per minute of effort.

    Greedy decision-theoretic troubleshooting: ``fixes[s, c]`` is the chance that step
    ``s`` fixes cause ``c``. Take the step with the best ratio of "probability that it
    fixes the problem, given every step before it failed" to its cost, discount the
    causes it may have fixed, repeat. A step shared by several causes is listed once;
    causes below ``min_probability`` and steps worth less than ``min_value`` are left
    out. ``allowed`` masks out steps that do not fit the merchant's situation.
    """
    fixes = model.fixes
    if fixes.size == 0:
        return []
    unfixed = np.where(p >= min_probability, p, 0.0)
    candidates = np.ones(fixes.shape[0], dtype=bool) if allowed is None else allowed.copy()
    cost = np.maximum(model.cost, 1e-9)
    order: list[int] = []
    while candidates.any() and len(order) < limit:
        value = fixes @ unfixed
        score = np.where(candidates & (value >= min_value), value / cost, -np.inf)
        best = int(np.argmax(score))
        if score[best] == -np.inf:
            break
        order.append(best)
        candidates[best] = False
        unfixed = unfixed * (1.0 - fixes[best])
    return order


def support(model: Model, answers: Sequence[Evidence], cause: int, *, ratio: float = 1.5) -> list[int]:
    """Positions of the answers that point towards ``cause``.

    An answer supports a cause when it is at least ``ratio`` times more likely under
    that cause than under the prior mixture of all causes.
    """
    positions = []
    for position, (q, a) in enumerate(answers):
        row = model.likelihood[q, a]
        if row[cause] >= ratio * float(row @ model.prior):
            positions.append(position)
    return positions


def simulate(
    model: Model,
    answer_for,
    *,
    confidence: float = 0.85,
    budget: int = 15,
) -> tuple[list[Evidence | tuple[int, None]], np.ndarray]:
    """Run a whole diagnosis; ``answer_for(question)`` returns an answer index or None.

    None stands for "not sure". Returns the transcript and the final posterior. Used by
    the knowledge health checks, the quality gate and the benchmark.
    """
    transcript: list = []
    answers: list[Evidence] = []
    asked: list[int] = []
    while True:
        step = next_step(model, answers, asked, confidence=confidence, budget=budget)
        if step.question is None:
            return transcript, step.posterior
        a = answer_for(step.question)
        asked.append(step.question)
        transcript.append((step.question, a))
        if a is not None:
            answers.append((step.question, a))
