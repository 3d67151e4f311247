"""The merchant's wizard: landing, one question per page, results.

Every view serves both a full page and, for htmx requests, the page's ``content``
partial (swapped into ``<main>``). Plain POST → 303 redirect → GET; htmx follows the
redirect and pushes the final URL, so back, forward and reload behave the same with or
without JavaScript.
"""

from __future__ import annotations

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

from .. import flow
from ..forms import AnswerForm, CaseCodeForm, StartForm
from ..knowledge import UNSURE, get_snapshot, latest_revision_number
from ..models import Diagnosis, normalise_case_code


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


def given_answers(diagnosis: Diagnosis) -> list[flow.Given]:
    return [flow.Given(*given) for given in diagnosis.given()]


# ---------------------------------------------------------------------------------------


@require_GET
def landing(request: HtmxHttpRequest) -> HttpResponse:
    context = {
        "start_token": get_random_string(32),
        "case_form": CaseCodeForm(),
        "is_ready": latest_revision_number() is not None,
    }
    return page(request, "wizard/landing.html", context)


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
def resume(request: HtmxHttpRequest, code: str) -> HttpResponse:
    diagnosis = load(code)
    if diagnosis is None:
        return not_found(request, code)
    answers = given_answers(diagnosis)
    snapshot = get_snapshot(diagnosis.revision_id)
    if diagnosis.status != Diagnosis.Status.IN_PROGRESS or flow.evaluate(snapshot, answers).is_finished:
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
) -> HttpResponse:
    snapshot = get_snapshot(diagnosis.revision_id)
    position = flow.evaluate(snapshot, answers[: number - 1])
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


@require_http_methods(["GET", "POST"])
def step(request: HtmxHttpRequest, code: str, number: int) -> HttpResponse:
    diagnosis = load(code)
    if diagnosis is None:
        return not_found(request, code)
    answers = given_answers(diagnosis)
    snapshot = get_snapshot(diagnosis.revision_id)
    current = len(answers) + 1

    if number < 1 or number > current:
        if request.method == "GET" or flow.evaluate(snapshot, answers).is_finished:
            return see_other(reverse("wizard:resume", args=[diagnosis.code]))
        return _question_page(
            request,
            diagnosis,
            answers,
            current,
            error=_(
                "That question is not the one being asked now. Here is the current one; your answers are kept."
            ),
            status=400,
        )

    position = flow.evaluate(snapshot, answers[: number - 1])
    if position.is_finished:
        return see_other(reverse("wizard:result", args=[diagnosis.code]))
    expected = snapshot.questions[position.step.question]

    if request.method == "GET":
        return _question_page(request, diagnosis, answers, number)

    form = AnswerForm(request.POST)
    if not form.is_valid() or form.cleaned_data["question"] != expected["slug"]:
        return _question_page(
            request,
            diagnosis,
            answers,
            number,
            error=_(
                "That answer was for a question that is not the one being asked now. Your answers are kept; please answer this one."
            ),
            status=400,
        )
    option = form.cleaned_data["answer"]
    if option != UNSURE and option not in {a["slug"] for a in expected["answers"]}:
        return _question_page(
            request,
            diagnosis,
            answers,
            number,
            error=_(
                "That is not one of the answers to this question. Please choose one of the buttons below."
            ),
            status=400,
        )

    seen = form.cleaned_data["seen"]
    outcome = diagnosis.record_answer(
        number,
        expected["slug"],
        option,
        seen=len(answers) if seen is None else seen,
        by=request.user if request.user.is_authenticated else None,
        answers=answers,
    )
    if outcome == "conflict":
        answers = given_answers(diagnosis)
        if flow.evaluate(snapshot, answers).is_finished:
            return see_other(reverse("wizard:result", args=[diagnosis.code]))
        return _question_page(
            request,
            diagnosis,
            answers,
            len(answers) + 1,
            error=_(
                "This step was just answered elsewhere (another tab or an agent). "
                "Here is where the diagnosis stands now; nothing was lost."
            ),
            status=409,
        )
    if outcome == "recorded":
        answers = [*answers[: number - 1], flow.Given(expected["slug"], option)]

    after = flow.evaluate(snapshot, answers)
    if after.is_finished:
        _conclude(diagnosis, snapshot, answers)
        return see_other(reverse("wizard:result", args=[diagnosis.code]))
    if diagnosis.status != Diagnosis.Status.IN_PROGRESS:
        Diagnosis.objects.filter(pk=diagnosis.pk).update(status=Diagnosis.Status.IN_PROGRESS)
    return see_other(reverse("wizard:step", args=[diagnosis.code, len(answers) + 1]))


def _conclude(diagnosis: Diagnosis, snapshot, answers: list[flow.Given]) -> None:
    ranking = flow.result(snapshot, answers, diagnosis.language).ranking
    Diagnosis.objects.filter(pk=diagnosis.pk).update(status=Diagnosis.Status.DIAGNOSED, ranking=ranking)


@require_POST
def finish(request: HtmxHttpRequest, code: str) -> HttpResponse:
    """ "Show results now": stop asking, whatever the engine would still ask."""
    diagnosis = load(code)
    if diagnosis is None:
        return not_found(request, code)
    if diagnosis.status == Diagnosis.Status.IN_PROGRESS:
        _conclude(diagnosis, get_snapshot(diagnosis.revision_id), given_answers(diagnosis))
    return see_other(reverse("wizard:result", args=[diagnosis.code]))


@require_GET
def result(request: HtmxHttpRequest, code: str) -> HttpResponse:
    diagnosis = load(code)
    if diagnosis is None:
        return not_found(request, code)
    answers = given_answers(diagnosis)
    snapshot = get_snapshot(diagnosis.revision_id)
    outcome = flow.result(snapshot, answers, language())
    context = {
        "diagnosis": diagnosis,
        "result": outcome,
        "is_finished": diagnosis.status != Diagnosis.Status.IN_PROGRESS
        or flow.evaluate(snapshot, answers).is_finished,
        "next_number": len(answers) + 1,
        "is_latest": diagnosis.revision_id == latest_revision_number(),
    }
    return page(request, "wizard/result.html", context)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return render(request, "404.html", {"form": CaseCodeForm()}, status=404)
