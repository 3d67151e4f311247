"""The call-center agent's console: start or open a case, walk the caller through it.

The console is one page per case. Answers, notes and outcomes are plain POSTs that
redirect back to it; with htmx the page's ``content`` partial is swapped in place, so
the live ranking moves with every answer without a reload. Every action is attributed
to the agent (answers carry ``answered_by``; the rest is a :class:`CaseEvent`).
"""

from __future__ import annotations

from functools import wraps

from django.contrib.auth import views as auth_views
from django.contrib.auth.views import redirect_to_login
from django.db.models import Q
from django.http import HttpResponse, HttpResponseForbidden, HttpResponseNotAllowed
from django.shortcuts import render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from .. import diagnoses, flow, privacy
from ..diagnoses import Verdict, could_be_case_code, find_diagnosis
from ..forms import (
    AgentLoginForm,
    AgentStartForm,
    AnswerForm,
    CaseCodeForm,
    DescriptionForm,
    NotesForm,
    OutcomeForm,
)
from ..knowledge import UNSURE, get_snapshot, latest_revision_number, text
from ..models import Diagnosis, Ticket
from ..position import Limits
from ..ratelimit import agent_lookups, count_miss, lookup_wait, minutes
from ..roles import is_agent
from . import intake
from .common import (
    HtmxHttpRequest,
    answer_rows,
    case_summary,
    hazards_of,
    is_ticket_reference,
    language,
    page,
    see_other,
    small_number,
)


def agent_required(view):
    """Agents only (and superusers; see wizard.roles); and every console page holds
    personal data (callers' numbers, notes), so no browser or proxy keeps a copy of it."""

    @wraps(view)
    @never_cache
    def wrapper(request: HtmxHttpRequest, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("wizard:agent-login"))
        if not is_agent(request.user):
            return HttpResponseForbidden(_("This console is for call-center agents."))
        return view(request, *args, **kwargs)

    return wrapper


class AgentLoginView(auth_views.LoginView):
    template_name = "agent/login.html"
    authentication_form = AgentLoginForm
    redirect_authenticated_user = True
    next_page = reverse_lazy("wizard:agent-home")


def _case(code: str) -> Diagnosis | None:
    return find_diagnosis(code, "agent")


def _console_url(diagnosis: Diagnosis) -> str:
    return reverse("wizard:agent-case", args=[diagnosis.code])


def with_case(view):
    """Load the case named by the URL's code, or answer with the console's 404; or with a
    429 once this agent (or everyone at this address) tried too many unknown codes."""

    @wraps(view)
    def wrapper(request: HtmxHttpRequest, code: str, *args, **kwargs) -> HttpResponse:
        if wait := lookup_wait(agent_lookups(request)):
            return _too_many_misses(request, wait)
        diagnosis = _case(code)
        if diagnosis is None:
            _missed(request, could_be_case_code(code))
            return _not_found(request, code)
        return view(request, diagnosis, *args, **kwargs)

    return wrapper


def case_form(view):
    """A console form's POST-only address, opened with GET (an address bar left there by
    a page without JavaScript, a bookmark, an old history entry), shows the case: never
    a bare 405."""

    @wraps(view)
    def wrapper(request: HtmxHttpRequest, diagnosis: Diagnosis, *args, **kwargs) -> HttpResponse:
        if request.method in ("GET", "HEAD"):
            return see_other(_console_url(diagnosis))
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        return view(request, diagnosis, *args, **kwargs)

    return wrapper


def stays_on_case(view):
    """A console form answered in place (an error, the caller's words understood) leaves
    the case page's address in the address bar, not the POST-only one it was sent to:
    a reload or a bookmark then shows the case instead of a 405. A redirect needs
    nothing: htmx follows it and shows where it led."""

    @wraps(view)
    def wrapper(request: HtmxHttpRequest, diagnosis: Diagnosis, *args, **kwargs) -> HttpResponse:
        response = view(request, diagnosis, *args, **kwargs)
        if request.htmx and not 300 <= response.status_code < 400 and "HX-Replace-Url" not in response:
            response["HX-Replace-Url"] = _console_url(diagnosis)
        return response

    return wrapper


def _not_found(request: HtmxHttpRequest, code: str) -> HttpResponse:
    return page(
        request,
        "agent/not_found.html",
        {"code": code, "form": CaseCodeForm(initial={"code": code})},
        status=404,
    )


