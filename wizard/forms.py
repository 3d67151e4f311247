import re

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.validators import MaxLengthValidator
from django.utils.translation import gettext_lazy as _

from . import phones
from .diagnoses import Outcome
from .markup import EMPTY_STEPS_REASON, shows_nothing
from .models import CODE_ALPHABET, CODE_LENGTH, Ticket, normalise_case_code

# Control characters other than tab and line breaks: nobody types them, and PostgreSQL
# refuses NUL in text.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class PlainTextField(forms.CharField):
    """Text a person types (names, notes, descriptions): control characters are refused
    before anything else is checked, so that the message names them, not the length."""

    default_error_messages = {"control_characters": _("This cannot contain control characters.")}

    def to_python(self, value):
        value = super().to_python(value)
        if CONTROL_CHARACTERS.search(value):
            raise forms.ValidationError(self.error_messages["control_characters"], code="control_characters")
        return value


class PhoneField(forms.CharField):
    """A phone number typed any usual way, cleaned to E.164 (``+8613800138000``); see
    wizard/phones.py. ``mobile``: only a mainland China mobile number."""

    default_error_messages = {
        "invalid": _("Enter a phone number, e.g. 138 0013 8000."),
        "digits": _("Type the number with the digits 0–9."),
    }

    def __init__(self, *, mobile: bool = False, **kwargs):
        self.mobile = mobile
        super().__init__(**kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return ""
        try:
            return phones.normalise(value, mobile=self.mobile)
        except phones.PhoneError as error:
            raise forms.ValidationError(self.error_messages[error.code], code=error.code) from None

    def widget_attrs(self, widget):
        # The box takes as much as the cleaning does (spaces and all); the stored form is shorter.
        return {**super().widget_attrs(widget), "maxlength": str(phones.LONGEST_TYPED), "inputmode": "tel"}


class StartForm(forms.Form):
    # A random token put in the landing page's form: a double click (or a resubmitted
    # form) carries the same token and lands on the same diagnosis.
    token = forms.CharField(required=False, max_length=64)


class AnswerForm(forms.Form):
    question = forms.SlugField(max_length=80)
    answer = forms.SlugField(max_length=80)
    # How many answers the page showed: tells a deliberate change of an earlier answer
    # from a race with someone else answering the same step.
    seen = forms.IntegerField(required=False, min_value=0, max_value=1000)


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


class UsernameLengthMixin:
    """Refuse a username longer than the user model allows, before anyone authenticates.

    ``AuthenticationForm`` sets the field's ``max_length`` after the field is built, so
    no validator enforces it: a longer username reaches ``authenticate()`` and
    django-axes, whose failed-login record PostgreSQL refuses to store.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["username"]
        field.validators.append(MaxLengthValidator(field.max_length))


class AgentLoginForm(UsernameLengthMixin, AuthenticationForm):
    pass


class AdminLoginForm(UsernameLengthMixin, AdminAuthenticationForm):
    pass


class AgentStartForm(forms.Form):
    merchant_number = PlainTextField(label=_("Merchant number"), max_length=40, required=False)
    # Any number the caller gives, a landline too; China unless it starts with +.
    phone = PhoneField(label=_("Caller's phone"), required=False)
    provider = forms.ChoiceField(label=_("Provider"), required=False)

    def __init__(self, *args, providers: list[tuple[str, str]] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["provider"].choices = [("", _("Not known yet")), *providers]


class NotesForm(forms.Form):
    notes = PlainTextField(
        label=_("Notes"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={
            "max_length": _("Notes are too long."),
            "control_characters": _("Notes cannot contain control characters."),
        },
    )


class OutcomeForm(forms.Form):
    kind = forms.TypedChoiceField(choices=Outcome.choices, coerce=Outcome)
    solution = forms.ChoiceField(label=_("Fixed by step"), required=False)

    def __init__(self, *args, solutions: list[tuple[str, str]] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["solution"].choices = [("", "—"), *solutions]

    def clean(self):
        data = super().clean()
        if data.get("kind") == Outcome.RESOLVED and not data.get("solution"):
            raise forms.ValidationError(_("Say which step fixed it."))
        if data.get("kind") == Outcome.NOT_FIXED and not data.get("solution"):
            raise forms.ValidationError(_("Say which step was tried."))
        return data


class FeedbackForm(forms.Form):
    # The merchant's two buttons, "fixed" and "not-fixed", as outcomes.
    outcome = forms.TypedChoiceField(
        choices=[("fixed", _("Fixed")), ("not-fixed", _("Not fixed"))],
        coerce=lambda value: Outcome.RESOLVED if value == "fixed" else Outcome.NOT_FIXED,
    )
    solution = forms.ChoiceField(required=False)
    tried = forms.MultipleChoiceField(required=False)

    def __init__(self, *args, solutions: list[tuple[str, str]] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["solution"].choices = [("", "—"), *solutions]
        self.fields["tried"].choices = list(solutions)

    def clean(self):
        data = super().clean()
        if data.get("outcome") == Outcome.RESOLVED and not data.get("solution"):
            raise forms.ValidationError(_("Please say which step fixed it."))
        if data.get("outcome") == Outcome.NOT_FIXED and not data.get("tried") and "tried" not in self.errors:
            # Steps tried without success are suggested no more: which ones were they?
            self.add_error("tried", _("Please tick the steps you tried, so that we suggest other ones."))
        return data


class EscalationForm(forms.Form):
    token = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)
    name = PlainTextField(
        label=_("Your name"), max_length=50, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    phone = PhoneField(
        label=_("Mobile number"),
        mobile=True,
        help_text=_("A mainland China mobile number, e.g. 138 0013 8000."),
        widget=forms.TextInput(attrs={"autocomplete": "tel"}),
        error_messages={"invalid": _("Enter an 11-digit mainland China mobile number, e.g. 138 0013 8000.")},
    )
    merchant_number = forms.RegexField(
        label=_("Merchant number (optional)"),
        regex=r"^[0-9A-Za-z-]{4,30}$",
        required=False,
        max_length=30,
        help_text=_("Printed on your sales slips; it helps us find your terminal."),
        error_messages={"invalid": _("Use the letters and digits printed on your sales slip.")},
    )
    email = forms.EmailField(
        label=_("E-mail (optional)"),
        required=False,
        max_length=254,
        help_text=_("If you would also like a written reply."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    contact_time = forms.ChoiceField(
        label=_("When can we call you?"), choices=Ticket.ContactTime.choices, initial=Ticket.ContactTime.ANY
    )
    has_consent = forms.BooleanField(
        label=_("I agree to be contacted about this problem at this number."),
        error_messages={"required": _("We can only call you if you agree to be contacted.")},
    )


DESCRIPTION_LIMIT = 1000


class DescriptionForm(forms.Form):
    description = PlainTextField(
        label=_("Describe what happened, or type what the screen says"),
        max_length=DESCRIPTION_LIMIT,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={
            "required": _("Type a few words about what happened, or start the questions instead."),
            "max_length": _("Please keep it under %(limit_value)d characters: the first lines are enough."),
        },
    )


class ConfirmFactsForm(DescriptionForm):
    """The facts understood from a description that the person kept ticked. Only facts
    the same description is understood as can be sent: anything else was tampered
    with, or the knowledge changed since the page was shown."""

    fact = forms.MultipleChoiceField(required=False)
    token = forms.CharField(required=False, max_length=64)

    def __init__(self, *args, understood: list[tuple[str, str]] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["fact"].choices = understood
        self.fields["fact"].error_messages["invalid_choice"] = _(
            "What we understood has changed since the page was shown: please check the items again."
        )


class SolutionAdminForm(forms.ModelForm):
    """The solution editor refuses steps that would show merchants nothing (see
    ``markup.shows_nothing``), in each language, with the reason."""

    def _clean_steps(self, name: str) -> str:
        value = self.cleaned_data.get(name) or ""
        if shows_nothing(value):
            raise forms.ValidationError(
                _("These steps show nothing once made safe: %(reason)s"),
                code="empty_steps",
                params={"reason": EMPTY_STEPS_REASON},
            )
        return value

    def clean_steps_zh_hans(self) -> str:
        return self._clean_steps("steps_zh_hans")

    def clean_steps_en(self) -> str:
        return self._clean_steps("steps_en")
