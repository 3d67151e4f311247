"""Personal information as the law of the merchants' market (PIPL) expects: said before it
is collected, kept only for its purpose, erased on request or when its time is up, and
handed over on request.

What is personal here: a request for help's contact details (name, mobile number,
e-mail, merchant number), the caller's number and merchant number an agent notes on a
case, a description in the merchant's words, and the agents' notes. The answers and the
ranking are about a terminal, not a person, and stay for the insights.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import phones
from .models import CaseEvent, Diagnosis, Ticket

# Raised whenever the notice's text changes, so that each consent says what was read.
NOTICE_VERSION = "2026-11-26"
WITHDRAWN = "—"  # what an erased detail reads as in a transcript or notes


def periods() -> dict[str, int]:
    """How long each kind of personal data is kept, in days, from the settings."""
    return {
        "contact": settings.CONTACT_RETENTION_DAYS,
        "diagnosis": settings.DIAGNOSIS_RETENTION_DAYS,
        "logins": settings.LOGIN_LOG_RETENTION_DAYS,
    }


def notice_context() -> dict[str, Any]:
    """What the privacy notice says: on the privacy page and at every point of collection."""
    return {
        "notice_version": NOTICE_VERSION,
        "periods": periods(),
        "controller": settings.PRIVACY_CONTROLLER,
        "privacy_contact": settings.PRIVACY_CONTACT,
    }


def notice(request) -> dict[str, Any]:
    """Context processor: the notice's figures for any page that collects personal data."""
    return notice_context()


def _variants(value: str) -> set[str]:
    """The ways a stored value may have been written into free text."""
    if not value:
        return set()
    found = {value}
    if value.startswith("+"):
        found |= {phones.display(value), value.removeprefix("+86")}
    return {v for v in found if v}


def _scrub(text: str, values: Iterable[str]) -> str:
    for value in sorted({v for raw in values for v in _variants(raw)}, key=len, reverse=True):
        text = text.replace(value, WITHDRAWN)
    return text


@transaction.atomic
def erase_contact(diagnosis: Diagnosis, *, by=None, reason: str = "withdrawn") -> int:
    """Erase the contact details of a case — every ticket's and the caller's details on
    the case — and every copy of them in transcripts and notes; consent ends. Recorded
    with who and when, never with the erased values. Returns how many tickets held some."""
    tickets = list(diagnosis.tickets.select_for_update().filter(contact_erased_at__isnull=True))
    values = [diagnosis.phone, diagnosis.merchant_number]
    for ticket in tickets:
        values += [ticket.name, ticket.phone, ticket.email, ticket.merchant_number]
    now = timezone.now()
    for ticket in tickets:
        Ticket.objects.filter(pk=ticket.pk).update(
            name="",
            phone="",
            email="",
            merchant_number="",
            has_consent=False,
            transcript=_scrub(ticket.transcript, values),
            contact_erased_at=now,
            updated=now,
        )
    had_details = bool(tickets) or any(values)
    if had_details:
        Diagnosis.objects.filter(pk=diagnosis.pk).update(
            phone="", merchant_number="", notes=_scrub(diagnosis.notes, values), updated=now
        )
        CaseEvent.objects.create(diagnosis=diagnosis, kind=CaseEvent.Kind.WITHDRAWN, actor=by, detail=reason)
    diagnosis.refresh_from_db()
    return len(tickets)


def contact_expired(cutoff: datetime):
    """Tickets closed before ``cutoff`` whose contact details are still kept."""
    return Ticket.objects.filter(
        status=Ticket.Status.CLOSED, updated__lt=cutoff, contact_erased_at__isnull=True
    ).select_related("diagnosis")


def erase_expired_contacts(cutoff: datetime, *, dry_run: bool = False) -> int:
    """Erase the contact details whose purpose is over; returns how many tickets."""
    tickets = contact_expired(cutoff)
    if dry_run:
        return tickets.count()
    erased = 0
    for diagnosis in Diagnosis.objects.filter(tickets__in=tickets).distinct():
        # Only when every request for help of the case is closed: open work keeps its details.
        if not diagnosis.tickets.exclude(status=Ticket.Status.CLOSED).exists():
            erased += erase_contact(diagnosis, reason="retention")
    return erased


def export_text(diagnosis: Diagnosis, lines_of_case: str) -> str:
    """Everything held about a case, as plain text, for a person's access request:
    ``lines_of_case`` (its summary: answers, ranking, steps, notes) and every request
    for help with its contact details and consent."""
    out = [
        _("Personal information held about case %(code)s") % {"code": diagnosis.display_code},
        _("Produced at %(when)s") % {"when": f"{timezone.localtime():%Y-%m-%d %H:%M}"},
        "",
        lines_of_case,
        "",
        _("Description in the merchant's words"),
        diagnosis.description or "—",
        "",
        _("Requests for help"),
    ]
    for ticket in diagnosis.tickets.order_by("created"):
        out += [
            f"{ticket.reference} · {ticket.get_status_display()} · {timezone.localtime(ticket.created):%Y-%m-%d %H:%M}",
            f"  {_('Name')}: {ticket.name or '—'}",
            f"  {_('Mobile number')}: {phones.display(ticket.phone) if ticket.phone else '—'}",
            f"  {_('E-mail')}: {ticket.email or '—'}",
            f"  {_('Merchant number')}: {ticket.merchant_number or '—'}",
            f"  {_('Consent')}: "
            + (
                _("given at %(when)s (notice %(version)s)")
                % {
                    "when": f"{timezone.localtime(ticket.consented_at):%Y-%m-%d %H:%M}",
                    "version": ticket.notice_version,
                }
                if ticket.consented_at
                else "—"
            ),
        ]
        if ticket.contact_erased_at:
            out.append(
                f"  {_('Contact details erased at %(when)s') % {'when': f'{timezone.localtime(ticket.contact_erased_at):%Y-%m-%d %H:%M}'}}"
            )
    if not diagnosis.tickets.exists():
        out.append("—")
    return "\n".join(out) + "\n"
