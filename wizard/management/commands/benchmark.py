"""`manage.py benchmark [--quick]`: honest, repeatable figures written to docs/performance.md.

Every figure stands beside a reference measured in the same run on the same machine, so
the ratios mean something even when the machine is busy or different:

1. engine: time to choose a question and memory on synthetic knowledge bases, against
   one matrix-vector product over the same likelihood array;
2. one wizard step in-process (Django's test client, full middleware stack) against a
   reference view doing three indexed queries and rendering a 5 KB template
   (``config/benchmark_urls.py``), on a throwaway database;
3. HTTP: gunicorn with 2 workers on a throwaway PostgreSQL database and Redis, a bounded
   load generator running complete diagnoses, against the reference view loaded the
   same way;
4. diagnostic efficiency: questions asked against the entropy lower bound and a fixed
   question order, and top-1 accuracy with clean and noisy answers.

Synthetic knowledge bases are real knowledge payloads (the format of
``docs/knowledge-format.md``) compiled by ``Snapshot.from_payload``, with the seed's
proportions: each yes/no symptom linked to about 11% of the causes, most causes expecting
one option of each choice question, the seed's mix of strengths, about one question in
seven a choice between 3-7 symptoms.

The app-server helpers (scratch databases, gunicorn processes, a small cookie-keeping
HTTP client that only talks to 127.0.0.1) are also used by tests/test_multi_server.py.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import math
import os
import platform
import random
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import dj_database_url
import django
import numpy as np
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings, setup_databases, teardown_databases

from wizard import content, engine, knowledge, publishing
from wizard.models import KnowledgeRevision

BASE_DIR = Path(settings.BASE_DIR)
DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"

# The seed's proportions (wizard/seed/knowledge.json): evidence strengths and their mix.
# Measured on the seed: a yes/no symptom is linked to 11% of the causes; 80% of the causes
# link an option of a choice question.
BINARY_DENSITY = 0.11
CHOICE_COVER = 0.8
STRENGTH_MIX = {"often": 0.44, "sometimes": 0.40, "always": 0.10, "rarely": 0.06}
SIZES = [("seed size", 14, 34), ("200×150", 200, 150), ("1,000×500", 1000, 500), ("3,000×1,000", 3000, 1000)]


# ---------------------------------------------------------------------------------------
# Synthetic knowledge


def _bilingual(text: str) -> dict[str, str]:
    return {"zh-hans": text, "en": text}


def synthetic_payload(n_causes: int, n_questions: int, *, seed: int = 0) -> dict[str, Any]:
    """A knowledge payload with the seed's proportions, reproducible from ``seed``."""
    rng = np.random.default_rng(seed)
    symptoms: list[str] = []
    questions: list[dict[str, Any]] = []
    for i in range(n_questions):
        base = {
            "slug": f"q-{i}",
            "order": i,
            "effort": 1.0,
            "text": _bilingual(f"Question {i}"),
            "script": _bilingual(""),
            "help": _bilingual(""),
        }
        if rng.random() < 5 / 34:
            options = [f"s-{i}-{j}" for j in range(int(rng.integers(3, 8)))]
            symptoms += options
            base["kind"] = "choice"
            base["options"] = [
                {"slug": f"o-{j}", "symptom": s, "label": _bilingual(s), "provider": None}
                for j, s in enumerate(options)
            ]
        else:
            symptoms.append(f"s-{i}")
            base["kind"] = "binary"
            base["symptom"] = f"s-{i}"
        questions.append(base)
    words, weights = list(STRENGTH_MIX), list(STRENGTH_MIX.values())
    # The seed's density, whatever the size: a yes/no symptom is linked to about one cause in
    # nine, and most causes expect one option of each choice question.
    evidence: list[dict[str, str]] = [{} for _ in range(n_causes)]
    for q in questions:
        if q["kind"] == "binary":
            for c in rng.choice(n_causes, size=max(1, round(BINARY_DENSITY * n_causes)), replace=False):
                evidence[int(c)][q["symptom"]] = str(rng.choice(words, p=weights))
        else:
            options = [o["symptom"] for o in q["options"]]
            for c in range(n_causes):
                if rng.random() < CHOICE_COVER:
                    evidence[c][options[int(rng.integers(len(options)))]] = str(rng.choice(words, p=weights))
    for links in evidence:
        while len(links) < 2:  # every cause reachable, as publishing requires
            links[symptoms[int(rng.integers(len(symptoms)))]] = str(rng.choice(words, p=weights))
    causes = [
        {
            "slug": f"c-{c}",
            "category": "general",
            "order": c,
            "prior": round(float(rng.uniform(0.8, 1.2)), 3),
            "title": _bilingual(f"Cause {c}"),
            "explanation": _bilingual("Synthetic cause."),
            "evidence": [{"symptom": s, "strength": w} for s, w in sorted(links.items())],
            "solutions": [f"fix-{c}"],
        }
        for c, links in enumerate(evidence)
    ]
    return {
        "format": knowledge.FORMAT,
        "version": knowledge.VERSION,
        "categories": [{"slug": "general", "order": 0, "title": _bilingual("General")}],
        "providers": [],
        "symptoms": [{"slug": s, "title": _bilingual(s)} for s in symptoms],
        "solutions": [
            {
                "slug": f"fix-{c}",
                "order": c,
                "title": _bilingual(f"Fix {c}"),
                "steps": _bilingual("1. Do this\n2. Then this"),
                "audience": "merchant",
                "effort_minutes": 5,
                "is_escalation": False,
                "contexts": [],
            }
            for c in range(n_causes)
        ],
        "causes": causes,
        "questions": questions,
    }


def answer_counts(model: engine.Model) -> np.ndarray:
    """How many real answers each question has (the answer axis is padded with zeros)."""
    return (model.likelihood.sum(axis=2) > 0).sum(axis=1)


# ---------------------------------------------------------------------------------------
# Measuring


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


def model_bytes(model: engine.Model) -> int:
    """Bytes of every array the model keeps (views of another array count once)."""
    arrays = [v for v in vars(model).values() if isinstance(v, np.ndarray)]
    return sum(a.nbytes for a in arrays if a.base is None or not any(a.base is b for b in arrays))


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


