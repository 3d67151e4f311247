"""The merchant's wizard: landing, one question per page, results.

Every view serves both a full page and, for htmx requests, the page's ``content``
partial (swapped into ``<main>``). Plain POST → 303 redirect → GET; htmx follows the
redirect and pushes the final URL, so back, forward and reload behave the same with or
without JavaScript.
"""

from __future__ import annotations

from functools import wraps

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.crypto import get_random_string
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.middleware import HtmxDetails

from .. import cases, flow
from ..forms import CaseCodeForm, EscalationForm, FeedbackForm, StartForm
from ..knowledge import UNSURE, get_snapshot, latest_revision_number
from ..models import CaseEvent, Diagnosis, Ticket, normalise_case_code
from ..ratelimit import rate_limit


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def page(request: HtmxHttpRequest, template: str, context: dict, *, status: int = 200) -> HttpResponse:
    """The whole page, or only its ``content`` partial for htmx."""
    name = f"{template}#content" if request.htmx and not request.htmx.history_restore_request else template
    response = render(request, name, context, status=status)
    patch_vary_headers(response, ("HX-Request",))
    return response


def see_other(url: str) -> HttpResponse:
    response = redirect(url)
    response.status_code = 303
    return response


def language() -> str:
    return get_language() or "zh-hans"


def not_found(request: HtmxHttpRequest, code: str = "") -> HttpResponse:
    form = CaseCodeForm(initial={"code": code})
    return page(request, "wizard/not_found.html", {"form": form, "code": code}, status=404)


def load(code: str) -> Diagnosis | None:
    return Diagnosis.objects.filter(code=normalise_case_code(code)).first()


given_answers = cases.answers_of


def with_diagnosis(view):
    """Load the diagnosis named by the URL's case code, or answer with the friendly 404."""

    @wraps(view)
    def wrapper(request: HtmxHttpRequest, code: str, *args, **kwargs) -> HttpResponse:
        diagnosis = load(code)
        if diagnosis is None:
            return not_found(request, code)
        return view(request, diagnosis, *args, **kwargs)

    return wrapper


# ---------------------------------------------------------------------------------------


@require_GET
def landing(request: HtmxHttpRequest) -> HttpResponse:
    context = {
        "start_token": get_random_string(32),
        "case_form": CaseCodeForm(),
        "is_ready": latest_revision_number() is not None,
    }
    return page(request, "wizard/landing.html", context)


@rate_limit("start")
@require_POST
def start(request: HtmxHttpRequest) -> HttpResponse:
    revision_number = latest_revision_number()
    if revision_number is None:
        return page(request, "wizard/unavailable.html", {}, status=503)
    form = StartForm(request.POST)
    token = form.cleaned_data["token"] if form.is_valid() else ""
    if token:
        existing = Diagnosis.objects.filter(start_token=token).first()
        if existing is not None:
            return see_other(reverse("wizard:step", args=[existing.code, 1]))
    try:
        with transaction.atomic():
            diagnosis = Diagnosis.objects.create(
                revision_id=revision_number, language=language(), start_token=token or None
            )
    except IntegrityError:
        # The same form submitted twice at the same moment: the first one won.
        diagnosis = Diagnosis.objects.get(start_token=token)
    else:
        cases.advance(diagnosis, [])
    return see_other(reverse("wizard:step", args=[diagnosis.code, 1]))


@require_GET
def find_case(request: HtmxHttpRequest) -> HttpResponse:
    form = CaseCodeForm(request.GET)
    if not form.is_valid():
        return page(request, "wizard/not_found.html", {"form": form}, status=400)
    diagnosis = load(form.cleaned_data["code"])
    if diagnosis is None:
        return not_found(request, request.GET.get("code", ""))
    return see_other(reverse("wizard:resume", args=[diagnosis.code]))


@require_GET
@with_diagnosis
def resume(request: HtmxHttpRequest, diagnosis: Diagnosis) -> HttpResponse:
    answers = given_answers(diagnosis)
    snapshot = get_snapshot(diagnosis.revision_id)
    if (
        diagnosis.status != Diagnosis.Status.IN_PROGRESS
        or cases.evaluate(diagnosis, snapshot, answers).is_finished
    ):
        return see_other(reverse("wizard:result", args=[diagnosis.code]))
    return see_other(reverse("wizard:step", args=[diagnosis.code, len(answers) + 1]))


