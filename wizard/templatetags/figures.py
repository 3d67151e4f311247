from django import template

register = template.Library()


@register.filter
def percent(value) -> str:
    """0.1234 → "12.3%"; nothing to measure → "—"."""
    if value is None or value == "":
        return "—"
    return f"{float(value) * 100:.1f}%"
