"""Knowledge files, checks, publishing, and the revision snapshot cache."""

from __future__ import annotations

import copy

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError
from django.utils import translation

from wizard import knowledge
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
    revision, created = knowledge.publish()
    assert created
    assert revision.number == 1
    assert len(revision.payload["causes"]) >= 14


def test_loading_the_seed_twice_changes_nothing(seeded):
    assert knowledge.load_payload(knowledge.read_file()) == 0
    revision, created = knowledge.publish()
    assert not created
    assert revision.number == seeded.number


def test_seed_round_trips_through_the_database(seeded):
    """What the seed file says is exactly what gets published."""
    seed = knowledge.read_file()
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
    findings = knowledge.check_payload(seeded.payload)
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
    knowledge.load_payload(payload_factory(SMALL))
    first, _ = knowledge.publish()
    Cause.objects.filter(slug="network").update(prior=3.0)
    second, created = knowledge.publish(note="network is common")
    assert created
    assert (first.number, second.number) == (1, 2)
    first.refresh_from_db()
    assert next(c for c in first.payload["causes"] if c["slug"] == "network")["prior"] == 1.0
    assert next(c for c in second.payload["causes"] if c["slug"] == "network")["prior"] == 3.0


def test_publish_refuses_indistinguishable_causes(empty_knowledge, payload_factory):
    twins = {"a": {"s1": "often"}, "b": {"s1": "often"}}
    knowledge.load_payload(payload_factory(twins))
    with pytest.raises(knowledge.PublishError) as error:
        knowledge.publish()
    assert "tells this cause apart" in str(error.value)
    assert not KnowledgeRevision.objects.exists()


def test_publish_refuses_an_unreachable_cause(empty_knowledge, payload_factory):
    payload = payload_factory(SMALL)
    payload["causes"][0]["evidence"] = []
    knowledge.load_payload(payload)
    with pytest.raises(knowledge.PublishError, match="cannot be reached"):
        knowledge.publish()


def test_check_finds_empty_solutions_and_double_counted_symptoms(payload_factory):
    payload = payload_factory(SMALL)
    payload["solutions"][0]["steps"] = {"zh-hans": " ", "en": ""}
    payload["questions"].append(copy.deepcopy(payload["questions"][0]) | {"slug": "again"})
    messages = [f.message for f in knowledge.check_payload(payload) if f.level == "error"]
    assert any("no steps" in m for m in messages)
    assert any("count twice" in m for m in messages)


def test_check_warns_about_missing_english(payload_factory):
    payload = payload_factory(SMALL)
    payload["causes"][0]["title"]["en"] = ""
    findings = knowledge.check_payload(payload)
    assert [f.level for f in findings if f.slug == "network"] == ["warning"]


def test_publish_command_fails_loudly_on_errors(empty_knowledge, payload_factory):
    knowledge.load_payload(payload_factory({"a": {"s1": "often"}, "b": {"s1": "often"}}))
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
