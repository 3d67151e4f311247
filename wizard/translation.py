"""Bilingual content fields (zh-hans default, en) and content history.

History is registered here, after the translation options, so that the historical
models carry the translated columns too (see STACK.md, trap 6).
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
    fields = ("title", "hazard")


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
