"""What a diagnosis looks like in JSON: the same data the wizard's pages show, built by
:mod:`wizard.flow` from one engine run, in the diagnosis's language."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils import translation

from .. import diagnoses, flow
from ..knowledge import Snapshot, get_snapshot, text
from ..models import Diagnosis
from ..position import Position


def state(
    diagnosis: Diagnosis, *, understood: list[dict[str, Any]] | None = None, request=None
) -> dict[str, Any]:
    """The diagnosis now: the question asked (or none), the ranking, the dangers reported,
    the answers so far, and the result once the questions have stopped."""
    snapshot = get_snapshot(diagnosis.revision_id)
    position = diagnoses.position(diagnosis, snapshot)
    lang = diagnosis.language
    with translation.override(lang):
        finished = diagnoses.is_finished(diagnosis) or position.is_finished
        described = set(diagnosis.answers.filter(from_description=True).values_list("position", flat=True))
        data: dict[str, Any] = {
            "code": diagnosis.code,
            "display_code": diagnosis.display_code,
            "status": diagnosis.status,
            "channel": diagnosis.channel,
            "language": lang,
            "revision": diagnosis.revision_id,
            "question": None if finished else _question(snapshot, position, lang),
            "answers": _answers(snapshot, position, lang, described),
            "ranking": [
                {"cause": c["slug"], "title": c["title"], "probability": round(c["probability"], 4)}
                for c in flow.candidates(snapshot, position, lang)
            ],
            "safety": flow.hazard_warnings(snapshot, position.replies, lang),
            "tried": list(diagnosis.tried),
            "wizard_url": _absolute(request, reverse("wizard:resume", args=[diagnosis.code])),
            "result": _result(snapshot, position, lang, described) if finished else None,
        }
    if understood is not None:
        data["understood"] = understood
    return data


def _absolute(request, path: str) -> str:
    return request.build_absolute_uri(path) if request is not None else path


def _question(snapshot: Snapshot, position: Position, lang: str) -> dict[str, Any] | None:
    if position.question is None:
        return None
    view = flow.question_view(snapshot, position.question, lang)
    return {
        "number": len(position.replies) + 1,
        "slug": view["slug"],
        "text": view["text"],
        "help": view["help"],
        "options": [{"value": o["slug"], "label": o["label"]} for o in view["options"]],
    }


def _answers(snapshot: Snapshot, position: Position, lang: str, described: set[int]) -> list[dict[str, Any]]:
    rows = flow.transcript(snapshot, position.replies, lang, described=described)
    return [
        {
            "number": row["number"],
            "question": reply.question,
            "answer": reply.option,
            "question_text": row["question"],
            "answer_label": row["answer"],
            "from_description": row["from_description"],
        }
        for row, reply in zip(rows, position.replies, strict=True)
    ]


def _result(snapshot: Snapshot, position: Position, lang: str, described: set[int]) -> dict[str, Any]:
    result = flow.result(snapshot, position, lang, described=described)
    return {
        "causes": [
            {
                "cause": c["slug"],
                "title": c["title"],
                "explanation": c["explanation"],
                "category": c["category"],
                "probability": round(c["probability"], 4),
                "because": [row["number"] for row in c["because"]],
            }
            for c in result.causes
        ],
        "steps": [
            {
                "solution": s["slug"],
                "title": s["title"],
                "text": text(snapshot.solutions[snapshot.solution_index[s["slug"]]]["steps"], lang),
                "html": str(s["steps"]),
                "effort_minutes": s["effort_minutes"],
                "is_escalation": s["is_escalation"],
                "cause": s["cause"]["slug"],
            }
            for s in result.solutions
        ],
        "providers": result.providers,
        "provider_is_known": result.provider_is_known,
        "stop": position.stop,
    }
