"""What merchants hit: aggregate figures over diagnoses, for the insights dashboard.

Every figure is a handful of indexed aggregate queries over the diagnosis rows (which
carry their current question, leading cause and question count), plus the anonymous
:class:`~wizard.models.ArchivedDay` counts kept when old diagnoses are purged, so the
dashboard stays fast on hundreds of thousands of diagnoses and keeps its history.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db.models import Count, Q, Sum
from django.utils import timezone

from .knowledge import UNSURE, get_snapshot, latest_revision_number, text
from .models import Answer, ArchivedDay, Diagnosis

CONCLUDED = (Diagnosis.Status.DIAGNOSED, Diagnosis.Status.RESOLVED, Diagnosis.Status.ESCALATED)
# A diagnosis still in progress with no activity for this long counts as given up.
GIVEN_UP_AFTER = timedelta(minutes=30)


def rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass
class Figures:
    start: date
    end: date
    revision: int | None
    totals: dict[str, Any] = field(default_factory=dict)
    days: list[dict[str, Any]] = field(default_factory=list)
    revisions: list[dict[str, Any]] = field(default_factory=list)
    channels: list[dict[str, Any]] = field(default_factory=list)
    questions: list[dict[str, Any]] = field(default_factory=list)
    causes: list[dict[str, Any]] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)


def _counts():
    return {
        "started": Count("id"),
        "concluded": Count("id", filter=Q(status__in=CONCLUDED)),
        "escalated": Count("id", filter=Q(status=Diagnosis.Status.ESCALATED)),
        "feedback": Count("id", filter=Q(is_fixed__isnull=False)),
        "fixed": Count("id", filter=Q(is_fixed=True)),
        "questions_total": Sum("question_count", filter=Q(status__in=CONCLUDED)),
        "described": Count("id", filter=~Q(description="")),
        "described_answers": Sum("described_answers"),
    }


# A figure of the live diagnoses (``_counts``) → its name on an archived day.
ARCHIVED = {
    "started": "started",
    "concluded": "diagnosed",
    "escalated": "escalated",
    "feedback": "feedback",
    "fixed": "fixed",
    "questions_total": "questions_total",
    "described": "described",
    "described_answers": "described_answers",
}


def _add_archived(row: dict[str, Any], day: ArchivedDay) -> None:
    for name, archived in ARCHIVED.items():
        row[name] = (row.get(name) or 0) + getattr(day, archived)


def _finish(row: dict[str, Any]) -> dict[str, Any]:
    row["questions_total"] = row.get("questions_total") or 0
    row["described_answers"] = row.get("described_answers") or 0
    row["completion_rate"] = rate(row["concluded"], row["started"])
    row["escalation_rate"] = rate(row["escalated"], row["started"])
    row["resolution_rate"] = rate(row["fixed"], row["feedback"])
    row["average_questions"] = (
        round(row["questions_total"] / row["concluded"], 2) if row["concluded"] else None
    )
    return row


def figures(start: date, end: date, *, revision: int | None = None, language: str = "zh-hans") -> Figures:
    diagnoses = Diagnosis.objects.filter(day__gte=start, day__lte=end)
    archived = ArchivedDay.objects.filter(day__gte=start, day__lte=end)
    if revision is not None:
        diagnoses = diagnoses.filter(revision_id=revision)
        archived = archived.filter(revision=revision)
    archived = list(archived)
    result = Figures(start, end, revision)

    totals = diagnoses.aggregate(**_counts())
    for day in archived:
        _add_archived(totals, day)
    result.totals = _finish(totals)

    by_day: dict[date, dict[str, Any]] = {}
    for row in diagnoses.values("day").annotate(**_counts()).order_by("day"):
        by_day[row["day"]] = row
    _merge_archived(by_day, archived, key=lambda d: d.day, name="day")
    result.days = [_finish(by_day[d]) for d in sorted(by_day)]

    by_revision: dict[int, dict[str, Any]] = {}
    for row in diagnoses.values("revision").annotate(**_counts()).order_by("revision"):
        by_revision[row["revision"]] = row
    _merge_archived(by_revision, archived, key=lambda d: d.revision, name="revision")
    result.revisions = [_finish(by_revision[r]) for r in sorted(by_revision)]

    by_channel: dict[str, dict[str, Any]] = {}
    for row in diagnoses.values("channel").annotate(**_counts()).order_by("channel"):
        by_channel[row["channel"]] = row
    _merge_archived(by_channel, archived, key=lambda d: d.channel, name="channel")
    names = dict(Diagnosis.Channel.choices)
    result.channels = [
        {**_finish(by_channel[c]), "name": names.get(c, c)} for c in names if c in by_channel
    ] + [{**_finish(by_channel[c]), "name": c} for c in sorted(by_channel) if c not in names]

    snapshot = _snapshot(revision)
    result.questions = _questions(diagnoses, archived, snapshot, language)
    result.causes = _causes(diagnoses, archived, snapshot, language)
    result.steps = _steps(diagnoses, archived, snapshot, language)
    return result


def _merge_archived(rows: dict, archived: list[ArchivedDay], *, key, name: str) -> None:
    for day in archived:
        _add_archived(rows.setdefault(key(day), {name: key(day)}), day)


def _snapshot(revision: int | None):
    number = revision or latest_revision_number()
    return get_snapshot(number) if number else None


def _title(snapshot, kind: str, slug: str, language: str) -> str:
    if snapshot is None:
        return slug
    if kind == "question":
        index = snapshot.question_index.get(slug)
        return text(snapshot.questions[index]["text"], language) if index is not None else slug
    if kind == "cause":
        index = snapshot.cause_index.get(slug)
        return text(snapshot.causes[index]["title"], language) if index is not None else slug
    index = snapshot.solution_index.get(slug)
    return text(snapshot.solutions[index]["title"], language) if index is not None else slug


def _questions(diagnoses, archived, snapshot, language: str) -> list[dict[str, Any]]:
    """Per question: how often answered, "not sure", and where merchants gave up."""
    stats: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # answered, unsure, dropped
    answers = Answer.objects.filter(diagnosis__in=diagnoses).values("question")
    for row in answers.annotate(answered=Count("id"), unsure=Count("id", filter=Q(option=UNSURE))):
        stats[row["question"]][0] += row["answered"]
        stats[row["question"]][1] += row["unsure"]
    given_up = diagnoses.filter(
        Q(status=Diagnosis.Status.ABANDONED)
        | Q(status=Diagnosis.Status.IN_PROGRESS, updated__lt=timezone.now() - GIVEN_UP_AFTER)
    ).exclude(current_question="")
    for row in given_up.values("current_question").annotate(n=Count("id")):
        stats[row["current_question"]][2] += row["n"]
    for day in archived:
        for slug, (answered, unsure, dropped) in day.questions.items():
            stats[slug][0] += answered
            stats[slug][1] += unsure
            stats[slug][2] += dropped
    rows = []
    for slug, (answered, unsure, dropped) in stats.items():
        shown = answered + dropped
        rows.append(
            {
                "slug": slug,
                "title": _title(snapshot, "question", slug, language),
                "shown": shown,
                "answered": answered,
                "unsure": unsure,
                "dropped": dropped,
                "unsure_rate": rate(unsure, answered),
                "drop_rate": rate(dropped, shown),
            }
        )
    return sorted(rows, key=lambda r: (-r["shown"], r["slug"]))


def _causes(diagnoses, archived, snapshot, language: str) -> list[dict[str, Any]]:
    stats: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # diagnosed, feedback, fixed
    concluded = diagnoses.filter(status__in=CONCLUDED).exclude(top_cause="")
    for row in concluded.values("top_cause").annotate(
        n=Count("id"),
        feedback=Count("id", filter=Q(is_fixed__isnull=False)),
        fixed=Count("id", filter=Q(is_fixed=True)),
    ):
        stats[row["top_cause"]][0] += row["n"]
        stats[row["top_cause"]][1] += row["feedback"]
        stats[row["top_cause"]][2] += row["fixed"]
    for day in archived:
        for slug, counts in day.causes.items():
            for i, value in enumerate(counts):
                stats[slug][i] += value
    rows = [
        {
            "slug": slug,
            "title": _title(snapshot, "cause", slug, language),
            "diagnosed": diagnosed,
            "feedback": feedback,
            "fixed": fixed,
            "resolution_rate": rate(fixed, feedback),
        }
        for slug, (diagnosed, feedback, fixed) in stats.items()
    ]
    return sorted(rows, key=lambda r: (-r["diagnosed"], r["slug"]))


def _steps(diagnoses, archived, snapshot, language: str) -> list[dict[str, Any]]:
    fixes: dict[str, int] = defaultdict(int)
    for row in (
        diagnoses.filter(is_fixed=True).exclude(fixed_by="").values("fixed_by").annotate(n=Count("id"))
    ):
        fixes[row["fixed_by"]] += row["n"]
    for day in archived:
        for slug, n in day.steps.items():
            fixes[slug] += n
    total = sum(fixes.values())
    rows = [
        {
            "slug": slug,
            "title": _title(snapshot, "solution", slug, language),
            "fixed": n,
            "share": rate(n, total),
        }
        for slug, n in fixes.items()
    ]
    return sorted(rows, key=lambda r: (-r["fixed"], r["slug"]))


def to_csv(result: Figures) -> str:
    """All the figures as one CSV: section, key, name, then the metrics of that section."""
    out = io.StringIO()
    writer = csv.writer(out)
    sections = [
        ("totals", [{"key": "all", **result.totals}]),
        ("day", [{"key": r["day"].isoformat(), **r} for r in result.days]),
        ("revision", [{"key": r["revision"], **r} for r in result.revisions]),
        ("channel", [{"key": r["channel"], **r} for r in result.channels]),
        ("question", [{"key": r["slug"], **r} for r in result.questions]),
        ("cause", [{"key": r["slug"], **r} for r in result.causes]),
        ("step", [{"key": r["slug"], **r} for r in result.steps]),
    ]
    for name, rows in sections:
        if not rows:
            continue
        columns = [c for c in rows[0] if c not in ("key", "day", "revision", "channel", "slug", "name")]
        writer.writerow(["section", "key", *columns])
        for row in rows:
            writer.writerow([name, row["key"], *(row.get(c) for c in columns)])
        writer.writerow([])
    return out.getvalue()
