"""Stored phone numbers in templates: ``{{ number|phone }}`` to read, ``{{ number|tel }}``
to dial (empty when the number is not one), ``{{ number|masked_phone }}`` for its owner."""

from django import template

from .. import phones

register = template.Library()

register.filter("phone", phones.display)
register.filter("tel", phones.tel_uri)
register.filter("masked_phone", phones.masked)
