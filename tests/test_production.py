"""Production settings, health probes, and the backup-and-restore drill of docs/deploy.md."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings
from django.db import connection

from wizard.models import Diagnosis, KnowledgeRevision

from .conftest import ensure_seed

BASE_DIR = Path(settings.BASE_DIR)
IN_CI_POSTGRES_PASS = os.environ.get("CI") == "true" and os.environ.get("DATABASE_URL", "").startswith(
    "postgres"
)


def production_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_PRODUCTION": "1",
            "SECRET_KEY": secrets.token_urlsafe(60),
            "ALLOWED_HOSTS": "doctor.example.com",
            "CSRF_TRUSTED_ORIGINS": "https://doctor.example.com",
            # Never connected to by these checks: only parsed.
            "DATABASE_URL": "postgres://doctor@db.internal:5432/doctor",
            "REDIS_URL": "redis://cache.internal:6379/0",
        }
    )
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )


# --- Production settings -------------------------------------------------------------------


def test_check_deploy_passes_with_the_production_variables():
    done = run(production_env(), "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_check_deploy_fails_without_production_hardening():
    # The same check is not a formality: the local defaults do fail it.
    env = production_env(DJANGO_PRODUCTION="0", DEBUG="1")
    done = run(env, "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert done.returncode != 0
    assert "security.W018" in done.stderr  # DEBUG on


@pytest.mark.parametrize("name", ["SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL"])
def test_production_refuses_to_start_without(name):
    env = production_env()
    del env[name]
    done = run(env, "manage.py", "check")
    assert done.returncode != 0
    assert f"{name} must be set" in done.stderr


def test_bad_values_fail_loudly():
    done = run(production_env(RATE_LIMIT_START="many"), "manage.py", "check")
    assert done.returncode != 0 and "RATE_LIMIT_START" in done.stderr
    done = run(production_env(TRUSTED_PROXY_COUNT="one"), "manage.py", "check")
    assert done.returncode != 0 and "TRUSTED_PROXY_COUNT" in done.stderr


SHOW_SETTINGS = """
import json, django
django.setup()
from django.conf import settings as s
from django.utils.module_loading import import_string
print(json.dumps({
    "debug": s.DEBUG,
    "ssl_redirect": s.SECURE_SSL_REDIRECT,
    "proxy_header": s.SECURE_PROXY_SSL_HEADER,
    "hsts": s.SECURE_HSTS_SECONDS,
    "hsts_subdomains": s.SECURE_HSTS_INCLUDE_SUBDOMAINS,
    "session_secure": s.SESSION_COOKIE_SECURE,
    "session_httponly": s.SESSION_COOKIE_HTTPONLY,
    "csrf_secure": s.CSRF_COOKIE_SECURE,
    "csrf_httponly": s.CSRF_COOKIE_HTTPONLY,
    "language_cookie": [s.LANGUAGE_COOKIE_SECURE, s.LANGUAGE_COOKIE_HTTPONLY, s.LANGUAGE_COOKIE_SAMESITE],
    "cache": s.CACHES["default"]["BACKEND"],
    "database": s.DATABASES["default"]["ENGINE"],
    "health_checks": s.DATABASES["default"].get("CONN_HEALTH_CHECKS"),
    "static": s.STORAGES["staticfiles"]["BACKEND"],
    "axes_ip": import_string(s.AXES_CLIENT_IP_CALLABLE).__name__,
    "proxies": s.TRUSTED_PROXY_COUNT,
    "exempt": s.RATE_LIMIT_EXEMPT,
}))
"""


def test_production_settings_are_hardened():
    done = run(production_env(), "-c", SHOW_SETTINGS)
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert shown == {
        "debug": False,
        "ssl_redirect": True,
        "proxy_header": ["HTTP_X_FORWARDED_PROTO", "https"],
        "hsts": 31536000,
        "hsts_subdomains": True,
        "session_secure": True,
        "session_httponly": True,
        "csrf_secure": True,
        "csrf_httponly": True,
        "language_cookie": [True, True, "Lax"],
        "cache": "wizard.cache.FailFastRedisCache",
        "database": "django.db.backends.postgresql",
        "health_checks": True,
        "static": "whitenoise.storage.CompressedManifestStaticFilesStorage",
        "axes_ip": "client_address",
        "proxies": 0,  # off until TRUSTED_PROXY_COUNT says a proxy is there
        "exempt": [],
    }


BEHIND_THE_PROXY = """
import django
django.setup()
from django.test import Client
client = Client(HTTP_HOST="doctor.example.com")
plain = client.get("/some/page/")
print(plain.status_code, plain.get("Location"))
probe = client.get("/healthz")
print(probe.status_code, probe.content.decode().strip())
secure = client.get("/healthz", HTTP_X_FORWARDED_PROTO="https")
print(secure.status_code, secure.get("Strict-Transport-Security"))
"""


def test_behind_the_proxy_http_is_redirected_to_https_and_https_gets_hsts():
    done = run(production_env(), "-c", BEHIND_THE_PROXY)
    assert done.returncode == 0, done.stderr
    plain, probe, secure = done.stdout.splitlines()
    assert plain == "301 https://doctor.example.com/some/page/"
    assert probe == "200 ok"  # the load balancer's plain-HTTP probe is not redirected
    assert secure == "200 max-age=31536000; includeSubDomains; preload"


# --- Health probes -------------------------------------------------------------------------


def test_healthz_says_ok_without_touching_the_database(client):
    # No database fixture: pytest-django makes any database access here an error.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok\n"
    assert "no-store" in response["Cache-Control"]


def test_readyz_checks_the_database_and_the_cache(client, db):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.content.decode() == "database: ok\ncache: ok\n"


def test_readyz_is_503_when_the_database_is_unreachable(client, db):
    from django.db import OperationalError

    with mock.patch.object(connection, "cursor", side_effect=OperationalError("connection refused")):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert "database: unavailable" in response.content.decode()
    assert "cache: ok" in response.content.decode()


def test_readyz_names_an_unreachable_cache_but_stays_ready(client, db, settings):
    """Redis is shared by every server: a 503 for it would empty the pool, while each
    server serves on without it."""
    closed = _closed_port()
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed}/0",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.content.decode() == "database: ok\ncache: unavailable\n"


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens there once the socket is closed


# --- Backup and restore drill (docs/deploy.md) ---------------------------------------------


@pytest.fixture
def postgres_tools():
    if connection.vendor != "postgresql":
        pytest.skip("the restore drill runs on PostgreSQL (make test-postgres)")
    missing = [tool for tool in ("pg_dump", "pg_restore") if shutil.which(tool) is None]
    if missing:
        message = f"{', '.join(missing)} not installed (apt-get install postgresql-client)"
        if IN_CI_POSTGRES_PASS:
            pytest.fail(message)
        pytest.skip(message)


def pg_env() -> dict[str, str]:
    db = connection.settings_dict
    env = dict(os.environ)
    for key, value in (("PGHOST", db["HOST"]), ("PGPORT", db["PORT"]), ("PGUSER", db["USER"])):
        if value:
            env[key] = str(value)
    if db["PASSWORD"]:
        env["PGPASSWORD"] = db["PASSWORD"]
    return env


def test_restore_drill_brings_back_revisions_and_diagnoses(postgres_tools, django_db_blocker, tmp_path):
    """pg_dump the database, restore it into a fresh one, find everything there."""
    import psycopg
    from psycopg import sql

    source = connection.settings_dict["NAME"]
    restored = f"{source}_restore_{secrets.token_hex(3)}"
    dump = tmp_path / "doctor.dump"
    with django_db_blocker.unblock():
        revision = ensure_seed()
        diagnosis = Diagnosis.objects.create(revision=revision, status=Diagnosis.Status.DIAGNOSED)
        diagnosis.answers.create(position=1, question="payment-screen", option="unsure")
        revisions = {r.number: r.payload for r in KnowledgeRevision.objects.all()}
        try:
            done = subprocess.run(
                ["pg_dump", "--format=custom", f"--file={dump}", source],
                env=pg_env(),
                capture_output=True,
                text=True,
                timeout=120,
            )
        finally:
            Diagnosis.objects.filter(pk=diagnosis.pk).delete()
    assert done.returncode == 0, done.stderr

    params = _connection_params()
    with psycopg.connect(**params, dbname=source, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(restored)))
    try:
        done = subprocess.run(
            ["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={restored}", str(dump)],
            env=pg_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        with psycopg.connect(**params, dbname=restored) as copy:
            found = dict(copy.execute("SELECT number, payload FROM wizard_knowledgerevision").fetchall())
            case = copy.execute(
                "SELECT status, revision_id FROM wizard_diagnosis WHERE code = %s", [diagnosis.code]
            ).fetchone()
            answers = copy.execute(
                "SELECT a.position, a.option FROM wizard_answer a JOIN wizard_diagnosis d "
                "ON d.id = a.diagnosis_id WHERE d.code = %s",
                [diagnosis.code],
            ).fetchall()
    finally:
        with psycopg.connect(**params, dbname=source, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(restored)))
    assert found == revisions  # every published revision, payload for payload
    assert case == ("diagnosed", revision.number)
    assert answers == [(1, "unsure")]


def _connection_params() -> dict[str, str]:
    db = connection.settings_dict
    params = {
        "host": db["HOST"],
        "port": str(db["PORT"] or ""),
        "user": db["USER"],
        "password": db["PASSWORD"],
    }
    return {key: value for key, value in params.items() if value}
