"""The content tables as a knowledge file, and a knowledge file into the tables.

:func:`compile_payload` writes the tables out in the format of
``docs/knowledge-format.md`` (for a revision, or with drafts for an export);
:func:`load_payload` makes the tables match a file (the seed, an import, an old
revision brought back). Neither checks the content: ``checks.py`` does, before
publishing, and ``interchange.py`` before an import.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.db import transaction

from .knowledge import FORMAT, LANGUAGES, STRENGTHS, VERSION, strength_word
from .models import (
    Category,
    Cause,
    CauseSolution,
    Evidence,
    Option,
    Provider,
    Question,
    Solution,
    Symptom,
)

SEED_PATH = Path(__file__).resolve().parent / "seed" / "knowledge.json"


def field_name(field: str, language: str) -> str:
    """The column of a bilingual field in one language: ``title`` → ``title_zh_hans``."""
    return f"{field}_{language.replace('-', '_')}"


def bilingual(obj, field: str) -> dict[str, str]:
    return {lang: getattr(obj, field_name(field, lang)) or "" for lang in LANGUAGES}


def phrase_list(text: str) -> list[str]:
    """The phrases of a text box, one per line: trimmed, without blanks or repeats."""
    return list(dict.fromkeys(line.strip() for line in (text or "").splitlines() if line.strip()))


# ---------------------------------------------------------------------------------------
# Tables → payload


def _by_order(objects) -> list:
    # Sorted here rather than by the database, whose collation may order hyphens
    # differently: the same content always gives the same file, on any database.
    return sorted(objects, key=lambda obj: (obj.order, obj.slug))


def compile_payload(*, include_drafts: bool = False) -> dict[str, Any]:
    """The content as a knowledge file (a dict ready for JSON).

    By default only the published content, as a revision stores it. With
    ``include_drafts`` (the export), all of it, every cause, question and solution
    carrying its ``is_published`` flag.
    """

    def chosen(model):
        return model.objects.all() if include_drafts else model.objects.published()

    def flag(obj) -> dict[str, bool]:
        return {"is_published": obj.is_published} if include_drafts else {}

    causes = (
        chosen(Cause)
        .select_related("category")
        .prefetch_related("evidence__symptom", "cause_solutions__solution")
    )
    questions = chosen(Question).select_related("symptom")
    options = Option.objects.select_related("symptom", "provider")
    if not include_drafts:
        options = options.filter(question__is_published=True)
    options_by_question: dict[int, list[Option]] = {}
    for option in options:
        options_by_question.setdefault(option.question_id, []).append(option)

    return {
        "format": FORMAT,
        "version": VERSION,
        "categories": [
            {"slug": c.slug, "order": c.order, "title": bilingual(c, "title")}
            for c in _by_order(Category.objects.all())
        ],
        "providers": [
            {
                "slug": p.slug,
                "kind": p.kind,
                "order": p.order,
                "name": bilingual(p, "name"),
                "hotline": p.hotline,
                "hours": bilingual(p, "hours"),
                "website": p.website,
                "guidance": bilingual(p, "guidance"),
            }
            for p in _by_order(Provider.objects.all())
        ],
        "symptoms": [_symptom_entry(s) for s in sorted(Symptom.objects.all(), key=lambda s: s.slug)],
        "solutions": [
            {
                "slug": s.slug,
                **flag(s),
                "order": s.order,
                "title": bilingual(s, "title"),
                "steps": bilingual(s, "steps"),
                "audience": s.audience,
                "effort_minutes": s.effort_minutes,
                "is_escalation": s.is_escalation,
                "contexts": sorted(sym.slug for sym in s.contexts.all()),
            }
            for s in _by_order(chosen(Solution).prefetch_related("contexts"))
        ],
        "causes": [
            {
                "slug": c.slug,
                **flag(c),
                "category": c.category.slug,
                "order": c.order,
                "prior": c.prior,
                "title": bilingual(c, "title"),
                "explanation": bilingual(c, "explanation"),
                "evidence": [
                    {"symptom": e.symptom.slug, "strength": strength_word(e.likelihood)}
                    for e in sorted(c.evidence.all(), key=lambda e: e.symptom.slug)
                ],
                "solutions": [
                    cs.solution.slug
                    for cs in sorted(c.cause_solutions.all(), key=lambda cs: (cs.order, cs.id))
                    if include_drafts or cs.solution.is_published
                ],
            }
            for c in _by_order(causes)
        ],
        "questions": [
            _question_entry(q, options_by_question.get(q.id, []), flag(q)) for q in _by_order(questions)
        ],
    }


def _question_entry(question: Question, options: list[Option], flag: dict[str, bool]) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "slug": question.slug,
        **flag,
        "order": question.order,
        "kind": question.kind,
    }
    if question.kind == Question.Kind.BINARY:
        entry["symptom"] = question.symptom.slug if question.symptom else None
    entry["effort"] = question.effort
    entry["text"] = bilingual(question, "text")
    entry["script"] = bilingual(question, "script")
    entry["help"] = bilingual(question, "help")
    if question.kind == Question.Kind.CHOICE:
        entry["options"] = [
            {
                "slug": o.slug,
                "symptom": o.symptom.slug,
                "label": bilingual(o, "label"),
                "provider": o.provider.slug if o.provider else None,
            }
            for o in options
        ]
    return entry


# ---------------------------------------------------------------------------------------
# Payload → tables


def read_file(path: Path | str = SEED_PATH) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


@transaction.atomic
def load_payload(payload: dict[str, Any], *, replace: bool = False) -> int:
    """Make the content tables match a knowledge file; returns how many objects changed.

    Objects are matched by slug, so loading the same file twice changes nothing. A
    cause's evidence and solutions and a question's options become exactly the file's.
    Causes, questions, solutions without ``is_published`` are published. Content absent
    from the file is left alone (it may be an admin's draft), unless ``replace``: then
    it is deleted and the tables hold exactly the file.
    """
    if payload.get("format") != FORMAT or payload.get("version") != VERSION:
        raise ValueError(f"not a {FORMAT} version {VERSION} file")
    writes = _Writes()
    if replace:
        # First what refers to the rest, which is deleted at the end once nothing in
        # the file points to it any more (categories and symptoms are protected).
        writes.delete_absent(Cause, payload["causes"])
        writes.delete_absent(Question, payload["questions"])
    categories = _load_categories(writes, payload["categories"])
    providers = _load_providers(writes, payload["providers"])
    symptoms = _load_symptoms(writes, payload["symptoms"])
    solutions = _load_solutions(writes, payload["solutions"], symptoms)
    _load_causes(writes, payload["causes"], categories, symptoms, solutions)
    _release_symptoms(writes, payload["questions"])
    _load_questions(writes, payload["questions"], symptoms, providers)
    if replace:
        for model, kind in (
            (Solution, "solutions"),
            (Symptom, "symptoms"),
            (Provider, "providers"),
            (Category, "categories"),
        ):
            writes.delete_absent(model, payload[kind])
    return writes.count


class _Writes:
    """The writes of one load, counted: the objects it created, changed or deleted."""

    def __init__(self) -> None:
        self.count = 0

    def upsert(self, model, lookup: dict[str, Any], values: dict[str, Any]):
        """Create or update, saving only when something differs (no empty history rows)."""
        obj = model.objects.filter(**lookup).first()
        if obj is None:
            self.count += 1
            return model.objects.create(**lookup, **values)
        changed = [name for name, value in values.items() if getattr(obj, name) != value]
        if changed:
            for name in changed:
                setattr(obj, name, values[name])
            obj.save()
            self.count += 1
        return obj

    def delete(self, queryset) -> None:
        self.count += queryset.count()
        # One by one through the collector: each deletion reaches the history.
        queryset.delete()

    def delete_absent(self, model, entries: list[dict[str, Any]]) -> None:
        """Delete the objects of ``model`` whose slug the file does not list."""
        self.delete(model.objects.exclude(slug__in=[entry["slug"] for entry in entries]))


def _symptom_entry(symptom: Symptom) -> dict[str, Any]:
    """A symptom; a hazard's warning and phrases only where there are some."""
    entry: dict[str, Any] = {"slug": symptom.slug, "title": bilingual(symptom, "title")}
    hazard = bilingual(symptom, "hazard")
    if any(hazard.values()):
        entry["hazard"] = hazard
    phrases = {lang: phrase_list(text) for lang, text in bilingual(symptom, "phrases").items()}
    if any(phrases.values()):
        entry["phrases"] = phrases
    return entry


def _joined(phrases: dict[str, list[str]] | None) -> dict[str, str]:
    """Phrase lists as the admin's text boxes hold them, one per line."""
    return {lang: "\n".join(items) for lang, items in (phrases or {}).items()}


def _localised(prefix: str, texts: dict[str, str] | None) -> dict[str, str]:
    texts = texts or {}
    return {field_name(prefix, lang): texts.get(lang, "") for lang in LANGUAGES}


def _load_categories(writes: _Writes, entries: list[dict[str, Any]]) -> dict[str, Category]:
    return {
        c["slug"]: writes.upsert(
            Category, {"slug": c["slug"]}, {"order": c["order"], **_localised("title", c["title"])}
        )
        for c in entries
    }


def _load_providers(writes: _Writes, entries: list[dict[str, Any]]) -> dict[str, Provider]:
    return {
        p["slug"]: writes.upsert(
            Provider,
            {"slug": p["slug"]},
            {
                "kind": p["kind"],
                "order": p["order"],
                "hotline": p.get("hotline", ""),
                "website": p.get("website", ""),
                **_localised("name", p["name"]),
                **_localised("hours", p.get("hours")),
                **_localised("guidance", p.get("guidance")),
            },
        )
        for p in entries
    }


def _load_symptoms(writes: _Writes, entries: list[dict[str, Any]]) -> dict[str, Symptom]:
    return {
        s["slug"]: writes.upsert(
            Symptom,
            {"slug": s["slug"]},
            {
                **_localised("title", s["title"]),
                **_localised("hazard", s.get("hazard")),
                **_localised("phrases", _joined(s.get("phrases"))),
            },
        )
        for s in entries
    }


def _load_solutions(
    writes: _Writes, entries: list[dict[str, Any]], symptoms: dict[str, Symptom]
) -> dict[str, Solution]:
    solutions = {}
    for s in entries:
        solution = writes.upsert(
            Solution,
            {"slug": s["slug"]},
            {
                "order": s["order"],
                "audience": s["audience"],
                "effort_minutes": s["effort_minutes"],
                "is_escalation": s["is_escalation"],
                "is_published": s.get("is_published", True),
                **_localised("title", s["title"]),
                **_localised("steps", s["steps"]),
            },
        )
        wanted = {symptoms[slug].pk for slug in s.get("contexts", [])}
        if set(solution.contexts.values_list("pk", flat=True)) != wanted:
            solution.contexts.set(wanted)
            writes.count += 1
        solutions[s["slug"]] = solution
    return solutions


def _load_causes(
    writes: _Writes,
    entries: list[dict[str, Any]],
    categories: dict[str, Category],
    symptoms: dict[str, Symptom],
    solutions: dict[str, Solution],
) -> None:
    for c in entries:
        cause = writes.upsert(
            Cause,
            {"slug": c["slug"]},
            {
                "category": categories[c["category"]],
                "order": c["order"],
                "prior": float(c["prior"]),
                "is_published": c.get("is_published", True),
                **_localised("title", c["title"]),
                **_localised("explanation", c["explanation"]),
            },
        )
        _set_evidence(
            writes, cause, {symptoms[e["symptom"]].pk: STRENGTHS[e["strength"]] for e in c["evidence"]}
        )
        _set_cause_solutions(writes, cause, [solutions[slug].pk for slug in c["solutions"]])


def _set_evidence(writes: _Writes, cause: Cause, wanted: dict[int, float]) -> None:
    """The cause's evidence becomes exactly ``wanted`` (symptom pk → likelihood)."""
    writes.delete(Evidence.objects.filter(cause=cause).exclude(symptom__in=wanted.keys()))
    for symptom_pk, likelihood in wanted.items():
        writes.upsert(Evidence, {"cause": cause, "symptom_id": symptom_pk}, {"likelihood": likelihood})


def _set_cause_solutions(writes: _Writes, cause: Cause, wanted: list[int]) -> None:
    """The cause's solutions become exactly ``wanted`` (solution pks), in that order."""
    links = CauseSolution.objects.filter(cause=cause)
    if list(links.order_by("order", "id").values_list("solution_id", flat=True)) == wanted:
        return
    links.delete()
    for position, solution_pk in enumerate(wanted, start=1):
        CauseSolution.objects.create(cause=cause, solution_id=solution_pk, order=position * 10)
    writes.count += 1


def _release_symptoms(writes: _Writes, questions: list[dict[str, Any]]) -> None:
    """Free the symptoms that move between the file's questions and options.

    A symptom belongs to one question or option at most (one-to-one columns), so a
    symptom handed from one to another, or swapped between two, would collide half-way
    through the upserts. Options whose symptom changes are deleted here and recreated by
    the upsert (an option is only its slug, label and symptom).
    """
    wanted_options = {(q["slug"], o["slug"]): o["symptom"] for q in questions for o in q.get("options", [])}
    wanted_symptom = {q["slug"]: q.get("symptom") if q["kind"] == "binary" else None for q in questions}
    for option in Option.objects.filter(question__slug__in=wanted_symptom).select_related(
        "question", "symptom"
    ):
        if wanted_options.get((option.question.slug, option.slug)) != option.symptom.slug:
            option.delete()
            writes.count += 1
    moving = [
        question.pk
        for question in Question.objects.filter(
            slug__in=wanted_symptom, symptom__isnull=False
        ).select_related("symptom")
        if wanted_symptom[question.slug] != question.symptom.slug
    ]
    # A binary question cannot lose its symptom (a constraint), so it passes through
    # "choice" for a moment. update() leaves no history row: the upsert that follows
    # saves the real change once.
    Question.objects.filter(pk__in=moving).update(kind=Question.Kind.CHOICE, symptom=None)


def _load_questions(
    writes: _Writes,
    entries: list[dict[str, Any]],
    symptoms: dict[str, Symptom],
    providers: dict[str, Provider],
) -> None:
    for q in entries:
        question = writes.upsert(
            Question,
            {"slug": q["slug"]},
            {
                "kind": q["kind"],
                "order": q["order"],
                "effort": float(q.get("effort", 1.0)),
                "symptom": symptoms[q["symptom"]] if q["kind"] == "binary" else None,
                "is_published": q.get("is_published", True),
                **_localised("text", q["text"]),
                **_localised("script", q.get("script")),
                **_localised("help", q.get("help")),
            },
        )
        for position, o in enumerate(q.get("options", []), start=1):
            writes.upsert(
                Option,
                {"question": question, "slug": o["slug"]},
                {
                    "symptom": symptoms[o["symptom"]],
                    "provider": providers[o["provider"]] if o.get("provider") else None,
                    "order": position * 10,
                    **_localised("label", o["label"]),
                },
            )