def _question_page(
    request: HtmxHttpRequest,
    diagnosis: Diagnosis,
    answers: list[flow.Given],
    number: int,
    *,
    error: str = "",
    status: int = 200,
    position: flow.Position | None = None,
) -> HttpResponse:
    """Question ``number``; ``position`` (where the case stood before it) when known."""
    snapshot = get_snapshot(diagnosis.revision_id)
    if position is None:
        position = cases.evaluate(diagnosis, snapshot, answers[: number - 1])
    if position.is_finished:
        # Nothing is asked there any more (the diagnosis ended meanwhile): the result.
        return see_other(reverse("wizard:result", args=[diagnosis.code]))
    lang = language()
    previous = answers[number - 1] if number <= len(answers) else None
    context = {
        "diagnosis": diagnosis,
        "number": number,
        "question": flow.question_view(snapshot, position.step.question, lang),
        "progress": flow.progress(snapshot, position),
        "previous": previous.option if previous else "",
        "seen": len(answers),
        "unsure": UNSURE,
        "error": error,
    }
    return page(request, "wizard/question.html", context, status=status)


@rate_limit("answer")
@require_http_methods(["GET", "POST"])
@with_diagnosis
def step(request: HtmxHttpRequest, diagnosis: Diagnosis, number: int) -> HttpResponse:
    answers = given_answers(diagnosis)
    current = len(answers) + 1
    if request.method == "GET":
        if not 1 <= number <= current:
            return see_other(reverse("wizard:resume", args=[diagnosis.code]))
        position = cases.evaluate(diagnosis, get_snapshot(diagnosis.revision_id), answers[: number - 1])
        return _question_page(request, diagnosis, answers, number, position=position)

    by = request.user if request.user.is_authenticated else None
    submission = cases.submit_answer(diagnosis, answers, number, request.POST, by=by)
    if submission.is_accepted or submission.outcome == "finished":
        if submission.is_finished:
            return see_other(reverse("wizard:result", args=[diagnosis.code]))
        return see_other(reverse("wizard:step", args=[diagnosis.code, len(submission.answers) + 1]))
    answers = submission.answers
    if submission.outcome == "conflict":
        error = _(
            "This step was just answered elsewhere (another tab or an agent). "
            "Here is where the diagnosis stands now; nothing was lost."
        )
        return _question_page(request, diagnosis, answers, len(answers) + 1, error=error, status=409)
    if submission.outcome == "bad-option":
        error = _("That is not one of the answers to this question. Please choose one of the buttons below.")
        return _question_page(request, diagnosis, answers, number, error=error, status=400)
    error = _("That question is not the one being asked now. Here is the current one; your answers are kept.")
    shown = number if 1 <= number <= current else current
    return _question_page(request, diagnosis, answers, shown, error=error, status=400)


@require_POST
@with_diagnosis
def finish(request: HtmxHttpRequest, diagnosis: Diagnosis) -> HttpResponse:
    """ "Show results now": stop asking, whatever the engine would still ask."""
    if diagnosis.status == Diagnosis.Status.IN_PROGRESS:
        cases.advance(diagnosis, given_answers(diagnosis), stop=True)
    return see_other(reverse("wizard:result", args=[diagnosis.code]))


@require_GET
@with_diagnosis
def result(request: HtmxHttpRequest, diagnosis: Diagnosis) -> HttpResponse:
    return _result_page(request, diagnosis)


def _result_page(
    request: HtmxHttpRequest,
    diagnosis: Diagnosis,
    *,
    feedback_form: FeedbackForm | None = None,
    status: int = 200,
) -> HttpResponse:
    answers = given_answers(diagnosis)
    snapshot = get_snapshot(diagnosis.revision_id)
    outcome = flow.result(snapshot, answers, language(), tried=diagnosis.tried)
    position = cases.evaluate(diagnosis, snapshot, answers)
    context = {
        "diagnosis": diagnosis,
        "result": outcome,
        "tried": [flow.solution_title(snapshot, slug, language()) for slug in diagnosis.tried],
        "is_finished": diagnosis.status != Diagnosis.Status.IN_PROGRESS or position.is_finished,
        "can_ask_more": not flow.evaluate(
            snapshot, answers, tried=diagnosis.tried, extended=True
        ).is_finished,
        "next_number": len(answers) + 1,
        "is_latest": diagnosis.revision_id == latest_revision_number(),
        "feedback_form": feedback_form,
        "tickets": list(diagnosis.tickets.values_list("reference", flat=True)),
    }
    return page(request, "wizard/result.html", context, status=status)


