"""Webhooks (wizard/webhooks.py): signed events for escalations and outcomes, delivered by
the django-tasks-db worker to a local receiver, retried with back-off, logged in the admin."""

from __future__ import annotations

import json
import re
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from wizard import diagnoses, webhooks
from wizard.diagnoses import Outcome
from wizard.models import Diagnosis, Integration, Ticket, WebhookDelivery

from .conftest import make_agent

DOCS = Path(__file__).resolve().parent.parent / "docs" / "api.md"
EMBED = "/embed/pay/"
CONTACT = {
    "name": "王老板",
    "phone": "138 0013 8000",
    "email": "boss@example.com",
    "merchant_number": "898110000000001",
}


def documented_verifier():
    """``verify_webhook`` exactly as docs/api.md tells partners to write it."""
    section = DOCS.read_text().split("### Verifying the signature", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace: dict = {}
    exec(code, namespace)  # noqa: S102 - our own documentation
    return namespace["verify_webhook"]


class Receiver:
    """A partner's webhook endpoint: answers with the next of ``statuses`` (the last one
    from then on) and keeps what it was sent."""

    def __init__(self, statuses=(200,)):
        self.statuses = list(statuses)
        self.requests: list[tuple[dict, bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                status = receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"no" if status >= 300 else b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/doctor"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self) -> list[dict]:
        return [json.loads(body) for _headers, body in self.requests]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def integration(receiver) -> Integration:
    return Integration.objects.create(
        name="Pay Co", slug="pay", allowed_origins="https://pay.example.com", webhook_url=receiver.url
    )


def run_worker() -> None:
    """The production worker, once through every task that is due."""
    call_command(
        "db_worker",
        "--batch",
        "--no-startup-delay",
        "--no-reload",
        "--interval",
        "0",
        "--queue-name",
        "webhooks",
    )


def make_due() -> None:
    """Bring every scheduled retry forward to now, as if its wait had passed."""
    DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now())


def embedded_case(client) -> Diagnosis:
    client.post(EMBED + "start/", {"token": "webhook-start"})
    diagnosis = Diagnosis.objects.get()
    client.post(f"{EMBED}d/{diagnosis.code}/finish/")
    return diagnosis


# --- Events, signed ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_escalation_and_an_outcome_reach_the_receiver_signed(client, seeded, receiver, integration):
    verify = documented_verifier()
    diagnosis = embedded_case(client)
    response = client.post(
        f"{EMBED}d/{diagnosis.code}/escalate/",
        {"token": "webhook-ticket", "contact_time": "any", "has_consent": "on", **CONTACT},
    )
    assert response.status_code == 303
    ticket = Ticket.objects.get()
    assert receiver.requests == []  # queued, not sent by the request
    run_worker()

    [(headers, body)] = receiver.requests
    assert verify(integration.webhook_secret, headers["X-Doctor-Signature"], body)
    assert not verify("another-secret", headers["X-Doctor-Signature"], body)
    assert not verify(
        integration.webhook_secret, headers["X-Doctor-Signature"], body.replace(b"embed", b"embex")
    )
    stamp = int(re.search(r"t=(\d+)", headers["X-Doctor-Signature"]).group(1))
    assert not verify(integration.webhook_secret, headers["X-Doctor-Signature"], body, now=stamp + 3600)
    event = json.loads(body)
    assert event["type"] == "diagnosis.escalated" == headers["X-Doctor-Event"]
    assert event["id"] == headers["X-Doctor-Delivery"] and event["id"].startswith("evt_")
    assert event["data"]["code"] == diagnosis.code
    assert event["data"]["channel"] == "embed" and event["data"]["status"] == "escalated"
    assert event["data"]["ticket"] == {"reference": ticket.reference}
    # No contact details, in any form.
    text = body.decode()
    for value in (*CONTACT.values(), "13800138000", "+8613800138000"):
        assert value not in text, value

    result = client.get(f"{EMBED}d/{diagnosis.code}/result/").context["result"]
    tried = [result.solutions[0]["slug"]]
    feedback = {"outcome": "not-fixed", "tried": tried}
    assert client.post(f"{EMBED}d/{diagnosis.code}/feedback/", feedback).status_code == 303
    run_worker()
    assert [event["type"] for event in receiver.events()] == ["diagnosis.escalated", "diagnosis.outcome"]
    outcome = receiver.events()[1]
    assert outcome["data"]["code"] == diagnosis.code and outcome["data"]["outcome"] == "not-fixed"
    assert verify(
        integration.webhook_secret, receiver.requests[1][0]["X-Doctor-Signature"], receiver.requests[1][1]
    )
    deliveries = WebhookDelivery.objects.order_by("created")
    assert [(d.attempts, d.last_status_code, d.is_delivered) for d in deliveries] == [(1, 200, True)] * 2


def test_not_fixed_is_an_outcome_event_and_a_callback_is_none(
    seeded, integration, django_capture_on_commit_callbacks
):
    diagnosis = diagnoses.start(
        revision=seeded.number, language="zh-hans", integration=integration, channel="embed"
    )
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        diagnoses.record_outcome(diagnosis, Outcome.NOT_FIXED, tried=["restart-terminal"])
        diagnoses.record_outcome(diagnosis, Outcome.CALLBACK)  # no event: nothing was learnt
    delivery = WebhookDelivery.objects.get()
    assert delivery.event_type == "diagnosis.outcome"
    assert delivery.payload["data"]["outcome"] == "not-fixed"
    assert delivery.payload["data"]["tried"] == ["restart-terminal"]
    assert len(callbacks) == 1
    assert DBTaskResult.objects.count() == 1


def test_an_agent_escalating_a_partners_case_is_an_event(
    client, seeded, integration, django_capture_on_commit_callbacks
):
    diagnosis = diagnoses.start(revision=seeded.number, language="zh-hans", integration=integration)
    client.force_login(make_agent("agent-webhooks"))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("wizard:agent-outcome", args=[diagnosis.code]), {"kind": "escalated"})
    assert response.status_code == 303
    delivery = WebhookDelivery.objects.get()
    assert delivery.event_type == "diagnosis.escalated"
    assert delivery.payload["data"]["status"] == "escalated" and delivery.payload["data"]["ticket"] is None
    assert DBTaskResult.objects.count() == 1


@pytest.mark.parametrize("case", ["no integration", "no webhook URL", "inactive"])
def test_no_event_without_an_active_integration_with_a_webhook_url(seeded, integration, case):
    if case == "no webhook URL":
        integration.webhook_url = ""
    integration.is_active = case != "inactive"
    integration.save()
    details = {} if case == "no integration" else {"integration": integration}
    diagnosis = diagnoses.start(revision=seeded.number, language="zh-hans", **details)
    diagnoses.escalate(diagnosis, token="t", transcript="", contact={"name": "王", "phone": "+8613800138000"})
    diagnoses.record_outcome(diagnosis, Outcome.RESOLVED, solution="x")
    assert not WebhookDelivery.objects.exists()
    assert not DBTaskResult.objects.exists()


# --- Retries ----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_failing_receiver_is_retried_with_back_off_until_it_answers(
    seeded, receiver, integration, settings
):
    settings.WEBHOOK_RETRY_SECONDS = 30
    receiver.statuses = [500, 503, 200]
    diagnosis = diagnoses.start(revision=seeded.number, language="zh-hans", integration=integration)
    diagnoses.record_outcome(diagnosis, Outcome.RESOLVED, solution="restart-terminal")
    delivery = WebhookDelivery.objects.get()

    waits = []
    for attempt, status in ((1, 500), (2, 503)):
        before = timezone.now()
        run_worker()
        delivery.refresh_from_db()
        assert (delivery.attempts, delivery.last_status_code, delivery.is_delivered) == (
            attempt,
            status,
            False,
        )
        assert delivery.last_error.startswith(f"HTTP {status}")
        retry = DBTaskResult.objects.get(status="READY")
        assert retry.run_after == delivery.next_attempt_at  # a new task, scheduled
        waits.append(delivery.next_attempt_at - before)
        run_worker()  # not due yet: nothing is sent
        assert len(receiver.requests) == attempt
        make_due()

    run_worker()
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.last_status_code, delivery.is_delivered) == (3, 200, True)
    assert delivery.next_attempt_at is None
    # 30 s, then twice as long.
    assert timedelta(seconds=30) <= waits[0] < timedelta(seconds=35)
    assert timedelta(seconds=60) <= waits[1] < timedelta(seconds=65)
    # Every attempt sent the same event, each signed afresh.
    assert len({body for _headers, body in receiver.requests}) == 1
    assert not DBTaskResult.objects.filter(status="READY").exists()


