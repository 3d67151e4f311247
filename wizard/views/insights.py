"""The insights dashboard for support admins: what merchants hit, and whether it helped."""

from __future__ import annotations

from datetime import date, timedelta

from django import forms
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from .. import insights
from ..models import KnowledgeRevision
from .merchant import HtmxHttpRequest, language, page


class RangeForm(forms.Form):
    start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))
    revision = forms.TypedChoiceField(
        label=_("Knowledge revision"), coerce=int, required=False, empty_value=None
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        numbers = KnowledgeRevision.objects.values_list("number", flat=True)
        self.fields["revision"].choices = [("", _("All revisions")), *[(n, n) for n in numbers]]

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise forms.ValidationError(_("The start date must be before the end date."))
        if data.get("start") and data.get("end") and (data["end"] - data["start"]).days > 3 * 366:
            raise forms.ValidationError(_("Choose at most three years at a time."))
        return data


def default_range() -> tuple[date, date]:
    today = timezone.localdate()
    return today - timedelta(days=29), today


@require_GET
@login_required
@permission_required("wizard.view_insights", raise_exception=True)
def dashboard(request: HtmxHttpRequest) -> HttpResponse:
    start, end = default_range()
    is_bound = any(key in request.GET for key in ("start", "end", "revision"))
    form = RangeForm(request.GET if is_bound else None, initial={"start": start, "end": end})
    revision = None
    status = 200
    if is_bound:
        if form.is_valid():
            start, end, revision = (
                form.cleaned_data["start"],
                form.cleaned_data["end"],
                form.cleaned_data["revision"],
            )
        else:
            status = 400
    result = insights.figures(start, end, revision=revision, language=language())
    if request.GET.get("format") == "csv" and status == 200:
        response = HttpResponse(insights.to_csv(result), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="insights-{start}-{end}.csv"'
        return response
    charts = {
        "days": {
            "labels": [row["day"].isoformat() for row in result.days],
            "started": [row["started"] for row in result.days],
            "concluded": [row["concluded"] for row in result.days],
        },
        "questions": {
            "labels": [row["title"] for row in result.questions[:15]],
            "unsure": [row["unsure_rate"] or 0 for row in result.questions[:15]],
            "dropped": [row["drop_rate"] or 0 for row in result.questions[:15]],
        },
        "causes": {
            "labels": [row["title"] for row in result.causes[:15]],
            "diagnosed": [row["diagnosed"] for row in result.causes[:15]],
            "resolution": [row["resolution_rate"] or 0 for row in result.causes[:15]],
        },
        "revisions": {
            "labels": [str(row["revision"]) for row in result.revisions],
            "completion": [row["completion_rate"] or 0 for row in result.revisions],
            "resolution": [row["resolution_rate"] or 0 for row in result.revisions],
            "escalation": [row["escalation_rate"] or 0 for row in result.revisions],
        },
    }
    context = {"form": form, "result": result, "charts": charts, "query": request.GET.urlencode()}
    return page(request, "insights/dashboard.html", context, status=status)
