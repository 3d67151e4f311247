"""Contact details: phone numbers parsed and stored in one form, dialled only from it, and
text fields that refuse control characters with a message that says so.

The numbers are the ones the suite uses elsewhere, the issue's examples, and the
phonenumbers library's own example numbers: none is made up here.
"""

from __future__ import annotations

import phonenumbers
import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import translation

from wizard import phones, roles
from wizard.forms import AgentStartForm, EscalationForm, NotesForm
from wizard.models import Diagnosis, KnowledgeRevision, Ticket

from .conftest import own_case

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
BENGALI = "13৮০০১৩৮০০০"  # 13800138000 with Bengali digits after the first two
ARABIC_INDIC = "١٣٨٠٠١٣٨٠٠٠"
FULLWIDTH = "１３８ ００１３ ８０００"  # as a Chinese input method in full-width mode types it
LANDLINE = phonenumbers.format_number(
    phonenumbers.example_number_for_type("CN", phonenumbers.PhoneNumberType.FIXED_LINE),
    phonenumbers.PhoneNumberFormat.NATIONAL,
)


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def case(seeded, client) -> Diagnosis:
    """A finished case, started by this test's client (which may escalate it)."""
    diagnosis = Diagnosis.objects.create(revision=KnowledgeRevision.objects.latest(), status="diagnosed")
    own_case(client, diagnosis)
    return diagnosis


@pytest.fixture
def agent_client(client, seeded):
    agent = get_user_model().objects.create_user("phone.agent")
    roles.grant(agent, roles.AGENT)
    client.force_login(agent)
    return client


def escalation(**overrides) -> dict:
    return {
        "token": "tok-phone",
        "name": "王老板",
        "phone": "138 0013 8000",
        "contact_time": "any",
        "has_consent": "on",
        **overrides,
    }


# --- The merchant's mobile number --------------------------------------------------------


@pytest.mark.parametrize("typed", [BENGALI, ARABIC_INDIC, "13800138000²"])
def test_a_number_with_digits_other_than_0_to_9_is_refused_clearly(client, case, typed):
    response = client.post(reverse("wizard:escalate", args=[case.code]), escalation(phone=typed), **EN)
    assert response.status_code == 400
    assert "Type the number with the digits 0–9." in response.content.decode()
    assert not Ticket.objects.exists()


def test_full_width_digits_from_a_chinese_input_method_are_read_as_0_to_9(client, case):
    response = client.post(reverse("wizard:escalate", args=[case.code]), escalation(phone=FULLWIDTH))
    assert response.status_code == 303
    assert Ticket.objects.get().phone == "+8613800138000"


@pytest.mark.parametrize(
    "typed", ["13800138000", "138 0013 8000", "+86 138-0013-8000", "8613800138000", "0086 13800138000"]
)
def test_a_mobile_number_is_stored_in_e164_however_it_was_typed(typed):
    form = EscalationForm(escalation(phone=typed))
    assert form.is_valid(), form.errors
    assert form.cleaned_data["phone"] == "+8613800138000"


@pytest.mark.parametrize(
    "typed", ["((((((", "12800138000", LANDLINE, "138 0013 8000 ext 12", "138\x000013 8000"]
)
def test_the_escalation_form_takes_only_a_mainland_mobile_number(typed):
    form = EscalationForm(escalation(phone=typed))
    assert not form.is_valid()
    assert form.errors["phone"] == ["Enter an 11-digit mainland China mobile number, e.g. 138 0013 8000."]


# --- The caller's phone in the agent console ---------------------------------------------


@pytest.mark.parametrize("typed", ["((((((", "()-- +", "call me", "12345", BENGALI, "138 0013 8000\x07"])
def test_the_agent_caller_phone_refuses_what_is_not_a_number(agent_client, typed):
    response = agent_client.post(reverse("wizard:agent-start"), {"phone": typed}, **EN)
    assert response.status_code == 400
    errors = response.context["start_form"].errors["phone"]
    assert errors in (["Enter a phone number, e.g. 138 0013 8000."], ["Type the number with the digits 0–9."])
    assert not Diagnosis.objects.filter(channel="agent").exists()


@pytest.mark.parametrize(
    ("typed", "stored"), [("138 0013 8000", "+8613800138000"), (FULLWIDTH, "+8613800138000")]
)
def test_the_agent_caller_phone_is_stored_in_e164(agent_client, typed, stored):
    response = agent_client.post(reverse("wizard:agent-start"), {"phone": typed})
    assert response.status_code == 303
    assert Diagnosis.objects.get(channel="agent").phone == stored


