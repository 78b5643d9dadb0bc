"""Schemas of the events domain: what a client sends to track, and what it gets back.

``TrackEvent`` is Segment-like. Which event types and properties are kept is decided later by the
policy (TH-MIN-02); here only shape and sizes are checked, so that a bad request is a 422 naming the
field and changes nothing. In a batch, each event is checked on its own (the input rules of
``rujai.kit.inputs``, then ``TrackEvent``): a bad one becomes an ``EventRejected``, dropped with the
reason ``invalid_event`` and its field, and never fails the others.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic.json_schema import SkipJsonSchema

from rujai.kit import inputs
from rujai.kit.time import utcnow

MAX_PROPERTIES = 64
MAX_PROPERTY_NAME = 64
MAX_FUTURE = timedelta(days=1)
# Older than this is a broken clock or a unit mix-up, not history (CDNOW starts in 1997).
OLDEST = datetime(1990, 1, 1, tzinfo=UTC)

EventStatus = Literal["accepted", "duplicate", "dropped"]
CustomerId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
AnonymousId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
MAX_MESSAGE_ID = 128
MessageId = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_MESSAGE_ID)
]


def new_message_id() -> str:
    """Return a fresh message id (idempotency is promised only for ids the client sends)."""
    return str(uuid.uuid4())


def timestamp_problem(value: datetime, now: datetime) -> str | None:
    """Return why ``value`` cannot be an event time at ``now``, or None."""
    if value > now + MAX_FUTURE:
        return "more than 1 day in the future"
    if value < OLDEST:
        return "before 1990-01-01"
    return None


class TrackEvent(BaseModel):
    """One event: a type declared in the policy, who did it, when, and its properties."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str = Field(min_length=1, max_length=63, description="An event type of the policy.")
    anonymous_id: AnonymousId | None = Field(None, description="A device or cookie id.")
    customer_id: CustomerId | None = Field(
        None,
        validate_default=True,
        description="The brand's customer id; wins over anonymous_id. One of the two is required.",
    )
    properties: dict[str, Any] = Field(
        default_factory=dict,
        description=f"At most {MAX_PROPERTIES}; undeclared ones are dropped (TH-MIN-02).",
    )
    timestamp: AwareDatetime = Field(
        default_factory=utcnow, description="When it happened (with a UTC offset); default now."
    )
    message_id: MessageId = Field(
        default_factory=new_message_id,
        description="Idempotency key: an event with a message id already stored is a duplicate.",
    )

    @field_validator("customer_id")
    @classmethod
    def _someone(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("anonymous_id") is None:
            raise ValueError("customer_id or anonymous_id is required")
        return value

    @field_validator("properties")
    @classmethod
    def _small(cls, value: dict[str, Any]) -> dict[str, Any]:
        if len(value) > MAX_PROPERTIES:
            raise ValueError(f"at most {MAX_PROPERTIES} properties")
        if any(not 0 < len(name) <= MAX_PROPERTY_NAME for name in value):
            raise ValueError(f"property names must be 1 to {MAX_PROPERTY_NAME} characters")
        return value

    @field_validator("timestamp")
    @classmethod
    def _plausible(cls, value: datetime) -> datetime:
        problem = timestamp_problem(value, utcnow())
        if problem is not None:
            raise ValueError(problem)
        return value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class EventRejected:
    """An event of a batch that breaks the input rules or the schema: where, never its value."""

    message_id: str
    detail: str


def _batch_event(value: Any) -> TrackEvent | EventRejected:
    """Check one event of a batch; a bad one is rejected on its own (``field: problem``)."""
    problem = inputs.find_problem(value)
    if problem is not None:
        field = ".".join(str(part) for part in problem.loc) or "event"
        return EventRejected(_given_message_id(value), f"{field}: {problem.message}")
    try:
        return TrackEvent.model_validate(value)
    except ValidationError as e:
        first = e.errors(include_url=False, include_input=False)[0]
        field = ".".join(str(part) for part in first["loc"]) or "event"
        return EventRejected(_given_message_id(value), f"{field}: {first['msg']}")


def _given_message_id(value: Any) -> str:
    """The message id a rejected event was sent with, if it is a usable one, else ''."""
    given = value.get("message_id") if isinstance(value, dict) else None
    if not isinstance(given, str) or inputs.text_problem(given) is not None:
        return ""
    return given.strip() if len(given.strip()) <= MAX_MESSAGE_ID else ""


BatchEvent = Annotated[
    TrackEvent | SkipJsonSchema[EventRejected],
    PlainValidator(_batch_event, json_schema_input_type=TrackEvent),
]


class BatchCreate(BaseModel):
    """Up to ``api.max_batch_events`` events in one call; a bad event is dropped on its own.

    An event that is not a valid ``TrackEvent`` (or holds a NUL, a lone surrogate, an integer
    outside 64 bits) gets the result ``dropped`` with reason ``invalid_event`` and the field in
    ``detail``; the other events are ingested.
    """

    model_config = ConfigDict(extra="forbid")
    # The input boundary (rujai.boundary) leaves these items to _batch_event, one by one.
    boundary_items: ClassVar[tuple[str, ...]] = ("events",)

    events: list[BatchEvent] = Field(min_length=1)


class EventResult(BaseModel):
    """What happened to one event. ``dropped`` is a normal answer and says why."""

    index: int
    message_id: str
    status: EventStatus
    reason: str | None = None
    detail: str | None = Field(
        None, description="For invalid_properties: the property and the problem, never its value."
    )
    dropped_properties: list[str] = Field(
        default_factory=list, description="Undeclared properties removed (TH-MIN-02)."
    )


class IngestSummary(BaseModel):
    """Counts of one call or batch, and per-event results when asked for."""

    accepted: int
    duplicates: int
    dropped_by_reason: dict[str, int]
    undeclared_properties: int = Field(
        0,
        description="Properties the policy does not declare, dropped from kept events (TH-MIN-02).",
    )
    results: list[EventResult] | None = None

    @property
    def dropped(self) -> int:
        """How many events were dropped, for any reason."""
        return sum(self.dropped_by_reason.values())


class EventRead(BaseModel):
    """A stored event with its properties opened."""

    __personal__: ClassVar[bool] = True  # holds a person's data: returned only behind a Permit

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    subject_id: uuid.UUID
    type: str
    category: str
    message_id: str
    occurred_at: datetime
    received_at: datetime
    properties: dict[str, Any]
    source: str
    is_partner_data: bool


class DropCountRead(BaseModel):
    """How many events of a type were dropped for a reason on a day. No personal data."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    day: date
    event_type: str
    reason: str
    count: int
