"""Where a diagnosis stands: the engine applied once to the replies given so far.

A :class:`Reply` is one answer as the knowledge names it (question slug, option slug,
or "unsure"); the engine's :data:`engine.Evidence` is the same answer as array indices.
:func:`locate` turns replies into a :class:`Position` with one engine run, and every
later use in the same request (the next question, the ranking, the page) reads it from
there instead of asking the engine again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.conf import settings

from . import engine
from .knowledge import Reply, Snapshot

__all__ = ["Limits", "Position", "Reply", "failed_steps", "locate", "rules"]


@dataclass(frozen=True)
class Limits:
    """When the questions stop: confident enough, the budget spent, or no question left
    worth asking (``late_factor``: see :func:`engine.gain_floor`)."""

    confidence: float
    budget: int
    late_factor: float = engine.LATE_FACTOR

    @classmethod
    def for_case(cls, *, extended: bool) -> Limits:
        """The usual limits, or the wider ones of a merchant who asked for more questions
        after a result: keep asking past the usual confidence, for a few more questions,
        any question that still tells something."""
        if extended:
            return cls(
                confidence=max(settings.WIZARD_CONFIDENCE, settings.WIZARD_EXTENDED_CONFIDENCE),
                budget=settings.WIZARD_QUESTION_BUDGET + settings.WIZARD_EXTENDED_BUDGET,
                late_factor=1.0,
            )
        return cls(confidence=settings.WIZARD_CONFIDENCE, budget=settings.WIZARD_QUESTION_BUDGET)

    def gain_floor(self, p) -> float:
        """The least gain a question must promise after ``p`` to be worth asking."""
        return engine.gain_floor(p, settings.WIZARD_MIN_GAIN_BITS, self.late_factor)


@dataclass(frozen=True)
class Position:
    """Where a diagnosis stands after ``replies`` (and the steps ``tried`` without success)."""

    replies: tuple[Reply, ...]
    tried: tuple[str, ...]
    step: engine.Step
    asked: tuple[int, ...]
    evidence: tuple[engine.Evidence, ...]

    @property
    def is_finished(self) -> bool:
        return self.step.question is None

    @property
    def posterior(self) -> np.ndarray:
        return self.step.posterior

    @property
    def shown(self) -> np.ndarray:
        """The probabilities to show people, calibrated (see :func:`engine.shown`); the
        engine's own posterior still decides what to ask and when to stop."""
        return engine.shown(self.posterior, settings.WIZARD_CONFIDENCE_TEMPERATURE)

    @property
    def stop(self) -> str:
        """Why the questions stopped: "confident", "exhausted" (no question left worth
        asking), "budget", or "early" (the person stopped them while some were left)."""
        return "early" if self.step.reason == "ask" else self.step.reason

    @property
    def question(self) -> int | None:
        """The index of the next question to ask, or None when the questions stop."""
        return self.step.question

    def ranking(self, snapshot: Snapshot) -> list[list]:
        """Every cause, most probable first, as stored on the diagnosis and shown:
        [[slug, p]]."""
        p = self.shown
        return [[snapshot.causes[c]["slug"], round(float(p[c]), 4)] for c in engine.ranking(p)]

    def leading_cause(self, snapshot: Snapshot) -> str:
        return snapshot.causes[int(self.posterior.argmax())]["slug"]

    def could_continue(self, limits: Limits) -> bool:
        """Whether, within ``limits``, another question would still be worth asking: the
        engine's own stopping rule, on this position (asked questions have no gain)."""
        reason = engine.stop_reason(
            self.posterior,
            bool((self.step.gains >= limits.gain_floor(self.posterior)).any()),
            answered=len(self.evidence),
            asked=len(self.asked),
            confidence=limits.confidence,
            budget=limits.budget,
            unsure_allowance=settings.WIZARD_UNSURE_ALLOWANCE,
        )
        return reason is None


def failed_steps(snapshot: Snapshot, tried: Sequence[str]) -> list[int]:
    return [snapshot.solution_index[slug] for slug in tried if slug in snapshot.solution_index]


def rules(snapshot: Snapshot, limits: Limits | None = None) -> dict:
    """How the wizard runs the engine on ``snapshot``: the same for every diagnosis and
    for every simulation of one."""
    limits = limits or Limits.for_case(extended=False)
    return {
        "confidence": limits.confidence,
        "budget": limits.budget,
        "unsure_allowance": settings.WIZARD_UNSURE_ALLOWANCE,
        "min_gain": settings.WIZARD_MIN_GAIN_BITS,
        "late_factor": limits.late_factor,
        "early": snapshot.safety_questions,
    }


def locate(
    snapshot: Snapshot,
    replies: Sequence[Reply],
    *,
    tried: Sequence[str] = (),
    limits: Limits | None = None,
) -> Position:
    """Run the engine once over ``replies``: the posterior, and the next question or a stop.

    Replies to questions the revision does not have are skipped; "not sure" counts as
    asked but carries no evidence.
    """
    asked: list[int] = []
    evidence: list[engine.Evidence] = []
    for reply in replies:
        q = snapshot.question_index.get(reply.question)
        if q is None:
            continue
        asked.append(q)
        pair = snapshot.answer_index(reply.question, reply.option)
        if pair is not None:
            evidence.append(pair)
    step = engine.next_step(
        snapshot.model, evidence, asked, failed=failed_steps(snapshot, tried), **rules(snapshot, limits)
    )
    return Position(
        replies=tuple(Reply(*reply) for reply in replies),
        tried=tuple(tried),
        step=step,
        asked=tuple(asked),
        evidence=tuple(evidence),
    )
