"""Section 7: one step through the JSON API beside one step of the HTML wizard.

A step is what it takes a client to send an answer and see what comes next. In the wizard
that is the answer (POST, answered by a 303) and the page it leads to (GET: the next
question or the result); through the API it is one request, ``POST
/api/v1/diagnoses/{code}/answers``, answered with the new state. Both walk diagnoses side
by side, in-process with Django's test client through the whole middleware stack, on a
throwaway database with the seed knowledge, the same random answers (one in ten "not
sure"), each API step timed right after the HTML step of the same number. Target: an API
step takes at most 1.2× an HTML step.
"""

from __future__ import annotations

import io
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings, setup_databases, teardown_databases

from wizard import knowledge, publishing
from wizard.models import ApiKey, Integration

from .measure import _timed_request, ms, pct
from .servers import START_TOKEN_RE, UnexpectedReply, answer_form, parse_question

TARGET = 1.2


@dataclass
class ApiStepReport:
    html: list[float] = field(default_factory=list)  # answer + the page it leads to
    api: list[float] = field(default_factory=list)  # the answer, with the new state
    html_queries: list[int] = field(default_factory=list)
    api_queries: list[int] = field(default_factory=list)
    html_bytes: int = 0
    api_bytes: int = 0

    @property
    def ratio(self) -> float:
        return pct(self.api, 50) / pct(self.html, 50)


def _html_start(client: Client) -> str:
    token = START_TOKEN_RE.search(client.get("/").content.decode())
    return client.post("/start/", {"token": token.group(1) if token else ""})["Location"]


def _api_post(client: Client, path: str, body: dict, secret: str):
    return client.post(
        path, json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {secret}"
    )


def _timed_api(client: Client, path: str, body: dict, secret: str):
    """(response, seconds, queries) of one API request."""
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        response = _api_post(client, path, body, secret)
        elapsed = time.perf_counter() - started
    return response, elapsed, len(queries)


def _walk(
    client: Client, secret: str, rng: random.Random, report: ApiStepReport, max_steps: int = 40
) -> None:
    """One diagnosis in the wizard and one through the API, answered alike, step by step."""
    location = _html_start(client)
    page = client.get(location)
    state = _api_post(client, "/api/v1/diagnoses", {"language": "zh-hans"}, secret).json()
    for _ in range(max_steps):
        question = parse_question(page.content.decode())
        if question is None or state["question"] is None:
            return
        option = rng.choice(question.options) if rng.random() > 0.1 else "unsure"
        # The HTML step: the answer, then the page it leads to.
        posted, post_s, post_q = _timed_request(client, "POST", location, answer_form(question, option))
        if posted.status_code != 303:
            raise UnexpectedReply(f"POST {location}: {posted.status_code}")
        location = posted["Location"]
        page, get_s, get_q = _timed_request(client, "GET", location)
        report.html.append(post_s + get_s)
        report.html_queries.append(post_q + get_q)
        report.html_bytes = len(page.content)
        # The API step: the same answer if the API asks the same question, else its first option.
        asked = state["question"]
        values = [o["value"] for o in asked["options"]]
        api_option = option if asked["slug"] == question.slug and option in [*values, "unsure"] else values[0]
        body = {"number": asked["number"], "question": asked["slug"], "answer": api_option}
        response, api_s, api_q = _timed_api(
            client, f"/api/v1/diagnoses/{state['code']}/answers", body, secret
        )
        if response.status_code != 200:
            raise UnexpectedReply(f"API answer: {response.status_code} {response.content[:200]!r}")
        report.api.append(api_s)
        report.api_queries.append(api_q)
        report.api_bytes = len(response.content)
        state = response.json()
        if "/result/" in location:
            return


