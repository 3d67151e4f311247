"""The delivery log of webhook events (wizard/webhooks.py): one row per event sent to an
integration, with what came of each attempt. It holds no personal data: the payload is
the anonymous event (see docs/api.md), the case named by its code."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from .integrations import Integration


def new_event_id() -> str:
    return f"evt_{uuid.uuid4().hex}"


class WebhookDelivery(models.Model):
    class Event(models.TextChoices):
        ESCALATED = "diagnosis.escalated", _("diagnosis escalated")
        OUTCOME = "diagnosis.outcome", _("diagnosis outcome")

    event_id = models.CharField(
        _("event id"), max_length=40, unique=True, default=new_event_id, editable=False
    )
    integration = models.ForeignKey(
        Integration, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("integration")
    )
    event_type = models.CharField(_("event"), max_length=40, choices=Event.choices)
    diagnosis_code = models.CharField(_("case code"), max_length=16, db_index=True)
    payload = models.JSONField(_("payload"))
    created = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_status_code = models.PositiveIntegerField(_("last status code"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)

    class Meta:
        ordering = ("-created",)
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")

    def __str__(self) -> str:
        return f"{self.event_type} {self.diagnosis_code} → {self.integration}"

    @property
    def is_delivered(self) -> bool:
        return self.delivered_at is not None
