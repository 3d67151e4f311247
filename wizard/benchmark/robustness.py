"""Section 5: diagnoses that hold up with merchants who do not answer like the model.

A merchant has a true cause and answers each question from a *world*: the knowledge as
stated, or a world that differs from it. Kinds of merchant:

- *most-likely*: always the single most likely answer for the cause (the old yardstick,
  kept for comparison: the engine's own model cannot surprise it);
- *model-true*: answers sampled from the stated strengths ("often" = yes 70% of the time);
- *slips 10%* / *slips 20%*: model-true, then that share of answers replaced by another
  answer at random;
- *mismatch*: model-true in a world where 30% of the strength words are one step off;
- *unsure 30%*: model-true, but "not sure" to 30% of the questions.

Each diagnosis runs the production rules (confidence, budget, slip term, "not sure"
allowance) and records where the true cause ranked, how many questions were asked, why
they stopped and how confident the engine said it was, so that calibration (of the
diagnoses that stop "confident", the share that is right) can be set beside the
confidence claimed.
"""

from __future__ import annotations

import copy
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.conf import settings

from wizard import engine, flow, knowledge, review
from wizard.knowledge import UNSURE
from wizard.position import Reply, locate, rules

STEPS = ("never", "rarely", "sometimes", "often", "always")


@dataclass(frozen=True)
class Merchant:
    name: str
    sample: bool = True  # False: always the most likely answer
    slip: float = 0.0
    unsure: float = 0.0
    mismatch: float = 0.0  # share of strength words one step off in the merchant's world


MERCHANTS = (
    Merchant("most-likely", sample=False),
    Merchant("model-true"),
    Merchant("slips 10%", slip=0.1),
    Merchant("slips 20%", slip=0.2),
    Merchant("mismatch", mismatch=0.3),
    Merchant("unsure 30%", unsure=0.3),
)
RULES: tuple[engine.Rule, ...] = ("reach", "gain", "error", "hybrid")


def share_margin(share: float, n: float) -> float:
    """Half the width of the 95% interval of a share measured on ``n`` trials (normal
    approximation): how far chance alone moves it."""
    return 1.96 * float(np.sqrt(max(share * (1 - share), 0.0) / n)) if n else 0.0


@dataclass
class Run:
    truth: int
    rank: int  # 0 = ranked first
    questions: int
    reason: str
    confidence: float  # the leading cause's probability as shown (calibrated)
    agent_steps: int = 0  # agent-only steps among those the merchant's page would show
    posterior: np.ndarray | None = field(default=None, repr=False)  # the engine's own


@dataclass
class Summary:
    """The figures for one knowledge base, one kind of merchant and one question rule."""

    base: str
    merchant: str
    rule: str
    runs: list[Run] = field(default_factory=list)
    prior: np.ndarray | None = None

    def _weights(self) -> np.ndarray:
        """Each run weighted by its cause's prior: causes are simulated equally often, so
        that every cause is measured, and weighted back to how common they are."""
        counts = Counter(r.truth for r in self.runs)
        return np.array([self.prior[r.truth] / counts[r.truth] for r in self.runs])

    def _share(self, hits: list[bool]) -> float:
        w = self._weights()
        return float(np.dot(w, hits) / w.sum())

    @property
    def top1(self) -> float:
        return self._share([r.rank == 0 for r in self.runs])

    def margin(self, share: float) -> float:
        """Half the width of the 95% interval of a share measured on these runs (normal
        approximation, with the runs' prior weights): how far chance alone moves it."""
        w = self._weights()
        return share_margin(share, w.sum() ** 2 / (w**2).sum())

    def questions_margin(self) -> float:
        """Half the width of the 95% interval of the mean number of questions."""
        w = self._weights()
        w = w / w.sum()
        asked = np.array([r.questions for r in self.runs], dtype=float)
        variance = float(np.dot(w, (asked - np.dot(w, asked)) ** 2))
        return 1.96 * float(np.sqrt(variance * (w**2).sum()))

    @property
    def top3(self) -> float:
        return self._share([r.rank < 3 for r in self.runs])

    @property
    def mean_questions(self) -> float:
        return self._share([r.questions for r in self.runs])

    @property
    def p90_questions(self) -> float:
        return float(np.percentile([r.questions for r in self.runs], 90))

    @property
    def stops(self) -> dict[str, float]:
        counts = Counter(r.reason for r in self.runs)
        return {reason: n / len(self.runs) for reason, n in sorted(counts.items())}

    @property
    def calibration(self) -> tuple[float, float, int]:
        """Of the runs that stopped "confident": the share right, the mean confidence
        claimed, and how many there were."""
        confident = [r for r in self.runs if r.reason == "confident"]
        if not confident:
            return float("nan"), float("nan"), 0
        right = statistics.fmean(r.rank == 0 for r in confident)
        return right, statistics.fmean(r.confidence for r in confident), len(confident)

    def calibration_at(self, temperature: float) -> tuple[float, float]:
        """Of the runs that stopped "confident": the share right, and the mean confidence
        that would be shown with probabilities tempered by ``temperature``."""
        confident = [r for r in self.runs if r.reason == "confident" and r.posterior is not None]
        if not confident:
            return float("nan"), float("nan")
        right = statistics.fmean(r.rank == 0 for r in confident)
        return right, statistics.fmean(float(engine.shown(r.posterior, temperature).max()) for r in confident)

    def per_cause(self, value: Callable[[Run], float]) -> dict[int, float]:
        """The mean of ``value`` over each cause's runs."""
        by_cause: dict[int, list[float]] = {}
        for r in self.runs:
            by_cause.setdefault(r.truth, []).append(value(r))
        return {c: statistics.fmean(values) for c, values in sorted(by_cause.items())}

    def per_cause_top1(self) -> dict[int, float]:
        return self.per_cause(lambda r: r.rank == 0)


