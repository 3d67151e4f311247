"""The custom admin pages: publish, review, preview, revisions, learning, import, export.

They are mounted by ``KnowledgeRevisionAdmin.get_urls`` (and ``CauseAdmin`` for the
simulation) through ``admin_site.admin_view``, so they sit inside the admin with its
login and look. Each states the permission it needs the same way,
``permission_required(..., raise_exception=True)``: a member of staff without it gets a
403. The views check the request, call ``publishing``, ``review`` and the others, and
render.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import zlib

from django.contrib import admin, messages
from django.contrib.auth.decorators import permission_required
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from .. import flow, interchange, publishing, review
from .. import learning as learn
from ..checks import check_payload
from ..content import compile_payload
from ..forms import DescriptionForm
from ..knowledge import UNSURE, Snapshot
from ..markup import render_markdown
from ..models import Category, Cause, KnowledgeRevision, Provider, Question, Solution, Symptom
from ..position import Reply, locate
from . import intake
from .common import small_number

MAX_IMPORT_BYTES = 10 * 2**20
IMPORT_KEPT_SECONDS = 3600

MODELS = {
    "category": Category,
    "provider": Provider,
    "symptom": Symptom,
    "solution": Solution,
    "cause": Cause,
    "question": Question,
}


def _context(request: HttpRequest, title: str, **extra) -> dict:
    return {
        **admin.site.each_context(request),
        "title": title,
        "opts": KnowledgeRevision._meta,
        **extra,
    }


def _links(findings) -> list[dict]:
    """Findings with a link to the admin page of the object to fix."""
    pks: dict[str, dict[str, int]] = {}
    rows = []
    for finding in findings:
        url = ""
        model = MODELS.get(finding.kind)
        if model is not None and finding.slug:
            if finding.kind not in pks:
                pks[finding.kind] = dict(model.objects.values_list("slug", "pk"))
            pk = pks[finding.kind].get(finding.slug)
            if pk is not None:
                try:
                    url = reverse(f"admin:wizard_{finding.kind}_change", args=[pk])
                except NoReverseMatch:
                    url = ""
        rows.append({"finding": finding, "url": url})
    return rows


def language() -> str:
    return get_language() or "zh-hans"


@permission_required("wizard.publish_knowledge", raise_exception=True)
def publish(request: HttpRequest) -> HttpResponse:
    """Check the draft content and, on POST, publish it as the next revision."""
    findings = check_payload(compile_payload())
    if request.method == "POST":
        try:
            revision, created = publishing.publish(request.user, note=request.POST.get("note", "")[:300])
        except publishing.PublishError as error:
            findings = error.findings
        else:
            if created:
                messages.success(request, _("Published revision %(number)s.") % {"number": revision.number})
            else:
                messages.info(
                    request,
                    _("Nothing changed since revision %(number)s; nothing was published.")
                    % {"number": revision.number},
                )
            return HttpResponseRedirect(reverse("admin:wizard_knowledgerevision_changelist"))
    context = _context(
        request,
        _("Publish the knowledge"),
        errors=_links([f for f in findings if f.level == "error"]),
        warnings=_links([f for f in findings if f.level == "warning"]),
        changes=publishing.unpublished_changes(),
    )
    return TemplateResponse(request, "admin/wizard/publish.html", context)


@permission_required("wizard.view_cause", raise_exception=True)
def health(request: HttpRequest) -> HttpResponse:
    payload = compile_payload()
    report = review.health_report(payload, language())
    trial = DescriptionForm(request.GET) if "description" in request.GET else DescriptionForm()
    understood = []
    if trial.is_bound and trial.is_valid() and not report.errors:
        snapshot = Snapshot.from_payload(0, payload)
        understood = intake.understood(snapshot, trial.cleaned_data["description"], language())
    context = _context(
        request,
        _("Knowledge health report"),
        errors=_links(report.errors),
        warnings=_links(report.warnings),
        runs=report.runs,
        limit=review.SIMULATION_LIMIT,
        trial=trial,
        understood=understood,
    )
    return TemplateResponse(request, "admin/wizard/health.html", context)


@permission_required("wizard.view_cause", raise_exception=True)
def preview(request: HttpRequest) -> HttpResponse:
    """Walk the wizard on the draft content; answers travel in the URL, nothing is stored."""
    snapshot, errors = publishing.draft_snapshot()
    if errors:
        context = _context(request, _("Preview the draft knowledge"), errors=_links(errors))
        return TemplateResponse(request, "admin/wizard/preview.html", context)
    answers = _parse_answers(snapshot, request.GET.get("a", ""))
    lang = language()
    position = locate(snapshot, answers)
    stop = request.GET.get("stop") == "1"
    question = None
    if not position.is_finished and not stop:
        question = flow.question_view(snapshot, position.step.question, lang)
    trail = ",".join(f"{g.question}:{g.option}" for g in answers)
    context = _context(
        request,
        _("Preview the draft knowledge"),
        question=question,
        trail=trail,
        unsure=UNSURE,
        progress=flow.progress_view(snapshot, position),
        result=flow.result(snapshot, position, lang) if question is None else None,
        back=",".join(trail.split(",")[:-1]) if answers else None,
    )
    return TemplateResponse(request, "admin/wizard/preview.html", context)


def _parse_answers(snapshot: Snapshot, trail: str) -> list[Reply]:
    """``q1:yes,q2:unsure`` → answers, keeping only those the wizard would have asked."""
    answers: list[Reply] = []
    for part in filter(None, trail.split(",")):
        question, _sep, option = part.partition(":")
        position = locate(snapshot, answers)
        if position.is_finished or snapshot.questions[position.step.question]["slug"] != question:
            break
        valid = {a["slug"] for a in snapshot.questions[position.step.question]["answers"]} | {UNSURE}
        if option not in valid:
            break
        answers.append(Reply(question, option))
    return answers


@permission_required("wizard.view_cause", raise_exception=True)
def simulate(request: HttpRequest, object_id: str) -> HttpResponse:
    if not (object_id.isascii() and object_id.isdigit()):
        raise Http404(_("No such cause."))
    cause = get_object_or_404(Cause, pk=object_id)
    snapshot, errors = publishing.draft_snapshot()
    run = None
    if snapshot is not None:
        if cause.slug not in snapshot.cause_index:
            raise Http404(_("This cause is not published, so the wizard cannot find it."))
        run = review.simulate_cause(snapshot, cause.slug, language())
    context = _context(
        request,
        _("Simulate “%(cause)s”") % {"cause": cause},
        cause=cause,
        run=run,
        errors=_links(errors),
        limit=review.SIMULATION_LIMIT,
    )
    context["opts"] = Cause._meta
    return TemplateResponse(request, "admin/wizard/simulate.html", context)


@permission_required("wizard.view_knowledgerevision", raise_exception=True)
def revision(request: HttpRequest, number: int) -> HttpResponse:
    """One revision: who published it, and what changed from another one."""
    current = get_object_or_404(KnowledgeRevision.objects.select_related("published_by"), number=number)
    other_number = small_number(request.GET.get("compare", ""))
    if other_number is not None:
        other = KnowledgeRevision.objects.filter(number=other_number).first()
    else:
        other = KnowledgeRevision.objects.filter(number__lt=number).order_by("-number").first()
    changes = review.differences(other.payload, current.payload) if other else []
    context = _context(
        request,
        str(current),
        revision=current,
        other=other,
        changes=changes,
        numbers=KnowledgeRevision.objects.exclude(number=number).values_list("number", flat=True),
        is_latest=not KnowledgeRevision.objects.filter(number__gt=number).exists(),
    )
    return TemplateResponse(request, "admin/wizard/revision.html", context)


def _drafts_stamp(latest: KnowledgeRevision | None) -> str:
    """What a republish confirmation was shown for: the latest revision and the drafts.
    A confirmation sent back with another stamp was shown before someone changed them."""
    content = json.dumps(compile_payload(), sort_keys=True, ensure_ascii=False, default=str)
    number = latest.number if latest else 0
    return hashlib.sha256(f"{number}:{content}".encode()).hexdigest()[:32]


@permission_required("wizard.publish_knowledge", raise_exception=True)
@require_http_methods(["GET", "POST"])
def republish(request: HttpRequest, number: int) -> HttpResponse:
    """Publish an earlier revision's content again, as the newest revision: first a
    confirmation that lists the unpublished edits it discards (another admin's, maybe)
    and what goes live; the POST from that page (with its stamp) does it."""
    old = get_object_or_404(KnowledgeRevision, number=number)
    latest = KnowledgeRevision.objects.order_by("-number").first()
    stamp = _drafts_stamp(latest)
    sent = request.POST.get("stamp", "")
    if request.method == "POST" and sent == stamp:
        new = publishing.republish(old, request.user)
        messages.success(
            request,
            _("Revision %(old)s is live again as revision %(new)s.") % {"old": old.number, "new": new.number},
        )
        return HttpResponseRedirect(reverse("admin:wizard_knowledgerevision_changelist"))
    context = _context(
        request,
        _("Republish revision %(number)s?") % {"number": old.number},
        revision=old,
        latest=latest,
        stamp=stamp,
        is_stale=bool(sent),
        discarded=publishing.unpublished_changes(),
        published=review.differences(latest.payload, old.payload) if latest else [],
    )
    return TemplateResponse(request, "admin/wizard/republish.html", context, status=409 if sent else 200)


@permission_required("wizard.change_solution", raise_exception=True)
@require_POST
def markdown_preview(request: HttpRequest) -> JsonResponse:
    """The solution editor's live preview: the same sanitiser as the wizard."""
    return JsonResponse({"html": str(render_markdown(request.POST.get("steps", "")[:20000]))})


@permission_required(("wizard.change_cause", "wizard.change_evidence"), raise_exception=True)
def learning(request: HttpRequest) -> HttpResponse:
    """Suggested priors and strengths from confirmed outcomes; an admin applies the chosen."""
    priors, evidence = learn.suggestions(language())
    if request.method == "POST":
        by_slug = {p.slug: p.suggested for p in priors}
        by_key = {e.key: e for e in evidence}
        chosen_priors = {slug: by_slug[slug] for slug in request.POST.getlist("prior") if slug in by_slug}
        chosen_evidence = {
            (by_key[key].cause, by_key[key].symptom): by_key[key].suggested
            for key in request.POST.getlist("evidence")
            if key in by_key
        }
        if not chosen_priors and not chosen_evidence:
            messages.warning(request, _("Nothing was chosen, so nothing changed."))
            return HttpResponseRedirect(reverse("admin:wizard_learning"))
        changed = learn.apply(chosen_priors, chosen_evidence)
        messages.success(
            request,
            _("%(n)s suggestions applied as drafts. Check the health report, then publish.") % {"n": changed},
        )
        return HttpResponseRedirect(reverse("admin:wizard_health"))
    context = _context(
        request,
        _("Learn from outcomes"),
        priors=priors,
        evidence=evidence,
        cases=sum(p.cases for p in priors),
        prior_cases=learn.PRIOR_CASES,
        evidence_cases=learn.EVIDENCE_CASES,
    )
    return TemplateResponse(request, "admin/wizard/learning.html", context)


@permission_required("wizard.view_cause", raise_exception=True)
def export(request: HttpRequest) -> HttpResponse:
    """Download all the knowledge content, drafts included, as one JSON file."""
    response = HttpResponse(interchange.export_json(), content_type="application/json; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="knowledge-{stamp}.json"'
    return response


@permission_required("wizard.change_cause", raise_exception=True)
def import_view(request: HttpRequest) -> HttpResponse:
    """Upload a knowledge file: checked and previewed first, applied on confirmation.

    The checked file stays on the server between the preview and the confirmation (see
    :func:`_keep_upload`); only a token travels back in the form. A file that travelled
    back itself, in a form field, was refused as too big from 2.5 MB on.
    """
    report = None
    token = ""
    status = 200
    replace = request.POST.get("replace") == "on"
    if request.method == "POST" and request.POST.get("apply") == "1":
        kept = _kept_upload(request, request.POST.get("token", ""))
        if kept is None:
            messages.error(
                request,
                _(
                    "The checked file is no longer kept (it is kept for an hour, and only for "
                    "the admin who uploaded it): upload it again."
                ),
            )
            status = 400
        else:
            raw, replace = kept
            report = interchange.import_json(raw, dry_run=False, replace=replace)
            if report.ok:
                cache.delete(_upload_key(request.POST["token"]))
                messages.success(
                    request, _("Imported. The changes are drafts: check the health report, then publish.")
                )
                return HttpResponseRedirect(reverse("admin:wizard_health"))
    elif request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None or not upload.size:
            messages.error(request, _("Choose a knowledge file to upload."))
            status = 400
        elif upload.size > MAX_IMPORT_BYTES:
            messages.error(
                request,
                _("The file is %(size)s MB; a knowledge file may be at most %(mb)s MB.")
                % {"size": f"{upload.size / 2**20:.1f}", "mb": MAX_IMPORT_BYTES // 2**20},
            )
            status = 413
        else:
            raw = upload.read()
            report = interchange.import_json(raw, dry_run=True, replace=replace)
            if report.ok:
                token = _keep_upload(request, raw, replace=replace)
    if report and not report.ok:
        status = 400
    context = _context(
        request,
        _("Import knowledge"),
        report=report,
        token=token,
        replace=replace,
        max_mb=MAX_IMPORT_BYTES // 2**20,
    )
    return TemplateResponse(request, "admin/wizard/import.html", context, status=status)


def _upload_key(token: str) -> str:
    return f"knowledge-import:{token}"


def _keep_upload(request: HttpRequest, raw: bytes, *, replace: bool) -> str:
    """Keep a checked upload for an hour under a random token, for this admin's session
    only. In the shared cache, so any server can take the confirmation; compressed, as
    JSON shrinks well (a 10 MB file is a few hundred KB)."""
    token = secrets.token_urlsafe(24)
    entry = {
        "user": request.user.pk,
        "session": request.session.session_key,
        "replace": replace,
        "data": zlib.compress(raw),
    }
    cache.set(_upload_key(token), entry, timeout=IMPORT_KEPT_SECONDS)
    return token


def _kept_upload(request: HttpRequest, token: str) -> tuple[bytes, bool] | None:
    """The upload kept under ``token``, if it is this admin's, in this session."""
    if not token or len(token) > 64:
        return None
    entry = cache.get(_upload_key(token))
    if not entry or entry["user"] != request.user.pk or entry["session"] != request.session.session_key:
        return None
    return zlib.decompress(entry["data"]), entry["replace"]
