"""What a person sees of a diagnosis: page data built from its :class:`Position`.

Views hand this module a snapshot and the position computed once for the request; it
returns plain, language-resolved data for the templates. Nothing here runs the engine's
questioning again or touches the database. The same functions serve the merchant wizard,
the agent console, the admin's preview walk and the ticket summaries.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from . import engine, phones
from .knowledge import UNSURE, Snapshot, text
from .markup import render_markdown
from .position import Position, Reply

# A cause below this probability is no longer "in play".
IN_PLAY = 0.02


def question_view(snapshot: Snapshot, q: int, language: str) -> dict[str, Any]:
    question = snapshot.questions[q]
    return {
        "slug": question["slug"],
        "text": text(question["text"], language),
        "script": text(question.get("script"), language),
        "help": text(question.get("help"), language),
        "options": [{"slug": a["slug"], "label": text(a["label"], language)} for a in question["answers"]],
    }


def progress_view(snapshot: Snapshot, position: Position) -> dict[str, Any]:
    p = position.step.posterior
    return {
        "in_play": int((p >= IN_PLAY).sum()),
        "total": snapshot.model.n_causes,
        "confidence": float(position.shown.max()),
        "answered": len(position.asked),
    }


def answer_label(snapshot: Snapshot, reply: Reply, language: str) -> str:
    if reply.option == UNSURE:  # every question's own "not sure", never the raw slug
        with translation.override(language):
            return _("Not sure")
    q = snapshot.question_index.get(reply.question)
    if q is None:
        return reply.option
    for a in snapshot.questions[q]["answers"]:
        if a["slug"] == reply.option:
            return text(a["label"], language)
    return reply.option


def transcript(
    snapshot: Snapshot, replies: Sequence[Reply], language: str, *, described: Collection[int] = ()
) -> list[dict[str, Any]]:
    """The answers as a list to show; ``described`` numbers the answers taken from the
    person's description."""
    rows = []
    for number, reply in enumerate(replies, start=1):
        q = snapshot.question_index.get(reply.question)
        rows.append(
            {
                "number": number,
                "question": text(snapshot.questions[q]["text"], language)
                if q is not None
                else reply.question,
                "answer": answer_label(snapshot, reply, language),
                "is_unsure": reply.option == UNSURE,
                "from_description": number in described,
            }
        )
    return rows


def join_list(items) -> str:
    """Items joined as the active language writes a list: "a, b" or "a、b"."""
    return pgettext("separator between the items of a list", ", ").join(items)


def changed_answer(
    snapshot: Snapshot, replies: Sequence[Reply], number: int | None, language: str
) -> dict[str, Any] | None:
    """What to say after answer ``number`` was changed: the new answer, and the other
    answers, which were kept (they still count). None if there is no such answer."""
    if number is None or not 1 <= number <= len(replies):
        return None
    rows = transcript(snapshot, replies, language)
    return {**rows[number - 1], "kept": [row for row in rows if row["number"] != number]}


def known_symptoms(snapshot: Snapshot, replies: Sequence[Reply]) -> tuple[set[str], set[str]]:
    """Symptoms the replies say are present, and those they rule out."""
    present: set[str] = set()
    absent: set[str] = set()
    for reply in replies:
        pair = snapshot.answer_index(reply.question, reply.option)
        if pair is None:
            continue
        question = snapshot.questions[pair[0]]
        if question["kind"] == "binary":
            (present if reply.option == "yes" else absent).add(question["symptom"])
        else:
            for a in question["answers"]:
                (present if a["slug"] == reply.option else absent).add(a["symptom"])
    return present, absent


def hazard_warnings(snapshot: Snapshot, replies: Sequence[Reply], language: str) -> list[dict[str, str]]:
    """The dangers the merchant reported, with what to do at once: shown at the top of
    every later page, whatever the ranking says."""
    if not snapshot.hazards:
        return []
    present, _ = known_symptoms(snapshot, replies)
    return [
        {"symptom": slug, "warning": text(warning, language)}
        for slug, warning in snapshot.hazards.items()
        if slug in present
    ]


def chosen_provider(snapshot: Snapshot, replies: Sequence[Reply]) -> dict[str, Any] | None:
    for reply in replies:
        pair = snapshot.answer_index(reply.question, reply.option)
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


