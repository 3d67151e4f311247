"""Outages: a hung Redis costs a process one short timeout, not every request a long one;
a database that refuses connections gets a translated 503 with Retry-After, not a 500;
/readyz names what is down, and nothing else.

No test here measures time: each counts what reached the fake Redis, and reads which
error ended the wait (a socket timeout, not the test's own safety valve).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import uuid
from unittest import mock

import pytest
from django.db import OperationalError, connection
from django.test import Client
from django.urls import reverse

from wizard import review
from wizard.middleware import DatabaseUnavailableMiddleware, is_unreachable
from wizard.models import Diagnosis

from .test_production import production_env, run

# --- A Redis that accepts connections and never answers ------------------------------------


class HungRedis:
    """A local socket that accepts every connection and never replies, like a paused
    Redis. It closes everything after ``valve`` seconds so that a client without timeouts
    fails (with a ConnectionError, which the tests tell apart) instead of hanging the run."""

    def __init__(self, valve: float = 30.0):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(128)
        self.port = self.listener.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.accepted: list[socket.socket] = []
        self.closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()
        self.valve = threading.Timer(valve, self.close)
        self.valve.daemon = True
        self.valve.start()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.accepted.append(conn)  # kept open, never read, never answered

    def close(self) -> None:
        self.closed.set()
        self.valve.cancel()
        for conn in [*self.accepted, self.listener]:
            conn.close()


@pytest.fixture
def hung_redis():
    server = HungRedis()
    yield server
    server.close()


SHOW_CACHES = """
import json, django
django.setup()
from django.conf import settings
print(json.dumps(settings.CACHES))
"""


def production_caches(**env: str) -> dict:
    """The CACHES setting exactly as production builds it from these variables."""
    done = run(production_env(**env), "-c", SHOW_CACHES)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_production_gives_redis_short_timeouts_and_reads_them_from_the_environment():
    default = production_caches()["default"]
    assert default["BACKEND"] == "wizard.cache.FailFastRedisCache"
    assert default["OPTIONS"] == {"socket_connect_timeout": 0.25, "socket_timeout": 0.25, "failure_pause": 10}
    tuned = production_caches(REDIS_CONNECT_TIMEOUT="0.5", REDIS_TIMEOUT="0.1", REDIS_FAILURE_PAUSE="30")
    assert tuned["default"]["OPTIONS"] == {
        "socket_connect_timeout": 0.5,
        "socket_timeout": 0.1,
        "failure_pause": 30,
    }


@pytest.mark.parametrize(
    ("name", "value"), [("REDIS_TIMEOUT", "slow"), ("REDIS_TIMEOUT", "0"), ("REDIS_CONNECT_TIMEOUT", "nan")]
)
def test_a_bad_redis_timeout_stops_the_start_naming_it(name, value):
    done = run(production_env(**{name: value}), "manage.py", "check")
    assert done.returncode != 0
    assert f"{name} must be a number from 0.01 to 30" in done.stderr


@pytest.fixture
def hung_production_cache(settings, hung_redis):
    """This test's Django, with production's cache settings pointed at the hung Redis."""
    caches = production_caches(REDIS_URL=hung_redis.url)
    settings.CACHES = caches
    settings.RATE_LIMIT_EXEMPT = []
    return caches


def test_while_redis_is_paused_the_landing_page_measures_its_promise_once(
    hung_production_cache, client, seeded
):
    """The usual number of questions is measured by simulating 200 merchants (a fifth of
    a second): kept in the process's memory while Redis is away, not measured again for
    every visitor."""
    with mock.patch("wizard.review.typical_questions", wraps=review.typical_questions) as measure:
        for _ in range(3):
            assert client.get("/").status_code == 200
    assert measure.call_count == 1


def cache_warnings(caplog) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name == "wizard.cache" and r.levelno == logging.WARNING
    ]


def test_a_hung_redis_costs_one_timeout_and_every_request_still_succeeds(
    hung_production_cache, hung_redis, client, seeded, caplog
):
    from django.core.cache import cache

    # The timeouts production configured are the ones the Redis client uses.
    pool = cache._cache._get_connection_pool(write=True)
    assert pool.connection_kwargs["socket_timeout"] == 0.25
    assert pool.connection_kwargs["socket_connect_timeout"] == 0.25

    with caplog.at_level(logging.WARNING):
        assert client.get("/").status_code == 200  # reads the cache (the usual number of questions)
        starts = [client.post(reverse("wizard:start")).status_code for _ in range(5)]  # rate-limited
        diagnosis = Diagnosis.objects.latest("created")
        step = reverse("wizard:step", args=[diagnosis.code, 1])
        question = client.get(step).context["question"]
        answer = client.post(step, {"question": question["slug"], "answer": "unsure", "seen": 0})
        miss = client.get(reverse("wizard:result", args=["ZZZZZZZZZZ"]))  # a miss is counted
        found = client.get(reverse("wizard:find-case"), {"code": diagnosis.code})
    assert starts == [303] * 5
    assert (answer.status_code, miss.status_code, found.status_code) == (303, 404, 303)

    # Some twenty cache calls; one reached the hung Redis, and a read timeout ended it.
    assert len(hung_redis.accepted) == 1
    warnings = cache_warnings(caplog)
    assert len(warnings) == 1
    assert warnings[0].startswith("The Redis cache did not answer (TimeoutError")


def test_after_the_pause_redis_is_asked_again(hung_production_cache, hung_redis, client, seeded, caplog):
    from wizard import cache as fail_fast

    clock = [1000.0]
    with mock.patch.object(fail_fast.time, "monotonic", lambda: clock[0]):
        client.post(reverse("wizard:start"))
        client.post(reverse("wizard:start"))
        assert len(hung_redis.accepted) == 1
        clock[0] += 10.5  # REDIS_FAILURE_PAUSE
        client.post(reverse("wizard:start"))
    assert len(hung_redis.accepted) == 2


def test_without_a_pause_every_call_would_wait(settings, hung_redis, client, seeded):
    """The counterpart of the test above: what the pause saves (failure_pause 0)."""
    caches = production_caches(REDIS_URL=hung_redis.url, REDIS_FAILURE_PAUSE="0")
    settings.CACHES = caches
    settings.RATE_LIMIT_EXEMPT = []
    for _ in range(3):
        assert client.post(reverse("wizard:start")).status_code == 303
    assert len(hung_redis.accepted) >= 3


def test_readyz_asks_the_hung_redis_itself_and_names_only_the_cache(
    hung_production_cache, hung_redis, client, db
):
    for _ in range(2):
        response = client.get("/readyz")
        assert response.status_code == 200  # degraded, still serving
        assert response.content.decode() == "database: ok\ncache: unavailable\n"
    assert len(hung_redis.accepted) == 2  # not answered from the pause


def test_the_rate_limiter_fails_open_with_a_warning_on_any_cache_error(
    settings, client, seeded, caplog, monkeypatch
):
    from wizard import ratelimit

    class Broken:
        def __getattr__(self, name):
            def fail(*args, **kwargs):
                raise ConnectionError("no cache")

            return fail

    monkeypatch.setattr(ratelimit, "cache", Broken())
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "start": (1, 600), "lookup-miss": (1, 900)}
    settings.RATE_LIMIT_EXEMPT = []
    with caplog.at_level(logging.WARNING):
        assert [client.post(reverse("wizard:start")).status_code for _ in range(3)] == [303] * 3
        assert [client.get("/d/ZZZZZZZZZZ/").status_code for _ in range(3)] == [404] * 3
    warned = [r for r in caplog.records if r.name == "wizard.ratelimit" and r.levelno == logging.WARNING]
    assert warned and "ConnectionError" in warned[0].getMessage()
    assert not [r for r in caplog.records if r.exc_info]  # a warning, not a traceback per request


# --- A database that refuses connections ---------------------------------------------------

SECRET = "s3cret-password"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def database_refuses(django_db_blocker):
    """The default database, pointed where nothing answers: a closed port for PostgreSQL,
    a file in a missing folder for SQLite. Restored afterwards."""
    with django_db_blocker.unblock():
        connection.close()
        saved = dict(connection.settings_dict)
        if connection.vendor == "postgresql":
            connection.settings_dict.update(HOST="127.0.0.1", PORT=str(_closed_port()), PASSWORD=SECRET)
        else:
            connection.settings_dict["NAME"] = f"/nonexistent-{uuid.uuid4().hex}/{SECRET}.sqlite3"
        try:
            yield connection.settings_dict
        finally:
            connection.close()
            connection.settings_dict.clear()
            connection.settings_dict.update(saved)


def assert_reveals_nothing(text: str, settings_dict: dict) -> None:
    for secret in (SECRET, str(settings_dict.get("PORT") or "no-port"), str(settings_dict.get("NAME"))):
        assert secret not in text


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_pages_answer_503_with_retry_after_when_the_database_refuses(language, database_refuses):
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    pages = {
        "landing": client.get("/"),
        "start": client.post(reverse("wizard:start")),
        "case": client.get(reverse("wizard:result", args=["ABCDEFGHJK"])),
        "find": client.get(reverse("wizard:find-case"), {"code": "ABCDE-FGHJK"}),
    }
    client.cookies["sessionid"] = "x" * 32  # a signed-in agent: the session is in the database
    pages["agent"] = client.get(reverse("wizard:agent-home"))
    for name, response in pages.items():
        assert response.status_code == 503, name
        assert response["Retry-After"] == "30", name
        assert "no-store" in response["Cache-Control"], name
        html = response.content.decode()
        assert "<html" in html and "data-unavailable" in html, name
        assert ("try again in a minute" in html) == (language == "en"), name
        assert ("一分钟后再试" in html) == (language == "zh-hans"), name
        assert_reveals_nothing(html, database_refuses)


def test_htmx_gets_the_503_as_a_partial(database_refuses):
    response = Client().get("/", HTTP_HX_REQUEST="true")
    assert response.status_code == 503
    assert "<html" not in response.content.decode()
    assert "HX-Request" in response["Vary"]


def test_readyz_names_the_database_without_revealing_where_it_is(database_refuses):
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.content.decode() == "database: unavailable\ncache: ok\n"
    assert_reveals_nothing(response.content.decode(), database_refuses)


def test_a_bug_goes_to_the_500_handling(settings):
    settings.DEBUG = False
    assert (
        DatabaseUnavailableMiddleware(lambda request: None).process_exception(
            mock.Mock(), ValueError("a bug")
        )
        is None
    )


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's own messages")
def test_on_sqlite_a_missing_table_is_a_bug_and_a_held_file_an_outage():
    assert not is_unreachable(OperationalError("no such table: wizard_diagnosis"))
    assert is_unreachable(OperationalError("database is locked"))


def test_a_statement_error_that_postgresql_answered_is_not_an_outage():
    def error(sqlstate: str) -> OperationalError:
        cause = Exception("from the driver")
        cause.sqlstate = sqlstate
        error = OperationalError(str(cause))
        error.__cause__ = cause
        return error

    assert not is_unreachable(error("57014"))  # canceling statement due to statement timeout
    assert not is_unreachable(error("40P01"))  # deadlock detected
    assert is_unreachable(error("08006"))  # connection failure
    assert is_unreachable(error("57P01"))  # the server is shutting down


def test_healthz_stays_a_liveness_check(database_refuses):
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok\n"


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis (make test-postgres)")
def test_a_counter_on_redis_counts_in_one_round_trip_and_always_expires():
    from wizard.cache import FailFastRedisCache, count

    cache = FailFastRedisCache(os.environ["REDIS_URL"], {"OPTIONS": {}})
    key = f"test-counter:{uuid.uuid4().hex}"
    client = cache._cache.get_client(cache.make_and_validate_key(key), write=True)
    with mock.patch.object(type(client), "execute_command", wraps=client.execute_command) as single:
        assert [count(cache, key, 60), count(cache, key, 60)] == [1, 2]
    assert single.call_count == 0  # pipelined, not one command at a time
    assert cache.get(key) == 2
    assert 0 < client.ttl(cache.make_and_validate_key(key)) <= 60
    cache.delete(key)


def test_one_redis_client_serves_every_call_of_a_process():
    """Django's own makes a redis.Redis per call, its reply-parser table included."""
    from wizard.cache import FailFastRedisCache

    cache = FailFastRedisCache("redis://127.0.0.1:6379/0", {"OPTIONS": {}})  # nothing is sent
    first = cache._cache.get_client("a", write=True)
    assert cache._cache.get_client("b") is first
    assert first.connection_pool is cache._cache._get_connection_pool(True)


def test_a_counter_elsewhere_counts_through_the_cache_api():
    from django.core.cache.backends.locmem import LocMemCache

    from wizard.cache import count

    cache = LocMemCache("counter-test", {})
    assert [count(cache, "k", 60) for _ in range(3)] == [1, 2, 3]
