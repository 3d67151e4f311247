"""Import and export of the whole knowledge: the file, its checks, and the commands."""

from __future__ import annotations

import io
import json
from collections.abc import Callable

import jsonschema
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError

from tests.conftest import make_payload
from wizard import content, interchange, knowledge
from wizard.models import (
    Category,
    Cause,
    CauseSolution,
    Evidence,
    Option,
    Provider,
    Question,
    Solution,
    Strength,
    Symptom,
)

SMALL = {
    "network": {"no-signal": "always", "timeout": "often"},
    "hardware": {"no-power": "always", "cracked": "sometimes"},
    "auth": {"asks-code": "always"},
}


def texts(zh: str, en: str = "") -> dict[str, str]:
    return {"zh-hans": zh, "en": en}


def bilingual_fields(name: str, zh: str, en: str = "") -> dict[str, str]:
    return {f"{name}_zh_hans": zh, f"{name}_en": en}


@pytest.fixture
def drafts(seeded) -> None:
    """The seed plus unpublished content and the edge cases an export must carry."""
    provider = Provider.objects.create(
        slug="acme-pay",
        kind=Provider.Kind.PAYMENT_COMPANY,
        order=99,
        hotline="400-000-0000",
        website="https://acme.example/support",
        **bilingual_fields("name", "艾克米支付", "Acme Pay"),
        **bilingual_fields("hours", "9:00–18:00"),
        **bilingual_fields("guidance", "看机身背面", "Look at the back"),
    )
    blue, green, red = (
        Symptom.objects.create(
            slug=f"draft-{colour}", **bilingual_fields("title", f"屏幕{colour} “引号”\n", colour)
        )
        for colour in ("blue", "green", "red")
    )
    solution = Solution.objects.create(
        slug="draft-reflash",
        order=5,
        audience=Solution.Audience.AGENT,
        effort_minutes=30,
        is_escalation=True,
        is_published=False,
        **bilingual_fields("title", "重新刷机", "Reflash"),
        **bilingual_fields("steps", "1. 备份\n2. 刷机 <b>小心</b>", "1. Back up\n2. Reflash"),
    )
    solution.contexts.set([red, Symptom.objects.exclude(slug__startswith="draft-").first()])
    cause = Cause.objects.create(
        slug="draft-firmware",
        category=Category.objects.last(),
        order=999,
        prior=0.25,
        is_published=False,
        **bilingual_fields("title", "固件损坏", "Corrupt firmware"),
        **bilingual_fields("explanation", "升级中断。"),
    )
    Evidence.objects.create(cause=cause, symptom=red, likelihood=Strength.ALWAYS)
    Evidence.objects.create(cause=cause, symptom=blue, likelihood=Strength.RARELY)
    CauseSolution.objects.create(cause=cause, solution=solution, order=10)
    CauseSolution.objects.create(cause=cause, solution=Solution.objects.published().first(), order=20)
    colour = Question.objects.create(
        slug="draft-screen-colour",
        kind=Question.Kind.CHOICE,
        order=500,
        effort=1.5,
        is_published=False,
        **bilingual_fields("text", "屏幕是什么颜色?", "What colour is the screen?"),
    )
    Option.objects.create(question=colour, slug="blue", symptom=blue, provider=provider, order=10, label="蓝")
    Option.objects.create(question=colour, slug="green", symptom=green, order=20, label="绿")
    Question.objects.create(
        slug="draft-red",
        kind=Question.Kind.BINARY,
        symptom=red,
        order=501,
        is_published=False,
        **bilingual_fields("text", "屏幕是红色的吗?"),
    )


def empty_content() -> None:
    for model in (Question, Cause, Solution, Symptom, Provider, Category):
        model.objects.all().delete()


def exported() -> dict:
    return json.loads(interchange.export_json())


def without_drafts(payload: dict) -> dict:
    """The export of ``drafts`` less everything the fixture added."""
    drafted = {"draft-reflash", "draft-firmware", "draft-screen-colour", "draft-red", "acme-pay"}
    for kind in knowledge.KINDS:
        payload[kind] = [
            e for e in payload[kind] if e["slug"] not in drafted and not e["slug"].startswith("draft-")
        ]
    for solution in payload["solutions"]:
        solution["contexts"] = [s for s in solution["contexts"] if not s.startswith("draft-")]
    return payload


