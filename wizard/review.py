"""Reviewing knowledge: what support admins need to judge it before and after publishing.

Everything here works on knowledge payloads (see ``knowledge.py``), so the same code
reviews the draft content (``content.compile_payload()``) and any published revision:

- :func:`health_report`: the checks that block publishing, plus a simulated diagnosis
  for every cause, causes the questions barely tell apart, and unused content;
- :func:`differences`: what changed between two payloads, object by object;
- :func:`simulate_cause`: the questions a merchant with a given cause would be asked.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from . import engine
from .checks import Finding, check_payload
from .knowledge import KINDS, SINGULAR, STRENGTHS, Snapshot, get_snapshot, text
from .models import DEFAULT_LIKELIHOOD, Strength
from .position import rules

# Two causes are "twins" when answering every question is expected to give less than this
# many nats of evidence beyond what the confidence threshold and their priors demand.
TWIN_MARGIN = 2.0
# The simulated merchant is expected to see the cause first within this many questions.
SIMULATION_LIMIT = 8


@dataclass
class CauseRun:
    slug: str
    title: str
    questions: int
    rank: int
    probability: float
    transcript: list[tuple[str, str]] = field(default_factory=list)  # (question, answer)
    leader: str = ""  # the title of the cause ranked first at the end
    leader_slug: str = ""
    asked: list[str] = field(default_factory=list)  # the slugs of the questions asked

    @property
    def is_found(self) -> bool:
        return self.rank == 1


@dataclass
class HealthReport:
    findings: list[Finding]
    runs: list[CauseRun]

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "warning"]


def simulate_cause(
    snapshot: Snapshot, cause: str, language: str, *, limit: int = SIMULATION_LIMIT
) -> CauseRun:
    """Answer every question as a merchant with ``cause`` most likely would."""
    c = snapshot.cause_index[cause]
    model = snapshot.model
    answers: list[engine.Evidence] = []
    transcript = []
    while len(answers) < limit:
        step = engine.next_step(model, answers, **rules(snapshot))
        if step.question is None:
            break
        question = snapshot.questions[step.question]
        a = int(model.likelihood[step.question][:, c].argmax())
        answers.append((step.question, a))
        transcript.append((text(question["text"], language), text(question["answers"][a]["label"], language)))
    p = engine.posterior(model, answers)
    order = engine.ranking(p)
    return CauseRun(
        slug=cause,
        title=text(snapshot.causes[c]["title"], language),
        questions=len(answers),
        rank=order.index(c) + 1,
        probability=float(p[c]),
        transcript=transcript,
        leader=text(snapshot.causes[order[0]]["title"], language),
        leader_slug=snapshot.causes[order[0]]["slug"],
        asked=[snapshot.questions[q]["slug"] for q, _a in answers],
    )


def health_report(payload: dict[str, Any], language: str) -> HealthReport:
    findings = list(check_payload(payload))
    if any(f.level == "error" for f in findings):
        return HealthReport(findings, [])
    snapshot = Snapshot.from_payload(0, payload)
    runs = [simulate_cause(snapshot, c["slug"], language) for c in snapshot.causes]
    missed = [run for run in runs if not run.is_found]
    for i, run in enumerate(missed):
        # Measuring what a cause needs simulates it again a few times: for the first few
        # causes only, so that a knowledge base in a bad state still reports quickly.
        findings.append(_not_found(payload, run, language, measure=i < MEASURED_CAUSES))
    findings += _unreachable(snapshot, language)
    findings += _twins(snapshot, language)
    findings += _unused_questions(snapshot)
    findings += _without_phrases(snapshot)
    return HealthReport(findings, runs)


# How many of the first questions asked the health report tries linking a cause it does not find to.
MAX_SUGGESTED_SYMPTOMS = 5
# For how many causes the health report measures that.
MEASURED_CAUSES = 10


def _not_found(payload: dict[str, Any], run: CauseRun, language: str, *, measure: bool = True) -> Finding:
    """A cause the simulated merchant does not find, with what to add: links to the
    symptoms of the questions merchants are asked first (how many, measured by simulating
    again with them; see :func:`symptoms_needed`), or a question against the cause that
    wins instead."""
    linked = len(_entry(payload, run.slug)["evidence"])
    found = _(
        "A merchant with this cause sees it ranked %(rank)s after %(n)s questions, behind “%(leader)s”."
    ) % {"rank": run.rank, "n": run.questions, "leader": run.leader}
    linked_text = ngettext(
        "It has %(count)s symptom linked.", "It has %(count)s symptoms linked.", linked
    ) % {"count": linked}
    needed = symptoms_needed(payload, run, language) if measure else []
    questions = [_link_text(payload, link, language) for link in needed]
    if questions:
        advice = ngettext(
            "Add evidence: link it to at least %(n)s symptom merchants are asked about first, with "
            "a strength unlike “%(leader)s”'s (%(questions)s), or add a question that tells it "
            "from “%(leader)s”.",
            "Add evidence: link it to at least %(n)s symptoms merchants are asked about first, with "
            "strengths unlike “%(leader)s”'s (%(questions)s), or add a question that tells it "
            "from “%(leader)s”.",
            len(questions),
        ) % {
            "n": len(questions),
            "leader": run.leader,
            "questions": "; ".join(questions),
        }
    else:
        advice = _(
            "Add evidence: more symptoms it often shows and other causes rarely do, on questions "
            "merchants are asked, or a question that tells it from “%(leader)s”, or make it more "
            "common (its prior)."
        ) % {"leader": run.leader}
    return Finding("warning", "cause", run.slug, f"{found} {linked_text} {advice}")


def symptoms_needed(payload: dict[str, Any], run: CauseRun, language: str) -> list[tuple[str, str, str]]:
    """The fewest questions merchants are asked anyway (those of the simulated run, in
    order) whose symptoms, linked to the cause with a strength unlike the leading cause's,
    let a simulated merchant find it: (question slug, symptom slug, strength word) for
    each link to add, or [] when a few are not enough.

    A question about a symptom of this cause alone is rarely asked (it tells the engine
    little about the others), so evidence on the questions asked first is what helps."""
    leader = {e["symptom"]: STRENGTHS[e["strength"]] for e in _entry(payload, run.leader_slug)["evidence"]}
    questions = {q["slug"]: q for q in payload["questions"]}
    links: list[tuple[str, str]] = []  # (symptom, strength word)
    for slug in run.asked[:MAX_SUGGESTED_SYMPTOMS]:
        q = questions[slug]
        if q["kind"] == "binary":
            unlike = (
                "rarely"
                if leader.get(q["symptom"], DEFAULT_LIKELIHOOD) >= STRENGTHS["sometimes"]
                else "often"
            )
            links.append((q["symptom"], unlike))
        else:
            symptoms = [o["symptom"] for o in q["options"]]
            links.append((min(symptoms, key=lambda s: leader.get(s, DEFAULT_LIKELIHOOD)), "often"))
        trial = copy.deepcopy(payload)
        entry = _entry(trial, run.slug)
        chosen = dict(links)
        entry["evidence"] = [e for e in entry["evidence"] if e["symptom"] not in chosen] + [
            {"symptom": symptom, "strength": word} for symptom, word in chosen.items()
        ]
        if simulate_cause(Snapshot.from_payload(0, trial), run.slug, language).is_found:
            return [(q, *link) for q, link in zip(run.asked, links, strict=False)]
    return []


def _link_text(payload: dict[str, Any], link: tuple[str, str, str], language: str) -> str:
    """One link to add, as the admin makes it: “question” → “symptom”: strength."""
    question, symptom, word = link
    questions = {q["slug"]: q for q in payload["questions"]}
    symptoms = {s["slug"]: s for s in payload["symptoms"]}
    question_text = text(questions[question]["text"], language)
    return (
        f"“{question_text}” → “{text(symptoms[symptom]['title'], language)}”: {Strength[word.upper()].label}"
    )


def _entry(payload: dict[str, Any], cause: str) -> dict[str, Any]:
    return next(c for c in payload["causes"] if c["slug"] == cause)


def evidence_between(model: engine.Model) -> np.ndarray:
    """``K[i, j]``: the evidence (in nats) that answering every question gives for cause
    ``i`` over cause ``j``, expected when ``i`` is the truth: the sum over questions of the
    Kullback-Leibler divergence between their answers, as the engine believes them."""
    believed = model._believed.astype(float)
    log_believed = np.log(believed)
    return (believed * log_believed).sum(axis=0)[:, None] - believed.T @ log_believed


def _twins(snapshot: Snapshot, language: str) -> list[Finding]:
    """Causes that the questions cannot tell from another with confidence, even when a
    merchant answers them all: the expected evidence barely covers what the threshold
    and the two causes' priors demand."""
    model = snapshot.model
    evidence = evidence_between(model)
    confidence = settings.WIZARD_CONFIDENCE
    needed = np.log(confidence / (1 - confidence)) + np.log(model.prior[None, :] / model.prior[:, None])
    short = evidence - needed
    np.fill_diagonal(short, np.inf)
    findings = []
    for i in range(model.n_causes):
        j = int(short[i].argmin())
        if short[i, j] < TWIN_MARGIN:
            findings.append(_twin_finding(snapshot, i, j, language))
    return findings


