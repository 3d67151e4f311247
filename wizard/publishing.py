"""Putting knowledge live: checked draft content becomes the next numbered revision.

The admin pages and ``manage.py publish_knowledge`` call these; revisions are only ever
added, never changed, so a diagnosis keeps the knowledge it started with.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from .checks import Finding, check_payload
from .content import compile_payload, load_payload
from .knowledge import Snapshot
from .models import Cause, KnowledgeRevision, Question, Solution
from .review import Difference, differences


class PublishError(Exception):
    def __init__(self, findings: list[Finding]):
        self.findings = [f for f in findings if f.level == "error"]
        super().__init__("; ".join(f"{f.kind} {f.slug}: {f.message}" for f in self.findings))


def publish(user=None, *, note: str = "", force: bool = False) -> tuple[KnowledgeRevision, bool]:
    """Check the published content and store it as the next revision.

    Returns ``(revision, created)``. When the content equals the latest revision nothing
    is stored (unless ``force``), so publishing twice is harmless.
    """
    payload = compile_payload()
    findings = check_payload(payload)
    if any(f.level == "error" for f in findings):
        raise PublishError(findings)
    with transaction.atomic():
        latest = _lock_latest()
        if latest is not None and latest.payload == payload and not force:
            return latest, False
        return _store_after(latest, payload, user=user, note=note), True


def republish(old: KnowledgeRevision, user=None) -> KnowledgeRevision:
    """Publish an earlier revision's content again, as the newest revision.

    The content tables are brought back to that revision too (content it did not have is
    unpublished, not deleted), so the next edit starts from what is live.
    """
    with transaction.atomic():
        load_payload(old.payload)
        _unpublish_absent(old.payload)
        return _store_after(
            _lock_latest(),
            old.payload,
            user=user,
            note=_("Republished revision %(number)s") % {"number": old.number},
        )


def unpublished_changes() -> list[Difference]:
    """How the draft content differs from what the wizard serves now."""
    latest = KnowledgeRevision.objects.order_by("-number").first()
    return differences(latest.payload if latest else {}, compile_payload())


def draft_snapshot() -> tuple[Snapshot | None, list[Finding]]:
    """The draft content compiled as the wizard would run it, for previews.

    ``(None, errors)`` when it has errors: the wizard could not run on it.
    """
    payload = compile_payload()
    errors = [f for f in check_payload(payload) if f.level == "error"]
    return (None if errors else Snapshot.from_payload(0, payload)), errors


def _lock_latest() -> KnowledgeRevision | None:
    """The latest revision, locked until the transaction ends: one publisher at a time."""
    return KnowledgeRevision.objects.select_for_update().order_by("-number").first()


def _store_after(
    latest: KnowledgeRevision | None, payload: dict[str, Any], *, user, note: str
) -> KnowledgeRevision:
    return KnowledgeRevision.objects.create(
        number=(latest.number + 1) if latest else 1, payload=payload, published_by=user, note=note
    )


def _unpublish_absent(payload: dict[str, Any]) -> None:
    """Unpublish the causes, questions and solutions ``payload`` does not have."""
    for model, kind in ((Cause, "causes"), (Question, "questions"), (Solution, "solutions")):
        model.objects.exclude(slug__in=[e["slug"] for e in payload[kind]]).update(is_published=False)
