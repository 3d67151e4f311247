"""A diagnosis as the merchant and the agent see it: the engine applied to its answers.

Views hand this module a snapshot and the answers given so far; it returns plain,
language-resolved data for the templates (nothing here touches the database). The same
functions serve the merchant wizard, the agent console and the quality simulations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
from django.conf import settings

from . import engine
from .knowledge import UNSURE, Snapshot, text
from .markup import render_markdown

# A cause below this probability is no longer "in play".
IN_PLAY = 0.02


class Given(NamedTuple):
    """One stored answer: which question, which option slug (or "unsure")."""

    question: str
    option: str


@dataclass
class Position:
    """Where a diagnosis stands after some answers."""

    step: engine.Step
    asked: list[int]
    evidence: list[engine.Answer]

    @property
    def is_finished(self) -> bool:
        return self.step.question is None


# When a merchant asks for more questions after a result, the wizard keeps asking past
# its usual confidence, for a few more questions.
EXTENDED_CONFIDENCE = 0.97
EXTENDED_BUDGET = 5


def failed_steps(snapshot: Snapshot, tried: Sequence[str]) -> list[int]:
    return [snapshot.solution_index[slug] for slug in tried if slug in snapshot.solution_index]


def evaluate(
    snapshot: Snapshot, answers: Sequence[Given], *, tried: Sequence[str] = (), extended: bool = False
) -> Position:
    asked: list[int] = []
    evidence: list[engine.Answer] = []
    for given in answers:
        q = snapshot.question_index.get(given.question)
        if q is None:
            continue
        asked.append(q)
        pair = snapshot.answer_index(given.question, given.option)
        if pair is not None:
            evidence.append(pair)
    step = engine.next_step(
        snapshot.model,
        evidence,
        asked,
        confidence=max(settings.WIZARD_CONFIDENCE, EXTENDED_CONFIDENCE)
        if extended
        else settings.WIZARD_CONFIDENCE,
        budget=settings.WIZARD_QUESTION_BUDGET + (EXTENDED_BUDGET if extended else 0),
        failed=failed_steps(snapshot, tried),
    )
    return Position(step=step, asked=asked, evidence=evidence)


def question_view(snapshot: Snapshot, q: int, language: str) -> dict[str, Any]:
    question = snapshot.questions[q]
    return {
        "slug": question["slug"],
        "text": text(question["text"], language),
        "script": text(question.get("script"), language),
        "help": text(question.get("help"), language),
        "options": [{"slug": a["slug"], "label": text(a["label"], language)} for a in question["answers"]],
    }


def progress(snapshot: Snapshot, position: Position) -> dict[str, Any]:
    p = position.step.posterior
    return {
        "in_play": int((p >= IN_PLAY).sum()),
        "total": snapshot.model.n_causes,
        "confidence": float(p.max()),
        "answered": len(position.asked),
    }


def answer_label(snapshot: Snapshot, given: Given, language: str) -> str:
    q = snapshot.question_index.get(given.question)
    if q is None:
        return given.option
    for a in snapshot.questions[q]["answers"]:
        if a["slug"] == given.option:
            return text(a["label"], language)
    return given.option


def transcript(snapshot: Snapshot, answers: Sequence[Given], language: str) -> list[dict[str, Any]]:
    rows = []
    for number, given in enumerate(answers, start=1):
        q = snapshot.question_index.get(given.question)
        rows.append(
            {
                "number": number,
                "question": text(snapshot.questions[q]["text"], language)
                if q is not None
                else given.question,
                "answer": answer_label(snapshot, given, language),
                "is_unsure": given.option == UNSURE,
            }
        )
    return rows


def known_symptoms(snapshot: Snapshot, answers: Sequence[Given]) -> tuple[set[str], set[str]]:
    """Symptoms the answers say are present, and those they rule out."""
    present: set[str] = set()
    absent: set[str] = set()
    for given in answers:
        pair = snapshot.answer_index(given.question, given.option)
        if pair is None:
            continue
        question = snapshot.questions[pair[0]]
        if question["kind"] == "binary":
            (present if given.option == "yes" else absent).add(question["symptom"])
        else:
            for a in question["answers"]:
                (present if a["slug"] == given.option else absent).add(a["symptom"])
    return present, absent


def chosen_provider(snapshot: Snapshot, answers: Sequence[Given]) -> dict[str, Any] | None:
    for given in answers:
        pair = snapshot.answer_index(given.question, given.option)
        if pair is not None:
            slug = snapshot.questions[pair[0]]["answers"][pair[1]].get("provider")
            if slug and slug in snapshot.providers:
                return snapshot.providers[slug]
    return None


@dataclass
class Result:
    causes: list[dict[str, Any]]
    solutions: list[dict[str, Any]]
    providers: list[dict[str, Any]]
    provider_is_known: bool
    answers: list[dict[str, Any]]
    ranking: list[list[Any]] = field(default_factory=list)  # [[slug, probability]] for storage


def result(
    snapshot: Snapshot,
    answers: Sequence[Given],
    language: str,
    *,
    top: int = 5,
    tried: Sequence[str] = (),
) -> Result:
    """The ranking and the steps; steps already ``tried`` without success count as
    evidence and are not suggested again."""
    position = evaluate(snapshot, answers, tried=tried)
    p = position.step.posterior
    order = engine.ranking(p)
    rows = transcript(snapshot, answers, language)
    evidence_rows = [row for row, given in zip(rows, answers, strict=True) if given.option != UNSURE]

    causes = []
    # The leading causes, leaving out the ones the answers have all but ruled out.
    for c in [c for c in order[:top] if p[c] >= IN_PLAY / 2 or c == order[0]]:
        cause = snapshot.causes[c]
        because = engine.support(snapshot.model, position.evidence, c)
        category = snapshot.categories.get(cause["category"], {})
        causes.append(
            {
                "slug": cause["slug"],
                "title": text(cause["title"], language),
                "explanation": text(cause["explanation"], language),
                "category": text(category.get("title"), language),
                "probability": float(p[c]),
                "percent": round(float(p[c]) * 100),
                "because": [evidence_rows[i] for i in because if i < len(evidence_rows)],
            }
        )

    present, absent = known_symptoms(snapshot, answers)
    allowed = np.array(
        [
            (not s.get("contexts") or not set(s["contexts"]) <= absent) and s["slug"] not in tried
            for s in snapshot.solutions
        ],
        dtype=bool,
    )
    solutions = []
    for s in engine.remediation(snapshot.model, p, allowed if len(allowed) else None):
        solution = snapshot.solutions[s]
        fixes = [
            text(snapshot.causes[c]["title"], language)
            for c in order
            if snapshot.model.fixes[s, c] > 0 and p[c] >= IN_PLAY
        ]
        solutions.append(
            {
                "slug": solution["slug"],
                "title": text(solution["title"], language),
                "steps": render_markdown(text(solution["steps"], language)),
                "audience": solution["audience"],
                "effort_minutes": solution["effort_minutes"],
                "is_escalation": solution["is_escalation"],
                "fixes": fixes,
            }
        )

    provider = chosen_provider(snapshot, answers)
    providers = [provider] if provider else sorted(snapshot.providers.values(), key=lambda x: x["order"])
    return Result(
        causes=causes,
        solutions=solutions,
        providers=[
            {
                "slug": pr["slug"],
                "kind": pr["kind"],
                "name": text(pr["name"], language),
                "hotline": pr.get("hotline", ""),
                "hours": text(pr.get("hours"), language),
                "website": pr.get("website", ""),
                "guidance": text(pr.get("guidance"), language),
            }
            for pr in providers
        ],
        provider_is_known=provider is not None,
        answers=rows,
        ranking=[[snapshot.causes[c]["slug"], round(float(p[c]), 4)] for c in order],
    )


def candidates(
    snapshot: Snapshot, position: Position, language: str, *, top: int = 8
) -> list[dict[str, Any]]:
    """The causes still in play, most probable first, for the agent's live panel."""
    p = position.step.posterior
    return [
        {
            "slug": snapshot.causes[c]["slug"],
            "title": text(snapshot.causes[c]["title"], language),
            "probability": float(p[c]),
            "percent": round(float(p[c]) * 100),
        }
        for c in engine.ranking(p)[:top]
        if p[c] >= IN_PLAY / 2
    ]