def result(
    snapshot: Snapshot,
    position: Position,
    language: str,
    *,
    top: int = 5,
    for_agent: bool = False,
    described: Collection[int] = (),
) -> Result:
    """The result page's data: the leading causes with the answers behind them, the steps
    to take (steps already tried without success are not suggested again), and whom to
    contact. Agent-only steps are for ``for_agent`` pages only."""
    rows = transcript(snapshot, position.replies, language, described=described)
    provider = chosen_provider(snapshot, position.replies)
    providers = [provider] if provider else sorted(snapshot.providers.values(), key=lambda x: x["order"])
    return Result(
        causes=ranked_causes(snapshot, position, language, rows=rows, top=top),
        solutions=remedies(snapshot, position, language, for_agent=for_agent),
        providers=[provider_view(pr, language) for pr in providers],
        provider_is_known=provider is not None,
        answers=rows,
    )


def ranked_causes(
    snapshot: Snapshot, position: Position, language: str, *, rows: list[dict[str, Any]], top: int = 5
) -> list[dict[str, Any]]:
    """The leading causes, leaving out the ones the answers have all but ruled out, each
    with the answers (``rows``, from :func:`transcript`) that point to it."""
    p, shown = position.posterior, position.shown
    order = engine.ranking(p)
    evidence_rows = [
        row
        for row, reply in zip(rows, position.replies, strict=True)
        if snapshot.answer_index(reply.question, reply.option) is not None
    ]
    causes = []
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
                "probability": float(shown[c]),
                "percent": round(float(shown[c]) * 100),
                "because": [evidence_rows[i] for i in because if i < len(evidence_rows)],
            }
        )
    return causes


# Steps are suggested for the causes that still matter: at most this many leading causes,
# each at least this likely and at least this share of the leader.
STEP_CAUSES = 3
STEP_FLOOR = 0.05
STEP_SHARE = 0.1


def causes_that_matter(position: Position) -> list[int]:
    p = position.posterior
    order = engine.ranking(p)
    floor = max(STEP_FLOOR, STEP_SHARE * float(p[order[0]]))
    return [c for c in order[:STEP_CAUSES] if p[c] >= floor] or order[:1]


def remedy_plan(
    snapshot: Snapshot, position: Position, *, for_agent: bool = False
) -> list[tuple[int, list[int]]]:
    """The steps to take, grouped by the cause they address: ``[(cause, [solution, ...])]``,
    the likeliest cause first.

    Only causes that still matter get steps. Within a group, the cause's own first fix
    comes first (generic upkeep never goes ahead of it), then the rest by probability of
    fixing per minute. A step shared by several causes is listed once, with the likeliest.
    Steps that do not fit the merchant's situation, were tried already, or are for agents
    only (unless ``for_agent``) are left out.
    """
    matter = causes_that_matter(position)
    p = np.zeros_like(position.posterior)
    p[matter] = position.posterior[matter]
    order = engine.remediation(snapshot.model, p, _allowed(snapshot, position, for_agent=for_agent))
    fixes = snapshot.model.fixes
    groups: dict[int, list[int]] = {c: [] for c in matter}
    for s in order:
        groups[next(c for c in matter if fixes[s, c] > 0)].append(s)
    for c, steps in groups.items():
        own = [snapshot.solution_index[slug] for slug in snapshot.causes[c]["solutions"]]
        first = next((s for s in own if s in steps), None)
        if first is not None:
            steps.sort(key=lambda s: s != first)
    return [(c, steps) for c, steps in groups.items() if steps]


def _allowed(snapshot: Snapshot, position: Position, *, for_agent: bool) -> np.ndarray | None:
    if not snapshot.solutions:
        return None
    _, absent = known_symptoms(snapshot, position.replies)
    return np.array(
        [
            (not s.get("contexts") or not set(s["contexts"]) <= absent)
            and s["slug"] not in position.tried
            and (for_agent or s["audience"] != "agent")
            for s in snapshot.solutions
        ],
        dtype=bool,
    )


def remedy_order(snapshot: Snapshot, position: Position, *, for_agent: bool = False) -> list[int]:
    """The steps of :func:`remedy_plan`, in the order shown."""
    return [s for _, steps in remedy_plan(snapshot, position, for_agent=for_agent) for s in steps]


def remedies(
    snapshot: Snapshot, position: Position, language: str, *, for_agent: bool = False
) -> list[dict[str, Any]]:
    """The steps to take, in order, each saying which cause it addresses."""
    p = position.shown
    solutions = []
    for c, steps in remedy_plan(snapshot, position, for_agent=for_agent):
        cause = {"slug": snapshot.causes[c]["slug"], "title": text(snapshot.causes[c]["title"], language)}
        for s in steps:
            solution = snapshot.solutions[s]
            solutions.append(
                {
                    "slug": solution["slug"],
                    "title": text(solution["title"], language),
                    "steps": render_markdown(text(solution["steps"], language)),
                    "audience": solution["audience"],
                    "effort_minutes": solution["effort_minutes"],
                    "is_escalation": solution["is_escalation"],
                    "cause": cause,
                    "cause_percent": round(float(p[c]) * 100),
                }
            )
    return solutions