def small_file() -> dict:
    """A small valid file; the indexes in the problem tests below refer to it."""
    payload = make_payload(SMALL)
    payload["providers"] = [
        {
            "slug": "acme-pay",
            "kind": "payment-company",
            "order": 0,
            "name": texts("艾克米支付", "Acme Pay"),
            "hotline": "",
            "hours": texts(""),
            "website": "",
            "guidance": texts(""),
        }
    ]
    payload["symptoms"] += [{"slug": f"brand-{x}", "title": texts(x, x)} for x in "ab"]
    payload["questions"].append(
        {
            "slug": "brand",
            "order": 9,
            "kind": "choice",
            "effort": 1.0,
            "text": texts("品牌?", "Brand?"),
            "script": texts(""),
            "help": texts(""),
            "options": [
                {"slug": "a", "symptom": "brand-a", "label": texts("A", "A"), "provider": "acme-pay"},
                {"slug": "b", "symptom": "brand-b", "label": texts("B", "B"), "provider": None},
            ],
        }
    )
    payload["solutions"][0]["contexts"] = ["no-signal"]
    payload["causes"][2]["is_published"] = False
    return payload


# --- The file ------------------------------------------------------------------------------


def test_export_is_deterministic_readable_json(drafts):
    text = interchange.export_json()
    assert text == interchange.export_json()
    assert text.endswith("}\n")
    assert '\n  "categories": [\n    {\n      "slug"' in text  # indent=2
    assert "艾克米支付" in text  # not \u escapes
    assert text == json.dumps(json.loads(text), ensure_ascii=False, indent=2) + "\n"


def test_export_includes_drafts_with_their_flag(drafts):
    payload = exported()
    cause = next(c for c in payload["causes"] if c["slug"] == "draft-firmware")
    assert cause["is_published"] is False
    assert cause["solutions"][0] == "draft-reflash"  # an unpublished solution stays linked
    assert {c["is_published"] for c in payload["causes"]} == {True, False}
    question = next(q for q in payload["questions"] if q["slug"] == "draft-screen-colour")
    assert question["options"][0] == {
        "slug": "blue",
        "symptom": "draft-blue",
        "label": {"zh-hans": "蓝", "en": ""},
        "provider": "acme-pay",
    }


def test_published_payload_leaves_drafts_and_flags_out(drafts):
    payload = content.compile_payload()
    for kind in interchange.FLAGGED:
        assert all("is_published" not in entry for entry in payload[kind])
    slugs = {e["slug"] for kind in interchange.FLAGGED for e in payload[kind]}
    assert not slugs & {"draft-firmware", "draft-reflash", "draft-screen-colour", "draft-red"}


def test_schema_describes_the_seed_revisions_and_exports(drafts, seeded):
    jsonschema.Draft202012Validator.check_schema(interchange.schema())
    for payload in (content.read_file(), seeded.payload, exported()):
        assert interchange.validate(payload) == []


def test_round_trip_into_an_empty_database_is_byte_identical(drafts):
    first = interchange.export_json()
    empty_content()
    report = interchange.import_json(first, dry_run=False, replace=False)
    assert report.ok, report.problems
    assert report.applied
    assert report.changes["causes"].created == [c["slug"] for c in json.loads(first)["causes"]]
    assert interchange.export_json() == first


def test_is_published_defaults_to_true(db):
    empty_content()
    payload = small_file()
    report = interchange.import_json(json.dumps(payload), dry_run=False, replace=False)
    assert report.ok, report.problems
    assert not Cause.objects.get(slug="auth").is_published
    assert Cause.objects.get(slug="network").is_published
    assert Question.objects.filter(is_published=True).count() == len(payload["questions"])


def test_importing_the_same_file_again_changes_nothing(drafts):
    text = interchange.export_json()
    report = interchange.import_json(text, dry_run=False, replace=True)
    assert report.ok
    assert not report.has_changes
    assert not report.applied


# --- Problems, each with its path ----------------------------------------------------------


