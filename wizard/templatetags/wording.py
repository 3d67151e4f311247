"""Words and numbers as each language writes them: ``{{ items|join_list }}`` joins with
the language's list separator (", " in English, "、" in Chinese), and
``{{ 93|percent_sign }}`` keeps a number and its % sign together on one line."""

from django import template
from django.utils.html import format_html

from .. import flow

register = template.Library()


@register.filter
def join_list(items) -> str:
    return flow.join_list(str(item) for item in items)


@register.filter
def percent_sign(value) -> str:
    return format_html('<span class="percent">{}%</span>', value)
