"""Knowledge files, publishing, and the cached snapshot the wizard runs on.

One JSON format (``docs/knowledge-format.md``) serves three purposes: the seed file in
the repository, the payload stored in every :class:`~wizard.models.KnowledgeRevision`,
and import/export (``interchange.py``, which adds drafts). Data flows one way:

    content tables ──compile_payload()──▶ payload ──publish()──▶ KnowledgeRevision
    KnowledgeRevision ──get_snapshot(number)──▶ Snapshot (engine arrays, cached)

A revision is immutable, so its snapshot is cached in-process by revision number for
the life of the process: a wizard step costs no query for the knowledge itself.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from . import engine
from .models import (
    DEFAULT_LIKELIHOOD,
    Category,
    Cause,
    CauseSolution,
    Evidence,
    KnowledgeRevision,
    Option,
    Provider,
    Question,
    Solution,
    Strength,
    Symptom,
)

FORMAT = "pos-upgrade-doctor.knowledge"
VERSION = 1
LANGUAGES = ("zh-hans", "en")
SEED_PATH = Path(__file__).resolve().parent / "seed" / "knowledge.json"
STRENGTHS = {choice.name.lower(): float(choice.value) for choice in Strength}
UNSURE = "unsure"
FIRST_STEP_EFFICACY = 0.7
LATER_STEP_FACTOR = 0.85


def field_name(field: str, language: str) -> str:
    return f"{field}_{language.replace('-', '_')}"


def bilingual(obj, field: str) -> dict[str, str]:
    return {lang: getattr(obj, field_name(field, lang)) or "" for lang in LANGUAGES}


def strength_word(likelihood: float) -> str:
    """The admin's word for a stored likelihood (the nearest one, should it be off)."""
    return min(STRENGTHS, key=lambda word: abs(STRENGTHS[word] - likelihood))


# ---------------------------------------------------------------------------------------
# Database → payload


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
        "symptoms": [
            {"slug": s.slug, "title": bilingual(s, "title")}
            for s in sorted(Symptom.objects.all(), key=lambda s: s.slug)
        ],
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
# Payload → database


def read_file(path: Path | str = SEED_PATH) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _localised(prefix: str, texts: dict[str, str] | None) -> dict[str, str]:
    texts = texts or {}
    return {field_name(prefix, lang): texts.get(lang, "") for lang in LANGUAGES}


def _upsert(model, lookup: dict[str, Any], values: dict[str, Any]) -> tuple[Any, bool]:
    """Create or update, saving only when something differs (no empty history rows)."""
    obj = model.objects.filter(**lookup).first()
    if obj is None:
        return model.objects.create(**lookup, **values), True
    changed = [name for name, value in values.items() if getattr(obj, name) != value]
    if changed:
        for name in changed:
            setattr(obj, name, values[name])
        obj.save()
    return obj, bool(changed)


def _delete_absent(model, entries: list[dict[str, Any]]) -> int:
    """Delete the objects of ``model`` whose slug the file does not list."""
    absent = model.objects.exclude(slug__in=[entry["slug"] for entry in entries])
    count = absent.count()
    absent.delete()  # one by one through the collector: each deletion reaches the history
    return count


