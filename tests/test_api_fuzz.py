"""Every operation of the JSON API, fuzzed from its own OpenAPI document with schemathesis
through the Django app's WSGI handler: valid and invalid requests, with a key that holds
every scope, on a real diagnosis and on made-up codes — never a server error.

Bounded and repeatable: a fixed number of examples per operation, derandomized."""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode

from wizard.models import ApiKey, Integration

EXAMPLES = 30


@pytest.fixture
def schema(code, headers):
    """The document as the app serves it, and the app to call. Its requests share the
    test's database connection: the WSGI handler must not close it after each request
    (Django's own test client keeps it open the same way, and connects the handler again
    after each of its requests: so this fixture comes after those that use it)."""
    from config.wsgi import application

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def headers(db) -> dict[str, str]:
    integration = Integration.objects.create(
        name="Fuzz", slug="fuzz", allowed_origins="https://fuzz.example.com"
    )
    key, secret = ApiKey.issue(integration, "fuzz", [scope.value for scope in ApiKey.Scope])
    ApiKey.objects.filter(pk=key.pk).update(rate_limit=10**6)
    return {"Authorization": f"Bearer {secret}", "Origin": "https://fuzz.example.com"}


@pytest.fixture
def code(client, seeded) -> str:
    from wizard.models import Diagnosis

    client.post("/start/")
    return Diagnosis.objects.get().code


def operations(schema) -> list:
    found = [result.ok() for result in schema.get_all_operations()]
    assert len(found) >= 12
    return found


def fuzz(operation, mode: GenerationMode, headers: dict, **fixed) -> None:
    @given(case=operation.as_strategy(generation_mode=mode, **fixed))
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case):
        response = case.call(headers=headers)
        case.validate_response(response, checks=[not_a_server_error])

    run()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_operation_gives_a_server_error(schema, headers, code, mode, settings_):
    settings_.RATE_LIMITS = {**settings_.RATE_LIMITS, "lookup-miss": (10**6, 900)}
    for operation in operations(schema):
        fuzz(operation, mode, headers)
        if "{code}" in operation.path:
            fuzz(operation, mode, headers, path_parameters={"code": code})


@pytest.fixture
def settings_(settings):
    return settings
