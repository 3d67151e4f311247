"""The app's models, one module per concern, all importable from ``wizard.models``.

- ``content``: the knowledge support admins edit (drafts until published);
- ``revisions``: the published, immutable knowledge revisions;
- ``diagnoses``: cases, their answers, events and tickets;
- ``archive``: the anonymous daily counts kept when diagnoses are purged;
- ``integrations``: outside systems using the API, the embedded wizard and webhooks;
- ``webhooks``: the delivery log of the webhook events sent to them.
"""

from .archive import ArchivedDay
from .base import TimeStamped
from .content import (
    DEFAULT_LIKELIHOOD,
    Category,
    Cause,
    CauseSolution,
    Evidence,
    Option,
    Provider,
    PublishedQuerySet,
    Question,
    Solution,
    Strength,
    Symptom,
    slug_field,
    slug_validator,
)
from .diagnoses import (
    CODE_ALPHABET,
    CODE_LENGTH,
    Answer,
    CaseEvent,
    Diagnosis,
    Ticket,
    new_case_code,
    new_ticket_reference,
    normalise_case_code,
)
from .integrations import ApiKey, Integration
from .revisions import KnowledgeRevision
from .webhooks import WebhookDelivery

__all__ = [
    "CODE_ALPHABET",
    "CODE_LENGTH",
    "DEFAULT_LIKELIHOOD",
    "Answer",
    "ApiKey",
    "ArchivedDay",
    "CaseEvent",
    "Category",
    "Cause",
    "CauseSolution",
    "Diagnosis",
    "Evidence",
    "Integration",
    "KnowledgeRevision",
    "Option",
    "Provider",
    "PublishedQuerySet",
    "Question",
    "Solution",
    "Strength",
    "Symptom",
    "Ticket",
    "TimeStamped",
    "WebhookDelivery",
    "new_case_code",
    "new_ticket_reference",
    "normalise_case_code",
    "slug_field",
    "slug_validator",
]
