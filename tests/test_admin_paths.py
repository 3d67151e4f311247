"""Every path a support admin takes works: publishing as a member of the group,
republishing with a confirmation, two admins editing at once, history that says what
changed."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import translation

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def admin_client(client, seeded, support_admin):
    client.force_login(support_admin)
    return client


def test_a_support_admin_sees_the_publish_button_on_the_revisions_list(admin_client):
    response = admin_client.get(reverse("admin:wizard_knowledgerevision_changelist"), **EN)
    assert response.status_code == 200
    assert reverse("admin:wizard_publish") in response.content.decode()
    assert admin_client.get(reverse("admin:wizard_publish"), **EN).status_code == 200


def test_every_permission_the_admin_pages_check_is_one_the_support_admins_hold(support_admin):
    """The admin's buttons and pages ask for permissions by name; a name the group does
    not hold hides a button from every support admin (as Publish once was)."""
    import re
    from pathlib import Path

    from django.conf import settings

    root = Path(settings.BASE_DIR)
    sources = [
        root / "wizard" / "admin.py",
        root / "wizard" / "views" / "admin_pages.py",
        root / "wizard" / "views" / "insights.py",
        *(root / "templates" / "admin").rglob("*.html"),
        *(root / "templates" / "insights").rglob("*.html"),
    ]
    checked = set()
    for source in sources:
        checked |= set(re.findall(r"(?:perms\.wizard\.|\"wizard\.)(\w+)", source.read_text(encoding="utf-8")))
    personal = {"view_ticket"}  # contact details: agents only (wizard/roles.py)
    assert "publish_knowledge" in checked
    missing = {name for name in checked - personal if not support_admin.has_perm(f"wizard.{name}")}
    assert missing == set()


def test_a_support_admin_may_publish_and_republish(admin_client):
    from wizard.models import Cause, KnowledgeRevision

    cause = Cause.objects.get(slug="network-problem")
    cause.prior = 4
    cause.save()
    response = admin_client.post(reverse("admin:wizard_publish"), {"note": "prior"}, **EN)
    assert response.status_code == 302
    assert KnowledgeRevision.objects.count() == 2
    page = admin_client.get(reverse("admin:wizard_revision", args=[1]), **EN).content.decode()
    assert reverse("admin:wizard_republish", args=[1]) in page


def _edit_prior(slug: str, prior: float) -> None:
    from wizard.models import Cause

    cause = Cause.objects.get(slug=slug)
    cause.prior = prior
    cause.save()


def test_republish_asks_first_and_lists_the_edits_it_would_discard(admin_client, seeded):
    from wizard import publishing
    from wizard.models import Cause, KnowledgeRevision

    _edit_prior("network-problem", 3)
    publishing.publish(note="tune")
    _edit_prior("missing-auth-code", 5)  # another admin's draft, not published yet
    url = reverse("admin:wizard_republish", args=[seeded.number])

    # The revision page leads to a confirmation; a POST without it changes nothing.
    assert (
        url in admin_client.get(reverse("admin:wizard_revision", args=[seeded.number]), **EN).content.decode()
    )
    response = admin_client.post(url, **EN)
    assert response.status_code == 200
    assert KnowledgeRevision.objects.count() == 2
    assert Cause.objects.get(slug="missing-auth-code").prior == 5

    confirm = admin_client.get(url, **EN)
    html = confirm.content.decode()
    assert confirm.status_code == 200
    assert 'data-discarded="1"' in html and "missing-auth-code" in html  # the draft lost
    assert "data-published" in html and "network-problem" in html  # what goes live
    stamp = confirm.context["stamp"]

    # Someone edits meanwhile: the confirmation shown is out of date; asked again.

    _edit_prior("missing-auth-code", 6)
    stale = admin_client.post(url, {"stamp": stamp}, **EN)
    assert stale.status_code == 409
    assert KnowledgeRevision.objects.count() == 2

    response = admin_client.post(url, {"stamp": stale.context["stamp"]}, **EN)
    assert response.status_code == 302
    assert KnowledgeRevision.objects.latest().payload == seeded.payload


# --- Editing: the change form as a browser sends it --------------------------------------


def form_data(response) -> dict:
    """What the change form on ``response`` sends back untouched: every field of the
    object and of its inline rows, with the formsets' management forms."""

    def add(form, data):
        for name, field in form.fields.items():
            value = form[name].value()
            key = form.add_prefix(name)
            if value is None:
                continue
            if isinstance(value, (list, tuple)):
                data[key] = [str(v) for v in value]
            elif isinstance(value, bool):
                if value:
                    data[key] = "on"
            else:
                # A browser sends a textarea's line breaks as CRLF.
                data[key] = str(field.prepare_value(value)).replace("\r\n", "\n").replace("\n", "\r\n")

    data: dict = {}
    add(response.context["adminform"].form, data)
    for inline in response.context.get("inline_admin_formsets", []):
        formset = inline.formset
        add(formset.management_form, data)
        data[formset.management_form.add_prefix("TOTAL_FORMS")] = str(len(formset.initial_forms))
        for form in formset.initial_forms:
            add(form, data)
    return data


