"""Section 6: understanding merchants' own words, and what it saves them.

Corpora of descriptions, each description with the facts a careful reader extracts and,
where one is clear, the merchant's cause. The first (``descriptions.json``) was written
apart from the phrases. It is split to stay honest: the phrases may be tuned on the
descriptions at odd positions; those at even positions are held out. The blind corpora
(``blind_descriptions.json``, ``blind2_descriptions.json``) were written later, each by
someone who never saw the phrases, the matcher or the other corpora, and nothing was ever
tuned on them. The tuning corpora (``tuning_descriptions.json``, ``tuning2_…`` to
``tuning8_…``) were written the same way, and are used, with the first corpus's odd
positions, for tuning. The targets are judged on every held-out description: the first
corpus's even positions and the blind corpora.

End to end, a merchant with a held-out description's cause starts from that description:
its understood facts are answered (as a merchant who keeps every ticked item), and the
wizard asks the rest of a *model-true* merchant (answers sampled from the knowledge's
strengths). The same merchants without a description are the baseline: how many
questions the wizard asked, and how often the true cause ranked first.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from wizard import knowledge, understanding

from .robustness import Merchant, answerer, diagnose, share_margin

HERE = Path(__file__).resolve().parent
DESCRIPTIONS = HERE / "descriptions.json"
BLIND_CORPORA = [HERE / name for name in ("blind_descriptions.json", "blind2_descriptions.json")]
TUNING_CORPORA = [
    HERE / name
    for name in (
        "tuning_descriptions.json",
        "tuning2_descriptions.json",
        "tuning3_descriptions.json",
        "tuning4_descriptions.json",
        "tuning5_descriptions.json",
        "tuning6_descriptions.json",
        "tuning7_descriptions.json",
        "tuning8_descriptions.json",
    )
]
# A second careful reader's labels of every judged description.
SECOND_READERS = [HERE / name for name in ("second_reader.json", "blind2_second_reader.json")]
# The targets: of the facts understood, the share a careful reader extracted too; of the
# facts a careful reader extracted, the share understood.
PRECISION = 0.9
RECALL = 0.7
HELD_OUT = slice(0, None, 2)  # judged on these
TUNING = slice(1, None, 2)  # phrases may be tuned on these


def corpus(part: slice = slice(None)) -> list[dict[str, Any]]:
    return json.loads(DESCRIPTIONS.read_text(encoding="utf-8"))["descriptions"][part]


def _read(paths: list[Path]) -> list[dict[str, Any]]:
    return [e for path in paths for e in json.loads(path.read_text(encoding="utf-8"))["descriptions"]]


def blind() -> list[dict[str, Any]]:
    """The descriptions written by people who never saw the phrases; never tuned on."""
    return _read(BLIND_CORPORA)


def tuning() -> list[dict[str, Any]]:
    """The descriptions written for tuning, blind to the phrases and the matcher."""
    return _read(TUNING_CORPORA)


def judged() -> list[dict[str, Any]]:
    """What the targets are judged on: every description nothing was tuned on."""
    return corpus(HELD_OUT) + blind()


def second_reader() -> dict[str, set[tuple[str, str]]]:
    """A second careful reader's facts for every judged description, by id: written from
    the texts alone, blind to the first reader's labels and to the matcher."""
    entries = _read(SECOND_READERS)
    return {e["id"]: {(f["symptom"], f["polarity"]) for f in e["facts"]} for e in entries}


@dataclass(frozen=True)
class Extraction:
    """Facts understood against the facts a careful reader extracts."""

    name: str
    descriptions: int
    found: int  # facts understood
    right: int  # ...that the reader extracted too
    wanted: int  # facts the reader extracted

    @property
    def precision(self) -> float:
        return self.right / self.found if self.found else 1.0

    @property
    def recall(self) -> float:
        return self.right / self.wanted if self.wanted else 1.0


