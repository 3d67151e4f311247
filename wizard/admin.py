"""Admin for the knowledge content and the diagnosis records.

Content is edited as drafts; the "Publish" button on the revisions list (or
``manage.py publish_knowledge``) checks it and compiles the next revision.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Count, Q
from django.http import HttpRequest
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from modeltranslation.admin import TranslationAdmin, TranslationTabularInline
from simple_history.admin import SimpleHistoryAdmin

from .forms import AdminLoginForm
from .markup import render_markdown
from .models import (
    Answer,
    CaseEvent,
    Category,
    Cause,
    CauseSolution,
    Diagnosis,
    Evidence,
    KnowledgeRevision,
    Option,
    Provider,
    Question,
    Solution,
    Symptom,
    Ticket,
)
from .views import admin_pages

admin.site.site_header = _("POS Upgrade Doctor")
admin.site.site_title = _("POS Upgrade Doctor")
admin.site.index_title = _("Knowledge and diagnoses")
admin.site.login_form = AdminLoginForm


class ContentAdmin(SimpleHistoryAdmin, TranslationAdmin):
    """Bilingual fields side by side, with history and revert."""

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # simple-history shows an old version to whoever may view the object, and saves
        # it back on POST for them too: reverting is a change, so it needs that right.
        if request.method not in ("GET", "HEAD") and not self.has_change_permission(request):
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        # simple-history looks the object up as given: "1²" is a ValueError, a 500. The
        # admin's own lookup says "no such object" for anything that is not one.
        if self.get_object(request, unquote(object_id)) is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        return super().history_view(request, object_id, extra_context)


@admin.register(Category)
class CategoryAdmin(ContentAdmin):
    list_display = ("title", "slug", "order")
    search_fields = ("slug", "title_zh_hans", "title_en")
    prepopulated_fields = {"slug": ("title_en",)}


@admin.register(Provider)
class ProviderAdmin(ContentAdmin):
    list_display = ("name", "kind", "hotline", "order")
    list_filter = ("kind",)
    search_fields = ("slug", "name_zh_hans", "name_en")
    # A website typed without a scheme is https:// (Django 6's default; 5.2 warns).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


@admin.register(Symptom)
class SymptomAdmin(ContentAdmin):
    list_display = ("title", "slug")
    search_fields = ("slug", "title_zh_hans", "title_en")


class EvidenceInline(admin.TabularInline):
    model = Evidence
    extra = 1
    autocomplete_fields = ("symptom",)


class CauseSolutionInline(admin.TabularInline):
    model = CauseSolution
    extra = 1
    autocomplete_fields = ("solution",)


class HasSolutionsFilter(admin.SimpleListFilter):
    title = _("solutions")
    parameter_name = "has_solutions"

    def lookups(self, request, model_admin):
        return (("yes", _("has solutions")), ("no", _("no solution")))

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(cause_solutions__isnull=True)
        if self.value() == "yes":
            return queryset.filter(cause_solutions__isnull=False).distinct()
        return queryset


class UsedQuestionFilter(admin.SimpleListFilter):
    title = _("used by a cause")
    parameter_name = "used"

    def lookups(self, request, model_admin):
        return (("yes", _("used")), ("no", _("unused")))

    def queryset(self, request, queryset):
        used = Q(symptom__evidence__isnull=False) | Q(options__symptom__evidence__isnull=False)
        if self.value() == "yes":
            return queryset.filter(used).distinct()
        if self.value() == "no":
            return queryset.exclude(pk__in=queryset.filter(used).values("pk"))
        return queryset


@admin.register(Cause)
class CauseAdmin(ContentAdmin):
    list_display = ("title", "category", "prior", "evidence_count", "solution_count", "is_published")
    list_filter = ("is_published", HasSolutionsFilter, "category")
    change_form_template = "admin/wizard/cause/change_form.html"

    def get_urls(self):
        return [
            path(
                "<path:object_id>/simulate/",
                self.admin_site.admin_view(admin_pages.simulate),
                name="wizard_cause_simulate",
            ),
            *super().get_urls(),
        ]

    list_select_related = ("category",)
    search_fields = ("slug", "title_zh_hans", "title_en")
    inlines = (EvidenceInline, CauseSolutionInline)

    def get_queryset(self, request: HttpRequest):
        return (
            super()
            .get_queryset(request)
            .annotate(
                evidence_total=Count("evidence", distinct=True),
                solution_total=Count("cause_solutions", distinct=True),
            )
        )

    @admin.display(description=_("symptoms"), ordering="evidence_total")
    def evidence_count(self, obj: Cause) -> int:
        return obj.evidence_total

    @admin.display(description=_("solutions"), ordering="solution_total")
    def solution_count(self, obj: Cause) -> int:
        return obj.solution_total


class OptionInline(TranslationTabularInline):
    model = Option
    extra = 1
    autocomplete_fields = ("symptom",)


@admin.register(Question)
class QuestionAdmin(ContentAdmin):
    list_display = ("text", "kind", "symptom", "effort", "order", "is_published")
    list_filter = ("is_published", "kind", UsedQuestionFilter)
    list_select_related = ("symptom",)
    search_fields = ("slug", "text_zh_hans", "text_en")
    autocomplete_fields = ("symptom",)
    inlines = (OptionInline,)


@admin.register(Solution)
class SolutionAdmin(ContentAdmin):
    list_display = ("title", "audience", "effort_minutes", "is_escalation", "is_published")
    list_filter = ("is_published", "audience", "is_escalation")
    search_fields = ("slug", "title_zh_hans", "title_en")
    filter_horizontal = ("contexts",)
    readonly_fields = ("preview",)

    class Media:
        js = ("admin/wizard/solution-preview.js",)
        css = {"all": ("admin/wizard/authoring.css",)}

    @admin.display(description=_("preview (as merchants see it)"))
    def preview(self, obj: Solution) -> str:
        return format_html(
            '<div class="steps-preview" data-preview-url="{}">{}</div>',
            reverse("admin:wizard_markdown_preview"),
            render_markdown(obj.steps or ""),
        )


class ReadOnlyAdmin(admin.ModelAdmin):
    """Listed and shown, never added, changed or deleted in the admin."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(KnowledgeRevision)
