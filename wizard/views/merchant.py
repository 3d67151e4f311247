"""The merchant's wizard: landing, one question per page, results.

Every view serves both a full page and, for htmx requests, the page's ``content``
partial (swapped into ``<main>``). Plain POST → 303 redirect → GET; htmx follows the
redirect and pushes the final URL, so back, forward and reload behave the same with or
without JavaScript.
"""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST, require_safe
from django_htmx.http import push_url, replace_url

from .. import diagnoses, flow, privacy, review
from ..diagnoses import Outcome, Verdict, could_be_case_code, find_diagnosis
from ..embed import started_from
from ..forms import (
    DESCRIPTION_LIMIT,
    AnswerForm,
    CaseCodeForm,
    DescriptionForm,
    EscalationForm,
    FeedbackForm,
    StartForm,
)
from ..knowledge import UNSURE, Snapshot, get_snapshot, latest_revision_number, text
from ..models import Diagnosis
from ..position import Limits, locate
from ..ratelimit import count_miss, lookup_wait, merchant_lookups, rate_limit, too_many_misses
from ..roles import is_agent
from . import intake
from .common import (
    HtmxHttpRequest,
    case_summary,
    guards_changes,
    hazards_of,
    is_ticket_reference,
    language,
    own,
    owns,
    page,
    see_other,
    small_number,
)


def not_found(request: HtmxHttpRequest, code: str = "") -> HttpResponse:
    form = CaseCodeForm(initial={"code": code})
    return page(request, "wizard/not_found.html", {"form": form, "code": code}, status=404)


def with_diagnosis(view):
    """Load the diagnosis named by the URL's case code, or answer with the friendly 404;
    or with a 429 once this address has tried too many codes that do not exist."""

    @wraps(view)
    def wrapper(request: HtmxHttpRequest, code: str, *args, **kwargs) -> HttpResponse:
        if wait := lookup_wait(merchant_lookups(request)):
            return too_many_misses(request, wait)
        diagnosis = find_diagnosis(code)
        if diagnosis is None:
            return _missed(request, code)
        return view(request, diagnosis, *args, **kwargs)

    return wrapper


def _missed(request: HtmxHttpRequest, code: str) -> HttpResponse:
    """The 404 for a code no case has. A code that could be one was a guess, and counts; a
    typo of the wrong length or alphabet could never find anything, and does not."""
    if could_be_case_code(code):
        count_miss(merchant_lookups(request))
    return not_found(request, code)


def _step_url(diagnosis: Diagnosis, number: int) -> str:
    return reverse("wizard:step", args=[diagnosis.code, number])


def _result_url(diagnosis: Diagnosis) -> str:
    return reverse("wizard:result", args=[diagnosis.code])


def _address(request: HtmxHttpRequest, response: HttpResponse, url: str) -> HttpResponse:
    """Keep the address bar (and so back, forward and reload) on the page htmx swaps in,
    where it is not the one the request named: a refused answer shows where the diagnosis
    stands now. The same address again replaces the history entry instead of adding one."""
    if request.htmx and not request.htmx.history_restore_request:
        if url == request.htmx.current_url_abs_path:
            replace_url(response, url)
        else:
            push_url(response, url)
    return response


def _changed_number(request: HtmxHttpRequest) -> int | None:
    """The answer just changed (``?changed=N``, set by the redirect after a change)."""
    return small_number(request.GET.get("changed", ""), maximum=1000)


def _without_notice(request: HtmxHttpRequest, response: HttpResponse) -> HttpResponse:
    """A page reached after a change tells what became of the other answers once; with
    htmx the address kept in history is the page's own, so back, forward and reload
    show the page without the notice."""
    if "changed" in request.GET and request.htmx and not request.htmx.history_restore_request:
        push_url(response, request.path)
    return response


# ---------------------------------------------------------------------------------------


@require_safe
def landing(request: HtmxHttpRequest) -> HttpResponse:
    revision = latest_revision_number()
    context = {
        "start_token": get_random_string(32),
        "case_form": CaseCodeForm(),
        "describe_form": DescriptionForm(),
        "limit": DESCRIPTION_LIMIT,
        "is_ready": revision is not None,
        "usual_questions": review.promised_questions(revision) if revision is not None else None,
    }
    return page(request, "wizard/landing.html", context)


