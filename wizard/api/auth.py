"""API keys: who is calling, with which scopes, and how often.

A key is sent as ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``. No key, or one
that is unknown or revoked, is 401; a key without the operation's scope is 403; a key over
its requests per minute (``ApiKey.rate_limit``) is 429 with ``Retry-After``, counted with
the project's rate-limit helpers (shared through Redis by every app server, and let
through when the cache is unreachable, as every limit is). ``last_used_at`` is written at
most once a minute per key, so that a busy key costs no write per request.
"""

from __future__ import annotations

import re
from datetime import timedelta

from django.http import HttpRequest
from django.utils import timezone
from ninja.security import APIKeyHeader, HttpBearer

from ..models import ApiKey
from ..ratelimit import hit, seconds_left

WINDOW = 60  # ApiKey.rate_limit is per minute
LAST_USED_EVERY = timedelta(minutes=1)
# What ApiKey.issue() makes: "pud_", 8 hex digits, "_", URL-safe base64. Anything else is
# not looked up (PostgreSQL would refuse a NUL in the query with a server error).
KEY_SHAPE = re.compile(r"pud_[0-9a-f]{8}_[A-Za-z0-9_-]{20,80}")


class Refused(Exception):
    """A known key that may not do this (403), or not now (429, ``retry_after``)."""

    def __init__(self, status: int, error: str, *, retry_after: int = 0):
        self.status = status
        self.error = error
        self.retry_after = retry_after
        super().__init__(error)


def authenticate(request: HttpRequest, secret: str | None, scopes: tuple[str, ...]) -> ApiKey | None:
    """The key ``secret`` names, once it is counted against its limit and found to hold
    one of ``scopes``; None for no key or an unknown one (401)."""
    secret = (secret or "").strip()
    if not KEY_SHAPE.fullmatch(secret):
        return None
    key = ApiKey.find(secret)
    if key is None:
        return None
    request.api_key = key  # for CORS, even when refused below
    if not hit(f"api-key:{key.pk}", key.rate_limit, WINDOW):
        raise Refused(429, "rate-limited", retry_after=seconds_left(WINDOW))
    _mark_used(key)
    if not any(key.allows(scope) for scope in scopes):
        raise Refused(403, "scope")
    return key


def _mark_used(key: ApiKey) -> None:
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_EVERY:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now


class BearerKey(HttpBearer):
    """``Authorization: Bearer <key>``."""

    def __init__(self, *scopes: str):
        self.scopes = scopes
        super().__init__()

    def authenticate(self, request: HttpRequest, token: str) -> ApiKey | None:
        return authenticate(request, token, self.scopes)


class HeaderKey(APIKeyHeader):
    """``X-API-Key: <key>``, for clients that cannot set Authorization."""

    param_name = "X-API-Key"

    def __init__(self, *scopes: str):
        self.scopes = scopes
        super().__init__()

    def authenticate(self, request: HttpRequest, key: str | None) -> ApiKey | None:
        return authenticate(request, key, self.scopes)


def keys(*scopes: str) -> list:
    """The ``auth`` of an operation open to keys with any of ``scopes``."""
    return [BearerKey(*scopes), HeaderKey(*scopes)]
