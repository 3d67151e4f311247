"""The checks a knowledge payload passes before it is published.

Each rule is a small function that reads a payload and yields :class:`Finding` s.
Errors make the payload unpublishable (the wizard could not run on it, or would run
badly); warnings point at content that is probably unfinished. :func:`check_payload`
runs them all; the admin's health report (``review.py``) adds what only a simulation
shows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.utils.translation import gettext as _

from .knowledge import SINGULAR, STRENGTHS, Snapshot
from .markup import EMPTY_STEPS_REASON, shows_nothing

Payload = dict[str, Any]


@dataclass(frozen=True)
class Finding:
    level: str  # "error" blocks publishing, "warning" does not
    kind: str  # "cause", "question", "solution", "symptom", ...
    slug: str
    message: str


def error(kind: str, slug: str, message: str) -> Finding:
    return Finding("error", kind, slug, message)


def warning(kind: str, slug: str, message: str) -> Finding:
    return Finding("warning", kind, slug, message)


def _slugs(payload: Payload, kind: str) -> set[str]:
    return {entry["slug"] for entry in payload[kind]}


def _asked_by(question: dict[str, Any]) -> list[str]:
    """The symptoms a question asks about: its own, or one per option."""
    if question["kind"] == "binary":
        return [question.get("symptom")]
    return [o["symptom"] for o in question.get("options", [])]


def asking_questions(payload: Payload) -> dict[str, str]:
    """Each known symptom a question asks about → the first question that does."""
    symptoms = _slugs(payload, "symptoms")
    asking: dict[str, str] = {}
    for q in payload["questions"]:
        for slug in _asked_by(q):
            if slug in symptoms:
                asking.setdefault(slug, q["slug"])
    return asking


# ---------------------------------------------------------------------------------------
# Errors: the wizard cannot run on this content


def has_causes_and_questions(payload: Payload) -> Iterator[Finding]:
    if not payload["causes"]:
        yield error("knowledge", "", _("There is no published cause."))
    if not payload["questions"]:
        yield error("knowledge", "", _("There is no published question."))


def choice_questions_have_two_options(payload: Payload) -> Iterator[Finding]:
    for q in payload["questions"]:
        if q["kind"] != "binary" and len(q.get("options", [])) < 2:
            yield error("question", q["slug"], _("A choice question needs at least two options."))


def options_name_known_providers(payload: Payload) -> Iterator[Finding]:
    providers = _slugs(payload, "providers")
    for q in payload["questions"]:
        for o in q.get("options", []):
            if o.get("provider") and o["provider"] not in providers:
                yield error("question", q["slug"], _("Unknown provider “%s”.") % o["provider"])


def questions_ask_known_symptoms_once(payload: Payload) -> Iterator[Finding]:
    """A symptom asked twice would count its evidence twice."""
    symptoms = _slugs(payload, "symptoms")
    asking: dict[str, str] = {}
    for q in payload["questions"]:
        for slug in _asked_by(q):
            if slug not in symptoms:
                yield error("question", q["slug"], _("Unknown symptom “%s”.") % slug)
            elif slug in asking:
                yield error(
                    "question",
                    q["slug"],
                    _(
                        "Symptom “%(symptom)s” is already asked by “%(other)s”: its evidence would count twice."
                    )
                    % {"symptom": slug, "other": asking[slug]},
                )
            else:
                asking[slug] = q["slug"]


def causes_name_known_categories(payload: Payload) -> Iterator[Finding]:
    categories = _slugs(payload, "categories")
    for c in payload["causes"]:
        if c["category"] not in categories:
            yield error("cause", c["slug"], _("Unknown category “%s”.") % c["category"])


def causes_are_possible(payload: Payload) -> Iterator[Finding]:
    for c in payload["causes"]:
        if not c["prior"] > 0:
            yield error("cause", c["slug"], _("How common a cause is must be above zero."))


def evidence_is_known(payload: Payload) -> Iterator[Finding]:
    """Evidence names a symptom of the file and one of the strength words."""
    symptoms = _slugs(payload, "symptoms")
    for c in payload["causes"]:
        for e in c["evidence"]:
            if e["symptom"] not in symptoms:
                yield error("cause", c["slug"], _("Unknown symptom “%s”.") % e["symptom"])
            if e["strength"] not in STRENGTHS:
                yield error("cause", c["slug"], _("Unknown strength “%s”.") % e["strength"])


def causes_have_known_solutions(payload: Payload) -> Iterator[Finding]:
    solutions = _slugs(payload, "solutions")
    for c in payload["causes"]:
        if not c["solutions"]:
            yield error("cause", c["slug"], _("This cause has no published solution."))
        for slug in c["solutions"]:
            if slug not in solutions:
                yield error("cause", c["slug"], _("Unknown solution “%s”.") % slug)


def causes_are_reachable(payload: Payload) -> Iterator[Finding]:
    """A cause none of whose symptoms is asked about can never lead the ranking."""
    asked = asking_questions(payload)
    for c in payload["causes"]:
        if not any(e["symptom"] in asked for e in c["evidence"]):
            yield error(
                "cause",
                c["slug"],
                _("No question asks about any symptom of this cause: it cannot be reached."),
            )


def solutions_have_steps(payload: Payload) -> Iterator[Finding]:
    """Steps that say something once sanitised: a comment or a lone ``<script>`` would show
    merchants an empty step 1 and ask whether it fixed the problem."""
    for s in payload["solutions"]:
        steps = s["steps"]
        if not steps.get("zh-hans", "").strip():
            yield error("solution", s["slug"], _("This solution has no steps."))
        for lang, text in steps.items():
            if shows_nothing(text):
                yield error(
                    "solution",
                    s["slug"],
                    _("The steps (%(lang)s) show nothing once made safe: %(reason)s")
                    % {"lang": lang, "reason": EMPTY_STEPS_REASON},
                )


def solution_contexts_are_known(payload: Payload) -> Iterator[Finding]:
    symptoms = _slugs(payload, "symptoms")
    for s in payload["solutions"]:
        for slug in s.get("contexts", []):
            if slug not in symptoms:
                yield error("solution", s["slug"], _("Unknown symptom “%s”.") % slug)


# ---------------------------------------------------------------------------------------
# On consistent content only (it compiles): errors of judgement, and unfinished work


def causes_are_distinguishable(payload: Payload) -> Iterator[Finding]:
    """Causes with the same answer distributions on every question cannot be told apart."""
    snapshot = Snapshot.from_payload(0, payload)
    columns = np.concatenate(snapshot.model.likelihood.blocks).T
    for i in range(len(columns)):
        for j in range(i + 1, len(columns)):
            if np.allclose(columns[i], columns[j]):
                yield error(
                    "cause",
                    snapshot.causes[j]["slug"],
                    _("No question tells this cause apart from “%s”.") % snapshot.causes[i]["slug"],
                )


def symptoms_are_used(payload: Payload) -> Iterator[Finding]:
    used = set(asking_questions(payload))
    for c in payload["causes"]:
        used.update(e["symptom"] for e in c["evidence"])
    for s in payload["solutions"]:
        used.update(s.get("contexts", []))
    for slug in sorted(_slugs(payload, "symptoms") - used):
        yield warning("symptom", slug, _("No question or cause uses this symptom."))


PHRASE_LENGTH = 100  # characters in one phrase
PHRASES_PER_LANGUAGE = 60


def phrases_fit(payload: Payload) -> Iterator[Finding]:
    """Phrases are short (a phrase is a few words, a message or a code), and not too many."""
    for s in payload["symptoms"]:
        for lang, phrases in (s.get("phrases") or {}).items():
            if len(phrases) > PHRASES_PER_LANGUAGE or any(len(p) > PHRASE_LENGTH for p in phrases):
                yield error(
                    "symptom",
                    s["slug"],
                    _("Phrases (%(lang)s): at most %(n)s, each at most %(length)s characters.")
                    % {"lang": lang, "n": PHRASES_PER_LANGUAGE, "length": PHRASE_LENGTH},
                )


def solutions_are_linked(payload: Payload) -> Iterator[Finding]:
    linked = {slug for c in payload["causes"] for slug in c["solutions"]}
    for slug in sorted(_slugs(payload, "solutions") - linked):
        yield warning("solution", slug, _("No cause links to this solution."))


def texts_have_english(payload: Payload) -> Iterator[Finding]:
    """Merchants who chose English would read Chinese where it is missing."""
    for kind, name in SINGULAR.items():
        for entry in payload[kind]:
            for key, value in entry.items():
                if isinstance(value, dict) and value.get("zh-hans") and not value.get("en"):
                    yield warning(name, entry["slug"], _("English “%s” is missing.") % key)


Rule = Callable[[Payload], Iterator[Finding]]

CONSISTENCY: tuple[Rule, ...] = (
    has_causes_and_questions,
    choice_questions_have_two_options,
    options_name_known_providers,
    questions_ask_known_symptoms_once,
    causes_name_known_categories,
    causes_are_possible,
    evidence_is_known,
    causes_have_known_solutions,
    causes_are_reachable,
    solutions_have_steps,
    solution_contexts_are_known,
    phrases_fit,
)
QUALITY: tuple[Rule, ...] = (
    causes_are_distinguishable,
    symptoms_are_used,
    solutions_are_linked,
    texts_have_english,
)


def _run(rules: tuple[Rule, ...], payload: Payload) -> list[Finding]:
    return [finding for rule in rules for finding in rule(payload)]


def check_payload(payload: Payload) -> list[Finding]:
    """Everything wrong with a knowledge payload; errors make it unpublishable.

    The quality rules compile the payload, so they run only on consistent content.
    """
    findings = _run(CONSISTENCY, payload)
    if any(f.level == "error" for f in findings):
        return findings
    return findings + _run(QUALITY, payload)