@rate_limit("start")
@require_POST
def start(request: HtmxHttpRequest) -> HttpResponse:
    revision = latest_revision_number()
    if revision is None:
        return page(request, "wizard/unavailable.html", {}, status=503)
    if "description" in request.POST:
        started = intake.start_described(request, revision)
        if isinstance(started, HttpResponse):
            return started
        return own(request, see_other(_next_url(started)), started)
    form = StartForm(request.POST)
    token = form.cleaned_data["token"] if form.is_valid() else ""
    diagnosis = diagnoses.start(revision=revision, language=language(), token=token, **started_from(request))
    return own(request, see_other(_step_url(diagnosis, 1)), diagnosis)


def _next_url(diagnosis: Diagnosis) -> str:
    """Where a merchant picks up: the next question, or the result once they stopped."""
    if diagnoses.is_finished(diagnosis):
        return _result_url(diagnosis)
    return _step_url(diagnosis, len(diagnosis.trail) + 1)


@require_GET
def find_case(request: HtmxHttpRequest) -> HttpResponse:
    form = CaseCodeForm(request.GET)
    if not form.is_valid():
        return page(request, "wizard/not_found.html", {"form": form}, status=400)
    if wait := lookup_wait(merchant_lookups(request)):
        return too_many_misses(request, wait)
    diagnosis = find_diagnosis(form.cleaned_data["code"])
    if diagnosis is None:
        return _missed(request, request.GET.get("code", ""))
    return see_other(reverse("wizard:resume", args=[diagnosis.code]))


@require_GET
@with_diagnosis
def resume(request: HtmxHttpRequest, diagnosis: Diagnosis) -> HttpResponse:
    return see_other(_next_url(diagnosis))


def _question_page(
    request: HtmxHttpRequest,
    diagnosis: Diagnosis,
    number: int,
    *,
    error: str = "",
    status: int = 200,
    changed: int | None = None,
) -> HttpResponse:
    """Question ``number``: the one asked there, with the progress made before it; after
    answer ``changed`` was changed, what became of the other answers."""
    snapshot = get_snapshot(diagnosis.revision_id)
    given = diagnoses.replies(diagnosis)
    before = locate(snapshot, given[: number - 1], tried=diagnosis.tried, limits=diagnoses.limits(diagnosis))
    previous = given[number - 1] if number <= len(given) else None
    # An answered step shows the question it asked; the next one, the engine's choice.
    q = snapshot.question_index.get(previous.question) if previous else before.question
    if q is None:
        # Nothing is asked there any more (the diagnosis ended meanwhile): the result.
        return see_other(_result_url(diagnosis))
    context = {
        "diagnosis": diagnosis,
        "number": number,
        "question": flow.question_view(snapshot, q, language()),
        "progress": flow.progress_view(snapshot, before),
        "previous": previous.option if previous else "",
        "seen": len(given),
        "unsure": UNSURE,
        "error": error,
        "hazards": flow.hazard_warnings(snapshot, given, language()),
        "unsure_run": _unsure_run(given),
        "changed": flow.changed_answer(snapshot, given, changed, language()),
    }
    return page(request, "wizard/question.html", context, status=status)


def _unsure_run(given: list) -> bool:
    """Whether the last few answers were all "not sure": time to offer the result or a
    person instead of marching on."""
    run = settings.WIZARD_UNSURE_RUN
    return len(given) >= run and all(reply.option == UNSURE for reply in given[-run:])


ANSWER_ERRORS = {
    Verdict.CONFLICT: _(
        "This step was just answered elsewhere (another tab or an agent). "
        "Here is where the diagnosis stands now; nothing was lost."
    ),
    Verdict.BAD_OPTION: _(
        "That is not one of the answers to this question. Please choose one of the buttons below."
    ),
    Verdict.NOT_CURRENT: _(
        "That question is not the one being asked now. Here is the current one; your answers are kept."
    ),
}