def _twin_finding(snapshot: Snapshot, i: int, j: int, language: str) -> Finding:
    blocks = snapshot.model.likelihood.blocks
    best = int(np.argmax([0.5 * np.abs(b[:, i] - b[:, j]).sum() for b in blocks]))
    return Finding(
        "warning",
        "cause",
        snapshot.causes[i]["slug"],
        _(
            "Hard to tell apart from “%(other)s”, even with every question answered: the question "
            "that separates them best, “%(question)s”, is not enough. Add a question that tells "
            "“%(this)s” from “%(other)s” (a symptom one of them often shows and the other rarely)."
        )
        % {
            "this": text(snapshot.causes[i]["title"], language),
            "other": text(snapshot.causes[j]["title"], language),
            "question": text(snapshot.questions[best]["text"], language),
        },
    )


def _unreachable(snapshot: Snapshot, language: str) -> list[Finding]:
    """Causes that never reach the confidence threshold, even when a merchant gives every
    answer the cause most likely brings."""
    model = snapshot.model
    findings = []
    for c in range(model.n_causes):
        answers = [(q, int(model.likelihood[q][:, c].argmax())) for q in range(model.n_questions)]
        p = engine.posterior(model, answers)
        if p[c] < settings.WIZARD_CONFIDENCE:
            findings.append(
                Finding(
                    "warning",
                    "cause",
                    snapshot.causes[c]["slug"],
                    _(
                        "Can never be diagnosed with confidence: with every answer pointing to it, it "
                        "reaches %(percent)s%%. Link a symptom it often shows and other causes rarely do, "
                        "or make it more common (its prior)."
                    )
                    % {"percent": round(float(p[c]) * 100)},
                )
            )
    return findings