def test_the_caller_may_call_from_a_landline(agent_client):
    form = AgentStartForm({"phone": LANDLINE})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["phone"].startswith("+86")


# --- Showing and dialling ------------------------------------------------------------------


def test_the_ticket_page_dials_the_stored_number_and_shows_it_readably(agent_client, case):
    ticket = Ticket.objects.create(diagnosis=case, name="王老板", phone="+8613800138000", has_consent=True)
    html = agent_client.get(reverse("wizard:agent-ticket", args=[ticket.reference])).content.decode()
    assert '<a href="tel:+8613800138000">138 0013 8000</a>' in html


@pytest.mark.parametrize(
    ("stored", "link"),
    [
        ("13800138000", "tel:+8613800138000"),  # stored before numbers were normalised
        (BENGALI, ""),  # never dialled from anything but ASCII digits
        ("((((((", ""),
        ("", ""),
    ],
)
def test_a_tel_link_is_made_only_from_a_normalised_number(stored, link):
    assert phones.tel_uri(stored) == link


def test_a_number_is_shown_in_the_national_form_and_masked_for_the_merchant():
    assert phones.display("+8613912345678") == "139 1234 5678"
    assert phones.masked("+8613912345678") == "139****5678"
    assert phones.display("((((((") == "(((((("  # what cannot be read is shown as it is
    assert phones.masked("((((((") == "****"


def test_the_stored_numbers_are_normalised_by_the_migration(case):
    from importlib import import_module

    from django.apps import apps

    migration = import_module("wizard.migrations.0006_phone_numbers_e164")
    Diagnosis.objects.filter(pk=case.pk).update(phone="((((((")
    typed = Ticket.objects.create(diagnosis=case, name="a", phone="138 0013 8000")
    bengali = Ticket.objects.create(diagnosis=case, name="b", phone=BENGALI)
    migration.normalise_phone_numbers(apps, None)
    typed.refresh_from_db()
    bengali.refresh_from_db()
    case.refresh_from_db()
    assert typed.phone == bengali.phone == "+8613800138000"
    assert case.phone == ""  # nothing to call: not kept as a number


# --- Control characters --------------------------------------------------------------------


@pytest.mark.parametrize("notes", ["caller said\x00", "\x00" * 6000, "bell\x07", "x" * 4999 + "\x1b"])
def test_notes_with_control_characters_say_so_not_that_they_are_too_long(notes):
    form = NotesForm({"notes": notes})
    assert not form.is_valid()
    assert form.errors["notes"] == ["Notes cannot contain control characters."]


def test_notes_may_have_tabs_and_line_breaks():
    form = NotesForm({"notes": "line one\r\n\tline two"})
    assert form.is_valid(), form.errors


@pytest.mark.parametrize(
    ("form", "data", "field"),
    [
        (EscalationForm, escalation(name="王\x00老板"), "name"),
        (EscalationForm, escalation(name="王\x1b老板"), "name"),
        (AgentStartForm, {"merchant_number": "898\x00"}, "merchant_number"),
        (AgentStartForm, {"merchant_number": "898\x7f"}, "merchant_number"),
    ],
)
def test_names_and_numbers_with_control_characters_say_so(form, data, field):
    bound = form(data)
    assert not bound.is_valid()
    assert bound.errors[field] == ["This cannot contain control characters."]


# --- An optional e-mail ------------------------------------------------------------------


def test_an_optional_email_is_kept_for_the_agents_and_a_wrong_one_is_refused(client, case, agent_client):
    url = reverse("wizard:escalate", args=[case.code])
    refused = client.post(url, escalation(email="wang@@example"), **EN)
    assert refused.status_code == 400
    assert "Enter a valid email address." in refused.content.decode()
    assert client.post(url, escalation(email="wang@example.com")).status_code == 303
    ticket = Ticket.objects.get()
    assert ticket.email == "wang@example.com"
    page = agent_client.get(reverse("wizard:agent-ticket", args=[ticket.reference])).content.decode()
    assert 'href="mailto:wang@example.com"' in page


def test_the_email_may_be_left_out(client, case):
    assert client.post(reverse("wizard:escalate", args=[case.code]), escalation()).status_code == 303
    assert Ticket.objects.get().email == ""
