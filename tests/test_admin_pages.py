"""The custom admin pages for support admins: health report, preview, simulation, revisions, roles."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import translation

from wizard import publishing, roles
from wizard.markup import render_markdown
from wizard.models import Cause, Evidence, KnowledgeRevision, Question, Solution, Strength

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def admin_client(client, seeded, support_admin):
    client.force_login(support_admin)
    return client


def test_health_report_simulates_every_cause(admin_client, snapshot):
    response = admin_client.get(reverse("admin:wizard_health"), **EN)
    html = response.content.decode()
    assert response.status_code == 200
    assert len(re.findall(r'data-run="[a-z0-9-]+" data-rank="1"', html)) == len(snapshot.causes)
    assert 'data-findings="none"' in html


def test_health_report_finds_problems_and_links_to_them(admin_client):
    cause = Cause.objects.get(slug="network-problem")
    cause.cause_solutions.all().delete()
    Question.objects.filter(slug="payment-screen").update(is_published=False)
    response = admin_client.get(reverse("admin:wizard_health"), **EN)
    html = response.content.decode()
    assert 'data-findings="error"' in html
    assert reverse("admin:wizard_cause_change", args=[cause.pk]) in html
    assert "no published solution" in html


def test_two_causes_made_alike_are_reported_with_the_best_question(admin_client):
    a, b = Cause.objects.get(slug="fee-rate-adjusted"), Cause.objects.get(slug="fee-policy-changed")
    Evidence.objects.filter(cause=b).delete()
    for evidence in Evidence.objects.filter(cause=a):
        Evidence.objects.create(cause=b, symptom=evidence.symptom, likelihood=evidence.likelihood)
    # One faint difference: b "rarely" shows a symptom a is not linked to.
    other = Question.objects.filter(kind="binary").exclude(symptom__evidence__cause=a).first().symptom
    Evidence.objects.create(cause=b, symptom=other, likelihood=Strength.RARELY)
    html = admin_client.get(reverse("admin:wizard_health"), **EN).content.decode()
    assert "Hard to tell apart" in html


def test_check_knowledge_command_exits_non_zero_on_errors(seeded, capsys):
    call_command("check_knowledge")
    assert "0 errors" in capsys.readouterr().out
    Solution.objects.update(steps_zh_hans="")
    with pytest.raises(CommandError, match="errors"):
        call_command("check_knowledge")


def test_unpublished_changes_are_counted_on_every_admin_page(admin_client):
    page = admin_client.get(reverse("admin:index"), **EN).content.decode()
    assert 'data-unpublished="0"' in page
    Cause.objects.filter(slug="network-problem").update(prior=3)
    Question.objects.filter(slug="payment-screen").update(effort=2)
    page = admin_client.get(reverse("admin:wizard_cause_changelist"), **EN).content.decode()
    assert 'data-unpublished="2"' in page
    assert "2 unpublished changes" in page


def test_publish_page_lists_what_will_change(admin_client):
    Cause.objects.filter(slug="network-problem").update(prior=3)
    html = admin_client.get(reverse("admin:wizard_publish"), **EN).content.decode()
    assert 'data-changes="1"' in html
    assert "network-problem" in html and "prior" in html


def test_preview_walks_the_draft_without_storing_anything(admin_client, snapshot):
    from wizard.models import Diagnosis

    Question.objects.filter(slug="payment-screen").update(order=0)
    Cause.objects.filter(slug="plugin-conflict").update(prior=5)  # a draft: not published
    before = Diagnosis.objects.count()
    page = admin_client.get(reverse("admin:wizard_preview"), **EN)
    question = re.search(r'data-question="([a-z0-9-]+)"', page.content.decode()).group(1)
    first_value = re.search(r'name="a" value="([^"]+)"', page.content.decode()).group(1)
    page = admin_client.get(reverse("admin:wizard_preview"), {"a": first_value}, **EN)
    assert re.search(r'data-question="([a-z0-9-]+)"', page.content.decode()).group(1) != question
    result = admin_client.get(reverse("admin:wizard_preview"), {"a": first_value, "stop": "1"}, **EN)
    html = result.content.decode()
    assert "data-cause=" in html and "data-solution=" in html
    # The draft prior shows: the plug-in conflict leads before anything points elsewhere.
    empty = admin_client.get(reverse("admin:wizard_preview"), {"stop": "1"}, **EN).content.decode()
    assert re.search(r'data-cause="([a-z0-9-]+)"', empty).group(1) == "plugin-conflict"
    assert Diagnosis.objects.count() == before


def test_preview_ignores_a_tampered_trail(admin_client):
    response = admin_client.get(reverse("admin:wizard_preview"), {"a": "nope:yes,<script>:x"}, **EN)
    assert response.status_code == 200
    assert "data-question=" in response.content.decode()


def test_simulate_this_cause_from_its_page(admin_client):
    cause = Cause.objects.get(slug="missing-auth-code")
    change = admin_client.get(reverse("admin:wizard_cause_change", args=[cause.pk]), **EN).content.decode()
    url = reverse("admin:wizard_cause_simulate", args=[cause.pk])
    assert url in change
    html = admin_client.get(url, **EN).content.decode()
    assert 'data-rank="1"' in html


def test_revision_page_shows_who_published_and_the_differences(admin_client, support_admin, seeded):
    Cause.objects.filter(slug="network-problem").update(prior=3)
    Question.objects.filter(slug="payment-screen").update(is_published=False)
    admin_client.post(reverse("admin:wizard_publish"), {"note": "tune"})
    new = KnowledgeRevision.objects.latest()
    assert new.published_by == support_admin
    listing = admin_client.get(reverse("admin:wizard_knowledgerevision_changelist"), **EN).content.decode()
    assert reverse("admin:wizard_revision", args=[new.number]) in listing
    html = admin_client.get(reverse("admin:wizard_revision", args=[new.number]), **EN).content.decode()
    assert "support.admin" in html
    assert "network-problem" in html and "payment-screen" in html
    assert "removed" in html and "changed" in html


def test_republishing_an_earlier_revision_makes_it_the_newest(admin_client, seeded):
    Cause.objects.filter(slug="network-problem").update(prior=3)
    admin_client.post(reverse("admin:wizard_publish"), {"note": "tune"})
    tuned = KnowledgeRevision.objects.latest()
    url = reverse("admin:wizard_republish", args=[seeded.number])
    stamp = admin_client.get(url).context["stamp"]  # confirmed on its page first
    response = admin_client.post(url, {"stamp": stamp})
    assert response.status_code == 302
    newest = KnowledgeRevision.objects.latest()
    assert newest.number == tuned.number + 1
    assert newest.payload == seeded.payload
    assert Cause.objects.get(slug="network-problem").prior == next(
        c["prior"] for c in seeded.payload["causes"] if c["slug"] == "network-problem"
    )
    assert publishing.publish()[1] is False  # the drafts match what is live again


def test_a_single_object_can_be_reverted_from_its_history(admin_client):
    cause = Cause.objects.get(slug="network-problem")
    original = cause.title_zh_hans
    cause.title_zh_hans = "改坏了"
    cause.save()
    history = cause.history.order_by("history_date")
    first = history.first()
    url = reverse("admin:wizard_cause_simulate", args=[cause.pk]).replace(
        "simulate/", f"history/{first.history_id}/"
    )
    page = admin_client.get(url)
    assert page.status_code == 200
    form = {k: v for k, v in page.context["adminform"].form.initial.items() if v is not None}
    # The revert page is a pre-filled change form; submitting it restores the old text.
    assert form["title_zh_hans"] == original


def test_evidence_is_edited_as_words(admin_client):
    cause = Cause.objects.get(slug="network-problem")
    html = admin_client.get(reverse("admin:wizard_cause_change", args=[cause.pk]), **EN).content.decode()
    for choice in Strength:
        assert f'value="{choice.value}"' in html
        assert f">{choice.label}<" in html


def test_list_filters_answer_the_editors_questions(admin_client):
    Cause.objects.get(slug="network-problem").cause_solutions.all().delete()
    no_solutions = admin_client.get(reverse("admin:wizard_cause_changelist"), {"has_solutions": "no"})
    assert list(no_solutions.context["cl"].queryset.values_list("slug", flat=True)) == ["network-problem"]
    unused = admin_client.get(reverse("admin:wizard_question_changelist"), {"used": "no"})
    assert unused.status_code == 200
    used = admin_client.get(reverse("admin:wizard_question_changelist"), {"used": "yes"})
    assert used.context["cl"].result_count == Question.objects.count() - unused.context["cl"].result_count


# --- Roles -------------------------------------------------------------------------------


def test_migrate_gives_the_role_groups_exactly_their_permissions(db):
    """pytest-django built this database with migrate, whose signal set the groups."""
    admins = set(Group.objects.get(name="Support admins").permissions.values_list("codename", flat=True))
    agents = set(Group.objects.get(name="Agents").permissions.values_list("codename", flat=True))
    assert admins == set(roles.GROUP_PERMISSIONS["Support admins"])
    assert {"change_cause", "publish_knowledge", "view_insights", "view_diagnosis"} <= admins
    assert not {p for p in admins if p.endswith("_ticket")}  # contact details are for agents
    assert agents == {"use_console"}  # the console only: no admin


def test_a_member_of_staff_who_may_only_view_cannot_change_content(client, seeded, django_user_model):
    viewer = staff_with(django_user_model, ["view_cause", "view_knowledgerevision"])
    client.force_login(viewer)
    cause = Cause.objects.first()
    url = reverse("admin:wizard_cause_change", args=[cause.pk])
    assert client.get(url).status_code == 200  # read-only view
    response = client.post(url, {"title_zh_hans": "hacked"})
    assert response.status_code == 403
    assert client.post(reverse("admin:wizard_publish")).status_code == 403
    assert client.post(reverse("admin:wizard_republish", args=[seeded.number])).status_code == 403
    cause.refresh_from_db()
    assert cause.title_zh_hans != "hacked"


# Every custom admin page: how it is requested, the permissions it needs, and what a
# user holding exactly those gets.
CUSTOM_PAGES = {
    "wizard_publish": ("get", ("publish_knowledge",), 200),
    "wizard_health": ("get", ("view_cause",), 200),
    "wizard_preview": ("get", ("view_cause",), 200),
    "wizard_cause_simulate": ("get", ("view_cause",), 200),
    "wizard_revision": ("get", ("view_knowledgerevision",), 200),
    "wizard_republish": ("get", ("publish_knowledge",), 200),  # the confirmation first
    "wizard_markdown_preview": ("post", ("change_solution",), 200),
    "wizard_learning": ("get", ("change_cause", "change_evidence"), 200),
    "wizard_export": ("get", ("view_cause",), 200),
    "wizard_import": ("get", ("change_cause",), 200),
    "wizard_cause_undo_row": ("post", ("change_cause", "change_evidence"), 302),  # back to the history
}


def request_page(client, name: str, seeded):
    method, _perms, _status = CUSTOM_PAGES[name]
    args = {
        "wizard_cause_simulate": lambda: [Cause.objects.get(slug="missing-auth-code").pk],
        "wizard_revision": lambda: [seeded.number],
        "wizard_republish": lambda: [seeded.number],
        "wizard_cause_undo_row": _a_strength_change,
    }.get(name, list)()
    data = {"steps": "1. Restart"} if name == "wizard_markdown_preview" else None
    return getattr(client, method)(reverse(f"admin:{name}", args=args), data)


def _a_strength_change() -> list:
    """A cause, and a saved change of one of its strengths, to undo."""
    evidence = Evidence.objects.first()
    evidence.likelihood = Strength.RARELY
    evidence.save()
    return [evidence.cause_id, "evidence", evidence.history.first().history_id]


def staff_with(django_user_model, codenames):
    """A member of staff holding exactly these wizard permissions."""
    user = django_user_model.objects.create_user("staff." + "-".join(codenames or ["none"]), is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="wizard", codename__in=codenames)
    )
    return user


def test_every_custom_admin_page_states_its_permission():
    standard = ("changelist", "add", "history", "delete", "change")
    custom = {
        pattern.name
        for model in (KnowledgeRevision, Cause)
        for pattern in admin.site._registry[model].get_urls()
        if pattern.name and not pattern.name.endswith(tuple(f"_{suffix}" for suffix in standard))
    }
    assert custom == set(CUSTOM_PAGES)


@pytest.mark.parametrize("name", CUSTOM_PAGES)
def test_staff_with_the_permission_may_use_the_page(client, seeded, django_user_model, name):
    _method, codenames, status = CUSTOM_PAGES[name]
    client.force_login(staff_with(django_user_model, codenames))
    assert request_page(client, name, seeded).status_code == status


@pytest.mark.parametrize(
    ("name", "missing"), [(name, codename) for name, page in CUSTOM_PAGES.items() for codename in page[1]]
)
def test_staff_without_the_permission_are_refused(client, seeded, django_user_model, name, missing):
    codenames = [codename for codename in CUSTOM_PAGES[name][1] if codename != missing]
    client.force_login(staff_with(django_user_model, codenames))
    assert request_page(client, name, seeded).status_code == 403


def test_links_to_the_custom_pages_show_to_whoever_may_use_them(
    client, seeded, support_admin, django_user_model
):
    viewer = staff_with(django_user_model, ["view_knowledgerevision"])
    publishing.publish(note="later", force=True)
    publish, learning = reverse("admin:wizard_publish"), reverse("admin:wizard_learning")
    republish = reverse("admin:wizard_republish", args=[seeded.number])
    listing = reverse("admin:wizard_knowledgerevision_changelist")
    older = reverse("admin:wizard_revision", args=[seeded.number])
    client.force_login(viewer)
    pages = [client.get(listing), client.get(older)]
    assert [page.status_code for page in pages] == [200, 200]  # the viewer sees the pages...
    html = "".join(page.content.decode() for page in pages)
    assert publish not in html and learning not in html and republish not in html  # ...no links
    client.force_login(support_admin)
    html = client.get(listing).content.decode() + client.get(older).content.decode()
    assert f'href="{publish}" class="addlink"' in html and learning in html and republish in html


@pytest.mark.parametrize("name", CUSTOM_PAGES)
def test_anonymous_users_see_nothing_of_the_custom_admin_pages(client, seeded, name):
    response = request_page(client, name, seeded)
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


# --- Safe content ------------------------------------------------------------------------

HOSTILE = (
    "1. <script>alert('x')</script> step\n"
    "2. <img src=x onerror=alert(1)> [click](javascript:alert(1))\n"
    '3. <a href="/d/" hx-post="/start/" hx-trigger="load">boom</a> <b onclick="x()">bold</b>\n'
)


def assert_inert(html: str) -> None:
    lowered = html.lower()
    for bad in ("<script", "onerror", "onclick", "javascript:", "hx-post", "hx-trigger", "<img"):
        assert bad not in lowered, bad


def test_markdown_is_rendered_inert():
    html = render_markdown(HOSTILE)
    assert_inert(html)
    assert "<ol>" in html and "step" in html


def test_hostile_steps_are_inert_in_the_wizard(client, seeded):
    for solution in Solution.objects.all():
        solution.steps_zh_hans = HOSTILE
        solution.save()
    publishing.publish()
    client.post(reverse("wizard:start"))
    from wizard.models import Diagnosis

    diagnosis = Diagnosis.objects.latest("created")
    client.post(reverse("wizard:finish", args=[diagnosis.code]))
    html = client.get(reverse("wizard:result", args=[diagnosis.code])).content.decode()
    steps = "".join(re.findall(r'<div class="steps">(.*?)</div>', html, re.S))
    assert steps
    assert_inert(steps)


def test_hostile_steps_are_inert_in_the_admin_preview(admin_client):
    response = admin_client.post(reverse("admin:wizard_markdown_preview"), {"steps": HOSTILE})
    assert_inert(response.json()["html"])
    solution = Solution.objects.first()
    solution.steps_zh_hans = HOSTILE
    solution.save()
    page = admin_client.get(reverse("admin:wizard_solution_change", args=[solution.pk])).content.decode()
    preview = re.search(r'<div class="steps-preview"[^>]*>(.*?)</div>', page, re.S).group(1)
    assert_inert(preview)


# --- Import / export in the admin --------------------------------------------------------


def test_admin_download_and_upload_round_trip(admin_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    exported = admin_client.get(reverse("admin:wizard_export"))
    assert exported["Content-Type"].startswith("application/json")
    assert "attachment" in exported["Content-Disposition"]
    text = exported.content.decode().replace('"prior": 1.2', '"prior": 2.5', 1)
    upload = SimpleUploadedFile("knowledge.json", text.encode(), content_type="application/json")
    preview = admin_client.post(reverse("admin:wizard_import"), {"file": upload}, **EN)
    html = preview.content.decode()
    assert preview.status_code == 200 and 'data-import="preview"' in html
    changed = [c for c in Cause.objects.all() if c.prior == 2.5]
    assert changed == []  # a preview changes nothing
    token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    applied = admin_client.post(reverse("admin:wizard_import"), {"token": token, "apply": "1"})
    assert applied.status_code == 302
    assert Cause.objects.filter(prior=2.5).exists()
    assert (
        KnowledgeRevision.objects.latest().number
        == KnowledgeRevision.objects.order_by("number").first().number
    )


def test_admin_upload_of_a_bad_file_names_the_problem_and_changes_nothing(admin_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    exported = admin_client.get(reverse("admin:wizard_export")).content.decode()
    broken = exported.replace('"symptom": "', '"symptom": "no-such-', 1)
    upload = SimpleUploadedFile("knowledge.json", broken.encode(), content_type="application/json")
    response = admin_client.post(reverse("admin:wizard_import"), {"file": upload}, **EN)
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-import="problems"' in html and "no-such-" in html
