"""What every request to the API meets before and after its operation: CORS, and errors in
the API's own shape (JSON) where Django would answer with a page.

**CORS.** Which browsers may call the API: pages served from an integration's allowed origins.

A browser asks first (a preflight OPTIONS, which carries no key): the origin gets the
answer's ``Access-Control-Allow-*`` headers if any active integration lists it. A request
with a key then gets ``Access-Control-Allow-Origin`` only for that key's integration's
origins; one without a valid key, for any integration's (so that its 401 is readable).
Other origins get no CORS headers, and the browser keeps the answer from the page.

**Errors.** An address the API does not have (404), a method an operation does not take
(405), a request Django refuses before any operation runs (400: a body over
``DATA_UPLOAD_MAX_MEMORY_SIZE``) and an address with a NUL character (400, refused by
``wizard.middleware.RejectNulMiddleware``, which runs inside this one) are answered as
every API error is: ``{"error": …, "message": …}``.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _

from ..models import Integration

PREFIX = "/api/"
METHODS = "GET, POST, PUT, OPTIONS"
HEADERS = "Authorization, X-API-Key, Content-Type"
MAX_AGE = "600"


def known_origin(origin: str) -> bool:
    """Whether any active integration allows ``origin``."""
    if not origin or "\n" in origin or len(origin) > 200:
        return False
    rows = Integration.objects.filter(is_active=True, allowed_origins__icontains=origin)
    return any(origin in integration.origins for integration in rows.only("allowed_origins"))


class ApiMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path_info.startswith(PREFIX):
            return self.get_response(request)
        origin = request.headers.get("Origin", "")
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            response = HttpResponse(status=204)
            if known_origin(origin):
                response["Access-Control-Allow-Origin"] = origin
                response["Access-Control-Allow-Methods"] = METHODS
                response["Access-Control-Allow-Headers"] = HEADERS
                response["Access-Control-Max-Age"] = MAX_AGE
            patch_vary_headers(response, ("Origin",))
            return response
        response = self.get_response(request)
        if response.status_code in GENERIC and not response.get("Content-Type", "").startswith(
            "application/json"
        ):
            response = _as_json(response)
        if origin:
            key = getattr(request, "api_key", None)
            allowed = origin in key.integration.origins if key is not None else known_origin(origin)
            if allowed:
                response["Access-Control-Allow-Origin"] = origin
                response["Access-Control-Expose-Headers"] = "Retry-After"
        patch_vary_headers(response, ("Origin",))
        return response


GENERIC = {400: "bad-request", 404: "not-found", 405: "method-not-allowed"}


def _error(status: int, error: str, message: str) -> JsonResponse:
    return JsonResponse({"error": error, "message": message}, status=status)


def _as_json(response: HttpResponse) -> HttpResponse:
    """Django's page for an address or a method the API does not have, as an API error."""
    messages = {
        400: _("The request is not valid (too large, or not readable)."),
        404: _("The API has no such address."),
        405: _("This address does not take this method."),
    }
    answer = _error(response.status_code, GENERIC[response.status_code], messages[response.status_code])
    if "Allow" in response:
        answer["Allow"] = response["Allow"]
    return answer