@rate_limit("answer")
@require_POST
@with_diagnosis
def feedback(request: HtmxHttpRequest, diagnosis: Diagnosis) -> HttpResponse:
    """ "Did it work?": fixed by a step, or not fixed after trying some steps."""
    snapshot = get_snapshot(diagnosis.revision_id)
    answers = given_answers(diagnosis)
    # Any step ever suggested may be named: the list shrinks as steps fail.
    suggestions = flow.result(snapshot, answers, language()).solutions
    choices = [(s["slug"], s["title"]) for s in suggestions]
    choices += [(slug, slug) for slug in diagnosis.tried if slug not in dict(choices)]
    form = FeedbackForm(request.POST, solutions=choices)
    if not form.is_valid():
        return _result_page(request, diagnosis, feedback_form=form, status=400)
    if form.cleaned_data["outcome"] == "fixed":
        cases.record_outcome(diagnosis, CaseEvent.Kind.RESOLVED, solution=form.cleaned_data["solution"])
        return see_other(reverse("wizard:result", args=[diagnosis.code]) + "#feedback")
    cases.record_outcome(diagnosis, CaseEvent.Kind.NOT_FIXED, tried=form.cleaned_data["tried"])
    return see_other(reverse("wizard:result", args=[diagnosis.code]) + "?not-fixed=1#next-steps")


@rate_limit("answer")
@require_POST
@with_diagnosis
def ask_more(request: HtmxHttpRequest, diagnosis: Diagnosis) -> HttpResponse:
    """Not fixed: keep narrowing down with the questions that still help."""
    answers = given_answers(diagnosis)
    Diagnosis.objects.filter(pk=diagnosis.pk).update(wants_more=True, status=Diagnosis.Status.IN_PROGRESS)
    diagnosis.wants_more, diagnosis.status = True, Diagnosis.Status.IN_PROGRESS
    if cases.advance(diagnosis, answers).is_finished:
        return see_other(reverse("wizard:result", args=[diagnosis.code]))
    return see_other(reverse("wizard:step", args=[diagnosis.code, len(answers) + 1]))


@rate_limit("escalate")
@require_http_methods(["GET", "POST"])
@with_diagnosis
def escalate(request: HtmxHttpRequest, diagnosis: Diagnosis) -> HttpResponse:
    """Hand the case to a person: a ticket with the whole diagnosis attached."""
    if request.method == "GET":
        form = EscalationForm(
            initial={"token": get_random_string(32), "merchant_number": diagnosis.merchant_number}
        )
        return page(request, "wizard/escalate.html", {"diagnosis": diagnosis, "form": form})
    form = EscalationForm(request.POST)
    if not form.is_valid():
        return page(request, "wizard/escalate.html", {"diagnosis": diagnosis, "form": form}, status=400)
    data = form.cleaned_data
    token = data.pop("token") or None
    if token and (existing := Ticket.objects.filter(token=token).first()):
        return see_other(reverse("wizard:escalated", args=[diagnosis.code, existing.reference]))
    snapshot = get_snapshot(diagnosis.revision_id)
    answers = given_answers(diagnosis)
    transcript = cases.summary(diagnosis, snapshot, answers, diagnosis.language)
    try:
        with transaction.atomic():
            ticket = Ticket.objects.create(diagnosis=diagnosis, token=token, transcript=transcript, **data)
    except IntegrityError:
        ticket = Ticket.objects.get(token=token)  # the same form sent twice at once
    else:
        cases.record_outcome(diagnosis, CaseEvent.Kind.ESCALATED, detail=ticket.reference)
    return see_other(reverse("wizard:escalated", args=[diagnosis.code, ticket.reference]))


@require_GET
def escalated(request: HtmxHttpRequest, code: str, reference: str) -> HttpResponse:
    diagnosis = load(code)
    ticket = diagnosis.tickets.filter(reference=reference).first() if diagnosis else None
    if ticket is None:
        return not_found(request, code)
    return page(request, "wizard/escalated.html", {"diagnosis": diagnosis, "ticket": ticket})


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return render(request, "404.html", {"form": CaseCodeForm()}, status=404)
