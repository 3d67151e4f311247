"""Retention: what ``manage.py purge_diagnoses`` removes, what it never removes, and what
it says. (The anonymous counts it keeps are checked in test_insights.py.)"""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from wizard import diagnoses
from wizard.models import ArchivedDay, CaseEvent, Diagnosis, Integration, Ticket, WebhookDelivery

from .test_insights import make_case


def days_ago(days: int):
    return timezone.now() - timedelta(days=days)


def make_ticket(diagnosis: Diagnosis, status: str, *, days: int = 400) -> Ticket:
    ticket = Ticket.objects.create(
        diagnosis=diagnosis, name="王老板", phone="+8613800138000", has_consent=True, status=status
    )
    Ticket.objects.filter(pk=ticket.pk).update(created=days_ago(days), updated=days_ago(days))
    return ticket


def purge(*arguments: str) -> str:
    out = io.StringIO()
    call_command("purge_diagnoses", *arguments, stdout=out)
    return out.getvalue()


def login_records(days: int) -> None:
    common = {
        "user_agent": f"browser {days}",
        "ip_address": "203.0.113.7",
        "username": "li.wei",
        "path_info": "/agent/login/",
    }
    AccessAttempt.objects.create(**common, get_data="", post_data="", failures_since_start=3)
    AccessLog.objects.create(**common)
    AccessFailureLog.objects.create(**common)
    for model in (AccessAttempt, AccessLog, AccessFailureLog):
        model.objects.filter(attempt_time__gte=days_ago(1)).update(attempt_time=days_ago(days))


def test_a_diagnosis_with_a_ticket_still_open_is_never_purged(seeded):
    waiting = make_case(seeded, days_ago=400, status="escalated")
    make_ticket(waiting, Ticket.Status.OPEN)
    working = make_case(seeded, days_ago=400, status="escalated")
    make_ticket(working, Ticket.Status.IN_PROGRESS)
    done = make_case(seeded, days_ago=400, status="escalated")
    make_ticket(done, Ticket.Status.CLOSED)
    report = purge("--older-than", "365")
    assert set(Diagnosis.objects.values_list("pk", flat=True)) == {waiting.pk, working.pk}
    assert set(Ticket.objects.values_list("status", flat=True)) == {"open", "in-progress"}
    assert "kept, though older: 2 diagnoses with a ticket still open" in report


def test_a_case_worked_on_since_the_cutoff_is_kept(seeded):
    reopened = make_case(seeded, days_ago=400)
    diagnoses.open_by_agent(
        reopened, get_user_model().objects.create_user("agent-olga")
    )  # by its code, today
    closed_lately = make_case(seeded, days_ago=400, status="escalated")
    make_ticket(closed_lately, Ticket.Status.CLOSED, days=400)
    Ticket.objects.filter(diagnosis=closed_lately).update(updated=days_ago(2))
    forgotten = make_case(seeded, days_ago=400)
    purge("--older-than", "365")
    assert set(Diagnosis.objects.values_list("pk", flat=True)) == {reopened.pk, closed_lately.pk}
    assert not Diagnosis.objects.filter(pk=forgotten.pk).exists()


def test_login_records_with_client_addresses_go_after_their_own_period(db, settings):
    login_records(days=100)
    login_records(days=10)
    settings.LOGIN_LOG_RETENTION_DAYS = 90
    report = purge()
    for model in (AccessAttempt, AccessLog, AccessFailureLog):
        assert model.objects.count() == 1, model
        assert model.objects.get().attempt_time > days_ago(11)
    assert "login attempts (lockout counters): 1" in report
    assert "sign-ins: 1" in report and "failed sign-ins: 1" in report
    login_records(days=20)
    purge("--logins-older-than", "15")
    assert AccessLog.objects.count() == 1


def test_the_report_counts_each_kind_and_a_second_run_removes_nothing(seeded, settings):
    settings.LOGIN_LOG_RETENTION_DAYS = 90
    old = make_case(seeded, days_ago=400, status="escalated", answers=[("payment-screen", "unsure")])
    make_ticket(old, Ticket.Status.CLOSED)
    CaseEvent.objects.create(diagnosis=old, kind=CaseEvent.Kind.ESCALATED)
    CaseEvent.objects.update(created=days_ago(400))  # escalated when the case was
    make_case(seeded, days_ago=400)
    login_records(days=100)
    first = purge("--older-than", "365")
    for line in ("diagnoses: 2", "tickets: 1", "answers: 1", "case events: 1", "sign-ins: 1"):
        assert line in first, line
    archived = list(ArchivedDay.objects.values_list("started", "escalated"))
    second = purge("--older-than", "365")
    for line in ("diagnoses: 0", "tickets: 0", "answers: 0", "case events: 0", "sign-ins: 0"):
        assert line in second, line
    assert list(ArchivedDay.objects.values_list("started", "escalated")) == archived == [(2, 1)]


def test_a_dry_run_reports_the_same_and_removes_nothing(seeded, settings):
    settings.LOGIN_LOG_RETENTION_DAYS = 90
    old = make_case(seeded, days_ago=400, answers=[("payment-screen", "unsure")])
    make_ticket(old, Ticket.Status.CLOSED)
    kept = make_case(seeded, days_ago=400, status="escalated")
    make_ticket(kept, Ticket.Status.OPEN)
    login_records(days=100)
    report = purge("--older-than", "365", "--dry-run")
    for line in ("diagnoses: 1", "tickets: 1", "answers: 1", "sign-ins: 1", "1 diagnosis with a ticket"):
        assert line in report, line
    assert "would be removed" in report
    assert Diagnosis.objects.count() == 2 and Ticket.objects.count() == 2 and AccessLog.objects.count() == 1
    assert not ArchivedDay.objects.exists()


@pytest.mark.parametrize("option", ["--older-than", "--logins-older-than"])
def test_a_period_under_a_day_is_refused(db, option):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="at least 1 day"):
        purge(option, "0")


def test_many_diagnoses_go_in_batches_and_are_counted_once(seeded, monkeypatch):
    from wizard import retention

    monkeypatch.setattr(retention, "BATCH", 2)
    for _ in range(5):
        make_case(seeded, days_ago=400, answers=[("payment-screen", "unsure")])
    report = purge("--older-than", "365")
    assert "diagnoses: 5" in report and "answers: 5" in report
    assert not Diagnosis.objects.exists()
    assert list(ArchivedDay.objects.values_list("started", flat=True)) == [5]


def test_the_webhook_events_about_a_case_go_with_it(seeded):
    """An event names its case by code (and says its cause, steps tried, start time): it
    must not outlive the case it is about."""
    integration = Integration.objects.create(
        name="Pay Co", slug="pay", webhook_url="https://pay.example.com/h"
    )
    old, recent = make_case(seeded, days_ago=400), make_case(seeded)
    for case in (old, recent):
        WebhookDelivery.objects.create(
            integration=integration,
            event_type=WebhookDelivery.Event.OUTCOME,
            diagnosis_code=case.code,
            payload={"data": {"code": case.code}},
        )
    assert "webhook deliveries: 1" in purge("--older-than", "365", "--dry-run")
    assert WebhookDelivery.objects.count() == 2
    assert "webhook deliveries: 1" in purge("--older-than", "365")
    assert list(WebhookDelivery.objects.values_list("diagnosis_code", flat=True)) == [recent.code]
