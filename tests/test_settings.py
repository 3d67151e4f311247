"""Settings read from the environment: bad values stop the start-up with a clear message,
and every variable the settings read is documented for whoever deploys the site."""

from __future__ import annotations

import ast
import re
import runpy
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from config.settings import (
    env_bool,
    env_choice,
    env_database,
    env_float,
    env_int,
    env_list,
    env_rate,
    env_str,
)
from wizard import knowledge

from .conftest import ensure_seed

BASE_DIR = Path(settings.BASE_DIR)
SETTINGS_FILE = BASE_DIR / "config" / "settings.py"
DEPLOY_GUIDE = BASE_DIR / "docs" / "deploy.md"


@pytest.mark.parametrize(
    ("read", "value", "allowed"),
    [
        (
            lambda: env_float("TEST_SETTING", 0.85, minimum=0.5, maximum=1.0),
            "high",
            "a number from 0.5 to 1.0",
        ),
        (
            lambda: env_float("TEST_SETTING", 0.85, minimum=0.5, maximum=1.0),
            "0.3",
            "a number from 0.5 to 1.0",
        ),
        (
            lambda: env_float("TEST_SETTING", 0.85, minimum=0.5, maximum=1.0),
            "nan",
            "a number from 0.5 to 1.0",
        ),
        (lambda: env_int("TEST_SETTING", 15, minimum=1), "fifteen", "a whole number of 1 or more"),
        (lambda: env_int("TEST_SETTING", 15, minimum=1), "2.5", "a whole number of 1 or more"),
        (lambda: env_int("TEST_SETTING", 15, minimum=1), "0", "a whole number of 1 or more"),
        (lambda: env_int("TEST_SETTING", 1, minimum=0, maximum=3), "4", "a whole number from 0 to 3"),
        (lambda: env_bool("TEST_SETTING", False), "maybe", "a boolean"),
        (lambda: env_choice("TEST_SETTING", "INFO", ["INFO", "DEBUG"]), "loud", "one of INFO, DEBUG"),
        (lambda: env_rate("TEST_SETTING", "30/600"), "many", "count/seconds"),
        (lambda: env_rate("TEST_SETTING", "30/600"), "30/0", "a window of 1 second or more"),
        (lambda: env_rate("TEST_SETTING", "30/600"), "-1/60", "a count of 0 or more"),
    ],
)
def test_a_bad_value_names_the_variable_the_value_and_what_is_allowed(monkeypatch, read, value, allowed):
    monkeypatch.setenv("TEST_SETTING", value)
    with pytest.raises(ImproperlyConfigured) as raised:
        read()
    message = str(raised.value)
    assert message.startswith("TEST_SETTING must be")
    assert allowed in message
    assert repr(value) in message


def test_good_values_are_read_and_blank_means_the_default(monkeypatch):
    monkeypatch.setenv("TEST_SETTING", " 0.9 ")
    assert env_float("TEST_SETTING", 0.85, minimum=0.5, maximum=1.0) == 0.9
    monkeypatch.setenv("TEST_SETTING", "warning")
    assert env_choice("TEST_SETTING", "INFO", ["INFO", "WARNING"]) == "WARNING"
    monkeypatch.setenv("TEST_SETTING", "a.example, b.example,")
    assert env_list("TEST_SETTING") == ["a.example", "b.example"]
    monkeypatch.setenv("TEST_SETTING", "off")
    assert env_bool("TEST_SETTING", True) is False
    monkeypatch.setenv("TEST_SETTING", "")
    assert env_int("TEST_SETTING", 15, minimum=1) == 15
    assert env_rate("TEST_SETTING", "30/600") == (30, 600)
    monkeypatch.delenv("TEST_SETTING")
    assert env_str("TEST_SETTING", "fallback") == "fallback"


def test_a_required_variable_must_be_set(monkeypatch):
    monkeypatch.setenv("TEST_SETTING", "  ")
    with pytest.raises(ImproperlyConfigured, match="TEST_SETTING must be set when DJANGO_PRODUCTION is on"):
        env_str("TEST_SETTING", "unused", required=True)


