"""The admin as support staff use it today: see, edit and publish the knowledge."""

from __future__ import annotations

import pytest
from django.urls import reverse

from wizard.models import Cause, Diagnosis, KnowledgeRevision, Question


@pytest.fixture
def admin_client(client, seeded, django_user_model):
    user = django_user_model.objects.create_superuser("boss", password="unused-password-123")
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    "model",
    [
        "category",
        "cause",
        "symptom",
        "question",
        "solution",
        "provider",
        "knowledgerevision",
        "diagnosis",
        "ticket",
    ],
)
def test_every_content_and_record_list_opens(admin_client, model):
    response = admin_client.get(reverse(f"admin:wizard_{model}_changelist"))
    assert response.status_code == 200


def test_a_cause_opens_with_its_evidence_and_solutions_inline(admin_client):
    cause = Cause.objects.first()
    response = admin_client.get(reverse("admin:wizard_cause_change", args=[cause.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "title_zh_hans" in html and "title_en" in html
    assert "evidence-" in html and "cause_solutions-" in html
    # Strength is chosen as a word, never typed as a number.
    assert ">often<" in html or ">经常<" in html


def test_publish_from_the_admin_creates_the_next_revision(admin_client, seeded):
    Cause.objects.filter(pk=Cause.objects.first().pk).update(prior=4.0)
    page = admin_client.get(reverse("admin:wizard_publish"))
    assert page.status_code == 200
    response = admin_client.post(reverse("admin:wizard_publish"), {"note": "more common"})
    assert response.status_code == 302
    latest = KnowledgeRevision.objects.latest()
    assert latest.number == seeded.number + 1
    assert latest.note == "more common"
    assert latest.published_by.username == "boss"


def test_publish_from_the_admin_refuses_errors_and_says_why(admin_client, seeded):
    Question.objects.update(is_published=False)
    response = admin_client.post(reverse("admin:wizard_publish"), {"note": ""}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert 'data-findings="error"' in response.content.decode()
    assert KnowledgeRevision.objects.latest().number == seeded.number


def test_anonymous_users_see_nothing_of_the_admin(client, seeded):
    response = client.get(reverse("admin:wizard_cause_changelist"))
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


def test_diagnosis_shows_its_answers(admin_client, seeded):
    diagnosis = Diagnosis.objects.create(revision=seeded)
    diagnosis.answers.create(position=1, question="payment-screen", option="unsure")
    response = admin_client.get(reverse("admin:wizard_diagnosis_change", args=[diagnosis.pk]))
    assert response.status_code == 200
    assert "payment-screen" in response.content.decode()
