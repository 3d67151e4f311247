"""The knowledge content support admins edit: drafts the wizard never reads directly.

Publishing compiles the published content into an immutable
:class:`~wizard.models.KnowledgeRevision` (see ``publishing.py``). Bilingual fields
(zh-hans default, en) are added by django-modeltranslation in ``translation.py``, which
also registers the content history.
"""

from __future__ import annotations

from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .base import TimeStamped

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
    hazard = models.TextField(
        _("hazard warning"),
        blank=True,
        help_text=_(
            "Only for a danger (a swollen or hot battery, smoke, liquid inside, exposed parts): what "
            "the merchant must do at once. Shown at the top of every later page once reported."
        ),
    )
    phrases = models.TextField(
        _("phrases"),
        blank=True,
        help_text=_(
            "One per line: how merchants say it, the exact words terminals show, error codes. A "
            "description that contains one (small typos allowed) is understood as this symptom."
        ),
    )

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
