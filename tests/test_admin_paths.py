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
def support_admin(db, django_user_model):
    """A member of the "Support admins" group only: no permission of their own."""
    user = django_user_model.objects.create_user("support.admin", is_staff=True)
    user.groups.add(Group.objects.get(name="Support admins"))
    return user


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
