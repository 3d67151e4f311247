"""Published knowledge: immutable, numbered revisions of the content."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class KnowledgeRevision(models.Model):
    """An immutable, numbered compilation of the published content."""

    number = models.PositiveIntegerField(_("number"), primary_key=True)
    created = models.DateTimeField(_("published at"), auto_now_add=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("published by"),
    )
    payload = models.JSONField(_("compiled knowledge"))
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        ordering = ("-number",)
        get_latest_by = "number"
        verbose_name = _("knowledge revision")
        verbose_name_plural = _("knowledge revisions")
        permissions = [("publish_knowledge", _("Can publish the knowledge"))]
        constraints = [
            models.CheckConstraint(
                condition=Q(number__gte=1),
                name="revision_number_positive",
                violation_error_message=_("A revision number starts at 1."),
            ),
        ]

    def __str__(self) -> str:
        return _("Revision %(number)s") % {"number": self.number}

    def summary(self) -> str:
        counts = {kind: len(self.payload.get(kind, [])) for kind in ("causes", "questions")}
        return _("%(causes)s causes, %(questions)s questions") % counts