def remedy_choices(
    snapshot: Snapshot, position: Position, language: str, *, for_agent: bool = False
) -> list[tuple[str, str]]:
    """(slug, title) of the suggested steps, for "which step fixed it" choices."""
    return [
        (snapshot.solutions[s]["slug"], text(snapshot.solutions[s]["title"], language))
        for s in remedy_order(snapshot, position, for_agent=for_agent)
    ]


def provider_view(provider: dict[str, Any], language: str) -> dict[str, Any]:
    return {
        "slug": provider["slug"],
        "kind": provider["kind"],
        "name": text(provider["name"], language),
        "hotline": provider.get("hotline", ""),
        "hours": text(provider.get("hours"), language),
        "website": provider.get("website", ""),
        "guidance": text(provider.get("guidance"), language),
    }


def candidates(
    snapshot: Snapshot, position: Position, language: str, *, top: int = 8
) -> list[dict[str, Any]]:
    """The causes still in play, most probable first, for the agent's live panel."""
    p, shown = position.step.posterior, position.shown
    return [
        {
            "slug": snapshot.causes[c]["slug"],
            "title": text(snapshot.causes[c]["title"], language),
            "probability": float(shown[c]),
            "percent": round(float(shown[c]) * 100),
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
    position: Position,
    language: str,
    *,
    details: list[tuple[str, str]],
    answered_by: Sequence[str],
    outcome: str,
    notes: str,
    labels: dict[str, str],
) -> str:
    """A plain-text summary of a case for a ticket system, in ``language``."""
    rows = transcript(snapshot, position.replies, language)
    lines = [f"{label}: {value}" for label, value in details if value]
    lines += ["", labels["answers"]]
    for row, who in zip(rows, answered_by, strict=False):
        lines.append(f"{row['number']}. {row['question']} — {row['answer']} ({who})")
    if not rows:
        lines.append("—")
    lines += ["", labels["causes"]]
    for cause in ranked_causes(snapshot, position, language, rows=rows):
        lines.append(f"- {cause['title']}: {cause['probability']:.0%}")
    lines += ["", labels["steps"]]
    for number, (_slug, title) in enumerate(
        remedy_choices(snapshot, position, language, for_agent=True), start=1
    ):
        lines.append(f"{number}. {title}")
    lines += ["", f"{labels['outcome']}: {outcome}", "", labels["notes"], notes.strip() or "—"]
    return "\n".join(lines) + "\n"


def solution_title(snapshot: Snapshot, slug: str, language: str) -> str:
    index = snapshot.solution_index.get(slug)
    return text(snapshot.solutions[index]["title"], language) if index is not None else slug


def _answered_by(answer) -> str:
    who = answer.answered_by.get_username() if answer.answered_by else str(_("merchant"))
    return f"{who}, {_('from the description')}" if answer.from_description else who


def case_summary(diagnosis, snapshot: Snapshot, position: Position, language: str, *, rows: Sequence) -> str:
    """The plain-text summary of a case for tickets (agent console, escalations); ``rows``
    are its Answer records, which say who answered."""
    provider = snapshot.providers.get(diagnosis.provider)
    details = [
        (_("Case code"), diagnosis.display_code),
        (_("Channel"), diagnosis.get_channel_display()),
        (_("Agent"), diagnosis.agent.get_username() if diagnosis.agent else ""),
        (_("Merchant number"), diagnosis.merchant_number),
        (_("Caller's phone"), phones.display(diagnosis.phone)),
        (_("Provider"), text(provider["name"], language) if provider else ""),
        (_("Started"), timezone.localtime(diagnosis.created).strftime("%Y-%m-%d %H:%M")),
        (_("Knowledge revision"), str(diagnosis.revision_id)),
        (_("Description"), diagnosis.description),
    ]
    outcome = diagnosis.get_status_display()
    if diagnosis.fixed_by:
        outcome += f" — {solution_title(snapshot, diagnosis.fixed_by, language)}"
    if any(diagnosis.tried):
        tried = join_list(solution_title(snapshot, slug, language) for slug in diagnosis.tried if slug)
        outcome += f"; {_('tried without success')}: {tried}"
    return summary_text(
        snapshot,
        position,
        language,
        details=details,
        answered_by=[_answered_by(a) for a in rows],
        outcome=outcome,
        notes=diagnosis.notes,
        labels={
            "answers": _("Answers"),
            "causes": _("Most likely causes"),
            "steps": _("Steps, in order"),
            "outcome": _("Outcome"),
            "notes": _("Notes"),
        },
    )