def test_a_bad_database_url_is_named_without_repeating_its_password(monkeypatch):
    monkeypatch.setenv("TEST_SETTING", "postgress://doctor:s3cret@db.internal/doctor")
    with pytest.raises(ImproperlyConfigured) as raised:
        env_database("TEST_SETTING", "sqlite://:memory:", required=False, conn_max_age=0)
    assert str(raised.value).startswith("TEST_SETTING must be a database URL")
    assert "s3cret" not in str(raised.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WIZARD_CONFIDENCE", "high"),
        ("WIZARD_QUESTION_BUDGET", "0"),
        ("WIZARD_SNAPSHOT_CACHE", "lots"),
        ("DIAGNOSIS_RETENTION_DAYS", "-30"),
        ("LOGIN_LOG_RETENTION_DAYS", "0"),
        ("DB_CONN_MAX_AGE", "forever"),
        ("TRUSTED_PROXY_COUNT", "-1"),
        ("LOG_LEVEL", "loud"),
        ("DEBUG", "maybe"),
    ],
)
def test_the_settings_refuse_to_load_with_a_bad_value(monkeypatch, name, value):
    """Start-up itself fails, naming the variable: not a ValueError deep in a traceback."""
    monkeypatch.setenv(name, value)
    with pytest.raises(ImproperlyConfigured, match=rf"^{name} must be .*, not {re.escape(repr(value))}$"):
        runpy.run_path(str(SETTINGS_FILE))


def variables_read_by_settings() -> set[str]:
    """Names passed to an env_* helper in config/settings.py.

    Fails on a variable read around the helpers (os.environ, os.getenv), which would
    escape both the checks and this list.
    """
    tree = ast.parse(SETTINGS_FILE.read_text())
    names = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call | ast.Subscript):
            continue
        target = node.func if isinstance(node, ast.Call) else node.value
        source = ast.unparse(target)
        if source in {"os.environ.get", "os.getenv", "os.environ"}:
            argument = node.args[0] if isinstance(node, ast.Call) else node.slice
            assert not isinstance(argument, ast.Constant), (
                f"line {node.lineno}: read {argument.value} with a helper"
            )
        elif (
            isinstance(target, ast.Name)
            and target.id.startswith("env_")
            and isinstance(node.args[0], ast.Constant)
        ):
            names.add(node.args[0].value)
    return names


def variables_documented() -> set[str]:
    """Names in the first column of the configuration table of docs/deploy.md."""
    rows = (line.split("|")[1] for line in DEPLOY_GUIDE.read_text().splitlines() if line.startswith("| `"))
    return {name for cell in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", cell)}


def test_every_variable_the_settings_read_is_documented():
    names = variables_read_by_settings()
    assert {"DJANGO_PRODUCTION", "WIZARD_CONFIDENCE", "WIZARD_SNAPSHOT_CACHE", "DATABASE_URL"} <= names
    undocumented = sorted(names - variables_documented())
    assert not undocumented, f"add to the configuration table of docs/deploy.md: {', '.join(undocumented)}"


@pytest.mark.django_db
def test_each_process_keeps_at_most_wizard_snapshot_cache_snapshots(settings):
    payload = ensure_seed().payload
    settings.WIZARD_SNAPSHOT_CACHE = 1
    knowledge.clear_cache()
    first = knowledge.get_snapshot(10_001, payload)
    assert knowledge.get_snapshot(10_001, payload) is first
    knowledge.get_snapshot(10_002, payload)
    assert knowledge.get_snapshot(10_001, payload) is not first  # dropped to make room, built again
    knowledge.clear_cache()


@pytest.mark.django_db
def test_the_snapshot_cache_is_bounded_by_memory_too(settings):
    payload = ensure_seed().payload
    settings.WIZARD_SNAPSHOT_CACHE = 16
    knowledge.clear_cache()
    one = knowledge.get_snapshot(10_001, payload)
    settings.WIZARD_SNAPSHOT_CACHE_MB = 1  # the seed compiles to well under 1 MiB...
    assert one.model.nbytes < 2**20 / 2
    knowledge.get_snapshot(10_002, payload)
    assert knowledge.get_snapshot(10_001, payload) is one  # ...so two fit
    settings.WIZARD_SNAPSHOT_CACHE_MB = 0  # nothing fits beside a new one: the oldest goes
    knowledge.get_snapshot(10_003, payload)
    assert knowledge.get_snapshot(10_001, payload) is not one
    knowledge.clear_cache()