def cause_url(slug: str) -> str:
    from wizard.models import Cause

    return reverse("admin:wizard_cause_change", args=[Cause.objects.get(slug=slug).pk])


def test_the_change_form_helper_saves_a_cause_unchanged(admin_client):
    url = cause_url("network-problem")
    response = admin_client.post(url, form_data(admin_client.get(url, **EN)), **EN)
    assert response.status_code == 302, response.context["adminform"].form.errors


def test_a_second_admin_saving_over_the_first_is_refused_and_keeps_their_input(
    admin_client, client, django_user_model
):
    from wizard.models import Cause

    other = django_user_model.objects.create_user("other.admin", is_staff=True)
    other.groups.add(Group.objects.get(name="Support admins"))
    second = client.__class__()
    second.force_login(other)
    url = cause_url("network-problem")
    first_page, second_page = admin_client.get(url, **EN), second.get(url, **EN)

    mine = form_data(first_page) | {"title_en": "Network trouble", "prior": "2"}
    assert admin_client.post(url, mine, **EN).status_code == 302

    theirs = form_data(second_page) | {"explanation_en": "Theirs, typed with care"}
    response = second.post(url, theirs, **EN)
    assert response.status_code == 200  # the form again, not saved
    cause = Cause.objects.get(slug="network-problem")
    assert cause.title_en == "Network trouble" and cause.explanation_en != "Theirs, typed with care"
    html = response.content.decode()
    assert "Theirs, typed with care" in html  # their input is kept
    assert "data-conflict" in html and "support.admin" in html  # who changed what meanwhile
    assert "Network trouble" in html

    # Having seen the changes, they may save theirs deliberately.
    again = form_data(response)
    response = second.post(url, again, **EN)
    assert response.status_code == 302
    cause = Cause.objects.get(slug="network-problem")
    assert cause.explanation_en == "Theirs, typed with care"
    # What the first admin changed and the second did not touch stays changed.
    assert (cause.title_en, cause.prior) == ("Network trouble", 2)


# --- History -------------------------------------------------------------------------------


def history_changes(client, slug: str) -> list:
    """The admin history page's rows for a cause, newest first: [(record, [changes])]."""
    from wizard.models import Cause

    cause = Cause.objects.get(slug=slug)
    response = client.get(reverse("admin:wizard_cause_history", args=[cause.pk]), **EN)
    assert response.status_code == 200
    return response


def test_editing_the_english_title_records_only_that_change(admin_client):
    url = cause_url("network-problem")
    admin_client.post(url, form_data(admin_client.get(url, **EN)) | {"title_en": "Network trouble"}, **EN)
    admin_client.post(url, form_data(admin_client.get(url, **EN)) | {"title_en": "Network down"}, **EN)
    response = history_changes(admin_client, "network-problem")
    newest = response.context["page_obj"][0]
    fields = [change["field"] for change in newest.history_delta_changes]
    assert len(fields) == 1 and "[en]" in str(fields[0]), fields
    html = response.content.decode()
    assert "Network trouble" in html and "Network down" in html