def bench_engine(sizes, *, quick: bool, log: Callable[[str], None]) -> list[EngineRow]:
    rows = []
    for name, n_causes, n_questions in sizes:
        payload = synthetic_payload(n_causes, n_questions, seed=n_causes)
        tracemalloc.start()
        started = time.perf_counter()
        snapshot = knowledge.Snapshot.from_payload(0, payload)
        compile_s = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        model = snapshot.model
        # "Later": five answers in, as a merchant with a random cause would give them.
        rng = np.random.default_rng(1)
        truth = int(rng.integers(n_causes))
        counts = answer_counts(model)
        answers: list[engine.Answer] = []
        for _ in range(5):
            step = engine.next_step(model, answers, budget=10**6, confidence=1.1)
            q = step.question
            answers.append((q, int(model.likelihood[q, : counts[q], truth].argmax())))
        asked = [q for q, _ in answers]
        budget_s = 0.3 if quick else 1.5
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
        p = engine.posterior(model, answers)
        flat = model.likelihood.reshape(-1, n_causes)
        reference = timed(lambda f=flat, v=p: f @ v, min_reps=20, budget_s=budget_s)
        rows.append(
            EngineRow(
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
        )
        log(f"  engine {name}: choose {ms(rows[-1].later_p50)} (L@p {ms(rows[-1].reference_p50)})")
    return rows


# ---------------------------------------------------------------------------------------
# 4. Diagnostic efficiency


@dataclass
class EfficiencyRow:
    name: str
    causes: int
    questions: int
    trials: int
    entropy_bits: float
    lower_bound: float
    greedy: float  # mean questions, no question budget
    fixed_listed: float
    fixed_gain: float
    budget_questions: float  # mean questions with the production budget
    accuracy: dict[float, float] = field(default_factory=dict)  # noise → top-1, production settings
    unlimited_accuracy: float = float("nan")  # clean answers, no question budget
    max_answers: int = 2


def _answer_for(model, counts, truth: int, noise: float, rng: random.Random) -> Callable[[int], int]:
    def answer(q: int) -> int:
        a = int(model.likelihood[q, : counts[q], truth].argmax())
        if noise and rng.random() < noise:
            a = rng.choice([x for x in range(counts[q]) if x != a])
        return a

    return answer


def _greedy(model, answer, *, confidence: float, budget: int) -> tuple[int, int]:
    transcript, p = engine.simulate(model, answer, confidence=confidence, budget=budget)
    return len(transcript), int(np.argmax(p))


def _fixed(model, log_likelihood, order, answer, *, confidence: float) -> tuple[int, int]:
    """Ask in a fixed ``order`` until confident (the posterior updated incrementally)."""
    log_p = np.log(model.prior)
    p = model.prior
    asked = 0
    for q in order:
        if p.max() >= confidence:
            break
        log_p = log_p + log_likelihood[q, answer(q)]
        p = np.exp(log_p - log_p.max())
        p = p / p.sum()
        asked += 1
    return asked, int(np.argmax(p))


def bench_efficiency(
    bases: list[tuple[str, dict[str, Any]]], *, trials: int, log: Callable[[str], None]
) -> list[EfficiencyRow]:
    confidence, budget = settings.WIZARD_CONFIDENCE, settings.WIZARD_QUESTION_BUDGET
    rows = []
    for name, payload in bases:
        model = knowledge.Snapshot.from_payload(0, payload).model
        n_causes, n_questions = model.n_causes, model.n_questions
        counts = answer_counts(model)
        log_likelihood = np.log(np.clip(model.likelihood, 1e-300, None))
        rng = random.Random(7)
        truths = [int(t) for t in np.random.default_rng(7).choice(n_causes, size=trials, p=model.prior)]
        listed = list(range(n_questions))
        by_gain = [int(q) for q in np.argsort(-engine.information_gain(model, model.prior), kind="stable")]
        entropy_bits = engine.entropy(model.prior)
        row = EfficiencyRow(
            name=name,
            causes=n_causes,
            questions=n_questions,
            trials=trials,
            entropy_bits=entropy_bits,
            lower_bound=entropy_bits / math.log2(int(counts.max())),
            greedy=0.0,
            fixed_listed=0.0,
            fixed_gain=0.0,
            budget_questions=0.0,
        )
        # Without a question budget: how many questions each strategy needs to be confident.
        greedy, listed_n, gain_n, hits = [], [], [], 0
        for truth in truths:
            clean = _answer_for(model, counts, truth, 0.0, rng)
            asked, top = _greedy(model, clean, confidence=confidence, budget=n_questions)
            greedy.append(asked)
            hits += top == truth
            listed_n.append(_fixed(model, log_likelihood, listed, clean, confidence=confidence)[0])
            gain_n.append(_fixed(model, log_likelihood, by_gain, clean, confidence=confidence)[0])
        row.greedy = statistics.fmean(greedy)
        row.fixed_listed = statistics.fmean(listed_n)
        row.fixed_gain = statistics.fmean(gain_n)
        row.unlimited_accuracy = hits / trials
        row.max_answers = int(counts.max())
        # With the production settings (confidence, budget): top-1 accuracy under noise.
        for noise in (0.0, 0.1, 0.2):
            hits, asked_n = 0, []
            for truth in truths:
                answer = _answer_for(model, counts, truth, noise, rng)
                asked, top = _greedy(model, answer, confidence=confidence, budget=budget)
                hits += top == truth
                asked_n.append(asked)
            row.accuracy[noise] = hits / trials
            if noise == 0.0:
                row.budget_questions = statistics.fmean(asked_n)
        rows.append(row)
        log(f"  efficiency {name}: {row.greedy:.1f} vs fixed {row.fixed_gain:.1f}; top-1 {row.accuracy}")
    return rows


# ---------------------------------------------------------------------------------------
# HTTP client, scratch databases and app servers (also used by tests/test_multi_server.py)

QUESTION_RE = re.compile(r'data-question="([a-z0-9-]+)"')
ANSWER_RE = re.compile(r'name="answer" value="([a-z0-9-]+)"')
SEEN_RE = re.compile(r'name="seen" value="(\d+)"')
START_TOKEN_RE = re.compile(r'name="token" value="([^"]*)"')
CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    text: str

    @property
    def location(self) -> str:
        return self.headers.get("Location", "")


class Visitor:
    """One browser-like visitor: keeps cookies, sends the CSRF header, never follows
    redirects, and only ever talks to 127.0.0.1 (with a timeout on every request)."""

    def __init__(self, port: int, *, timeout: float = 15.0, language: str = "zh-hans"):
        self.port = port
        self.timeout = timeout
        self.language = language
        self.cookies: dict[str, str] = {}

    def request(
        self, method: str, path: str, form: dict[str, Any] | None = None, *, port: int | None = None
    ) -> Reply:
        conn = http.client.HTTPConnection("127.0.0.1", port or self.port, timeout=self.timeout)
        headers = {"Accept-Language": self.language}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            if "csrftoken" in self.cookies:
                headers["X-CSRFToken"] = self.cookies["csrftoken"]
        try:
            conn.request(method, path, body, headers)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
        finally:
            conn.close()
        for value in response.headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie()
            cookie.load(value)
            self.cookies.update({name: morsel.value for name, morsel in cookie.items()})
        return Reply(response.status, response.headers, text)

    def get(self, path: str, **kwargs) -> Reply:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, form: dict[str, Any], **kwargs) -> Reply:
        return self.request("POST", path, form, **kwargs)


