"""The diagnosis mathematics: a naive-Bayes belief over causes and greedy questioning.

Pure numpy, no Django. Everything works on a :class:`Model`, a set of arrays compiled
from one published knowledge revision:

- ``prior[c]``: how common cause ``c`` is (normalised to sum to 1);
- ``likelihood[q][a, c]``: probability that a merchant whose terminal has cause ``c``
  gives answer ``a`` to question ``q``, as the knowledge states it. Questions have
  different numbers of answers; they are stored one row per answer, without padding;
- ``slip``: the chance that any one answer is a mistake (a slip of the finger, a
  misread screen, a world that differs from the knowledge): another answer than the
  merchant's, any of them alike. The engine believes answers
  through it, so no single answer rules a cause out for good: "never" means "very
  unlikely", not impossible;
- ``effort[q]``: how hard question ``q`` is to answer (1.0 is a plain question), and
  ``unsure[q]``: the share of merchants who cannot answer it ("not sure");
- ``fixes[s, c]``: the chance that solution ``s`` fixes cause ``c``; ``cost[s]``: the
  minutes it takes.

An answer is :data:`Evidence`, a pair ``(question index, answer index)``; "not sure" is
simply not evidence. Probabilities are combined in log space so that many extreme
likelihoods never underflow to zero. The large arrays are float32: a knowledge base of
1,000 causes and 500 questions compiles to a few MiB.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

# One answer as array indices: (question, answer). "Not sure" is no evidence at all.
Evidence = tuple[int, int]

# The stopping rules' defaults, here once: the settings start from them, and the wizard
# always passes the settings in (see ``position.rules``).
CONFIDENCE = 0.88  # stop once the leading cause is this likely
BUDGET = 20  # ...or after this many answers with evidence
UNSURE_ALLOWANCE = 5  # ..."not sure" does not count, but at most this many beyond it
MIN_GAIN_BITS = 0.02  # below this many bits, a question is not worth asking any more,
LATE_FACTOR = 5  # ...nor below this many times as many once at most LATE_CAUSES causes
LATE_CAUSES = 4  # are in play (a tenth of a bit)
# The budget and the late floor were chosen together on simulated merchants (the
# benchmark's section 5): a budget of 15 cut off merchants whose answers were still
# converging, and with a few causes left a question that tells less than a tenth of a bit
# almost never changes the result; so a wider budget with a firmer floor late in a
# diagnosis asks about as many questions and leaves the true cause among the first three
# more often. The confidence was chosen the same way, on other random merchants than the
# benchmark's: the setting with the widest margin on both the questions and the top-3
# targets.
SLIP = 0.1  # the chance that any one answer is a mistake
# The probabilities people are shown are the posterior tempered by this (see
# :func:`shown`): fitted by the benchmark so that a "confident" result is right at least
# as often as it claims, minus five points, even for a merchant who gets one answer in
# five wrong.
TEMPERATURE = 0.75

# How the next question is chosen (see :func:`question_scores`).
Rule = Literal["gain", "reach", "error", "hybrid"]
DEFAULT_RULE: Rule = "reach"
# In the "hybrid" rule, one point of expected error drop is worth this many bits of gain.
HYBRID_WEIGHT = 2.0
# In the "reach" rule, the chance that the answer ends the questions is worth this many bits.
REACH_WEIGHT = 1.0


class Ragged:
    """Per-question answer blocks: ``ragged[q]`` is the (answers, causes) array of
    question ``q``, and ``ragged[q, a, c]`` indexes into it."""

    def __init__(self, blocks: list[np.ndarray]):
        self.blocks = blocks

    def __getitem__(self, key):
        if isinstance(key, tuple):
            return self.blocks[key[0]][key[1:]]
        return self.blocks[key]

    @property
    def nbytes(self) -> int:
        return sum(block.nbytes for block in self.blocks)


def _blocks(likelihood) -> list[np.ndarray]:
    """Per-question blocks from a list of (A_q, C) arrays, or from a padded (Q, A, C)
    array whose unused answer slots are all zero."""
    if isinstance(likelihood, np.ndarray) and likelihood.ndim == 3:
        blocks = []
        for block in np.asarray(likelihood, dtype=float):
            used = np.flatnonzero(block.sum(axis=1) > 0)
            blocks.append(block[: used[-1] + 1 if used.size else block.shape[0]])
        return blocks
    return [np.asarray(block, dtype=float) for block in likelihood]


@dataclass(frozen=True, eq=False)
class Model:
    prior: np.ndarray  # (C,)
    likelihood: Ragged | np.ndarray | list  # per question (A_q, C), as stated
    effort: np.ndarray  # (Q,)
    fixes: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # (S, C) in [0, 1]
    cost: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (S,)
    slip: float = 0.0
    unsure: np.ndarray | None = None  # (Q,) in [0, 1)

    def __post_init__(self) -> None:
        prior = np.asarray(self.prior, dtype=float)
        blocks = _blocks(self.likelihood)
        if prior.ndim != 1 or any(b.ndim != 2 or b.shape[1] != prior.shape[0] for b in blocks):
            raise ValueError("prior must be (C,) and every likelihood block (answers, C)")
        if np.any(prior <= 0):
            raise ValueError("every prior must be positive")
        if not 0.0 <= self.slip < 0.5:
            raise ValueError("slip must be in [0, 0.5)")
        n_q = len(blocks)
        counts = np.array([b.shape[0] for b in blocks], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        stated = (
            np.concatenate(blocks).astype(np.float32) if blocks else np.zeros((0, prior.shape[0]), np.float32)
        )
        # What the engine believes of an answer: the stated chance, kept, or a slip from
        # another answer to this one. A slip always changes the answer: with two answers,
        # a slip of 10% flips one answer in ten, not one in twenty.
        others = np.maximum(np.repeat(counts, counts) - 1, 1).astype(np.float32)[:, None] if n_q else 1.0
        believed = (1.0 - self.slip) * stated + np.float32(self.slip) * (1.0 - stated) / others
        with np.errstate(divide="ignore", invalid="ignore"):
            plogp = np.where(believed > 0, believed * np.log2(believed), 0.0)
        unsure = np.zeros(n_q) if self.unsure is None else np.clip(np.asarray(self.unsure, float), 0.0, 0.95)
        set_ = object.__setattr__
        set_(self, "prior", prior / prior.sum())
        set_(self, "likelihood", Ragged([stated[offsets[q] : offsets[q + 1]] for q in range(n_q)]))
        set_(self, "effort", np.asarray(self.effort, dtype=float))
        set_(self, "fixes", np.asarray(self.fixes, dtype=np.float32))
        set_(self, "cost", np.asarray(self.cost, dtype=float))
        set_(self, "unsure", unsure)
        set_(self, "counts", counts)
        set_(self, "offsets", offsets)
        set_(self, "_believed", believed.astype(np.float32))
        set_(self, "_log_believed", np.log(np.clip(believed, 1e-30, None)).astype(np.float32))
        # H(A | C = c) of every question: the information gain of all questions is then
        # two matrix-vector products.
        set_(self, "_answer_entropy", -self._per_question(plogp).astype(np.float32))  # (Q, C)

    def _per_question(self, per_row: np.ndarray) -> np.ndarray:
        """Sum answer rows into their questions."""
        if not len(self.counts):
            return np.zeros((0,) + per_row.shape[1:])
        return np.add.reduceat(per_row, self.offsets[:-1], axis=0)

    @property
    def n_causes(self) -> int:
        return self.prior.shape[0]

    @property
    def n_questions(self) -> int:
        return len(self.counts)

    @property
    def nbytes(self) -> int:
        """Memory held by the compiled arrays."""
        arrays = (self.prior, self.effort, self.fixes, self.cost, self.unsure, self._answer_entropy)
        return (
            self.likelihood.nbytes
            + self._believed.nbytes
            + self._log_believed.nbytes
            + sum(a.nbytes for a in arrays)
        )

    def believed(self, q: int) -> np.ndarray:
        """(answers, causes) of question ``q`` as the engine believes them (with slips)."""
        return self._believed[self.offsets[q] : self.offsets[q + 1]]


def posterior(model: Model, answers: Iterable[Evidence], failed: Iterable[int] = ()) -> np.ndarray:
    """P(cause | answers): prior times the likelihood of every answer, normalised.

    ``failed`` lists solutions tried without success: each is evidence against the
    causes it would have fixed, by the chance it had of fixing them.
    """
    log_p = np.log(model.prior)
    for q, a in answers:
        log_p = log_p + model._log_believed[model.offsets[q] + a]
    for s in failed:
        log_p = log_p + np.log(np.clip(1.0 - model.fixes[s], 1e-12, None))
    log_p -= log_p.max()
    p = np.exp(log_p)
    return p / p.sum()


def shown(p: np.ndarray, temperature: float = TEMPERATURE) -> np.ndarray:
    """The probabilities to show people: ``p`` tempered (``p ** temperature``,
    normalised), which keeps the order and pulls every share towards the others.

    The engine believes each answer through one slip rate, but merchants differ: a careful
    one is right more often than the posterior says, a hurried one less. What is shown
    must hold for the hurried one too, so it is the posterior tempered until the
    simulated merchants who slip most are calibrated (temperature scaling).
    """
    with np.errstate(divide="ignore"):
        log_p = np.log(np.asarray(p, dtype=float)) * temperature
    log_p -= log_p.max()
    q = np.exp(log_p)
    return q / q.sum()


def entropy(p: np.ndarray) -> float:
    """Shannon entropy in bits."""
    nz = p[p > 0]
    return float(-(nz * np.log2(nz)).sum())


def gain_floor(p: np.ndarray, min_gain: float = MIN_GAIN_BITS, late_factor: float = LATE_FACTOR) -> float:
    """The least information gain a question must promise to be worth asking after ``p``:
    ``late_factor`` times ``min_gain`` once at most :data:`LATE_CAUSES` causes are in
    play (two to the entropy), shrinking in proportion as more are, never below
    ``min_gain``. Early, with many causes open, every question tells little and many
    together narrow them down; late, a question that tells almost nothing only lengthens
    the diagnosis (unless the merchant asked for more questions: ``late_factor`` 1)."""
    in_play = 2 ** entropy(p)
    return min_gain * max(1.0, late_factor * min(1.0, LATE_CAUSES / in_play))


def information_gain(model: Model, p: np.ndarray) -> np.ndarray:
    """Expected drop in entropy of the cause distribution for every question, in bits.

    Uses I(C; A) = H(A) - H(A | C): ``H(A)`` from the answer marginals ``L @ p`` and
    ``H(A | C)`` from the precomputed per-cause answer entropy.
    """
    p32 = p.astype(np.float32)
    marginal = model._believed @ p32
    with np.errstate(divide="ignore", invalid="ignore"):
        h_answer = -model._per_question(np.where(marginal > 0, marginal * np.log2(marginal), 0.0))
    gain = h_answer - model._answer_entropy @ p32
    # Rounding can leave a hair below zero for useless questions.
    return np.maximum(gain.astype(float), 0.0)


# The expected leader after an answer is found among this many of the likeliest causes:
# a cause outside them adds at most its own (small) probability per answer.
LEADER_CANDIDATES = 64


def _best_joint(model: Model, p: np.ndarray) -> np.ndarray:
    """For every answer row, the largest P(answer, cause), looked for among the
    :data:`LEADER_CANDIDATES` likeliest causes: the leader's share after that answer."""
    if len(p) > LEADER_CANDIDATES:
        likeliest = np.argpartition(p, -LEADER_CANDIDATES)[-LEADER_CANDIDATES:]
        joint = model._believed[:, likeliest] * p[likeliest].astype(np.float32)
    else:
        joint = model._believed * p.astype(np.float32)  # (R, C)
    return joint.max(axis=1)


