"""The call-center agent's console: start or open a case, walk the caller through it.

The console is one page per case. Answers, notes and outcomes are plain POSTs that
redirect back to it; with htmx the page's ``content`` partial is swapped in place, so
the live ranking moves with every answer without a reload. Every action is attributed
to the agent (answers carry ``answered_by``; the rest is a :class:`CaseEvent`).
"""

from __future__ import annotations

from datetime import timedelta
from functools import wraps

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.views import redirect_to_login
from django.db.models import Q
from django.http import HttpResponse, HttpResponseForbidden
from django.shortcuts import render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from .. import cases, flow
from ..forms import AgentStartForm, CaseCodeForm, NotesForm, OutcomeForm
from ..knowledge import UNSURE, get_snapshot, latest_revision_number, text
from ..models import CaseEvent, Diagnosis, Ticket, normalise_case_code
from ..ratelimit import address_key, client_address, exhausted, hit
from .merchant import HtmxHttpRequest, language, page, see_other

AGENTS_GROUP = "Agents"


def is_agent(user) -> bool:
    return user.is_authenticated and (user.is_staff or user.groups.filter(name=AGENTS_GROUP).exists())


def agent_required(view):
    @wraps(view)
    def wrapper(request: HtmxHttpRequest, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("wizard:agent-login"))
        if not is_agent(request.user):
            return HttpResponseForbidden(_("This console is for call-center agents."))
        return view(request, *args, **kwargs)

    return wrapper


class AgentLoginView(auth_views.LoginView):
    template_name = "agent/login.html"
    redirect_authenticated_user = True
    next_page = reverse_lazy("wizard:agent-home")


def _case(code: str) -> Diagnosis | None:
    return Diagnosis.objects.select_related("agent").filter(code=normalise_case_code(code)).first()


def with_case(view):
    """Load the case named by the URL's code, or answer with the console's 404."""

    @wraps(view)
    def wrapper(request: HtmxHttpRequest, code: str, *args, **kwargs) -> HttpResponse:
        diagnosis = _case(code)
        if diagnosis is None:
            return _not_found(request, code)
        return view(request, diagnosis, *args, **kwargs)

    return wrapper


def _not_found(request: HtmxHttpRequest, code: str) -> HttpResponse:
    return page(
        request,
        "agent/not_found.html",
        {"code": code, "form": CaseCodeForm(initial={"code": code})},
        status=404,
    )


# Failed look-ups of case codes are limited per agent and per address, so that codes
# cannot be guessed by trying many of them.
def _miss_keys(request: HtmxHttpRequest) -> list[str]:
    return [f"code-miss:user:{request.user.pk}", f"code-miss:addr:{address_key(client_address(request))}"]


def _too_many_misses(request: HtmxHttpRequest) -> bool:
    limit, window = settings.RATE_LIMITS["code-miss"]
    return any(exhausted(key, limit, window) for key in _miss_keys(request))


def _count_miss(request: HtmxHttpRequest) -> None:
    limit, window = settings.RATE_LIMITS["code-miss"]
    for key in _miss_keys(request):
        hit(key, limit, window)


# ---------------------------------------------------------------------------------------


@require_GET
@agent_required
def home(request: HtmxHttpRequest) -> HttpResponse:
    mine = (
        Diagnosis.objects.filter(Q(agent=request.user) | Q(answers__answered_by=request.user))
        .distinct()
        .order_by("-updated")
    )
    revision = latest_revision_number()
    context = {
        "start_form": AgentStartForm(providers=_providers(revision)),
        "case_form": CaseCodeForm(),
        "open_cases": mine.filter(status=Diagnosis.Status.IN_PROGRESS)[:20],
        "recent_cases": mine.exclude(status=Diagnosis.Status.IN_PROGRESS)[:20],
        "tickets": Ticket.objects.exclude(status=Ticket.Status.CLOSED).select_related("diagnosis")[:50],
        "is_ready": revision is not None,
    }
    return page(request, "agent/home.html", context)


def _providers(revision: int | None) -> list[tuple[str, str]]:
    if revision is None:
        return []
    snapshot = get_snapshot(revision)
    lang = language()
    return [(slug, text(p["name"], lang)) for slug, p in snapshot.providers.items()]


@require_POST
@agent_required
def start(request: HtmxHttpRequest) -> HttpResponse:
    revision = latest_revision_number()
    if revision is None:
        return page(request, "wizard/unavailable.html", {}, status=503)
    form = AgentStartForm(request.POST, providers=_providers(revision))
    if not form.is_valid():
        context = {"start_form": form, "case_form": CaseCodeForm(), "is_ready": True}
        return page(request, "agent/home.html", context, status=400)
    diagnosis = Diagnosis.objects.create(
        revision_id=revision,
        channel=Diagnosis.Channel.AGENT,
        agent=request.user,
        language=language(),
        **form.cleaned_data,
    )
    cases.advance(diagnosis, [])
    CaseEvent.objects.create(diagnosis=diagnosis, kind=CaseEvent.Kind.STARTED, actor=request.user)
    return see_other(reverse("wizard:agent-case", args=[diagnosis.code]))