def _set(path: str, value) -> Callable[[dict], None]:
    def change(payload: dict) -> None:
        *parents, last = (int(part) if part.isdigit() else part for part in path.split("."))
        target = payload
        for part in parents:
            target = target[part]
        if value is KeyError:
            del target[last]
        else:
            target[last] = value

    return change


PROBLEMS = [
    (_set("format", "other"), 'format: must be "pos-upgrade-doctor.knowledge"'),
    (_set("causes.1.slug", KeyError), "causes[1].slug: missing"),
    (_set("causes.0.colour", "red"), "causes[0].colour: not part of the format"),
    (_set("causes.0.prior", "high"), "causes[0].prior: must be a number"),
    (_set("causes.0.prior", 0), "causes[0].prior: must be more than 0"),
    (
        _set("causes.0.evidence.1.strength", "mostly"),
        'causes[0].evidence[1].strength: must be one of "always", "often", "sometimes", "rarely", "never"',
    ),
    (
        _set("symptoms.0.slug", "Bad Slug"),
        'symptoms[0].slug: "Bad Slug" is not a slug (lowercase letters, digits and single hyphens)',
    ),
    (_set("symptoms.0.title.en", KeyError), "symptoms[0].title.en: missing"),
    (_set("symptoms.0.title.zh-hans", ""), "symptoms[0].title.zh-hans: must not be empty"),
    (
        _set("symptoms.0.title.zh-hans", "长" * 301),
        "symptoms[0].title.zh-hans: is longer than 300 characters",
    ),
    (_set("solutions.0.effort_minutes", 1.5), "solutions[0].effort_minutes: must be a whole number"),
    (_set("solutions.0.is_published", "no"), "solutions[0].is_published: must be true or false"),
    (
        _set("providers.0.website", "acme.example"),
        'providers[0].website: "acme.example" is not a web address',
    ),
    (_set("questions.0.options", []), "questions[0].options: a binary question has no options"),
    (_set("questions.5.symptom", "brand-a"), "questions[5].symptom: a choice question has no symptom"),
    (_set("questions.5.options.0.slug", "unsure"), 'questions[5].options[0].slug: "unsure" is reserved'),
    (_set("causes.1.category", "nowhere"), 'causes[1].category: unknown category "nowhere"'),
    (_set("causes.0.evidence.1.symptom", "foo"), 'causes[0].evidence[1].symptom: unknown symptom "foo"'),
    (
        _set("causes.0.evidence.1.symptom", "no-signal"),
        'causes[0].evidence[1].symptom: symptom "no-signal" is listed twice',
    ),
    (_set("causes.0.solutions.0", "nothing"), 'causes[0].solutions[0]: unknown solution "nothing"'),
    (
        _set("causes.0.solutions", ["fix-network"] * 2),
        'causes[0].solutions[1]: solution "fix-network" is listed twice',
    ),
    (_set("solutions.1.contexts", ["nope"]), 'solutions[1].contexts[0]: unknown symptom "nope"'),
    (_set("questions.2.symptom", "nope"), 'questions[2].symptom: unknown symptom "nope"'),
    (
        _set("questions.5.options.0.provider", "nobody"),
        'questions[5].options[0].provider: unknown provider "nobody"',
    ),
    (_set("questions.5.options.1.slug", "a"), 'questions[5].options[1].slug: duplicate option slug "a"'),
    (_set("symptoms.1.slug", "asks-code"), 'symptoms[1].slug: duplicate slug "asks-code" (also symptoms[0])'),
    (
        _set("questions.4.slug", "q-asks-code"),
        'questions[4].slug: duplicate slug "q-asks-code" (also questions[0])',
    ),
    (
        _set("questions.1.symptom", "asks-code"),
        'questions[1].symptom: symptom "asks-code" is already asked by question "q-asks-code" (questions[0].symptom)',
    ),
    (
        _set("questions.5.options.1.symptom", "timeout"),
        'questions[5].options[1].symptom: symptom "timeout" is already asked by question "q-timeout"',
    ),
]