def bench_api_steps(*, diagnoses: int, log: Callable[[str], None]) -> ApiStepReport:
    """``diagnoses`` walks in each channel on a throwaway database with the seed knowledge."""
    test_settings = connection.settings_dict.setdefault("TEST", {})
    if connection.vendor == "postgresql":
        test_settings["NAME"] = f"benchmark_api_{connection.settings_dict['NAME']}"
    old = setup_databases(verbosity=0, interactive=False, aliases={"default"}, serialized_aliases=set())
    report = ApiStepReport()
    try:
        with override_settings(
            DEBUG=False,
            ALLOWED_HOSTS=["testserver"],
            RATE_LIMIT_EXEMPT=[],
            RATE_LIMITS={"start": (10**8, 60), "answer": (10**8, 60), "lookup-miss": (10**8, 60)},
        ):
            call_command("load_knowledge", stdout=io.StringIO())
            publishing.publish(note="seed")
            knowledge.clear_cache()
            integration = Integration.objects.create(name="benchmark", slug="benchmark")
            key, secret = ApiKey.issue(integration, "benchmark", [ApiKey.Scope.DIAGNOSE.value])
            ApiKey.objects.filter(pk=key.pk).update(rate_limit=10**8)
            client = Client()
            rng = random.Random(7)
            _walk(client, secret, rng, ApiStepReport())  # warm-up: compiles the snapshot
            for _ in range(diagnoses):
                _walk(client, secret, rng, report)
        log(
            f"  API step p50 {ms(pct(report.api, 50))} against HTML step p50 {ms(pct(report.html, 50))} "
            f"({report.ratio:.2f}×)"
        )
    finally:
        knowledge.clear_cache()
        teardown_databases(old, verbosity=0)
    return report


def api_targets(report: ApiStepReport | None) -> list[str]:
    if report is None or not report.api:
        return []
    ok = report.ratio <= TARGET
    return [
        f"| an API step ≤ {TARGET}× an HTML step (answer → next state) | {report.ratio:.2f}× "
        f"({ms(pct(report.api, 50))} against {ms(pct(report.html, 50))}, p50) | "
        f"{'**met**' if ok else '**missed**'} |"
    ]


def api_section(report: ApiStepReport | None) -> list[str]:
    if report is None or not report.api:
        return []
    return [
        "## 7. The JSON API: one step beside the wizard's",
        "",
        "A step is what it takes to send an answer and see what comes next. In the wizard: the answer "
        "(POST, answered by a 303) and the page it leads to (GET: the next question or the result). "
        "Through the API: one request, `POST /api/v1/diagnoses/{code}/answers`, answered with the new "
        "state as JSON (the question, the answers so far, the ranking, the warnings, and the result once "
        "the questions stop), authenticated by an API key (one query), counted against the key's limit. "
        "Both walk diagnoses side by side in-process (Django's test client, the whole middleware stack, "
        "`DEBUG=False`, a throwaway database, the seed knowledge), answered alike, each API step timed "
        "right after the HTML step of the same number.",
        "",
        "| | steps | p50 | p95 | queries (most in one step) | response size |",
        "| --- | --- | --- | --- | --- | --- |",
        f"| HTML step (answer + page) | {len(report.html)} | {ms(pct(report.html, 50))} | "
        f"{ms(pct(report.html, 95))} | {max(report.html_queries)} | {report.html_bytes / 1024:.1f} KB |",
        f"| API step (answer → state) | {len(report.api)} | {ms(pct(report.api, 50))} | "
        f"{ms(pct(report.api, 95))} | {max(report.api_queries)} | {report.api_bytes / 1024:.1f} KB |",
        "",
        f"An API step takes {report.ratio:.2f}× an HTML step at p50 (target ≤ {TARGET}×): "
        + (
            "it does the HTML step's work in one request, without the redirect and the second pass "
            "through the middleware, and renders JSON instead of a template."
            if report.ratio <= TARGET
            else "it is slower than the wizard's two requests; the state's ranking and transcript are "
            "the lever."
        ),
        "",
    ]