@dataclass(frozen=True)
class EndToEnd:
    merchants: int
    questions_plain: float
    questions_described: float
    facts: float  # answers taken from each description, on average
    top1_plain: float
    top1_described: float

    @property
    def saving(self) -> float:
        return 1 - self.questions_described / self.questions_plain if self.questions_plain else 0.0


@dataclass(frozen=True)
class Agreement:
    """How the first reader's facts stand against a second careful reader's, on the judged
    descriptions: what "right" can mean when two careful people read the same text."""

    readers: Extraction  # the second reader's facts scored against the first's
    matcher_either: float  # the matcher's facts that either reader extracted, as a share


@dataclass(frozen=True)
class IntakeReport:
    extraction: list[Extraction]
    agreement: Agreement
    end_to_end: EndToEnd
    p50_ms: float
    p95_ms: float
    build_s: float


def facts(snapshot: knowledge.Snapshot, text: str) -> set[tuple[str, str]]:
    """What the confirm page would list for ``text``."""
    return {(fact.symptom, fact.polarity) for fact, _ in snapshot.understand(text)}


def extraction(snapshot: knowledge.Snapshot, name: str, entries: list[dict[str, Any]]) -> Extraction:
    return scored(name, entries, lambda entry: facts(snapshot, entry["text"]))


def scored(
    name: str, entries: list[dict[str, Any]], read: Callable[[dict[str, Any]], set[tuple[str, str]]]
) -> Extraction:
    """The facts ``read`` finds in each entry, against the facts its reader extracted."""
    found = right = wanted = 0
    for entry in entries:
        gold = {(f["symptom"], f["polarity"]) for f in entry["facts"]}
        got = read(entry)
        found, right, wanted = found + len(got), right + len(got & gold), wanted + len(gold)
    return Extraction(name, len(entries), found, right, wanted)


def agreement(snapshot: knowledge.Snapshot, entries: list[dict[str, Any]]) -> Agreement:
    second = second_reader()
    readers = scored("second reader against the first", entries, lambda entry: second[entry["id"]])
    either = [
        {**e, "facts": e["facts"] + [{"symptom": s, "polarity": p} for s, p in second[e["id"]]]}
        for e in entries
    ]
    return Agreement(readers, extraction(snapshot, "either reader", either).precision)


def end_to_end(snapshot: knowledge.Snapshot, entries: list[dict[str, Any]], *, repeats: int) -> EndToEnd:
    """Merchants with each described cause, with and without starting from the text.

    Each merchant answers both diagnoses alike (their answer to every question is drawn
    once), so the comparison measures the description, not the luck of the draw."""
    rng = np.random.default_rng(17)
    model_true = Merchant("model-true")
    plain, described, given_n, hits_plain, hits_described = [], [], [], [], []
    for entry in (e for e in entries if e.get("cause") in snapshot.cause_index):
        truth = snapshot.cause_index[entry["cause"]]
        given = [snapshot.answer_index(*reply) for _, reply in snapshot.understand(entry["text"])]
        for _ in range(repeats):
            draw = answerer(model_true, snapshot.model, truth, rng)
            answers = [draw(q) for q in range(snapshot.model.n_questions)]
            transcript, step = diagnose(snapshot, answers.__getitem__)
            plain.append(len(transcript))
            hits_plain.append(int(np.argmax(step.posterior)) == truth)
            transcript, step = diagnose(snapshot, answers.__getitem__, given=given)
            described.append(len(transcript))
            given_n.append(len(given))
            hits_described.append(int(np.argmax(step.posterior)) == truth)
    return EndToEnd(
        merchants=len(plain),
        questions_plain=statistics.fmean(plain),
        questions_described=statistics.fmean(described),
        facts=statistics.fmean(given_n),
        top1_plain=statistics.fmean(hits_plain),
        top1_described=statistics.fmean(hits_described),
    )