class KnowledgeRevisionAdmin(ReadOnlyAdmin):
    """Revisions are written by publishing only, and kept: a diagnosis refers to its own."""

    list_display = ("number", "created", "published_by", "summary", "note")
    list_display_links = None
    list_select_related = ("published_by",)
    change_list_template = "admin/wizard/knowledgerevision/change_list.html"

    def get_urls(self):
        def view(function):
            return self.admin_site.admin_view(function)

        return [
            path("publish/", view(admin_pages.publish), name="wizard_publish"),
            path("health/", view(admin_pages.health), name="wizard_health"),
            path("preview/", view(admin_pages.preview), name="wizard_preview"),
            path("markdown-preview/", view(admin_pages.markdown_preview), name="wizard_markdown_preview"),
            path("learning/", view(admin_pages.learning), name="wizard_learning"),
            path("export/", view(admin_pages.export), name="wizard_export"),
            path("import/", view(admin_pages.import_view), name="wizard_import"),
            path("<int:number>/", view(admin_pages.revision), name="wizard_revision"),
            path("<int:number>/republish/", view(admin_pages.republish), name="wizard_republish"),
            *super().get_urls(),
        ]

    @admin.display(description=_("number"), ordering="number")
    def number_link(self, obj: KnowledgeRevision) -> str:
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:wizard_revision", args=[obj.number]), obj.number
        )

    def get_list_display(self, request: HttpRequest):
        return ("number_link", *self.list_display[1:])


class AnswerInline(admin.TabularInline):
    model = Answer
    extra = 0
    fields = ("position", "question", "option", "answered_by", "created")
    readonly_fields = fields
    can_delete = False


class CaseEventInline(admin.TabularInline):
    model = CaseEvent
    extra = 0
    fields = ("created", "kind", "actor", "detail")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class DateBoundChangeList(ChangeList):
    """A date hierarchy's year too large for a date goes back to the list with an error
    (``?e=1``), as any other impossible date does: Django lets its OverflowError through."""

    def get_filters(self, request):
        try:
            return super().get_filters(request)
        except OverflowError as error:
            raise IncorrectLookupParameters(error) from error


class RecordAdmin(ReadOnlyAdmin):
    """Diagnoses and tickets are read-only here, for everyone: they change through the
    agent console (or the wizard), which keeps a diagnosis and its ticket in step and
    records who did what. The retention purge deletes them, keeping anonymous counts."""


# Seen only by those who may see tickets (the contact details): agents' notes about a caller.
PERSONAL_FIELDS = ("notes",)


@admin.register(Diagnosis)
class DiagnosisAdmin(RecordAdmin):
    list_display = ("display_code", "channel", "status", "revision", "language", "created")
    list_filter = ("status", "channel", "language")
    list_select_related = ("revision",)
    search_fields = ("code",)
    readonly_fields = ("code", "revision", "ranking", "created", "updated")
    fields = (
        "code",
        "channel",
        "integration",
        "agent",
        "language",
        "revision",
        "status",
        "ranking",
        "is_fixed",
        "fixed_by",
        "notes",
        "created",
        "updated",
    )
    inlines = (AnswerInline, CaseEventInline)
    date_hierarchy = "created"

    def get_changelist(self, request, **kwargs):
        return DateBoundChangeList

    def get_fields(self, request: HttpRequest, obj=None):
        fields = super().get_fields(request, obj)
        if request.user.has_perm("wizard.view_ticket"):
            return fields
        return tuple(name for name in fields if name not in PERSONAL_FIELDS)


@admin.register(Ticket)
class TicketAdmin(RecordAdmin):
    list_display = ("__str__", "status", "phone", "created")
    list_filter = ("status",)
    list_select_related = ("diagnosis",)
    search_fields = ("name", "phone", "merchant_number", "diagnosis__code")
    raw_id_fields = ("diagnosis",)


# API keys and integrations (wizard/api/admin.py).
from .api import admin as api_admin  # noqa: E402, F401
