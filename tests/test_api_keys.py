"""API keys are made by `manage.py create_api_key` or in the admin, shown once, and revoked
in the admin."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from wizard.models import ApiKey, Integration


@pytest.fixture
def superuser(client, db):
    user = get_user_model().objects.create_superuser("root-keys", "root@example.com", "x")
    client.force_login(user)
    return user


def call(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_key", *args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


def test_the_command_prints_a_working_key_once(client, seeded):
    secret, said = call("CRM sync", "--integration", "pay-app", "--scope", "diagnose", "--scope", "agent")
    key = ApiKey.find(secret)
    assert key is not None and key.integration.slug == "pay-app" and key.scopes == ["diagnose", "agent"]
    assert secret not in said and "cannot be shown again" in said
    assert secret != key.hashed and secret not in str(ApiKey.objects.values_list())
    response = client.post(
        "/api/v1/diagnoses",
        {"language": "en"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    assert response.status_code == 201


def test_the_command_names_the_integration_after_the_key_when_not_given(db):
    secret, _ = call("Bank chat bot", "--rate-limit", "30")
    key = ApiKey.find(secret)
    assert key.integration.slug == "bank-chat-bot" and key.rate_limit == 30 and key.scopes == ["diagnose"]


def test_the_command_refuses_a_bad_rate_limit(db):
    with pytest.raises(CommandError):
        call("x", "--rate-limit", "0")
    assert not ApiKey.objects.exists()


def test_the_admin_shows_a_new_key_once(client, superuser, db):
    integration = Integration.objects.create(name="Pay app", slug="pay-app")
    response = client.post(
        "/admin/wizard/apikey/add/",
        {
            "integration": integration.pk,
            "name": "CRM",
            "scopes": ["diagnose", "knowledge-read"],
            "rate_limit": 60,
        },
    )
    assert response.status_code == 200, response.content[:500]
    html = response.content.decode()
    assert "data-api-key-issued" in html and "no-store" in response["Cache-Control"]
    secret = html.split("<code data-api-key>")[1].split("</code>")[0]
    key = ApiKey.find(secret)
    assert key is not None and key.rate_limit == 60 and key.scopes == ["diagnose", "knowledge-read"]
    for page in (
        "/admin/wizard/apikey/",
        f"/admin/wizard/apikey/{key.pk}/change/",
        f"/admin/wizard/integration/{integration.pk}/change/",
    ):
        shown = client.get(page)
        assert shown.status_code == 200 and secret not in shown.content.decode()
        assert key.prefix in shown.content.decode()


def test_the_admin_revokes_keys(client, superuser, seeded):
    integration = Integration.objects.create(name="Pay app", slug="pay-app")
    key, secret = ApiKey.issue(integration, "CRM", ["diagnose"])
    response = client.post("/admin/wizard/apikey/", {"action": "revoke", "_selected_action": [key.pk]})
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None and ApiKey.find(secret) is None
    refused = client.get("/api/v1/diagnoses/ABCDE23456", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert refused.status_code == 401


def test_the_admin_shows_which_integration_started_a_diagnosis(client, superuser, seeded):
    integration = Integration.objects.create(name="Pay app", slug="pay-app")
    _, secret = ApiKey.issue(integration, "CRM", ["diagnose"])
    code = client.post(
        "/api/v1/diagnoses",
        {"language": "en"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    ).json()["code"]
    from wizard.models import Diagnosis

    page = client.get(f"/admin/wizard/diagnosis/{Diagnosis.objects.get(code=code).pk}/change/")
    assert page.status_code == 200 and "Pay app" in page.content.decode()