def expected_leader(model: Model, p: np.ndarray) -> np.ndarray:
    """For every question, the expected probability of the leading cause after its answer:
    sum over answers of max over causes of P(answer, cause). One minus it is the
    chance that the diagnosis would then be wrong."""
    return model._per_question(_best_joint(model, p)).astype(float)


def reach(model: Model, p: np.ndarray, confidence: float) -> np.ndarray:
    """For every question, the chance that its answer leaves the leading cause at least
    ``confidence`` likely, so that the questions can stop: a one-step look-ahead."""
    marginal = model._believed @ p.astype(np.float32)  # P(answer), every answer row
    ends = _best_joint(model, p) >= confidence * marginal
    return model._per_question(np.where(ends, marginal, 0.0)).astype(float)


def question_scores(
    model: Model,
    p: np.ndarray,
    gains: np.ndarray,
    rule: Rule = DEFAULT_RULE,
    *,
    confidence: float = CONFIDENCE,
) -> np.ndarray:
    """How much each question is worth asking now, per unit of the merchant's effort.

    - "gain": expected information gain (bits);
    - "reach": information gain plus the chance that the answer lets the questions stop
      confident (:func:`reach`): of two questions that narrow things down alike, the one
      that may settle the diagnosis now;
    - "error": expected drop in the chance of naming the wrong cause;
    - "hybrid": information gain plus the drop in error, in bits' units: information to
      narrow down while many causes are open, and a push towards a confident, right
      answer once a few remain.

    A question many merchants cannot answer is worth less: its answer may not come.
    """
    if rule == "gain":
        value = gains
    elif rule == "reach":
        value = gains + REACH_WEIGHT * reach(model, p, confidence)
    else:
        error_drop = np.maximum(expected_leader(model, p) - p.max(), 0.0)
        value = error_drop if rule == "error" else gains + HYBRID_WEIGHT * error_drop
    return value * (1.0 - model.unsure) / model.effort


