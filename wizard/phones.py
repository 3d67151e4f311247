"""Phone numbers as people type them → one stored form, E.164 (``+8613800138000``).

Parsed and validated with ``phonenumbers`` (libphonenumber's metadata: which ranges are
mobile, which lengths exist), mainland China by default. Only the ASCII digits 0–9 count
as digits: ``phonenumbers`` would quietly read Bengali or Arabic-Indic digits too, and a
number that looks like one thing and dials another has no place in a ticket. Full-width
digits are the exception: a Chinese input method in full-width mode types them, so they
are read as 0–9 rather than refused.

Whatever shows or dials a stored number goes through :func:`display`, :func:`tel_uri`
or :func:`masked`, which parse it again: a value stored before numbers were normalised
is shown as it is, and dialled only if it parses as a valid number.
"""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberFormat, PhoneNumberType

REGION = "CN"

# Full-width forms (U+FF01–U+FF5E) → their ASCII twins, and the ideographic space → a space.
FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
ASCII_DIGITS = frozenset("0123456789")
# Besides digits, what people put in a number: a leading +, spaces, hyphens, dots, brackets.
PUNCTUATION = frozenset("+ -.()")
LONGEST_TYPED = 30  # "+86 (0) 138-0013-8000" with room to spare; anything longer is not a number
MOBILE_TYPES = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)


class PhoneError(ValueError):
    """Not a usable number; ``code`` says why: "digits" (digits other than 0–9) or "invalid"."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def normalise(text: str, *, mobile: bool = False) -> str:
    """The number ``text`` in E.164, or PhoneError. ``mobile``: only a mainland China mobile."""
    text = text.translate(FULL_WIDTH).strip()
    if any(ch.isdigit() and ch not in ASCII_DIGITS for ch in text):
        raise PhoneError("digits")
    if (
        len(text) > LONGEST_TYPED
        or not any(ch in ASCII_DIGITS for ch in text)
        or any(ch not in ASCII_DIGITS and ch not in PUNCTUATION for ch in text)
    ):
        raise PhoneError("invalid")
    number = _parse(text)
    if number is None or not phonenumbers.is_valid_number(number):
        raise PhoneError("invalid")
    if mobile and (
        phonenumbers.region_code_for_number(number) != REGION
        or phonenumbers.number_type(number) not in MOBILE_TYPES
    ):
        raise PhoneError("invalid")
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def _parse(text: str) -> PhoneNumber | None:
    try:
        return phonenumbers.parse(text, REGION)
    except NumberParseException:
        return None


def _stored(value: str) -> PhoneNumber | None:
    """A stored value as a valid number, if it is one written in ASCII digits."""
    if not value or any(ch.isdigit() and ch not in ASCII_DIGITS for ch in value):
        return None
    number = _parse(value)
    return number if number is not None and phonenumbers.is_valid_number(number) else None


def display(value: str) -> str:
    """For people: ``138 0013 8000`` for a number in China, ``+44 …`` for one abroad."""
    number = _stored(value)
    if number is None:
        return value
    if phonenumbers.region_code_for_number(number) == REGION:
        return phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)


def tel_uri(value: str) -> str:
    """``tel:+8613800138000`` to dial the number, or "" when it is not a valid number."""
    number = _stored(value)
    return "tel:" + phonenumbers.format_number(number, PhoneNumberFormat.E164) if number else ""


def masked(value: str) -> str:
    """Enough for its owner to recognise it, too little to call it: ``139****5678``."""
    number = _stored(value)
    if number is None:
        return "****"
    digits = phonenumbers.national_significant_number(number)
    return f"{digits[:3]}****{digits[-4:]}" if len(digits) > 7 else "****" + digits[-2:]
