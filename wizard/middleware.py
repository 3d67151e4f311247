"""Requests refused before any view sees them."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

NUL = "\x00"


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
