"""Admin-written Markdown turned into safe HTML.

Solution steps are written by support staff, so they are treated as untrusted: Markdown
is rendered, then nh3 keeps only a small set of tags and attributes. Anything else
(scripts, event handlers, ``javascript:`` links, injected ``hx-*`` attributes) is dropped.
"""

from functools import lru_cache
from html import unescape

import markdown
import nh3
from django.utils.html import strip_tags
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy

TAGS = {"p", "ol", "ul", "li", "strong", "em", "code", "a", "br", "h3", "h4", "blockquote"}
ATTRIBUTES = {"a": {"href", "title"}}
URL_SCHEMES = {"http", "https", "tel", "mailto"}

EMPTY_STEPS_REASON = gettext_lazy(
    "comments, scripts and HTML tags are removed. Write the steps as Markdown text, "
    "e.g. “1. Restart the terminal”."
)


@lru_cache(maxsize=2048)
def render_markdown(source: str) -> SafeString:
    html = markdown.markdown(source or "", extensions=["sane_lists"])
    clean = nh3.clean(
        html,
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )
    return mark_safe(clean)  # noqa: S308 - sanitised by nh3 just above


def shows_nothing(source: str) -> bool:
    """True when Markdown that has something in it renders to no visible text once
    sanitised (only a comment, a ``<script>``, bare HTML): merchants would see an empty
    step, so such steps are refused rather than published."""
    return bool((source or "").strip()) and not _visible_text(render_markdown(source))


def _visible_text(html: str) -> str:
    return unescape(strip_tags(html)).replace("\xa0", " ").strip()
