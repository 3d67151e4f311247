"""Retention: old diagnoses go, their anonymous counts stay; old login records go.

A diagnosis is purged once nothing has happened to it, or to its tickets, since the
cutoff, and never while one of its tickets is still open: that is work a person has
yet to do. Before deleting, each day's diagnoses are folded into :class:`ArchivedDay`
rows (per revision and channel) carrying exactly the counts the insights dashboard
shows, so its figures for old periods do not change when the personal data is gone.

django-axes keeps a row per sign-in, per failed sign-in and per lockout counter, each
with the client's address and browser; those go after their own, shorter period.

Both are idempotent: a second run with the same cutoffs finds nothing to remove.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.db import transaction
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from .insights import CONCLUDED, GIVEN_UP_AFTER
from .knowledge import UNSURE
from .models import Answer, ArchivedDay, CaseEvent, Diagnosis, Ticket, WebhookDelivery

Key = tuple  # (day, revision, channel): one ArchivedDay
Counts = dict[Key, dict[str, list[int]]]

# What a purge reports, by kind, in this order.
DIAGNOSIS_KINDS = {Diagnosis: "diagnoses", Ticket: "tickets", Answer: "answers", CaseEvent: "case events"}
# The webhook events sent about a case name it by its code (they outlive no case).
DELIVERIES = "webhook deliveries"
LOGIN_KINDS = {
    AccessAttempt: "login attempts (lockout counters)",
    AccessLog: "sign-ins",
    AccessFailureLog: "failed sign-ins",
}
# Diagnoses are deleted this many at a time, each batch in its own transaction: a first
# purge of a year of diagnoses neither holds one huge transaction nor starts over if stopped.
BATCH = 500


def expired(cutoff: datetime) -> QuerySet[Diagnosis]:
    """Diagnoses started and last changed before ``cutoff``, with no ticket changed since
    and none still open, and nothing done on them since (an agent opening the case by its
    code, notes: the case's events)."""
    return (
        Diagnosis.objects.filter(created__lt=cutoff, updated__lt=cutoff)
        .exclude(
            pk__in=Ticket.objects.filter(~Q(status=Ticket.Status.CLOSED) | Q(updated__gte=cutoff)).values(
                "diagnosis"
            )
        )
        .exclude(pk__in=CaseEvent.objects.filter(created__gte=cutoff).values("diagnosis"))
    )


def kept_open(cutoff: datetime) -> int:
    """How many diagnoses would have expired but for a ticket still open."""
    return (
        Diagnosis.objects.filter(created__lt=cutoff, updated__lt=cutoff)
        .filter(pk__in=Ticket.objects.exclude(status=Ticket.Status.CLOSED).values("diagnosis"))
        .count()
    )


def purge(cutoff: datetime, *, dry_run: bool = False) -> Counter:
    """Fold the expired diagnoses (see :func:`expired`) into anonymous daily counts, then
    delete them with everything personal attached. Returns how many rows of each kind
    (``DIAGNOSIS_KINDS``' names) went, or would go with ``dry_run``."""
    removed = Counter(dict.fromkeys([*DIAGNOSIS_KINDS.values(), DELIVERIES], 0))
    if dry_run:
        old = expired(cutoff)
        for model, kind in DIAGNOSIS_KINDS.items():
            rows = old if model is Diagnosis else model.objects.filter(diagnosis__in=old)
            removed[kind] = rows.count()
        removed[DELIVERIES] = _deliveries(old).count()
        return removed
    while ids := list(expired(cutoff).order_by("pk").values_list("pk", flat=True)[:BATCH]):
        removed.update(_purge_batch(cutoff, ids))
    return removed


@transaction.atomic
def _purge_batch(cutoff: datetime, ids: list[int]) -> Counter:
    # The rows locked, and the rule checked again on them: a ticket opened since the ids
    # were read keeps its diagnosis (PostgreSQL makes such a ticket wait for this batch).
    locked = list(expired(cutoff).filter(pk__in=ids).select_for_update().values_list("pk", flat=True))
    if not locked:
        return Counter()
    old = Diagnosis.objects.filter(pk__in=locked)
    days = _archived_days(old)
    questions, causes, steps = _question_counts(old), _cause_counts(old), _step_counts(old)
    for key, day in days.items():
        _add(day.questions, questions[key])
        _add(day.causes, causes[key])
        for slug, n in steps[key].items():
            day.steps[slug] = day.steps.get(slug, 0) + n
        day.save()
    deliveries, _kinds = _deliveries(old).delete()
    # Tickets, answers and events go with their diagnosis (cascade): no contact detail stays.
    _total, deleted = old.delete()
    removed = Counter({kind: deleted.get(model._meta.label, 0) for model, kind in DIAGNOSIS_KINDS.items()})
    removed[DELIVERIES] = deliveries
    return removed


def _deliveries(diagnoses: QuerySet) -> QuerySet:
    return WebhookDelivery.objects.filter(diagnosis_code__in=diagnoses.values("code"))


def purge_logins(cutoff: datetime, *, dry_run: bool = False) -> Counter:
    """Delete django-axes' records (client address, browser, username) from before
    ``cutoff``. Returns how many of each kind (``LOGIN_KINDS``' names) went, or would go."""
    removed = Counter()
    with transaction.atomic():
        for model, kind in LOGIN_KINDS.items():
            rows = model.objects.filter(attempt_time__lt=cutoff)
            # A lockout counter's expiry row goes with it (cascade); only the counter is reported.
            removed[kind] = rows.count() if dry_run else rows.delete()[1].get(model._meta.label, 0)
    return removed


def _key(row: dict, prefix: str = "") -> Key:
    return (row[f"{prefix}day"], row[f"{prefix}revision"], row[f"{prefix}channel"])


# The counts of a day's diagnoses that an ArchivedDay keeps.
ARCHIVED_COUNTS = ("started", "diagnosed", "escalated", "feedback", "fixed", "described", "described_answers")


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
        described=Count("id", filter=~Q(description="")),
        described_answers=Sum("described_answers"),
    ):
        day, revision, channel = key = _key(row)
        days[key], _ = ArchivedDay.objects.select_for_update().get_or_create(
            day=day, revision=revision, channel=channel
        )
        for name in ARCHIVED_COUNTS:
            setattr(days[key], name, getattr(days[key], name) + (row[name] or 0))
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
