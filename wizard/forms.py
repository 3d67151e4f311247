from django import forms
from django.utils.translation import gettext_lazy as _

from .models import CODE_ALPHABET, CODE_LENGTH, normalise_case_code


class StartForm(forms.Form):
    # A random token put in the landing page's form: a double click (or a resubmitted
    # form) carries the same token and lands on the same diagnosis.
    token = forms.CharField(required=False, max_length=64)


class AnswerForm(forms.Form):
    question = forms.SlugField(max_length=80)
    answer = forms.SlugField(max_length=80)


class CaseCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Case code"),
        max_length=40,
        help_text=_("The 10 letters and digits on your result page, e.g. ABCDE-23456."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )

    def clean_code(self) -> str:
        code = normalise_case_code(self.cleaned_data["code"])
        if len(code) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in code):
            raise forms.ValidationError(
                _("A case code has %(length)s letters and digits, like ABCDE-23456."),
                params={"length": CODE_LENGTH},
            )
        return code
