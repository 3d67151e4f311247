"""Two app servers sharing PostgreSQL and Redis behave as one site.

Runs when PostgreSQL and Redis are reachable (DATABASE_URL / REDIS_URL, or the local
defaults on 127.0.0.1); skipped otherwise, except in the CI PostgreSQL pass, where it must
run. The servers get a database of their own, created and dropped here, and a cache key
prefix of their own.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator

import pytest

from wizard.benchmark.servers import (
    DEFAULT_POSTGRES_URL,
    DEFAULT_REDIS_URL,
    AppServer,
    Question,
    Visitor,
    delete_cache_keys,
    expect,
    manage,
    postgres_params,
    postgres_reachable,
    redis_reachable,
    scratch_database,
    server_environment,
    walk_diagnosis,
)

DATABASE_URL = os.environ.get("DATABASE_URL", "")
POSTGRES_URL = DATABASE_URL if DATABASE_URL.startswith("postgres") else DEFAULT_POSTGRES_URL
REDIS_URL = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
MUST_RUN = os.environ.get("CI") == "true" and DATABASE_URL.startswith("postgres")


@pytest.fixture(scope="module")
def services() -> None:
    missing = [
        name
        for name, ok in (
            ("PostgreSQL", postgres_reachable(POSTGRES_URL)),
            ("Redis", redis_reachable(REDIS_URL)),
        )
        if not ok
    ]
    if missing:
        message = f"{' and '.join(missing)} not reachable: start them (README, `make test-postgres`) to run the multi-server test"
        if MUST_RUN:
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def site(services, tmp_path_factory) -> Iterator[dict]:
    """Two gunicorn servers, A and B, on one fresh database with the seed published."""
    prefix = f"multi-{secrets.token_hex(4)}"
    logs = tmp_path_factory.mktemp("servers")
    with scratch_database(POSTGRES_URL, "doctor_multi") as url:
        env = server_environment(url, REDIS_URL, CACHE_KEY_PREFIX=prefix)
        manage(env, "migrate", "--noinput")
        manage(env, "load_knowledge")
        manage(env, "publish_knowledge", "--note", "seed")
        password = secrets.token_urlsafe(16)
        manage(
            {**env, "DJANGO_SUPERUSER_PASSWORD": password},
            "createsuperuser",
            "--noinput",
            "--username=boss",
            "--email=boss@example.com",
        )
        try:
            with AppServer(env, log=logs / "a.log") as a, AppServer(env, log=logs / "b.log") as b:
                yield {"a": a.port, "b": b.port, "env": env, "url": url, "password": password}
        finally:
            delete_cache_keys(REDIS_URL, prefix)


def query(url: str, sql: str, *params) -> list[tuple]:
    import psycopg

    with psycopg.connect(**postgres_params(url), connect_timeout=5) as conn:
        return conn.execute(sql, params).fetchall()


def first_option(question: Question) -> str:
    return question.options[0]


def test_both_servers_are_alive_and_ready(site):
    for port in (site["a"], site["b"]):
        visitor = Visitor(port)
        assert visitor.get("/healthz").text == "ok\n"
        ready = visitor.get("/readyz")
        assert (ready.status, ready.text) == (200, "database: ok\ncache: ok\n")


def test_a_diagnosis_started_on_one_server_continues_on_the_other(site):
    visitor = Visitor(site["a"])
    # Request i goes to server A or B in turn: every answer is posted to the server that
    # did not show its question.
    code, answers, result = walk_diagnosis(visitor, first_option, ports=[site["a"], site["b"]])
    assert len(answers) >= 2
    stored = query(
        site["url"],
        "SELECT a.position, a.question, a.option FROM wizard_answer a "
        "JOIN wizard_diagnosis d ON d.id = a.diagnosis_id WHERE d.code = %s ORDER BY a.position",
        code,
    )
    assert stored == [(i, q, o) for i, (q, o) in enumerate(answers, start=1)]
    # Both servers show the same result.
    causes = [re.findall(r'data-cause="([a-z0-9-]+)"', result.text)]
    for port in (site["a"], site["b"]):
        page = expect(Visitor(port).get(f"/d/{code}/result/"), 200)
        causes.append(re.findall(r'data-cause="([a-z0-9-]+)"', page.text))
    assert causes[0] and causes[0] == causes[1] == causes[2]


def test_a_publish_on_one_server_is_served_by_the_other_on_its_next_request(site):
    a, b = site["a"], site["b"]
    # B has served revision 1 (and cached its snapshot): its first question.
    before = Visitor(b)
    expect(before.get("/"), 200)
    started = expect(before.post("/start/", {"token": ""}), 303)
    old_code = started.location.strip("/").split("/")[1]
    first = expect(before.get(started.location), 200)
    old_first = re.search(r'data-question="([a-z0-9-]+)"', first.text).group(1)

    # A support admin makes that question much harder to answer, and publishes on A.
    manage(
        site["env"],
        "shell",
        "-c",
        f"from wizard.models import Question; Question.objects.filter(slug={old_first!r}).update(effort=50)",
    )
    admin = Visitor(a)
    login_page = expect(admin.get("/admin/login/"), 200)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page.text).group(1)
    logged_in = admin.post(
        "/admin/login/?next=/admin/",
        {"csrfmiddlewaretoken": token, "username": "boss", "password": site["password"], "next": "/admin/"},
    )
    assert logged_in.status == 302, logged_in.text[:500]
    expect(admin.get("/admin/wizard/knowledgerevision/publish/"), 200)
    published = admin.post("/admin/wizard/knowledgerevision/publish/", {"note": "question 1 is hard now"})
    assert published.status == 302, published.text[:500]
    assert query(site["url"], "SELECT max(number) FROM wizard_knowledgerevision") == [(2,)]

    # B's very next new diagnosis is on revision 2, and no longer starts with that question.
    after = Visitor(b)
    expect(after.get("/"), 200)
    started = expect(after.post("/start/", {"token": ""}), 303)
    new_code = started.location.strip("/").split("/")[1]
    page = expect(after.get(started.location), 200)
    assert re.search(r'data-question="([a-z0-9-]+)"', page.text).group(1) != old_first
    revisions = dict(
        query(
            site["url"],
            "SELECT code, revision_id FROM wizard_diagnosis WHERE code IN (%s, %s)",
            old_code,
            new_code,
        )
    )
    assert revisions == {old_code: 1, new_code: 2}

    # The diagnosis already running stays on revision 1, on either server.
    for port in (a, b):
        page = expect(Visitor(port).get(f"/d/{old_code}/q/1/"), 200)
        assert f'data-question="{old_first}"' in page.text
