"""Import and export of all the knowledge content, drafts included, as one JSON file.

``manage.py export_knowledge`` / ``import_knowledge`` and the admin's download and upload
all go through :func:`export_json` and :func:`import_json`, so they check and report
alike. The format is ``docs/knowledge-format.md``, described by the JSON schema in
``schema/knowledge.schema.json``; ``content.py`` does the reading and writing of the tables
(``compile_payload`` and ``load_payload``).

An import never half-happens: the whole file is checked first (JSON syntax, the schema,
references between its parts, clashes with content it would keep), each problem named by
its path in the file (``causes[3].evidence[1].symptom: unknown symptom "foo"``), and
the writes run in one transaction. Export → import into an empty database → export
gives the same bytes.
"""

from __future__ import annotations

import copy
import functools
import json
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import DatabaseError, transaction
from jsonschema import Draft202012Validator, ValidationError

from . import content
from .knowledge import KINDS
from .models import Option, Question

# Shipped inside the app, so that the checks do not depend on the docs being deployed.
SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "knowledge.schema.json"
FLAGGED = ("solutions", "causes", "questions")  # the kinds with an is_published flag
Location = tuple[str | int, ...]  # a place in the file: keys and list indexes


# ---------------------------------------------------------------------------------------
# Export


def dump(payload: dict[str, Any]) -> str:
    """A knowledge file as text: the same content always gives the same bytes."""
    return json.dumps(payload, ensure_ascii=False, indent=2) + "\n"


def export_json() -> str:
    """All the content, drafts included, as a knowledge file."""
    return dump(content.compile_payload(include_drafts=True))


# ---------------------------------------------------------------------------------------
# Checking a file


@functools.cache
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@functools.cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(schema())


def format_path(path: Location) -> str:
    """``("causes", 3, "title", "en")`` → ``causes[3].title.en``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text or "(top level)"


def _sort_key(path: Location) -> tuple:
    # Indexes and names never compare with each other: type first.
    return tuple((isinstance(part, str), part) for part in path)


def parse(text: str | bytes) -> tuple[Any, list[str]]:
    """The file's JSON value, or the syntax problem."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            return None, [f"(file): not UTF-8 text (byte {error.start})"]
    try:
        # Editors on Windows like to start UTF-8 files with a byte order mark.
        return json.loads(text.removeprefix("\ufeff")), []
    except json.JSONDecodeError as error:
        return None, [f"line {error.lineno}, column {error.colno}: not valid JSON: {error.msg}"]


_TYPES = {
    "object": "an object",
    "array": "a list",
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}
_PATTERNS = {
    "^[a-z0-9]+(?:-[a-z0-9]+)*$": "is not a slug (lowercase letters, digits and single hyphens)",
    "^((https?|ftps?)://\\S+)?$": "is not a web address (http:// or https://)",
}


def _describe(error: ValidationError) -> Iterator[tuple[Location, str]]:
    """Plain-words problems for one schema error, each at the path it is about."""
    path = tuple(error.absolute_path)
    if error.validator == "required":
        yield from _missing_keys(error, path)
    elif error.validator == "additionalProperties":
        yield from _unknown_keys(error, path)
    else:
        describe = _MESSAGES.get(error.validator)
        yield path, describe(error.validator_value, error.instance, path) if describe else error.message


def _missing_keys(error: ValidationError, path: Location) -> Iterator[tuple[Location, str]]:
    for name in error.validator_value:
        if name not in error.instance:
            yield (*path, name), "missing"


def _unknown_keys(error: ValidationError, path: Location) -> Iterator[tuple[Location, str]]:
    known = error.schema.get("properties", {})
    for name in error.instance:
        if name not in known:
            yield (*path, name), "not part of the format"


def _wrong_type(value: str | list[str], instance: Any, path: Location) -> str:
    names = [value] if isinstance(value, str) else value
    return "must be " + " or ".join(_TYPES[name] for name in names)


def _ruled_out(value: Any, instance: Any, path: Location) -> str:
    if value == {}:  # a property the question's kind rules out
        kind = "binary" if path[-1] == "options" else "choice"
        return f"a {kind} question has no {path[-1]}"
    return f"{json.dumps(instance)} is reserved for the wizard's own answers"


def _mismatch(value: str, instance: Any, path: Location) -> str:
    return f"{json.dumps(instance, ensure_ascii=False)} {_PATTERNS.get(value, f'does not match {value}')}"


# Schema keyword → the problem in words, from the keyword's value in the schema, the
# value in the file and its path.
_MESSAGES: dict[str, Callable[[Any, Any, Location], str]] = {
    "type": _wrong_type,
    "enum": lambda value, instance, path: "must be one of " + ", ".join(json.dumps(v) for v in value),
    "const": lambda value, instance, path: f"must be {json.dumps(value)}",
    "not": _ruled_out,
    "pattern": _mismatch,
    "minLength": lambda value, instance, path: "must not be empty",
    "maxLength": lambda value, instance, path: f"is longer than {value} characters",
    "minimum": lambda value, instance, path: f"must be at least {value}",
    "maximum": lambda value, instance, path: f"must be at most {value}",
    "exclusiveMinimum": lambda value, instance, path: f"must be more than {value}",
}