def _unused_questions(snapshot: Snapshot) -> list[Finding]:
    """Questions whose answers every cause gives alike: asking them never helps."""
    findings = []
    for q, question in enumerate(snapshot.questions):
        block = snapshot.model.likelihood[q]
        if np.allclose(block, block[:, :1]):
            findings.append(
                Finding(
                    "warning",
                    "question",
                    question["slug"],
                    _("No cause is linked to this question's symptoms."),
                )
            )
    return findings


def _without_phrases(snapshot: Snapshot) -> list[Finding]:
    """Symptoms a question asks about that no description can be understood as."""
    asked = {a["symptom"] for q in snapshot.questions for a in q["answers"] if a.get("symptom")}
    return [
        Finding(
            "warning",
            "symptom",
            slug,
            _("No phrases: a description that mentions this symptom is not understood."),
        )
        for slug, symptom in snapshot.symptoms.items()
        if slug in asked and not any(symptom["phrases"].values())
    ]


# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    kind: str  # singular: "cause", "question", ...
    slug: str
    change: str  # "added", "removed" or "changed"
    fields: tuple[str, ...] = ()


def differences(old: dict[str, Any], new: dict[str, Any]) -> list[Difference]:
    """What changed from ``old`` to ``new``, object by object (matched on slugs)."""
    found = []
    for kind in KINDS:
        before = {e["slug"]: e for e in old.get(kind, [])}
        after = {e["slug"]: e for e in new.get(kind, [])}
        for slug in after.keys() - before.keys():
            found.append(Difference(SINGULAR[kind], slug, "added"))
        for slug in before.keys() - after.keys():
            found.append(Difference(SINGULAR[kind], slug, "removed"))
        for slug in before.keys() & after.keys():
            changed = tuple(
                sorted(
                    k
                    for k in before[slug].keys() | after[slug].keys()
                    if before[slug].get(k) != after[slug].get(k)
                )
            )
            if changed:
                found.append(Difference(SINGULAR[kind], slug, "changed", changed))
    order = {SINGULAR[k]: i for i, k in enumerate(KINDS)}
    return sorted(found, key=lambda d: (order[d.kind], d.slug))


# ---------------------------------------------------------------------------------------


def typical_questions(snapshot: Snapshot, *, merchants: int = 200, share: float = 0.8, seed: int = 0) -> int:
    """How many questions a merchant is usually asked: the number that ``share`` of
    simulated merchants need at most. Each has a cause drawn from the priors and answers
    by sampling the stated strengths, with the wizard's own rules: the landing page
    promises what the knowledge delivers."""
    rng = np.random.default_rng(seed)
    model = snapshot.model
    counts = []
    for truth in rng.choice(model.n_causes, size=merchants, p=model.prior):
        answers: list[engine.Evidence] = []
        while (step := engine.next_step(model, answers, **rules(snapshot))).question is not None:
            column = np.asarray(model.likelihood[step.question][:, truth], dtype=float)
            answers.append((step.question, int(rng.choice(len(column), p=column / column.sum()))))
        counts.append(len(answers))
    return int(np.ceil(np.percentile(counts, share * 100)))


def promised_questions(number: int) -> int:
    """:func:`typical_questions` for a published revision, measured once (revisions never
    change) and shared by every server through the cache."""
    key = f"typical-questions:{number}"
    value = cache.get(key)
    if value is None:
        value = typical_questions(get_snapshot(number))
        cache.set(key, value, timeout=None)
    return value