# Failed look-ups of case codes and ticket references are limited per agent, and more
# loosely per address, so that codes cannot be guessed by trying many of them
# (wizard/ratelimit.py). Only a code of the right shape is a guess worth counting.
def _missed(request: HtmxHttpRequest, was_a_guess: bool) -> None:
    if was_a_guess:
        count_miss(agent_lookups(request))


def _wait_message(retry_after: int) -> str:
    wait = minutes(retry_after)
    return ngettext(
        "Several case codes or ticket references in a row were not found, so look-ups are paused. "
        "Ask the caller to read the code again, letter by letter, and try again in %(minutes)d minute.",
        "Several case codes or ticket references in a row were not found, so look-ups are paused. "
        "Ask the caller to read the code again, letter by letter, and try again in %(minutes)d minutes.",
        wait,
    ) % {"minutes": wait}


def _too_many_misses(request: HtmxHttpRequest, retry_after: int, *, notice: bool = False) -> HttpResponse:
    """429 with the wait: the console's page, or only a notice for the background poll."""
    context = {"message": _wait_message(retry_after)}
    if notice:
        response = render(request, "agent/too_many.html#notice", context, status=429)
    else:
        response = page(request, "agent/too_many.html", context, status=429)
    response["Retry-After"] = str(retry_after)
    return response


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
    diagnosis = diagnoses.start(
        revision=revision,
        language=language(),
        channel=Diagnosis.Channel.AGENT,
        agent=request.user,
        **form.cleaned_data,
    )
    return see_other(_console_url(diagnosis))


@require_GET
@agent_required
def open_case(request: HtmxHttpRequest) -> HttpResponse:
    if wait := lookup_wait(agent_lookups(request)):
        return _too_many_misses(request, wait)
    form = CaseCodeForm(request.GET)
    if not form.is_valid():
        return page(
            request, "agent/not_found.html", {"form": form, "code": request.GET.get("code", "")}, status=400
        )
    diagnosis = _case(form.cleaned_data["code"])
    if diagnosis is None:
        _missed(request, True)
        return _not_found(request, request.GET.get("code", ""))
    diagnoses.open_by_agent(diagnosis, request.user)
    return see_other(_console_url(diagnosis))


def _console(
    request: HtmxHttpRequest,
    diagnosis: Diagnosis,
    *,
    number: int | None = None,
    error: str = "",
    status: int = 200,
    notes: str | None = None,
) -> HttpResponse:
    """The whole case on one page, from one engine run: the question at step ``number``
    (the next one by default), why it is asked, the live ranking, the timeline, notes,
    outcome and the summary to copy."""
    snapshot = get_snapshot(diagnosis.revision_id)
    lang = language()
    rows = answer_rows(diagnosis)
    position = diagnoses.position(diagnosis, snapshot)
    given = position.replies
    number = len(given) + 1 if number is None else max(1, min(number, len(given) + 1))
    # An answered step shows the question it asked, to change it, while the questions
    # may still move (after "show results now" too); the next step, the engine's choice.
    is_changeable = diagnosis.status in (Diagnosis.Status.IN_PROGRESS, Diagnosis.Status.DIAGNOSED)
    if not is_changeable:
        number = len(given) + 1
    q = snapshot.question_index.get(given[number - 1].question) if number <= len(given) else position.question
    is_finished = number > len(given) and (position.is_finished or not diagnosis.is_open)
    question = None if is_finished or q is None else flow.question_view(snapshot, q, lang)
    outcome = flow.result(snapshot, position, lang, for_agent=True)
    timeline = flow.transcript(
        snapshot, given, lang, described={a.position for a in rows if a.from_description}
    )
    for row, answer in zip(timeline, rows, strict=True):
        row["by"] = answer.answered_by.get_username() if answer.answered_by else _("merchant")
        row["at"] = answer.created
    context = {
        "diagnosis": diagnosis,
        "number": number,
        "seen": len(given),
        "question": question,
        "why": flow.why_question(snapshot, position, q, lang) if question else [],
        "previous": given[number - 1].option if number <= len(given) else "",
        "unsure": UNSURE,
        "candidates": flow.candidates(snapshot, position, lang),
        "progress": flow.progress_view(snapshot, position),
        "timeline": timeline,
        "events": diagnosis.events.select_related("actor"),
        "result": outcome,
        "is_finished": position.is_finished or not diagnosis.is_open,
        "is_changeable": is_changeable,
        # Stopped early ("show results now"), or confident but more questions could help.
        "can_continue": is_changeable and position.stop == "early",
        "can_ask_more": is_changeable
        and position.stop != "early"
        and position.could_continue(Limits.for_case(extended=True)),
        "notes_form": NotesForm(initial={"notes": diagnosis.notes if notes is None else notes}),
        "describe_form": DescriptionForm(),
        "outcome_form": OutcomeForm(solutions=[(s["slug"], s["title"]) for s in outcome.solutions]),
        "summary": flow.case_summary(diagnosis, snapshot, position, lang, rows=rows),
        "error": error,
        "hazards": flow.hazard_warnings(snapshot, given, lang),
    }
    response = page(request, "agent/console.html", context, status=status)
    if request.method == "POST":  # an error shown in place: the address is the step's page
        step = f"?step={number}" if number <= len(given) else ""
        response["HX-Replace-Url"] = _console_url(diagnosis) + step
    return response


