"""The JSON API (``/api/v1/``): the diagnosis for other systems — a provider's app, a
bank's site, a chat bot, a CRM — authenticated by API keys (wizard/models/integrations.py).

Every change goes through :mod:`wizard.diagnoses`, as the HTML wizard's and the agent
console's do, so a diagnosis started here opens there by its code, and the other way
round. ``api`` builds the :class:`ninja.NinjaAPI` and its errors, ``auth`` the keys, their
scopes and limits, ``state`` what a diagnosis looks like in JSON, ``middleware`` which
browsers may call (and errors as JSON everywhere under /api/), ``docs`` the reference
page, ``admin`` the keys in the admin, and ``diagnoses``, ``agent`` and ``knowledge`` the
operations.
"""
