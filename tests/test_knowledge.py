"""Knowledge files, checks, publishing, and the revision snapshot cache."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError
from django.utils import translation

from wizard import content, knowledge, publishing
from wizard.checks import check_payload
from wizard.models import Cause, Evidence, KnowledgeRevision, Question, Strength

SMALL = {
    "network": {"no-signal": "always", "timeout": "often"},
    "hardware": {"no-power": "always", "cracked": "sometimes"},
    "auth": {"asks-code": "always"},
}


@pytest.fixture(autouse=True)
def english():
    """Findings are read here in English; the admin shows them in the user's language."""
    with translation.override("en"):
        yield


@pytest.fixture
def empty_knowledge(db):
    """No content and no revision: the tests build their own."""
    KnowledgeRevision.objects.all().delete()
    for model in (Question, Cause):
        model.objects.all().delete()


def test_seed_file_loads_and_publishes_revision_one(db):
    KnowledgeRevision.objects.all().delete()
    call_command("load_knowledge", verbosity=0)
    revision, created = publishing.publish()
    assert created
    assert revision.number == 1
    assert len(revision.payload["causes"]) >= 14


def test_a_newer_seed_replaces_the_questions_an_older_one_had(seeded):
    """An older seed asked about a hazard in a question of its own; the newer one asks it
    in the safety check. Loading the newer seed with --replace retires the old question,
    so the content publishes (a symptom asked twice would not)."""
    safety = Question.objects.get(slug="safety-check")
    symptom = safety.options.get(slug="battery-swollen").symptom
    safety.options.filter(slug="battery-swollen").delete()
    Question.objects.create(
        slug="q-battery-swollen", kind=Question.Kind.BINARY, symptom=symptom, text="旧问题"
    )
    call_command("load_knowledge", "--replace", verbosity=0)
    assert not Question.objects.filter(slug="q-battery-swollen").exists()
    revision, created = publishing.publish()
    assert created is False  # back to exactly the published seed


def test_loading_the_seed_twice_changes_nothing(seeded):
    assert content.load_payload(content.read_file()) == 0
    revision, created = publishing.publish()
    assert not created
    assert revision.number == seeded.number


def test_seed_round_trips_through_the_database(seeded):
    """What the seed file says is exactly what gets published."""
    seed = content.read_file()
    published = seeded.payload
    for kind in ("causes", "questions", "solutions", "symptoms", "providers", "categories"):
        assert {e["slug"] for e in published[kind]} == {e["slug"] for e in seed[kind]}, kind
    by_slug = {c["slug"]: c for c in published["causes"]}
    for cause in seed["causes"]:
        assert by_slug[cause["slug"]]["solutions"] == cause["solutions"]
        assert sorted(by_slug[cause["slug"]]["evidence"], key=lambda e: e["symptom"]) == sorted(
            cause["evidence"], key=lambda e: e["symptom"]
        )


def test_seed_has_no_errors_and_is_fully_bilingual(seeded):
    findings = check_payload(seeded.payload)
    assert [f for f in findings if f.level == "error"] == []
    assert [f for f in findings if "English" in f.message] == []


def test_seed_covers_every_cause_the_article_names(snapshot):
    assert len(snapshot.causes) >= 14
    assert len(snapshot.questions) >= 8
    symptoms = {s for q in snapshot.questions for a in q["answers"] if (s := a.get("symptom"))}
    assert len(symptoms) >= 30
    assert {p["kind"] for p in snapshot.providers.values()} == {"bank", "payment-company", "manufacturer"}
    for provider in snapshot.providers.values():
        # Never invented contact details.
        assert provider["hotline"] == ""
        assert provider["website"] == ""


def test_publish_numbers_revisions_and_keeps_old_ones(empty_knowledge, payload_factory):
    content.load_payload(payload_factory(SMALL))
    first, _ = publishing.publish()
    Cause.objects.filter(slug="network").update(prior=3.0)
    second, created = publishing.publish(note="network is common")
    assert created
    assert (first.number, second.number) == (1, 2)
    first.refresh_from_db()
    assert next(c for c in first.payload["causes"] if c["slug"] == "network")["prior"] == 1.0
    assert next(c for c in second.payload["causes"] if c["slug"] == "network")["prior"] == 3.0


def test_publish_refuses_indistinguishable_causes(empty_knowledge, payload_factory):
    twins = {"a": {"s1": "often"}, "b": {"s1": "often"}}
    content.load_payload(payload_factory(twins))
    with pytest.raises(publishing.PublishError) as error:
        publishing.publish()
    assert "tells this cause apart" in str(error.value)
    assert not KnowledgeRevision.objects.exists()