@require_GET
@agent_required
@with_case
def console(request: HtmxHttpRequest, diagnosis: Diagnosis) -> HttpResponse:
    return _console(request, diagnosis, number=small_number(request.GET.get("step", "")))


def _save_typed_notes(request: HtmxHttpRequest, diagnosis: Diagnosis) -> str:
    """Typed notes travel with the console's forms (answers, outcome, show results), so
    none are lost when the page changes before they saved by themselves. The error, if
    they cannot be saved."""
    if "notes" not in request.POST:
        return ""
    notes = NotesForm(request.POST)
    if not notes.is_valid():
        return _notes_error(notes)
    diagnoses.save_notes(diagnosis, notes.cleaned_data["notes"], request.user)
    return ""


@agent_required
@with_case
@stays_on_case
@case_form
def answer(request: HtmxHttpRequest, diagnosis: Diagnosis, number: int) -> HttpResponse:
    if error := _save_typed_notes(request, diagnosis):
        return _console(
            request, diagnosis, number=number, error=error, status=400, notes=request.POST["notes"]
        )
    form = AnswerForm(request.POST)
    verdict = Verdict.NOT_CURRENT
    if form.is_valid():
        verdict = diagnoses.answer(
            diagnosis,
            number,
            form.cleaned_data["question"],
            form.cleaned_data["answer"],
            seen=form.cleaned_data["seen"],
            by=request.user,
        ).verdict
    if verdict == Verdict.CONFLICT:
        error = _(
            "The merchant (or another agent) answered this step a moment ago. Here is where the case stands now."
        )
        return _console(request, diagnosis, error=error, status=409)
    if not verdict.is_accepted:
        error = _("That answer does not match the question being asked now.")
        return _console(request, diagnosis, number=number, error=error, status=400)
    return see_other(_console_url(diagnosis))


@agent_required
@with_case
@stays_on_case
@case_form
def finish(request: HtmxHttpRequest, diagnosis: Diagnosis) -> HttpResponse:
    if error := _save_typed_notes(request, diagnosis):
        return _console(request, diagnosis, error=error, status=400, notes=request.POST["notes"])
    diagnoses.finish(diagnosis)
    return see_other(_console_url(diagnosis))


@agent_required
@with_case
@stays_on_case
@case_form
def ask_more(request: HtmxHttpRequest, diagnosis: Diagnosis) -> HttpResponse:
    """Take the questions up again: after "show results now" (``resume``), or past the
    usual confidence for a few more. Either way the console shows the next question."""
    if error := _save_typed_notes(request, diagnosis):
        return _console(request, diagnosis, error=error, status=400, notes=request.POST["notes"])
    diagnoses.ask_more(diagnosis, extended=request.POST.get("resume") != "1")
    return see_other(_console_url(diagnosis))


@agent_required
@with_case
@stays_on_case
@case_form
def describe(request: HtmxHttpRequest, diagnosis: Diagnosis) -> HttpResponse:
    return intake.agent_describe(request, diagnosis)


@agent_required
@with_case
@stays_on_case
@case_form
def confirm_facts(request: HtmxHttpRequest, diagnosis: Diagnosis) -> HttpResponse:
    return intake.agent_confirm(request, diagnosis, _console_url(diagnosis))


@agent_required
@with_case
@case_form
def notes(request: HtmxHttpRequest, diagnosis: Diagnosis) -> HttpResponse:
    form = NotesForm(request.POST)
    if not form.is_valid():
        return HttpResponse(_notes_error(form), content_type="text/plain; charset=utf-8", status=400)
    diagnoses.save_notes(diagnosis, form.cleaned_data["notes"], request.user)
    if request.htmx:
        saved_at = timezone.localtime().strftime("%H:%M:%S")
        return HttpResponse(_("Saved at %(time)s") % {"time": saved_at})
    return see_other(_console_url(diagnosis))


def _notes_error(form: NotesForm) -> str:
    return " ".join(form.errors["notes"])