def timing(snapshot: knowledge.Snapshot, texts: list[str], *, rounds: int) -> tuple[float, float]:
    """p50 and p95 of understanding one description, in ms (the phrasebook built)."""
    times = []
    for _ in range(rounds):
        for text in texts:
            started = time.perf_counter()
            snapshot.understand(text)
            times.append((time.perf_counter() - started) * 1000)
    return float(np.percentile(times, 50)), float(np.percentile(times, 95))


def bench_intake(payload: dict[str, Any], *, repeats: int, log: Callable[[str], None]) -> IntakeReport:
    snapshot = knowledge.Snapshot.from_payload(0, payload)
    phrases = {s["slug"]: s["phrases"] for s in payload["symptoms"] if s.get("phrases")}
    started = time.perf_counter()
    understanding.Phrasebook.from_phrases(phrases)
    build_s = time.perf_counter() - started
    parts = [
        ("held out (judged)", judged()),
        ("first corpus, even positions", corpus(HELD_OUT)),
        ("blind corpora", blind()),
        ("first corpus, odd positions (tuning)", corpus(TUNING)),
        ("tuning corpora (tuning)", tuning()),
    ]
    rows = [extraction(snapshot, name, entries) for name, entries in parts]
    for row in rows:
        log(f"  understanding, {row.name}: precision {row.precision:.0%}, recall {row.recall:.0%}")
    p50, p95 = timing(snapshot, [e["text"] for e in corpus() + blind()], rounds=3)
    whole = end_to_end(snapshot, judged(), repeats=repeats)
    log(
        f"  from a description: {whole.questions_described:.1f} questions against {whole.questions_plain:.1f}"
    )
    return IntakeReport(rows, agreement(snapshot, judged()), whole, p50, p95, build_s)


# --- The report --------------------------------------------------------------------------


def intake_targets(r: IntakeReport) -> list[str]:
    held = r.extraction[0]
    e2e = r.end_to_end
    saved = e2e.saving >= 0.3 and e2e.top1_described >= e2e.top1_plain
    return [
        f"| descriptions (held out): precision ≥ {PRECISION:.0%} | {held.precision:.1%} | "
        f"{_verdict(held.precision >= PRECISION)} |",
        f"| descriptions (held out): recall ≥ {RECALL:.0%} | {held.recall:.1%} | {_verdict(held.recall >= RECALL)} |",
        f"| starting from a description: ≥ 30% fewer questions at equal or better top-1 | "
        f"{e2e.saving:.0%} fewer ({e2e.questions_described:.1f} against {e2e.questions_plain:.1f}); top-1 "
        f"{e2e.top1_described:.1%} against {e2e.top1_plain:.1%} | {_verdict(saved)} |",
        f"| understanding a description ≤ 20 ms (p95, seed) | {r.p95_ms:.1f} ms | {_verdict(r.p95_ms <= 20)} |",
    ]


def precision_finding(r: IntakeReport) -> list[str]:
    """What lies behind a missed precision target: how far two careful readers agree; or
    that a target met by less than chance moves the figure is met by that little."""
    held, readers = r.extraction[0], r.agreement.readers
    margin = share_margin(held.precision, held.found)
    if held.precision >= PRECISION + margin:
        return []
    if held.precision >= PRECISION:
        return [
            f"**Understanding, precision.** {held.precision:.1%} of the facts understood in the judged "
            f"descriptions are among the first reader's: the target ({PRECISION:.0%}) is met, by less than "
            f"chance alone moves the figure (± {margin:.1%} on {held.found} facts). A second careful reader, "
            f"scored the same way, reaches {readers.precision:.1%}. Every tuning corpus was scored untouched "
            "before anything was tuned on it (the figure stands in its file's `about`), and new text has read "
            "lower than the judged descriptions: another set of descriptions may well read under the target."
        ]
    compared = "above" if held.precision >= readers.precision else "against"
    return [
        f"**Understanding, precision.** {held.precision:.1%} of the facts understood in the judged "
        f"descriptions are among the first reader's, against at least {PRECISION:.0%}. That is {compared} a "
        f"second careful reader scored the same way ({readers.precision:.1%}), and {r.agreement.matcher_either:.1%} "
        "of the matcher's facts were extracted by one reader or the other: the readers part on conventions "
        '(whether "the wifi works" says the terminal has a signal, or that other devices are online; a crash '
        "while paying or while in use; whether a notice of a new rate is a higher rate) about as often as the "
        "matcher parts from them. What would meet it: labels two readers settled together under a written "
        "labelling guide, then phrases held to that guide. A wrong fact costs the merchant an untick on the "
        "confirm page.",
    ]


