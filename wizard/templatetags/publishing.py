from django import template
from django.contrib.auth.context_processors import PermWrapper

from ..publishing import unpublished_changes

register = template.Library()


@register.inclusion_tag("admin/wizard/_unpublished.html", takes_context=True)
def unpublished_banner(context):
    """On every admin page: are there draft changes the wizard does not serve yet?"""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_active or not user.is_staff:
        return {"show": False}
    changes = unpublished_changes()
    return {"show": True, "count": len(changes), "perms": PermWrapper(user)}
