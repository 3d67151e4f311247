"""Probes for the load balancer and the orchestrator.

``/healthz`` says the process serves requests (liveness: restart it if not); it touches
nothing else, so a database outage does not make every server look dead at once.
``/readyz`` says this server can do real work (readiness: send it traffic): the database
answers a query. It also asks the cache, but a cache that does not answer only degrades
the service (every process goes on without Redis, see wizard/cache.py), and Redis is shared
by all servers: failing readiness for it would take every server out of the pool at once.
So the status is 503 for the database alone; the body names each dependency with "ok" or
"unavailable" (for monitoring to alert on) and nothing else: the errors, which may carry
host names and addresses, go to the log only.
"""

from __future__ import annotations

import logging
import uuid

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)


def _text(body: str, status: int = 200) -> HttpResponse:
    return HttpResponse(body, status=status, content_type="text/plain; charset=utf-8")


@never_cache
@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    return _text("ok\n")


def database_is_ready() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception as error:  # whatever the driver raises, the answer is "not ready"
        logger.warning("Readiness: the database is unreachable (%s: %s)", type(error).__name__, error)
        return False


def cache_is_ready() -> bool:
    try:
        # The Redis cache goes on without Redis for a while after a failure
        # (wizard/cache.py): ask Redis itself.
        check = getattr(cache, "check", None)
        if check is not None:
            return check()
        key, value = f"readyz:{uuid.uuid4().hex}", uuid.uuid4().hex
        cache.set(key, value, timeout=10)
        ok = cache.get(key) == value
        cache.delete(key)
        return ok
    except Exception as error:  # whatever the client raises, the answer is "not ready"
        logger.warning("Readiness: the cache is unreachable (%s: %s)", type(error).__name__, error)
        return False


@never_cache
@require_safe
def readyz(request: HttpRequest) -> HttpResponse:
    checks = {"database": database_is_ready(), "cache": cache_is_ready()}
    body = "".join(f"{name}: {'ok' if ok else 'unavailable'}\n" for name, ok in checks.items())
    return _text(body, status=200 if checks["database"] else 503)
