"""The published knowledge, read-only, for keys with the ``knowledge-read`` scope: the
latest revision's causes, symptoms, questions, solutions and providers, in one language."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema

from .. import flow
from ..knowledge import Snapshot, get_snapshot, latest_revision_number, text
from ..models import ApiKey
from .api import ApiError, api
from .auth import keys
from .diagnoses import ERRORS
from .schemas import Error, Language, ProviderOut

router = Router(tags=["knowledge"], auth=keys(ApiKey.Scope.KNOWLEDGE_READ.value))


class Filters(Schema):
    language: Language = "zh-hans"


class Evidence(Schema):
    symptom: str
    strength: str


class CauseOut(Schema):
    slug: str
    category: str
    title: str
    explanation: str
    prior: float
    evidence: list[Evidence]
    solutions: list[str]


class SymptomOut(Schema):
    slug: str
    title: str
    hazard: str = ""


class KnowledgeOption(Schema):
    value: str
    label: str
    symptom: str | None = None
    provider: str | None = None


class QuestionItem(Schema):
    slug: str
    kind: str
    text: str
    help: str
    options: list[KnowledgeOption]


class SolutionOut(Schema):
    slug: str
    title: str
    text: str
    audience: str
    effort_minutes: int
    is_escalation: bool


def _list(schema: type[Schema]) -> type[Schema]:
    return type(
        f"{schema.__name__}List",
        (Schema,),
        {"__annotations__": {"revision": int, "language": str, "items": list[schema]}},
    )


def _published() -> Snapshot:
    revision = latest_revision_number()
    if revision is None:
        raise ApiError(503, "unavailable", _("No knowledge is published yet."))
    return get_snapshot(revision)


def _page(snapshot: Snapshot, language: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"revision": snapshot.number, "language": language, "items": items}


RESPONSES = {503: Error, **ERRORS}


@router.get("/knowledge/causes", response={200: _list(CauseOut), **RESPONSES}, summary="Causes")
def causes(request: HttpRequest, filters: Query[Filters]):
    snapshot, lang = _published(), filters.language
    return _page(
        snapshot,
        lang,
        [
            {
                "slug": c["slug"],
                "category": c["category"],
                "title": text(c["title"], lang),
                "explanation": text(c["explanation"], lang),
                "prior": float(c["prior"]),
                "evidence": c["evidence"],
                "solutions": list(c["solutions"]),
            }
            for c in snapshot.causes
        ],
    )


@router.get("/knowledge/symptoms", response={200: _list(SymptomOut), **RESPONSES}, summary="Symptoms")
def symptoms(request: HttpRequest, filters: Query[Filters]):
    snapshot, lang = _published(), filters.language
    return _page(
        snapshot,
        lang,
        [
            {"slug": slug, "title": text(s["title"], lang), "hazard": text(snapshot.hazards.get(slug), lang)}
            for slug, s in snapshot.symptoms.items()
        ],
    )


@router.get("/knowledge/questions", response={200: _list(QuestionItem), **RESPONSES}, summary="Questions")
def questions(request: HttpRequest, filters: Query[Filters]):
    snapshot, lang = _published(), filters.language
    return _page(
        snapshot,
        lang,
        [
            {
                "slug": q["slug"],
                "kind": q["kind"],
                "text": text(q["text"], lang),
                "help": text(q.get("help"), lang),
                "options": [
                    {
                        "value": a["slug"],
                        "label": text(a["label"], lang),
                        "symptom": a.get("symptom"),
                        "provider": a.get("provider"),
                    }
                    for a in q["answers"]
                ],
            }
            for q in snapshot.questions
        ],
    )


@router.get("/knowledge/solutions", response={200: _list(SolutionOut), **RESPONSES}, summary="Solutions")
def solutions(request: HttpRequest, filters: Query[Filters]):
    snapshot, lang = _published(), filters.language
    return _page(
        snapshot,
        lang,
        [
            {
                "slug": s["slug"],
                "title": text(s["title"], lang),
                "text": text(s["steps"], lang),
                "audience": s["audience"],
                "effort_minutes": s["effort_minutes"],
                "is_escalation": s["is_escalation"],
            }
            for s in snapshot.solutions
        ],
    )


@router.get("/knowledge/providers", response={200: _list(ProviderOut), **RESPONSES}, summary="Providers")
def providers(request: HttpRequest, filters: Query[Filters]):
    snapshot, lang = _published(), filters.language
    ordered = sorted(snapshot.providers.values(), key=lambda p: p["order"])
    return _page(snapshot, lang, [flow.provider_view(p, lang) for p in ordered])


api.add_router("", router)