def test_publish_refuses_an_unreachable_cause(empty_knowledge, payload_factory):
    payload = payload_factory(SMALL)
    payload["causes"][0]["evidence"] = []
    content.load_payload(payload)
    with pytest.raises(publishing.PublishError, match="cannot be reached"):
        publishing.publish()


def test_check_finds_empty_solutions_and_double_counted_symptoms(payload_factory):
    payload = payload_factory(SMALL)
    payload["solutions"][0]["steps"] = {"zh-hans": " ", "en": ""}
    payload["questions"].append(copy.deepcopy(payload["questions"][0]) | {"slug": "again"})
    messages = [f.message for f in check_payload(payload) if f.level == "error"]
    assert any("no steps" in m for m in messages)
    assert any("count twice" in m for m in messages)


def _choice_question(payload, options):
    payload["questions"].append(
        {
            "slug": "colour",
            "order": 9,
            "kind": "choice",
            "effort": 1.0,
            "text": {"zh-hans": "颜色", "en": "Colour"},
            "options": options,
        }
    )


def _cause(payload, slug):
    return next(c for c in payload["causes"] if c["slug"] == slug)


FAULTS = {
    "no cause": (lambda p: p.update(causes=[]), "knowledge", "", "no published cause"),
    "no question": (lambda p: p.update(questions=[]), "knowledge", "", "no published question"),
    "one option": (
        lambda p: _choice_question(p, [{"slug": "r", "symptom": "cracked", "provider": None}]),
        "question",
        "colour",
        "at least two options",
    ),
    "unknown provider": (
        lambda p: _choice_question(
            p,
            [
                {"slug": "r", "symptom": "cracked", "provider": "acme"},
                {"slug": "g", "symptom": "no-power", "provider": None},
            ],
        ),
        "question",
        "colour",
        "Unknown provider “acme”",
    ),
    "question on an unknown symptom": (
        lambda p: p["questions"][0].update(symptom="ghost"),
        "question",
        "q-asks-code",
        "Unknown symptom “ghost”",
    ),
    "unknown category": (
        lambda p: _cause(p, "auth").update(category="misc"),
        "cause",
        "auth",
        "Unknown category “misc”",
    ),
    "prior not above zero": (
        lambda p: _cause(p, "auth").update(prior=0),
        "cause",
        "auth",
        "above zero",
    ),
    "evidence on an unknown symptom": (
        lambda p: _cause(p, "auth")["evidence"].append({"symptom": "ghost", "strength": "often"}),
        "cause",
        "auth",
        "Unknown symptom “ghost”",
    ),
    "unknown strength": (
        lambda p: _cause(p, "auth")["evidence"][0].update(strength="mostly"),
        "cause",
        "auth",
        "Unknown strength “mostly”",
    ),
    "no solution": (
        lambda p: _cause(p, "auth").update(solutions=[]),
        "cause",
        "auth",
        "no published solution",
    ),
    "unknown solution": (
        lambda p: _cause(p, "auth")["solutions"].append("reboot"),
        "cause",
        "auth",
        "Unknown solution “reboot”",
    ),
    "context on an unknown symptom": (
        lambda p: p["solutions"][0].update(contexts=["ghost"]),
        "solution",
        "fix-network",
        "Unknown symptom “ghost”",
    ),
}


@pytest.mark.parametrize("fault", FAULTS)
def test_each_rule_names_what_to_fix(payload_factory, fault):
    assert [f for f in check_payload(payload_factory(SMALL)) if f.level == "error"] == []
    spoil, kind, slug, words = FAULTS[fault]
    payload = payload_factory(SMALL)
    spoil(payload)
    errors = [(f.kind, f.slug) for f in check_payload(payload) if f.level == "error" and words in f.message]
    assert (kind, slug) in errors


def test_unused_content_is_a_warning_not_an_error(payload_factory):
    payload = payload_factory(SMALL)
    payload["symptoms"].append({"slug": "lonely", "title": {"zh-hans": "孤", "en": "Lonely"}})
    payload["solutions"].append(dict(payload["solutions"][0], slug="orphan"))
    findings = {(f.level, f.kind, f.slug) for f in check_payload(payload)}
    assert findings == {("warning", "symptom", "lonely"), ("warning", "solution", "orphan")}


def test_check_warns_about_missing_english(payload_factory):
    payload = payload_factory(SMALL)
    payload["causes"][0]["title"]["en"] = ""
    findings = check_payload(payload)
    assert [f.level for f in findings if f.slug == "network"] == ["warning"]


def test_publish_command_fails_loudly_on_errors(empty_knowledge, payload_factory):
    content.load_payload(payload_factory({"a": {"s1": "often"}, "b": {"s1": "often"}}))
    with pytest.raises(CommandError):
        call_command("publish_knowledge", verbosity=0)