def _names(paths: list[Path]) -> str:
    return ", ".join(f"`wizard/benchmark/{path.name}`" for path in paths)


def _verdict(ok: bool) -> str:
    return "**met**" if ok else "**missed**"


def intake_section(r: IntakeReport) -> list[str]:
    e2e = r.end_to_end
    lines = [
        "## 6. Understanding merchants' own words",
        "",
        "Corpora of descriptions in Chinese and English (casual, terse, misspelt, mixed, with negations "
        "and on-screen messages), each description with the facts a careful reader extracts. The first "
        f"(`wizard/benchmark/descriptions.json`, {r.extraction[1].descriptions + r.extraction[3].descriptions}) "
        "was written apart from the phrases; phrases may be tuned on its odd positions and never on its even "
        f"ones. The blind corpora ({_names(BLIND_CORPORA)}, {r.extraction[2].descriptions} descriptions) "
        "were written later, each by someone who saw neither the phrases, the matcher nor the other corpora, "
        f"and nothing was tuned on them. The tuning corpora ({_names(TUNING_CORPORA)}, "
        f"{r.extraction[4].descriptions} descriptions) were written the same way, each by someone who saw "
        "only the source article and the symptoms', questions' and causes' titles; they are used, with the "
        "first corpus's odd positions, for tuning. The targets are judged on every description nothing was "
        "tuned on. A fact is a symptom and whether it is present or absent.",
        "",
        "| descriptions | count | facts understood | right | facts to find | precision | recall |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    lines += [
        f"| {x.name} | {x.descriptions} | {x.found} | {x.right} | {x.wanted} | {x.precision:.1%} | {x.recall:.1%} |"
        for x in r.extraction
    ]
    readers = r.agreement.readers
    lines += [
        "",
        "What a careful reader extracts is itself a judgement. A second reader "
        f"({_names(SECOND_READERS)}) labelled the {readers.descriptions} judged descriptions again from their texts "
        "alone, under the same rules, blind to the first reader's labels and to the matcher. Scored like the "
        f"matcher against the first reader, the second reader's {readers.found} facts have a precision of "
        f"{readers.precision:.1%} and a recall of {readers.recall:.1%}: two careful people find nearly the same "
        "facts, and the second finds more. Of the facts the matcher understood in the judged descriptions, "
        f"{r.agreement.matcher_either:.1%} were extracted by at least one of the two readers. The targets stay "
        "judged against the first reader.",
        "",
        f"Understanding one description takes {r.p50_ms:.1f} ms (p50) / {r.p95_ms:.1f} ms (p95); the "
        f"phrasebook is built once per process and set of phrases, in {r.build_s:.2f} s (after jieba's "
        "dictionary, loaded once per process).",
        "",
        f"End to end, {e2e.merchants} model-true merchants with the causes of the judged descriptions, "
        f"each starting from their description (on average {e2e.facts:.1f} facts, all kept) or not: "
        f"{e2e.questions_described:.1f} questions asked against {e2e.questions_plain:.1f} "
        f"({e2e.saving:.0%} fewer), the true cause first {e2e.top1_described:.1%} of the time against "
        f"{e2e.top1_plain:.1%}.",
        "",
    ]
    return lines
