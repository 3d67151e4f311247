"""The diagnosis operations: start, read, answer, stop, outcome, escalate.

Every change goes through :mod:`wizard.diagnoses`. Who may change a diagnosis mirrors
``wizard.views.common.may_change``: anyone with its code while it is in progress; once it
is finished or escalated, only whoever started it — here, the integration whose key
started it — or an agent (a key with the ``agent`` scope).
"""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from ninja import Router, Status

from .. import diagnoses
from ..diagnoses import Outcome, Verdict, could_be_case_code, find_diagnosis
from ..forms import EscalationForm
from ..knowledge import Reply, get_snapshot, latest_revision_number
from ..models import ApiKey, Diagnosis
from ..ratelimit import count_miss, lookup_wait
from ..views import intake
from ..views.common import case_summary
from .api import ApiError, api
from .auth import Refused, keys
from .schemas import AnswerIn, Error, EscalationIn, OutcomeIn, StartIn, State, TicketOut
from .state import state

DIAGNOSE, AGENT = ApiKey.Scope.DIAGNOSE.value, ApiKey.Scope.AGENT.value
ERRORS = {400: Error, 401: Error, 403: Error, 404: Error, 422: Error, 429: Error}

router = Router(tags=["diagnoses"], auth=keys(DIAGNOSE, AGENT))


def load(request: HttpRequest, code: str) -> Diagnosis:
    """The diagnosis with this code, or 404. Codes that could be one and find nothing are
    guesses, limited per key as a merchant's are per address (wizard/ratelimit.py)."""
    counters = [("lookup-miss", f"api-key:{request.auth.pk}")]
    if wait := lookup_wait(counters):
        raise Refused(429, "too-many-misses", retry_after=wait)
    diagnosis = find_diagnosis(code)
    if diagnosis is None:
        if could_be_case_code(code):
            count_miss(counters)
        raise ApiError(404, "not-found", _("No diagnosis has this code."))
    return diagnosis


def may_change(key: ApiKey, diagnosis: Diagnosis) -> bool:
    """``diagnoses.may_change`` for a key: its integration stands for the browser."""
    return diagnoses.may_change(
        diagnosis, owner=diagnosis.integration_id == key.integration_id, agent=key.allows(AGENT)
    )


def changeable(request: HttpRequest, code: str) -> Diagnosis:
    diagnosis = load(request, code)
    if not may_change(request.auth, diagnosis):
        raise ApiError(
            403,
            "locked",
            _(
                "This diagnosis is finished or escalated: only whoever started it, or an agent, may change it."
            ),
        )
    return diagnosis


def invalid(field: str, message: str) -> ApiError:
    return ApiError(
        422,
        "validation",
        _("The request does not validate: see fields."),
        fields=[{"loc": ["body", "payload", field], "msg": str(message), "type": "value_error"}],
    )


def _token(request: HttpRequest, token: str) -> str:
    """A client's token for a retry, namespaced per integration: another integration's
    token (or a browser's) never finds this integration's diagnosis or ticket."""
    return f"api:{request.auth.integration_id}:{token}" if token else ""


@router.post(
    "/diagnoses", response={201: State, 503: Error, **ERRORS}, summary="Start a diagnosis", exclude_unset=True
)
def start(request: HttpRequest, payload: StartIn):
    """A new diagnosis asking its first question. With a `description`, the facts understood
    from it are answered at once (listed in `understood`), and the questions ask only the rest."""
    revision = latest_revision_number()
    if revision is None:
        raise ApiError(503, "unavailable", _("No knowledge is published yet."))
    description = payload.description.strip()
    items = intake.understood(get_snapshot(revision), description, payload.language) if description else []
    facts = [Reply(*item.value.split(":", 1)) for item in items]
    diagnosis = diagnoses.start(
        revision=revision,
        language=payload.language,
        channel=Diagnosis.Channel.API,
        description=description,
        facts=facts,
        integration=request.auth.integration,
        token=_token(request, payload.token),
    )
    understood = [
        {
            "symptom": item.symptom,
            "polarity": item.polarity,
            "label": item.label,
            "excerpt": item.excerpt,
            "question": fact.question,
            "answer": fact.option,
        }
        for item, fact in zip(items, facts, strict=True)
    ]
    return Status(201, state(diagnosis, understood=understood if description else None, request=request))