@pytest.mark.django_db(transaction=True)
def test_deliveries_stop_after_the_last_attempt(seeded, receiver, integration, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    receiver.statuses = [500]
    diagnosis = diagnoses.start(revision=seeded.number, language="zh-hans", integration=integration)
    diagnoses.record_outcome(diagnosis, Outcome.RESOLVED, solution="restart-terminal")
    run_worker()
    make_due()
    run_worker()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.attempts, delivery.is_delivered, delivery.next_attempt_at) == (2, False, None)
    assert not DBTaskResult.objects.filter(status="READY").exists()
    assert len(receiver.requests) == 2


def test_an_unreachable_receiver_is_an_error_in_the_log_not_a_crash(seeded, integration, settings):
    integration.webhook_url = "http://127.0.0.1:9/nothing-listens-here"
    integration.save()
    delivery = WebhookDelivery.objects.create(
        integration=integration, event_type="diagnosis.outcome", diagnosis_code="X", payload={"id": "e"}
    )
    assert webhooks.deliver.call(delivery.pk, 1) == "retry scheduled"
    delivery.refresh_from_db()
    assert delivery.last_status_code is None and "Error" in delivery.last_error
    assert delivery.next_attempt_at is not None


# --- The delivery log in the admin ------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_delivery_log_shows_each_event_and_sends_it_again(admin_client, seeded, receiver, integration):
    diagnosis = diagnoses.start(revision=seeded.number, language="zh-hans", integration=integration)
    diagnoses.record_outcome(diagnosis, Outcome.RESOLVED, solution="restart-terminal")
    run_worker()
    delivery = WebhookDelivery.objects.get()

    listing = admin_client.get(reverse("admin:wizard_webhookdelivery_changelist"))
    assert listing.status_code == 200 and diagnosis.code in listing.content.decode()
    page = admin_client.get(reverse("admin:wizard_webhookdelivery_change", args=[delivery.pk]))
    send = reverse("admin:wizard_webhookdelivery_send", args=[delivery.pk])
    assert page.status_code == 200 and f'action="{send}"' in page.content.decode()

    assert admin_client.get(send).status_code == 405
    response = admin_client.post(send)
    assert response.status_code == 302
    run_worker()
    admin_client.post(
        reverse("admin:wizard_webhookdelivery_changelist"),
        {"action": "send_again", "_selected_action": [delivery.pk]},
    )
    run_worker()
    delivery.refresh_from_db()
    assert delivery.attempts == 3 and delivery.last_status_code == 200
    # The same event each time: the receiver recognises the repeats by their id.
    assert [event["id"] for event in receiver.events()] == [delivery.event_id] * 3


