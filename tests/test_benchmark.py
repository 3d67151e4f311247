"""The benchmark behind docs/performance.md: its synthetic knowledge, and a quick run.

The quick run takes about a minute, so it is opt-in (the ``benchmark`` marker, see
conftest.py): ``make benchmark-smoke`` runs it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from wizard import content, knowledge
from wizard.benchmark.intake import (
    HELD_OUT,
    TUNING,
    bench_intake,
    blind,
    corpus,
    intake_targets,
    judged,
    second_reader,
)
from wizard.benchmark.intake import (
    tuning as tuning_corpora,
)
from wizard.benchmark.measure import _five_answers
from wizard.benchmark.synthetic import SIZES, synthetic_payload
from wizard.checks import check_payload

BASE_DIR = Path(settings.BASE_DIR)


def test_synthetic_knowledge_bases_are_valid_knowledge():
    payload = synthetic_payload(40, 30, seed=3)
    errors = [f for f in check_payload(payload) if f.level == "error"]
    assert errors == []
    snapshot = knowledge.Snapshot.from_payload(0, payload)
    assert (snapshot.model.n_causes, snapshot.model.n_questions) == (40, 30)
    assert synthetic_payload(40, 30, seed=3) == payload  # reproducible


def test_the_engine_is_timed_five_answers_in_even_where_four_settle_it():
    """At seed size, four likeliest answers leave no question worth asking by the wizard's
    floor; the timing of a later choice still needs its five answers."""
    _, n_causes, n_questions = SIZES[0]
    model = knowledge.Snapshot.from_payload(0, synthetic_payload(n_causes, n_questions, seed=n_causes)).model
    answers = _five_answers(model, n_causes)
    assert len({q for q, _ in answers}) == 5


@pytest.mark.benchmark
def test_benchmark_quick_writes_every_section(tmp_path):
    output = tmp_path / "performance.md"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CI")}
    env["OPENBLAS_NUM_THREADS"] = "1"
    done = subprocess.run(
        [sys.executable, "manage.py", "benchmark", "--quick", "--skip-http", f"--output={output}"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = output.read_text()
    headings = (
        "## Machine",
        "## 1. Engine",
        "## 2. One wizard step",
        "## 3. HTTP",
        "## 4. Diagnostic",
        "## 5.",
        "## 6.",
        "## 7. The JSON API",
    )
    for heading in headings:
        assert heading in report
    assert "| cores |" in report and "| numpy |" in report
    assert "1,000×500" in report and "3,000×1,000" in report
    assert "nan" not in report


def test_the_intake_figures_are_judged_on_descriptions_held_out_from_tuning():
    held, tuning, everything = corpus(HELD_OUT), corpus(TUNING), corpus()
    assert len(held) + len(tuning) == len(everything) >= 60
    assert not {e["id"] for e in held} & {e["id"] for e in tuning}
    # The blind corpus is judged too, and shares nothing with the tuned half.
    assert not {e["text"] for e in blind()} & {e["text"] for e in tuning}
    assert len(judged()) == len(held) + len(blind())
    # The corpora written for tuning share no text and no id with the judged ones.
    assert not {e["text"] for e in judged()} & {e["text"] for e in tuning_corpora()}
    assert not {e["id"] for e in judged()} & {e["id"] for e in tuning_corpora()}
    report = bench_intake(content.read_file(), repeats=1, log=lambda line: None)
    assert report.extraction[0].name.startswith("held out")
    assert report.extraction[0].descriptions == len(judged())
    assert "tuning" in report.extraction[-1].name
    assert 0 < report.extraction[0].precision <= 1 and 0 < report.extraction[0].recall <= 1
    # Starting from a description never asks more than starting from nothing.
    assert report.end_to_end.questions_described < report.end_to_end.questions_plain
    assert any("held out" in row for row in intake_targets(report))
    # A second reader labelled every judged description, and is scored like the matcher.
    assert set(second_reader()) == {e["id"] for e in judged()}
    assert report.agreement.readers.descriptions == len(judged())
    assert 0 < report.agreement.readers.precision <= 1
    assert report.extraction[0].precision <= report.agreement.matcher_either <= 1


def test_a_missed_precision_target_is_set_beside_how_far_two_readers_agree():
    from wizard.benchmark.intake import Agreement, EndToEnd, Extraction, IntakeReport, precision_finding

    def report(right: int, found: int = 100) -> IntakeReport:
        held = Extraction("held out (judged)", 10, found=found, right=right, wanted=120)
        readers = Extraction("second reader against the first", 10, found=110, right=96, wanted=120)
        return IntakeReport(
            [held], Agreement(readers, 0.9), EndToEnd(1, 7.0, 5.0, 1.0, 0.9, 0.9), 1.0, 2.0, 1.0
        )

    [finding] = precision_finding(report(85))
    assert "85.0% of the facts" in finding and "against a second" in finding and "(87.3%)" in finding
    assert "90.0% of the matcher's" in finding
    [finding] = precision_finding(report(88))
    assert "above a second careful reader" in finding
    # Met by less than chance moves it: said so, beside the second reader.
    [finding] = precision_finding(report(90))
    assert (
        "is met, by less than chance" in finding
        and "± 5.9% on 100 facts" in finding
        and "reaches 87.3%" in finding
    )
    assert precision_finding(report(950, found=1000)) == []


@pytest.mark.django_db
def test_the_in_process_answer_is_posted_as_a_browser_posts_a_form():
    """Multipart, the test client's default, is for files: no browser sends this form so."""
    from wizard.benchmark.measure import _timed_request
    from wizard.benchmark.servers import FORM_ENCODED

    sent = {}

    class Client:
        def post(self, path, data, content_type):
            sent.update(path=path, data=data, content_type=content_type)

    _timed_request(Client(), "POST", "/d/X/q/1/", {"question": "q", "answer": "a"})
    assert sent == {"path": "/d/X/q/1/", "data": "question=q&answer=a", "content_type": FORM_ENCODED}
