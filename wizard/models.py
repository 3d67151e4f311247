"""Knowledge content (edited in the admin) and diagnosis records.

Content models are drafts: the wizard never reads them directly. Publishing compiles the
published content into an immutable :class:`KnowledgeRevision` (see ``knowledge.py``),
and every :class:`Diagnosis` stays on the revision it started with.

Bilingual fields (zh-hans default, en) are added by django-modeltranslation in
``translation.py``, which also registers the content history.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

slug_validator = RegexValidator(
    r"^[a-z0-9]+(?:-[a-z0-9]+)*$",
    _("Use lowercase letters, digits and single hyphens."),
)


def slug_field() -> models.SlugField:
    return models.SlugField(_("slug"), max_length=80, unique=True, validators=[slug_validator])


class Strength(float, models.Choices):
    """How strongly a symptom points to a cause, as an admin says it."""

    ALWAYS = 0.95, _("always")
    OFTEN = 0.7, _("often")
    SOMETIMES = 0.4, _("sometimes")
    RARELY = 0.15, _("rarely")
    NEVER = 0.01, _("never")


# Likelihood of a symptom for a cause it is not linked to: small, never zero, so that one
# unexpected answer never rules a cause out for good.
DEFAULT_LIKELIHOOD = 0.05


class TimeStamped(models.Model):
    created = models.DateTimeField(_("created"), auto_now_add=True)
    updated = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        abstract = True


class PublishedQuerySet(models.QuerySet):
    def published(self):
        return self.filter(is_published=True)


class Category(TimeStamped):
    slug = slug_field()
    title = models.CharField(_("title"), max_length=200)
    order = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        ordering = ("order", "slug")
        verbose_name = _("category")
        verbose_name_plural = _("categories")

    def __str__(self) -> str:
        return self.title


class Provider(TimeStamped):
    """The bank or payment company behind a terminal, for "contact your provider" steps."""

    class Kind(models.TextChoices):
        BANK = "bank", _("bank")
        PAYMENT_COMPANY = "payment-company", _("payment company")
        MANUFACTURER = "manufacturer", _("brand manufacturer")

    slug = slug_field()
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=200)
    hotline = models.CharField(_("hotline"), max_length=40, blank=True)
    hours = models.CharField(_("hours"), max_length=200, blank=True)
    website = models.URLField(_("website"), blank=True)
    guidance = models.TextField(
        _("how to reach them"),
        blank=True,
        help_text=_("Where a merchant finds the real contact details."),
    )
    order = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        ordering = ("order", "slug")
        verbose_name = _("provider")
        verbose_name_plural = _("providers")

    def __str__(self) -> str:
        return self.name


class Symptom(TimeStamped):
    """Something a merchant can observe or knows."""

    slug = slug_field()
    title = models.CharField(_("title"), max_length=300)

    class Meta:
        ordering = ("slug",)
        verbose_name = _("symptom")
        verbose_name_plural = _("symptoms")

    def __str__(self) -> str:
        return self.title


class Solution(TimeStamped):
    class Audience(models.TextChoices):
        MERCHANT = "merchant", _("merchant can do it")
        PROVIDER = "provider", _("needs the provider")
        AGENT = "agent", _("agent only")

    slug = slug_field()
    title = models.CharField(_("title"), max_length=300)
    steps = models.TextField(_("steps"), help_text=_("Markdown: an ordered list of steps."))
    audience = models.CharField(
        _("audience"), max_length=20, choices=Audience.choices, default=Audience.MERCHANT
    )
    effort_minutes = models.PositiveIntegerField(
        _("effort (minutes)"), default=5, validators=[MinValueValidator(1)]
    )
    is_escalation = models.BooleanField(_("escalates to a person"), default=False)
    contexts = models.ManyToManyField(
        Symptom,
        blank=True,
        related_name="solutions",
        verbose_name=_("applies when"),
        help_text=_("Left out when the answers rule out every one of these. Empty: always."),
    )
    is_published = models.BooleanField(_("published"), default=True)
    order = models.PositiveIntegerField(_("order"), default=0)

    objects = PublishedQuerySet.as_manager()

    class Meta:
        ordering = ("order", "slug")
        verbose_name = _("solution")
        verbose_name_plural = _("solutions")
        constraints = [
            models.CheckConstraint(condition=Q(effort_minutes__gte=1), name="solution_effort_positive"),
        ]

    def __str__(self) -> str:
        return self.title


class Cause(TimeStamped):
    slug = slug_field()
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="causes", verbose_name=_("category")
    )
    title = models.CharField(_("title"), max_length=300)
    explanation = models.TextField(_("explanation"))
    prior = models.FloatField(
        _("how common"),
        default=1.0,
        help_text=_("Relative weight: 2 means twice as common as a cause with 1."),
    )
    is_published = models.BooleanField(_("published"), default=True)
    order = models.PositiveIntegerField(_("order"), default=0)
    solutions = models.ManyToManyField(
        Solution, through="CauseSolution", related_name="causes", verbose_name=_("solutions")
    )

    objects = PublishedQuerySet.as_manager()

    class Meta:
        ordering = ("order", "slug")
        verbose_name = _("cause")
        verbose_name_plural = _("causes")
        constraints = [
            models.CheckConstraint(condition=Q(prior__gt=0), name="cause_prior_positive"),
        ]

    def __str__(self) -> str:
        return self.title


class Evidence(TimeStamped):
    """How strongly a symptom points to a cause, stored as P(symptom | cause)."""

    cause = models.ForeignKey(Cause, on_delete=models.CASCADE, related_name="evidence")
    symptom = models.ForeignKey(Symptom, on_delete=models.CASCADE, related_name="evidence")
    likelihood = models.FloatField(_("strength"), choices=Strength.choices)

    class Meta:
        ordering = ("cause", "symptom")
        verbose_name = _("evidence")
        verbose_name_plural = _("evidence")
        constraints = [
            models.UniqueConstraint(fields=("cause", "symptom"), name="evidence_unique_pair"),
            models.CheckConstraint(
                condition=Q(likelihood__gt=0, likelihood__lt=1), name="evidence_likelihood_open"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.symptom} → {self.cause} ({self.get_likelihood_display()})"


class CauseSolution(models.Model):
    cause = models.ForeignKey(Cause, on_delete=models.CASCADE, related_name="cause_solutions")
    solution = models.ForeignKey(Solution, on_delete=models.CASCADE, related_name="cause_solutions")
    order = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        ordering = ("cause", "order", "id")
        verbose_name = _("solution of a cause")
        verbose_name_plural = _("solutions of causes")
        constraints = [
            models.UniqueConstraint(fields=("cause", "solution"), name="cause_solution_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.cause} → {self.solution}"


class Question(TimeStamped):
    class Kind(models.TextChoices):
        BINARY = "binary", _("yes / no about one symptom")
        CHOICE = "choice", _("one of several symptoms")

    slug = slug_field()
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    symptom = models.OneToOneField(
        Symptom,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="question",
        verbose_name=_("symptom"),
        help_text=_("For yes / no questions."),
    )
    text = models.CharField(_("merchant wording"), max_length=300)
    script = models.TextField(_("agent script"), blank=True)
    help = models.TextField(_("how to check"), blank=True)
    effort = models.FloatField(
        _("effort"), default=1.0, help_text=_("1 is a plain question; 2 takes twice the effort.")
    )
    is_published = models.BooleanField(_("published"), default=True)
    order = models.PositiveIntegerField(_("order"), default=0)

    objects = PublishedQuerySet.as_manager()

    class Meta:
        ordering = ("order", "slug")
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        constraints = [
            models.CheckConstraint(condition=Q(effort__gt=0), name="question_effort_positive"),
            models.CheckConstraint(
                condition=Q(kind="choice") | Q(symptom__isnull=False),
                name="question_binary_has_symptom",
            ),
        ]

    def __str__(self) -> str:
        return self.text


class Option(models.Model):
    """One answer of a choice question: a symptom that excludes the others."""

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="options")
    slug = models.SlugField(_("slug"), max_length=80, validators=[slug_validator])
    symptom = models.OneToOneField(
        Symptom, on_delete=models.PROTECT, related_name="option", verbose_name=_("symptom")
    )
    label = models.CharField(_("label"), max_length=200)
    provider = models.ForeignKey(
        Provider,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="options",
        verbose_name=_("identifies provider"),
    )
    order = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        ordering = ("question", "order", "id")
        verbose_name = _("option")
        verbose_name_plural = _("options")
        constraints = [
            models.UniqueConstraint(fields=("question", "slug"), name="option_unique_slug"),
            models.CheckConstraint(
                condition=~Q(slug__in=("unsure", "yes", "no")), name="option_slug_not_reserved"
            ),
        ]

    def __str__(self) -> str:
        return self.label


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
            models.CheckConstraint(condition=Q(number__gte=1), name="revision_number_positive"),
        ]

    def __str__(self) -> str:
        return _("Revision %(number)s") % {"number": self.number}

    def summary(self) -> str:
        counts = {kind: len(self.payload.get(kind, [])) for kind in ("causes", "questions")}
        return _("%(causes)s causes, %(questions)s questions") % counts


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
    version = models.PositiveIntegerField(default=0, editable=False)
    wants_more = models.BooleanField(_("asked for more questions"), default=False)
    feedback_at = models.DateTimeField(_("feedback given"), null=True, blank=True)
    start_token = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)

    class Meta:
        ordering = ("-created",)
        verbose_name = _("diagnosis")
        verbose_name_plural = _("diagnoses")
        permissions = [("view_insights", _("Can see what merchants hit (insights)"))]
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

    diagnosis = models.ForeignKey(Diagnosis, on_delete=models.CASCADE, related_name="answers")
    position = models.PositiveIntegerField(_("position"))
    question = models.SlugField(_("question"), max_length=80)
    option = models.SlugField(_("answer"), max_length=80)
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
            models.UniqueConstraint(fields=("diagnosis", "position"), name="answer_unique_position"),
            models.CheckConstraint(condition=Q(position__gte=1), name="answer_position_positive"),
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
    diagnosis = models.ForeignKey(Diagnosis, on_delete=models.CASCADE, related_name="tickets")
    token = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    name = models.CharField(_("contact name"), max_length=100)
    phone = models.CharField(_("mobile number"), max_length=20)
    merchant_number = models.CharField(_("merchant number"), max_length=40, blank=True)

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

    diagnosis = models.ForeignKey(Diagnosis, on_delete=models.CASCADE, related_name="events")
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
    questions = models.JSONField(default=dict)
    causes = models.JSONField(default=dict)
    steps = models.JSONField(default=dict)

    class Meta:
        ordering = ("day", "revision", "channel")
        verbose_name = _("archived day")
        verbose_name_plural = _("archived days")
        constraints = [
            models.UniqueConstraint(fields=("day", "revision", "channel"), name="archived_day_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.day} r{self.revision} {self.channel}"