@never_cache
@rate_limit("answer")
@require_http_methods(["GET", "POST"])
@with_diagnosis
@guards_changes
def step(request: HtmxHttpRequest, diagnosis: Diagnosis, number: int) -> HttpResponse:
    """A question page (never kept by the browser: after back, the page shows the answers
    as they are now, so a different answer is a change, not a clash), and its answers."""
    current = len(diagnosis.trail) + 1
    if request.method == "GET":
        if not 1 <= number <= current:
            return see_other(reverse("wizard:resume", args=[diagnosis.code]))
        # The next question of a case that stopped early is still there (back from the
        # result, or "continue"); _question_page shows the result when none is left.
        if number == current and diagnoses.is_finished(diagnosis) and not _still_answerable(diagnosis):
            return see_other(_result_url(diagnosis) + _query(request))
        response = _question_page(request, diagnosis, number, changed=_changed_number(request))
        return _without_notice(request, response)

    form = AnswerForm(request.POST)
    if not form.is_valid():
        verdict = Verdict.NOT_CURRENT
    else:
        submission = diagnoses.answer(
            diagnosis,
            number,
            form.cleaned_data["question"],
            form.cleaned_data["answer"],
            seen=form.cleaned_data["seen"],
            by=request.user if request.user.is_authenticated else None,
        )
        if submission.is_accepted or submission.verdict == Verdict.FINISHED:
            # After a change, the next page says which answers were kept.
            query = f"?changed={number}" if submission.changed else ""
            if submission.is_finished:
                return see_other(_result_url(diagnosis) + query)
            return see_other(_step_url(diagnosis, submission.next_number) + query)
        verdict = submission.verdict
    current = len(diagnosis.trail) + 1
    error = str(ANSWER_ERRORS[verdict])
    if verdict == Verdict.CONFLICT:
        if diagnoses.is_finished(diagnosis):
            response = _result_page(request, diagnosis, error=error, status=409)
            return _address(request, response, _result_url(diagnosis))
        response = _question_page(request, diagnosis, current, error=error, status=409)
        return _address(request, response, _step_url(diagnosis, current))
    shown = number if 1 <= number <= current else current
    response = _question_page(request, diagnosis, shown, error=error, status=400)
    return _address(request, response, _step_url(diagnosis, shown))


def _still_answerable(diagnosis: Diagnosis) -> bool:
    """Diagnosed but not settled: a question the engine would still ask (after "show
    results now") can be answered (see diagnoses.answer)."""
    return diagnosis.status == Diagnosis.Status.DIAGNOSED


def _query(request: HtmxHttpRequest) -> str:
    changed = _changed_number(request)
    return f"?changed={changed}" if changed else ""


@require_POST
@with_diagnosis
@guards_changes
def finish(request: HtmxHttpRequest, diagnosis: Diagnosis) -> HttpResponse:
    """ "Show results now": stop asking, whatever the engine would still ask."""
    diagnoses.finish(diagnosis)
    return see_other(_result_url(diagnosis))


# What the result page moves focus (and the view) to after a form on it: the confirmation
# the person is looking for, not the top of the page (static/js/app.js).
CONFIRMATIONS = {"fixed": "fixed", "not-fixed": "next-steps", "withdrawn": "withdrawn"}


@never_cache
@require_GET
@with_diagnosis
def result(request: HtmxHttpRequest, diagnosis: Diagnosis) -> HttpResponse:
    focus = next((focus for key, focus in CONFIRMATIONS.items() if request.GET.get(key) == "1"), "")
    response = _result_page(request, diagnosis, changed=_changed_number(request), focus=focus)
    return _without_notice(request, response)


def _result_page(
    request: HtmxHttpRequest,
    diagnosis: Diagnosis,
    *,
    feedback_form: FeedbackForm | None = None,
    status: int = 200,
    error: str = "",
    changed: int | None = None,
    focus: str = "",
) -> HttpResponse:
    snapshot = get_snapshot(diagnosis.revision_id)
    position = diagnoses.position(diagnosis, snapshot)
    lang = language()
    described = set(diagnosis.answers.filter(from_description=True).values_list("position", flat=True))
    context = {
        "diagnosis": diagnosis,
        "result": flow.result(snapshot, position, lang, described=described),
        "tried": [flow.solution_title(snapshot, slug, lang) for slug in diagnosis.tried if slug],
        "is_finished": diagnoses.is_finished(diagnosis) or position.is_finished,
        "can_ask_more": position.could_continue(Limits.for_case(extended=True)),
        "stop": position.stop,
        "next_question": text(snapshot.questions[position.question]["text"], lang)
        if position.question is not None
        else "",
        "hazards": flow.hazard_warnings(snapshot, position.replies, lang),
        "next_number": len(position.replies) + 1,
        "is_latest": diagnosis.revision_id == latest_revision_number(),
        "feedback_form": feedback_form,
        "tickets": list(diagnosis.tickets.all()) if owns(request, diagnosis) else [],
        "withdrawn": request.GET.get("withdrawn") == "1",
        "error": error,
        "changed": flow.changed_answer(snapshot, position.replies, changed, lang),
        "focus": "feedback-error" if feedback_form is not None and feedback_form.errors else focus,
        "today": timezone.localdate(),
    }
    return page(request, "wizard/result.html", context, status=status)


def _every_step(snapshot: Snapshot) -> list[tuple[str, str]]:
    """Any step of the revision may be named in feedback: the suggestions change as
    steps fail, and a page may be older than the last change."""
    return [(s["slug"], text(s["title"], language())) for s in snapshot.solutions]


