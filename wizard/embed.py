"""The embedded wizard: the merchant wizard inside an iframe on a provider's site.

``/embed/<integration slug>/...`` serves the very same merchant views (wizard/views/
merchant.py, wizard/views/intake.py) with three differences, all made here:

- ``request.embed`` names the :class:`Integration`: diagnoses started there have the
  channel "embed" and that integration (``started_from``); pages extend
  ``embed/base.html`` (no site header or footer, the postMessage script) instead of
  ``base.html`` (``template_context``).
- While the view runs, the script prefix is ``/embed/<slug>/``: every ``reverse()`` and
  ``{% url %}`` of the wizard (links, forms, redirects) stays inside the embed.
- The response may be framed by the integration's allowed origins only: CSP
  ``frame-ancestors`` lists them and X-Frame-Options is left off. Every other page keeps
  ``frame-ancestors 'none'`` and ``X-Frame-Options: DENY``.

Inside a provider's page the wizard is a third party: browsers send it no SameSite=Lax
cookie, so neither the CSRF cookie nor the cookie that says which cases this browser
started would work. On embed responses those cookies are ``SameSite=None; Secure;
Partitioned`` (CHIPS): kept by the browser for this provider's site only, never sent to
the wizard opened anywhere else (``EmbedMiddleware``).
"""

from __future__ import annotations

import json
import re
from functools import wraps

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import get_script_prefix, set_script_prefix

from .models import Diagnosis, Integration


def find_integration(slug: str) -> Integration | None:
    """The active integration embedding under ``slug``, if it may be embedded anywhere."""
    integration = Integration.objects.filter(slug=slug, is_active=True).first()
    if integration is None or not integration.origins:
        return None
    return integration


def embedded(view):
    """The merchant ``view`` served inside ``/embed/<integration>/`` (the integration was
    found by :class:`EmbedMiddleware`)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, integration: str, **kwargs) -> HttpResponse:
        found = getattr(request, "embed", None)
        if found is None:
            return render(request, "embed/unavailable.html", {"slug": integration}, status=404)
        # A relative STATIC_URL is prefixed with the script prefix when first read, then
        # kept: read it before the prefix changes, so static files keep their address.
        settings.STATIC_URL  # noqa: B018
        prefix = get_script_prefix()
        set_script_prefix(f"{prefix}embed/{found.slug}/")
        try:
            return view(request, *args, **kwargs)
        finally:
            set_script_prefix(prefix)

    return wrapper


def started_from(request: HttpRequest) -> dict:
    """What a diagnosis started by this request records about where it came from."""
    integration = getattr(request, "embed", None)
    if integration is None:
        return {}
    return {"channel": Diagnosis.Channel.EMBED, "integration": integration}


def template_context(request: HttpRequest) -> dict:
    """The base template every wizard page extends, and the embed's allowed origins."""
    integration = getattr(request, "embed", None)
    if integration is None:
        return {"base_template": "base.html"}
    return {
        "base_template": "embed/base.html",
        "embed": integration,
        "embed_origins": json.dumps(integration.origins),
    }


# Partitioned cookies (CHIPS) are named in the SameSite attribute: Python 3.11's cookie
# module knows no "Partitioned" attribute, and Django writes SameSite as given.
THIRD_PARTY_SAMESITE = "None; Partitioned"


EMBED_PATH = re.compile(r"^/embed/(?P<slug>[-a-zA-Z0-9_]+)/")


class EmbedMiddleware:
    """Every response under ``/embed/<slug>/`` of an integration that may be embedded —
    the wizard's pages and also what is answered before or instead of them (a refused CSRF
    token, an address that is not there, a server error) — may be framed by its allowed
    origins, and its cookies work inside the provider's page (see above).

    It comes before the session and CSRF middleware, to see the cookies they set. The
    framing is said on the response (django-csp's ``_csp_replace``, Django's
    ``xframe_options_exempt``), which the CSP and clickjacking middleware read later, on
    the way out, whichever layer answered."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        match = EMBED_PATH.match(request.path_info)
        integration = find_integration(match["slug"]) if match else None
        if integration is None:
            return self.get_response(request)
        request.embed = integration
        response = self.get_response(request)
        for morsel in response.cookies.values():
            morsel["samesite"] = THIRD_PARTY_SAMESITE
            morsel["secure"] = True
        return response


class EmbedFramingMiddleware:
    """The framing of an embed response (see :class:`EmbedMiddleware`): inside the CSP and
    clickjacking middleware, so that they read it, and below everything that may answer."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        integration = getattr(request, "embed", None)
        if integration is not None:
            response._csp_replace = {"frame-ancestors": integration.origins}
            response.xframe_options_exempt = True
        return response
