"""The knowledge content support admins edit: drafts the wizard never reads directly.

Publishing compiles the published content into an immutable
:class:`~wizard.models.KnowledgeRevision` (see ``publishing.py``). Bilingual fields
(zh-hans default, en) are added by django-modeltranslation in ``translation.py``, which
also registers the content history.
"""

from __future__ import annotations

from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Max, Q
from django.utils.translation import gettext_lazy as _

from .base import TimeStamped

slug_validator = RegexValidator(
    r"^[a-z0-9]+(?:-[a-z0-9]+)*$",
    _("Use lowercase letters, digits and single hyphens."),
)


def slug_field() -> models.SlugField:
    return models.SlugField(
        _("slug"),
        max_length=80,
        unique=True,
        validators=[slug_validator],
        # Said on the item being saved, a copy ("Save as new") included: it needs its own.
        error_messages={
            "unique": _("Another %(model_name)s already has this slug: give this one a slug of its own.")
        },
    )


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


ORDER_STEP = 10


def order_field(help_text=None) -> models.PositiveIntegerField:
    """Where an item goes among its siblings. Left empty, it goes after them: a new item
    never silently jumps ahead of the ones already there (a new step would become the
    first thing merchants try)."""
    return models.PositiveIntegerField(
        _("order"), blank=True, help_text=help_text or _("Lower comes first. Empty: after the others.")
    )


def place_last(obj: models.Model, **siblings) -> None:
    """Give ``obj`` an order after its siblings' (those matching ``siblings``) if it has none."""
    if obj.order is None:
        highest = type(obj)._default_manager.filter(**siblings).aggregate(m=Max("order"))["m"]
        obj.order = (highest or 0) + ORDER_STEP


def published_field() -> models.BooleanField:
    # Draft by default: ticking it includes the item in the next revision a support admin
    # publishes; merchants only ever see published revisions.
    return models.BooleanField(
        _("ready to publish"),
        default=False,
        help_text=_("Ticked: part of the next revision you publish. Unticked: a draft merchants never see."),
    )


class PublishedQuerySet(models.QuerySet):
    def published(self):
        return self.filter(is_published=True)


class Category(TimeStamped):
    slug = slug_field()
    title = models.CharField(_("title"), max_length=200)
    order = order_field()

    class Meta:
        ordering = ("order", "slug")
        verbose_name = _("category")
        verbose_name_plural = _("categories")

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs):
        place_last(self)
        super().save(*args, **kwargs)


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
    order = order_field()

    class Meta:
        ordering = ("order", "slug")
        verbose_name = _("provider")
        verbose_name_plural = _("providers")

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        place_last(self)
        super().save(*args, **kwargs)


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
            "description that contains one (small typos allowed) is understood as this symptom. A "
            'line "thing + state" with alternatives separated by "/" (卡槽/插卡口 + 脏/油污) matches '
            "a sentence that names one of each, in either order."
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
    is_published = published_field()
    order = order_field()

    objects = PublishedQuerySet.as_manager()

    class Meta:
        ordering = ("order", "slug")
        verbose_name = _("solution")
        verbose_name_plural = _("solutions")
        constraints = [
            models.CheckConstraint(
                condition=Q(effort_minutes__gte=1),
                name="solution_effort_positive",
                violation_error_message=_("The effort must be at least one minute."),
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs):
        place_last(self)
        super().save(*args, **kwargs)


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
    is_published = published_field()
    order = order_field()
    solutions = models.ManyToManyField(
        Solution, through="CauseSolution", related_name="causes", verbose_name=_("solutions")
    )

    objects = PublishedQuerySet.as_manager()

    class Meta:
        ordering = ("order", "slug")
        verbose_name = _("cause")
        verbose_name_plural = _("causes")
        constraints = [
            models.CheckConstraint(
                condition=Q(prior__gt=0),
                name="cause_prior_positive",
                violation_error_message=_("How common a cause is must be above zero."),
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs):
        place_last(self)
        super().save(*args, **kwargs)


class Evidence(TimeStamped):
    """How strongly a symptom points to a cause, stored as P(symptom | cause)."""

    cause = models.ForeignKey(
        Cause, on_delete=models.CASCADE, related_name="evidence", verbose_name=_("cause")
    )
    symptom = models.ForeignKey(
        Symptom, on_delete=models.CASCADE, related_name="evidence", verbose_name=_("symptom")
    )
    likelihood = models.FloatField(_("strength"), choices=Strength.choices)

    class Meta:
        ordering = ("cause", "symptom")
        verbose_name = _("evidence")
        verbose_name_plural = _("evidence")
        constraints = [
            models.UniqueConstraint(
                fields=("cause", "symptom"),
                name="evidence_unique_pair",
                violation_error_message=_("This symptom is already linked to this cause."),
            ),
            models.CheckConstraint(
                condition=Q(likelihood__gt=0, likelihood__lt=1),
                name="evidence_likelihood_open",
                violation_error_message=_("Choose a strength from the list."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.symptom} → {self.cause} ({self.get_likelihood_display()})"


class CauseSolution(models.Model):
    cause = models.ForeignKey(
        Cause, on_delete=models.CASCADE, related_name="cause_solutions", verbose_name=_("cause")
    )
    solution = models.ForeignKey(
        Solution, on_delete=models.CASCADE, related_name="cause_solutions", verbose_name=_("solution")
    )
    order = order_field(_("Lower is tried first. Empty: after this cause's other solutions."))

    class Meta:
        ordering = ("cause", "order", "id")
        verbose_name = _("solution of a cause")
        verbose_name_plural = _("solutions of causes")
        constraints = [
            models.UniqueConstraint(
                fields=("cause", "solution"),
                name="cause_solution_unique",
                violation_error_message=_("This solution is already linked to this cause."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.cause} → {self.solution}"

    def save(self, *args, **kwargs):
        place_last(self, cause_id=self.cause_id)
        super().save(*args, **kwargs)


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
    is_published = published_field()
    order = order_field()

    objects = PublishedQuerySet.as_manager()

    class Meta:
        ordering = ("order", "slug")
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        constraints = [
            models.CheckConstraint(
                condition=Q(effort__gt=0),
                name="question_effort_positive",
                violation_error_message=_("The effort must be above zero."),
            ),
            models.CheckConstraint(
                condition=Q(kind="choice") | Q(symptom__isnull=False),
                name="question_binary_has_symptom",
                violation_error_message=_("A yes / no question needs a symptom."),
            ),
        ]

    def __str__(self) -> str:
        return self.text

    def save(self, *args, **kwargs):
        place_last(self)
        super().save(*args, **kwargs)


class Option(models.Model):
    """One answer of a choice question: a symptom that excludes the others."""

    question = models.ForeignKey(
        Question, on_delete=models.CASCADE, related_name="options", verbose_name=_("question")
    )
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
    order = order_field(_("Empty: after the question's other options."))

    class Meta:
        ordering = ("question", "order", "id")
        verbose_name = _("option")
        verbose_name_plural = _("options")
        constraints = [
            models.UniqueConstraint(
                fields=("question", "slug"),
                name="option_unique_slug",
                violation_error_message=_("This question already has an option with this slug."),
            ),
            models.CheckConstraint(
                condition=~Q(slug__in=("unsure", "yes", "no")),
                name="option_slug_not_reserved",
                violation_error_message=_("“unsure”, “yes” and “no” are reserved: choose another slug."),
            ),
        ]

    def __str__(self) -> str:
        return self.label

    def save(self, *args, **kwargs):
        place_last(self, question_id=self.question_id)
        super().save(*args, **kwargs)
