"""Section 4: diagnostic efficiency, measured on simulated merchants.

A simulated merchant has a true cause drawn from the priors and gives, for each question,
the answer most likely for that cause (*clean*), or with some probability another answer
at random (*noisy*). The engine's questions are compared with fixed question orders and
the entropy lower bound, and its top-1 accuracy measured with the production settings.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.conf import settings

from wizard import engine, knowledge

from .synthetic import answer_counts

NOISE_LEVELS = (0.0, 0.1, 0.2)


@dataclass
class EfficiencyRow:
    name: str
    causes: int
    questions: int
    trials: int
    entropy_bits: float
    lower_bound: float
    greedy: float  # mean questions, no question budget
    fixed_listed: float
    fixed_gain: float
    budget_questions: float  # mean questions with the production budget
    accuracy: dict[float, float] = field(default_factory=dict)  # noise → top-1, production settings
    unlimited_accuracy: float = float("nan")  # clean answers, no question budget
    max_answers: int = 2

    @property
    def saving(self) -> float:
        """How many fewer questions the engine asks than the fixed order: the questions as the
        knowledge lists them, the questionnaire a hand-written script would follow."""
        return 1 - self.greedy / self.fixed_listed if self.fixed_listed else 0.0

    @property
    def saving_over_gain_order(self) -> float:
        """The same against a stricter static order: questions sorted by their initial gain."""
        return 1 - self.greedy / self.fixed_gain if self.fixed_gain else 0.0


def _answer_for(model, counts, truth: int, noise: float, rng: random.Random) -> Callable[[int], int]:
    def answer(q: int) -> int:
        a = int(model.likelihood[q][:, truth].argmax())
        if noise and rng.random() < noise:
            a = rng.choice([x for x in range(counts[q]) if x != a])
        return a

    return answer


def _greedy(model, answer, *, confidence: float, budget: int) -> tuple[int, int]:
    transcript, p = engine.simulate(model, answer, confidence=confidence, budget=budget)
    return len(transcript), int(np.argmax(p))


def _fixed(model, order, answer, *, confidence: float) -> tuple[int, int]:
    """Ask in a fixed ``order`` until confident (the posterior updated incrementally)."""
    log_p = np.log(model.prior)
    p = model.prior
    asked = 0
    for q in order:
        if p.max() >= confidence:
            break
        log_p = log_p + np.log(np.clip(model.believed(q)[answer(q)], 1e-30, None))
        p = np.exp(log_p - log_p.max())
        p = p / p.sum()
        asked += 1
    return asked, int(np.argmax(p))


def bench_efficiency(
    bases: list[tuple[str, dict[str, Any]]], *, trials: int, log: Callable[[str], None]
) -> list[EfficiencyRow]:
    rows = []
    for name, payload in bases:
        row = _efficiency_row(name, payload, trials=trials)
        rows.append(row)
        log(f"  efficiency {name}: {row.greedy:.1f} vs fixed {row.fixed_gain:.1f}; top-1 {row.accuracy}")
    return rows


def _efficiency_row(name: str, payload: dict[str, Any], *, trials: int) -> EfficiencyRow:
    model = knowledge.Snapshot.from_payload(0, payload).model
    counts = answer_counts(model)
    rng = random.Random(7)  # the merchants' noise, shared by both measurements in turn
    truths = [int(t) for t in np.random.default_rng(7).choice(model.n_causes, size=trials, p=model.prior)]
    entropy_bits = engine.entropy(model.prior)
    row = EfficiencyRow(
        name=name,
        causes=model.n_causes,
        questions=model.n_questions,
        trials=trials,
        entropy_bits=entropy_bits,
        lower_bound=entropy_bits / math.log2(int(counts.max())),
        greedy=0.0,
        fixed_listed=0.0,
        fixed_gain=0.0,
        budget_questions=0.0,
    )
    _questions_needed(row, model, counts, truths, rng)
    row.max_answers = int(counts.max())
    _accuracy_with_budget(row, model, counts, truths, rng)
    return row


def _questions_needed(row: EfficiencyRow, model, counts, truths: list[int], rng: random.Random) -> None:
    """Without a question budget: how many questions each strategy needs to be confident."""
    confidence = settings.WIZARD_CONFIDENCE
    listed = list(range(model.n_questions))
    by_gain = [int(q) for q in np.argsort(-engine.information_gain(model, model.prior), kind="stable")]
    greedy, listed_n, gain_n, hits = [], [], [], 0
    for truth in truths:
        clean = _answer_for(model, counts, truth, 0.0, rng)
        asked, top = _greedy(model, clean, confidence=confidence, budget=model.n_questions)
        greedy.append(asked)
        hits += top == truth
        listed_n.append(_fixed(model, listed, clean, confidence=confidence)[0])
        gain_n.append(_fixed(model, by_gain, clean, confidence=confidence)[0])
    row.greedy = statistics.fmean(greedy)
    row.fixed_listed = statistics.fmean(listed_n)
    row.fixed_gain = statistics.fmean(gain_n)
    row.unlimited_accuracy = hits / row.trials


def _accuracy_with_budget(row: EfficiencyRow, model, counts, truths: list[int], rng: random.Random) -> None:
    """With the production settings (confidence, budget): top-1 accuracy under noise."""
    confidence, budget = settings.WIZARD_CONFIDENCE, settings.WIZARD_QUESTION_BUDGET
    for noise in NOISE_LEVELS:
        hits, asked_n = 0, []
        for truth in truths:
            answer = _answer_for(model, counts, truth, noise, rng)
            asked, top = _greedy(model, answer, confidence=confidence, budget=budget)
            hits += top == truth
            asked_n.append(asked)
        row.accuracy[noise] = hits / row.trials
        if noise == 0.0:
            row.budget_questions = statistics.fmean(asked_n)
