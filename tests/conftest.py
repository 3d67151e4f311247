"""Shared fixtures: the seed knowledge, small knowledge bases, and the browser."""

from __future__ import annotations

import io
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connections
from django.urls import reverse
from django.utils import translation
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from playwright.sync_api import BrowserContext, Page, expect

from wizard import knowledge, publishing, roles
from wizard import urls as wizard_urls
from wizard.models import KnowledgeRevision

# Playwright's sync API runs an event loop in this thread; Django's ORM refuses to run
# inside one unless told it is safe (test database set-up and teardown would raise
# SynchronousOnlyOperation).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

# Hypothesis judges no test by the clock (a busy machine is not a failure); `make mutation`
# also wants the same examples for every mutant, so that none survives or dies by luck,
# and no failing example carried over from one mutant to the next.
hypothesis_settings.register_profile("suite", deadline=None, suppress_health_check=[HealthCheck.too_slow])
hypothesis_settings.register_profile(
    "mutation", hypothesis_settings.get_profile("suite"), database=None, derandomize=True
)
hypothesis_settings.load_profile("suite")

# Browser tests wait for what the page shows (an element, an attribute, the address), never
# for a fixed time; on a busy machine that can take long, so every wait may take 30 s.
expect.set_options(timeout=30_000)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):
    """On SQLite, test in a database file rather than Django's shared in-memory database.

    The live server hands an in-memory database's single connection to every request
    thread: concurrent requests then share one transaction state, and a thread that is
    still closing a browser's connection when the server stops uses that connection
    from the wrong thread ("DatabaseWrapper objects created in a thread can only be used
    in that same thread"). With a file, each thread opens and closes its own connection.
    """
    settings_dict = connections[DEFAULT_DB_ALIAS].settings_dict
    if settings_dict["ENGINE"] == "django.db.backends.sqlite3":
        settings_dict["TEST"]["NAME"] = str(tmp_path_factory.mktemp("database") / "test.sqlite3")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Load and publish the seed knowledge once for the whole session."""
    with django_db_blocker.unblock():
        ensure_seed()


def ensure_seed() -> KnowledgeRevision:
    revision = KnowledgeRevision.objects.order_by("-number").first()
    if revision is None:
        call_command("load_knowledge", stdout=io.StringIO())
        revision, _ = publishing.publish(note="seed")
    return revision


@pytest.fixture(autouse=True)
def _fresh_snapshot_cache():
    # Revision numbers are reused across rolled-back tests; the caches must not be.
    knowledge.clear_cache()
    cache.clear()
    yield
    knowledge.clear_cache()
    cache.clear()


@pytest.fixture(autouse=True)
def _default_language():
    # A request leaves the language it activated in the thread (LocaleMiddleware does not
    # deactivate it), and a translated field set without naming a language lands in the
    # active one: each test starts in the site's default language.
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture
def seeded(db) -> KnowledgeRevision:
    """The published seed knowledge (reloaded after a test that flushed the database)."""
    return ensure_seed()


@pytest.fixture
def snapshot(seeded) -> knowledge.Snapshot:
    return knowledge.get_snapshot(seeded.number)


def make_payload(
    causes: dict[str, dict[str, str]],
    questions: list[dict] | None = None,
    *,
    priors: dict[str, float] | None = None,
) -> dict:
    """A small knowledge file: ``causes`` maps a cause slug to {symptom: strength}.

    Without ``questions``, every symptom gets its own yes/no question.
    """
    symptoms = sorted({s for evidence in causes.values() for s in evidence})
    if questions is None:
        questions = [
            {"slug": f"q-{s}", "order": i, "kind": "binary", "symptom": s, "effort": 1.0}
            for i, s in enumerate(symptoms)
        ]
    for q in questions:
        q.setdefault("text", {"zh-hans": f"问题 {q['slug']}", "en": f"Question {q['slug']}"})
        q.setdefault("script", {"zh-hans": "", "en": ""})
        q.setdefault("help", {"zh-hans": "", "en": ""})
        for o in q.get("options", []):
            o.setdefault("label", {"zh-hans": o["slug"], "en": o["slug"]})
            o.setdefault("provider", None)
    return {
        "format": knowledge.FORMAT,
        "version": knowledge.VERSION,
        "categories": [{"slug": "general", "order": 0, "title": {"zh-hans": "一般", "en": "General"}}],
        "providers": [],
        "symptoms": [{"slug": s, "title": {"zh-hans": s, "en": s}} for s in symptoms],
        "solutions": [
            {
                "slug": f"fix-{c}",
                "order": i,
                "title": {"zh-hans": f"修复 {c}", "en": f"Fix {c}"},
                "steps": {"zh-hans": "1. 做这个", "en": "1. Do this"},
                "audience": "merchant",
                "effort_minutes": 5,
                "is_escalation": False,
                "contexts": [],
            }
            for i, c in enumerate(causes)
        ],
        "causes": [
            {
                "slug": c,
                "category": "general",
                "order": i,
                "prior": (priors or {}).get(c, 1.0),
                "title": {"zh-hans": f"原因 {c}", "en": f"Cause {c}"},
                "explanation": {"zh-hans": "说明", "en": "Explanation"},
                "evidence": [{"symptom": s, "strength": w} for s, w in sorted(evidence.items())],
                "solutions": [f"fix-{c}"],
            }
            for i, (c, evidence) in enumerate(causes.items())
        ],
        "questions": questions,
    }


@pytest.fixture
def payload_factory() -> Callable[..., dict]:
    return make_payload


# A sample for each parameter the wizard's URLs take; see wizard_url_templates.
URL_SAMPLES = {"code": "SAMPLE0CODE", "number": 987654321, "reference": "SAMPLE0REFERENCE"}


def wizard_url_templates() -> dict[str, str]:
    """Every URL of the wizard app by name, reversed, with ``{code}``, ``{number}`` and
    ``{reference}`` where its parameters go.

    Read from the URLconf, so that the fuzz tests cover a new or renamed page without a
    list to keep up; a page that cannot be reversed fails loudly here instead.
    """
    templates = {}
    for pattern in wizard_urls.urlpatterns:
        parameters = set(pattern.pattern.converters)
        assert pattern.name, f"{pattern} has no name, so it cannot be reversed"
        assert parameters <= set(URL_SAMPLES), (
            f"{pattern.name}: no sample for {parameters - set(URL_SAMPLES)}"
        )
        url = reverse(f"wizard:{pattern.name}", kwargs={name: URL_SAMPLES[name] for name in parameters})
        for name in parameters:
            url = url.replace(str(URL_SAMPLES[name]), "{" + name + "}")
        templates[pattern.name] = url
    return templates


# --- Browser -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not os.path.exists(CHROMIUM):
        message = (
            "Chromium is missing: install it with `apt-get install chromium` (Debian) to run browser tests."
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "zh-CN"}


# Tests that produce something rather than check something: each runs only when its
# variable is set (by its make target), whatever -m says, and says how to run it otherwise.
OPT_IN = {
    "benchmark": ("RUN_BENCHMARK", "make benchmark-smoke"),
    "screenshots": ("SCREENSHOT_DIR", "make screenshots"),
}


def pytest_collection_modifyitems(config, items):
    """Browser tests flush the database (live server); run them after the rest. Opt-in
    tests are skipped unless their variable is set."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
    for marker, (variable, target) in OPT_IN.items():
        if os.environ.get(variable):
            continue
        skip = pytest.mark.skip(reason=f"opt-in: set {variable} to run it (`{target}`)")
        for item in items:
            if item.get_closest_marker(marker):
                item.add_marker(skip)