def test_changing_only_a_strength_shows_what_changed_in_the_history(admin_client):
    from wizard.models import Cause, Strength

    url = cause_url("network-problem")
    data = form_data(admin_client.get(url, **EN))
    before = data["evidence-0-likelihood"]
    after = next(str(s.value) for s in Strength if str(s.value) != before)
    response = admin_client.post(url, data | {"evidence-0-likelihood": after}, **EN)
    assert response.status_code == 302
    cause = Cause.objects.get(slug="network-problem")
    records = list(cause.history.all())
    # No empty "changed" row for the cause itself...
    assert all(r.prev_record is None or r.diff_against(r.prev_record).changes for r in records)
    # ...and the strength's change is on the cause's history page, from → to.
    html = history_changes(admin_client, "network-problem").content.decode()
    assert "data-row-changes" in html
    labels = {str(s.value): str(s.label) for s in Strength}
    assert f"{labels[before]} → {labels[after]}" in html


@pytest.mark.parametrize("model", ["category", "provider", "symptom", "cause", "question", "solution"])
def test_saving_a_form_unchanged_records_no_change(admin_client, model):
    """Not a line break sent back as CRLF, nor the language mirror, counts as an edit."""
    from django.apps import apps

    Model = apps.get_model("wizard", model)
    obj = Model.objects.order_by("pk").last()
    if model == "solution":
        obj = Model.objects.filter(steps_zh_hans__contains="\n").first()
    before = obj.history.count()
    url = reverse(f"admin:wizard_{model}_change", args=[obj.pk])
    response = admin_client.post(url, form_data(admin_client.get(url, **EN)), **EN)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert obj.history.count() == before


def test_reverting_to_an_earlier_version_is_recorded_and_shown(admin_client):
    from wizard.models import Cause

    url = cause_url("network-problem")
    original = Cause.objects.get(slug="network-problem").title_en
    admin_client.post(url, form_data(admin_client.get(url, **EN)) | {"title_en": "Network trouble"}, **EN)
    cause = Cause.objects.get(slug="network-problem")
    first = cause.history.order_by("history_date").first()
    revert = reverse("admin:wizard_cause_simple_history", args=[cause.pk, first.history_id])
    response = admin_client.post(revert, form_data(admin_client.get(revert, **EN)), **EN)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Cause.objects.get(slug="network-problem").title_en == original
    newest = history_changes(admin_client, "network-problem").context["page_obj"][0]
    assert [str(c["field"]) for c in newest.history_delta_changes] == ["Title [en]"]


def test_a_changed_option_label_and_solution_order_show_on_their_parents_history(admin_client):
    from wizard.models import Cause, Question

    question = Question.objects.filter(options__isnull=False).first()
    url = reverse("admin:wizard_question_change", args=[question.pk])
    data = form_data(admin_client.get(url, **EN))
    old_label = data["options-0-label_en"]
    response = admin_client.post(url, data | {"options-0-label_en": "Something else entirely"}, **EN)
    assert response.status_code == 302, response.context["adminform"].form.errors
    page = admin_client.get(reverse("admin:wizard_question_history", args=[question.pk]), **EN)
    assert f"{old_label} → Something else entirely" in page.content.decode()

    url = cause_url("network-problem")
    data = form_data(admin_client.get(url, **EN))
    order = data["cause_solutions-0-order"]
    admin_client.post(url, data | {"cause_solutions-0-order": str(int(order) + 5)}, **EN)
    cause = Cause.objects.get(slug="network-problem")
    html = admin_client.get(reverse("admin:wizard_cause_history", args=[cause.pk]), **EN).content.decode()
    assert f"{order} → {int(order) + 5}" in html


