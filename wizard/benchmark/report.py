"""The markdown report: one function per section, then what the figures say.

Every sentence with a number reads it from this run's measurements; the targets (≤ 2 ms to
choose a question, a step ≤ 1.5× or 2× the reference, ≥ 70% of the reference's requests/s,
≥ 30% fewer questions than a fixed order, top-1 ≥ 95% clean and ≥ 85% noisy) are judged here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection

from .api import ApiStepReport, api_section, api_targets
from .intake import IntakeReport, intake_section, intake_targets, precision_finding
from .load import ROUNDS, HttpReport
from .measure import EngineRow, StepReport, mib, ms, pct
from .merchants import EfficiencyRow
from .report_robustness import questions_finding, robustness_section, robustness_targets
from .robustness import Robustness


@dataclass
class Figures:
    """Everything one run measured, and how."""

    quick: bool
    started: datetime
    seconds: float
    info: dict[str, str]
    engine_rows: list[EngineRow]
    steps: list[StepReport]
    http: HttpReport | str  # why it was not measured, when it was not
    efficiency: list[EfficiencyRow]
    robustness: Robustness
    intake: IntakeReport
    duration: float
    concurrency: int
    api: ApiStepReport | None = None  # section 7


def render_report(figures: Figures) -> str:
    sections: list[Callable[[Figures], list[str]]] = [
        _introduction,
        _summary,
        _machine,
        _engine_section,
        _steps_section,
        _http_section,
        _efficiency_section,
        lambda f: robustness_section(f.robustness),
        lambda f: intake_section(f.intake),
        lambda f: api_section(f.api),
        _findings_section,
    ]
    return "\n".join(line for section in sections for line in section(figures))


def label(name: str, causes: int, questions: int) -> str:
    return name if "×" in name else f"{name} ({causes}×{questions})"


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**missed**"


def _step_limit(s: StepReport) -> float:
    """The target for a step: within 1.5× the reference on the seed, 2× on a large base."""
    return 1.5 if s.name == "seed" else 2.0


def _step_ratios(s: StepReport) -> tuple[float, float]:
    """(question page ÷ reference, page + answer ÷ two references), at p50."""
    reference = pct(s.reference, 50)
    return pct(s.get, 50) / reference, (pct(s.get, 50) + pct(s.post, 50)) / (2 * reference)


# ---------------------------------------------------------------------------------------
# Sections


def _introduction(f: Figures) -> list[str]:
    return [
        "# Performance",
        "",
        f"Written by `python manage.py benchmark{' --quick' if f.quick else ''}` on {f.started:%Y-%m-%d %H:%M} "
        f"({f.seconds:.0f} s); run it again with `make benchmark`. Every figure stands beside a reference "
        "measured in the same run on the same machine: between machines, or on a busy machine, compare "
        "the ratios rather than the absolute times.",
        "",
    ]


def _summary(f: Figures) -> list[str]:
    return [
        "## Summary",
        "",
        "| target | measured | verdict |",
        "| --- | --- | --- |",
        *_engine_target(f.engine_rows),
        *_step_targets(f.steps),
        _http_target(f.http),
        *_efficiency_targets(f.efficiency),
        *robustness_targets(f.robustness),
        *intake_targets(f.intake),
        *api_targets(f.api),
        "",
        "Why a target is missed, and what would meet it, is under [What the figures say](#what-the-figures-say).",
        "",
    ]


def _engine_target(engine_rows: list[EngineRow]) -> list[str]:
    big = {r.causes: r for r in engine_rows}.get(1000)
    if not big:
        return []
    worst = max(big.first_p50, big.later_p50)
    return [
        f"| engine chooses a question in ≤ 2 ms at 1,000×500 | {ms(worst)} (p50) | {verdict(worst <= 0.002)} |"
    ]


def _step_targets(steps: list[StepReport]) -> list[str]:
    lines = []
    for s in steps:
        limit = _step_limit(s)
        page_ratio, step_ratio = _step_ratios(s)
        lines.append(
            f"| a wizard step ≤ {limit}× the reference view at {s.name} size | question page {page_ratio:.2f}×; "
            f"page + answer {step_ratio:.2f}× two references | page {verdict(page_ratio <= limit)}, "
            f"page + answer {verdict(step_ratio <= limit)} |"
        )
    return lines


def _http_target(http: HttpReport | str) -> str:
    if not isinstance(http, HttpReport):
        return f"| HTTP: ≥ 70% of the reference's requests/s, zero errors | not measured: {http} | — |"
    share = http.wizard.rps / http.reference.rps if http.reference.rps else 0.0
    return (
        f"| HTTP: ≥ 70% of the reference's requests/s, zero errors | {share:.0%}, "
        f"{http.wizard.errors} errors | {verdict(share >= 0.7 and http.wizard.errors == 0)} |"
    )


EFFICIENCY_TARGETS: list[tuple[str, Callable[[EfficiencyRow], bool], Callable[[EfficiencyRow], str]]] = [
    ("≥ 30% fewer questions than a fixed order", lambda e: e.saving >= 0.3, lambda e: f"{e.saving:.0%}"),
]


def _efficiency_targets(efficiency: list[EfficiencyRow]) -> list[str]:
    return [
        f"| {target} | "
        + "; ".join(f"{e.name} {value(e)}" for e in efficiency)
        + " | "
        + "; ".join(f"{e.name} {verdict(ok(e))}" for e in efficiency)
        + " |"
        for target, ok, value in EFFICIENCY_TARGETS
    ]


def _machine(f: Figures) -> list[str]:
    return [
        "## Machine",
        "",
        "| | |",
        "| --- | --- |",
        *(f"| {key} | {value} |" for key, value in f.info.items()),
        f"| database, in-process part | {connection.vendor} |",
        f"| cache, in-process part | {settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]} |",
        "",
    ]


def _engine_section(f: Figures) -> list[str]:
    return [
        "## 1. Engine: choosing the next question",
        "",
        "Synthetic knowledge bases (causes × questions) with the seed's proportions — each yes/no symptom "
        "linked to about 11% of the causes, most causes expecting one option of each choice question, the "
        "seed's mix of strengths, one question in seven a choice between 3 and 7 symptoms — built as "
        "knowledge payloads and compiled by `Snapshot.from_payload`. *Choose* is "
        "`engine.next_step` (posterior, information gain of every question, stopping rules), at the start "
        "and five answers in. Reference: one matrix–vector product over the same likelihood array "
        "(`L @ p`), the floor of any information-gain computation. Memory: every array the compiled model "
        "keeps, beside the likelihood array alone; *compile* is paid once per revision and process.",
        "",
        "| knowledge base | choose, start (p50 / p95) | choose, 5 answers in (p50 / p95) | "
        "reference `L @ p` (p50) | ratio | model memory | likelihood array | compile (time / peak memory) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        *(
            f"| {label(r.name, r.causes, r.questions)} | {ms(r.first_p50)} / {ms(r.first_p95)} | "
            f"{ms(r.later_p50)} / {ms(r.later_p95)} | {ms(r.reference_p50)} | "
            f"{r.later_p50 / r.reference_p50:.1f}× | {mib(r.model_bytes)} | {mib(r.likelihood_bytes)} | "
            f"{ms(r.compile_s)} / {mib(r.compile_peak)} |"
            for r in f.engine_rows
        ),
        "",
    ]


def _steps_section(f: Figures) -> list[str]:
    return [
        "## 2. One wizard step in-process",
        "",
        "Django's test client through the whole middleware stack (sessions, CSRF, locale, CSP, axes, the "
        'rate limiter), `DEBUG=False`, on a throwaway database; random answers, one in ten "not sure". '
        "A step is the question page (GET) and the answer (POST, form-encoded as a browser sends it, "
        "answered by a 303 to the next question): "
        "the page is compared with one reference request, page and answer together with two. Reference: "
        "`wizard/benchmark/urls.py`, three indexed queries and a 5 KB template.",
        "",
        "| knowledge base | steps | question page (p50 / p95) | answer (p50 / p95) | reference (p50 / p95) | "
        "queries page / answer / reference | engine runs page / answer | size page / reference | "
        "page ÷ reference | page + answer ÷ 2 references |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        *(_step_row(s) for s in f.steps),
        "",
        "Queries: the most seen in one request. Engine runs: the mean number of `engine.next_step` calls "
        "per request. The first request for a revision in a process compiles its snapshot: "
        + ", ".join(f"{ms(s.compile_s)} at {s.name} size" for s in f.steps)
        + ".",
        "",
    ]


def _step_row(s: StepReport) -> str:
    page_ratio, step_ratio = _step_ratios(s)
    return (
        f"| {label(s.name, s.causes, s.questions)} | {len(s.get)} | {ms(pct(s.get, 50))} / {ms(pct(s.get, 95))} | "
        f"{ms(pct(s.post, 50))} / {ms(pct(s.post, 95))} | "
        f"{ms(pct(s.reference, 50))} / {ms(pct(s.reference, 95))} | "
        f"{max(s.get_queries)} / {max(s.post_queries)} / {max(s.reference_queries)} | "
        f"{s.engine_calls.get('GET', 0):.1f} / {s.engine_calls.get('POST', 0):.1f} | "
        f"{s.page_bytes / 1024:.1f} KB / {s.reference_bytes / 1024:.1f} KB | {page_ratio:.2f}× | "
        f"{step_ratio:.2f}× |"
    )


def _http_section(f: Figures) -> list[str]:
    body = [f"Not measured: {f.http}"] if isinstance(f.http, str) else _http_figures(f.http, f)
    return ["## 3. HTTP under load", "", *body, ""]


def _http_figures(http: HttpReport, f: Figures) -> list[str]:
    w, ref = http.wizard, http.reference
    lines = [
        f"gunicorn with {http.workers} sync workers (`OPENBLAS_NUM_THREADS=1`) on a throwaway PostgreSQL "
        f"database ({http.database}) with the Redis cache ({http.cache}) and the seed knowledge. "
        f"{f.concurrency} concurrent visitors — threads with `http.client`, one connection per request, "
        f"127.0.0.1 only, a 15 s timeout per request — for {f.duration:.0f} s on each side, in {ROUNDS} "
        "alternating rounds. A wizard visitor runs complete diagnoses: landing page, start, every "
        "question and answer, result page, with random answers. A reference visitor requests the "
        "reference view of one of eight diagnoses. The load generator runs on the same machine and "
        "takes its share of the cores, the same for both sides.",
        "",
        "| | requests | requests/s | p50 | p95 | p99 | errors | complete diagnoses (per s) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        *(
            f"| {r.name} | {r.requests} | {r.rps:.1f} | {ms(pct(r.latencies, 50))} | "
            f"{ms(pct(r.latencies, 95))} | {ms(pct(r.latencies, 99))} | {r.errors} | "
            + (f"{r.diagnoses} ({r.diagnoses / r.seconds:.1f}) |" if r.name == "wizard" else "— |")
            for r in (w, ref)
        ),
        "",
        "Latency of each kind of request under this load (p50 / p95, count):",
        "",
        "| request | p50 | p95 | count |",
        "| --- | --- | --- | --- |",
        *(
            f"| {kind} | {ms(pct(samples, 50))} | {ms(pct(samples, 95))} | {len(samples)} |"
            for r in (w, ref)
            for kind, samples in r.by_kind.items()
        ),
    ]
    if w.error_examples or ref.error_examples:
        lines += ["", "Errors seen: " + "; ".join(w.error_examples + ref.error_examples)]
    if http.worker_rss:
        lines += [
            "",
            "Worker memory (RSS) after the run: " + ", ".join(mib(x) for x in http.worker_rss) + ".",
        ]
    return lines


def _efficiency_section(f: Figures) -> list[str]:
    confidence, budget = settings.WIZARD_CONFIDENCE, settings.WIZARD_QUESTION_BUDGET
    return [
        "## 4. Diagnostic efficiency",
        "",
        "How many questions the engine saves. Simulated merchants: a true cause drawn from the priors; each "
        "answer the most likely one for that cause (*clean*: the *most-likely* merchant of section 5, whom "
        "the engine's own model cannot surprise, so accuracy is judged in section 5, not here), or, with "
        "probability 10% or 20%, another answer at random (*noisy*). First, the "
        f"mean number of questions needed to reach the wizard's confidence ({confidence:.0%}) with clean "
        "answers and no question budget: the engine (greedy information gain per unit of effort) against "
        "a fixed order — the questions as the knowledge lists them, the questionnaire a hand-written script "
        "follows, which the target is judged against; and, as a stricter baseline shown beside it, the "
        "questions sorted once by their information gain at the start — and against the entropy lower "
        "bound H / log2(k), k the most "
        "answers any question has (for yes/no questions alone the bound is H itself). Then top-1 accuracy "
        f"with the production settings (confidence {confidence:.0%}, at most {budget} questions), and "
        "with clean answers and no budget.",
        "",
        "| knowledge base | trials | H | lower bound | engine | fixed, as listed | fixed, by gain | "
        "fewer than the fixed order | fewer than the gain order | questions asked (budget) | top-1 clean | "
        "top-1 10% noise | top-1 20% noise | top-1 clean, no budget |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        *(
            f"| {label(e.name, e.causes, e.questions)} | {e.trials} | {e.entropy_bits:.1f} bits | "
            f"{e.lower_bound:.1f} (k = {e.max_answers}) | {e.greedy:.1f} | {e.fixed_listed:.1f} | "
            f"{e.fixed_gain:.1f} | {e.saving:.0%} | {e.saving_over_gain_order:.0%} | "
            f"{e.budget_questions:.1f} | {e.accuracy[0.0]:.1%} | "
            f"{e.accuracy[0.1]:.1%} | {e.accuracy[0.2]:.1%} | {e.unlimited_accuracy:.1%} |"
            for e in f.efficiency
        ),
        "",
    ]


def _findings_section(f: Figures) -> list[str]:
    return ["## What the figures say", "", *(f"- {finding}" for finding in findings(f)), ""]


# ---------------------------------------------------------------------------------------
# What the figures say


def findings(f: Figures) -> list[str]:
    """Plain-language reading of the figures; every number comes from this run."""
    by_causes = {r.causes: r for r in f.engine_rows}
    notes = _engine_findings(by_causes)
    notes += [_step_finding(s, by_causes.get(s.causes) or by_causes.get(14)) for s in f.steps]
    if isinstance(f.http, HttpReport):
        notes.append(_load_finding(f.http))
    notes += questions_finding(f.robustness) + precision_finding(f.intake)
    return notes


def _engine_findings(by_causes: dict[int, EngineRow]) -> list[str]:
    big, huge = by_causes.get(1000), by_causes.get(3000)
    if not big:
        return []
    return [
        f"**Engine.** Choosing a question costs {ms(big.later_p50)} at 1,000×500, "
        f"{big.later_p50 / big.reference_p50:.1f}× one pass over the likelihood array: the work is "
        "memory-bound matrix–vector products, close to the floor. Memory is the constraint to plan "
        f"for: a compiled revision of 1,000×500 keeps {mib(big.model_bytes)} in every worker process"
        + (f" and one of 3,000×1,000 {mib(huge.model_bytes)}" if huge else "")
        + " (float32, one row per answer with no padding, the believed likelihoods and their logarithms "
        "kept beside the stated ones); a worker keeps the revisions it serves up to "
        "`WIZARD_SNAPSHOT_CACHE` of them and `WIZARD_SNAPSHOT_CACHE_MB` of arrays, the oldest going first."
    ]


def _step_finding(s: StepReport, engine_row: EngineRow | None) -> str:
    """Where a step's time goes beyond two references, and what would meet a missed target."""
    limit = _step_limit(s)
    page_ratio, step_ratio = _step_ratios(s)
    runs = s.engine_calls.get("GET", 0) + s.engine_calls.get("POST", 0)
    engine_ms = runs * engine_row.later_p50 if engine_row else 0.0
    step_ms = pct(s.get, 50) + pct(s.post, 50)
    reference2 = 2 * pct(s.reference, 50)
    excess = step_ms - reference2
    text = (
        f"**A step at {s.name} size** takes {ms(step_ms)} (page + answer, p50) against "
        f"{ms(reference2)} for two reference requests ({step_ratio:.2f}×; the page alone "
        f"{page_ratio:.2f}×). The engine runs {runs:.0f} times per step ({s.engine_calls.get('GET', 0):.0f} "
        f"for the page, {s.engine_calls.get('POST', 0):.0f} for the answer: the next question; the one "
        f"answered is stored with the case), about {ms(engine_ms)} in all; "
        f"the answer makes {max(s.post_queries)} queries against the reference's "
        f"{max(s.reference_queries)} (it reads the case, its answers included, then writes the answer and "
        "the case's progress in one transaction: a commit the read-only reference never waits for)."
    )
    if excess > 0:
        text += f" Of the {ms(excess)} above two references, the engine is about {engine_ms / excess:.0%}."
    if step_ratio > limit:
        text += _missed_step_target(limit, step_ms, reference2, engine_ms, excess)
    return text


