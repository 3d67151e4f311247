"""Admin for the knowledge content and the diagnosis records.

Content is edited as drafts; the "Publish" button on the revisions list (or
``manage.py publish_knowledge``) checks it and compiles the next revision.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.contrib.admin.widgets import AdminTextareaWidget
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Count, Q
from django.forms.formsets import DELETION_FIELD_NAME
from django.forms.models import BaseInlineFormSet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.templatetags.static import static
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop, ngettext
from modeltranslation.admin import TranslationAdmin, TranslationTabularInline
from simple_history.admin import SimpleHistoryAdmin

from . import editing, webhooks
from .api.admin import ApiKeyInline
from .content import field_name
from .forms import AdminLoginForm, SolutionAdminForm
from .knowledge import LANGUAGES
from .markup import render_markdown
from .models import (
    Answer,
    CaseEvent,
    Category,
    Cause,
    CauseSolution,
    Diagnosis,
    Evidence,
    Integration,
    KnowledgeRevision,
    Option,
    Provider,
    Question,
    Solution,
    Symptom,
    Ticket,
    WebhookDelivery,
)
from .models.integrations import ORIGIN, PLAIN_HTTP
from .views import admin_pages

admin.site.site_header = _("POS Upgrade Doctor")
admin.site.site_title = _("POS Upgrade Doctor")
admin.site.index_title = _("Knowledge and diagnoses")
admin.site.login_form = AdminLoginForm

# Strings of Django's admin templates that its Chinese catalogue does not have yet (the
# app list's table headings, read by screen readers): translated in ours.
DJANGO_ADMIN_STRINGS = (
    gettext_noop("Model name"),
    gettext_noop("Add link"),
    gettext_noop("Change or view list link"),
)

# django-simple-history's history table says these, and its Chinese catalogue lacks them:
# listed here, they are in this project's catalogue, which comes first.
HISTORY_TABLE_WORDS = (gettext_noop("Changes"), gettext_noop("None"))


def yes_no(value: bool) -> str:
    """A yes / no icon like the admin's own, whose text is translated (Django's says "True")."""
    icon = static("admin/img/icon-yes.svg" if value else "admin/img/icon-no.svg")
    return format_html('<img src="{}" alt="{}">', icon, _("yes") if value else _("no"))


MAX_ID = 2**63 - 1  # the largest primary key a database column holds


def _one_line_breaks(to_python):
    """A browser sends a textarea's line breaks as CRLF; stored text has LF. Unchanged
    text must compare equal, or every save rewrites (and logs) every multi-line field."""

    def wrapper(value):
        value = to_python(value)
        return value.replace("\r\n", "\n") if isinstance(value, str) else value

    return wrapper


class StampField(forms.CharField):
    """The hidden edit stamp (wizard/editing.py): never a change to the object."""

    widget = forms.HiddenInput

    def has_changed(self, initial, data) -> bool:
        return False


class ContentForm(forms.ModelForm):
    """A content change form that knows what it was opened on: a save over someone
    else's save since is refused, with what they changed and this admin's input kept."""

    edit_stamp = StampField(label=_("edit stamp"), required=False)
    relations: list = []  # the admin's inline (model, foreign key) pairs
    conflict: list | None = None  # what was saved meanwhile, once a save was refused

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for form_field in self.fields.values():
            if isinstance(form_field, forms.CharField) and not isinstance(form_field, StampField):
                form_field.to_python = _one_line_breaks(form_field.to_python)
        if self.instance.pk is not None:
            self.fields["edit_stamp"].initial = editing.issue(self.instance, self.relations)

    def clean(self):
        cleaned = super().clean()
        sent = self.data.get(self.add_prefix("edit_stamp"), "")
        if self.instance.pk is None or not sent:
            return cleaned
        digest, since = editing.read(sent)
        current = editing.issue(self.instance, self.relations)
        if digest == current.partition(":")[0]:
            return cleaned
        records = []
        self.data = self.data.copy()
        if since is not None:
            records = editing.object_records(self.instance, since=since)
            records += editing.row_records(self.instance, self.relations, since=since)
            self._take_untouched(since)
        self.conflict = records
        # Saving again, having seen this, saves this admin's version on purpose.
        self.data[self.add_prefix("edit_stamp")] = current
        raise forms.ValidationError(
            _(
                "Someone else saved this while you were editing it, so your changes are not saved yet. "
                "What they changed is listed above the form; the fields you did not touch now show "
                "their values, and everything you typed is kept. Check it and save again."
            ),
            code="conflict",
        )

    def _take_untouched(self, since) -> None:
        """Fields this admin left as they were when the page opened take the values
        saved since; fields both changed keep this admin's input."""
        then = (
            self.instance.history.as_of(since)
            if self.instance.history.filter(history_date__lte=since).exists()
            else None
        )
        if then is None:
            return
        now = type(self.instance)._default_manager.get(pk=self.instance.pk)
        for model_field in editing.compared_fields(type(self.instance)):
            name = model_field.name
            if name not in self.fields or name not in self.cleaned_data:
                continue
            old, new = model_field.value_from_object(then), model_field.value_from_object(now)
            mine = self.cleaned_data[name]
            mine = mine.pk if isinstance(mine, models.Model) else mine
            if old == new or mine != old:
                continue
            key = self.add_prefix(name)
            if isinstance(new, bool):
                if new:
                    self.data[key] = "on"
                else:
                    self.data.pop(key, None)
            else:
                self.data[key] = "" if new is None else str(new)


