"""The knowledge format's vocabulary, and the compiled snapshot the wizard runs on.

One JSON format (``docs/knowledge-format.md``) serves three purposes: the seed file in
the repository, the payload stored in every :class:`~wizard.models.KnowledgeRevision`,
and import/export. Data flows one way:

    content tables ──content.compile_payload()──▶ payload
    payload ──checks.check_payload()──▶ findings (errors block publishing)
    payload ──publishing.publish()──▶ KnowledgeRevision
    KnowledgeRevision ──get_snapshot(number)──▶ Snapshot (engine arrays, cached)

A revision is immutable, so its snapshot is cached in-process by revision number for
the life of the process: a wizard step costs no query for the knowledge itself.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any, NamedTuple

import numpy as np
from django.conf import settings
from django.db import DatabaseError

from . import engine, understanding
from .models import DEFAULT_LIKELIHOOD, KnowledgeRevision, Strength

logger = logging.getLogger(__name__)

FORMAT = "pos-upgrade-doctor.knowledge"
VERSION = 1
LANGUAGES = ("zh-hans", "en")
STRENGTHS = {choice.name.lower(): float(choice.value) for choice in Strength}
UNSURE = "unsure"
# The kinds of content a knowledge file holds, in the order they refer to each other.
KINDS = ("categories", "providers", "symptoms", "solutions", "causes", "questions")
SINGULAR = {
    "categories": "category",
    "providers": "provider",
    "symptoms": "symptom",
    "solutions": "solution",
    "causes": "cause",
    "questions": "question",
}
FIRST_STEP_EFFICACY = 0.7
LATER_STEP_FACTOR = 0.85


def option_likelihood(stated: np.ndarray, linked: np.ndarray) -> np.ndarray:
    """P(option | cause) of a choice question: (options, causes), each column summing to 1.

    ``stated`` holds each option's symptom likelihood for each cause, the default
    (:data:`DEFAULT_LIKELIHOOD`) where the cause says nothing of it (``linked`` False).
    The options exclude each other, so a cause's column is one distribution, and what the
    knowledge states is kept as far as it can be: a cause that shows one option "always"
    gives it 95% of the time whether the question has two options or nine. The options
    it says nothing of share what its stated ones leave, each at most the default and
    together at least the default (an unexpected answer is unlikely, never impossible).
    The stated ones are scaled down only when they leave the others less than the
    default between them, and the whole column scaled up only when the stated chances
    and the defaults leave room to spare (as before: "sometimes" alone grows).
    """
    stated = np.asarray(stated, dtype=float)
    unlinked = (~linked).sum(axis=0)
    linked_total = np.where(linked, stated, 0.0).sum(axis=0)
    left = np.minimum(np.maximum(1.0 - linked_total, DEFAULT_LIKELIHOOD), unlinked * DEFAULT_LIKELIHOOD)
    scale = np.minimum(1.0, (1.0 - left) / np.maximum(linked_total, 1e-12))
    block = np.where(linked, stated * scale, left / np.maximum(unlinked, 1))
    return block / block.sum(axis=0)


def strength_word(likelihood: float) -> str:
    """The admin's word for a stored likelihood (the nearest one, should it be off)."""
    return min(STRENGTHS, key=lambda word: abs(STRENGTHS[word] - likelihood))


def text(texts: dict[str, str] | None, language: str) -> str:
    """A bilingual text in ``language``, falling back to Chinese."""
    if not texts:
        return ""
    return texts.get(language) or texts.get("zh-hans", "")