def _missed_step_target(
    limit: float, step_ms: float, reference2: float, engine_ms: float, excess: float
) -> str:
    """The lever for a step over its target: the engine when it is a quarter of the excess or
    more, else the answer's write."""
    missed = f" Target ({limit}×) missed by {ms(step_ms - limit * reference2)}."
    if excess > 0 and engine_ms / excess >= 0.25:
        once = (step_ms - engine_ms / 2) / reference2
        return missed + (
            " Checking the answer against "
            f"the question stored on the case instead of recomputing it would save about "
            f"{ms(engine_ms / 2)}, to about {once:.2f}×, at the price of trusting a cached value."
        )
    return missed + (
        " The engine is not the lever "
        "at this size; the answer's write is: a transaction and its commit, which a read-only "
        "reference does not pay."
    )


def _load_finding(http: HttpReport) -> str:
    w, ref = http.wizard, http.reference
    slowest = sorted(w.by_kind.items(), key=lambda item: -pct(item[1], 50))[:2]
    return (
        f"**Under load**, with 2 workers on 2 cores shared with PostgreSQL, Redis and the load generator, "
        f"the wizard served {w.rps:.0f} requests/s ({w.diagnoses / w.seconds:.1f} complete diagnoses/s) "
        f"against the reference's {ref.rps:.0f} ({w.rps / ref.rps:.0%}), p99 {ms(pct(w.latencies, 99))}, "
        f"with {w.errors} errors: a wizard request costs about {2000 / w.rps:.1f} ms of a worker, the "
        f"reference {2000 / ref.rps:.1f} ms. Slowest under load: "
        + ", ".join(f"{kind} {ms(pct(samples, 50))}" for kind, samples in slowest)
        + f" (p50, queueing included) against {ms(pct(ref.latencies, 50))} for the reference; section 2 "
        "shows where a step's extra time goes. Throughput grows with app servers and cores; workers "
        "share nothing but PostgreSQL and Redis."
    )