def _release_symptoms(questions: list[dict[str, Any]]) -> int:
    """Free the symptoms that move between the file's questions and options.

    A symptom belongs to one question or option at most (one-to-one columns), so a
    symptom handed from one to another, or swapped between two, would collide half-way
    through the upserts. Options whose symptom changes are deleted here and recreated by
    the upsert (an option is only its slug, label and symptom); returns how many.
    """
    wanted_options = {(q["slug"], o["slug"]): o["symptom"] for q in questions for o in q.get("options", [])}
    wanted_symptom = {q["slug"]: q.get("symptom") if q["kind"] == "binary" else None for q in questions}
    deleted = 0
    for option in Option.objects.filter(question__slug__in=wanted_symptom).select_related(
        "question", "symptom"
    ):
        if wanted_options.get((option.question.slug, option.slug)) != option.symptom.slug:
            option.delete()
            deleted += 1
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
    return deleted


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
    changes = 0

    def count(result: tuple[Any, bool]) -> Any:
        nonlocal changes
        changes += result[1]
        return result[0]

    if replace:
        # First what refers to the rest, which is deleted at the end once nothing in
        # the file points to it any more (categories and symptoms are protected).
        changes += _delete_absent(Cause, payload["causes"]) + _delete_absent(Question, payload["questions"])

    categories = {
        c["slug"]: count(
            _upsert(Category, {"slug": c["slug"]}, {"order": c["order"], **_localised("title", c["title"])})
        )
        for c in payload["categories"]
    }
    providers = {
        p["slug"]: count(
            _upsert(
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
        )
        for p in payload["providers"]
    }
    symptoms = {
        s["slug"]: count(_upsert(Symptom, {"slug": s["slug"]}, _localised("title", s["title"])))
        for s in payload["symptoms"]
    }
    solutions = {}
    for s in payload["solutions"]:
        solution = count(
            _upsert(
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
        )
        wanted = {symptoms[slug].pk for slug in s.get("contexts", [])}
        if set(solution.contexts.values_list("pk", flat=True)) != wanted:
            solution.contexts.set(wanted)
            changes += 1
        solutions[s["slug"]] = solution

    for c in payload["causes"]:
        cause = count(
            _upsert(
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
        )
        wanted_evidence = {symptoms[e["symptom"]].pk: STRENGTHS[e["strength"]] for e in c["evidence"]}
        stale = Evidence.objects.filter(cause=cause).exclude(symptom__in=wanted_evidence.keys())
        changes += stale.count()
        for evidence in stale:
            evidence.delete()
        for symptom_pk, likelihood in wanted_evidence.items():
            count(_upsert(Evidence, {"cause": cause, "symptom_id": symptom_pk}, {"likelihood": likelihood}))
        wanted_solutions = [solutions[slug].pk for slug in c["solutions"]]
        current = list(
            CauseSolution.objects.filter(cause=cause)
            .order_by("order", "id")
            .values_list("solution_id", flat=True)
        )
        if current != wanted_solutions:
            CauseSolution.objects.filter(cause=cause).delete()
            for position, solution_pk in enumerate(wanted_solutions, start=1):
                CauseSolution.objects.create(cause=cause, solution_id=solution_pk, order=position * 10)
            changes += 1

    changes += _release_symptoms(payload["questions"])
    for q in payload["questions"]:
        question = count(
            _upsert(
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
        )
        for position, o in enumerate(q.get("options", []), start=1):
            count(
                _upsert(
                    Option,
                    {"question": question, "slug": o["slug"]},
                    {
                        "symptom": symptoms[o["symptom"]],
                        "provider": providers[o["provider"]] if o.get("provider") else None,
                        "order": position * 10,
                        **_localised("label", o["label"]),
                    },
                )
            )

    if replace:
        for model, kind in (
            (Solution, "solutions"),
            (Symptom, "symptoms"),
            (Provider, "providers"),
            (Category, "categories"),
        ):
            changes += _delete_absent(model, payload[kind])
    return changes


# ---------------------------------------------------------------------------------------
# Checking content before it is published


@dataclass(frozen=True)
class Finding:
    level: str  # "error" blocks publishing, "warning" does not
    kind: str  # "cause", "question", "solution", "symptom", ...
    slug: str
    message: str


def check_payload(payload: dict[str, Any]) -> list[Finding]:
    """Everything wrong with a knowledge payload; errors make it unpublishable."""
    findings: list[Finding] = []

    def error(kind: str, slug: str, message: str) -> None:
        findings.append(Finding("error", kind, slug, message))

    def warning(kind: str, slug: str, message: str) -> None:
        findings.append(Finding("warning", kind, slug, message))

    categories = {c["slug"] for c in payload["categories"]}
    providers = {p["slug"] for p in payload["providers"]}
    symptoms = {s["slug"] for s in payload["symptoms"]}
    solutions = {s["slug"]: s for s in payload["solutions"]}

    if not payload["causes"]:
        error("knowledge", "", _("There is no published cause."))
    if not payload["questions"]:
        error("knowledge", "", _("There is no published question."))

    asked_by: dict[str, str] = {}
    for q in payload["questions"]:
        if q["kind"] == "binary":
            asked = [q.get("symptom")]
        else:
            asked = [o["symptom"] for o in q.get("options", [])]
            if len(asked) < 2:
                error("question", q["slug"], _("A choice question needs at least two options."))
            for o in q.get("options", []):
                if o.get("provider") and o["provider"] not in providers:
                    error("question", q["slug"], _("Unknown provider “%s”.") % o["provider"])
        for slug in asked:
            if slug not in symptoms:
                error("question", q["slug"], _("Unknown symptom “%s”.") % slug)
            elif slug in asked_by:
                error(
                    "question",
                    q["slug"],
                    _(
                        "Symptom “%(symptom)s” is already asked by “%(other)s”: its evidence would count twice."
                    )
                    % {"symptom": slug, "other": asked_by[slug]},
                )
            else:
                asked_by[slug] = q["slug"]

    for c in payload["causes"]:
        if c["category"] not in categories:
            error("cause", c["slug"], _("Unknown category “%s”.") % c["category"])
        if not c["prior"] > 0:
            error("cause", c["slug"], _("How common a cause is must be above zero."))
        for e in c["evidence"]:
            if e["symptom"] not in symptoms:
                error("cause", c["slug"], _("Unknown symptom “%s”.") % e["symptom"])
            if e["strength"] not in STRENGTHS:
                error("cause", c["slug"], _("Unknown strength “%s”.") % e["strength"])
        if not c["solutions"]:
            error("cause", c["slug"], _("This cause has no published solution."))
        for slug in c["solutions"]:
            if slug not in solutions:
                error("cause", c["slug"], _("Unknown solution “%s”.") % slug)
        if not any(e["symptom"] in asked_by for e in c["evidence"]):
            error(
                "cause",
                c["slug"],
                _("No question asks about any symptom of this cause: it cannot be reached."),
            )

    for s in payload["solutions"]:
        if not s["steps"].get("zh-hans", "").strip():
            error("solution", s["slug"], _("This solution has no steps."))
        for slug in s.get("contexts", []):
            if slug not in symptoms:
                error("solution", s["slug"], _("Unknown symptom “%s”.") % slug)

    if any(f.level == "error" for f in findings):
        return findings

    # The content is consistent: compile it and look for causes the questions cannot
    # tell apart (identical answer distributions on every question).
    snapshot = Snapshot.from_payload(0, payload)
    columns = snapshot.model.likelihood.reshape(-1, snapshot.model.n_causes).T
    for i in range(len(columns)):
        for j in range(i + 1, len(columns)):
            if np.allclose(columns[i], columns[j]):
                error(
                    "cause",
                    snapshot.causes[j]["slug"],
                    _("No question tells this cause apart from “%s”.") % snapshot.causes[i]["slug"],
                )

    used = set(asked_by)
    for c in payload["causes"]:
        used.update(e["symptom"] for e in c["evidence"])
    for s in payload["solutions"]:
        used.update(s.get("contexts", []))
    for slug in sorted(symptoms - used):
        warning("symptom", slug, _("No question or cause uses this symptom."))
    linked = {slug for c in payload["causes"] for slug in c["solutions"]}
    for slug in sorted(set(solutions) - linked):
        warning("solution", slug, _("No cause links to this solution."))
    singular = {
        "categories": "category",
        "providers": "provider",
        "symptoms": "symptom",
        "solutions": "solution",
        "causes": "cause",
        "questions": "question",
    }
    for kind, name in singular.items():
        for entry in payload[kind]:
            for key, value in entry.items():
                if isinstance(value, dict) and value.get("zh-hans") and not value.get("en"):
                    warning(name, entry["slug"], _("English “%s” is missing.") % key)
    return findings


class PublishError(Exception):
    def __init__(self, findings: list[Finding]):
        self.findings = [f for f in findings if f.level == "error"]
        super().__init__("; ".join(f"{f.kind} {f.slug}: {f.message}" for f in self.findings))


def publish(user=None, *, note: str = "", force: bool = False) -> tuple[KnowledgeRevision, bool]:
    """Check the published content and store it as the next revision.

    Returns ``(revision, created)``. When the content equals the latest revision nothing
    is stored (unless ``force``), so publishing twice is harmless.
    """
    payload = compile_payload()
    findings = check_payload(payload)
    if any(f.level == "error" for f in findings):
        raise PublishError(findings)
    with transaction.atomic():
        latest = KnowledgeRevision.objects.select_for_update().order_by("-number").first()
        if latest is not None and latest.payload == payload and not force:
            return latest, False
        number = (latest.number + 1) if latest else 1
        revision = KnowledgeRevision.objects.create(
            number=number, payload=payload, published_by=user, note=note
        )
    return revision, True


# ---------------------------------------------------------------------------------------
# Revision → snapshot


def text(texts: dict[str, str] | None, language: str) -> str:
    """A bilingual text in ``language``, falling back to Chinese."""
    if not texts:
        return ""
    return texts.get(language) or texts.get("zh-hans", "")


@dataclass(frozen=True)
class Snapshot:
    """One revision, compiled for the engine, plus the content to show."""

    number: int
    model: engine.Model
    causes: list[dict[str, Any]]
    questions: list[dict[str, Any]]  # each with "answers": [{"slug", "label", "symptom", "provider"}]
    solutions: list[dict[str, Any]]
    providers: dict[str, dict[str, Any]]
    categories: dict[str, dict[str, Any]]
    cause_index: dict[str, int]
    question_index: dict[str, int]
    solution_index: dict[str, int]

    @classmethod
    def from_payload(cls, number: int, payload: dict[str, Any]) -> Snapshot:
        causes = payload["causes"]
        n_causes = len(causes)
        strength = np.full((len(payload["symptoms"]), n_causes), DEFAULT_LIKELIHOOD)
        symptom_row = {s["slug"]: i for i, s in enumerate(payload["symptoms"])}
        for c, cause in enumerate(causes):
            for e in cause["evidence"]:
                strength[symptom_row[e["symptom"]], c] = STRENGTHS[e["strength"]]

        questions = []
        rows = []
        for q in payload["questions"]:
            if q["kind"] == "binary":
                yes = strength[symptom_row[q["symptom"]]]
                rows.append(np.stack([yes, 1.0 - yes]))
                answers = [
                    {
                        "slug": "yes",
                        "label": {"zh-hans": "是", "en": "Yes"},
                        "symptom": q["symptom"],
                        "provider": None,
                    },
                    {"slug": "no", "label": {"zh-hans": "否", "en": "No"}, "symptom": None, "provider": None},
                ]
            else:
                block = np.stack([strength[symptom_row[o["symptom"]]] for o in q["options"]])
                rows.append(block / block.sum(axis=0))
                answers = [dict(o) for o in q["options"]]
            questions.append({**q, "answers": answers})
        width = max((r.shape[0] for r in rows), default=1)
        likelihood = np.zeros((len(rows), width, n_causes))
        for i, r in enumerate(rows):
            likelihood[i, : r.shape[0]] = r

        solutions = payload["solutions"]
        solution_index = {s["slug"]: i for i, s in enumerate(solutions)}
        # A cause's solutions are listed in the order to try them: the first is the
        # likeliest to fix it, each later one a little less.
        fixes = np.zeros((len(solutions), n_causes))
        for c, cause in enumerate(causes):
            for i, slug in enumerate(s for s in cause["solutions"] if s in solution_index):
                fixes[solution_index[slug], c] = FIRST_STEP_EFFICACY * LATER_STEP_FACTOR**i
        model = engine.Model(
            prior=np.array([float(c["prior"]) for c in causes]) if causes else np.ones(1),
            likelihood=likelihood,
            effort=np.array([float(q.get("effort", 1.0)) for q in payload["questions"]]),
            fixes=fixes,
            cost=np.array([float(s["effort_minutes"]) for s in solutions]),
        )
        return cls(
            number=number,
            model=model,
            causes=causes,
            questions=questions,
            solutions=solutions,
            providers={p["slug"]: p for p in payload["providers"]},
            categories={c["slug"]: c for c in payload["categories"]},
            cause_index={c["slug"]: i for i, c in enumerate(causes)},
            question_index={q["slug"]: i for i, q in enumerate(payload["questions"])},
            solution_index=solution_index,
        )

    def answer_index(self, question: str, option: str) -> tuple[int, int] | None:
        """Engine form of one answer, or None for "not sure" or anything unknown."""
        q = self.question_index.get(question)
        if q is None or option == UNSURE:
            return None
        for a, answer in enumerate(self.questions[q]["answers"]):
            if answer["slug"] == option:
                return q, a
        return None


_snapshots: dict[int, Snapshot] = {}
_lock = threading.Lock()


def get_snapshot(number: int, payload: dict[str, Any] | None = None) -> Snapshot:
    """The compiled snapshot of a revision, built once per process.

    Pass ``payload`` when the caller already has it, to skip the query.
    """
    snapshot = _snapshots.get(number)
    if snapshot is None:
        if payload is None:
            payload = KnowledgeRevision.objects.values_list("payload", flat=True).get(number=number)
        snapshot = Snapshot.from_payload(number, payload)
        with _lock:
            # Keep the cache bounded: live diagnoses use a handful of recent revisions.
            if len(_snapshots) >= settings.WIZARD_SNAPSHOT_CACHE:
                _snapshots.pop(min(_snapshots))
            _snapshots[number] = snapshot
    return snapshot


def latest_revision_number() -> int | None:
    return KnowledgeRevision.objects.order_by("-number").values_list("number", flat=True).first()


def clear_cache() -> None:
    with _lock:
        _snapshots.clear()