def test_snapshot_is_cached_per_revision(seeded, django_assert_num_queries):
    with django_assert_num_queries(1):
        knowledge.get_snapshot(seeded.number)
    with django_assert_num_queries(0):
        snapshot = knowledge.get_snapshot(seeded.number)
    assert snapshot.number == seeded.number


def test_choice_question_likelihoods_sum_to_one_per_cause(payload_factory):
    payload = payload_factory(
        {"a": {"red": "often"}, "b": {"green": "always", "red": "rarely"}},
        questions=[
            {
                "slug": "colour",
                "order": 1,
                "kind": "choice",
                "options": [{"slug": "r", "symptom": "red"}, {"slug": "g", "symptom": "green"}],
            }
        ],
    )
    snapshot = knowledge.Snapshot.from_payload(1, payload)
    block = snapshot.model.likelihood[0, :2]
    assert block.sum(axis=0) == pytest.approx([1.0, 1.0])
    assert block[0, 0] > block[1, 0]  # cause a: red is more likely than green


def _screen_question(options: int) -> list[dict]:
    return [
        {
            "slug": "screen",
            "order": 1,
            "kind": "choice",
            "options": [{"slug": f"o{i}", "symptom": f"shows-{i}"} for i in range(options)],
        }
    ]


@pytest.mark.parametrize("options", [2, 5, 9])
def test_a_choice_option_stated_always_is_given_that_often_however_many_options(payload_factory, options):
    """'Always' is 95% of a cause's merchants on a question of two options or of nine: the
    options the cause says nothing of share what is left, not a default each."""
    payload = payload_factory(
        {"works": {"shows-0": "always"}, "other": {f"shows-{i}": "rarely" for i in range(options)}},
        questions=_screen_question(options),
    )
    block = knowledge.Snapshot.from_payload(1, payload).model.likelihood[0]
    assert block[0, 0] == pytest.approx(0.95)
    assert block[1:, 0] == pytest.approx([0.05 / (options - 1)] * (options - 1))
    assert block.sum(axis=0) == pytest.approx([1.0, 1.0])


def test_a_choice_option_a_cause_says_nothing_of_stays_possible(payload_factory):
    """Stated chances that fill the column leave the unstated options the default between
    them, never zero; stated chances that leave room keep the options the cause says
    nothing of at the default each, as a yes/no question would."""
    payload = payload_factory(
        {
            "full": {"shows-0": "always", "shows-1": "often"},
            "sparse": {"shows-0": "sometimes"},
            "silent": {"shows-9": "often"},
            "rest": {"shows-2": "rarely", "shows-3": "rarely"},
        },
        questions=_screen_question(4),
    )
    block = knowledge.Snapshot.from_payload(1, payload).model.likelihood[0]
    full, sparse, silent = block[:, 0], block[:, 1], block[:, 2]
    assert full[2:] == pytest.approx([0.025, 0.025])
    assert full[0] / full[1] == pytest.approx(0.95 / 0.7)  # the stated ones scaled alike
    assert sparse == pytest.approx(np.array([0.4, 0.05, 0.05, 0.05]) / 0.55)
    assert silent == pytest.approx([0.25] * 4)


def test_evidence_strength_must_be_a_probability(seeded):
    cause = Cause.objects.first()
    question = Question.objects.filter(kind="binary").first()
    Evidence.objects.filter(cause=cause, symptom=question.symptom).delete()
    with pytest.raises(IntegrityError):
        Evidence.objects.create(cause=cause, symptom=question.symptom, likelihood=1.0)


def test_strength_words_match_the_documented_likelihoods():
    assert knowledge.STRENGTHS == {
        "always": 0.95,
        "often": 0.7,
        "sometimes": 0.4,
        "rarely": 0.15,
        "never": 0.01,
    }
    assert knowledge.strength_word(Strength.OFTEN) == "often"


# --- Warming a worker


def test_a_starting_worker_builds_the_latest_revision_and_its_phrasebook(seeded, django_assert_num_queries):
    import importlib

    import config.wsgi

    importlib.reload(config.wsgi)  # what gunicorn runs as a worker starts

    snapshot = knowledge.get_snapshot(seeded.number)
    assert "phrasebook" in snapshot.__dict__
    with django_assert_num_queries(0):
        assert knowledge.get_snapshot(seeded.number).understand("升级后刷卡提示通讯失败")


def test_warming_without_a_published_revision_leaves_nothing_to_do(db):
    KnowledgeRevision.objects.all().delete()

    knowledge.warm()

    assert knowledge._snapshots == {}


def test_warming_without_a_database_leaves_the_work_to_the_first_request(monkeypatch, caplog):
    from django.db import OperationalError

    def unreachable():
        raise OperationalError("connection refused")

    monkeypatch.setattr(knowledge, "latest_revision_number", unreachable)

    knowledge.warm()

    assert knowledge._snapshots == {}
    assert "first request will build it" in caplog.text
