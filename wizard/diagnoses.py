"""A diagnosis's whole life — start, answer, change, finish, outcome, escalate — for every
channel (the merchant wizard, the agent console, and whatever comes next).

This module is the one writer of :class:`Diagnosis` rows, their answers, events and
tickets. Views validate what people send and pass plain values here; each change
computes the new :class:`Position` with one engine run, stores the figures insights
aggregate (the question being asked, the leading cause, the number of answers, the final
ranking once the questions stop) and returns the position, so nobody asks the engine
again for the same request.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import privacy, webhooks
from .knowledge import UNSURE, Snapshot, get_snapshot
from .models import CODE_ALPHABET, CODE_LENGTH, Answer, CaseEvent, Diagnosis, Ticket, normalise_case_code
from .position import Limits, Position, Reply, locate


class Outcome(models.TextChoices):
    """What came of a diagnosis, told by the merchant or an agent."""

    RESOLVED = CaseEvent.Kind.RESOLVED.value, _("Resolved")
    NOT_FIXED = CaseEvent.Kind.NOT_FIXED.value, _("Tried, not fixed")
    ESCALATED = CaseEvent.Kind.ESCALATED.value, _("Escalated")
    CALLBACK = CaseEvent.Kind.CALLBACK.value, _("Call back later")


class Verdict(enum.StrEnum):
    """What became of an answer sent for a step."""

    RECORDED = "recorded"
    UNCHANGED = "unchanged"  # the same answer again: a double submit
    CONFLICT = "conflict"  # someone else answered in between
    NOT_CURRENT = "not-current"  # not the question asked at that step
    BAD_OPTION = "bad-option"  # not one of the question's answers
    FINISHED = "finished"  # nothing is asked at that step any more

    @property
    def is_accepted(self) -> bool:
        return self in (Verdict.RECORDED, Verdict.UNCHANGED)


@dataclass(frozen=True)
class Submission:
    verdict: Verdict
    diagnosis: Diagnosis
    # A recorded answer that replaced an earlier, different one (the other answers stay).
    changed: bool = False

    @property
    def is_accepted(self) -> bool:
        return self.verdict.is_accepted

    @property
    def next_number(self) -> int:
        return len(self.diagnosis.trail) + 1

    @property
    def is_finished(self) -> bool:
        return is_finished(self.diagnosis)


class StaleDiagnosis(Exception):
    """The diagnosis changed between reading it and writing to it."""


# --- Reading ------------------------------------------------------------------------------


def replies(diagnosis: Diagnosis) -> list[Reply]:
    """The answers so far, in order."""
    return [Reply(question, option) for question, option in diagnosis.trail]


def limits(diagnosis: Diagnosis) -> Limits:
    return Limits.for_case(extended=diagnosis.wants_more)


def position(diagnosis: Diagnosis, snapshot: Snapshot | None = None) -> Position:
    """Where ``diagnosis`` stands now: one engine run."""
    snapshot = snapshot or get_snapshot(diagnosis.revision_id)
    return _locate(diagnosis, snapshot, replies(diagnosis))


def is_finished(diagnosis: Diagnosis) -> bool:
    """Whether the questions have stopped, read from the row (no engine run): the
    question being asked is stored with every change."""
    return diagnosis.status != Diagnosis.Status.IN_PROGRESS or not diagnosis.current_question


def _locate(diagnosis: Diagnosis, snapshot: Snapshot, given: Sequence[Reply]) -> Position:
    return locate(snapshot, given, tried=diagnosis.tried, limits=limits(diagnosis))


# --- Writing ------------------------------------------------------------------------------


def _write(diagnosis: Diagnosis, fields: dict[str, Any], *, versioned: bool = False) -> None:
    """Store ``fields`` on the row and on ``diagnosis``. ``versioned`` writes only if
    nobody wrote a versioned change since ``diagnosis`` was read (else StaleDiagnosis)."""
    fields = {"updated": timezone.now(), **fields}
    rows = Diagnosis.objects.filter(pk=diagnosis.pk)
    if versioned:
        fields["version"] = diagnosis.version + 1
        rows = rows.filter(version=diagnosis.version)
    if not rows.update(**fields):
        raise StaleDiagnosis
    for name, value in fields.items():
        setattr(diagnosis, name, value)


def _standing(diagnosis: Diagnosis, snapshot: Snapshot, at: Position, *, stop: bool = False) -> dict:
    """The fields that record ``at``: what insights aggregate, and the status."""
    finished = stop or at.is_finished
    fields: dict[str, Any] = {
        "current_question": "" if finished else snapshot.questions[at.question]["slug"],
        "question_count": len(at.replies),
        "top_cause": at.leading_cause(snapshot),
    }
    if finished:
        fields["ranking"] = at.ranking(snapshot)
        if diagnosis.status == Diagnosis.Status.IN_PROGRESS:
            fields["status"] = Diagnosis.Status.DIAGNOSED
    elif diagnosis.status == Diagnosis.Status.DIAGNOSED:
        fields["status"] = Diagnosis.Status.IN_PROGRESS  # an answer was changed: ask again
    return fields


def _advance(diagnosis: Diagnosis, *, stop: bool = False) -> Position:
    """Recompute where the diagnosis stands after a change that is not an answer."""
    snapshot = get_snapshot(diagnosis.revision_id)
    at = _locate(diagnosis, snapshot, replies(diagnosis))
    _write(diagnosis, _standing(diagnosis, snapshot, at, stop=stop))
    return at


# --- Finding a case by its code ------------------------------------------------------------


def is_case_code(code: str) -> bool:
    return len(code) == CODE_LENGTH and all(ch in CODE_ALPHABET for ch in code)


def could_be_case_code(text: str) -> bool:
    """Whether ``text`` (as typed, read aloud or put in an address) has a case code's shape:
    the look-ups worth counting as guesses."""
    return is_case_code(normalise_case_code(text))


def find_diagnosis(code: str, *related: str) -> Diagnosis | None:
    """The diagnosis a person typed, read aloud or followed a link to, if any.

    A code that cannot be one is not looked up: no query carries what a stranger put in
    the address (PostgreSQL would refuse a NUL in it with a server error).
    """
    code = normalise_case_code(code)
    if not is_case_code(code):
        return None
    # select_related() with no names would follow every foreign key, the revision's whole
    # knowledge payload included. The code is unique, so no ORDER BY to compile on every
    # request (first() would add the model's).
    diagnoses = Diagnosis.objects.select_related(*related) if related else Diagnosis.objects.all()
    return next(iter(diagnoses.filter(code=code).order_by()[:1]), None)


def start(
    *,
    revision: int,
    language: str,
    channel: str = Diagnosis.Channel.SELF_SERVICE,
    agent=None,
    token: str = "",
    description: str = "",
    facts: Sequence[Reply] = (),
    **details: str,
) -> Diagnosis:
    """A new diagnosis, asking its first question; or, started from a ``description``,
    with the ``facts`` confirmed from it already answered. The same ``token`` (a double
    click, a resubmitted form) always returns the same diagnosis, changed no further."""
    if token and (existing := Diagnosis.objects.filter(start_token=token).first()):
        return existing
    try:
        with transaction.atomic():
            diagnosis = Diagnosis.objects.create(
                revision_id=revision,
                language=language,
                channel=channel,
                agent=agent,
                start_token=token or None,
                **details,
            )
    except IntegrityError:
        return Diagnosis.objects.get(start_token=token)  # the same form twice at once
    if description or facts:
        add_description(diagnosis, description, facts, by=agent)
    else:
        _advance(diagnosis)
    if agent is not None:
        CaseEvent.objects.create(diagnosis=diagnosis, kind=CaseEvent.Kind.STARTED, actor=agent)
    return diagnosis


def _question_at(diagnosis: Diagnosis, snapshot: Snapshot, given: list[Reply], number: int) -> str | None:
    """The slug of the question asked at step ``number``, or None if nothing is.

    An answered step keeps the question it asked (the answers before it are unchanged);
    the next step's question is stored on the row. Only a diagnosis stopped early ("show
    results now") needs the engine to say what it would ask next.
    """
    if number <= len(given):
        return given[number - 1].question
    if diagnosis.current_question:
        return diagnosis.current_question
    if diagnosis.status not in (Diagnosis.Status.IN_PROGRESS, Diagnosis.Status.DIAGNOSED):
        return None
    at = _locate(diagnosis, snapshot, given)
    return None if at.is_finished else snapshot.questions[at.question]["slug"]


def _check(snapshot: Snapshot, expected: str | None, question: str, option: str) -> Verdict | None:
    if expected is None:
        return Verdict.FINISHED
    if question != expected:
        return Verdict.NOT_CURRENT
    options = {a["slug"] for a in snapshot.questions[snapshot.question_index[expected]]["answers"]}
    if option != UNSURE and option not in options:
        return Verdict.BAD_OPTION
    return None


def answer(
    diagnosis: Diagnosis,
    number: int,
    question: str,
    option: str,
    *,
    seen: int | None = None,
    by=None,
) -> Submission:
    """Answer step ``number`` with ``option`` of ``question``.

    Answering an earlier step again with a different option changes that answer only:
    the other answers are facts about the merchant's terminal, still true whatever this
    one says, so they stay as evidence; the causes are ranked again with all of them and
    only what is still worth asking is asked next (or the questions stop).

    ``seen`` is how many answers the person's page showed. A change counts only if
    nothing was answered since the page was shown; otherwise someone else (an agent, the
    merchant, another tab) answered in between: a conflict, and no answer is lost or
    duplicated.
    """
    snapshot = get_snapshot(diagnosis.revision_id)
    given = replies(diagnosis)
    if not 1 <= number <= len(given) + 1:
        return Submission(Verdict.NOT_CURRENT, diagnosis)
    problem = _check(snapshot, _question_at(diagnosis, snapshot, given, number), question, option)
    if problem is not None:
        return Submission(problem, diagnosis)
    reply = Reply(question, option)
    changing = number <= len(given)
    if changing and given[number - 1] == reply:
        return Submission(Verdict.UNCHANGED, diagnosis)
    if changing and (seen if seen is not None else len(given)) != len(given):
        return Submission(Verdict.CONFLICT, _reread(diagnosis))
    after = [*given[: number - 1], reply, *given[number:]]
    fields = _standing(diagnosis, snapshot, _locate(diagnosis, snapshot, after))
    try:
        recorded = _record(
            diagnosis, number, reply, by=by, fields={"trail": [list(r) for r in after], **fields}
        )
    except IntegrityError:
        recorded = False
    if not recorded:
        return Submission(Verdict.CONFLICT, _reread(diagnosis))  # answered elsewhere just now
    return Submission(Verdict.RECORDED, diagnosis, changed=changing)


def _record(diagnosis: Diagnosis, number: int, reply: Reply, *, by, fields: dict) -> bool:
    """The mirrored trail on the diagnosis and the Answer row, in one transaction; False
    when the diagnosis changed since it was read (nothing is written then). A changed
    answer replaces its row; the rows of the other answers stay as they are.

    The version-checked update comes first: a concurrent answer to the same diagnosis
    waits on its row lock and then finds the version moved, so a clash is found before
    anything is written, and a caller's transaction stays usable (no savepoint needed).
    """
    with transaction.atomic(savepoint=False):
        previous = len(diagnosis.trail)
        if number <= previous:
            described = diagnosis.answers.filter(position=number, from_description=True).exists()
            if described:  # the changed answer is the merchant's own now, not the description's
                fields = {**fields, "described_answers": max(0, diagnosis.described_answers - 1)}
        try:
            _write(diagnosis, fields, versioned=True)
        except StaleDiagnosis:
            return False
        if number <= previous:
            diagnosis.answers.filter(position=number).update(
                question=reply.question,
                option=reply.option,
                answered_by=by,
                from_description=False,
                created=timezone.now(),
            )
        else:
            Answer.objects.create(
                diagnosis=diagnosis,
                position=number,
                question=reply.question,
                option=reply.option,
                answered_by=by,
            )
    return True


def add_description(diagnosis: Diagnosis, description: str, facts: Sequence[Reply], *, by=None) -> Submission:
    """Keep what the person described in their own words, and record the facts they
    confirmed from it as answers "from the description", after the answers so far.

    A fact about a question already answered is left out (the answer given stands), so
    is one about a question nobody can ask any more. The wizard then asks only what is
    still worth asking, and may stop at once.
    """
    snapshot = get_snapshot(diagnosis.revision_id)
    given = replies(diagnosis)
    answered = {reply.question for reply in given}
    new = []
    for fact in facts:
        if fact.question not in answered and snapshot.answer_index(*fact) is not None:
            answered.add(fact.question)
            new.append(fact)
    after = [*given, *new]
    text = "\n\n".join(part for part in (diagnosis.description, description.strip()) if part)
    fields = _standing(diagnosis, snapshot, _locate(diagnosis, snapshot, after))
    with transaction.atomic(savepoint=False):
        try:
            recorded = {"description": text, "described_answers": diagnosis.described_answers + len(new)}
            _write(diagnosis, {"trail": [list(r) for r in after], **recorded, **fields}, versioned=True)
        except StaleDiagnosis:
            return Submission(Verdict.CONFLICT, _reread(diagnosis))
        Answer.objects.bulk_create(
            Answer(
                diagnosis=diagnosis,
                position=len(given) + i,
                question=reply.question,
                option=reply.option,
                answered_by=by,
                from_description=True,
            )
            for i, reply in enumerate(new, start=1)
        )
    return Submission(Verdict.RECORDED, diagnosis)


def _reread(diagnosis: Diagnosis) -> Diagnosis:
    diagnosis.refresh_from_db()
    return diagnosis


def finish(diagnosis: Diagnosis) -> None:
    """ "Show results now": stop asking, whatever the engine would still ask."""
    if diagnosis.status == Diagnosis.Status.IN_PROGRESS:
        _advance(diagnosis, stop=True)


def ask_more(diagnosis: Diagnosis, *, extended: bool = True) -> Position:
    """Ask again: ``extended`` past the usual confidence for a few more questions (the
    steps did not fix it), or only resume the questions stopped early. A case waiting for
    a person stays with them (its ticket and its status say the same), and only more
    questions reopen a resolved or abandoned one."""
    settled = diagnosis.status not in (Diagnosis.Status.IN_PROGRESS, Diagnosis.Status.DIAGNOSED)
    if awaits_a_person(diagnosis) or (settled and not extended):
        return position(diagnosis)
    _write(
        diagnosis, {"wants_more": diagnosis.wants_more or extended, "status": Diagnosis.Status.IN_PROGRESS}
    )
    return _advance(diagnosis)


@transaction.atomic
def record_outcome(
    diagnosis: Diagnosis,
    outcome: Outcome,
    *,
    solution: str = "",
    tried: Sequence[str] = (),
    detail: str = "",
    by=None,
) -> None:
    """Store what came of a diagnosis, attributed: RESOLVED by ``solution``; NOT_FIXED
    after the steps ``tried`` (evidence against the causes they fix from then on);
    ESCALATED to a person; CALLBACK (nothing changes but the record). One transaction:
    the case, its tickets, its event and the webhook event it sends commit together."""
    now = timezone.now()
    fields: dict[str, Any] = {}
    if outcome == Outcome.RESOLVED:
        fields = {
            "status": Diagnosis.Status.RESOLVED,
            "is_fixed": True,
            "fixed_by": solution,
            "feedback_at": now,
        }
        detail = detail or solution
    elif outcome == Outcome.NOT_FIXED:
        tried = [slug for slug in (list(tried) or [solution]) if slug]  # never an empty step
        fields = {
            "tried": list(dict.fromkeys([*diagnosis.tried, *tried])),
            "is_fixed": False,
            "feedback_at": now,
        }
        detail = detail or ",".join(tried)
    elif outcome == Outcome.ESCALATED:
        fields = {"status": Diagnosis.Status.ESCALATED, "is_fixed": False, "feedback_at": now}
    _write(diagnosis, fields)
    if outcome == Outcome.RESOLVED:
        _close_tickets(diagnosis, by, reason=detail)
    if outcome == Outcome.NOT_FIXED or not diagnosis.ranking:
        # Failed steps move the ranking; an early outcome still needs one for insights.
        _advance(diagnosis, stop=not diagnosis.is_open)
    CaseEvent.objects.create(diagnosis=diagnosis, kind=outcome.value, actor=by, detail=detail[:300])
    if outcome == Outcome.ESCALATED:
        webhooks.diagnosis_escalated(diagnosis)
    elif outcome in (Outcome.RESOLVED, Outcome.NOT_FIXED):
        webhooks.diagnosis_outcome(diagnosis, outcome.value)


def _close_tickets(diagnosis: Diagnosis, by, *, reason: str) -> None:
    """A resolved case needs no call back: its tickets close with it, so that a case and
    its tickets never say different things (resolved, yet waiting for a person)."""
    for ticket in diagnosis.tickets.exclude(status=Ticket.Status.CLOSED):
        set_ticket_status(
            ticket, Ticket.Status.CLOSED, by, detail=f"{ticket.reference} closed: resolved {reason}"
        )


def may_change(diagnosis: Diagnosis, *, owner: bool, agent: bool) -> bool:
    """Who may change a diagnosis, whatever the channel: anyone who has its code while it
    is open; once it has a result or a request for help, only whoever started it (its
    browser, or its integration through the API) and agents."""
    return diagnosis.is_open or owner or agent


def awaits_a_person(diagnosis: Diagnosis) -> bool:
    """Whether a request for help is still open: the case is in a person's hands."""
    return diagnosis.tickets.exclude(status=Ticket.Status.CLOSED).exists()


