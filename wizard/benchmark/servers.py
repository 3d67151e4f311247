"""App servers for the benchmark and tests/test_multi_server.py, and the visitor that talks to them.

Scratch PostgreSQL databases, the environment of a stand-alone app server, gunicorn
processes on 127.0.0.1, and a small cookie-keeping HTTP client that reads the wizard's
pages well enough to walk a diagnosis from the landing page to the result.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import dj_database_url
from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)
DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
# How a browser posts a form without files; both benchmark clients post answers so.
FORM_ENCODED = "application/x-www-form-urlencoded"

QUESTION_RE = re.compile(r'data-question="([a-z0-9-]+)"')
ANSWER_RE = re.compile(r'name="answer" value="([a-z0-9-]+)"')
SEEN_RE = re.compile(r'name="seen" value="(\d+)"')
START_TOKEN_RE = re.compile(r'name="token" value="([^"]*)"')


# ---------------------------------------------------------------------------------------
# The visitor


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    text: str

    @property
    def location(self) -> str:
        return self.headers.get("Location", "")


class Visitor:
    """One browser-like visitor: keeps cookies, sends the CSRF header, never follows
    redirects, and only ever talks to 127.0.0.1 (with a timeout on every request)."""

    def __init__(self, port: int, *, timeout: float = 15.0, language: str = "zh-hans"):
        self.port = port
        self.timeout = timeout
        self.language = language
        self.cookies: dict[str, str] = {}

    def request(
        self, method: str, path: str, form: dict[str, Any] | None = None, *, port: int | None = None
    ) -> Reply:
        conn = http.client.HTTPConnection("127.0.0.1", port or self.port, timeout=self.timeout)
        headers = {"Accept-Language": self.language}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = FORM_ENCODED
            if "csrftoken" in self.cookies:
                headers["X-CSRFToken"] = self.cookies["csrftoken"]
        try:
            conn.request(method, path, body, headers)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
        finally:
            conn.close()
        for value in response.headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie()
            cookie.load(value)
            self.cookies.update({name: morsel.value for name, morsel in cookie.items()})
        return Reply(response.status, response.headers, text)

    def get(self, path: str, **kwargs) -> Reply:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, form: dict[str, Any], **kwargs) -> Reply:
        return self.request("POST", path, form, **kwargs)


@dataclass
class Question:
    slug: str
    options: list[str]
    seen: str | None


def parse_question(html: str) -> Question | None:
    match = QUESTION_RE.search(html)
    if match is None:
        return None
    seen = SEEN_RE.search(html)
    return Question(match.group(1), ANSWER_RE.findall(html), seen.group(1) if seen else None)


def answer_form(question: Question, option: str) -> dict[str, str]:
    form = {"question": question.slug, "answer": option}
    if question.seen is not None:
        form["seen"] = question.seen
    return form


class UnexpectedReply(Exception):
    pass


def expect(reply: Reply, status: int) -> Reply:
    if reply.status != status:
        raise UnexpectedReply(f"expected {status}, got {reply.status}: {reply.text[:300]!r}")
    return reply


def walk_diagnosis(
    visitor: Visitor,
    choose: Callable[[Question], str],
    *,
    ports: list[int] | None = None,
    record: Callable[[str, Callable[[], Reply], int], Reply] | None = None,
    max_steps: int = 60,
) -> tuple[str, list[tuple[str, str]], Reply]:
    """Start a diagnosis and answer until the result page; returns (code, answers, result).

    ``ports`` alternates the servers: request i goes to ``ports[i % len(ports)]``.
    ``record(kind, send, expected_status)`` may wrap every request (the load generator
    times them there).
    """
    counter = iter(range(10**6))

    def send(kind: str, method: str, path: str, form=None, expected: int = 200) -> Reply:
        port = ports[next(counter) % len(ports)] if ports else None

        def go() -> Reply:
            return visitor.request(method, path, form, port=port)

        reply = record(kind, go, expected) if record else go()
        return expect(reply, expected)

    landing = send("landing", "GET", "/")
    token = START_TOKEN_RE.search(landing.text)
    started = send("start", "POST", "/start/", {"token": token.group(1) if token else ""}, 303)
    location = started.location
    code = location.strip("/").split("/")[1]
    answers: list[tuple[str, str]] = []
    for _ in range(max_steps):
        if "/result/" in location:
            return code, answers, send("result", "GET", location)
        page = send("question", "GET", location)
        question = parse_question(page.text)
        if question is None:
            raise UnexpectedReply(f"no question at {location}: {page.text[:300]!r}")
        option = choose(question)
        answers.append((question.slug, option))
        location = send("answer", "POST", location, answer_form(question, option), 303).location
    raise UnexpectedReply(f"no result after {max_steps} steps")


# ---------------------------------------------------------------------------------------
# PostgreSQL and Redis


def postgres_params(url: str) -> dict[str, Any]:
    config = dj_database_url.parse(url)
    return {
        "dbname": config["NAME"],
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
        "host": config.get("HOST") or None,
        "port": config.get("PORT") or None,
    }


def postgres_reachable(url: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(**postgres_params(url), connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def redis_reachable(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2).ping())
    except redis.RedisError:
        return False


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def redact(url: str) -> str:
    """``url`` without its user, password and database, fit for a report."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


@contextlib.contextmanager
def scratch_database(url: str, prefix: str = "doctor_scratch") -> Iterator[str]:
    """A new, empty PostgreSQL database next to ``url``'s; dropped afterwards."""
    import psycopg
    from psycopg import sql

    name = f"{prefix}_{secrets.token_hex(4)}"
    params = postgres_params(url)
    with psycopg.connect(**params, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield with_database(url, name)
    finally:
        with psycopg.connect(**params, autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def delete_cache_keys(redis_url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=5)
    keys = list(client.scan_iter(f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)


# ---------------------------------------------------------------------------------------
# App servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_environment(database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    """Environment of a stand-alone app server (not production: no TLS on 127.0.0.1)."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "LOG_LEVEL": "WARNING",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    """Run ``manage.py`` with ``env``; raises with its output when it fails."""
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


class AppServer:
    """A gunicorn process on 127.0.0.1; always stopped (its whole process group) on exit."""

    def __init__(self, env: dict[str, str], *, workers: int = 1, port: int | None = None, log: Path):
        self.env = env
        self.workers = workers
        self.port = port or free_port()
        self.log = log
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> AppServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self, *, timeout: float = 60) -> None:
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            f"--bind=127.0.0.1:{self.port}",
            f"--workers={self.workers}",
            "--timeout=60",
            "--graceful-timeout=5",
            "--backlog=256",
        ]
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                command,
                cwd=BASE_DIR,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log_tail()}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                if Visitor(self.port, timeout=2).get("/healthz").status == 200:
                    return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gunicorn on port {self.port} not ready within {timeout} s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def worker_rss(self) -> list[int]:
        """Resident memory of each worker process, in bytes (Linux only)."""
        if self.process is None:
            return []
        sizes = []
        with contextlib.suppress(OSError):
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
            for pid in children:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS"):
                        sizes.append(int(line.split()[1]) * 1024)
        return sizes

    def log_tail(self, lines: int = 40) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""