def shifted_payload(payload: dict[str, Any], share: float, rng: np.random.Generator) -> dict[str, Any]:
    """The same knowledge with ``share`` of its strength words one step up or down: a world
    that differs from what the knowledge says."""
    world = copy.deepcopy(payload)
    for cause in world["causes"]:
        for link in cause["evidence"]:
            if rng.random() < share:
                i = STEPS.index(link["strength"])
                moves = [j for j in (i - 1, i + 1) if 0 <= j < len(STEPS)]
                link["strength"] = STEPS[int(rng.choice(moves))]
    return world


def answerer(
    merchant: Merchant, world: engine.Model, truth: int, rng: np.random.Generator
) -> Callable[[int], int | None]:
    """How this merchant answers question ``q``: an answer index, or None for "not sure"."""

    def answer(q: int) -> int | None:
        if merchant.unsure and rng.random() < merchant.unsure:
            return None
        column = np.asarray(world.likelihood[q][:, truth], dtype=float)
        a = int(rng.choice(len(column), p=column / column.sum())) if merchant.sample else int(column.argmax())
        if merchant.slip and rng.random() < merchant.slip:
            a = int(rng.choice([x for x in range(len(column)) if x != a]))
        return a

    return answer


def diagnose(
    snapshot: knowledge.Snapshot,
    answer: Callable[[int], int | None],
    rule: engine.Rule = engine.DEFAULT_RULE,
    *,
    given: Sequence[engine.Evidence] = (),
) -> tuple[list[tuple[int, int | None]], engine.Step]:
    """One diagnosis with the production rules, after the answers ``given`` beforehand (a
    description's facts); returns the transcript of the questions asked and the last step."""
    answers: list[engine.Evidence] = list(given)
    asked: list[int] = [q for q, _ in given]
    transcript: list[tuple[int, int | None]] = []
    while True:
        step = engine.next_step(snapshot.model, answers, asked, rule=rule, **rules(snapshot))
        if step.question is None:
            return transcript, step
        asked.append(step.question)
        a = answer(step.question)
        transcript.append((step.question, a))
        if a is not None:
            answers.append((step.question, a))


def simulate(
    name: str,
    payload: dict[str, Any],
    merchant: Merchant,
    rule: engine.Rule,
    *,
    per_cause: int,
    seed: int = 11,
) -> Summary:
    """``per_cause`` merchants of this kind for every cause of ``payload``."""
    rng = np.random.default_rng(seed)
    snapshot = knowledge.Snapshot.from_payload(0, payload)
    model = world = snapshot.model
    if merchant.mismatch:
        world = knowledge.Snapshot.from_payload(0, shifted_payload(payload, merchant.mismatch, rng)).model
    summary = Summary(name, merchant.name, rule, prior=model.prior)
    for truth in range(model.n_causes):
        for _ in range(per_cause):
            answer = answerer(merchant, world, truth, rng)
            transcript, step = diagnose(snapshot, answer, rule)
            summary.runs.append(
                Run(
                    truth,
                    rank=engine.ranking(step.posterior).index(truth),
                    questions=len(transcript),
                    reason=step.reason,
                    confidence=float(
                        engine.shown(step.posterior, settings.WIZARD_CONFIDENCE_TEMPERATURE).max()
                    ),
                    agent_steps=agent_steps_shown(snapshot, transcript),
                    posterior=step.posterior,
                )
            )
    return summary


