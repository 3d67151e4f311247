"""What a key with the ``agent`` scope may do besides diagnosing: read a case's timeline
(who answered what and when, its events and tickets) and keep its notes, as the agent
console does. Keys have no user account: what they do is recorded without a person."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router

from .. import diagnoses
from ..models import ApiKey
from .api import api
from .auth import keys
from .diagnoses import ERRORS, load
from .schemas import NotesIn, NotesOut, TimelineOut

router = Router(tags=["agent"], auth=keys(ApiKey.Scope.AGENT.value))


def _who(user) -> str:
    return user.get_username() if user is not None else str(_("merchant"))


@router.get("/diagnoses/{code}/timeline", response={200: TimelineOut, **ERRORS}, summary="A case's timeline")
def timeline(request: HttpRequest, code: str):
    """Every answer with who gave it and when, every event (opened, notes, outcome, ticket
    changes), the notes, and the tickets' references and status."""
    diagnosis = load(request, code)
    return {
        "code": diagnosis.code,
        "notes": diagnosis.notes,
        "answers": [
            {
                "number": a.position,
                "question": a.question,
                "answer": a.option,
                "by": _who(a.answered_by),
                "from_description": a.from_description,
                "at": a.created.isoformat(),
            }
            for a in diagnosis.answers.select_related("answered_by").order_by("position")
        ],
        "events": [
            {
                "kind": e.kind,
                "by": e.actor.get_username() if e.actor else "",
                "detail": e.detail,
                "at": e.created.isoformat(),
            }
            for e in diagnosis.events.select_related("actor")
        ],
        "tickets": [
            {"reference": t.reference, "status": t.status, "created": t.created.isoformat()}
            for t in diagnosis.tickets.order_by("created")
        ],
    }


@router.put("/diagnoses/{code}/notes", response={200: NotesOut, **ERRORS}, summary="Replace a case's notes")
def notes(request: HttpRequest, code: str, payload: NotesIn):
    diagnosis = load(request, code)
    diagnoses.save_notes(diagnosis, payload.notes, None)
    return {"notes": diagnosis.notes}


api.add_router("", router)
