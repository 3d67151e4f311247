"""Insights, learning from outcomes, and retention."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from wizard import insights, learning
from wizard.models import Answer, ArchivedDay, Cause, Diagnosis, Ticket

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def make_case(
    revision,
    *,
    status="diagnosed",
    top="network-problem",
    questions=3,
    fixed=None,
    fixed_by="",
    current="",
    days_ago=0,
    answers=(),
    ranking=None,
    **extra,
) -> Diagnosis:
    diagnosis = Diagnosis.objects.create(
        revision=revision,
        status=status,
        top_cause=top,
        question_count=questions,
        is_fixed=fixed,
        fixed_by=fixed_by,
        current_question=current,
        ranking=ranking if ranking is not None else [[top, 0.9]],
        **extra,
    )
    for position, (question, option) in enumerate(answers, start=1):
        Answer.objects.create(diagnosis=diagnosis, position=position, question=question, option=option)
    if days_ago:
        when = timezone.now() - timedelta(days=days_ago)
        Diagnosis.objects.filter(pk=diagnosis.pk).update(
            created=when, updated=when, day=timezone.localdate(when)
        )
    return diagnosis


@pytest.fixture
def support_client(client, seeded, django_user_model):
    user = django_user_model.objects.create_user("insight.admin", is_staff=True)
    user.groups.add(Group.objects.get(name="Support admins"))
    client.force_login(user)
    return client


def test_figures_count_what_merchants_hit(seeded):
    today = timezone.localdate()
    make_case(
        seeded,
        answers=[("payment-screen", "unsure"), ("boot-behaviour", "normal")],
        fixed=True,
        fixed_by="restart-check-network",
    )
    make_case(seeded, status="escalated", answers=[("payment-screen", "unsure")], fixed=False)
    make_case(seeded, status="in-progress", current="payment-screen", top="", questions=0, ranking=[])
    Diagnosis.objects.filter(status="in-progress").update(updated=timezone.now() - timedelta(hours=2))
    result = insights.figures(today - timedelta(days=1), today, language="en")
    assert result.totals["started"] == 3
    assert result.totals["completion_rate"] == pytest.approx(2 / 3, abs=1e-3)
    assert result.totals["escalation_rate"] == pytest.approx(1 / 3, abs=1e-3)
    assert result.totals["resolution_rate"] == 0.5
    assert result.totals["average_questions"] == 3
    screen = next(q for q in result.questions if q["slug"] == "payment-screen")
    assert (screen["answered"], screen["unsure"], screen["dropped"]) == (2, 2, 1)
    assert screen["unsure_rate"] == 1.0 and screen["drop_rate"] == pytest.approx(1 / 3, abs=1e-3)
    network = next(c for c in result.causes if c["slug"] == "network-problem")
    assert (network["diagnosed"], network["feedback"], network["fixed"]) == (2, 2, 1)
    assert result.steps[0]["slug"] == "restart-check-network"
    assert [r["revision"] for r in result.revisions] == [seeded.number]


def test_dashboard_shows_charts_and_tables_and_filters_by_date(support_client, seeded):
    make_case(seeded)
    make_case(seeded, days_ago=60)
    response = support_client.get(reverse("wizard:insights"), **EN)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-kpi="started">1<' in html
    assert html.count("<canvas") == 4 and html.count('class="figures"') >= 5
    assert 'id="chart-data"' in html and "chart-4.6.1.umd.min.js" in html
    start = (timezone.localdate() - timedelta(days=90)).isoformat()
    wide = support_client.get(
        reverse("wizard:insights"), {"start": start, "end": timezone.localdate().isoformat()}
    )
    assert 'data-kpi="started">2<' in wide.content.decode()


def test_dashboard_rejects_a_backwards_range_with_a_message(support_client):
    response = support_client.get(
        reverse("wizard:insights"), {"start": "2026-05-02", "end": "2026-05-01"}, **EN
    )
    assert response.status_code == 400
    assert "must be before" in response.content.decode()


def test_csv_export(support_client, seeded):
    make_case(seeded, answers=[("payment-screen", "unsure")])
    response = support_client.get(reverse("wizard:insights"), {"format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    sections = {row[0] for row in rows if row}
    assert {"section", "totals", "day", "revision", "question", "cause"} <= sections


def test_insights_need_the_permission(client, seeded, django_user_model):
    assert client.get(reverse("wizard:insights")).status_code == 302
    agent = django_user_model.objects.create_user("agent.no", is_staff=True)
    agent.groups.add(Group.objects.get(name="Agents"))
    client.force_login(agent)
    assert client.get(reverse("wizard:insights")).status_code == 403


def test_dashboard_queries_do_not_grow_with_the_number_of_diagnoses(
    support_client, seeded, django_assert_max_num_queries
):
    for _ in range(30):
        make_case(seeded, answers=[("payment-screen", "unsure")])
    with django_assert_max_num_queries(20):
        support_client.get(reverse("wizard:insights"))


# --- Learning ----------------------------------------------------------------------------


def confirm(revision, cause, step, n, answers=()):
    for _ in range(n):
        make_case(
            revision,
            status="resolved",
            top=cause,
            fixed=True,
            fixed_by=step,
            ranking=[[cause, 0.8], ["hardware-fault", 0.1]],
            answers=answers,
        )


def test_a_cause_that_keeps_being_confirmed_rises(seeded):
    confirm(seeded, "plugin-conflict", "uninstall-recent-apps", 60)
    priors, _ = learning.suggestions("en")
    plugin = next(p for p in priors if p.slug == "plugin-conflict")
    assert plugin.cases == 60
    assert plugin.suggested_share > 2 * plugin.current_share
    assert plugin.suggested > plugin.current


def test_a_handful_of_cases_moves_little(seeded):
    confirm(seeded, "plugin-conflict", "uninstall-recent-apps", 2)
    priors, _ = learning.suggestions("en")
    plugin = next(p for p in priors if p.slug == "plugin-conflict")
    assert abs(plugin.change) < 0.1


def test_evidence_suggestions_come_from_what_confirmed_merchants_said(seeded, snapshot):
    # A yes/no question about a symptom the knowledge does not link to the cause at all.
    c = snapshot.cause_index["plugin-conflict"]
    linked = {e["symptom"] for e in snapshot.causes[c]["evidence"]}
    question = next(q for q in snapshot.questions if q["kind"] == "binary" and q["symptom"] not in linked)
    confirm(seeded, "plugin-conflict", "uninstall-recent-apps", 40, answers=[(question["slug"], "yes")])
    _, evidence = learning.suggestions("en")
    match = [e for e in evidence if e.cause == "plugin-conflict" and e.symptom == question["symptom"]]
    assert len(match) == 1
    assert (match[0].observed, match[0].cases, match[0].current) == (40, 40, "")
    assert match[0].suggested == "often"  # (40 + 10 x 0.05) / (40 + 10) = 0.81


def test_applying_suggestions_makes_drafts_only(support_client, seeded):
    from wizard.models import KnowledgeRevision

    confirm(seeded, "plugin-conflict", "uninstall-recent-apps", 60)
    page = support_client.get(reverse("admin:wizard_learning"), **EN)
    assert 'data-prior="plugin-conflict"' in page.content.decode()
    before = Cause.objects.get(slug="plugin-conflict").prior
    response = support_client.post(reverse("admin:wizard_learning"), {"prior": ["plugin-conflict"]})
    assert response.status_code == 302
    assert Cause.objects.get(slug="plugin-conflict").prior > before
    assert KnowledgeRevision.objects.latest().number == seeded.number  # never published by itself


# --- Retention ---------------------------------------------------------------------------


def test_purge_removes_old_diagnoses_and_contacts_but_keeps_the_counts(seeded, support_client):
    old = make_case(
        seeded,
        days_ago=400,
        answers=[("payment-screen", "unsure")],
        fixed=True,
        fixed_by="restart-check-network",
        status="resolved",
    )
    ticket = Ticket.objects.create(
        diagnosis=old, name="王老板", phone="+8613800138000", has_consent=True, status="closed"
    )
    long_ago = timezone.now() - timedelta(days=400)
    Ticket.objects.filter(pk=ticket.pk).update(created=long_ago, updated=long_ago)
    recent = make_case(seeded)
    start = timezone.localdate() - timedelta(days=500)
    before = insights.figures(start, timezone.localdate(), language="en")
    call_command("purge_diagnoses", "--older-than", "365", stdout=io.StringIO())
    assert not Diagnosis.objects.filter(pk=old.pk).exists()
    assert Diagnosis.objects.filter(pk=recent.pk).exists()
    assert not Ticket.objects.exists()
    assert ArchivedDay.objects.count() == 1
    after = insights.figures(start, timezone.localdate(), language="en")
    assert after.totals == before.totals
    assert after.questions == before.questions
    assert after.causes == before.causes and after.steps == before.steps


def test_purge_dry_run_changes_nothing(seeded):
    make_case(seeded, days_ago=400)
    out = io.StringIO()
    call_command("purge_diagnoses", "--older-than", "30", "--dry-run", stdout=out)
    assert "would be removed:\n  diagnoses: 1\n" in out.getvalue()
    assert Diagnosis.objects.count() == 1


def test_insights_count_each_channel_the_purged_ones_too(support_client, seeded):
    make_case(seeded)
    make_case(seeded, channel="api", status="escalated")
    make_case(seeded, channel="api")
    make_case(seeded, channel="embed", days_ago=400)
    call_command("purge_diagnoses", "--older-than", "365", stdout=io.StringIO())
    start = timezone.localdate() - timedelta(days=500)
    result = insights.figures(start, timezone.localdate(), language="en")
    started = {row["channel"]: row["started"] for row in result.channels}
    assert started == {"self": 1, "api": 2, "embed": 1}
    api = next(row for row in result.channels if row["channel"] == "api")
    assert api["escalation_rate"] == 0.5
    wide = {"start": start.isoformat(), "end": timezone.localdate().isoformat()}
    page = support_client.get(reverse("wizard:insights"), wide, **EN).content.decode()
    assert 'data-channel-row="api"' in page and "embedded wizard" in page
    rows = list(
        csv.reader(
            io.StringIO(support_client.get(reverse("wizard:insights"), {"format": "csv"}).content.decode())
        )
    )
    assert ["channel", "api"] in [row[:2] for row in rows]
