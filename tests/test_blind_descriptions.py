"""The description corpora only name slugs the seed knows, and their labels are coherent.

The corpora (wizard/benchmark/*descriptions.json, and the second reader's labels) were
written without seeing the symptom phrases; this test reads only slugs from the seed,
never the phrases.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from wizard.benchmark import intake

ROOT = Path(__file__).resolve().parent.parent
BENCHMARK = ROOT / "wizard" / "benchmark"
CORPORA = sorted(BENCHMARK.glob("*descriptions.json"))
SECOND_READERS = sorted(BENCHMARK.glob("*second_reader.json"))
SEED = ROOT / "wizard" / "seed" / "knowledge.json"


@pytest.fixture(scope="module", params=CORPORA, ids=lambda path: path.stem)
def corpus(request):
    return json.loads(request.param.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def seed():
    return json.loads(SEED.read_text(encoding="utf-8"))


def test_ids_are_unique_and_languages_known(corpus):
    ids = [d["id"] for d in corpus["descriptions"]]
    assert len(ids) == len(set(ids))
    assert {d["language"] for d in corpus["descriptions"]} <= {"zh-hans", "en"}
    assert len(ids) >= 80
    assert all(d["text"].strip() for d in corpus["descriptions"])


def known_slugs(descriptions: list[dict], seed: dict) -> None:
    symptoms = {s["slug"] for s in seed["symptoms"]}
    causes = {c["slug"] for c in seed["causes"]}
    for d in descriptions:
        assert d.get("cause") is None or d["cause"] in causes, d["id"]
        for fact in d["facts"]:
            assert fact["symptom"] in symptoms, (d["id"], fact["symptom"])
            assert fact["polarity"] in {"present", "absent"}, d["id"]


def coherent(descriptions: list[dict], seed: dict) -> None:
    """One fact per symptom, and at most one present option per choice question."""
    choices = [{o["symptom"] for o in q["options"]} for q in seed["questions"] if q["kind"] == "choice"]
    for d in descriptions:
        named = [f["symptom"] for f in d["facts"]]
        assert len(named) == len(set(named)), d["id"]
        present = {f["symptom"] for f in d["facts"] if f["polarity"] == "present"}
        for options in choices:
            assert len(present & options) <= 1, (d["id"], present & options)


def test_every_slug_exists_in_the_seed(corpus, seed):
    known_slugs(corpus["descriptions"], seed)


def test_labels_are_coherent(corpus, seed):
    coherent(corpus["descriptions"], seed)


def test_every_cause_is_described_at_least_twice(corpus, seed):
    counts = Counter(d["cause"] for d in corpus["descriptions"])
    assert {c["slug"]: counts[c["slug"]] for c in seed["causes"] if counts[c["slug"]] < 2} == {}


def test_every_corpus_here_is_one_the_benchmark_reads():
    """A corpus or second reader added beside these is judged or tuned on, not forgotten."""
    read = [intake.DESCRIPTIONS, *intake.BLIND_CORPORA, *intake.TUNING_CORPORA]
    assert sorted(read) == CORPORA
    assert sorted(intake.SECOND_READERS) == SECOND_READERS


@pytest.mark.parametrize("path", SECOND_READERS, ids=lambda path: path.stem)
def test_a_second_readers_labels_are_coherent(path, seed):
    labels = json.loads(path.read_text(encoding="utf-8"))["descriptions"]
    known_slugs(labels, seed)
    coherent(labels, seed)
