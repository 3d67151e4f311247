"""The API object, its documentation pages and its errors.

Every error has the same shape — ``{"error": code, "message": text}``, with ``fields``
(each with its path, e.g. ``["body", "payload", "number"]``) for a request that does not
validate and ``state`` when the diagnosis moved on (409) — and none is a server error:
what cannot be parsed is 400, what does not validate 422.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from .auth import Refused
from .docs import ServerRenderedDocs


class ApiError(Exception):
    """An answer other than success: ``status`` with a stable ``error`` code, a message,
    and the diagnosis's ``state`` when the client should see where it stands now."""

    def __init__(self, status: int, error: str, message: str, *, state: dict | None = None, fields=None):
        self.status = status
        self.error = error
        self.message = message
        self.state = state
        self.fields = fields
        super().__init__(message)


api = NinjaAPI(
    title="POS Upgrade Doctor API",
    version="1",
    description=(
        "Diagnose a POS terminal that stopped working after an upgrade, from any system: start a "
        "diagnosis, answer its questions, read the result, report the outcome or ask for a person. "
        "Authenticate with `Authorization: Bearer <key>` (or `X-API-Key: <key>`). "
        "A walk-through is in docs/api.md."
    ),
    urls_namespace="api",
    docs=ServerRenderedDocs(),
    docs_url="/docs",
    openapi_url="/openapi.json",
)


def error_body(error: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": error, "message": message, **{k: v for k, v in extra.items() if v is not None}}


def respond(request: HttpRequest, status: int, error: str, message: str, **extra: Any) -> HttpResponse:
    return api.create_response(request, error_body(error, message, **extra), status=status)


@api.exception_handler(ApiError)
def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return respond(request, exc.status, exc.error, exc.message, state=exc.state, fields=exc.fields)


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    fields = [
        {
            "loc": [str(part) if not isinstance(part, int) else part for part in e["loc"]],
            "msg": e["msg"],
            "type": e["type"],
        }
        for e in exc.errors
    ]
    return respond(request, 422, "validation", _("The request does not validate: see fields."), fields=fields)


@api.exception_handler(AuthenticationError)
def _unauthorized(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = respond(
        request,
        401,
        "unauthorized",
        _("Send a valid API key: Authorization: Bearer <key>, or X-API-Key: <key>."),
    )
    response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


@api.exception_handler(Refused)
def _refused(request: HttpRequest, exc: Refused) -> HttpResponse:
    if exc.status == 429:
        message = (
            _(
                "Too many codes that no diagnosis has were looked up with this key. Try again in %(seconds)d seconds."
            )
            if exc.error == "too-many-misses"
            else _("Too many requests with this key. Try again in %(seconds)d seconds.")
        )
        response = respond(request, 429, exc.error, message % {"seconds": exc.retry_after})
        response["Retry-After"] = str(exc.retry_after)
        return response
    return respond(
        request, exc.status, exc.error, _("This key may not do this (its scopes do not allow it).")
    )


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    # ninja raises 400 for a body that is not JSON, and HttpError for little else.
    if exc.status_code == 400:
        return respond(request, 400, "bad-request", _("The request body is not valid JSON."))
    return respond(request, exc.status_code, "error", str(exc))


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return respond(request, 404, "not-found", _("Nothing is here."))


# The operations register themselves on ``api`` when imported.
from . import agent, diagnoses, knowledge  # noqa: E402, F401
