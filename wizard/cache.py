"""The shared cache: Django's Redis cache, made to fail fast and fail open.

Redis holds nothing that must survive (rate-limit counters, a measured number of
questions), so a Redis that cannot be reached must never cost a merchant more than a
moment, let alone the page. A dead Redis refuses connections at once; a hung one (paused,
overloaded, a network that drops packets) accepts them and never answers, so every call
would wait for the socket timeout (``REDIS_CONNECT_TIMEOUT``/``REDIS_TIMEOUT``, a fraction
of a second). After such a failure this process stops asking Redis for
``failure_pause`` seconds and keeps what it stores in its own memory instead (Django's
local-memory cache): the rate limits then count per process rather than across servers,
and a measured figure (the landing page's usual number of questions) is measured once
per process, not on every request. ``/readyz`` still asks Redis itself
(:meth:`FailFastRedisCache.check`), so the load balancer learns of the outage.
"""

from __future__ import annotations

import logging
import time
import uuid

from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

# Errors that mean "Redis is not answering" (a refused or dropped connection, a socket
# timeout), as opposed to a command Redis answered with an error, which is a bug to see.
UNREACHABLE = (RedisConnectionError, RedisTimeoutError)

# Per process, per Redis location: until when (time.monotonic()) it is not asked.
_paused_until: dict[tuple[str, ...], float] = {}


class ReusedClients(RedisCacheClient):
    """Django's client makes a new ``redis.Redis`` on every call, and with it a table of
    some 170 reply parsers (about 60 µs, on every page that reads a counter). One per
    connection pool serves the whole process: it is thread-safe, each command borrowing a
    connection from the pool."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        if (client := self._clients.get(pool)) is None:
            client = self._clients.setdefault(pool, self._client(connection_pool=pool))
        return client


class FailFastRedisCache(RedisCache):
    """``RedisCache`` with one more option, ``failure_pause`` (seconds, default 10): how long
    to go without Redis after it failed to answer. 0 asks it every time (each call then
    waits for the socket timeout while Redis is down)."""

    def __init__(self, server, params):
        options = dict(params.get("OPTIONS") or {})
        self.failure_pause = options.pop("failure_pause", 10)
        super().__init__(server, {**params, "OPTIONS": options})
        self._class = ReusedClients
        self._location = tuple(self._servers)
        self._fallback = LocMemCache(f"redis-fallback:{server}", {"TIMEOUT": params.get("TIMEOUT", 300)})

    def is_paused(self) -> bool:
        return time.monotonic() < _paused_until.get(self._location, 0.0)

    def _pause(self, error: Exception) -> None:
        _paused_until[self._location] = time.monotonic() + self.failure_pause
        logger.warning(
            "The Redis cache did not answer (%s: %s); going on without it for %s s",
            type(error).__name__,
            error,
            self.failure_pause,
        )

    def _call(self, name: str, *args, **kwargs):
        if not self.is_paused():
            try:
                return getattr(super(), name)(*args, **kwargs)
            except UNREACHABLE as error:
                self._pause(error)
        return getattr(self._fallback, name)(*args, **kwargs)

    def check(self) -> bool:
        """Whether Redis stores and returns a value now, asked even during a pause (for
        ``/readyz``); a success ends the pause. Raises what the Redis client raises."""
        key, value = f"readyz:{uuid.uuid4().hex}", uuid.uuid4().hex
        super().set(key, value, timeout=10)
        ok = super().get(key) == value
        super().delete(key)
        if ok:
            _paused_until.pop(self._location, None)
        return ok

    def count(self, key: str, timeout: int) -> int:
        """Add one to the counter ``key`` (created with ``timeout`` seconds to live) and
        return it, in one round trip: SET NX with the timeout, then INCR, pipelined.
        Django's incr is two (EXISTS, then INCR), and a counter that expired between them
        came back without a timeout."""
        if not self.is_paused():
            try:
                name = self.make_and_validate_key(key)
                pipe = self._cache.get_client(name, write=True).pipeline()
                pipe.set(name, 0, ex=timeout, nx=True)
                pipe.incr(name)
                return pipe.execute()[1]
            except UNREACHABLE as error:
                self._pause(error)
        return count(self._fallback, key, timeout)

    # Every operation of Django's cache API; the rest (get_or_set, decr, ...) use these.
    def add(self, *args, **kwargs):
        return self._call("add", *args, **kwargs)

    def get(self, *args, **kwargs):
        return self._call("get", *args, **kwargs)

    def set(self, *args, **kwargs):
        return self._call("set", *args, **kwargs)

    def touch(self, *args, **kwargs):
        return self._call("touch", *args, **kwargs)

    def delete(self, *args, **kwargs):
        return self._call("delete", *args, **kwargs)

    def get_many(self, *args, **kwargs):
        return self._call("get_many", *args, **kwargs)

    def has_key(self, *args, **kwargs):
        return self._call("has_key", *args, **kwargs)

    def incr(self, *args, **kwargs):
        return self._call("incr", *args, **kwargs)

    def set_many(self, *args, **kwargs):
        return self._call("set_many", *args, **kwargs)

    def delete_many(self, *args, **kwargs):
        return self._call("delete_many", *args, **kwargs)

    def clear(self):
        return self._call("clear")


def count(cache, key: str, timeout: int) -> int:
    """Add one to the counter ``key`` of ``cache`` and return it: in one round trip on
    Redis, with any other cache through its API (the first of a window creates the
    counter; should two race to create it, the loser's add fails and it increments)."""
    if isinstance(cache, FailFastRedisCache):
        return cache.count(key, timeout)
    try:
        return cache.incr(key)
    except ValueError:
        return 1 if cache.add(key, 1, timeout=timeout) else cache.incr(key)
