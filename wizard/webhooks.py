"""Webhooks: signed JSON events posted to an integration when one of its diagnoses is
escalated (a ticket was created) or gets an outcome (fixed, not fixed).

wizard/diagnoses.py calls :func:`diagnosis_escalated` and :func:`diagnosis_outcome`; each
writes a :class:`WebhookDelivery` (the event, in the same transaction as the change) and,
once that transaction commits, enqueues the :func:`deliver` task on the "webhooks" queue
of the database task backend (django-tasks-db; ``manage.py db_worker`` runs it). A
delivery that fails is retried by a new task scheduled with ``run_after``, each wait
twice the last, up to ``WEBHOOK_MAX_ATTEMPTS`` attempts. The admin's delivery log shows
every attempt and can send an event again.

Each request carries ``X-Doctor-Signature: t=<unix time>,v1=<hex>``, the HMAC-SHA256 of
``"<t>.<body>"`` with the integration's webhook secret (Stripe's scheme); the recipe to
verify it is in docs/api.md.

What an event says (decided in docs/api.md, "What an event holds"): the
case code and what the diagnosis found, never the merchant's contact details.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from .models import Diagnosis, Integration, WebhookDelivery

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Doctor-Signature"
MAX_RETRY_WAIT = timedelta(hours=6)
KEPT_RESPONSE = 500  # characters of a refusing receiver's answer kept in the log
USER_AGENT = "POS-Upgrade-Doctor-Webhooks/1"


# --- Events --------------------------------------------------------------------------------


def _summary(diagnosis: Diagnosis) -> dict:
    """What every event says about the diagnosis: nothing that names a person."""
    return {
        "code": diagnosis.code,
        "status": diagnosis.status,
        "channel": diagnosis.channel,
        "language": diagnosis.language,
        "revision": diagnosis.revision_id,
        "top_cause": diagnosis.top_cause or None,
        "question_count": diagnosis.question_count,
        "is_fixed": diagnosis.is_fixed,
        "fixed_by": diagnosis.fixed_by or None,
        "tried": list(diagnosis.tried),
        "started": diagnosis.created.isoformat(),
    }


def diagnosis_escalated(diagnosis: Diagnosis) -> None:
    """The case went to a person: the merchant asked for help (a ticket was created), or
    an agent recorded the outcome "escalated" (the newest ticket, if any, is named)."""
    if diagnosis.integration_id is None:
        return
    ticket = diagnosis.tickets.order_by("-created").first()
    _emit(
        diagnosis,
        WebhookDelivery.Event.ESCALATED,
        {"ticket": {"reference": ticket.reference} if ticket is not None else None},
    )


def diagnosis_outcome(diagnosis: Diagnosis, outcome: str) -> None:
    """The merchant or an agent said whether the steps fixed it (``resolved`` or ``not-fixed``)."""
    _emit(diagnosis, WebhookDelivery.Event.OUTCOME, {"outcome": outcome})


def _emit(diagnosis: Diagnosis, event: str, data: dict) -> None:
    if diagnosis.integration_id is None:
        return  # most diagnoses: no query at all
    integration = (
        Integration.objects.filter(pk=diagnosis.integration_id, is_active=True)
        .exclude(webhook_url="")
        .first()
    )
    if integration is None:
        return
    delivery = WebhookDelivery(integration=integration, event_type=event, diagnosis_code=diagnosis.code)
    delivery.payload = {
        "id": delivery.event_id,
        "type": event,
        "created": timezone.now().isoformat(),
        "integration": integration.slug,
        "data": {**_summary(diagnosis), **data},
    }
    delivery.save()
    # robust: a queue that cannot be reached must not fail the merchant's request; the
    # event stays in the delivery log (no attempt yet) for "send again".
    transaction.on_commit(lambda: _enqueue(delivery.pk, attempt=1), robust=True)


# --- Delivery -----------------------------------------------------------------------------


def _enqueue(delivery_id: int, *, attempt: int, manual: bool = False, run_after=None) -> None:
    job = deliver.using(run_after=run_after) if run_after is not None else deliver
    job.enqueue(delivery_id, attempt, manual)


def send_again(delivery: WebhookDelivery) -> None:
    """One more attempt now (the admin's "send again"), delivered before or not: a
    receiver recognises a repeat by the event's id. An automatic retry still waiting
    finds the attempt count moved and stands down."""
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    _enqueue(delivery.pk, attempt=delivery.attempts + 1, manual=True)


def body_of(delivery: WebhookDelivery) -> bytes:
    return json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Doctor-Signature`` header's value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def retry_wait(attempt: int) -> timedelta:
    """How long to wait after failed attempt number ``attempt`` (1, 2, …)."""
    seconds = settings.WEBHOOK_RETRY_SECONDS * 2 ** (attempt - 1)
    return min(timedelta(seconds=seconds), MAX_RETRY_WAIT)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not a delivery: the receiver's address should be fixed."""

    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str]:
    """(status code or None, error text; empty when the receiver answered 2xx)."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _opener.open(request, timeout=settings.WEBHOOK_TIMEOUT) as response:
            return response.status, ""
    except urllib.error.HTTPError as error:
        answer = error.read(KEPT_RESPONSE).decode("utf-8", "replace")
        return error.code, f"HTTP {error.code}: {answer}".strip()
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        return None, f"{type(error).__name__}: {reason}"


@task(queue_name="webhooks")
def deliver(delivery_id: int, attempt: int, manual: bool = False) -> str:
    """Attempt number ``attempt`` of one delivery; on failure, schedule the next."""
    now = timezone.now()
    claimed = WebhookDelivery.objects.filter(pk=delivery_id, attempts=attempt - 1)
    if not manual:
        claimed = claimed.filter(delivered_at__isnull=True)
    # Claiming the attempt by its number: a retry and a "send again" never both send it.
    if not claimed.update(attempts=attempt, last_attempt_at=now, next_attempt_at=None):
        return "skipped"
    delivery = WebhookDelivery.objects.select_related("integration").get(pk=delivery_id)
    integration = delivery.integration
    if not integration.is_active or not integration.webhook_url:
        delivery.last_status_code, delivery.last_error = (
            None,
            "The integration is inactive or has no webhook URL.",
        )
        delivery.save(update_fields=["last_status_code", "last_error"])
        return "not sent"
    body = body_of(delivery)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "X-Doctor-Event": delivery.event_type,
        "X-Doctor-Delivery": delivery.event_id,
        SIGNATURE_HEADER: signature(integration.webhook_secret, int(time.time()), body),
    }
    status, error = _post(integration.webhook_url, body, headers)
    fields = {"last_status_code": status, "last_error": error}
    if status is not None and 200 <= status < 300:
        fields["delivered_at"] = timezone.now()
    elif attempt < settings.WEBHOOK_MAX_ATTEMPTS:
        fields["next_attempt_at"] = timezone.now() + retry_wait(attempt)
    WebhookDelivery.objects.filter(pk=delivery_id).update(**fields)
    if "delivered_at" in fields:
        return "delivered"
    logger.warning("Webhook %s to %s failed (attempt %d): %s", delivery.event_id, integration, attempt, error)
    if "next_attempt_at" in fields:
        _enqueue(delivery_id, attempt=attempt + 1, run_after=fields["next_attempt_at"])
        return "retry scheduled"
    return "gave up"