def test_staff_without_the_right_cannot_send_again(client, seeded, integration, django_user_model):
    delivery = WebhookDelivery.objects.create(
        integration=integration, event_type="diagnosis.outcome", diagnosis_code="X", payload={"id": "e"}
    )
    client.force_login(django_user_model.objects.create_user("staff", is_staff=True))
    assert client.post(reverse("admin:wizard_webhookdelivery_send", args=[delivery.pk])).status_code == 403
    assert not DBTaskResult.objects.exists()


# --- The integration's admin page ---------------------------------------------------------------


def test_the_integration_page_shows_the_embedding_code(admin_client, integration):
    page = admin_client.get(reverse("admin:wizard_integration_change", args=[integration.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "data-embed-snippet" in html
    assert "http://testserver/embed/pay/" in html
    assert "event.origin !== &quot;http://testserver&quot;" in html
    assert integration.webhook_secret in html


def test_the_integration_form_refuses_what_is_not_an_origin(admin_client, integration):
    url = reverse("admin:wizard_integration_change", args=[integration.pk])
    data = {"name": "Pay Co", "slug": "pay", "webhook_url": "", "is_active": "on"}
    data |= {"keys-TOTAL_FORMS": "0", "keys-INITIAL_FORMS": "0"}  # its API keys, listed
    refused = admin_client.post(
        url, {**data, "allowed_origins": "https://ok.example.com\nhttps://x.example.com/path; script-src *"}
    )
    assert (
        refused.status_code == 200 and "https://x.example.com/path; script-src *" in refused.content.decode()
    )
    saved = admin_client.post(
        url, {**data, "allowed_origins": "HTTPS://Pay.Example.com/\n\nhttp://127.0.0.1:8080"}
    )
    assert saved.status_code == 302
    integration.refresh_from_db()
    assert integration.origins == ["https://pay.example.com", "http://127.0.0.1:8080"]


def test_the_integration_form_refuses_a_plain_http_origin_beyond_this_computer(admin_client, integration):
    url = reverse("admin:wizard_integration_change", args=[integration.pk])
    data = {"name": "Pay Co", "slug": "pay", "webhook_url": "", "is_active": "on"}
    data |= {"keys-TOTAL_FORMS": "0", "keys-INITIAL_FORMS": "0"}
    for line in ("http://shop.example.com", "HTTP://Shop.Example.com:8080", "http://localhost.example.com"):
        refused = admin_client.post(url, {**data, "allowed_origins": f"https://ok.example.com\n{line}"})
        assert refused.status_code == 200
        assert "errorlist" in refused.content.decode() and line in refused.content.decode()
    saved = admin_client.post(url, {**data, "allowed_origins": "http://localhost:8000\nhttp://127.0.0.1"})
    assert saved.status_code == 302
    integration.refresh_from_db()
    assert integration.origins == ["http://localhost:8000", "http://127.0.0.1"]


def test_a_plain_http_origin_stored_past_the_form_counts_for_nothing(db, integration):
    # An import, the shell or an older row: what CORS and the embed read refuses it too.
    integration.allowed_origins = "http://shop.example.com\nhttps://shop.example.com\nhttp://localhost:8000"
    integration.save()
    assert integration.origins == ["https://shop.example.com", "http://localhost:8000"]


@pytest.mark.django_db(transaction=True)
def test_a_queue_that_cannot_be_reached_does_not_fail_the_merchant(client, seeded, integration, monkeypatch):
    def unreachable(*args, **kwargs):
        raise ConnectionError("the task queue is down")

    monkeypatch.setattr(webhooks, "_enqueue", unreachable)
    diagnosis = embedded_case(client)
    response = client.post(
        f"{EMBED}d/{diagnosis.code}/escalate/",
        {"token": "queue-down", "contact_time": "any", "has_consent": "on", **CONTACT},
    )
    assert response.status_code == 303
    assert Ticket.objects.filter(diagnosis=diagnosis).exists()
    delivery = WebhookDelivery.objects.get()  # waiting in the log for "send again"
    assert delivery.attempts == 0 and not DBTaskResult.objects.exists()
