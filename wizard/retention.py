"""Retention: old diagnoses go, their anonymous counts stay.

Before deleting, each day's diagnoses are folded into :class:`ArchivedDay` rows (per
revision and channel) carrying exactly the counts the insights dashboard shows, so its
figures for old periods do not change when the personal data is gone.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from .insights import CONCLUDED, GIVEN_UP_AFTER
from .knowledge import UNSURE
from .models import Answer, ArchivedDay, Diagnosis

Key = tuple  # (day, revision, channel): one ArchivedDay
Counts = dict[Key, dict[str, list[int]]]


@transaction.atomic
def purge(cutoff: datetime, *, dry_run: bool = False) -> int:
    """Fold the diagnoses started before ``cutoff`` into anonymous daily counts, then
    delete them with everything personal attached. Returns how many there were."""
    old = Diagnosis.objects.filter(created__lt=cutoff)
    count = old.count()
    if dry_run or not count:
        return count
    days = _archived_days(old)
    questions, causes, steps = _question_counts(old), _cause_counts(old), _step_counts(old)
    for key, day in days.items():
        _add(day.questions, questions[key])
        _add(day.causes, causes[key])
        for slug, n in steps[key].items():
            day.steps[slug] = day.steps.get(slug, 0) + n
        day.save()
    # Tickets, answers and events go with their diagnosis (cascade): no contact detail stays.
    old.delete()
    return count


def _key(row: dict, prefix: str = "") -> Key:
    return (row[f"{prefix}day"], row[f"{prefix}revision"], row[f"{prefix}channel"])


def _archived_days(old) -> dict[Key, ArchivedDay]:
    """The ArchivedDay of every (day, revision, channel) among ``old``, locked, with the
    diagnoses' counts added."""
    days: dict[Key, ArchivedDay] = {}
    for row in old.values("day", "revision", "channel").annotate(
        started=Count("id"),
        diagnosed=Count("id", filter=Q(status__in=CONCLUDED)),
        escalated=Count("id", filter=Q(status=Diagnosis.Status.ESCALATED)),
        feedback=Count("id", filter=Q(is_fixed__isnull=False)),
        fixed=Count("id", filter=Q(is_fixed=True)),
    ):
        day, revision, channel = key = _key(row)
        days[key], _ = ArchivedDay.objects.select_for_update().get_or_create(
            day=day, revision=revision, channel=channel
        )
        for name in ("started", "diagnosed", "escalated", "feedback", "fixed"):
            setattr(days[key], name, getattr(days[key], name) + row[name])
    for row in old.filter(status__in=CONCLUDED).values("day", "revision", "channel", "question_count"):
        days[_key(row)].questions_total += row["question_count"]
    return days


def _question_counts(old) -> Counts:
    """Per question: [answered, unsure, dropped there]."""
    questions: Counts = defaultdict(lambda: defaultdict(lambda: [0, 0, 0]))
    answers = Answer.objects.filter(diagnosis__in=old)
    for row in answers.values(
        "diagnosis__day", "diagnosis__revision", "diagnosis__channel", "question"
    ).annotate(n=Count("id"), unsure=Count("id", filter=Q(option=UNSURE))):
        stats = questions[_key(row, "diagnosis__")][row["question"]]
        stats[0] += row["n"]
        stats[1] += row["unsure"]
    given_up = old.filter(
        Q(status=Diagnosis.Status.ABANDONED)
        | Q(status=Diagnosis.Status.IN_PROGRESS, updated__lt=timezone.now() - GIVEN_UP_AFTER)
    ).exclude(current_question="")
    for row in given_up.values("day", "revision", "channel", "current_question").annotate(n=Count("id")):
        questions[_key(row)][row["current_question"]][2] += row["n"]
    return questions


def _cause_counts(old) -> Counts:
    """Per leading cause: [diagnosed, feedback, fixed]."""
    causes: Counts = defaultdict(lambda: defaultdict(lambda: [0, 0, 0]))
    rows = (
        old.filter(status__in=CONCLUDED)
        .exclude(top_cause="")
        .values("day", "revision", "channel", "top_cause")
        .annotate(
            n=Count("id"),
            feedback=Count("id", filter=Q(is_fixed__isnull=False)),
            fixed=Count("id", filter=Q(is_fixed=True)),
        )
    )
    for row in rows:
        stats = causes[_key(row)][row["top_cause"]]
        for i, name in enumerate(("n", "feedback", "fixed")):
            stats[i] += row[name]
    return causes


def _step_counts(old) -> dict[Key, dict[str, int]]:
    """Per solution: how many diagnoses it fixed."""
    steps: dict[Key, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    rows = old.filter(is_fixed=True).exclude(fixed_by="").values("day", "revision", "channel", "fixed_by")
    for row in rows.annotate(n=Count("id")):
        steps[_key(row)][row["fixed_by"]] += row["n"]
    return steps


def _add(target: dict[str, list[int]], source: dict[str, list[int]]) -> None:
    for slug, values in source.items():
        current = target.get(slug, [0, 0, 0])
        target[slug] = [a + b for a, b in zip(current, values, strict=True)]
