"""Section 3: HTTP under load, the wizard against the reference view on real app servers.

gunicorn with 2 workers on a scratch PostgreSQL database and Redis; a bounded load
generator (threads of ``Visitor``) runs complete diagnoses, then requests the reference
view, in alternating rounds so that both sides see the same machine conditions.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import random
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .servers import (
    AppServer,
    Question,
    Reply,
    UnexpectedReply,
    Visitor,
    delete_cache_keys,
    expect,
    manage,
    redact,
    scratch_database,
    server_environment,
    walk_diagnosis,
)

ROUNDS = 4  # each side's time is split into this many alternating rounds


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


@dataclass
class HttpReport:
    wizard: LoadResult
    reference: LoadResult
    workers: int
    worker_rss: list[int]
    database: str
    cache: str


class WindowOver(Exception):
    """The load generator's time or request budget is spent (or the request failed)."""


Session = Callable[[Visitor, Callable, Callable[[], bool]], None]


class LoadGenerator:
    """Threads that repeat a session against one port, recording into one ``LoadResult``
    until the time or request budget is spent."""

    def __init__(
        self, name: str, session: Session, *, port: int, concurrency: int, duration: float, max_requests: int
    ):
        self.session = session
        self.port = port
        self.max_requests = max_requests
        self.lock = threading.Lock()
        self.result = LoadResult(name, concurrency, 0.0, [], 0)
        self.deadline = time.monotonic() + duration

    def stopped(self) -> bool:
        return time.monotonic() >= self.deadline or self.result.requests >= self.max_requests

    def failed(self, example: str) -> None:
        with self.lock:
            self.result.errors += 1
            self.result.error_examples.append(example)

    def record(self, kind: str, send: Callable[[], Reply], expected: int) -> Reply:
        """Send one request and keep its latency; a failed connection ends the session."""
        if self.stopped():
            raise WindowOver
        started = time.perf_counter()
        try:
            reply = send()
        except (OSError, http.client.HTTPException) as error:
            self.failed(f"{kind}: {error!r}")
            raise WindowOver from error  # this session is lost; the error is counted
        elapsed = time.perf_counter() - started
        if reply.status == expected:  # otherwise the session raises UnexpectedReply
            with self.lock:
                self.result.latencies.append(elapsed)
                self.result.by_kind.setdefault(kind, []).append(elapsed)
        return reply

    def worker(self) -> None:
        visitor = Visitor(self.port, timeout=15)
        while not self.stopped():
            try:
                self.session(visitor, self.record, self.stopped)
            except WindowOver:
                continue
            except UnexpectedReply as error:
                self.failed(str(error)[:200])
                continue
            with self.lock:
                self.result.diagnoses += 1


def run_load(
    name: str,
    session: Session,
    *,
    port: int,
    concurrency: int,
    duration: float,
    max_requests: int,
) -> LoadResult:
    """``concurrency`` threads repeat ``session`` until ``duration`` seconds have passed or
    ``max_requests`` were sent; each request is bounded by the visitor's timeout."""
    generator = LoadGenerator(
        name, session, port=port, concurrency=concurrency, duration=duration, max_requests=max_requests
    )
    threads = [threading.Thread(target=generator.worker, daemon=True) for _ in range(concurrency)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=duration + 30)
    result = generator.result
    result.seconds = time.monotonic() - started
    result.error_examples = result.error_examples[:5]
    return result


def diagnosis_session(seed: int) -> Session:
    rng = random.Random(seed)

    def choose(question: Question) -> str:
        return rng.choice(question.options) if rng.random() > 0.1 else "unsure"

    def session(visitor: Visitor, record: Callable, stopped: Callable[[], bool]) -> None:
        visitor.cookies.clear()
        walk_diagnosis(visitor, choose, record=record)

    return session


def reference_session(codes: list[str], seed: int) -> Session:
    rng = random.Random(seed)

    def session(visitor: Visitor, record: Callable, stopped: Callable[[], bool]) -> None:
        path = f"/benchmark/reference/{rng.choice(codes)}/"
        # Counted as one finished "session", like the wizard's diagnoses.
        expect(record("reference", lambda: visitor.get(path), 200), 200)

    return session


def bench_http(
    database_url: str, redis_url: str, *, duration: float, concurrency: int, log: Callable[[str], None]
) -> HttpReport:
    prefix = f"bench-{secrets.token_hex(4)}"
    with scratch_database(database_url, "doctor_benchmark") as url:
        env = server_environment(
            url,
            redis_url,
            DJANGO_SETTINGS_MODULE="wizard.benchmark.settings",
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
                rounds = _alternating_rounds(server, duration=duration, concurrency=concurrency, log=log)
                rss = server.worker_rss()
        finally:
            delete_cache_keys(redis_url, prefix)
            with contextlib.suppress(OSError):
                log_path.unlink()
    merged = {name: _merge(name, results, concurrency) for name, results in rounds.items()}
    return HttpReport(merged["wizard"], merged["reference"], 2, rss, redact(database_url), redact(redis_url))


def _alternating_rounds(
    server: AppServer, *, duration: float, concurrency: int, log: Callable[[str], None]
) -> dict[str, list[LoadResult]]:
    """Eight diagnoses for the reference to show, a warm-up, then ``ROUNDS`` rounds a side."""
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
            log(f"  HTTP {name}, round {round_ + 1}: {duration / ROUNDS:.1f} s at concurrency {concurrency}")
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
    return rounds


def _merge(name: str, results: list[LoadResult], concurrency: int) -> LoadResult:
    """One side's rounds as if they had been one run."""
    return LoadResult(
        name,
        concurrency,
        sum(r.seconds for r in results),
        [x for r in results for x in r.latencies],
        sum(r.errors for r in results),
        sum(r.diagnoses for r in results),
        [e for r in results for e in r.error_examples][:5],
        {kind: [x for r in results for x in r.by_kind.get(kind, [])] for kind in results[0].by_kind},
    )