def schema_problems(payload: Any) -> list[str]:
    """Everything in the file that does not follow the schema, in path order."""
    found = {
        (path, message) for error in _validator().iter_errors(payload) for path, message in _describe(error)
    }
    return [
        f"{format_path(path)}: {message}"
        for path, message in sorted(found, key=lambda item: (_sort_key(item[0]), item[1]))
    ]


def _asked(payload: dict[str, Any]) -> Iterator[tuple[Location, str, str]]:
    """Where the file's questions ask about a symptom: (path, question slug, symptom)."""
    for i, q in enumerate(payload["questions"]):
        if q["kind"] == "binary":
            yield ("questions", i, "symptom"), q["slug"], q["symptom"]
        else:
            for j, o in enumerate(q["options"]):
                yield ("questions", i, "options", j, "symptom"), q["slug"], o["symptom"]


def _finite(number: float) -> bool:
    # JSON has no limit: 1e999 reads as infinity, and a long integer as a Python int
    # that no float can hold.
    try:
        return math.isfinite(number)
    except OverflowError:
        return False


Index = dict[str, dict[str, int]]  # kind → slug → position of its first entry


def reference_problems(payload: dict[str, Any]) -> list[str]:
    """What the schema cannot say: unique slugs and references to slugs in the file.

    Assumes the payload follows the schema.
    """
    index = {kind: _first_positions(payload[kind]) for kind in KINDS}
    return [
        *_duplicate_slugs(payload, index),
        *_solution_references(payload, index),
        *_cause_references(payload, index),
        *_question_references(payload, index),
        *_symptoms_asked_twice(payload, index),
    ]


def _problem(path: Location, message: str) -> str:
    return f"{format_path(path)}: {message}"


def _first_positions(entries: list[dict[str, Any]]) -> dict[str, int]:
    first: dict[str, int] = {}
    for i, entry in enumerate(entries):
        first.setdefault(entry["slug"], i)
    return first


def _duplicate_slugs(payload: dict[str, Any], index: Index) -> Iterator[str]:
    for kind in KINDS:
        for i, entry in enumerate(payload[kind]):
            first = index[kind][entry["slug"]]
            if first != i:
                yield _problem((kind, i, "slug"), f'duplicate slug "{entry["slug"]}" (also {kind}[{first}])')


def _unknown(index: Index, kind: str, what: str, path: Location, slug: str) -> Iterator[str]:
    if slug not in index[kind]:
        yield _problem(path, f'unknown {what} "{slug}"')


def _reference_set(
    index: Index, kind: str, what: str, references: Iterable[tuple[Location, str]]
) -> Iterator[str]:
    """A list of references used as a set: each to a slug in the file, none twice."""
    listed: set[str] = set()
    for path, slug in references:
        yield from _unknown(index, kind, what, path, slug)
        if slug in listed:
            yield _problem(path, f'{what} "{slug}" is listed twice')
        listed.add(slug)


def _solution_references(payload: dict[str, Any], index: Index) -> Iterator[str]:
    for i, s in enumerate(payload["solutions"]):
        contexts = ((("solutions", i, "contexts", j), slug) for j, slug in enumerate(s["contexts"]))
        yield from _reference_set(index, "symptoms", "symptom", contexts)


def _cause_references(payload: dict[str, Any], index: Index) -> Iterator[str]:
    for i, c in enumerate(payload["causes"]):
        yield from _unknown(index, "categories", "category", ("causes", i, "category"), c["category"])
        if not _finite(c["prior"]):
            yield _problem(("causes", i, "prior"), "must be a finite number")
        evidence = (
            (("causes", i, "evidence", j, "symptom"), e["symptom"]) for j, e in enumerate(c["evidence"])
        )
        yield from _reference_set(index, "symptoms", "symptom", evidence)
        solutions = ((("causes", i, "solutions", j), slug) for j, slug in enumerate(c["solutions"]))
        yield from _reference_set(index, "solutions", "solution", solutions)


def _question_references(payload: dict[str, Any], index: Index) -> Iterator[str]:
    for i, q in enumerate(payload["questions"]):
        if not _finite(q["effort"]):
            yield _problem(("questions", i, "effort"), "must be a finite number")
        yield from _option_references(index, ("questions", i, "options"), q.get("options", []))


def _option_references(index: Index, path: Location, options: list[dict[str, Any]]) -> Iterator[str]:
    """A choice question's options: unique slugs, and a provider of the file, if any."""
    slugs: set[str] = set()
    for j, o in enumerate(options):
        if o["slug"] in slugs:
            yield _problem((*path, j, "slug"), f'duplicate option slug "{o["slug"]}"')
        slugs.add(o["slug"])
        if o["provider"] is not None:
            yield from _unknown(index, "providers", "provider", (*path, j, "provider"), o["provider"])


