"""``/embed/<integration>/``: the merchant wizard's own pages, views and names, each
wrapped by :func:`wizard.embed.embedded` (see wizard/embed.py)."""

from django.urls import path

from . import urls as wizard_urls
from .embed import embedded

app_name = "embed"

# The merchant's pages; the agent console, insights and sign-in stay on the site itself.
MERCHANT_PAGES = (
    "landing",
    "start",
    "describe",
    "find-case",
    "resume",
    "step",
    "finish",
    "result",
    "feedback",
    "more",
    "escalate",
    "escalated",
    "withdraw",
    "privacy",
)

urlpatterns = [
    path(str(pattern.pattern), embedded(pattern.callback), name=pattern.name)
    for pattern in wizard_urls.urlpatterns
    if pattern.name in MERCHANT_PAGES
]
