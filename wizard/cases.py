"""Bookkeeping of a diagnosis as it moves, shared by the merchant and agent views.

After every change (an answer, "show results now", feedback) the diagnosis row gets the
figures insights aggregate: the question being asked, the leading cause, how many
questions were answered, and the final ranking once the wizard stops.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

from . import flow
from .forms import AnswerForm
from .knowledge import UNSURE, Snapshot, get_snapshot, text
from .models import CaseEvent, Diagnosis


def answers_of(diagnosis: Diagnosis) -> list[flow.Given]:
    return [flow.Given(*given) for given in diagnosis.given()]


def evaluate(diagnosis: Diagnosis, snapshot: Snapshot, answers: list[flow.Given]) -> flow.Position:
    return flow.evaluate(snapshot, answers, tried=diagnosis.tried, extended=diagnosis.wants_more)


@dataclass
class Submission:
    """What became of an answer: "recorded", "unchanged" (a double submit), "conflict"
    (someone answered first), "not-current" (not the question asked at that step),
    "bad-option" (not one of its answers) or "finished" (no question at that step)."""

    outcome: str
    answers: list[flow.Given]
    is_finished: bool = False

    @property
    def is_accepted(self) -> bool:
        return self.outcome in ("recorded", "unchanged")


def submit_answer(
    diagnosis: Diagnosis, answers: list[flow.Given], number: int, data, *, by=None
) -> Submission:
    """Check an answer to step ``number`` against the question asked there, and store it."""
    snapshot = get_snapshot(diagnosis.revision_id)
    if not 1 <= number <= len(answers) + 1:
        return Submission("not-current", answers)
    if number == len(answers) + 1 and diagnosis.current_question in snapshot.question_index:
        # The question being asked is stored with the answers it follows from (same
        # write, same version), so the usual answer needs no engine run to be checked.
        expected = snapshot.questions[snapshot.question_index[diagnosis.current_question]]
    else:
        position = evaluate(diagnosis, snapshot, answers[: number - 1])
        if position.is_finished:
            return Submission("finished", answers, is_finished=True)
        expected = snapshot.questions[position.step.question]
    form = AnswerForm(data)
    if not form.is_valid() or form.cleaned_data["question"] != expected["slug"]:
        return Submission("not-current", answers)
    option = form.cleaned_data["answer"]
    if option != UNSURE and option not in {a["slug"] for a in expected["answers"]}:
        return Submission("bad-option", answers)
    seen = form.cleaned_data["seen"]
    given = flow.Given(expected["slug"], option)
    if number <= len(answers) and answers[number - 1] == given:
        return Submission(
            "unchanged", answers, is_finished=evaluate(diagnosis, snapshot, answers).is_finished
        )
    after = [*answers[: number - 1], given]
    position, fields = progress(diagnosis, snapshot, after)
    outcome = diagnosis.record_answer(
        number,
        given.question,
        given.option,
        seen=len(answers) if seen is None else seen,
        by=by,
        fields=fields,
    )
    if outcome == "conflict":
        diagnosis.refresh_from_db()
        return Submission(outcome, answers_of(diagnosis))
    return Submission(outcome, after, is_finished=position.is_finished)


def progress(
    diagnosis: Diagnosis, snapshot: Snapshot, answers: list[flow.Given], *, stop: bool = False
) -> tuple[flow.Position, dict]:
    """Where the diagnosis stands after ``answers``, and the fields that record it."""
    position = evaluate(diagnosis, snapshot, answers)
    finished = stop or position.is_finished
    p = position.step.posterior
    fields = {
        "current_question": "" if finished else snapshot.questions[position.step.question]["slug"],
        "question_count": len(answers),
        "top_cause": snapshot.causes[int(p.argmax())]["slug"],
        "updated": timezone.now(),
    }
    if finished:
        fields["ranking"] = flow.result(snapshot, answers, diagnosis.language, tried=diagnosis.tried).ranking
        if diagnosis.status == Diagnosis.Status.IN_PROGRESS:
            fields["status"] = Diagnosis.Status.DIAGNOSED
    elif diagnosis.status == Diagnosis.Status.DIAGNOSED:
        fields["status"] = Diagnosis.Status.IN_PROGRESS  # an answer was changed: ask again
    return position, fields


def advance(diagnosis: Diagnosis, answers: list[flow.Given], *, stop: bool = False) -> flow.Position:
    """Store where the diagnosis stands after ``answers``; ``stop`` ends the questions."""
    position, fields = progress(diagnosis, get_snapshot(diagnosis.revision_id), answers, stop=stop)
    Diagnosis.objects.filter(pk=diagnosis.pk).update(**fields)
    for name, value in fields.items():
        setattr(diagnosis, name, value)
    return position


def record_outcome(
    diagnosis: Diagnosis,
    kind: str,
    *,
    solution: str = "",
    tried: Sequence[str] = (),
    detail: str = "",
    by=None,
) -> None:
    """What came of a diagnosis, told by the merchant or an agent, attributed and stored.

    ``kind`` is a :class:`CaseEvent.Kind`: "resolved" by ``solution``; "not-fixed" after
    the steps ``tried`` (evidence from then on, see ``flow.evaluate``); "escalated" to a
    person; "callback" (nothing changes but the record).
    """
    now = timezone.now()
    fields: dict = {"updated": now}
    if kind == CaseEvent.Kind.RESOLVED:
        fields.update(status=Diagnosis.Status.RESOLVED, is_fixed=True, fixed_by=solution, feedback_at=now)
        detail = detail or solution
    elif kind == CaseEvent.Kind.NOT_FIXED:
        tried = list(tried) or [solution]
        fields.update(tried=list(dict.fromkeys([*diagnosis.tried, *tried])), is_fixed=False, feedback_at=now)
        detail = detail or ",".join(tried)
    elif kind == CaseEvent.Kind.ESCALATED:
        fields.update(status=Diagnosis.Status.ESCALATED, is_fixed=False, feedback_at=now)
    Diagnosis.objects.filter(pk=diagnosis.pk).update(**fields)
    for name, value in fields.items():
        setattr(diagnosis, name, value)
    if kind == CaseEvent.Kind.NOT_FIXED or not diagnosis.ranking:
        # Failed steps move the ranking; an early outcome still needs one for insights.
        advance(diagnosis, answers_of(diagnosis), stop=not diagnosis.is_open)
    CaseEvent.objects.create(diagnosis=diagnosis, kind=kind, actor=by, detail=detail[:300])


def summary(
    diagnosis: Diagnosis, snapshot: Snapshot, answers: list[flow.Given], language: str, *, rows=None
) -> str:
    """The plain-text case summary for tickets (agent console, escalations)."""
    rows = (
        list(diagnosis.answers.select_related("answered_by").order_by("position")) if rows is None else rows
    )
    provider = snapshot.providers.get(diagnosis.provider)
    details = [
        (_("Case code"), diagnosis.display_code),
        (_("Channel"), diagnosis.get_channel_display()),
        (_("Agent"), diagnosis.agent.get_username() if diagnosis.agent else ""),
        (_("Merchant number"), diagnosis.merchant_number),
        (_("Caller's phone"), diagnosis.phone),
        (_("Provider"), text(provider["name"], language) if provider else ""),
        (_("Started"), timezone.localtime(diagnosis.created).strftime("%Y-%m-%d %H:%M")),
        (_("Knowledge revision"), str(diagnosis.revision_id)),
    ]
    outcome = diagnosis.get_status_display()
    if diagnosis.fixed_by:
        outcome += f" — {flow.solution_title(snapshot, diagnosis.fixed_by, language)}"
    if diagnosis.tried:
        tried = ", ".join(flow.solution_title(snapshot, slug, language) for slug in diagnosis.tried)
        outcome += f"; {_('tried without success')}: {tried}"
    return flow.summary_text(
        snapshot,
        answers,
        language,
        details=details,
        answered_by=[a.answered_by.get_username() if a.answered_by else _("merchant") for a in rows],
        outcome=outcome,
        notes=diagnosis.notes,
        tried=diagnosis.tried,
        labels={
            "answers": _("Answers"),
            "causes": _("Most likely causes"),
            "steps": _("Steps, in order"),
            "outcome": _("Outcome"),
            "notes": _("Notes"),
        },
    )