@agent_required
@with_case
@stays_on_case
@case_form
def outcome(request: HtmxHttpRequest, diagnosis: Diagnosis) -> HttpResponse:
    typed = request.POST.get("notes")
    if error := _save_typed_notes(request, diagnosis):
        return _console(request, diagnosis, error=error, status=400, notes=typed)
    snapshot = get_snapshot(diagnosis.revision_id)
    steps = [(s["slug"], text(s["title"], language())) for s in snapshot.solutions]
    form = OutcomeForm(request.POST, solutions=steps)
    if not form.is_valid():
        return _console(
            request,
            diagnosis,
            error=" ".join(form.errors.get("__all__", [])) or _("Choose an outcome."),
            status=400,
            notes=typed,
        )
    diagnoses.record_outcome(
        diagnosis, form.cleaned_data["kind"], solution=form.cleaned_data["solution"], by=request.user
    )
    return see_other(_console_url(diagnosis))


@require_GET
@agent_required
@with_case
def summary(request: HtmxHttpRequest, diagnosis: Diagnosis) -> HttpResponse:
    response = HttpResponse(case_summary(diagnosis, language()), content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="case-{diagnosis.code}.txt"'
    return response


@require_GET
@agent_required
def state(request: HtmxHttpRequest, code: str) -> HttpResponse:
    """Polled by the console: 204 while nothing changed, a notice once someone answered."""
    if wait := lookup_wait(agent_lookups(request)):
        return _too_many_misses(request, wait, notice=True)
    diagnosis = _case(code)
    if diagnosis is None:
        _missed(request, could_be_case_code(code))
        return HttpResponse(status=404)
    seen = small_number(request.GET.get("seen", ""))
    if seen is not None and diagnosis.answers.count() == seen:
        return HttpResponse(status=204)
    return render(request, "agent/console.html#changed", {"diagnosis": diagnosis})


def with_ticket(view):
    """Load the ticket named by the URL's reference, as ``with_case`` loads a case."""

    @wraps(view)
    def wrapper(request: HtmxHttpRequest, reference: str, *args, **kwargs) -> HttpResponse:
        if wait := lookup_wait(agent_lookups(request)):
            return _too_many_misses(request, wait)
        found = _find_ticket(reference)
        if found is None:
            _missed(request, is_ticket_reference(reference.upper()))
            return _not_found(request, "")
        return view(request, found, *args, **kwargs)

    return wrapper


@require_GET
@agent_required
@with_ticket
def ticket(request: HtmxHttpRequest, found: Ticket) -> HttpResponse:
    return page(request, "agent/ticket.html", _ticket_context(found))


@require_POST
@agent_required
@with_ticket
def ticket_status(request: HtmxHttpRequest, found: Ticket) -> HttpResponse:
    """Work a ticket: open → in progress → closed (any order; every change is logged)."""
    status = request.POST.get("status", "")
    if status not in Ticket.Status.values:
        context = {**_ticket_context(found), "error": _("Choose a status.")}
        response = page(request, "agent/ticket.html", context, status=400)
        response["HX-Replace-Url"] = reverse("wizard:agent-ticket", args=[found.reference])  # not the POST's
        return response
    diagnoses.set_ticket_status(found, status, request.user)
    return see_other(reverse("wizard:agent-ticket", args=[found.reference]))


@require_POST
@agent_required
@with_ticket
def ticket_withdraw(request: HtmxHttpRequest, found: Ticket) -> HttpResponse:
    """The caller asks for their contact details to be deleted: erased everywhere, with
    who did it and when kept in the case's events (not the erased values)."""
    privacy.erase_contact(found.diagnosis, by=request.user, reason="at the caller's request")
    return see_other(reverse("wizard:agent-ticket", args=[found.reference]))


@require_GET
@agent_required
@with_case
def personal_data(request: HtmxHttpRequest, diagnosis: Diagnosis) -> HttpResponse:
    """Everything held about a case, as plain text, for a merchant's access request."""
    text = privacy.export_text(diagnosis, case_summary(diagnosis, language()))
    response = HttpResponse(text, content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{diagnosis.code}-personal-data.txt"'
    return response


def _find_ticket(reference: str) -> Ticket | None:
    reference = reference.upper()
    if not is_ticket_reference(reference):
        return None
    return Ticket.objects.select_related("diagnosis").filter(reference=reference).first()


def _ticket_context(ticket: Ticket) -> dict:
    return {"ticket": ticket, "statuses": Ticket.Status.choices, "hazards": hazards_of(ticket.diagnosis)}
