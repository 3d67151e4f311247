from django.contrib import admin
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path

from wizard.api.api import api
from wizard.views import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    # Browsers ask for /favicon.ico on pages that name none (the admin).
    path("favicon.ico", lambda request: redirect(static("favicon.svg"), permanent=True)),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    # The merchant wizard inside a provider's page (wizard/embed.py).
    path("embed/<slug:integration>/", include("wizard.embed_urls")),
    path("", include("wizard.urls")),
]

handler404 = "wizard.views.merchant.page_not_found"
