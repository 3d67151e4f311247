"""Who is asking, and how often: the client's address behind proxies, and rate limits.

Counting uses Django's cache API directly (django-ratelimit is unmaintained and its
system checks reject Django's built-in RedisCache), so every app server shares the counts
through Redis. A fixed window per address and scope: the first hit creates the counter
with the window as its timeout, later hits increment it. When the cache is
unreachable the limit is not enforced: a merchant in trouble must not be turned away
because a counter could not be read. The cache itself gives up quickly on a Redis that
does not answer (short socket timeouts, and :mod:`wizard.cache` stops asking it for a
while after a failure), so a hung Redis costs a request milliseconds, not seconds.

Looking something up by an unguessable code (a case code, a ticket reference) is limited
differently: only the look-ups that find nothing count ("misses"), and once a client has
used up its misses every look-up is refused until the window ends, the right codes too, so
that a refusal never tells a guesser which of its guesses exist.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import math
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.utils.translation import ngettext

from .cache import count

logger = logging.getLogger(__name__)


def client_address(request: HttpRequest) -> str:
    """The client's IP address as the outermost trusted proxy saw it.

    With ``TRUSTED_PROXY_COUNT = n`` the address is the n-th entry from the right of
    X-Forwarded-For: each trusted proxy appends the address it received the request
    from, so everything further left is whatever the client chose to send. Also the
    address django-axes locks out (``AXES_CLIENT_IP_CALLABLE``).
    """
    address = request.META.get("REMOTE_ADDR", "")
    hops = settings.TRUSTED_PROXY_COUNT
    if hops:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [a for a in forwarded if a]
        if len(forwarded) >= hops:
            candidate = forwarded[-hops]
            try:
                address = str(ipaddress.ip_address(candidate))
            except ValueError:
                logger.warning("Ignoring a malformed X-Forwarded-For entry: %r", candidate[:100])
    return address


def address_key(address: str) -> str:
    """The unit a limit counts: one IPv4 address, or one IPv6 /64 (a single home or phone
    usually gets a whole /64 and could otherwise step around the limit)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address or "unknown"
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _counter(key: str, window: int) -> str:
    return f"ratelimit:{key}:{int(time.time() // window)}"


def _unavailable(error: Exception) -> None:
    logger.warning("Rate limit counter unavailable (%s); letting the request through", type(error).__name__)


def hit(key: str, limit: int, window: int) -> bool:
    """Count one hit on ``key``; True while at most ``limit`` hits fell in this window."""
    try:
        hits = count(cache, _counter(key, window), window)
    except Exception as error:  # any cache failure at all: see the module docstring
        _unavailable(error)
        return True
    return hits <= limit


def seconds_left(window: int) -> int:
    return max(1, math.ceil(window - time.time() % window))


def minutes(seconds: int) -> int:
    """A wait as people say it: whole minutes, rounded up."""
    return max(1, math.ceil(seconds / 60))


def too_many_requests(request: HttpRequest, retry_after: int, message: str = "") -> HttpResponse:
    """429 with a message a stressed merchant understands, as a page or htmx partial."""
    wait = minutes(retry_after)
    context = {
        "message": message
        or ngettext(
            "There were too many requests from your connection in a short time. "
            "Please try again in %(minutes)d minute. Your answers so far are kept.",
            "There were too many requests from your connection in a short time. "
            "Please try again in %(minutes)d minutes. Your answers so far are kept.",
            wait,
        )
        % {"minutes": wait},
    }
    htmx = getattr(request, "htmx", None)
    partial = htmx and not htmx.history_restore_request
    response = render(
        request,
        "too_many_requests.html#content" if partial else "too_many_requests.html",
        context,
        status=429,
    )
    response["Retry-After"] = str(retry_after)
    patch_vary_headers(response, ("HX-Request",))
    return response


def allowed(request: HttpRequest, scope: str) -> bool:
    """Count this request against ``scope``; False once the client is over the limit."""
    limit, window = settings.RATE_LIMITS.get(scope, (0, 1))
    address = client_address(request)
    if not limit or address in settings.RATE_LIMIT_EXEMPT:
        return True
    key = address_key(address)
    if hit(f"{scope}:{key}", limit, window):
        return True
    logger.info("Rate limit %r reached for %s", scope, key)
    return False


def rate_limit(scope: str, *, methods: tuple[str, ...] = ("POST",)) -> Callable:
    """Limit a view per client address with the ``settings.RATE_LIMITS[scope]`` rate.

    Only requests with one of ``methods`` count; addresses in ``RATE_LIMIT_EXEMPT`` and a
    count of 0 are never limited. Settings are read on every request (tests lower them
    with pytest-django's ``settings`` fixture).
    """

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.method in methods and not allowed(request, scope):
                return too_many_requests(request, seconds_left(settings.RATE_LIMITS[scope][1]))
            return view(request, *args, **kwargs)

        wrapped.rate_limit_scope = scope  # lets a test check that a view is limited
        return wrapped

    return decorator


# --- Look-ups by code ----------------------------------------------------------------------

Counters = list[tuple[str, str]]


def merchant_lookups(request: HttpRequest) -> Counters:
    """Whom a merchant's missed look-up counts against: the client address."""
    return [("lookup-miss", address_key(client_address(request)))]


def agent_lookups(request: HttpRequest) -> Counters:
    """Whom an agent's missed look-up counts against: the agent's own account (one agent's
    typos never stop the rest of a call centre) and, with a much higher ceiling, the client
    address (every account behind it together)."""
    return [
        ("code-miss", f"user:{request.user.pk}"),
        ("code-miss-address", address_key(client_address(request))),
    ]


def lookup_wait(counters: Counters) -> int:
    """Seconds until a look-up is allowed again: 0 while no counter is used up.

    Never exempt (``RATE_LIMIT_EXEMPT``): codes stay unguessable only while guessing is slow.
    """
    limited = {}
    for scope, key in counters:
        limit, window = settings.RATE_LIMITS.get(scope, (0, 1))
        if limit:
            limited[_counter(f"{scope}:{key}", window)] = (scope, key, limit, window)
    try:
        counts = cache.get_many(list(limited))  # every counter in one round trip
    except Exception as error:  # see the module docstring
        _unavailable(error)
        return 0
    wait = 0
    for name, (scope, key, limit, window) in limited.items():
        if (counts.get(name) or 0) >= limit:
            logger.info("Look-up refused: %s for %s", scope, key)
            wait = max(wait, seconds_left(window))
    return wait


def count_miss(counters: Counters) -> None:
    """Count a look-up that found nothing."""
    for scope, key in counters:
        limit, window = settings.RATE_LIMITS.get(scope, (0, 1))
        if limit:
            hit(f"{scope}:{key}", limit, window)


def too_many_misses(request: HttpRequest, retry_after: int) -> HttpResponse:
    """The merchant's 429 after too many unknown case codes."""
    wait = minutes(retry_after)
    message = ngettext(
        "Too many case codes that do not exist were tried from your connection. "
        "Please check the code and try again in %(minutes)d minute.",
        "Too many case codes that do not exist were tried from your connection. "
        "Please check the code and try again in %(minutes)d minutes.",
        wait,
    ) % {"minutes": wait}
    return too_many_requests(request, retry_after, message)
