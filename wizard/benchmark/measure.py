"""Timing, and the in-process measurements: the engine alone and one wizard step.

Section 1 times ``engine.next_step`` on synthetic knowledge bases against one
matrix-vector product over the same likelihood array; section 2 walks diagnoses with
Django's test client through the whole middleware stack, each question page timed beside
a request for the reference view of ``wizard.benchmark.urls``.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import platform
import random
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import django
import numpy as np
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings, setup_databases, teardown_databases

from wizard import engine, knowledge, publishing
from wizard.models import KnowledgeRevision

from .servers import FORM_ENCODED, START_TOKEN_RE, UnexpectedReply, answer_form, parse_question
from .synthetic import synthetic_payload

# ---------------------------------------------------------------------------------------
# Timing and units


def timed(fn: Callable[[], Any], *, min_reps: int, budget_s: float) -> list[float]:
    """Seconds per call: at least ``min_reps`` calls, more while within ``budget_s``."""
    samples: list[float] = []
    started = time.perf_counter()
    while len(samples) < min_reps or (time.perf_counter() - started < budget_s and len(samples) < 100_000):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return samples


def pct(samples: list[float], q: float) -> float:
    return float(np.percentile(samples, q)) if samples else float("nan")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f} ms" if seconds < 0.01 else f"{seconds * 1000:.1f} ms"


def mib(n_bytes: float) -> str:
    return f"{n_bytes / 2**20:.1f} MiB" if n_bytes >= 2**20 else f"{n_bytes / 2**10:.0f} KiB"


def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 2**20:.1f} GiB"
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return {
        "CPU": cpu,
        "cores": str(os.cpu_count()),
        "memory": memory or "unknown",
        "OS": platform.platform(),
        "Python": platform.python_version(),
        "numpy": np.__version__,
        "Django": django.get_version(),
        "BLAS threads": f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}",
        "load average at start": load,
    }


# ---------------------------------------------------------------------------------------
# 1. Engine


@dataclass
class EngineRow:
    name: str
    causes: int
    questions: int
    compile_s: float
    compile_peak: int
    model_bytes: int
    likelihood_bytes: int
    first_p50: float
    first_p95: float
    later_p50: float
    later_p95: float
    reference_p50: float


def model_bytes(model: engine.Model) -> int:
    """Bytes of every array the model keeps."""
    return model.nbytes


def bench_engine(sizes, *, quick: bool, log: Callable[[str], None]) -> list[EngineRow]:
    rows = []
    for name, n_causes, n_questions in sizes:
        rows.append(_engine_row(name, n_causes, n_questions, budget_s=0.3 if quick else 1.5))
        log(f"  engine {name}: choose {ms(rows[-1].later_p50)} (L@p {ms(rows[-1].reference_p50)})")
    return rows


def _engine_row(name: str, n_causes: int, n_questions: int, *, budget_s: float) -> EngineRow:
    payload = synthetic_payload(n_causes, n_questions, seed=n_causes)
    tracemalloc.start()
    started = time.perf_counter()
    snapshot = knowledge.Snapshot.from_payload(0, payload)
    compile_s = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    model = snapshot.model
    answers = _five_answers(model, n_causes)
    asked = [q for q, _ in answers]
    # Confidence above 1 keeps the engine choosing instead of stopping early.
    first = timed(
        lambda m=model: engine.next_step(m, [], budget=10**6, confidence=1.1),
        min_reps=20,
        budget_s=budget_s,
    )
    later = timed(
        lambda m=model, a=answers, k=asked: engine.next_step(m, a, k, budget=10**6, confidence=1.1),
        min_reps=20,
        budget_s=budget_s,
    )
    p = engine.posterior(model, answers).astype(np.float32)
    flat = np.concatenate(model.likelihood.blocks)
    reference = timed(lambda f=flat, v=p: f @ v, min_reps=20, budget_s=budget_s)
    return EngineRow(
        name=name,
        causes=n_causes,
        questions=n_questions,
        compile_s=compile_s,
        compile_peak=peak,
        model_bytes=model_bytes(model),
        likelihood_bytes=model.likelihood.nbytes,
        first_p50=pct(first, 50),
        first_p95=pct(first, 95),
        later_p50=pct(later, 50),
        later_p95=pct(later, 95),
        reference_p50=pct(reference, 50),
    )


def _five_answers(model: engine.Model, n_causes: int) -> list[engine.Evidence]:
    """ "Later": five answers in, as a merchant with a random cause would give them. No
    stopping rule may end them sooner: five answers can settle a small knowledge base."""
    rng = np.random.default_rng(1)
    truth = int(rng.integers(n_causes))
    answers: list[engine.Evidence] = []
    for _ in range(5):
        step = engine.next_step(model, answers, budget=10**6, confidence=1.1, min_gain=0.0)
        q = step.question
        answers.append((q, int(model.likelihood[q][:, truth].argmax())))
    return answers


# ---------------------------------------------------------------------------------------
# 2. One wizard step in-process


@dataclass
class StepReport:
    name: str
    causes: int = 0
    questions: int = 0
    get: list[float] = field(default_factory=list)
    post: list[float] = field(default_factory=list)
    reference: list[float] = field(default_factory=list)
    get_queries: list[int] = field(default_factory=list)
    post_queries: list[int] = field(default_factory=list)
    reference_queries: list[int] = field(default_factory=list)
    page_bytes: int = 0
    reference_bytes: int = 0
    compile_s: float = 0.0
    get_engine: list[int] = field(default_factory=list)
    post_engine: list[int] = field(default_factory=list)
    engine_calls: dict[str, float] = field(default_factory=dict)  # mean per GET / per POST


_engine_calls = [0]  # incremented only while _count_engine_calls() runs


def _timed_request(
    client: Client, method: str, path: str, data=None, *, engine_calls: list[int] | None = None
):
    """(response, seconds, queries) of one request; appends its engine runs to ``engine_calls``."""
    if method == "POST":  # encoded as a browser submits a form (multipart is for files)
        send = functools.partial(client.post, path, urlencode(data or {}), content_type=FORM_ENCODED)
    else:
        send = functools.partial(client.get, path, data or {})
    calls = _engine_calls[0]
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        response = send()
        elapsed = time.perf_counter() - started
    if engine_calls is not None:
        engine_calls.append(_engine_calls[0] - calls)
    return response, elapsed, len(queries)


def _in_process_walk(client: Client, rng: random.Random, report: StepReport, max_steps: int = 40) -> None:
    token = START_TOKEN_RE.search(client.get("/").content.decode())
    response = client.post("/start/", {"token": token.group(1) if token else ""})
    location = response["Location"]
    code = location.strip("/").split("/")[1]
    for _ in range(max_steps):
        if "/result/" in location:
            return
        page, elapsed, queries = _timed_request(client, "GET", location, engine_calls=report.get_engine)
        html = page.content.decode()
        question = parse_question(html)
        if page.status_code != 200 or question is None:
            raise UnexpectedReply(f"GET {location}: {page.status_code}")
        report.get.append(elapsed)
        report.get_queries.append(queries)
        report.page_bytes = len(page.content)
        ref, elapsed, queries = _timed_request(client, "GET", f"/benchmark/reference/{code}/")
        report.reference.append(elapsed)
        report.reference_queries.append(queries)
        report.reference_bytes = len(ref.content)
        option = rng.choice(question.options) if rng.random() > 0.1 else "unsure"
        posted, elapsed, queries = _timed_request(
            client, "POST", location, answer_form(question, option), engine_calls=report.post_engine
        )
        if posted.status_code != 303:
            raise UnexpectedReply(f"POST {location}: {posted.status_code}")
        report.post.append(elapsed)
        report.post_queries.append(queries)
        location = posted["Location"]


def _count_engine_calls(client: Client, rng: random.Random) -> dict[str, float]:
    """How many times one GET and one POST of a step run the engine (an untimed walk)."""
    original = engine.next_step

    def counting(*args, **kwargs):
        _engine_calls[0] += 1
        return original(*args, **kwargs)

    report = StepReport("count")
    engine.next_step = counting
    try:
        _in_process_walk(client, rng, report)
    finally:
        engine.next_step = original
    return {"GET": statistics.fmean(report.get_engine), "POST": statistics.fmean(report.post_engine)}


def bench_steps(*, diagnoses: dict[str, int], log: Callable[[str], None]) -> list[StepReport]:
    """On a throwaway test database: the seed (revision 1), then a synthetic 1,000×500."""
    test_settings = connection.settings_dict.setdefault("TEST", {})
    if connection.vendor == "postgresql":
        test_settings["NAME"] = f"benchmark_{connection.settings_dict['NAME']}"
    old = setup_databases(verbosity=0, interactive=False, aliases={"default"}, serialized_aliases=set())
    reports = []
    try:
        with override_settings(
            DEBUG=False,
            ROOT_URLCONF="wizard.benchmark.urls",
            ALLOWED_HOSTS=["testserver"],
            RATE_LIMIT_EXEMPT=[],
            RATE_LIMITS={"start": (10**8, 60), "answer": (10**8, 60)},
        ):
            call_command("load_knowledge", stdout=io.StringIO())
            seed, _ = publishing.publish(note="seed")
            big = synthetic_payload(1000, 500, seed=1000)
            phases = [("seed", seed.number, None), ("1,000×500", seed.number + 1, big)]
            for name, number, payload in phases:
                reports.append(_step_report(name, number, payload, diagnoses=diagnoses[name]))
                report = reports[-1]
                log(
                    f"  step {name}: GET p50 {ms(pct(report.get, 50))}, POST p50 {ms(pct(report.post, 50))}, "
                    f"reference p50 {ms(pct(report.reference, 50))}"
                )
    finally:
        knowledge.clear_cache()
        teardown_databases(old, verbosity=0)
    return reports


def _step_report(name: str, number: int, payload: dict[str, Any] | None, *, diagnoses: int) -> StepReport:
    """``diagnoses`` timed walks on revision ``number``, created from ``payload`` when given."""
    if payload is not None:
        KnowledgeRevision.objects.create(number=number, payload=payload, note="benchmark")
    knowledge.clear_cache()
    started = time.perf_counter()
    snapshot = knowledge.get_snapshot(number)
    compile_s = time.perf_counter() - started
    report = StepReport(name, snapshot.model.n_causes, snapshot.model.n_questions, compile_s=compile_s)
    client = Client()
    rng = random.Random(3)
    report.engine_calls = _count_engine_calls(client, rng)  # also the warm-up
    for _ in range(diagnoses):
        _in_process_walk(client, rng, report)
    return report
