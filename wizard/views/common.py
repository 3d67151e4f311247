"""What every page of the site shares: the request type, full page or htmx partial, and
the 303 that ends every POST."""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.utils.translation import get_language
from django_htmx.middleware import HtmxDetails

from .. import diagnoses, flow
from ..knowledge import get_snapshot
from ..models import CODE_ALPHABET, Answer, Diagnosis, Ticket
from ..roles import is_agent


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


def is_ticket_reference(reference: str) -> bool:
    """Whether ``reference`` has the shape of a ticket reference ("T-" and the code
    alphabet), the test a reference from the address passes before it is looked up."""
    longest = Ticket._meta.get_field("reference").max_length
    body = reference.removeprefix("T-")
    return (
        reference.startswith("T-")
        and len("T-") < len(reference) <= longest
        and all(ch in CODE_ALPHABET for ch in body)
    )


def small_number(text: str, maximum: int = 1_000_000) -> int | None:
    """The number in a query parameter, or None unless it is ASCII digits up to ``maximum``.

    ``str.isdigit()`` accepts "²", which ``int()`` refuses; and a huge number overflows the
    database's integers.
    """
    if not (text.isascii() and text.isdecimal()) or len(text) > len(str(maximum)):
        return None
    number = int(text)
    return number if number <= maximum else None


def answer_rows(diagnosis: Diagnosis) -> list[Answer]:
    """The stored answers in order, with who gave them."""
    return list(diagnosis.answers.select_related("answered_by").order_by("position"))


def case_summary(diagnosis: Diagnosis, lang: str) -> str:
    """The plain-text summary of a case, for a ticket or a download."""
    snapshot = get_snapshot(diagnosis.revision_id)
    position = diagnoses.position(diagnosis, snapshot)
    return flow.case_summary(diagnosis, snapshot, position, lang, rows=answer_rows(diagnosis))


def hazards_of(diagnosis: Diagnosis) -> list[dict[str, str]]:
    """The dangers reported in this case, for the warning on top of any page about it."""
    return flow.hazard_warnings(get_snapshot(diagnosis.revision_id), diagnoses.replies(diagnosis), language())


# --- Who may change a case ----------------------------------------------------------------
#
# A case code is meant to be shared (read aloud, printed, sent as a link), so it lets
# anyone see the questions and the result, and carry on a diagnosis still in progress.
# Once a case is finished or escalated, only the browser that started it or an agent may
# change it, and only that browser sees the contact details it gave (masked) and its
# ticket references. The browser keeps the codes it started in a signed cookie: it cannot
# add a code it did not start, and reading it costs no query.

OWNED_COOKIE = "cases"
OWNED_SALT = "wizard.owned-cases"
OWNED_LIMIT = 50  # the most recent cases a browser keeps the right to change


def _owned(request: HttpRequest) -> list[str]:
    value = request.get_signed_cookie(OWNED_COOKIE, default="", salt=OWNED_SALT)
    return [code for code in value.split(",") if code]


def own(request: HttpRequest, response: HttpResponse, diagnosis: Diagnosis) -> HttpResponse:
    """This browser started (or escalated) ``diagnosis``: it may change it from now on."""
    codes = [code for code in _owned(request) if code != diagnosis.code]
    response.set_signed_cookie(
        OWNED_COOKIE,
        ",".join([*codes, diagnosis.code][-OWNED_LIMIT:]),
        salt=OWNED_SALT,
        max_age=settings.DIAGNOSIS_RETENTION_DAYS * 24 * 3600,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    return response


def owns(request: HttpRequest, diagnosis: Diagnosis) -> bool:
    return diagnosis.code in _owned(request)


def may_change(request: HttpRequest, diagnosis: Diagnosis) -> bool:
    return diagnoses.may_change(diagnosis, owner=owns(request, diagnosis), agent=is_agent(request.user))


def guards_changes(view=None, *, reading_too: bool = False):
    """Answer 403 with the reason when this browser may not change the diagnosis (see
    above): for the requests that change something, or for every request (``reading_too``,
    a form that only leads to a change)."""

    def decorate(view):
        @wraps(view)
        def wrapper(request: HtmxHttpRequest, diagnosis: Diagnosis, *args, **kwargs) -> HttpResponse:
            changing = reading_too or request.method not in ("GET", "HEAD")
            if changing and not may_change(request, diagnosis):
                return page(request, "wizard/locked.html", {"diagnosis": diagnosis}, status=403)
            return view(request, diagnosis, *args, **kwargs)

        return wrapper

    return decorate(view) if view is not None else decorate