class ContentAdmin(SimpleHistoryAdmin, TranslationAdmin):
    """Bilingual fields side by side, with history and revert, and "Save as new" to copy;
    saves that would overwrite another admin's are refused (wizard/editing.py)."""

    save_as = True
    save_as_continue = True
    form = ContentForm
    object_history_template = "admin/wizard/object_history.html"

    def get_form(self, request, obj=None, change=False, **kwargs):
        # An admin with a form of its own (a solution's checks) still gets the stamp.
        base = kwargs.pop("form", self.form)
        if not issubclass(base, ContentForm):
            base = type(base.__name__, (ContentForm, base), {})
        form = super().get_form(request, obj, change=change, form=base, **kwargs)
        form.relations = editing.inline_relations(self)
        return form

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and not any(
            "edit_stamp" in options.get("fields", ()) for _name, options in fieldsets
        ):
            name, options = fieldsets[0]
            fieldsets = [(name, {**options, "fields": (*options["fields"], "edit_stamp")}), *fieldsets[1:]]
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        return tuple(name for name in super().get_readonly_fields(request, obj) if name != "edit_stamp")

    @admin.display(description=_("ready to publish"), ordering="is_published")
    def ready(self, obj) -> str:
        return yes_no(obj.is_published)

    def save_model(self, request, obj, form, change):
        # A copy goes after the others unless the admin chose its place: it never takes
        # its original's, where the checks would then blame the original for the copy.
        if "_saveasnew" in request.POST and getattr(obj, "order", None) is not None:
            original = unquote(request.resolver_match.kwargs.get("object_id", ""))
            kept = type(obj).objects.filter(pk=original).values_list("order", flat=True).first()
            if obj.order == kept:
                obj.order = None
        # Only rows changed (a strength, a solution link, an option): their own history
        # says so, and the object gets no empty "changed" record of its own.
        if change and not editing.differs_from_stored(obj):
            obj.skip_history_when_saving = True
        try:
            super().save_model(request, obj, form, change)
        finally:
            obj.__dict__.pop("skip_history_when_saving", None)

    def set_history_delta_changes(self, request, historical_records, foreign_keys_are_objs=True):
        # Leave out the language mirror (see wizard/editing.py): it changes with the page's language.
        previous = None
        skipped = editing.untranslated_originals(self.model)
        for current in historical_records:
            if previous is not None:
                delta = editing.meaningful(
                    previous.diff_against(
                        current, excluded_fields=skipped, foreign_keys_are_objs=foreign_keys_are_objs
                    )
                )
                helper = self.get_historical_record_context_helper(request, previous)
                previous.history_delta_changes = helper.context_for_delta_changes(delta)
            previous = current

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # simple-history shows an old version to whoever may view the object, and saves
        # it back on POST for them too: reverting is a change, so it needs that right.
        if request.method not in ("GET", "HEAD") and not self.has_change_permission(request):
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}_undo_row"
        undo = path(
            "<path:object_id>/history/<str:row>/<int:history_id>/undo/",
            self.admin_site.admin_view(self.undo_row_view),
            name=name,
        )
        return [undo, *super().get_urls()]

    def undo_row_view(self, request, object_id, row, history_id):
        """Undo one change of an inline row (a strength, a solution link, an option) from
        the history page, which lists them (wizard/editing.py)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        relations = {model._meta.model_name: (model, fk) for model, fk in editing.inline_relations(self)}
        if row not in relations or history_id > MAX_ID:
            raise Http404
        model, fk = relations[row]
        if not self._may_undo(request, obj, model):
            raise PermissionDenied
        try:
            editing.undo_row(model, fk, obj.pk, history_id, by=request.user)
        except LookupError:
            raise Http404 from None
        except editing.UndoRefused as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("The change was undone. Check the history, then publish."))
        return redirect(reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_history", args=[obj.pk]))

    def _may_undo(self, request, obj, model) -> bool:
        return self.has_change_permission(request, obj) and request.user.has_perm(
            f"{model._meta.app_label}.change_{model._meta.model_name}"
        )

    def history_view(self, request, object_id, extra_context=None):
        # simple-history looks the object up as given: "1²" is a ValueError, a 500. The
        # admin's own lookup says "no such object" for anything that is not one.
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        relations = editing.inline_relations(self)
        records = editing.row_records(obj, relations, newest=200)
        models_by_name = {model._meta.model_name: model for model, _fk in relations}
        undoable = set()  # a row's newest change only: undoing an older one is refused
        for record in records:
            if (record.row, record.row_id) in undoable:
                continue
            undoable.add((record.row, record.row_id))
            if self._may_undo(request, obj, models_by_name[record.row]):
                record.undo_url = reverse(
                    f"admin:{self.opts.app_label}_{self.opts.model_name}_undo_row",
                    args=[obj.pk, record.row, record.history_id],
                )
        extra_context = {
            **(extra_context or {}),
            "row_records": records,
            "row_kinds": [str(model._meta.verbose_name_plural) for model, _fk in relations],
        }
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


class LabelledInlineFormSet(BaseInlineFormSet):
    """A tabular inline names its columns once, in the heading: each row's inputs get
    their own accessible name too, for screen readers (the column heading is not one)."""

    def add_fields(self, form, index):
        super().add_fields(form, index)
        for name, field in form.fields.items():
            label = _("Delete") if name == DELETION_FIELD_NAME else (field.label or name)
            # A related-object wrapper's own attrs are its model widget's, not this copy's.
            widget = getattr(field.widget, "widget", field.widget)
            widget.attrs.setdefault("aria-label", str(label))


class EvidenceInline(admin.TabularInline):
    model = Evidence
    formset = LabelledInlineFormSet
    extra = 1
    autocomplete_fields = ("symptom",)


class CauseSolutionInline(admin.TabularInline):
    model = CauseSolution
    formset = LabelledInlineFormSet
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
    list_display = ("title", "category", "prior", "evidence_count", "solution_count", "ready")
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
    formset = LabelledInlineFormSet
    extra = 1
    autocomplete_fields = ("symptom",)


@admin.register(Question)
class QuestionAdmin(ContentAdmin):
    list_display = ("text", "kind", "symptom", "effort", "order", "ready")
    list_filter = ("is_published", "kind", UsedQuestionFilter)
    list_select_related = ("symptom",)
    search_fields = ("slug", "text_zh_hans", "text_en")
    autocomplete_fields = ("symptom",)
    inlines = (OptionInline,)


class StepsWidget(AdminTextareaWidget):
    """A language's Markdown steps with, right under them, a labelled preview of what
    merchants see in that language: rendered here by the same sanitiser as the wizard,
    and kept up to date as the admin types (solution-preview.js)."""

    def __init__(self, language: str, attrs=None):
        super().__init__(attrs)
        self.language = language

    def render(self, name, value, attrs=None, renderer=None):
        textarea = super().render(name, value, attrs, renderer)
        field_id = (attrs or {}).get("id") or f"id_{name}"
        return format_html(
            '<div class="steps-editor">{}<section class="steps-preview-box" aria-labelledby="{}-preview-label">'
            '<h3 class="steps-preview-label" id="{}-preview-label">{}</h3>'
            '<div class="steps-preview" lang="{}" data-preview-for="{}" data-preview-url="{}" aria-live="polite">{}</div>'
            "</section></div>",
            textarea,
            field_id,
            field_id,
            _("Preview (%(language)s), as merchants see it") % {"language": language_name(self.language)},
            self.language,
            field_id,
            reverse("admin:wizard_markdown_preview"),
            render_markdown(value or ""),
        )


def language_name(code: str) -> str:
    return {"zh-hans": _("Chinese"), "en": _("English")}.get(code, code)


@admin.register(Solution)
class SolutionAdmin(ContentAdmin):
    form = SolutionAdminForm
    list_display = ("title", "audience", "effort_minutes", "escalates", "ready")
    list_filter = ("is_published", "audience", "is_escalation")
    search_fields = ("slug", "title_zh_hans", "title_en")
    filter_horizontal = ("contexts",)

    class Media:
        js = ("admin/wizard/solution-preview.js",)
        css = {"all": ("admin/wizard/authoring.css",)}

    @admin.display(description=_("escalates to a person"), ordering="is_escalation")
    def escalates(self, obj: Solution) -> str:
        return yes_no(obj.is_escalation)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        # The two-list picker needs no "hold down Control" hint (Django adds it anyway).
        field.help_text = db_field.help_text
        return field

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name in STEPS_FIELDS:
            kwargs["widget"] = StepsWidget(STEPS_FIELDS[db_field.name])
        return super().formfield_for_dbfield(db_field, request, **kwargs)


STEPS_FIELDS = {field_name("steps", lang): lang for lang in LANGUAGES}


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

    list_display = ("number", "created", "published_by", "contents", "note")
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

    @admin.display(description=_("contents"))
    def contents(self, obj: KnowledgeRevision) -> str:
        return obj.summary()


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


# --- Integrations ----------------------------------------------------------------------------
#
# The outside systems that embed the wizard and receive webhooks (wizard/embed.py,
# wizard/webhooks.py): superusers only (the groups of wizard/roles.py have no right to
# them), since an integration holds its webhook signing secret.


class IntegrationForm(forms.ModelForm):
    webhook_url = forms.URLField(
        label=_("webhook URL"),
        required=False,
        assume_scheme="https",
        help_text=Integration._meta.get_field("webhook_url").help_text,
    )

    class Meta:
        model = Integration
        fields = ("name", "slug", "allowed_origins", "webhook_url", "is_active")

    def clean_allowed_origins(self) -> str:
        """One origin a line (scheme, host, optional port), as a browser sends it."""
        lines = [line.strip().rstrip("/") for line in self.cleaned_data["allowed_origins"].splitlines()]
        lines = [line for line in lines if line]
        wrong = [line for line in lines if not ORIGIN.match(line.lower())]
        if wrong:
            raise forms.ValidationError(
                _(
                    "Not an origin: %(lines)s. Write one a line as scheme, host and port only, "
                    "e.g. https://pay.example.com or https://shop.example.com:8443 (no path, no *)."
                ),
                params={"lines": ", ".join(wrong)},
            )
        # A page served over plain HTTP can be read and changed on the way: it may embed
        # the wizard or call the API only on a developer's own machine.
        plain = [line for line in lines if PLAIN_HTTP.match(line.lower())]
        if plain:
            raise forms.ValidationError(
                _(
                    "Use https:// for %(lines)s: a page served over plain http:// may embed the "
                    "wizard or call the API only on this computer (localhost or 127.0.0.1)."
                ),
                params={"lines": ", ".join(plain)},
            )
        return "\n".join(line.lower() for line in lines)


@admin.register(Integration)
class IntegrationAdmin(admin.ModelAdmin):
    form = IntegrationForm
    inlines = (ApiKeyInline,)
    list_display = ("name", "slug", "is_active", "webhook_url", "created")
    list_filter = ("is_active",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    fields = ("name", "slug", "is_active", "allowed_origins", "webhook_url", "webhook_secret")
    readonly_fields = ("webhook_secret",)
    change_form_template = "admin/wizard/integration/change_form.html"

    def change_view(self, request: HttpRequest, object_id, form_url="", extra_context=None):
        integration = self.get_object(request, unquote(object_id))
        if integration is not None:
            extra_context = {**(extra_context or {}), **embed_snippet(request, integration)}
        return super().change_view(request, object_id, form_url, extra_context)


def embed_snippet(request: HttpRequest, integration: Integration) -> dict:
    """The code a provider pastes into its page to embed the wizard, and the origin its
    script must check messages against."""
    url = request.build_absolute_uri(reverse("embed:landing", kwargs={"integration": integration.slug}))
    origin = request.build_absolute_uri("/").rstrip("/")
    snippet = EMBED_SNIPPET.format(url=url, origin=origin, title=_("POS Upgrade Doctor"))
    return {"embed_snippet": snippet, "embed_url": url, "embed_ready": bool(integration.origins)}


EMBED_SNIPPET = """\
<iframe id="pos-upgrade-doctor" src="{url}" title="{title}"
        width="100%" height="720" style="border: 0" allow="clipboard-write"></iframe>
