"""Phone numbers stored as typed → E.164 (+8613800138000), as the forms now clean them.

A number that parses as a valid one (China by default) is rewritten in E.164, whatever
digits it was typed in. Anything else is left as it was, unless it holds no digits 0-9
at all (e.g. "((((((") or other digits too: no number to call, so it is cleared and
nothing stored keeps digits other than 0-9. The parsing is written out here, not imported: a migration
must behave the same whatever later code does.
"""

import phonenumbers
from django.db import migrations


def normalised(value: str) -> str:
    try:
        number = phonenumbers.parse(value, "CN")
    except phonenumbers.NumberParseException:
        number = None
    if number is not None and phonenumbers.is_valid_number(number):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if not any(ch in "0123456789" for ch in value) or any(ch.isdigit() and ch not in "0123456789" for ch in value):
        return ""
    return value


def normalise_phone_numbers(apps, schema_editor):
    for name in ("Ticket", "Diagnosis"):
        model = apps.get_model("wizard", name)
        for pk, phone in model.objects.exclude(phone="").values_list("pk", "phone").iterator():
            if (new := normalised(phone)) != phone:
                model.objects.filter(pk=pk).update(phone=new)


class Migration(migrations.Migration):
    dependencies = [("wizard", "0005_intake_phrases")]

    # Going back keeps E.164: the old code shows and dials it as it is.
    operations = [migrations.RunPython(normalise_phone_numbers, migrations.RunPython.noop)]
