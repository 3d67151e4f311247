"""Admin for the knowledge content and the diagnosis records.

Content is edited as drafts; the "Publish" button on the revisions list (or
``manage.py publish_knowledge``) checks it and compiles the next revision.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from modeltranslation.admin import TranslationAdmin, TranslationTabularInline
from simple_history.admin import SimpleHistoryAdmin

from . import knowledge
from .models import (
    Answer,
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

admin.site.site_header = _("POS Upgrade Doctor")
admin.site.site_title = _("POS Upgrade Doctor")
admin.site.index_title = _("Knowledge and diagnoses")


class ContentAdmin(SimpleHistoryAdmin, TranslationAdmin):
    """Bilingual fields side by side, with history and revert."""


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


@admin.register(Cause)
class CauseAdmin(ContentAdmin):
    list_display = ("title", "category", "prior", "evidence_count", "solution_count", "is_published")
    list_filter = ("is_published", "category")
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
    list_filter = ("is_published", "kind")
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


@admin.register(KnowledgeRevision)
class KnowledgeRevisionAdmin(admin.ModelAdmin):
    list_display = ("number", "created", "published_by", "summary", "note")
    list_select_related = ("published_by",)
    fields = ("number", "created", "published_by", "note")
    readonly_fields = fields
    change_list_template = "admin/wizard/knowledgerevision/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def get_urls(self):
        return [
            path("publish/", self.admin_site.admin_view(self.publish_view), name="wizard_publish"),
            *super().get_urls(),
        ]

    def publish_view(self, request: HttpRequest):
        if not request.user.has_perm("wizard.add_knowledgerevision"):
            messages.error(request, _("You may not publish the knowledge."))
            return HttpResponseRedirect(reverse("admin:wizard_knowledgerevision_changelist"))
        payload = knowledge.compile_payload()
        findings = knowledge.check_payload(payload)
        if request.method == "POST":
            try:
                revision, created = knowledge.publish(request.user, note=request.POST.get("note", "")[:300])
            except knowledge.PublishError as error:
                findings = error.findings
            else:
                if created:
                    messages.success(
                        request, _("Published revision %(number)s.") % {"number": revision.number}
                    )
                else:
                    messages.info(
                        request,
                        _("Nothing changed since revision %(number)s; nothing was published.")
                        % {"number": revision.number},
                    )
                return HttpResponseRedirect(reverse("admin:wizard_knowledgerevision_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Publish the knowledge"),
            "opts": self.model._meta,
            "errors": [f for f in findings if f.level == "error"],
            "warnings": [f for f in findings if f.level == "warning"],
        }
        return TemplateResponse(request, "admin/wizard/publish.html", context)


class AnswerInline(admin.TabularInline):
    model = Answer
    extra = 0
    fields = ("position", "question", "option", "answered_by", "created")
    readonly_fields = fields
    can_delete = False


@admin.register(Diagnosis)
class DiagnosisAdmin(admin.ModelAdmin):
    list_display = ("display_code", "channel", "status", "revision", "language", "created")
    list_filter = ("status", "channel", "language")
    list_select_related = ("revision",)
    search_fields = ("code",)
    readonly_fields = ("code", "revision", "ranking", "created", "updated")
    fields = (
        "code",
        "channel",
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
    inlines = (AnswerInline,)
    date_hierarchy = "created"


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ("__str__", "status", "phone", "created")
    list_filter = ("status",)
    list_select_related = ("diagnosis",)
    search_fields = ("name", "phone", "merchant_number", "diagnosis__code")
    raw_id_fields = ("diagnosis",)