def make_agent(username: str, **fields):
    """An account with the agent role, as ``manage.py create_account --role agent`` makes it."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(username, **fields)
    roles.grant(user, roles.AGENT)
    return user


def ensure_roles() -> None:
    """The role groups (flush recreates them after migrate's signal; this does not rely on it)."""
    roles.sync_groups()


@pytest.fixture
def live_site(live_server, transactional_db):
    """The live server with the seed knowledge published and the roles in place."""
    ensure_seed()
    ensure_roles()
    return live_server


@pytest.fixture
def new_page(browser, browser_context_args) -> Iterator[Callable[..., Page]]:
    """Another browser of its own (cookies, locale, viewport), closed after the test.

    Takes the keyword arguments of ``browser.new_context``, over the suite's defaults.
    """
    contexts: list[BrowserContext] = []

    def open_page(**options) -> Page:
        context = browser.new_context(**{**browser_context_args, **options})
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def console_errors(page):
    """Console errors and CSP violations seen by the page; a test asserts it stays empty."""
    errors: list[str] = []
    # A 400/409/429 is how the product answers bad input on purpose; the browser logs it.
    expected = re.compile(r"Failed to load resource: the server responded with a status of (400|409|429)")

    def on_console(message) -> None:
        if message.type == "error" and not expected.search(message.text):
            errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def own_case(client, diagnosis) -> None:
    """Make ``client`` the browser that started ``diagnosis`` (wizard.views.common.own)."""
    from django.core import signing

    from wizard.views.common import OWNED_COOKIE, OWNED_SALT

    signer = signing.get_cookie_signer(salt=OWNED_COOKIE + OWNED_SALT)
    client.cookies[OWNED_COOKIE] = signer.sign(diagnosis.code)


@pytest.fixture
def like_postgresql():
    """Refuse NUL characters in query parameters, as psycopg does before PostgreSQL sees them."""

    def refuse_nul(execute, sql, params, many, context):
        rows = params if many else [params]
        if any(isinstance(value, str) and "\x00" in value for row in rows for value in row or ()):
            raise ValueError("A string literal cannot contain NUL (0x00) characters.")
        return execute(sql, params, many, context)

    with connections[DEFAULT_DB_ALIAS].execute_wrapper(refuse_nul):
        yield


@pytest.fixture
def steady_clock(monkeypatch):
    """The rate limiter's clock stopped now: counts in fixed windows (wizard/ratelimit.py)
    must not straddle a window's end on a slow machine and start again from zero."""
    import types

    from wizard import ratelimit

    now = time.time()
    monkeypatch.setattr(ratelimit, "time", types.SimpleNamespace(time=lambda: now))
    return now


@pytest.fixture
def support_admin(db, django_user_model):
    """A member of the "Support admins" group only: no permission of their own."""
    user = django_user_model.objects.create_user("support.admin", is_staff=True)
    user.groups.add(Group.objects.get(name="Support admins"))
    return user