class Reply(NamedTuple):
    """One answer given: which question, which option slug (or "unsure")."""

    question: str
    option: str


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
    # Symptoms that are a danger (a swollen battery, smoke…): slug → the warning text.
    hazards: dict[str, dict[str, str]] = field(default_factory=dict)
    # Every symptom: slug → {"title", "phrases"}, for understanding descriptions.
    symptoms: dict[str, dict[str, Any]] = field(default_factory=dict)

    @cached_property
    def phrasebook(self) -> understanding.Phrasebook:
        """What descriptions can be understood as: built once per process for the same
        phrases (most revisions change other things), in about a second."""
        phrases = {slug: s["phrases"] for slug, s in self.symptoms.items() if s.get("phrases")}
        return _phrasebook(json.dumps(phrases, sort_keys=True, ensure_ascii=False))

    @cached_property
    def _symptom_answers(self) -> dict[tuple[str, str], Reply]:
        """(symptom, polarity) → the answer it gives: "yes"/"no" to the question about the
        symptom, or the option that names it. A choice option has no "absent" answer."""
        answers: dict[tuple[str, str], Reply] = {}
        for question in self.questions:
            for option in question["answers"]:
                if option.get("symptom"):
                    answers.setdefault(
                        (option["symptom"], "present"), Reply(question["slug"], option["slug"])
                    )
            if question["kind"] == "binary":
                answers.setdefault((question["symptom"], "absent"), Reply(question["slug"], "no"))
        return answers

    @cached_property
    def _exclusive_symptoms(self) -> list[set[str]]:
        """The options of each choice question: a description names one of them at most."""
        return [
            {o["symptom"] for o in q["answers"] if o.get("symptom")}
            for q in self.questions
            if q["kind"] != "binary"
        ]

    def understand(self, text: str) -> list[tuple[understanding.Fact, Reply]]:
        """The facts a description states that answer a question, each with its answer (a
        symptom is asked about by one question, and a choice question's options exclude
        each other: one answer per question)."""
        facts = self.phrasebook.understand(text, exclusive=self._exclusive_symptoms)
        answers = ((fact, self._symptom_answers.get((fact.symptom, fact.polarity))) for fact in facts)
        return [(fact, reply) for fact, reply in answers if reply is not None]

    @cached_property
    def safety_questions(self) -> list[int]:
        """The questions that ask about a hazard: the wizard asks them early."""
        return [
            q
            for q, question in enumerate(self.questions)
            if any(a.get("symptom") in self.hazards for a in question["answers"])
        ]

    @classmethod
    def from_payload(cls, number: int, payload: dict[str, Any]) -> Snapshot:
        causes = payload["causes"]
        n_causes = len(causes)
        strength = np.full((len(payload["symptoms"]), n_causes), DEFAULT_LIKELIHOOD)
        linked = np.zeros(strength.shape, dtype=bool)
        symptom_row = {s["slug"]: i for i, s in enumerate(payload["symptoms"])}
        for c, cause in enumerate(causes):
            for e in cause["evidence"]:
                strength[symptom_row[e["symptom"]], c] = STRENGTHS[e["strength"]]
                linked[symptom_row[e["symptom"]], c] = True

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
                option_rows = [symptom_row[o["symptom"]] for o in q["options"]]
                rows.append(option_likelihood(strength[option_rows], linked[option_rows]))
                answers = [dict(o) for o in q["options"]]
            questions.append({**q, "answers": answers})
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
            likelihood=rows,
            effort=np.array([float(q.get("effort", 1.0)) for q in payload["questions"]]),
            fixes=fixes,
            cost=np.array([float(s["effort_minutes"]) for s in solutions]),
            slip=settings.WIZARD_SLIP,
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
            hazards={
                s["slug"]: s["hazard"] for s in payload["symptoms"] if any((s.get("hazard") or {}).values())
            },
            symptoms={
                s["slug"]: {"title": s["title"], "phrases": s.get("phrases") or {}}
                for s in payload["symptoms"]
            },
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


@lru_cache(maxsize=4)
def _phrasebook(phrases: str) -> understanding.Phrasebook:
    return understanding.Phrasebook.from_phrases(json.loads(phrases))


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
            _make_room(snapshot.model.nbytes)
            _snapshots[number] = snapshot
    return snapshot


def _make_room(nbytes: int) -> None:
    """Drop the oldest revisions until one of ``nbytes`` more fits both limits: at most
    WIZARD_SNAPSHOT_CACHE revisions and WIZARD_SNAPSHOT_CACHE_MB of compiled arrays (live
    diagnoses use a handful of recent revisions; a large knowledge base makes each one big)."""
    budget = settings.WIZARD_SNAPSHOT_CACHE_MB * 2**20
    while _snapshots and (
        len(_snapshots) >= settings.WIZARD_SNAPSHOT_CACHE
        or sum(s.model.nbytes for s in _snapshots.values()) + nbytes > budget
    ):
        _snapshots.pop(min(_snapshots))


def latest_revision_number() -> int | None:
    return KnowledgeRevision.objects.order_by("-number").values_list("number", flat=True).first()


def warm() -> None:
    """Build what the first request of a process would otherwise wait for: the latest
    revision's snapshot and its phrasebook (jieba's dictionary and the phrases, about a
    second and a half). An app server calls it as a worker starts (``config/wsgi.py``);
    a database that is not there yet only leaves the work to the first request."""
    try:
        number = latest_revision_number()
        if number is not None:
            get_snapshot(number).phrasebook  # noqa: B018 (a cached property, built here)
    except DatabaseError:
        logger.warning("Could not warm the knowledge cache; the first request will build it.", exc_info=True)


def clear_cache() -> None:
    with _lock:
        _snapshots.clear()
