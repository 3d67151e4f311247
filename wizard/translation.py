"""Bilingual content fields (zh-hans default, en) and content history.

History is registered here with ``simple_history.register``, after the translation
options, and not with a ``HistoricalRecords()`` field on the models: such a field builds
the historical model when the model class is created, before modeltranslation adds the
per-language columns, so the history would miss them. ``loaddata`` and
``QuerySet.update()`` write no history rows.
"""

import simple_history
from modeltranslation.translator import TranslationOptions, register

from .models import (
    Category,
    Cause,
    CauseSolution,
    Evidence,
    Option,
    Provider,
    Question,
    Solution,
    Symptom,
)


@register(Category)
class CategoryTranslation(TranslationOptions):
    fields = ("title",)


@register(Provider)
class ProviderTranslation(TranslationOptions):
    fields = ("name", "hours", "guidance")


@register(Symptom)
class SymptomTranslation(TranslationOptions):
    fields = ("title", "hazard", "phrases")


@register(Cause)
class CauseTranslation(TranslationOptions):
    fields = ("title", "explanation")


@register(Question)
class QuestionTranslation(TranslationOptions):
    fields = ("text", "script", "help")


@register(Option)
class OptionTranslation(TranslationOptions):
    fields = ("label",)


@register(Solution)
class SolutionTranslation(TranslationOptions):
    fields = ("title", "steps")


for model in (Category, Provider, Symptom, Cause, Evidence, CauseSolution, Question, Option, Solution):
    simple_history.register(model)
