"""The request and response bodies, as pydantic models: what the OpenAPI document
describes and what every request is checked against before anything runs."""

from __future__ import annotations

from typing import Annotated, Literal

from ninja import Field, Schema
from pydantic import AfterValidator, StringConstraints

from ..forms import CONTROL_CHARACTERS, DESCRIPTION_LIMIT


def _plain(value: str) -> str:
    """Text a person typed: control characters are refused (PostgreSQL refuses NUL)."""
    if CONTROL_CHARACTERS.search(value):
        raise ValueError("This cannot contain control characters.")
    return value


Slug = Annotated[str, StringConstraints(pattern=r"^[-a-zA-Z0-9_]+$", min_length=1, max_length=80)]
Number = Annotated[int, Field(strict=True, ge=1, le=1000)]
Language = Literal["zh-hans", "en"]


def plain_text(max_length: int) -> type[str]:
    return Annotated[str, StringConstraints(max_length=max_length), AfterValidator(_plain)]  # type: ignore[return-value]


# --- Requests -----------------------------------------------------------------------------


class StartIn(Schema):
    language: Language = Field(description="The language of the questions and results.")
    description: plain_text(DESCRIPTION_LIMIT) = Field(  # type: ignore[valid-type]
        "",
        description="What happened, in the merchant's words. The facts understood from it are "
        "answered at once (as a merchant who confirms them all); the questions ask only the rest.",
    )
    token: plain_text(40) = Field(  # type: ignore[valid-type]
        "",
        description="Any unique string: sending the same start again (a retry) returns the same diagnosis.",
    )


class AnswerIn(Schema):
    number: Number = Field(
        description="The step answered: the question's number, or an earlier one to change it."
    )
    question: Slug = Field(description="The slug of the question asked at that step.")
    answer: Slug = Field(description='One of the question\'s option values, or "unsure".')
    seen: Annotated[int, Field(strict=True, ge=0, le=1000)] | None = Field(
        None,
        description="How many answers the client had seen. Changing an earlier answer when more have "
        "been given since (by another channel) is then a conflict (409) instead of a change.",
    )


class OutcomeIn(Schema):
    fixed: bool = Field(description="Whether the problem is fixed.")
    solution: Slug | None = Field(None, description="The step that fixed it (required when fixed).")
    tried: list[Slug] = Field(
        default_factory=list,
        max_length=50,
        description="The steps tried without success (when not fixed): they are not suggested again.",
    )


class EscalationIn(Schema):
    name: plain_text(50) = Field(description="The merchant's name.")  # type: ignore[valid-type]
    phone: plain_text(40) = Field(description="A mainland China mobile number, e.g. 138 0013 8000.")  # type: ignore[valid-type]
    merchant_number: plain_text(30) = Field("", description="Printed on the sales slips (optional).")  # type: ignore[valid-type]
    email: plain_text(254) = Field("", description="For a written reply (optional).")  # type: ignore[valid-type]
    contact_time: Literal["any", "morning", "afternoon", "evening"] = "any"
    has_consent: bool = Field(
        description="The merchant agreed to be contacted about this problem at this number, after being "
        "shown the privacy notice (privacy_notice_url). Must be true."
    )
    token: plain_text(40) = Field(  # type: ignore[valid-type]
        "", description="Any unique string: sending the same request again returns the same ticket."
    )


class NotesIn(Schema):
    notes: plain_text(5000) = Field(description="The agent's notes on the case (replaces them).")  # type: ignore[valid-type]


# --- Responses ----------------------------------------------------------------------------


class OptionOut(Schema):
    value: str
    label: str


class QuestionOut(Schema):
    number: int
    slug: str
    text: str
    help: str
    options: list[OptionOut]


class AnswerOut(Schema):
    number: int
    question: str
    answer: str
    question_text: str
    answer_label: str
    from_description: bool


class RankedCause(Schema):
    cause: str
    title: str
    probability: float


class Hazard(Schema):
    symptom: str
    warning: str


class Understood(Schema):
    symptom: str
    polarity: Literal["present", "absent"]
    label: str
    excerpt: str
    question: str
    answer: str


class ResultCause(Schema):
    cause: str
    title: str
    explanation: str
    category: str
    probability: float
    because: list[int] = Field(description="The numbers of the answers that point to this cause.")


class ResultStep(Schema):
    solution: str
    title: str
    text: str = Field(description="The step's instructions, in Markdown.")
    html: str = Field(description="The same, as safe HTML.")
    effort_minutes: int
    is_escalation: bool
    cause: str


class ProviderOut(Schema):
    slug: str
    kind: str
    name: str
    hotline: str
    hours: str
    website: str
    guidance: str


class ResultOut(Schema):
    causes: list[ResultCause]
    steps: list[ResultStep]
    providers: list[ProviderOut]
    provider_is_known: bool
    stop: str = Field(description='Why the questions stopped: "confident", "exhausted", "budget" or "early".')


class State(Schema):
    code: str
    display_code: str
    status: str
    channel: str
    language: str
    revision: int
    question: QuestionOut | None
    answers: list[AnswerOut]
    ranking: list[RankedCause]
    safety: list[Hazard]
    tried: list[str]
    wizard_url: str = Field(description="The same diagnosis in the merchant wizard.")
    result: ResultOut | None
    understood: list[Understood] | None = None


class FieldError(Schema):
    loc: list[str | int]
    msg: str
    type: str


class Error(Schema):
    error: str = Field(description="A stable code: unauthorized, scope, locked, not-found, validation, …")
    message: str
    fields: list[FieldError] | None = None
    state: State | None = None


class TicketOut(Schema):
    ticket: str
    status: str
    privacy_notice_url: str
    state: State


class NotesOut(Schema):
    notes: str


class TimelineAnswer(Schema):
    number: int
    question: str
    answer: str
    by: str
    from_description: bool
    at: str


class TimelineEvent(Schema):
    kind: str
    by: str
    detail: str
    at: str


class TicketSummary(Schema):
    reference: str
    status: str
    created: str


class TimelineOut(Schema):
    code: str
    notes: str
    answers: list[TimelineAnswer]
    events: list[TimelineEvent]
    tickets: list[TicketSummary]
