"""The kinds of knowledge content by their translated names: the checks and differences
say "cause", "question"... as identifiers; the admin shows them in the reader's language."""

from django import template
from django.apps import apps
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def kind_name(kind: str) -> str:
    """``"cause"`` → the model's verbose name (原因); ``"knowledge"`` → the whole content."""
    if kind == "knowledge":
        return _("knowledge")
    try:
        return str(apps.get_model("wizard", kind)._meta.verbose_name)
    except (LookupError, ValueError):
        return kind