def _symptoms_asked_twice(payload: dict[str, Any], index: Index) -> Iterator[str]:
    """A symptom asked by two questions would count its evidence twice."""
    asked_by: dict[str, tuple[Location, str]] = {}
    for path, question, slug in _asked(payload):
        if slug not in index["symptoms"]:
            yield _problem(path, f'unknown symptom "{slug}"')
        elif slug in asked_by:
            other_path, other = asked_by[slug]
            yield _problem(
                path,
                f'symptom "{slug}" is already asked by question "{other}" ({format_path(other_path)}):'
                " its evidence would count twice",
            )
        else:
            asked_by[slug] = (path, question)


def validate(payload: Any) -> list[str]:
    """Every problem of a parsed file on its own; empty when it can be imported."""
    return schema_problems(payload) or reference_problems(payload)


def kept_clashes(payload: dict[str, Any]) -> list[str]:
    """Symptoms the file asks that questions it would keep (absent from it) already ask.

    Without ``--replace`` those questions stay, and a symptom is asked once at most.
    """
    in_file = [q["slug"] for q in payload["questions"]]
    held = {
        slug: question
        for question, slug in Question.objects.exclude(slug__in=in_file)
        .filter(symptom__isnull=False)
        .values_list("slug", "symptom__slug")
    }
    held.update(
        (slug, question)
        for question, slug in Option.objects.exclude(question__slug__in=in_file).values_list(
            "question__slug", "symptom__slug"
        )
    )
    return [
        f'{format_path(path)}: symptom "{slug}" is already asked by question "{held[slug]}",'
        " which is not in the file and would be kept (remove it, or import with --replace)"
        for path, _, slug in _asked(payload)
        if slug in held
    ]


# ---------------------------------------------------------------------------------------
# What an import changes


@dataclass
class KindChanges:
    """Slugs of one kind that an import creates, changes, removes, or keeps untouched."""

    created: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # in the database, not in the file

    @property
    def any(self) -> bool:
        return bool(self.created or self.changed or self.removed)

    def summary(self) -> str:
        parts = [
            f"{len(slugs)} {label} ({', '.join(slugs)})"
            for label, slugs in (
                ("created", self.created),
                ("changed", self.changed),
                ("removed", self.removed),
                ("not in the file, kept", self.kept),
            )
            if slugs
        ]
        return "; ".join(parts) or "no change"


def normalise(payload: dict[str, Any]) -> dict[str, Any]:
    """A valid file in the form an export of the same content takes (as a dict).

    Evidence and contexts are sets (exported sorted) and ``is_published`` defaults to
    true; the order of everything else is content.
    """
    payload = copy.deepcopy(payload)
    for kind in FLAGGED:
        for entry in payload[kind]:
            entry.setdefault("is_published", True)
    for cause in payload["causes"]:
        cause["evidence"].sort(key=lambda e: e["symptom"])
    for solution in payload["solutions"]:
        solution["contexts"].sort()
    return payload


def diff(payload: dict[str, Any], *, replace: bool) -> dict[str, KindChanges]:
    """What importing a valid file would change, by kind (a cause's evidence and
    solutions count as the cause, a question's options as the question)."""
    current = content.compile_payload(include_drafts=True)
    wanted = normalise(payload)
    changes = {}
    for kind in KINDS:
        before = {entry["slug"]: entry for entry in current[kind]}
        after = {entry["slug"]: entry for entry in wanted[kind]}
        absent = [slug for slug in before if slug not in after]
        changes[kind] = KindChanges(
            created=[slug for slug in after if slug not in before],
            changed=[slug for slug, entry in after.items() if slug in before and before[slug] != entry],
            removed=absent if replace else [],
            kept=[] if replace else absent,
        )
    return changes


@dataclass
class ImportReport:
    problems: list[str] = field(default_factory=list)
    changes: dict[str, KindChanges] = field(default_factory=dict)
    dry_run: bool = False
    replace: bool = False
    applied: bool = False  # something was written

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def has_changes(self) -> bool:
        return any(c.any for c in self.changes.values())

    def lines(self) -> list[str]:
        """One line per kind the import changes or keeps untouched."""
        return [
            f"{kind}: {changes.summary()}"
            for kind, changes in self.changes.items()
            if changes.any or changes.kept
        ]


def import_json(text: str | bytes, *, dry_run: bool, replace: bool) -> ImportReport:
    """Check a knowledge file and, unless ``dry_run`` or it has problems, load it.

    Content absent from the file is kept, unless ``replace``: then it is deleted, so the
    database holds exactly the file. Imported content is a draft until published.
    """
    report = ImportReport(dry_run=dry_run, replace=replace)
    payload, report.problems = parse(text)
    if report.problems:
        return report
    report.problems = validate(payload)
    if report.problems:
        return report
    try:
        with transaction.atomic():
            report.problems = [] if replace else kept_clashes(payload)
            if report.problems:
                return report
            report.changes = diff(payload, replace=replace)
            if report.has_changes and not dry_run:
                content.load_payload(payload, replace=replace)
                report.applied = True
    except DatabaseError as error:
        # The checks above should leave nothing for the database to refuse; should
        # they miss a rule, the transaction has undone everything.
        report.applied = False
        report.problems = [f"(file): the database refused it, nothing was changed: {error}"]
    return report
