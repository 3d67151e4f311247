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


@transaction.atomic
def purge(cutoff: datetime, *, dry_run: bool = False) -> int:
    old = Diagnosis.objects.filter(created__lt=cutoff)
    count = old.count()
    if dry_run or not count:
        return count
    days: dict[tuple, ArchivedDay] = {}

    def day_of(key: tuple) -> ArchivedDay:
        if key not in days:
            day, revision, channel = key
            days[key], _ = ArchivedDay.objects.select_for_update().get_or_create(
                day=day, revision=revision, channel=channel
            )
        return days[key]

    keyed = old
    for row in keyed.values("day", "revision", "channel").annotate(
        started=Count("id"),
        diagnosed=Count("id", filter=Q(status__in=CONCLUDED)),
        escalated=Count("id", filter=Q(status=Diagnosis.Status.ESCALATED)),
        feedback=Count("id", filter=Q(is_fixed__isnull=False)),
        fixed=Count("id", filter=Q(is_fixed=True)),
    ):
        day = day_of((row["day"], row["revision"], row["channel"]))
        for name in ("started", "diagnosed", "escalated", "feedback", "fixed"):
            setattr(day, name, getattr(day, name) + row[name])
    for diagnosis in keyed.filter(status__in=CONCLUDED).values(
        "day", "revision", "channel", "question_count"
    ):
        day_of((diagnosis["day"], diagnosis["revision"], diagnosis["channel"])).questions_total += diagnosis[
            "question_count"
        ]

    questions: dict[tuple, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0, 0]))
    answers = Answer.objects.filter(diagnosis__in=old)
    for row in answers.values(
        "diagnosis__day", "diagnosis__revision", "diagnosis__channel", "question"
    ).annotate(n=Count("id"), unsure=Count("id", filter=Q(option=UNSURE))):
        stats = questions[(row["diagnosis__day"], row["diagnosis__revision"], row["diagnosis__channel"])][
            row["question"]
        ]
        stats[0] += row["n"]
        stats[1] += row["unsure"]
    given_up = keyed.filter(
        Q(status=Diagnosis.Status.ABANDONED)
        | Q(status=Diagnosis.Status.IN_PROGRESS, updated__lt=timezone.now() - GIVEN_UP_AFTER)
    ).exclude(current_question="")
    for row in given_up.values("day", "revision", "channel", "current_question").annotate(n=Count("id")):
        questions[(row["day"], row["revision"], row["channel"])][row["current_question"]][2] += row["n"]

    causes: dict[tuple, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0, 0]))
    for row in (
        keyed.filter(status__in=CONCLUDED)
        .exclude(top_cause="")
        .values("day", "revision", "channel", "top_cause")
        .annotate(
            n=Count("id"),
            feedback=Count("id", filter=Q(is_fixed__isnull=False)),
            fixed=Count("id", filter=Q(is_fixed=True)),
        )
    ):
        stats = causes[(row["day"], row["revision"], row["channel"])][row["top_cause"]]
        for i, name in enumerate(("n", "feedback", "fixed")):
            stats[i] += row[name]

    steps: dict[tuple, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in (
        keyed.filter(is_fixed=True)
        .exclude(fixed_by="")
        .values("day", "revision", "channel", "fixed_by")
        .annotate(n=Count("id"))
    ):
        steps[(row["day"], row["revision"], row["channel"])][row["fixed_by"]] += row["n"]

    for key, day in days.items():
        for target, source in ((day.questions, questions[key]), (day.causes, causes[key])):
            for slug, values in source.items():
                current = target.get(slug, [0, 0, 0])
                target[slug] = [a + b for a, b in zip(current, values, strict=True)]
        for slug, n in steps[key].items():
            day.steps[slug] = day.steps.get(slug, 0) + n
        day.save()

    # Tickets, answers and events go with their diagnosis (cascade): no contact detail stays.
    old.delete()
    return count
