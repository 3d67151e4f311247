"""What is kept of diagnoses once they are purged (see ``retention.py``)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ArchivedDay(models.Model):
    """Anonymous counts of one day's diagnoses, kept when the diagnoses are purged.

    ``questions`` maps a question slug to [answered, unsure, dropped]; ``causes`` maps
    a cause slug to [diagnosed, feedback, fixed]; ``steps`` a solution slug to fixes.
    """

    day = models.DateField(_("day"))
    revision = models.PositiveIntegerField(_("knowledge revision"))
    channel = models.CharField(_("channel"), max_length=10)
    started = models.PositiveIntegerField(default=0)
    diagnosed = models.PositiveIntegerField(default=0)
    escalated = models.PositiveIntegerField(default=0)
    feedback = models.PositiveIntegerField(default=0)
    fixed = models.PositiveIntegerField(default=0)
    questions_total = models.PositiveIntegerField(default=0)
    described = models.PositiveIntegerField(default=0)  # diagnoses with a description
    described_answers = models.PositiveIntegerField(default=0)  # answers taken from one
    questions = models.JSONField(default=dict)
    causes = models.JSONField(default=dict)
    steps = models.JSONField(default=dict)

    class Meta:
        ordering = ("day", "revision", "channel")
        verbose_name = _("archived day")
        verbose_name_plural = _("archived days")
        constraints = [
            models.UniqueConstraint(
                fields=("day", "revision", "channel"),
                name="archived_day_unique",
                violation_error_message=_("This day, revision and channel are already counted."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} r{self.revision} {self.channel}"