@dataclass
class Question:
    slug: str
    options: list[str]
    seen: str | None


def parse_question(html: str) -> Question | None:
    match = QUESTION_RE.search(html)
    if match is None:
        return None
    seen = SEEN_RE.search(html)
    return Question(match.group(1), ANSWER_RE.findall(html), seen.group(1) if seen else None)


def answer_form(question: Question, option: str) -> dict[str, str]:
    form = {"question": question.slug, "answer": option}
    if question.seen is not None:
        form["seen"] = question.seen
    return form


class UnexpectedReply(Exception):
    pass


class WindowOver(Exception):
    """The load generator's time or request budget is spent (or the request failed)."""


def expect(reply: Reply, status: int) -> Reply:
    if reply.status != status:
        raise UnexpectedReply(f"expected {status}, got {reply.status}: {reply.text[:300]!r}")
    return reply


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_params(url: str) -> dict[str, Any]:
    config = dj_database_url.parse(url)
    return {
        "dbname": config["NAME"],
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
        "host": config.get("HOST") or None,
        "port": config.get("PORT") or None,
    }


def postgres_reachable(url: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(**postgres_params(url), connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def redis_reachable(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2).ping())
    except redis.RedisError:
        return False


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@contextlib.contextmanager
def scratch_database(url: str, prefix: str = "doctor_scratch") -> Iterator[str]:
    """A new, empty PostgreSQL database next to ``url``'s; dropped afterwards."""
    import psycopg
    from psycopg import sql

    name = f"{prefix}_{secrets.token_hex(4)}"
    params = postgres_params(url)
    with psycopg.connect(**params, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield with_database(url, name)
    finally:
        with psycopg.connect(**params, autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def delete_cache_keys(redis_url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=5)
    keys = list(client.scan_iter(f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)


def server_environment(database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    """Environment of a stand-alone app server (not production: no TLS on 127.0.0.1)."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "LOG_LEVEL": "WARNING",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    """Run ``manage.py`` with ``env``; raises with its output when it fails."""
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


class AppServer:
    """A gunicorn process on 127.0.0.1; always stopped (its whole process group) on exit."""

    def __init__(self, env: dict[str, str], *, workers: int = 1, port: int | None = None, log: Path):
        self.env = env
        self.workers = workers
        self.port = port or free_port()
        self.log = log
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> AppServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self, *, timeout: float = 60) -> None:
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            f"--bind=127.0.0.1:{self.port}",
            f"--workers={self.workers}",
            "--timeout=60",
            "--graceful-timeout=5",
            "--backlog=256",
        ]
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                command,
                cwd=BASE_DIR,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log_tail()}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                if Visitor(self.port, timeout=2).get("/healthz").status == 200:
                    return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gunicorn on port {self.port} not ready within {timeout} s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def worker_rss(self) -> list[int]:
        """Resident memory of each worker process, in bytes (Linux only)."""
        if self.process is None:
            return []
        sizes = []
        with contextlib.suppress(OSError):
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
            for pid in children:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS"):
                        sizes.append(int(line.split()[1]) * 1024)
        return sizes

    def log_tail(self, lines: int = 40) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""


def walk_diagnosis(
    visitor: Visitor,
    choose: Callable[[Question], str],
    *,
    ports: list[int] | None = None,
    record: Callable[[str, Callable[[], Reply], int], Reply] | None = None,
    max_steps: int = 60,
) -> tuple[str, list[tuple[str, str]], Reply]:
    """Start a diagnosis and answer until the result page; returns (code, answers, result).

    ``ports`` alternates the servers: request i goes to ``ports[i % len(ports)]``.
    ``record(kind, send, expected_status)`` may wrap every request (the load generator
    times them there).
    """
    counter = iter(range(10**6))

    def send(kind: str, method: str, path: str, form=None, expected: int = 200) -> Reply:
        port = ports[next(counter) % len(ports)] if ports else None

        def go() -> Reply:
            return visitor.request(method, path, form, port=port)

        reply = record(kind, go, expected) if record else go()
        return expect(reply, expected)

    landing = send("landing", "GET", "/")
    token = START_TOKEN_RE.search(landing.text)
    started = send("start", "POST", "/start/", {"token": token.group(1) if token else ""}, 303)
    location = started.location
    code = location.strip("/").split("/")[1]
    answers: list[tuple[str, str]] = []
    for _ in range(max_steps):
        if "/result/" in location:
            return code, answers, send("result", "GET", location)
        page = send("question", "GET", location)
        question = parse_question(page.text)
        if question is None:
            raise UnexpectedReply(f"no question at {location}: {page.text[:300]!r}")
        option = choose(question)
        answers.append((question.slug, option))
        location = send("answer", "POST", location, answer_form(question, option), 303).location
    raise UnexpectedReply(f"no result after {max_steps} steps")


# ---------------------------------------------------------------------------------------
# 3. HTTP load


@dataclass
class LoadResult:
    name: str
    concurrency: int
    seconds: float
    latencies: list[float]
    errors: int
    diagnoses: int = 0
    error_examples: list[str] = field(default_factory=list)
    by_kind: dict[str, list[float]] = field(default_factory=dict)  # latencies per kind of request

    @property
    def requests(self) -> int:
        return len(self.latencies) + self.errors

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


def run_load(
    name: str,
    session: Callable[[Visitor, Callable, Callable[[], bool]], None],
    *,
    port: int,
    concurrency: int,
    duration: float,
    max_requests: int,
) -> LoadResult:
    """``concurrency`` threads repeat ``session`` until ``duration`` seconds have passed or
    ``max_requests`` were sent; each request is bounded by the visitor's timeout."""
    lock = threading.Lock()
    result = LoadResult(name, concurrency, 0.0, [], 0)
    deadline = time.monotonic() + duration

    def stopped() -> bool:
        return time.monotonic() >= deadline or result.requests >= max_requests

    def failed(example: str) -> None:
        with lock:
            result.errors += 1
            result.error_examples.append(example)

    def record(kind: str, send: Callable[[], Reply], expected: int) -> Reply:
        if stopped():
            raise WindowOver
        started = time.perf_counter()
        try:
            reply = send()
        except (OSError, http.client.HTTPException) as error:
            failed(f"{kind}: {error!r}")
            raise WindowOver from error  # this session is lost; the error is counted
        elapsed = time.perf_counter() - started
        if reply.status == expected:  # otherwise the session raises UnexpectedReply
            with lock:
                result.latencies.append(elapsed)
                result.by_kind.setdefault(kind, []).append(elapsed)
        return reply

    def worker() -> None:
        visitor = Visitor(port, timeout=15)
        while not stopped():
            try:
                session(visitor, record, stopped)
            except WindowOver:
                continue
            except UnexpectedReply as error:
                failed(str(error)[:200])
                continue
            with lock:
                result.diagnoses += 1

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=duration + 30)
    result.seconds = time.monotonic() - started
    result.error_examples = result.error_examples[:5]
    return result


def diagnosis_session(seed: int) -> Callable:
    rng = random.Random(seed)

    def choose(question: Question) -> str:
        return rng.choice(question.options) if rng.random() > 0.1 else "unsure"

    def session(visitor: Visitor, record: Callable, stopped: Callable[[], bool]) -> None:
        visitor.cookies.clear()
        walk_diagnosis(visitor, choose, record=record)

    return session


def reference_session(codes: list[str], seed: int) -> Callable:
    rng = random.Random(seed)

    def session(visitor: Visitor, record: Callable, stopped: Callable[[], bool]) -> None:
        path = f"/benchmark/reference/{rng.choice(codes)}/"
        # Counted as one finished "session", like the wizard's diagnoses.
        expect(record("reference", lambda: visitor.get(path), 200), 200)

    return session


ROUNDS = 4  # each side's time is split into this many alternating rounds


@dataclass
class HttpReport:
    wizard: LoadResult
    reference: LoadResult
    workers: int
    worker_rss: list[int]
    database: str
    cache: str


def bench_http(
    database_url: str, redis_url: str, *, duration: float, concurrency: int, log: Callable[[str], None]
) -> HttpReport:
    prefix = f"bench-{secrets.token_hex(4)}"
    with scratch_database(database_url, "doctor_benchmark") as url:
        env = server_environment(
            url,
            redis_url,
            DJANGO_SETTINGS_MODULE="config.benchmark_settings",
            CACHE_KEY_PREFIX=prefix,
            # The limiter runs (and costs what it costs) but never refuses the generator.
            RATE_LIMIT_EXEMPT="",
            RATE_LIMIT_START="100000000/60",
            RATE_LIMIT_ANSWER="100000000/60",
        )
        log("  migrating and publishing the seed on a scratch PostgreSQL database")
        manage(env, "migrate", "--noinput")
        manage(env, "load_knowledge")
        manage(env, "publish_knowledge", "--note", "benchmark")
        log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"{prefix}-gunicorn.log"
        try:
            with AppServer(env, workers=2, log=log_path) as server:
                codes: list[str] = []
                warm = Visitor(server.port)
                for i in range(8):
                    code, _, _ = walk_diagnosis(warm, lambda q, i=i: q.options[i % len(q.options)])
                    codes.append(code)
                # Warm both workers (snapshot compiled, connections open), then alternate
                # rounds so that both sides see the same machine conditions.
                run_load(
                    "warm-up",
                    diagnosis_session(0),
                    port=server.port,
                    concurrency=concurrency,
                    duration=max(2.0, duration / 10),
                    max_requests=100_000,
                )
                rounds: dict[str, list[LoadResult]] = {"wizard": [], "reference": []}
                for round_ in range(ROUNDS):
                    for name, session in (
                        ("wizard", diagnosis_session(round_ + 1)),
                        ("reference", reference_session(codes, round_ + 1)),
                    ):
                        log(
                            f"  HTTP {name}, round {round_ + 1}: {duration / ROUNDS:.1f} s at concurrency {concurrency}"
                        )
                        rounds[name].append(
                            run_load(
                                name,
                                session,
                                port=server.port,
                                concurrency=concurrency,
                                duration=duration / ROUNDS,
                                max_requests=500_000,
                            )
                        )
                rss = server.worker_rss()
        finally:
            delete_cache_keys(redis_url, prefix)
            with contextlib.suppress(OSError):
                log_path.unlink()
    merged = {
        name: LoadResult(
            name,
            concurrency,
            sum(r.seconds for r in results),
            [x for r in results for x in r.latencies],
            sum(r.errors for r in results),
            sum(r.diagnoses for r in results),
            [e for r in results for e in r.error_examples][:5],
            {kind: [x for r in results for x in r.by_kind.get(kind, [])] for kind in results[0].by_kind},
        )
        for name, results in rounds.items()
    }
    return HttpReport(
        merged["wizard"], merged["reference"], 2, rss, _redact(database_url), _redact(redis_url)
    )


def _redact(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


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


def _in_process_walk(client: Client, rng: random.Random, report: StepReport, max_steps: int = 40) -> None:
    def timed_request(method: str, path: str, data=None, *, engine_calls: list[int] | None = None):
        send = client.post if method == "POST" else client.get
        calls = _engine_calls[0]
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = send(path, data or {})
            elapsed = time.perf_counter() - started
        if engine_calls is not None:
            engine_calls.append(_engine_calls[0] - calls)
        return response, elapsed, len(queries)

    token = START_TOKEN_RE.search(client.get("/").content.decode())
    response = client.post("/start/", {"token": token.group(1) if token else ""})
    location = response["Location"]
    code = location.strip("/").split("/")[1]
    for _ in range(max_steps):
        if "/result/" in location:
            return
        page, elapsed, queries = timed_request("GET", location, engine_calls=report.get_engine)
        html = page.content.decode()
        question = parse_question(html)
        if page.status_code != 200 or question is None:
            raise UnexpectedReply(f"GET {location}: {page.status_code}")
        report.get.append(elapsed)
        report.get_queries.append(queries)
        report.page_bytes = len(page.content)
        ref, elapsed, queries = timed_request("GET", f"/benchmark/reference/{code}/")
        report.reference.append(elapsed)
        report.reference_queries.append(queries)
        report.reference_bytes = len(ref.content)
        option = rng.choice(question.options) if rng.random() > 0.1 else "unsure"
        posted, elapsed, queries = timed_request(
            "POST", location, answer_form(question, option), engine_calls=report.post_engine
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
            ROOT_URLCONF="config.benchmark_urls",
            ALLOWED_HOSTS=["testserver"],
            RATE_LIMIT_EXEMPT=[],
            RATE_LIMITS={"start": (10**8, 60), "answer": (10**8, 60)},
        ):
            call_command("load_knowledge", stdout=io.StringIO())
            seed, _ = publishing.publish(note="seed")
            big = synthetic_payload(1000, 500, seed=1000)
            phases = [("seed", seed.number, None), ("1,000×500", seed.number + 1, big)]
            for name, number, payload in phases:
                if payload is not None:
                    KnowledgeRevision.objects.create(number=number, payload=payload, note="benchmark")
                knowledge.clear_cache()
                started = time.perf_counter()
                snapshot = knowledge.get_snapshot(number)
                compile_s = time.perf_counter() - started
                report = StepReport(
                    name, snapshot.model.n_causes, snapshot.model.n_questions, compile_s=compile_s
                )
                client = Client()
                rng = random.Random(3)
                report.engine_calls = _count_engine_calls(client, rng)  # also the warm-up
                for _ in range(diagnoses[name]):
                    _in_process_walk(client, rng, report)
                reports.append(report)
                log(
                    f"  step {name}: GET p50 {ms(pct(report.get, 50))}, POST p50 {ms(pct(report.post, 50))}, "
                    f"reference p50 {ms(pct(report.reference, 50))}"
                )
    finally:
        knowledge.clear_cache()
        teardown_databases(old, verbosity=0)
    return reports


# ---------------------------------------------------------------------------------------
# The report


def label(name: str, causes: int, questions: int) -> str:
    return name if "×" in name else f"{name} ({causes}×{questions})"


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**missed**"


def _step_ratios(s: StepReport) -> tuple[float, float]:
    """(question page ÷ reference, page + answer ÷ two references), at p50."""
    reference = pct(s.reference, 50)
    return pct(s.get, 50) / reference, (pct(s.get, 50) + pct(s.post, 50)) / (2 * reference)


def render_report(
    *,
    quick: bool,
    started: datetime,
    seconds: float,
    info: dict[str, str],
    engine_rows: list[EngineRow],
    steps: list[StepReport],
    http: HttpReport | str,
    efficiency: list[EfficiencyRow],
    duration: float,
    concurrency: int,
) -> str:
    out: list[str] = []
    add = out.append
    confidence, budget = settings.WIZARD_CONFIDENCE, settings.WIZARD_QUESTION_BUDGET
    engine_by_causes = {r.causes: r for r in engine_rows}

    add("# Performance")
    add("")
    add(
        f"Written by `python manage.py benchmark{' --quick' if quick else ''}` on {started:%Y-%m-%d %H:%M} "
        f"({seconds:.0f} s); run it again with `make benchmark`. Every figure stands beside a reference "
        "measured in the same run on the same machine: between machines, or on a busy machine, compare "
        "the ratios rather than the absolute times."
    )
    add("")

    add("## Summary")
    add("")
    add("| target | measured | verdict |")
    add("| --- | --- | --- |")
    big = engine_by_causes.get(1000)
    if big:
        worst = max(big.first_p50, big.later_p50)
        add(
            f"| engine chooses a question in ≤ 2 ms at 1,000×500 | {ms(worst)} (p50) | {verdict(worst <= 0.002)} |"
        )
    for s in steps:
        limit = 1.5 if s.name == "seed" else 2.0
        page_ratio, step_ratio = _step_ratios(s)
        add(
            f"| a wizard step ≤ {limit}× the reference view at {s.name} size | question page {page_ratio:.2f}×; "
            f"page + answer {step_ratio:.2f}× two references | page {verdict(page_ratio <= limit)}, "
            f"page + answer {verdict(step_ratio <= limit)} |"
        )
    if isinstance(http, HttpReport):
        share = http.wizard.rps / http.reference.rps if http.reference.rps else 0.0
        add(
            f"| HTTP: ≥ 70% of the reference's requests/s, zero errors | {share:.0%}, "
            f"{http.wizard.errors} errors | {verdict(share >= 0.7 and http.wizard.errors == 0)} |"
        )
    else:
        add(f"| HTTP: ≥ 70% of the reference's requests/s, zero errors | not measured: {http} | — |")
    for target, ok, value in (
        (
            "≥ 30% fewer questions than a fixed order",
            lambda e: _saving(e) >= 0.3,
            lambda e: f"{_saving(e):.0%}",
        ),
        (
            "≥ 95% top-1 with clean answers",
            lambda e: e.accuracy[0.0] >= 0.95,
            lambda e: f"{e.accuracy[0.0]:.1%}",
        ),
        (
            "≥ 85% top-1 with 10% noisy answers",
            lambda e: e.accuracy[0.1] >= 0.85,
            lambda e: f"{e.accuracy[0.1]:.1%}",
        ),
    ):
        add(
            f"| {target} | "
            + "; ".join(f"{e.name} {value(e)}" for e in efficiency)
            + " | "
            + "; ".join(f"{e.name} {verdict(ok(e))}" for e in efficiency)
            + " |"
        )
    add("")
    add(
        "Why a target is missed, and what would meet it, is under [What the figures say](#what-the-figures-say)."
    )
    add("")

    add("## Machine")
    add("")
    add("| | |")
    add("| --- | --- |")
    for key, value in info.items():
        add(f"| {key} | {value} |")
    add(f"| database, in-process part | {connection.vendor} |")
    add(f"| cache, in-process part | {settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]} |")
    add("")

    add("## 1. Engine: choosing the next question")
    add("")
    add(
        "Synthetic knowledge bases (causes × questions) with the seed's proportions — each yes/no symptom "
        "linked to about 11% of the causes, most causes expecting one option of each choice question, the "
        "seed's mix of strengths, one question in seven a choice between 3 and 7 symptoms — built as "
        "knowledge payloads and compiled by `Snapshot.from_payload`. *Choose* is "
        "`engine.next_step` (posterior, information gain of every question, stopping rules), at the start "
        "and five answers in. Reference: one matrix–vector product over the same likelihood array "
        "(`L @ p`), the floor of any information-gain computation. Memory: every array the compiled model "
        "keeps, beside the likelihood array alone; *compile* is paid once per revision and process."
    )
    add("")
    add(
        "| knowledge base | choose, start (p50 / p95) | choose, 5 answers in (p50 / p95) | "
        "reference `L @ p` (p50) | ratio | model memory | likelihood array | compile (time / peak memory) |"
    )
    add("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in engine_rows:
        add(
            f"| {label(r.name, r.causes, r.questions)} | {ms(r.first_p50)} / {ms(r.first_p95)} | "
            f"{ms(r.later_p50)} / {ms(r.later_p95)} | {ms(r.reference_p50)} | "
            f"{r.later_p50 / r.reference_p50:.1f}× | {mib(r.model_bytes)} | {mib(r.likelihood_bytes)} | "
            f"{ms(r.compile_s)} / {mib(r.compile_peak)} |"
        )
    add("")

    add("## 2. One wizard step in-process")
    add("")
    add(
        "Django's test client through the whole middleware stack (sessions, CSRF, locale, CSP, axes, the "
        'rate limiter), `DEBUG=False`, on a throwaway database; random answers, one in ten "not sure". '
        "A step is the question page (GET) and the answer (POST, answered by a 303 to the next question): "
        "the page is compared with one reference request, page and answer together with two. Reference: "
        "`config/benchmark_urls.py`, three indexed queries and a 5 KB template."
    )
    add("")
    add(
        "| knowledge base | steps | question page (p50 / p95) | answer (p50 / p95) | reference (p50 / p95) | "
        "queries page / answer / reference | engine runs page / answer | size page / reference | "
        "page ÷ reference | page + answer ÷ 2 references |"
    )
    add("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for s in steps:
        page_ratio, step_ratio = _step_ratios(s)
        add(
            f"| {label(s.name, s.causes, s.questions)} | {len(s.get)} | {ms(pct(s.get, 50))} / {ms(pct(s.get, 95))} | "
            f"{ms(pct(s.post, 50))} / {ms(pct(s.post, 95))} | "
            f"{ms(pct(s.reference, 50))} / {ms(pct(s.reference, 95))} | "
            f"{max(s.get_queries)} / {max(s.post_queries)} / {max(s.reference_queries)} | "
            f"{s.engine_calls.get('GET', 0):.1f} / {s.engine_calls.get('POST', 0):.1f} | "
            f"{s.page_bytes / 1024:.1f} KB / {s.reference_bytes / 1024:.1f} KB | {page_ratio:.2f}× | "
            f"{step_ratio:.2f}× |"
        )
    add("")
    add(
        "Queries: the most seen in one request. Engine runs: the mean number of `engine.next_step` calls "
        "per request. The first request for a revision in a process compiles its snapshot: "
        + ", ".join(f"{ms(s.compile_s)} at {s.name} size" for s in steps)
        + "."
    )
    add("")

    add("## 3. HTTP under load")
    add("")
    if isinstance(http, str):
        add(f"Not measured: {http}")
    else:
        w, ref = http.wizard, http.reference
        add(
            f"gunicorn with {http.workers} sync workers (`OPENBLAS_NUM_THREADS=1`) on a throwaway PostgreSQL "
            f"database ({http.database}) with the Redis cache ({http.cache}) and the seed knowledge. "
            f"{concurrency} concurrent visitors — threads with `http.client`, one connection per request, "
            f"127.0.0.1 only, a 15 s timeout per request — for {duration:.0f} s on each side, in {ROUNDS} "
            "alternating rounds. A wizard visitor runs complete diagnoses: landing page, start, every "
            "question and answer, result page, with random answers. A reference visitor requests the "
            "reference view of one of eight diagnoses. The load generator runs on the same machine and "
            "takes its share of the cores, the same for both sides."
        )
        add("")
        add("| | requests | requests/s | p50 | p95 | p99 | errors | complete diagnoses (per s) |")
        add("| --- | --- | --- | --- | --- | --- | --- | --- |")
        for r in (w, ref):
            add(
                f"| {r.name} | {r.requests} | {r.rps:.1f} | {ms(pct(r.latencies, 50))} | "
                f"{ms(pct(r.latencies, 95))} | {ms(pct(r.latencies, 99))} | {r.errors} | "
                + (f"{r.diagnoses} ({r.diagnoses / r.seconds:.1f}) |" if r.name == "wizard" else "— |")
            )
        add("")
        add("Latency of each kind of request under this load (p50 / p95, count):")
        add("")
        add("| request | p50 | p95 | count |")
        add("| --- | --- | --- | --- |")
        for r in (w, ref):
            for kind, samples in r.by_kind.items():
                add(f"| {kind} | {ms(pct(samples, 50))} | {ms(pct(samples, 95))} | {len(samples)} |")
        if w.error_examples or ref.error_examples:
            add("")
            add("Errors seen: " + "; ".join(w.error_examples + ref.error_examples))
        if http.worker_rss:
            add("")
            add("Worker memory (RSS) after the run: " + ", ".join(mib(x) for x in http.worker_rss) + ".")
    add("")

    add("## 4. Diagnostic efficiency")
    add("")
    add(
        "Simulated merchants: a true cause drawn from the priors; each answer the most likely one for that "
        "cause (*clean*), or, with probability 10% or 20%, another answer at random (*noisy*). First, the "
        f"mean number of questions needed to reach the wizard's confidence ({confidence:.0%}) with clean "
        "answers and no question budget: the engine (greedy information gain per unit of effort) against "
        "a fixed order — the questions as the knowledge lists them, the questionnaire a hand-written script "
        "follows, which the target is judged against; and, as a stricter baseline shown beside it, the "
        "questions sorted once by their information gain at the start — and against the entropy lower "
        "bound H / log2(k), k the most "
        "answers any question has (for yes/no questions alone the bound is H itself). Then top-1 accuracy "
        f"with the production settings (confidence {confidence:.0%}, at most {budget} questions), and "
        "with clean answers and no budget."
    )
    add("")
    add(
        "| knowledge base | trials | H | lower bound | engine | fixed, as listed | fixed, by gain | "
        "fewer than the fixed order | fewer than the gain order | questions asked (budget) | top-1 clean | "
        "top-1 10% noise | top-1 20% noise | top-1 clean, no budget |"
    )
    add("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for e in efficiency:
        add(
            f"| {label(e.name, e.causes, e.questions)} | {e.trials} | {e.entropy_bits:.1f} bits | "
            f"{e.lower_bound:.1f} (k = {e.max_answers}) | {e.greedy:.1f} | {e.fixed_listed:.1f} | "
            f"{e.fixed_gain:.1f} | {_saving(e):.0%} | {_saving_over_gain_order(e):.0%} | "
            f"{e.budget_questions:.1f} | {e.accuracy[0.0]:.1%} | "
            f"{e.accuracy[0.1]:.1%} | {e.accuracy[0.2]:.1%} | {e.unlimited_accuracy:.1%} |"
        )
    add("")

    add("## What the figures say")
    add("")
    for finding in _findings(engine_rows, steps, http, efficiency):
        add(f"- {finding}")
    add("")
    return "\n".join(out)


def _saving(e: EfficiencyRow) -> float:
    """How many fewer questions the engine asks than the fixed order: the questions as the
    knowledge lists them, the questionnaire a hand-written script would follow."""
    return 1 - e.greedy / e.fixed_listed if e.fixed_listed else 0.0


def _saving_over_gain_order(e: EfficiencyRow) -> float:
    """The same against a stricter static order: questions sorted by their initial gain."""
    return 1 - e.greedy / e.fixed_gain if e.fixed_gain else 0.0


def _findings(
    engine_rows: list[EngineRow],
    steps: list[StepReport],
    http: HttpReport | str,
    efficiency: list[EfficiencyRow],
) -> list[str]:
    """Plain-language reading of the figures; every number comes from this run."""
    notes = []
    by_causes = {r.causes: r for r in engine_rows}
    big, huge = by_causes.get(1000), by_causes.get(3000)
    if big:
        notes.append(
            f"**Engine.** Choosing a question costs {ms(big.later_p50)} at 1,000×500, "
            f"{big.later_p50 / big.reference_p50:.1f}× one pass over the likelihood array: the work is "
            "memory-bound matrix–vector products, close to the floor. Memory is the constraint to plan "
            f"for: a compiled revision of 1,000×500 keeps {mib(big.model_bytes)} in every worker process"
            + (f" and one of 3,000×1,000 {mib(huge.model_bytes)}" if huge else "")
            + ", because the answer axis is padded to the question with the most options and the "
            "log-likelihoods are kept beside the likelihoods; a worker keeps up to 16 revisions it has "
            "served. Float32 arrays and unpadded yes/no questions would divide this by about four."
        )
    for s in steps:
        engine_row = by_causes.get(s.causes) or by_causes.get(14)
        limit = 1.5 if s.name == "seed" else 2.0
        page_ratio, step_ratio = _step_ratios(s)
        runs = s.engine_calls.get("GET", 0) + s.engine_calls.get("POST", 0)
        engine_ms = runs * engine_row.later_p50 if engine_row else 0.0
        step_ms = pct(s.get, 50) + pct(s.post, 50)
        excess = step_ms - 2 * pct(s.reference, 50)
        text = (
            f"**A step at {s.name} size** takes {ms(step_ms)} (page + answer, p50) against "
            f"{ms(2 * pct(s.reference, 50))} for two reference requests ({step_ratio:.2f}×; the page alone "
            f"{page_ratio:.2f}×). The engine runs {runs:.0f} times per step ({s.engine_calls.get('GET', 0):.0f} "
            f"for the page, {s.engine_calls.get('POST', 0):.0f} for the answer: the next question; the one "
            f"answered is stored with the case), about {ms(engine_ms)} in all; "
            f"the answer makes {max(s.post_queries)} queries against the reference's "
            f"{max(s.reference_queries)} (it reads the case, its answers included, then writes the answer and "
            "the case's progress in one transaction: a commit the read-only reference never waits for)."
        )
        reference2 = 2 * pct(s.reference, 50)
        if excess > 0:
            text += (
                f" Of the {ms(excess)} above two references, the engine is about {engine_ms / excess:.0%}."
            )
        if step_ratio > limit and excess > 0 and engine_ms / excess >= 0.25:
            once = (step_ms - engine_ms / 2) / reference2
            text += (
                f" Target ({limit}×) missed by {ms(step_ms - limit * reference2)}. Checking the answer against "
                f"the question stored on the case instead of recomputing it would save about "
                f"{ms(engine_ms / 2)}, to about {once:.2f}×, at the price of trusting a cached value."
            )
        elif step_ratio > limit:
            text += (
                f" Target ({limit}×) missed by {ms(step_ms - limit * reference2)}. The engine is not the lever "
                "at this size; the answer's write is: a transaction and its commit, which a read-only "
                "reference does not pay."
            )
        notes.append(text)
    if isinstance(http, HttpReport):
        w, ref = http.wizard, http.reference
        notes.append(
            f"**Under load**, with 2 workers on 2 cores shared with PostgreSQL, Redis and the load generator, "
            f"the wizard served {w.rps:.0f} requests/s ({w.diagnoses / w.seconds:.1f} complete diagnoses/s) "
            f"against the reference's {ref.rps:.0f} ({w.rps / ref.rps:.0%}), p99 {ms(pct(w.latencies, 99))}, "
            f"with {w.errors} errors: a wizard request costs about {2000 / w.rps:.1f} ms of a worker, the "
            f"reference {2000 / ref.rps:.1f} ms. Slowest under load: "
            + ", ".join(
                f"{kind} {ms(pct(samples, 50))}"
                for kind, samples in sorted(w.by_kind.items(), key=lambda item: -pct(item[1], 50))[:2]
            )
            + f" (p50, queueing included) against {ms(pct(ref.latencies, 50))} for the reference; section 2 "
            "shows where a step's extra time goes. Throughput grows with app servers and cores; workers "
            "share nothing but PostgreSQL and Redis."
        )
    for e in efficiency:
        if e.accuracy[0.0] >= 0.95 and e.accuracy[0.1] >= 0.85:
            continue
        bits = e.entropy_bits / e.greedy if e.greedy else 0.0
        notes.append(
            f"**{label(e.name, e.causes, e.questions)}.** The engine still asks "
            f"{_saving(e):.0%} fewer questions than the fixed order, but to be {settings.WIZARD_CONFIDENCE:.0%} "
            f"sure it needs {e.greedy:.1f} questions on average (about {bits:.2f} bits each), while the "
            f"budget of {settings.WIZARD_QUESTION_BUDGET} stops every diagnosis not yet sure (it asks "
            f"{e.budget_questions:.1f} on average): top-1 is {e.accuracy[0.0]:.1%} with the budget and "
            f"{e.unlimited_accuracy:.1%} without. The question budget, not the choice of questions, "
            "limits accuracy here; a knowledge base this large needs more discriminating questions "
            "(choices that split the causes into groups) or a larger `WIZARD_QUESTION_BUDGET`."
        )
    noisy = [e for e in efficiency if e.accuracy[0.0] >= 0.95 and e.accuracy[0.1] < 0.85]
    for e in noisy:
        notes.append(
            f"**Noise at {e.name} size**: {e.accuracy[0.1]:.1%} top-1 with 10% wrong answers, below 85%. "
            'The engine trusts every answer as the evidence strengths say; "not sure" is the merchant\'s '
            "way to avoid a wrong answer."
        )
    return notes


class Command(BaseCommand):
    help = "Measure the engine, a wizard step, HTTP throughput and diagnostic quality; write docs/performance.md."

    def add_arguments(self, parser):
        parser.add_argument(
            "--quick", action="store_true", help="Short runs (about a minute), for a smoke test."
        )
        parser.add_argument("--output", default=str(BASE_DIR / "docs" / "performance.md"))
        parser.add_argument(
            "--database-url",
            default="",
            help="PostgreSQL server for the HTTP part (a scratch database is created and dropped "
            "there). Default: DATABASE_URL if it is PostgreSQL, else " + DEFAULT_POSTGRES_URL,
        )
        parser.add_argument("--redis-url", default="", help="Default: REDIS_URL, else " + DEFAULT_REDIS_URL)
        parser.add_argument("--skip-http", action="store_true", help="Leave out the HTTP part.")

    def handle(
        self, *, quick: bool, output: str, database_url: str, redis_url: str, skip_http: bool, **options
    ):
        # Without collectstatic, WhiteNoise warns once per middleware setup; nothing is served here.
        warnings.filterwarnings("ignore", message="No directory at")
        started_at = datetime.now()
        started = time.monotonic()
        log = self.stdout.write
        info = machine()
        duration, concurrency = (5.0, 16) if quick else (30.0, 16)

        log("Engine…")
        engine_rows = bench_engine(SIZES, quick=quick, log=log)

        log("One wizard step in-process…")
        steps = bench_steps(
            diagnoses={"seed": 10, "1,000×500": 4} if quick else {"seed": 80, "1,000×500": 30}, log=log
        )

        log("HTTP…")
        env_db = os.environ.get("DATABASE_URL", "")
        database_url = database_url or (env_db if env_db.startswith("postgres") else DEFAULT_POSTGRES_URL)
        redis_url = redis_url or os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
        http: HttpReport | str
        if skip_http:
            http = "`--skip-http`."
        elif not postgres_reachable(database_url):
            http = f"PostgreSQL is not reachable at {_redact(database_url)}."
        elif not redis_reachable(redis_url):
            http = f"Redis is not reachable at {_redact(redis_url)}."
        else:
            http = bench_http(database_url, redis_url, duration=duration, concurrency=concurrency, log=log)

        log("Diagnostic efficiency…")
        bases = [("the seed itself", content.read_file())] + [
            (name, synthetic_payload(c, q, seed=c)) for name, c, q in (SIZES[:2] if quick else SIZES[:3])
        ]
        efficiency = bench_efficiency(bases, trials=60 if quick else 300, log=log)

        report = render_report(
            quick=quick,
            started=started_at,
            seconds=time.monotonic() - started,
            info=info,
            engine_rows=engine_rows,
            steps=steps,
            http=http,
            efficiency=efficiency,
            duration=duration,
            concurrency=concurrency,
        )
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        Path(output).write_text(report, encoding="utf-8")
        self.stdout.write(self.style.SUCCESS(f"Wrote {output}"))
