"""API keys in the admin, and their list on an integration's page (wizard/admin.py).

A key is created here or with ``manage.py create_api_key``: its secret is shown once, on
the page that answers the form (never stored, never put in a message or a cookie), and
only its hash is kept. Keys are revoked with the list's action; a revoked key answers 401.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ..models import ApiKey


class ApiKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        label=_("scopes"), choices=ApiKey.Scope.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = ApiKey
        fields = ("integration", "name", "scopes", "rate_limit")


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyForm
    list_display = (
        "name",
        "integration",
        "prefix",
        "scopes",
        "rate_limit",
        "created",
        "last_used_at",
        "revoked_at",
    )
    list_filter = ("integration", "revoked_at")
    list_select_related = ("integration",)
    search_fields = ("name", "prefix", "integration__name")
    actions = ("revoke",)

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        if obj is None:
            return ()
        return ("integration", "prefix", "created", "last_used_at", "revoked_at")

    def get_fields(self, request: HttpRequest, obj=None):
        if obj is None:
            return ("integration", "name", "scopes", "rate_limit")
        return (
            "integration",
            "name",
            "prefix",
            "scopes",
            "rate_limit",
            "created",
            "last_used_at",
            "revoked_at",
        )

    def save_model(self, request: HttpRequest, obj: ApiKey, form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        issued, secret = ApiKey.issue(obj.integration, obj.name, list(obj.scopes))
        issued.rate_limit = obj.rate_limit
        issued.save(update_fields=["rate_limit"])
        obj.pk, obj.prefix, obj.hashed, obj.created = issued.pk, issued.prefix, issued.hashed, issued.created
        request._issued_secret = secret  # shown by response_add, on this response only

    def response_add(self, request: HttpRequest, obj: ApiKey, post_url_continue=None) -> HttpResponse:
        secret = getattr(request, "_issued_secret", None)
        if secret is None:
            return super().response_add(request, obj, post_url_continue)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "key": obj,
            "secret": secret,
            "title": _("Copy the new API key now"),
        }
        response = TemplateResponse(request, "admin/wizard/apikey/issued.html", context)
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description=_("Revoke the selected keys"), permissions=["change"])
    def revoke(self, request: HttpRequest, queryset) -> None:
        keys = list(queryset.filter(revoked_at__isnull=True))
        for key in keys:
            key.revoke()
        self.message_user(
            request,
            ngettext("%(count)d key revoked.", "%(count)d keys revoked.", len(keys)) % {"count": len(keys)},
            messages.SUCCESS,
        )


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    fields = ("name", "prefix", "scopes", "rate_limit", "last_used_at", "revoked_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # a key is made on its own page, which shows the secret once