@rate_limit("answer")
@require_POST
@with_diagnosis
@guards_changes
def feedback(request: HtmxHttpRequest, diagnosis: Diagnosis) -> HttpResponse:
    """ "Did it work?": fixed by a step, or not fixed after trying some steps."""
    form = FeedbackForm(request.POST, solutions=_every_step(get_snapshot(diagnosis.revision_id)))
    if not form.is_valid():
        return _result_page(request, diagnosis, feedback_form=form, status=400)
    outcome = form.cleaned_data["outcome"]
    diagnoses.record_outcome(
        diagnosis, outcome, solution=form.cleaned_data["solution"], tried=form.cleaned_data["tried"]
    )
    if outcome == Outcome.RESOLVED:
        return see_other(_result_url(diagnosis) + "?fixed=1#feedback")
    return see_other(_result_url(diagnosis) + "?not-fixed=1#next-steps")


@rate_limit("answer")
@require_POST
@with_diagnosis
@guards_changes
def ask_more(request: HtmxHttpRequest, diagnosis: Diagnosis) -> HttpResponse:
    """Keep narrowing down with the questions that still help: after a result that did not
    fix it (past the usual confidence), or to resume questions stopped early."""
    if diagnoses.ask_more(diagnosis, extended=request.POST.get("resume") != "1").is_finished:
        return see_other(_result_url(diagnosis))
    return see_other(_step_url(diagnosis, len(diagnosis.trail) + 1))


@never_cache
@rate_limit("escalate")
@require_http_methods(["GET", "POST"])
@with_diagnosis
@guards_changes(reading_too=True)
def escalate(request: HtmxHttpRequest, diagnosis: Diagnosis) -> HttpResponse:
    """Hand the case to a person: a ticket with the whole diagnosis attached."""
    if request.method == "GET":
        merchant_number = diagnosis.merchant_number if owns(request, diagnosis) else ""
        form = EscalationForm(initial={"token": get_random_string(32), "merchant_number": merchant_number})
        return page(request, "wizard/escalate.html", _escalate_context(diagnosis, form))
    form = EscalationForm(request.POST)
    if not form.is_valid():
        return page(request, "wizard/escalate.html", _escalate_context(diagnosis, form), status=400)
    contact = dict(form.cleaned_data)
    token = contact.pop("token")
    ticket = diagnoses.escalate(
        diagnosis, token=token, transcript=case_summary(diagnosis, diagnosis.language), contact=contact
    )
    # The contact details just given are this browser's to see.
    return own(
        request, see_other(reverse("wizard:escalated", args=[diagnosis.code, ticket.reference])), diagnosis
    )


def _escalate_context(diagnosis: Diagnosis, form: EscalationForm) -> dict:
    return {"diagnosis": diagnosis, "form": form, "hazards": hazards_of(diagnosis)}


@never_cache
@require_GET
@with_diagnosis
def escalated(request: HtmxHttpRequest, diagnosis: Diagnosis, reference: str) -> HttpResponse:
    """The confirmation of a request for help: only for the browser that sent it (it shows
    the contact details given) and agents; anyone else is told the case is not theirs."""
    if not (owns(request, diagnosis) or is_agent(request.user)):
        return page(request, "wizard/locked.html", {"diagnosis": diagnosis}, status=403)
    ticket = diagnosis.tickets.filter(reference=reference).first() if is_ticket_reference(reference) else None
    if ticket is None:
        if is_ticket_reference(reference):  # a guess at the reference of a real case
            count_miss(merchant_lookups(request))
        return not_found(request, diagnosis.code)
    context = {"diagnosis": diagnosis, "ticket": ticket, "hazards": hazards_of(diagnosis)}
    return page(request, "wizard/escalated.html", context)


@rate_limit("answer")
@require_POST
@with_diagnosis
def withdraw(request: HtmxHttpRequest, diagnosis: Diagnosis) -> HttpResponse:
    """Withdraw consent: the contact details given for this case are erased at once."""
    if not owns(request, diagnosis):
        return page(request, "wizard/locked.html", {"diagnosis": diagnosis}, status=403)
    privacy.erase_contact(diagnosis, reason="withdrawn by the merchant")
    return see_other(_result_url(diagnosis) + "?withdrawn=1#contact")


@require_safe
def privacy_notice(request: HtmxHttpRequest) -> HttpResponse:
    return page(request, "wizard/privacy.html", {})


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return render(request, "404.html", {"form": CaseCodeForm()}, status=404)