<script>
  window.addEventListener("message", function (event) {{
    if (event.origin !== "{origin}" || !event.data || event.data.type !== "pos-upgrade-doctor") return;
    if (event.data.event === "resize") {{
      document.getElementById("pos-upgrade-doctor").style.height = event.data.height + "px";
    }} else if (event.data.event === "finished" || event.data.event === "escalated") {{
      // event.data.code is the case code; see docs/api.md
    }}
  }});
</script>"""


class DeliveredFilter(admin.SimpleListFilter):
    title = _("delivered")
    parameter_name = "delivered"

    def lookups(self, request, model_admin):
        return (("yes", _("Delivered")), ("no", _("Not delivered")))

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(delivered_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(delivered_at__isnull=True)
        return queryset


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    """The delivery log: every event sent to an integration and what came of it, with
    "send again" (an action on the list, a button on each entry)."""

    list_display = (
        "created",
        "event_type",
        "diagnosis_code",
        "integration",
        "attempts",
        "last_status_code",
        "is_delivered",
        "next_attempt_at",
    )
    list_filter = (DeliveredFilter, "event_type", "integration")
    list_select_related = ("integration",)
    search_fields = ("diagnosis_code", "event_id")
    fields = (
        "event_id",
        "integration",
        "event_type",
        "diagnosis_code",
        "created",
        "attempts",
        "last_attempt_at",
        "last_status_code",
        "last_error",
        "next_attempt_at",
        "delivered_at",
        "payload",
    )
    readonly_fields = fields
    actions = ("send_again",)
    change_form_template = "admin/wizard/webhookdelivery/change_form.html"

    @admin.display(description=_("delivered"), boolean=True, ordering="delivered_at")
    def is_delivered(self, obj: WebhookDelivery) -> bool:
        return obj.is_delivered

    def has_send_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("wizard.change_webhookdelivery")

    @admin.action(description=_("Send again"), permissions=["send"])
    def send_again(self, request: HttpRequest, queryset) -> None:
        for delivery in queryset.select_related("integration"):
            webhooks.send_again(delivery)
        self.message_user(
            request,
            ngettext(
                "%(count)d event will be sent again.",
                "%(count)d events will be sent again.",
                queryset.count(),
            )
            % {"count": queryset.count()},
            messages.SUCCESS,
        )

    def get_urls(self):
        return [
            path(
                "<int:pk>/send-again/",
                self.admin_site.admin_view(self.send_again_view),
                name="wizard_webhookdelivery_send",
            ),
            *super().get_urls(),
        ]

    def send_again_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_send_permission(request):
            raise PermissionDenied
        delivery = get_object_or_404(WebhookDelivery, pk=pk)
        webhooks.send_again(delivery)
        self.message_user(request, _("The event will be sent again."), messages.SUCCESS)
        return redirect("admin:wizard_webhookdelivery_change", pk)

    def change_view(self, request: HttpRequest, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "can_send": self.has_send_permission(request)}
        return super().change_view(request, object_id, form_url, extra_context)