@router.get(
    "/diagnoses/{code}", response={200: State, **ERRORS}, summary="Read a diagnosis", exclude_unset=True
)
def read(request: HttpRequest, code: str):
    """Where the diagnosis stands: the question asked, or, once the questions stop, the result."""
    return state(load(request, code), request=request)


@router.post(
    "/diagnoses/{code}/answers",
    response={200: State, 409: Error, **ERRORS},
    summary="Answer a question",
    exclude_unset=True,
)
def answer(request: HttpRequest, code: str, payload: AnswerIn):
    """Answer the question at step `number` (the current one, or an earlier one to change it:
    the later answers, which depended on it, are dropped). A step that is not the one asked
    any more — answered meanwhile by another channel — is 409 with the current state."""
    diagnosis = changeable(request, code)
    submission = diagnoses.answer(
        diagnosis, payload.number, payload.question, payload.answer, seen=payload.seen
    )
    if submission.is_accepted:
        return state(submission.diagnosis, request=request)
    if submission.verdict == Verdict.BAD_OPTION:
        raise invalid("answer", _('That is not one of the question\'s answers (or "unsure").'))
    raise ApiError(
        409,
        "stale",
        _("That step is not the one being asked now: here is where the diagnosis stands."),
        state=state(submission.diagnosis, request=request),
    )


@router.post(
    "/diagnoses/{code}/finish",
    response={200: State, **ERRORS},
    summary="Show the result now",
    exclude_unset=True,
)
def finish(request: HttpRequest, code: str):
    """Stop asking, whatever the wizard would still ask, and give the result."""
    diagnosis = changeable(request, code)
    diagnoses.finish(diagnosis)
    return state(diagnosis, request=request)


@router.post(
    "/diagnoses/{code}/outcome",
    response={200: State, **ERRORS},
    summary="Say whether it worked",
    exclude_unset=True,
)
def outcome(request: HttpRequest, code: str, payload: OutcomeIn):
    """Fixed (by `solution`), or not fixed after trying the steps `tried`: those are not
    suggested again, and the ranking moves away from the causes they fix."""
    diagnosis = changeable(request, code)
    known = get_snapshot(diagnosis.revision_id).solution_index
    if payload.fixed and not payload.solution:
        raise invalid("solution", _("Please say which step fixed it."))
    if payload.solution and payload.solution not in known:
        raise invalid("solution", _("No step has this slug."))
    unknown = [slug for slug in payload.tried if slug not in known]
    if unknown:
        raise invalid("tried", _("No step has this slug: %(slug)s") % {"slug": unknown[0]})
    tried = list(dict.fromkeys([*payload.tried, *([payload.solution] if payload.solution else [])]))
    if not payload.fixed and not tried:
        raise invalid("tried", _("Please say which steps were tried."))
    diagnoses.record_outcome(
        diagnosis,
        Outcome.RESOLVED if payload.fixed else Outcome.NOT_FIXED,
        solution=payload.solution or "",
        tried=[] if payload.fixed else tried,
    )
    return state(diagnosis, request=request)


@router.post(
    "/diagnoses/{code}/escalation",
    response={201: TicketOut, **ERRORS},
    summary="Ask for a person to call",
    exclude_unset=True,
)
def escalate(request: HttpRequest, code: str, payload: EscalationIn):
    """A ticket with the whole diagnosis attached, for a person to call the merchant back.
    The contact details are checked as the wizard's form checks them, and only with the
    merchant's consent, given after they were shown the privacy notice."""
    diagnosis = changeable(request, code)
    form = EscalationForm(payload.model_dump())
    if not form.is_valid():
        errors = form.errors.get_json_data()
        raise ApiError(
            422,
            "validation",
            _("The request does not validate: see fields."),
            fields=[
                {
                    "loc": ["body", "payload", name],
                    "msg": error["message"],
                    "type": error["code"] or "invalid",
                }
                for name, field_errors in errors.items()
                for error in field_errors
            ],
        )
    contact = dict(form.cleaned_data)
    token = contact.pop("token")
    with translation.override(diagnosis.language):
        transcript = case_summary(diagnosis, diagnosis.language)
    ticket = diagnoses.escalate(
        diagnosis,
        token=_token(request, token),
        transcript=transcript,
        contact=contact,
    )
    diagnosis.refresh_from_db()
    return Status(
        201,
        {
            "ticket": ticket.reference,
            "status": ticket.status,
            "privacy_notice_url": request.build_absolute_uri(reverse("wizard:privacy")),
            "state": state(diagnosis, request=request),
        },
    )


api.add_router("", router)
