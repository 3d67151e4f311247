"""Which browsers may call the API: pages served from an integration's allowed origins.

A browser asks first (a preflight OPTIONS, which carries no key): the origin gets the
answer's ``Access-Control-Allow-*`` headers if any active integration lists it. A request
with a key then gets ``Access-Control-Allow-Origin`` only for that key's integration's
origins; one without a valid key, for any integration's (so that its 401 is readable).
Other origins get no CORS headers, and the browser keeps the answer from the page.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers

from ..models import Integration

PREFIX = "/api/"
METHODS = "GET, POST, PUT, OPTIONS"
HEADERS = "Authorization, X-API-Key, Content-Type"
MAX_AGE = "600"


def known_origin(origin: str) -> bool:
    """Whether any active integration allows ``origin``."""
    if not origin or "\n" in origin or len(origin) > 200:
        return False
    rows = Integration.objects.filter(is_active=True, allowed_origins__contains=origin)
    return any(origin in integration.origins for integration in rows.only("allowed_origins"))


class ApiCorsMiddleware:
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
        if origin:
            key = getattr(request, "api_key", None)
            allowed = origin in key.integration.origins if key is not None else known_origin(origin)
            if allowed:
                response["Access-Control-Allow-Origin"] = origin
                response["Access-Control-Expose-Headers"] = "Retry-After"
        patch_vary_headers(response, ("Origin",))
        return response
