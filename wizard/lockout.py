"""Sign-in lockout, on top of django-axes.

Two limits, both over the cool-off period (``AXES_COOLOFF_TIME``):

- ``AXES_FAILURE_LIMIT`` failures for one username from one address: the usual case, a
  person (or a script) at one desk. Locking the address alone would let one agent's typos
  lock out a whole call centre behind one public address.
- ``LOGIN_ACCOUNT_FAILURE_LIMIT`` failures for one username from any addresses together:
  a password guessed from many addresses, each staying under the first limit.

"Locks after 5 failures" means what it says: the failure that reaches a limit is answered
like the ones before it (the form with its error); the next attempt is refused, with the
right password too, by a translated page that says how long the lockout lasts, with the
same number of seconds in ``Retry-After``.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from axes.attempts import get_cool_off_threshold
from axes.backends import AxesStandaloneBackend
from axes.exceptions import AxesBackendPermissionDenied
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import QuerySet, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import ngettext

from .ratelimit import minutes


class LockoutBackend(AxesStandaloneBackend):
    """django-axes' backend, marking the attempts it refused because of an earlier lockout
    (as opposed to the failure that has just reached the limit)."""

    def authenticate(self, request: HttpRequest, username=None, password=None, **kwargs):
        try:
            return super().authenticate(request, username, password, **kwargs)
        except AxesBackendPermissionDenied:
            request.login_refused = True
            raise


def _failures(attempts: QuerySet) -> int:
    return attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0


class LockoutHandler(AxesDatabaseHandler):
    """django-axes' database handler with the two limits of the module docstring.

    django-axes compares one number with ``AXES_FAILURE_LIMIT``: the failures from this
    address, or that limit itself once the account's ceiling is reached.
    """

    def get_failures(self, request: HttpRequest, credentials: dict | None = None) -> int:
        recent = AccessAttempt.objects.filter(
            username=get_client_username(request, credentials),
            attempt_time__gte=get_cool_off_threshold(request),
        )
        here = _failures(recent.filter(ip_address=request.axes_ip_address))
        if _failures(recent) >= settings.LOGIN_ACCOUNT_FAILURE_LIMIT:
            return max(here, settings.AXES_FAILURE_LIMIT)
        return here


def _unlocked_at(attempts: QuerySet, limit: int, cool_off: timedelta) -> datetime | None:
    """When these failures drop below ``limit`` as the oldest expire; None if they are below."""
    rows = sorted(attempts.values_list("attempt_time", "failures_since_start"))
    left, end = sum(failures for _, failures in rows), None
    for attempt_time, failures in rows:
        if left < limit:
            break
        left -= failures
        end = attempt_time + cool_off
    return end


def seconds_locked(request: HttpRequest, credentials: dict | None = None) -> int:
    """How long the lockout of this request's username (from its address) still lasts."""
    cool_off = get_cool_off(request)
    now = timezone.now()
    recent = AccessAttempt.objects.filter(
        username=get_client_username(request, credentials), attempt_time__gte=now - cool_off
    )
    ends = [
        _unlocked_at(
            recent.filter(ip_address=request.axes_ip_address), settings.AXES_FAILURE_LIMIT, cool_off
        ),
        _unlocked_at(recent, settings.LOGIN_ACCOUNT_FAILURE_LIMIT, cool_off),
    ]
    end = max((e for e in ends if e is not None), default=now + cool_off)
    return max(1, math.ceil((end - now).total_seconds()))


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict | None = None
) -> HttpResponse:
    """``AXES_LOCKOUT_CALLABLE``: the failure that reached a limit gets the sign-in form
    like the failures before it; an attempt refused by the lockout gets a 429 page."""
    if original_response is not None and not getattr(request, "login_refused", False):
        return original_response
    retry_after = seconds_locked(request, credentials)
    wait = minutes(retry_after)
    message = ngettext(
        "Too many failed sign-ins: this account is locked. "
        "Please try again in %(minutes)d minute, or ask the administrator who runs this service to unlock it.",
        "Too many failed sign-ins: this account is locked. "
        "Please try again in %(minutes)d minutes, or ask the administrator who runs this service to unlock it.",
        wait,
    ) % {"minutes": wait}
    response = render(request, "login_locked.html", {"message": message}, status=429)
    response["Retry-After"] = str(retry_after)
    return response
