"""Every URL the resolver knows, for every role, with every method and hostile values:
never a server error.

The URLs come from the resolver itself (the wizard's, the admin's, Django's), so a new
page is fuzzed without anyone adding it here. Each parameter gets a value that exists
and hostile ones: a NUL, a superscript digit, digits from other scripts, a number too
large for any column, and a value far too long; the query string and the form carry the
same. Runs on SQLite and, in CI, on PostgreSQL (which refuses NUL in text, where SQLite
stores it); ``like_postgresql`` makes SQLite refuse it too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern

from wizard import diagnoses, roles
from wizard.models import Diagnosis, Integration, KnowledgeRevision, Ticket

from .conftest import own_case

NUL = "\x00"
HOSTILE = {
    "nul": "A\x00B",
    "superscript": "1²",
    "other digits": "১৩৮০০১৩৮০০০",
    "huge": "9" * 25,
    "overlong": "Ä" * 3000,
}
FORM_FIELDS = (
    "question", "answer", "seen", "number", "notes", "description", "fact", "token", "name", "phone",
    "merchant_number", "contact_time", "has_consent", "outcome", "solution", "tried", "status", "kind",
    "code", "step", "resume", "preview", "username", "password", "post", "action", "index",
)  # fmt: skip
QUERY = ("code", "step", "seen", "compare", "q", "o", "p", "status", "created__year", "format", "description")
METHODS = ("get", "head", "post")
OTHER_METHODS = ("put", "patch", "delete", "options")  # with real values only: 405 or an answer
ROLES = ("anonymous", "merchant", "agent", "support admin", "superuser")
# Signing out would end the role's session for the rest of the walk.
SKIPPED = {"agent-logout", "logout"}


def patterns() -> Iterator[tuple[str, list]]:
    """(name, the chain of patterns from the root) of every URL the resolver knows."""

    def walk(entries, chain):
        for entry in entries:
            if isinstance(entry, URLResolver):
                yield from walk(entry.url_patterns, [*chain, entry.pattern])
            elif isinstance(entry, URLPattern):
                yield entry.name or str(entry.pattern), [*chain, entry.pattern]

    yield from walk(get_resolver().url_patterns, [])


def fill(chain: list, value: str, known: dict[str, str]) -> str:
    """The path of a chain of patterns, every parameter ``value`` (or, for ``"known"``,
    the value of an object that exists)."""
    path = ""
    for part in chain:
        text = str(part)
        if isinstance(part, RegexPattern):
            text = text.lstrip("^").rstrip("$").replace("\\", "")
            # A choice of words (the admin's app labels): the first; anything else: the value.
            text = re.sub(r"\(\?P<(\w+)>([\w|]+)\)", lambda m: m.group(2).split("|")[0], text)
            text = re.sub(
                r"\(\?P<(\w+)>[^)]*\)",
                lambda m: known.get(m.group(1), "1") if value == "known" else value,
                text,
            )
        else:
            text = re.sub(
                r"<(?:\w+:)?(\w+)>", lambda m: known.get(m.group(1), "1") if value == "known" else value, text
            )
        path += text
    return "/" + path


def urls(known: dict[str, str]) -> Iterator[tuple[str, str]]:
    for name, chain in patterns():
        if name in SKIPPED:
            continue
        has_parameters = any("<" in str(part) or "(?P" in str(part) for part in chain)
        for kind, value in [("known", "known"), *HOSTILE.items()] if has_parameters else [("plain", "")]:
            yield f"{name} [{kind}]", fill(chain, value, known)


@pytest.fixture
def world(seeded, client) -> dict[str, str]:
    """A finished case with an open ticket, and the values that name real objects."""
    client.post("/start/")
    case = Diagnosis.objects.get()
    diagnoses.finish(case)
    ticket = Ticket.objects.create(diagnosis=case, name="王老板", phone="+8613912345678", has_consent=True)
    integration = Integration.objects.create(name="Fuzz", slug="fuzz", allowed_origins="https://fuzz.example")
    return {
        "integration": integration.slug,
        "code": case.code,
        "reference": ticket.reference,
        "number": "1",
        "object_id": str(KnowledgeRevision.objects.latest().pk),
        "content_type_id": "1",
        "url": "wizard/cause/",
        "case": case,
    }


def client_for(role: str, world: dict) -> Client:
    client = Client(raise_request_exception=False)
    if role == "merchant":
        own_case(client, world["case"])
    elif role != "anonymous":
        user = get_user_model().objects.create_user(
            f"fuzz-{role.replace(' ', '-')}", is_superuser=role == "superuser", is_staff=role == "superuser"
        )
        if role == "agent":
            roles.grant(user, roles.AGENT)
        elif role == "support admin":
            roles.grant(user, roles.SUPPORT_ADMIN)
        client.force_login(user)
    return client


@pytest.mark.parametrize("role", ROLES)
def test_no_url_gives_a_server_error_to_any_role(role, world, settings, like_postgresql):
    settings.RATE_LIMITS = {scope: (10**6, window) for scope, (_, window) in settings.RATE_LIMITS.items()}
    settings.RATE_LIMIT_EXEMPT = ["127.0.0.1/32"]
    client = client_for(role, world)
    known = {k: v for k, v in world.items() if isinstance(v, str)}
    errors, seen = [], 0
    for label, path in urls(known):
        hostile = next((v for k, v in HOSTILE.items() if k in label), "x")
        query = dict.fromkeys(QUERY, hostile)
        form = dict.fromkeys(FORM_FIELDS, hostile)
        methods = METHODS + (OTHER_METHODS if label.endswith(("[known]", "[plain]")) else ())
        for method in methods:
            data = query if method in ("get", "head") else form
            response = getattr(client, method)(path, data) if method != "options" else client.options(path)
            seen += 1
            if response.status_code >= 500:
                errors.append(f"{method.upper()} {label} {path[:80]!r}: {response.status_code}")
    assert seen > 1000
    assert errors == [], "\n".join(errors)
