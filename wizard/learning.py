"""Learning from outcomes: suggested priors and evidence strengths, never applied by itself.

A confirmed case is a diagnosis whose merchant (or agent) said a step fixed it. Its
cause is taken to be the most probable cause, in the diagnosis's final ranking, that
the fixing step addresses (on the revision the diagnosis ran on).

Suggestions are smoothed towards the current values: the current priors count as
``PRIOR_CASES`` cases and each current strength as ``EVIDENCE_CASES`` observations, so
a handful of cases moves little and a steady pattern moves a lot. An admin picks which
ones to apply; they become drafts, published like any other edit.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db import transaction

from . import flow
from .knowledge import STRENGTHS, get_snapshot, strength_word
from .models import DEFAULT_LIKELIHOOD, Cause, Diagnosis, Evidence, Symptom
from .position import Reply

PRIOR_CASES = 20
EVIDENCE_CASES = 10


@dataclass(frozen=True)
class PriorSuggestion:
    slug: str
    title: str
    current: float  # the admin's weight
    current_share: float
    cases: int
    suggested_share: float
    suggested: float  # a weight on the same scale as the current ones

    @property
    def change(self) -> float:
        return self.suggested_share - self.current_share


@dataclass(frozen=True)
class EvidenceSuggestion:
    cause: str
    cause_title: str
    symptom: str
    symptom_title: str
    current: str  # a strength word, or "" when not linked (the default likelihood)
    observed: int  # cases where the symptom was present
    cases: int  # cases where it was asked about
    suggested: str

    @property
    def key(self) -> str:
        return f"{self.cause}|{self.symptom}"


def confirmed_cases():
    """(cause slug, diagnosis, answers) for every diagnosis a step confirmed."""
    diagnoses = Diagnosis.objects.filter(is_fixed=True).exclude(fixed_by="").exclude(ranking=[])
    for diagnosis in diagnoses.prefetch_related("answers").iterator(chunk_size=500):
        snapshot = get_snapshot(diagnosis.revision_id)
        s = snapshot.solution_index.get(diagnosis.fixed_by)
        if s is None:
            continue
        for slug, _probability in diagnosis.ranking:
            c = snapshot.cause_index.get(slug)
            if c is not None and snapshot.model.fixes[s, c] > 0:
                answers = [Reply(a.question, a.option) for a in diagnosis.answers.all()]
                yield slug, snapshot, answers
                break


def suggestions(language: str) -> tuple[list[PriorSuggestion], list[EvidenceSuggestion]]:
    counts: dict[str, int] = defaultdict(int)
    seen: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])  # present, asked
    for cause, snapshot, answers in confirmed_cases():
        counts[cause] += 1
        present, absent = flow.known_symptoms(snapshot, answers)
        for symptom in present:
            seen[(cause, symptom)][0] += 1
            seen[(cause, symptom)][1] += 1
        for symptom in absent:
            seen[(cause, symptom)][1] += 1

    causes = list(Cause.objects.published())
    total_prior = sum(c.prior for c in causes) or 1.0
    total_cases = sum(counts[c.slug] for c in causes)
    priors = []
    for cause in causes:
        share = cause.prior / total_prior
        suggested_share = (counts[cause.slug] + PRIOR_CASES * share) / (total_cases + PRIOR_CASES)
        priors.append(
            PriorSuggestion(
                slug=cause.slug,
                title=str(cause),
                current=cause.prior,
                current_share=share,
                cases=counts[cause.slug],
                suggested_share=suggested_share,
                suggested=round(suggested_share * total_prior, 2),
            )
        )

    titles = {c.slug: str(c) for c in causes}
    symptoms = {s.slug: str(s) for s in Symptom.objects.all()}
    current = {
        (e.cause.slug, e.symptom.slug): e.likelihood
        for e in Evidence.objects.select_related("cause", "symptom")
    }
    evidence = []
    for (cause, symptom), (present, asked) in sorted(seen.items()):
        if cause not in titles or symptom not in symptoms:
            continue
        now = current.get((cause, symptom))
        value = (present + EVIDENCE_CASES * (now if now is not None else DEFAULT_LIKELIHOOD)) / (
            asked + EVIDENCE_CASES
        )
        word = strength_word(value)
        now_word = strength_word(now) if now is not None else ""
        # Unlinked symptoms stay unlinked unless the cases say clearly more than "rarely".
        if word == now_word or (now is None and STRENGTHS[word] <= STRENGTHS["rarely"]):
            continue
        evidence.append(
            EvidenceSuggestion(
                cause, titles[cause], symptom, symptoms[symptom], now_word, present, asked, word
            )
        )
    return priors, sorted(evidence, key=lambda e: (-e.cases, e.key))


@transaction.atomic
def apply(priors: dict[str, float], evidence: dict[tuple[str, str], str]) -> int:
    """Write the chosen suggestions as drafts; returns how many changed."""
    changed = 0
    for cause in Cause.objects.filter(slug__in=priors):
        cause.prior = priors[cause.slug]
        cause.save()  # through save(), so the history records it
        changed += 1
    for (cause_slug, symptom_slug), word in evidence.items():
        cause = Cause.objects.get(slug=cause_slug)
        symptom = Symptom.objects.get(slug=symptom_slug)
        row, created = Evidence.objects.get_or_create(
            cause=cause, symptom=symptom, defaults={"likelihood": STRENGTHS[word]}
        )
        if not created:
            row.likelihood = STRENGTHS[word]
            row.save()
        changed += 1
    return changed
