"""What every page of the site shares: the request type, full page or htmx partial, and
the 303 that ends every POST."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.utils.translation import get_language
from django_htmx.middleware import HtmxDetails

from ..models import Diagnosis, normalise_case_code


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def page(request: HtmxHttpRequest, template: str, context: dict, *, status: int = 200) -> HttpResponse:
    """The whole page, or only its ``content`` partial for htmx."""
    name = f"{template}#content" if request.htmx and not request.htmx.history_restore_request else template
    response = render(request, name, context, status=status)
    patch_vary_headers(response, ("HX-Request",))
    return response


def see_other(url: str) -> HttpResponse:
    response = redirect(url)
    response.status_code = 303
    return response


def language() -> str:
    return get_language() or "zh-hans"


def find_diagnosis(code: str, *related: str) -> Diagnosis | None:
    """The diagnosis a person typed, read aloud or followed a link to, if any."""
    # select_related() with no names would follow every foreign key, the revision's whole
    # knowledge payload included.
    diagnoses = Diagnosis.objects.select_related(*related) if related else Diagnosis.objects.all()
    return diagnoses.filter(code=normalise_case_code(code)).first()
