"""Diagnosis records: a merchant's or agent's case, its answers, events and tickets.

Every :class:`Diagnosis` stays on the knowledge revision it started with.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .base import TimeStamped
from .revisions import KnowledgeRevision

# Case codes are read aloud over the phone: no 0/O or 1/I/L look-alikes.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10  # 31**10 ≈ 2**49.5: far beyond guessing


def new_case_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_case_code(text: str) -> str:
    """What a person typed or read aloud → the stored form (upper case, no separators)."""
    return "".join(ch for ch in text.upper() if ch.isalnum())


class Diagnosis(TimeStamped):
    class Channel(models.TextChoices):
        SELF_SERVICE = "self", _("self-service")
        AGENT = "agent", _("agent")
        API = "api", _("API")
        EMBED = "embed", _("embedded wizard")

    class Status(models.TextChoices):
        IN_PROGRESS = "in-progress", _("in progress")
        DIAGNOSED = "diagnosed", _("diagnosed")
        RESOLVED = "resolved", _("resolved")
        ESCALATED = "escalated", _("escalated")
        ABANDONED = "abandoned", _("abandoned")

    code = models.CharField(_("case code"), max_length=16, unique=True, default=new_case_code)
    channel = models.CharField(
        _("channel"), max_length=10, choices=Channel.choices, default=Channel.SELF_SERVICE
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="diagnoses",
        verbose_name=_("agent"),
    )
    integration = models.ForeignKey(
        "wizard.Integration",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="diagnoses",
        verbose_name=_("integration"),
    )
    language = models.CharField(_("language"), max_length=10, default="zh-hans")
    revision = models.ForeignKey(
        KnowledgeRevision,
        on_delete=models.PROTECT,
        related_name="diagnoses",
        verbose_name=_("knowledge revision"),
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.IN_PROGRESS)
    ranking = models.JSONField(
        _("final ranking"), default=list, blank=True, help_text=_("[[cause slug, probability]]")
    )
    is_fixed = models.BooleanField(_("did it work"), null=True, blank=True)
    fixed_by = models.CharField(_("fixed by solution"), max_length=80, blank=True)
    notes = models.TextField(_("agent notes"), blank=True)
    merchant_number = models.CharField(_("merchant number"), max_length=40, blank=True)
    phone = models.CharField(_("caller's phone"), max_length=20, blank=True)
    provider = models.SlugField(_("provider"), max_length=80, blank=True)
    # The local day it started: insights group by it without date arithmetic per row.
    day = models.DateField(_("day"), default=timezone.localdate, editable=False)
    # Kept up to date as the diagnosis moves, so that insights are plain aggregates.
    current_question = models.SlugField(_("question being asked"), max_length=80, blank=True)
    top_cause = models.SlugField(_("leading cause"), max_length=80, blank=True)
    question_count = models.PositiveSmallIntegerField(_("questions answered"), default=0)
    tried = models.JSONField(_("steps tried without success"), default=list, blank=True)
    # The answers in order, [[question, option], ...], mirrored from the Answer rows in
    # the same transaction so that a wizard step reads one row. ``version`` counts the
    # writes to it: a write based on an older version is a race, and is refused.
    trail = models.JSONField(_("answers so far"), default=list, blank=True, editable=False)
    description = models.TextField(_("description in the merchant's words"), blank=True)
    described_answers = models.PositiveSmallIntegerField(
        _("answers taken from the description"), default=0, editable=False
    )
    version = models.PositiveIntegerField(default=0, editable=False)
    wants_more = models.BooleanField(_("asked for more questions"), default=False)
    feedback_at = models.DateTimeField(_("feedback given"), null=True, blank=True)
    start_token = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)

    class Meta:
        ordering = ("-created",)
        verbose_name = _("diagnosis")
        verbose_name_plural = _("diagnoses")
        permissions = [
            ("view_insights", _("Can see what merchants hit (insights)")),
            ("use_console", _("Can work cases and tickets in the agent console")),
        ]
        indexes = [
            models.Index(fields=("status", "created"), name="diagnosis_status_created"),
            models.Index(fields=("day", "status"), name="diagnosis_day_status"),
            models.Index(fields=("revision", "day"), name="diagnosis_revision_day"),
            models.Index(fields=("top_cause", "is_fixed"), name="diagnosis_cause_fixed"),
        ]

    def __str__(self) -> str:
        return self.display_code

    def get_absolute_url(self) -> str:
        return reverse("wizard:resume", args=[self.code])

    @property
    def display_code(self) -> str:
        """The code in two groups, easier to read aloud: ``ABCDE-FGHJK``."""
        half = len(self.code) // 2
        return f"{self.code[:half]}-{self.code[half:]}"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.IN_PROGRESS


class Answer(models.Model):
    """One answer in a diagnosis, in the order given. ``option`` is "unsure" for not sure."""

    diagnosis = models.ForeignKey(
        Diagnosis, on_delete=models.CASCADE, related_name="answers", verbose_name=_("diagnosis")
    )
    position = models.PositiveIntegerField(_("position"))
    question = models.SlugField(_("question"), max_length=80)
    option = models.SlugField(_("answer"), max_length=80)
    from_description = models.BooleanField(_("from the description"), default=False)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("answered by"),
    )
    created = models.DateTimeField(_("answered at"), auto_now_add=True)

    class Meta:
        ordering = ("diagnosis", "position")
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        constraints = [
            # Two people answering the same step at once cannot both win.
            models.UniqueConstraint(
                fields=("diagnosis", "position"),
                name="answer_unique_position",
                violation_error_message=_("This diagnosis already has an answer at this position."),
            ),
            models.CheckConstraint(
                condition=Q(position__gte=1),
                name="answer_position_positive",
                violation_error_message=_("An answer's position starts at 1."),
            ),
        ]
        indexes = [models.Index(fields=("question", "option"), name="answer_question_option")]

    def __str__(self) -> str:
        return f"{self.position}. {self.question} = {self.option}"


def new_ticket_reference() -> str:
    return "T-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))


class Ticket(TimeStamped):
    """An escalation: the merchant asked for a person, with the diagnosis attached."""

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        IN_PROGRESS = "in-progress", _("in progress")
        CLOSED = "closed", _("closed")

    reference = models.CharField(_("reference"), max_length=16, unique=True, default=new_ticket_reference)
    diagnosis = models.ForeignKey(
        Diagnosis, on_delete=models.CASCADE, related_name="tickets", verbose_name=_("diagnosis")
    )
    token = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    name = models.CharField(_("contact name"), max_length=100)
    phone = models.CharField(_("mobile number"), max_length=20)
    merchant_number = models.CharField(_("merchant number"), max_length=40, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    consented_at = models.DateTimeField(_("consent given at"), null=True, blank=True)
    notice_version = models.CharField(_("privacy notice version"), max_length=20, blank=True)
    contact_erased_at = models.DateTimeField(_("contact details erased at"), null=True, blank=True)

    class ContactTime(models.TextChoices):
        ANY = "any", _("any time")
        MORNING = "morning", _("morning (9:00–12:00)")
        AFTERNOON = "afternoon", _("afternoon (12:00–18:00)")
        EVENING = "evening", _("evening (18:00–21:00)")

    contact_time = models.CharField(
        _("preferred contact time"), max_length=20, choices=ContactTime.choices, default=ContactTime.ANY
    )
    has_consent = models.BooleanField(_("agreed to be contacted"), default=False)
    transcript = models.TextField(_("transcript"), blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.OPEN)

    class Meta:
        ordering = ("-created",)
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")

    def __str__(self) -> str:
        return self.reference


class CaseEvent(models.Model):
    """Who did what to a diagnosis, besides answering (answers carry their own author)."""

    class Kind(models.TextChoices):
        STARTED = "started", _("started")
        OPENED = "opened", _("opened by code")
        NOTES = "notes", _("notes edited")
        RESOLVED = "resolved", _("resolved")
        ESCALATED = "escalated", _("escalated")
        CALLBACK = "callback", _("call back later")
        NOT_FIXED = "not-fixed", _("steps tried, not fixed")
        TICKET = "ticket", _("ticket updated")
        WITHDRAWN = "withdrawn", _("contact details erased")

    diagnosis = models.ForeignKey(
        Diagnosis, on_delete=models.CASCADE, related_name="events", verbose_name=_("diagnosis")
    )
    kind = models.CharField(_("what"), max_length=20, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("who"),
    )
    detail = models.CharField(_("detail"), max_length=300, blank=True)
    created = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        ordering = ("diagnosis", "created", "id")
        verbose_name = _("case event")
        verbose_name_plural = _("case events")

    def __str__(self) -> str:
        return f"{self.diagnosis} · {self.get_kind_display()}"
