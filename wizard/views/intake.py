"""Intake in the person's own words: what a description is understood as, confirmed
before it counts.

A merchant (on the landing page) or an agent (in the console, with the caller's words)
types what happened; the page shows each recognised fact, present or absent, as a ticked
item to untick; only the facts kept become answers, marked "from your description". The
understanding is deterministic, so the confirming POST recomputes it from the same text
and accepts only facts it yields: nothing else can be slipped in.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.utils.crypto import get_random_string
from django.views.decorators.http import require_POST

from .. import diagnoses
from ..embed import started_from
from ..forms import DESCRIPTION_LIMIT, ConfirmFactsForm, DescriptionForm
from ..knowledge import Reply, Snapshot, get_snapshot, latest_revision_number, text
from ..models import Diagnosis
from ..ratelimit import rate_limit
from .common import HtmxHttpRequest, language, page, see_other


@dataclass(frozen=True)
class Understood:
    """One fact as the confirm page shows it."""

    value: str  # "question:option", the checkbox's value
    symptom: str
    polarity: str  # "present" or "absent"
    label: str
    excerpt: str


def understood(snapshot: Snapshot, description: str, lang: str) -> list[Understood]:
    return [
        Understood(
            value=f"{reply.question}:{reply.option}",
            symptom=fact.symptom,
            polarity=fact.polarity,
            label=text(snapshot.symptoms[fact.symptom]["title"], lang),
            excerpt=fact.excerpt,
        )
        for fact, reply in snapshot.understand(description)
    ]


def confirmed(request: HtmxHttpRequest, snapshot: Snapshot) -> tuple[ConfirmFactsForm, list[Understood]]:
    """The confirm form, bound to what the same description is understood as now."""
    described = DescriptionForm(request.POST)
    items = (
        understood(snapshot, described.cleaned_data["description"], language())
        if described.is_valid()
        else []
    )
    form = ConfirmFactsForm(request.POST, understood=[(item.value, item.label) for item in items])
    return form, items


def chosen_facts(form: ConfirmFactsForm) -> list[Reply]:
    return [Reply(*value.split(":", 1)) for value in form.cleaned_data["fact"]]


def context(form, items: list[Understood], **extra) -> dict:
    return {"form": form, "items": items, "limit": DESCRIPTION_LIMIT, **extra}


# --- The merchant ------------------------------------------------------------------------


@rate_limit("start")
@require_POST
def describe(request: HtmxHttpRequest) -> HttpResponse:
    """What the merchant's description is understood as: the confirm page, or (for the
    live preview as they type) only the list."""
    revision = latest_revision_number()
    if revision is None:
        return page(request, "wizard/unavailable.html", {}, status=503)
    form = DescriptionForm(request.POST)
    items = (
        understood(get_snapshot(revision), form.cleaned_data["description"], language())
        if form.is_valid()
        else []
    )
    if request.htmx and request.POST.get("preview"):
        # Only the list, whatever was typed so far: the form says what is wrong on submit.
        response = render(request, "wizard/describe.html#understood", context(form, items, preview=True))
        patch_vary_headers(response, ("HX-Request",))
        return response
    status = 200 if form.is_valid() or request.htmx else 400
    return page(request, "wizard/describe.html", context(form, items, token=_token(request)), status=status)


def _token(request: HtmxHttpRequest) -> str:
    return request.POST.get("token", "")[:64] or get_random_string(32)


def start_described(request: HtmxHttpRequest, revision: int) -> HttpResponse | Diagnosis:
    """Start a diagnosis from a confirmed description: the diagnosis, or the confirm page
    again (400) when the form was tampered with or the understanding changed."""
    snapshot = get_snapshot(revision)
    form, items = confirmed(request, snapshot)
    if not form.is_valid():
        return page(request, "wizard/describe.html", context(form, items, token=_token(request)), status=400)
    return diagnoses.start(
        revision=revision,
        language=language(),
        token=form.cleaned_data["token"],
        description=form.cleaned_data["description"],
        facts=chosen_facts(form),
        **started_from(request),
    )


# --- The agent ---------------------------------------------------------------------------


def agent_describe(request: HtmxHttpRequest, diagnosis: Diagnosis) -> HttpResponse:
    """The caller's words, as the agent typed or pasted them: what they are understood as."""
    form = DescriptionForm(request.POST)
    if not form.is_valid():
        return page(request, "agent/describe.html", context(form, [], diagnosis=diagnosis), status=400)
    items = understood(get_snapshot(diagnosis.revision_id), form.cleaned_data["description"], language())
    return page(request, "agent/describe.html", context(form, items, diagnosis=diagnosis))


def agent_confirm(request: HtmxHttpRequest, diagnosis: Diagnosis, console_url: str) -> HttpResponse:
    """Record the facts the agent kept; 409 with the page again if the case changed."""
    form, items = confirmed(request, get_snapshot(diagnosis.revision_id))
    if not form.is_valid():
        return page(request, "agent/describe.html", context(form, items, diagnosis=diagnosis), status=400)
    submission = diagnoses.add_description(
        diagnosis, form.cleaned_data["description"], chosen_facts(form), by=request.user
    )
    if not submission.is_accepted:
        extra = {"diagnosis": submission.diagnosis, "conflict": True}
        return page(request, "agent/describe.html", context(form, items, **extra), status=409)
    return see_other(console_url)