def agent_steps_shown(snapshot: knowledge.Snapshot, transcript: list[tuple[int, int | None]]) -> int:
    """How many agent-only steps the merchant's result page would list after ``transcript``
    (it must be none): the page's own code, on the page's own position."""
    replies = [
        Reply(
            snapshot.questions[q]["slug"],
            snapshot.questions[q]["answers"][a]["slug"] if a is not None else UNSURE,
        )
        for q, a in transcript
    ]
    steps = flow.remedy_order(snapshot, locate(snapshot, replies))
    return sum(snapshot.solutions[s]["audience"] == "agent" for s in steps)


def every_answer_top1(payload: dict[str, Any], *, per_cause: int, seed: int = 5) -> float:
    """Model-true merchants who answer every question: how often the true cause ranks
    first. The ceiling of what the knowledge can tell apart."""
    rng = np.random.default_rng(seed)
    model = knowledge.Snapshot.from_payload(0, payload).model
    hits, weights = [], []
    for truth in range(model.n_causes):
        answer = answerer(Merchant("model-true"), model, truth, rng)
        for _ in range(per_cause):
            answers = [(q, answer(q)) for q in range(model.n_questions)]
            hits.append(int(np.argmax(engine.posterior(model, answers))) == truth)
            weights.append(model.prior[truth] / per_cause)
    return float(np.dot(weights, hits) / sum(weights))


@dataclass
class Robustness:
    summaries: list[Summary]
    ceilings: dict[str, float]  # base → top-1 answering every question
    flagged: dict[str, set[str]]  # base → causes the health report warns about
    causes: dict[str, list[str]]  # base → cause slugs, in index order

    def find(self, base: str, merchant: str, rule: str) -> Summary:
        return next(s for s in self.summaries if (s.base, s.merchant, s.rule) == (base, merchant, rule))


def bench_robustness(
    bases: list[tuple[str, dict[str, Any]]],
    *,
    per_cause: int | dict[str, int],
    log: Callable[[str], None],
    rules: tuple[engine.Rule, ...] = RULES,
) -> Robustness:
    """Every kind of merchant with the production rule; the alternative rules with the
    merchants that decide between them (model-true and slips)."""
    counts = per_cause if isinstance(per_cause, dict) else {name: per_cause for name, _ in bases}
    summaries = []
    for name, payload in bases:
        for rule in rules:
            kinds = MERCHANTS if rule == engine.DEFAULT_RULE else MERCHANTS[1:3]
            for merchant in kinds:
                summary = simulate(name, payload, merchant, rule, per_cause=counts[name])
                summaries.append(summary)
                log(
                    f"  {name} / {merchant.name} / {rule}: top-1 {summary.top1:.0%}, "
                    f"{summary.mean_questions:.1f} questions"
                )
    ceilings = {name: every_answer_top1(payload, per_cause=counts[name]) for name, payload in bases}
    flagged = {name: health_flags(payload) for name, payload in bases}
    causes = {name: [c["slug"] for c in payload["causes"]] for name, payload in bases}
    return Robustness(summaries, ceilings, flagged, causes)


# Calibration holds when a "confident" result is right at least as often as it claims,
# minus this many points.
CALIBRATION_SLACK = 0.05
TEMPERATURES = tuple(round(1.0 - 0.05 * i, 2) for i in range(11))  # 1.0 down to 0.5


def fitted_temperature(summaries: Sequence[Summary]) -> float:
    """The mildest tempering of the shown probabilities under which every kind of
    merchant in ``summaries`` is calibrated (``engine.TEMPERATURE`` is set from it)."""
    for temperature in TEMPERATURES:
        if all(
            not right < claimed - CALIBRATION_SLACK
            for right, claimed in (s.calibration_at(temperature) for s in summaries)
        ):
            return temperature
    return TEMPERATURES[-1]


def health_flags(payload: dict[str, Any]) -> set[str]:
    """The causes the knowledge health report warns about."""
    report = review.health_report(payload, "en")
    return {f.slug for f in report.warnings if f.kind == "cause"}