@pytest.mark.parametrize(("change", "expected"), PROBLEMS, ids=[expected for _, expected in PROBLEMS])
def test_each_problem_is_reported_with_its_path(db, change, expected):
    payload = small_file()
    assert interchange.validate(payload) == []
    change(payload)
    report = interchange.import_json(json.dumps(payload), dry_run=False, replace=False)
    assert not report.ok
    assert any(problem.startswith(expected) for problem in report.problems), report.problems


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"format": 1,\n  "causes": }', "line 2, column 13: not valid JSON"),
        ("[]", "(top level): must be an object"),
        (b"\xff\xfe{}", "(file): not UTF-8 text"),
    ],
)
def test_files_that_are_not_knowledge_at_all(db, text, expected):
    report = interchange.import_json(text, dry_run=False, replace=False)
    assert report.problems[0].startswith(expected), report.problems


@pytest.mark.parametrize("number", ["1e999", "1" + "0" * 400, "NaN"])
def test_numbers_no_float_can_hold_are_refused(db, number):
    text = json.dumps(small_file()).replace('"prior": 1.0', f'"prior": {number}', 1)
    report = interchange.import_json(text, dry_run=False, replace=False)
    assert report.problems == ["causes[0].prior: must be a finite number"]


def test_a_byte_order_mark_is_accepted(db):
    text = "\ufeff" + json.dumps(small_file(), ensure_ascii=False)
    report = interchange.import_json(text.encode("utf-8"), dry_run=True, replace=False)
    assert report.ok, report.problems


def test_a_bad_file_changes_nothing(drafts):
    before = interchange.export_json()
    payload = json.loads(before)
    payload["causes"][0]["prior"] = 7.0
    payload["causes"].append(dict(payload["causes"][1], slug="brand-new"))
    payload["questions"][-1]["order"] = -1
    report = interchange.import_json(json.dumps(payload), dry_run=False, replace=True)
    assert report.problems == [f"questions[{len(payload['questions']) - 1}].order: must be at least 0"]
    assert not report.applied
    assert interchange.export_json() == before


def test_a_failure_half_way_through_the_writes_changes_nothing(drafts, monkeypatch):
    before = interchange.export_json()
    payload = without_drafts(json.loads(before))
    payload["causes"][0]["prior"] = 7.0
    load_payload = content.load_payload

    def fail_after_writing(*args, **kwargs):
        load_payload(*args, **kwargs)
        raise IntegrityError("simulated")

    monkeypatch.setattr(content, "load_payload", fail_after_writing)
    report = interchange.import_json(json.dumps(payload), dry_run=False, replace=True)
    assert not report.ok
    assert "the database refused it, nothing was changed: simulated" in report.problems[0]
    assert interchange.export_json() == before


# --- What an import changes ----------------------------------------------------------------


def test_dry_run_reports_the_changes_and_changes_nothing(drafts):
    before = interchange.export_json()
    payload = without_drafts(json.loads(before))
    payload["causes"][0]["prior"] = 7.0
    payload["causes"][1]["evidence"].reverse()  # evidence is a set: no change
    payload["symptoms"].append({"slug": "brand-new", "title": texts("新", "New")})
    report = interchange.import_json(json.dumps(payload), dry_run=True, replace=True)
    assert report.ok
    assert not report.applied
    assert report.changes["causes"].changed == [payload["causes"][0]["slug"]]
    assert report.changes["causes"].removed == ["draft-firmware"]
    assert report.changes["symptoms"].created == ["brand-new"]
    assert report.changes["symptoms"].removed == ["draft-blue", "draft-green", "draft-red"]
    assert report.changes["categories"].summary() == "no change"
    assert "symptoms: 1 created (brand-new); 3 removed (draft-blue, draft-green, draft-red)" in report.lines()
    assert interchange.export_json() == before


def test_content_absent_from_the_file_is_kept_by_default(drafts):
    payload = without_drafts(exported())
    report = interchange.import_json(json.dumps(payload), dry_run=False, replace=False)
    assert report.ok
    assert not report.has_changes
    assert report.changes["questions"].kept == ["draft-screen-colour", "draft-red"]
    assert Cause.objects.filter(slug="draft-firmware").exists()


def test_replace_deletes_content_absent_from_the_file(drafts):
    payload = without_drafts(exported())
    report = interchange.import_json(json.dumps(payload), dry_run=False, replace=True)
    assert report.ok, report.problems
    assert report.applied
    assert report.changes["providers"].removed == ["acme-pay"]
    assert not Cause.objects.filter(slug="draft-firmware").exists()
    assert not Symptom.objects.filter(slug__startswith="draft-").exists()
    assert interchange.export_json() == interchange.dump(payload)