def escalate(diagnosis: Diagnosis, *, token: str, transcript: str, contact: dict[str, Any]) -> Ticket:
    """Hand the case to a person: a ticket with the whole diagnosis attached. The same
    ``token`` (a double submit) always returns the same ticket."""
    if token and (existing := Ticket.objects.filter(token=token).first()):
        return existing
    if contact.get("has_consent"):  # what was agreed to, and when
        contact = {**contact, "consented_at": timezone.now(), "notice_version": privacy.NOTICE_VERSION}
    try:
        with transaction.atomic():
            ticket = Ticket.objects.create(
                diagnosis=diagnosis, token=token or None, transcript=transcript, **contact
            )
    except IntegrityError:
        return Ticket.objects.get(token=token)  # the same form sent twice at once
    record_outcome(diagnosis, Outcome.ESCALATED, detail=ticket.reference)
    return ticket


def open_by_agent(diagnosis: Diagnosis, agent) -> None:
    """An agent opened the case by its code; a self-service case now belongs to them."""
    CaseEvent.objects.create(diagnosis=diagnosis, kind=CaseEvent.Kind.OPENED, actor=agent)
    if diagnosis.agent_id is None and Diagnosis.objects.filter(pk=diagnosis.pk, agent__isnull=True).update(
        agent=agent
    ):
        diagnosis.agent = agent


# One "notes edited" event per agent per few minutes, not one per keystroke.
NOTES_EVENT_EVERY = timedelta(minutes=5)


def save_notes(diagnosis: Diagnosis, notes: str, by) -> None:
    if notes == diagnosis.notes:
        return
    _write(diagnosis, {"notes": notes})
    recent = diagnosis.events.filter(
        kind=CaseEvent.Kind.NOTES, actor=by, created__gte=timezone.now() - NOTES_EVENT_EVERY
    ).exists()
    if not recent:
        CaseEvent.objects.create(diagnosis=diagnosis, kind=CaseEvent.Kind.NOTES, actor=by)


def set_ticket_status(ticket: Ticket, status: str, by, *, detail: str = "") -> None:
    """Work a ticket: open → in progress → closed (any order; every change is logged)."""
    if status == ticket.status:
        return
    Ticket.objects.filter(pk=ticket.pk).update(status=status, updated=timezone.now())
    ticket.status = status
    CaseEvent.objects.create(
        diagnosis=ticket.diagnosis,
        kind=CaseEvent.Kind.TICKET,
        actor=by,
        detail=(detail or f"{ticket.reference} {status}")[:300],
    )
