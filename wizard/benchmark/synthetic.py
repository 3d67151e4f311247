"""Synthetic knowledge bases: real knowledge payloads with the seed's proportions.

A payload has the format of ``docs/knowledge-format.md`` and is compiled by
``Snapshot.from_payload`` like any other: each yes/no symptom linked to about 11% of the
causes, most causes expecting one option of each choice question, the seed's mix of
strengths, about one question in seven a choice between 3-7 symptoms.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from wizard import engine, knowledge

# The seed's proportions (wizard/seed/knowledge.json): evidence strengths and their mix.
# Measured on the seed: a yes/no symptom is linked to 11% of the causes; 80% of the causes
# link an option of a choice question.
BINARY_DENSITY = 0.11
CHOICE_COVER = 0.8
STRENGTH_MIX = {"often": 0.44, "sometimes": 0.40, "always": 0.10, "rarely": 0.06}
SIZES = [("seed size", 14, 34), ("200×150", 200, 150), ("1,000×500", 1000, 500), ("3,000×1,000", 3000, 1000)]


def _bilingual(text: str) -> dict[str, str]:
    return {"zh-hans": text, "en": text}


def synthetic_payload(n_causes: int, n_questions: int, *, seed: int = 0) -> dict[str, Any]:
    """A knowledge payload with the seed's proportions, reproducible from ``seed``."""
    rng = np.random.default_rng(seed)
    questions, symptoms = _questions(rng, n_questions)
    evidence = _evidence(rng, n_causes, questions, symptoms)
    return {
        "format": knowledge.FORMAT,
        "version": knowledge.VERSION,
        "categories": [{"slug": "general", "order": 0, "title": _bilingual("General")}],
        "providers": [],
        "symptoms": [{"slug": s, "title": _bilingual(s)} for s in symptoms],
        "solutions": [_solution(c) for c in range(n_causes)],
        "causes": [_cause(c, links, rng) for c, links in enumerate(evidence)],
        "questions": questions,
    }


def _questions(rng: np.random.Generator, n_questions: int) -> tuple[list[dict[str, Any]], list[str]]:
    """The questions, about one in seven a choice, and the symptoms they ask about."""
    symptoms: list[str] = []
    questions: list[dict[str, Any]] = []
    for i in range(n_questions):
        base = {
            "slug": f"q-{i}",
            "order": i,
            "effort": 1.0,
            "text": _bilingual(f"Question {i}"),
            "script": _bilingual(""),
            "help": _bilingual(""),
        }
        if rng.random() < 5 / 34:
            options = [f"s-{i}-{j}" for j in range(int(rng.integers(3, 8)))]
            symptoms += options
            base["kind"] = "choice"
            base["options"] = [
                {"slug": f"o-{j}", "symptom": s, "label": _bilingual(s), "provider": None}
                for j, s in enumerate(options)
            ]
        else:
            symptoms.append(f"s-{i}")
            base["kind"] = "binary"
            base["symptom"] = f"s-{i}"
        questions.append(base)
    return questions, symptoms


def _evidence(
    rng: np.random.Generator, n_causes: int, questions: list[dict[str, Any]], symptoms: list[str]
) -> list[dict[str, str]]:
    """Each cause's links, symptom → strength, at the seed's density whatever the size: a
    yes/no symptom is linked to about one cause in nine, and most causes expect one option
    of each choice question."""
    words, weights = list(STRENGTH_MIX), list(STRENGTH_MIX.values())
    evidence: list[dict[str, str]] = [{} for _ in range(n_causes)]
    for q in questions:
        if q["kind"] == "binary":
            for c in rng.choice(n_causes, size=max(1, round(BINARY_DENSITY * n_causes)), replace=False):
                evidence[int(c)][q["symptom"]] = str(rng.choice(words, p=weights))
        else:
            options = [o["symptom"] for o in q["options"]]
            for c in range(n_causes):
                if rng.random() < CHOICE_COVER:
                    evidence[c][options[int(rng.integers(len(options)))]] = str(rng.choice(words, p=weights))
    for links in evidence:
        while len(links) < 2:  # every cause reachable, as publishing requires
            links[symptoms[int(rng.integers(len(symptoms)))]] = str(rng.choice(words, p=weights))
    return evidence


def _cause(c: int, links: dict[str, str], rng: np.random.Generator) -> dict[str, Any]:
    return {
        "slug": f"c-{c}",
        "category": "general",
        "order": c,
        "prior": round(float(rng.uniform(0.8, 1.2)), 3),
        "title": _bilingual(f"Cause {c}"),
        "explanation": _bilingual("Synthetic cause."),
        "evidence": [{"symptom": s, "strength": w} for s, w in sorted(links.items())],
        "solutions": [f"fix-{c}"],
    }


def _solution(c: int) -> dict[str, Any]:
    return {
        "slug": f"fix-{c}",
        "order": c,
        "title": _bilingual(f"Fix {c}"),
        "steps": _bilingual("1. Do this\n2. Then this"),
        "audience": "merchant",
        "effort_minutes": 5,
        "is_escalation": False,
        "contexts": [],
    }


def answer_counts(model: engine.Model) -> np.ndarray:
    """How many answers each question has."""
    return model.counts


def skewed_payload(n_causes: int = 60, n_questions: int = 80, *, seed: int = 3) -> dict[str, Any]:
    """A harder knowledge base of the seed's density: a few common causes and a long tail
    (Zipf-like priors, 30:1 from the first to the last), near-twin causes (every tenth
    cause copies its neighbour's evidence but for one symptom), and correlated symptoms
    (pairs of questions that the same causes show)."""
    payload = synthetic_payload(n_causes, n_questions, seed=seed)
    rng = np.random.default_rng(seed + 1)
    causes = payload["causes"]
    for rank, cause in enumerate(causes):
        cause["prior"] = round(3.0 / (1 + rank) ** 0.83, 4)
    binary = [q["symptom"] for q in payload["questions"] if q["kind"] == "binary"]
    for twin in range(1, n_causes, 10):
        original = {e["symptom"]: e["strength"] for e in causes[twin - 1]["evidence"]}
        distinct = str(rng.choice([s for s in binary if s not in original]))
        causes[twin]["evidence"] = [
            {"symptom": s, "strength": w} for s, w in sorted({**original, distinct: "often"}.items())
        ]
    for first, second in zip(binary[0:20:2], binary[1:20:2], strict=True):
        for cause in causes:
            links = {e["symptom"]: e["strength"] for e in cause["evidence"]}
            if first in links:
                links[second] = links[first]
                cause["evidence"] = [{"symptom": s, "strength": w} for s, w in sorted(links.items())]
    return payload
