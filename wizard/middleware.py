"""Requests refused before any view sees them, and failures answered for every view."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

NUL = "\x00"

# Seconds a client is asked to wait while the database is unreachable: about as long as
# a database restart or a fail-over takes.
DATABASE_RETRY_AFTER = 30


class RejectNulMiddleware:
    """Answer 400 to an address whose path or query string holds a NUL character.

    No one types one; it comes from scanners and broken scripts. PostgreSQL refuses NUL
    in text, so a view that looked it up would fail with a server error; refusing it here
    covers every page, the admin's filters included.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if NUL in request.path_info or any(
            NUL in key or any(NUL in value for value in values) for key, values in request.GET.lists()
        ):
            return render(request, "400.html", status=400)
        return self.get_response(request)


class DatabaseUnavailableMiddleware:
    """Answer 503 with ``Retry-After`` when the database cannot be reached, not 500.

    A refused or dropped connection is an outage to wait out, not a bug: the page says so
    in the visitor's language. Anything else the database raises — a deadlock, a statement
    timeout, a missing table — is a bug to see, and goes to the usual 500 handling (logged
    with its traceback, mailed to the admins); so does everything with DEBUG on. The page
    itself touches no database.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if settings.DEBUG or not is_unreachable(exception):
            return None
        logger.error("Database unavailable: %s: %s", type(exception).__name__, exception)
        return database_unavailable(request)


# SQLSTATE classes of a connection that failed or was cut (08: connection exception; 57P:
# the server shutting down or starting), as opposed to errors in a statement.
CONNECTION_STATES = ("08", "57P")
# SQLite has no SQLSTATE: what it says when its file cannot be opened or is held too long.
SQLITE_UNREACHABLE = ("unable to open database file", "database is locked")


def is_unreachable(exception: Exception) -> bool:
    """Whether a database error means the database could not be reached."""
    if isinstance(exception, InterfaceError):  # the connection was already closed
        return True
    if not isinstance(exception, OperationalError):
        return False
    cause = exception.__cause__
    state = getattr(cause, "sqlstate", None)
    if state is not None:
        return state.startswith(CONNECTION_STATES)
    if connection.vendor == "sqlite":
        return any(text in str(exception) for text in SQLITE_UNREACHABLE)
    return True  # a client-side failure to connect: the server never answered


def database_unavailable(request: HttpRequest) -> HttpResponse:
    message = _(
        "The service is briefly unavailable. Please try again in a minute. Answers already saved are kept."
    )
    htmx = getattr(request, "htmx", None)
    partial = htmx and not htmx.history_restore_request
    response = render(
        request, "503.html#content" if partial else "503.html", {"message": message}, status=503
    )
    response["Retry-After"] = str(DATABASE_RETRY_AFTER)
    add_never_cache_headers(response)
    patch_vary_headers(response, ("HX-Request",))
    return response