@require_GET
@agent_required
def open_case(request: HtmxHttpRequest) -> HttpResponse:
    if _too_many_misses(request):
        return page(request, "agent/too_many.html", {}, status=429)
    form = CaseCodeForm(request.GET)
    if not form.is_valid():
        _count_miss(request)
        return page(
            request, "agent/not_found.html", {"form": form, "code": request.GET.get("code", "")}, status=400
        )
    diagnosis = _case(form.cleaned_data["code"])
    if diagnosis is None:
        _count_miss(request)
        return _not_found(request, request.GET.get("code", ""))
    CaseEvent.objects.create(diagnosis=diagnosis, kind=CaseEvent.Kind.OPENED, actor=request.user)
    if diagnosis.agent_id is None:
        # A merchant's self-service case picked up by an agent: the agent now owns it.
        Diagnosis.objects.filter(pk=diagnosis.pk, agent__isnull=True).update(agent=request.user)
    return see_other(reverse("wizard:agent-case", args=[diagnosis.code]))


def _console(
    request: HtmxHttpRequest,
    diagnosis: Diagnosis,
    *,
    number: int | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    snapshot = get_snapshot(diagnosis.revision_id)
    lang = language()
    rows = list(diagnosis.answers.select_related("answered_by").order_by("position"))
    answers = [flow.Given(a.question, a.option) for a in rows]
    current = len(answers) + 1
    number = current if number is None else max(1, min(number, current))
    position = cases.evaluate(diagnosis, snapshot, answers[: number - 1])
    question = None
    why: list = []
    if not position.is_finished and diagnosis.is_open:
        question = flow.question_view(snapshot, position.step.question, lang)
        why = flow.why_question(snapshot, position, position.step.question, lang)
    full = cases.evaluate(diagnosis, snapshot, answers) if number != current else position
    outcome = flow.result(snapshot, answers, lang, tried=diagnosis.tried)
    transcript = flow.transcript(snapshot, answers, lang)
    for row, answer in zip(transcript, rows, strict=True):
        row["by"] = answer.answered_by.get_username() if answer.answered_by else _("merchant")
        row["at"] = answer.created
    context = {
        "diagnosis": diagnosis,
        "number": number,
        "seen": len(answers),
        "question": question,
        "why": why,
        "previous": answers[number - 1].option if number <= len(answers) else "",
        "unsure": UNSURE,
        "candidates": flow.candidates(snapshot, full, lang),
        "progress": flow.progress(snapshot, full),
        "timeline": transcript,
        "events": diagnosis.events.select_related("actor"),
        "result": outcome,
        "is_finished": full.is_finished or not diagnosis.is_open,
        "notes_form": NotesForm(initial={"notes": diagnosis.notes}),
        "outcome_form": OutcomeForm(solutions=[(s["slug"], s["title"]) for s in outcome.solutions]),
        "summary": cases.summary(diagnosis, snapshot, answers, lang, rows=rows),
        "error": error,
    }
    return page(request, "agent/console.html", context, status=status)


@require_GET
@agent_required
@with_case
def console(request: HtmxHttpRequest, diagnosis: Diagnosis) -> HttpResponse:
    step = request.GET.get("step", "")
    return _console(request, diagnosis, number=int(step) if step.isdigit() else None)


@require_POST
@agent_required
@with_case
def answer(request: HtmxHttpRequest, diagnosis: Diagnosis, number: int) -> HttpResponse:
    if "notes" in request.POST:  # typed notes travel with the answer, so none are lost
        _save_notes(diagnosis, request.POST["notes"], request.user)
    submission = cases.submit_answer(
        diagnosis, cases.answers_of(diagnosis), number, request.POST, by=request.user
    )
    if submission.outcome == "conflict":
        error = _(
            "The merchant (or another agent) answered this step a moment ago. Here is where the case stands now."
        )
        return _console(request, diagnosis, error=error, status=409)
    if not submission.is_accepted:
        error = _("That answer does not match the question being asked now.")
        return _console(request, diagnosis, number=number, error=error, status=400)
    return see_other(reverse("wizard:agent-case", args=[diagnosis.code]))


@require_POST
@agent_required
@with_case
def finish(request: HtmxHttpRequest, diagnosis: Diagnosis) -> HttpResponse:
    if diagnosis.is_open:
        cases.advance(diagnosis, cases.answers_of(diagnosis), stop=True)
    return see_other(reverse("wizard:agent-case", args=[diagnosis.code]))


def _save_notes(diagnosis: Diagnosis, notes: str, user) -> None:
    notes = notes[: NotesForm.base_fields["notes"].max_length]
    if notes == diagnosis.notes:
        return
    Diagnosis.objects.filter(pk=diagnosis.pk).update(notes=notes, updated=timezone.now())
    diagnosis.notes = notes
    # One "notes edited" event per agent per few minutes, not one per keystroke.
    recent = diagnosis.events.filter(
        kind=CaseEvent.Kind.NOTES, actor=user, created__gte=timezone.now() - timedelta(minutes=5)
    ).exists()
    if not recent:
        CaseEvent.objects.create(diagnosis=diagnosis, kind=CaseEvent.Kind.NOTES, actor=user)


@require_POST
@agent_required
@with_case
def notes(request: HtmxHttpRequest, diagnosis: Diagnosis) -> HttpResponse:
    form = NotesForm(request.POST)
    if not form.is_valid():
        return HttpResponse(_("Notes are too long."), status=400)
    _save_notes(diagnosis, form.cleaned_data["notes"], request.user)
    if request.htmx:
        saved_at = timezone.localtime().strftime("%H:%M:%S")
        return HttpResponse(_("Saved at %(time)s") % {"time": saved_at})
    return see_other(reverse("wizard:agent-case", args=[diagnosis.code]))


@require_POST
@agent_required
@with_case
def outcome(request: HtmxHttpRequest, diagnosis: Diagnosis) -> HttpResponse:
    snapshot = get_snapshot(diagnosis.revision_id)
    answers = cases.answers_of(diagnosis)
    solutions = [
        (s["slug"], s["title"])
        for s in flow.result(snapshot, answers, language(), tried=diagnosis.tried).solutions
    ]
    form = OutcomeForm(request.POST, solutions=solutions)
    if not form.is_valid():
        return _console(
            request,
            diagnosis,
            error=" ".join(form.errors.get("__all__", [])) or _("Choose an outcome."),
            status=400,
        )
    cases.record_outcome(
        diagnosis, form.cleaned_data["kind"], solution=form.cleaned_data["solution"], by=request.user
    )
    return see_other(reverse("wizard:agent-case", args=[diagnosis.code]))


@require_GET
@agent_required
@with_case
def summary(request: HtmxHttpRequest, diagnosis: Diagnosis) -> HttpResponse:
    snapshot = get_snapshot(diagnosis.revision_id)
    rows = list(diagnosis.answers.select_related("answered_by").order_by("position"))
    answers = [flow.Given(a.question, a.option) for a in rows]
    response = HttpResponse(
        cases.summary(diagnosis, snapshot, answers, language(), rows=rows),
        content_type="text/plain; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="case-{diagnosis.code}.txt"'
    return response


@require_GET
@agent_required
def state(request: HtmxHttpRequest, code: str) -> HttpResponse:
    """Polled by the console: 204 while nothing changed, a notice once someone answered."""
    diagnosis = _case(code)
    if diagnosis is None:
        return HttpResponse(status=404)
    seen = request.GET.get("seen", "")
    if seen.isdigit() and diagnosis.answers.count() == int(seen):
        return HttpResponse(status=204)
    return render(request, "agent/console.html#changed", {"diagnosis": diagnosis})


@require_GET
@agent_required
def ticket(request: HtmxHttpRequest, reference: str) -> HttpResponse:
    found = Ticket.objects.select_related("diagnosis").filter(reference=reference.upper()).first()
    if found is None:
        return _not_found(request, "")
    return page(request, "agent/ticket.html", {"ticket": found, "statuses": Ticket.Status.choices})


@require_POST
@agent_required
def ticket_status(request: HtmxHttpRequest, reference: str) -> HttpResponse:
    """Work a ticket: open → in progress → closed (any order; every change is logged)."""
    found = Ticket.objects.select_related("diagnosis").filter(reference=reference.upper()).first()
    if found is None:
        return _not_found(request, "")
    status = request.POST.get("status", "")
    if status not in Ticket.Status.values:
        context = {"ticket": found, "statuses": Ticket.Status.choices, "error": _("Choose a status.")}
        return page(request, "agent/ticket.html", context, status=400)
    if status != found.status:
        Ticket.objects.filter(pk=found.pk).update(status=status, updated=timezone.now())
        CaseEvent.objects.create(
            diagnosis=found.diagnosis,
            kind=CaseEvent.Kind.TICKET,
            actor=request.user,
            detail=f"{found.reference} {status}",
        )
    return see_other(reverse("wizard:agent-ticket", args=[found.reference]))
