"""Admin-written Markdown turned into safe HTML.

Solution steps are written by support staff, so they are treated as untrusted: Markdown
is rendered, then nh3 keeps only a small set of tags and attributes. Anything else
(scripts, event handlers, ``javascript:`` links, injected ``hx-*`` attributes) is dropped.
"""

from functools import lru_cache

import markdown
import nh3
from django.utils.safestring import SafeString, mark_safe

TAGS = {"p", "ol", "ul", "li", "strong", "em", "code", "a", "br", "h3", "h4", "blockquote"}
ATTRIBUTES = {"a": {"href", "title"}}
URL_SCHEMES = {"http", "https", "tel", "mailto"}


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