def why_question(snapshot: Snapshot, position: Position, q: int, language: str) -> list[dict[str, Any]]:
    """Which likely causes each answer would point to: what this question separates."""
    p = position.step.posterior
    question = snapshot.questions[q]
    n_answers = len(question["answers"])
    favoured = snapshot.model.likelihood[q, :n_answers].argmax(axis=0)
    groups = []
    for a, answer in enumerate(question["answers"]):
        causes = [c for c in engine.ranking(p) if favoured[c] == a and p[c] >= IN_PLAY][:3]
        if causes:
            groups.append(
                {
                    "answer": text(answer["label"], language),
                    "causes": [text(snapshot.causes[c]["title"], language) for c in causes],
                }
            )
    return groups


def summary_text(
    snapshot: Snapshot,
    answers: Sequence[Given],
    language: str,
    *,
    details: list[tuple[str, str]],
    answered_by: Sequence[str],
    outcome: str,
    notes: str,
    labels: dict[str, str],
    tried: Sequence[str] = (),
) -> str:
    """A plain-text summary of a case for a ticket system, in ``language``."""
    outcome_result = result(snapshot, answers, language, tried=tried)
    lines = [f"{label}: {value}" for label, value in details if value]
    lines += ["", labels["answers"]]
    for row, who in zip(outcome_result.answers, answered_by, strict=False):
        lines.append(f"{row['number']}. {row['question']} — {row['answer']} ({who})")
    if not outcome_result.answers:
        lines.append("—")
    lines += ["", labels["causes"]]
    for cause in outcome_result.causes:
        lines.append(f"- {cause['title']}: {cause['probability']:.0%}")
    lines += ["", labels["steps"]]
    for number, solution in enumerate(outcome_result.solutions, start=1):
        lines.append(f"{number}. {solution['title']}")
    lines += ["", f"{labels['outcome']}: {outcome}", "", labels["notes"], notes.strip() or "—"]
    return "\n".join(lines) + "\n"


def solution_title(snapshot: Snapshot, slug: str, language: str) -> str:
    index = snapshot.solution_index.get(slug)
    return text(snapshot.solutions[index]["title"], language) if index is not None else slug