@dataclass(frozen=True)
class Step:
    """What the engine says after a set of answers."""

    posterior: np.ndarray
    question: int | None  # the next question to ask, or None when it is time to stop
    gains: np.ndarray  # information gain of every question (asked ones are 0)
    reason: str  # "ask", "confident", "exhausted" or "budget"


def next_step(
    model: Model,
    answers: Sequence[Evidence],
    asked: Iterable[int] = (),
    *,
    confidence: float = CONFIDENCE,
    budget: int = BUDGET,
    unsure_allowance: int = UNSURE_ALLOWANCE,
    min_gain: float = MIN_GAIN_BITS,
    late_factor: float = LATE_FACTOR,
    failed: Iterable[int] = (),
    rule: Rule = DEFAULT_RULE,
    early: Sequence[int] = (),
    early_after: int = 1,
) -> Step:
    """Choose the question most worth asking, or decide to stop.

    ``asked`` lists every question already put to the merchant, including those
    answered "not sure", which are never asked again. ``budget`` counts answers that
    carry evidence: "not sure" does not spend it, but at most ``unsure_allowance`` of
    them are asked beyond it. ``early`` questions (a safety check) are asked once
    ``early_after`` questions were, and always before the questions stop.
    """
    asked = set(asked) | {q for q, _ in answers}
    floor = {"min_gain": min_gain, "late_factor": late_factor}
    step = _choose(model, answers, asked, confidence, budget, unsure_allowance, floor, failed, rule)
    pending = [q for q in early if q not in asked]
    if pending and (step.question is None or len(asked) >= early_after):
        return Step(step.posterior, pending[0], step.gains, "ask")
    return step


