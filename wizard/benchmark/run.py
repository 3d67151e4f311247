"""One benchmark run: every section in turn, then the report."""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable
from datetime import datetime

from wizard import content

from .api import bench_api_steps
from .intake import bench_intake
from .load import HttpReport, bench_http
from .measure import bench_engine, bench_steps, machine
from .merchants import bench_efficiency
from .report import Figures, render_report
from .robustness import bench_robustness
from .servers import DEFAULT_POSTGRES_URL, DEFAULT_REDIS_URL, postgres_reachable, redact, redis_reachable
from .synthetic import SIZES, skewed_payload, synthetic_payload


def run(
    *, quick: bool, database_url: str, redis_url: str, skip_http: bool, log: Callable[[str], None]
) -> str:
    """Measure everything and return the markdown report; ``quick`` for a short smoke run.

    Empty ``database_url`` / ``redis_url`` mean DATABASE_URL if it is PostgreSQL / REDIS_URL,
    else the local defaults.
    """
    # Without collectstatic, WhiteNoise warns once per middleware setup; nothing is served here.
    warnings.filterwarnings("ignore", message="No directory at")
    started_at = datetime.now()
    started = time.monotonic()
    info = machine()
    duration, concurrency = (5.0, 16) if quick else (30.0, 16)

    log("Engine…")
    engine_rows = bench_engine(SIZES, quick=quick, log=log)

    log("One wizard step in-process…")
    steps = bench_steps(
        diagnoses={"seed": 10, "1,000×500": 4} if quick else {"seed": 80, "1,000×500": 30}, log=log
    )

    log("One step through the JSON API beside one in the wizard…")
    api = bench_api_steps(diagnoses=4 if quick else 30, log=log)

    log("HTTP…")
    http = _http_or_why_not(
        database_url, redis_url, skip_http=skip_http, duration=duration, concurrency=concurrency, log=log
    )

    log("Diagnostic efficiency…")
    bases = [("the seed itself", content.read_file())] + [
        (name, synthetic_payload(c, q, seed=c)) for name, c, q in (SIZES[:2] if quick else SIZES[:3])
    ]
    efficiency = bench_efficiency(bases, trials=60 if quick else 300, log=log)

    log("Diagnoses with merchants who do not answer like the model…")
    robustness = bench_robustness(
        [("the seed itself", content.read_file()), ("skewed 60×80", skewed_payload())],
        # The seed's figures are the targets: enough merchants that chance moves
        # its top-1 by about a point and a half, not three.
        per_cause=8 if quick else {"the seed itself": 400, "skewed 60×80": 60},
        log=log,
    )

    log("Understanding merchants' own words…")
    intake = bench_intake(content.read_file(), repeats=2 if quick else 20, log=log)

    return render_report(
        Figures(
            quick=quick,
            started=started_at,
            seconds=time.monotonic() - started,
            info=info,
            engine_rows=engine_rows,
            steps=steps,
            http=http,
            efficiency=efficiency,
            robustness=robustness,
            intake=intake,
            api=api,
            duration=duration,
            concurrency=concurrency,
        )
    )


def _http_or_why_not(
    database_url: str,
    redis_url: str,
    *,
    skip_http: bool,
    duration: float,
    concurrency: int,
    log: Callable[[str], None],
) -> HttpReport | str:
    """The HTTP figures, or the reason they were not measured (for the report to say)."""
    env_db = os.environ.get("DATABASE_URL", "")
    database_url = database_url or (env_db if env_db.startswith("postgres") else DEFAULT_POSTGRES_URL)
    redis_url = redis_url or os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    if skip_http:
        return "`--skip-http`."
    if not postgres_reachable(database_url):
        return f"PostgreSQL is not reachable at {redact(database_url)}."
    if not redis_reachable(redis_url):
        return f"Redis is not reachable at {redact(redis_url)}."
    return bench_http(database_url, redis_url, duration=duration, concurrency=concurrency, log=log)