def test_an_admin_with_its_own_form_still_refuses_a_stale_save(admin_client, client, monkeypatch):
    from django import forms
    from django.contrib import admin

    from wizard.models import Solution

    class OwnForm(forms.ModelForm):
        def clean_title_en(self):
            return self.cleaned_data["title_en"]

    monkeypatch.setattr(admin.site._registry[Solution], "form", OwnForm)
    solution = Solution.objects.first()
    url = reverse("admin:wizard_solution_change", args=[solution.pk])
    first, second = form_data(admin_client.get(url, **EN)), form_data(admin_client.get(url, **EN))
    assert first["edit_stamp"]
    assert admin_client.post(url, first | {"title_en": "One"}, **EN).status_code == 302
    response = admin_client.post(url, second | {"title_en": "Two"}, **EN)
    assert response.status_code == 200 and response.context["adminform"].form.conflict


def test_a_strength_change_can_be_undone_from_the_history_page(admin_client):
    from wizard.models import Cause, Evidence, Strength

    url = cause_url("network-problem")
    data = form_data(admin_client.get(url, **EN))
    before = data["evidence-0-likelihood"]
    row = int(data["evidence-0-id"])
    after = next(str(s.value) for s in Strength if str(s.value) != before)
    admin_client.post(url, data | {"evidence-0-likelihood": after}, **EN)
    assert str(Evidence.objects.get(pk=row).likelihood) == after

    cause = Cause.objects.get(slug="network-problem")
    history = admin_client.get(reverse("admin:wizard_cause_history", args=[cause.pk]), **EN)
    change = next(r for r in history.context["row_records"] if r.kind == "changed")
    undo = reverse("admin:wizard_cause_undo_row", args=[cause.pk, "evidence", change.history_id])
    assert undo in history.content.decode()
    response = admin_client.post(undo, **EN)
    assert response.status_code == 302
    assert str(Evidence.objects.get(pk=row).likelihood) == before
    # The undo is itself recorded, from → to.
    newest = admin_client.get(reverse("admin:wizard_cause_history", args=[cause.pk]), **EN)
    labels = {str(s.value): str(s.label) for s in Strength}
    assert newest.context["row_records"][0].changes[0].old == labels[after]


def test_an_older_row_change_is_not_undone_over_a_later_one(admin_client):
    """a → b, then b → c: putting back the row as it was before the first change would
    silently throw c away. Only a row's latest change is offered, and an older one is refused."""
    from wizard.models import Cause, Evidence, Strength

    url = cause_url("network-problem")
    data = form_data(admin_client.get(url, **EN))
    row = int(data["evidence-0-id"])
    first, second = [str(s.value) for s in Strength if str(s.value) != data["evidence-0-likelihood"]][:2]
    admin_client.post(url, data | {"evidence-0-likelihood": first}, **EN)
    data = form_data(admin_client.get(url, **EN))
    admin_client.post(url, data | {"evidence-0-likelihood": second}, **EN)
    assert str(Evidence.objects.get(pk=row).likelihood) == second

    cause = Cause.objects.get(slug="network-problem")
    history = admin_client.get(reverse("admin:wizard_cause_history", args=[cause.pk]), **EN)
    changes = [r for r in history.context["row_records"] if r.kind == "changed" and r.row_id == row]
    assert len(changes) == 2 and changes[0].undo_url and not changes[1].undo_url
    older = reverse("admin:wizard_cause_undo_row", args=[cause.pk, "evidence", changes[1].history_id])
    response = admin_client.post(older, follow=True, **EN)
    assert "changed again since" in response.content.decode()
    assert str(Evidence.objects.get(pk=row).likelihood) == second


def test_undoing_a_row_change_needs_the_right_to_change(client, seeded, django_user_model):
    from django.contrib.auth.models import Permission

    from wizard.models import Cause, Evidence

    evidence = Evidence.objects.first()
    evidence.likelihood = 0.02
    evidence.save()
    viewer = django_user_model.objects.create_user("viewer", is_staff=True)
    viewer.user_permissions.set(Permission.objects.filter(codename__in=["view_cause", "view_evidence"]))
    client.force_login(viewer)
    record = evidence.history.first()
    undo = reverse("admin:wizard_cause_undo_row", args=[evidence.cause_id, "evidence", record.history_id])
    assert client.post(undo).status_code == 403
    assert Evidence.objects.get(pk=evidence.pk).likelihood == 0.02
    assert Cause.objects.filter(pk=evidence.cause_id).exists()