def _choose(model, answers, asked, confidence, budget, unsure_allowance, floor, failed, rule) -> Step:
    p = posterior(model, answers, failed)
    gains = information_gain(model, p)
    asked = asked | {q for q, _ in answers}
    open_ = np.ones(model.n_questions, dtype=bool)
    if asked:
        open_[list(asked)] = False
        gains[~open_] = 0.0
    worth_asking = open_ & (gains >= gain_floor(p, **floor))
    reason = stop_reason(
        p,
        worth_asking.any(),
        answered=len(answers),
        asked=len(asked),
        confidence=confidence,
        budget=budget,
        unsure_allowance=unsure_allowance,
    )
    if reason is not None:
        return Step(p, None, gains, reason)
    score = np.where(worth_asking, question_scores(model, p, gains, rule, confidence=confidence), -np.inf)
    return Step(p, int(np.argmax(score)), gains, "ask")


def stop_reason(
    p: np.ndarray,
    any_worth_asking: bool,
    *,
    answered: int,
    asked: int,
    confidence: float,
    budget: int,
    unsure_allowance: int,
) -> str | None:
    """Why the questions stop here — "confident", "budget" or "exhausted" — or None.

    ``answered`` counts answers with evidence, ``asked`` every question put, "not sure"
    included; ``any_worth_asking`` whether an open question still gains enough.
    """
    if p.max() >= confidence:
        return "confident"
    if answered >= budget or asked >= budget + unsure_allowance:
        return "budget"
    if not any_worth_asking:
        return "exhausted"
    return None


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
    fixes = model.fixes.astype(float)
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
        row = model.likelihood[q][a]
        if row[cause] >= ratio * float(row @ model.prior):
            positions.append(position)
    return positions


def simulate(
    model: Model,
    answer_for,
    *,
    confidence: float = CONFIDENCE,
    budget: int = BUDGET,
    rule: Rule = DEFAULT_RULE,
) -> tuple[list[Evidence | tuple[int, None]], np.ndarray]:
    """Run a whole diagnosis; ``answer_for(question)`` returns an answer index or None.

    None stands for "not sure". Returns the transcript and the final posterior. Used by
    the knowledge health checks, the quality gate and the benchmark.
    """
    transcript: list = []
    answers: list[Evidence] = []
    asked: list[int] = []
    while True:
        step = next_step(model, answers, asked, confidence=confidence, budget=budget, rule=rule)
        if step.question is None:
            return transcript, step.posterior
        a = answer_for(step.question)
        asked.append(step.question)
        transcript.append((step.question, a))
        if a is not None:
            answers.append((step.question, a))