def test_a_symptom_asked_by_a_kept_question_is_a_problem_unless_replacing(drafts):
    payload = exported()
    payload["questions"] = [q for q in payload["questions"] if q["slug"] != "draft-red"]
    payload["questions"].append(
        dict(
            next(q for q in payload["questions"] if q["kind"] == "binary"),
            slug="new-red",
            symptom="draft-red",
        )
    )
    report = interchange.import_json(json.dumps(payload), dry_run=False, replace=False)
    assert report.problems == [
        f'questions[{len(payload["questions"]) - 1}].symptom: symptom "draft-red" is already asked by '
        'question "draft-red", which is not in the file and would be kept (remove it, or import with --replace)'
    ]
    report = interchange.import_json(json.dumps(payload), dry_run=False, replace=True)
    assert report.ok, report.problems
    assert Question.objects.get(slug="new-red").symptom.slug == "draft-red"


def test_symptoms_can_move_between_questions(drafts):
    payload = exported()
    first, second = [q for q in payload["questions"] if q["kind"] == "binary" and q["is_published"]][:2]
    first["symptom"], second["symptom"] = second["symptom"], first["symptom"]
    colour = next(q for q in payload["questions"] if q["slug"] == "draft-screen-colour")
    red = next(q for q in payload["questions"] if q["slug"] == "draft-red")
    # The red question becomes an option of the colour question, and blue a question.
    colour["options"][0] |= {"symptom": "draft-red"}
    red.update(symptom="draft-blue")
    history = Question.history.filter(slug=first["slug"]).count()
    report = interchange.import_json(json.dumps(payload), dry_run=False, replace=False)
    assert report.ok, report.problems
    assert sorted(report.changes["questions"].changed) == sorted(
        [first["slug"], second["slug"], "draft-screen-colour", "draft-red"]
    )
    assert json.loads(interchange.export_json()) == interchange.normalise(payload)
    # One history row for the move, none for the moment it passes through "choice".
    assert Question.history.filter(slug=first["slug"]).count() == history + 1


def test_the_seed_file_imports_unchanged(seeded):
    report = interchange.import_json(
        content.SEED_PATH.read_text(encoding="utf-8"), dry_run=True, replace=False
    )
    assert report.ok, report.problems
    assert not report.has_changes


# --- Commands ------------------------------------------------------------------------------


def test_export_command_writes_to_stdout_or_a_file(drafts, tmp_path):
    out = io.StringIO()
    call_command("export_knowledge", stdout=out)
    assert out.getvalue() == interchange.export_json()
    target = tmp_path / "knowledge.json"
    call_command("export_knowledge", "--output", str(target), stdout=io.StringIO())
    assert target.read_bytes() == interchange.export_json().encode("utf-8")


def test_import_command_fails_on_a_bad_file_and_names_each_problem(drafts, tmp_path):
    before = interchange.export_json()
    payload = json.loads(before)
    payload["causes"][3]["evidence"][0]["symptom"] = "foo"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 problem; nothing was changed"):
        call_command("import_knowledge", str(path), stdout=io.StringIO(), stderr=err)
    assert err.getvalue() == 'causes[3].evidence[0].symptom: unknown symptom "foo"\n'
    assert interchange.export_json() == before


def test_import_command_fails_on_a_missing_file(db, tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_knowledge", str(tmp_path / "missing.json"))


def test_import_command_dry_run_then_replace(drafts, tmp_path):
    path = tmp_path / "knowledge.json"
    path.write_text(interchange.dump(without_drafts(exported())), encoding="utf-8")
    out = io.StringIO()
    call_command("import_knowledge", str(path), "--dry-run", "--replace", stdout=out)
    assert "causes: 1 removed (draft-firmware)" in out.getvalue()
    assert "dry run; nothing was changed" in out.getvalue()
    assert Cause.objects.filter(slug="draft-firmware").exists()

    out = io.StringIO()
    call_command("import_knowledge", str(path), "--replace", stdout=out)
    assert "Imported" in out.getvalue()
    assert not Cause.objects.filter(slug="draft-firmware").exists()
