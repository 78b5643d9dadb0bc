"""Schemas of the breach register: what is declared, assessed, measured, drafted and exported."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from rujai.incidents.clock import Level, Risk
from rujai.kit.inputs import INT32_MAX

Status = Literal["open", "assessed", "notified", "no_notice", "closed"]
STATUSES: tuple[Status, ...] = ("open", "assessed", "notified", "no_notice", "closed")
Decision = Literal["notify", "notify_and_subjects", "no_notice"]
NoticeTo = Literal["regulator", "controller"]
Audience = Literal["regulator", "controller", "subject"]
Lang = Literal["th", "en"]

# The life cycle (TH-BRE-01): open -> assessed -> notified | no_notice -> closed. A new
# assessment may follow another until a notice went out.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    "open": frozenset({"assessed"}),
    "assessed": frozenset({"assessed", "notified", "no_notice"}),
    "notified": frozenset({"notified", "closed"}),
    "no_notice": frozenset({"assessed", "closed"}),
    "closed": frozenset(),
}

Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
CategoryId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,62}$")]


class IncidentCreate(BaseModel):
    """A breach the controller became aware of: when, what, which systems and data, which window."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1, max_length=10_000)
    aware_at: datetime = Field(description="When the controller became aware (starts the clock).")
    occurred_from: datetime
    occurred_to: datetime
    systems: list[Short] = Field(default_factory=list, max_length=32)
    categories: list[CategoryId] = Field(min_length=1, max_length=32)

    @model_validator(mode="after")
    def _window(self) -> IncidentCreate:
        for name in ("aware_at", "occurred_from", "occurred_to"):
            if getattr(self, name).tzinfo is None:
                raise ValueError(f"{name} needs a time zone (e.g. +07:00 or Z)")
        if self.occurred_to < self.occurred_from:
            raise ValueError("occurred_to is before occurred_from")
        return self


class ClockRead(BaseModel):
    """The 72-hour clock (TH-BRE-01, EU-04) at the time of reading."""

    deadline: datetime
    deadline_th: str
    deadline_en: str
    hours_left: float
    is_overdue: bool
    is_due_soon: bool
    is_stopped: bool
    notice_to: NoticeTo


class IncidentRead(BaseModel):
    """An incident with its clock; ``description`` may name a person (shown to staff only)."""

    __personal__ = True

    id: uuid.UUID
    reference: str
    title: str
    description: str
    systems: list[str]
    categories: list[str]
    aware_at: datetime
    occurred_from: datetime
    occurred_to: datetime
    status: Status
    notice_to: NoticeTo
    notified_at: datetime | None
    notice_reference: str | None
    closed_at: datetime | None
    created_by: str
    updated_by: str
    created_at: datetime
    updated_at: datetime
    clock: ClockRead
    assessments: list[AssessmentRead] = Field(default_factory=list)


class AssessmentCreate(BaseModel):
    """A risk assessment with the factors of the PDPC's breach notification (2022)."""

    model_config = ConfigDict(extra="forbid")

    data_kinds: list[CategoryId] = Field(min_length=1, max_length=32)
    subject_count: int = Field(ge=0, le=INT32_MAX)
    record_count: int = Field(ge=0, le=INT32_MAX)
    is_sensitive: bool
    has_minors: bool
    likelihood: Level
    severity: Level
    measures: str = Field(min_length=1, max_length=10_000)
    decision: Decision
    reasoning: str = Field(min_length=10, max_length=10_000)


class AssessmentRead(BaseModel):
    """An assessment as kept, with the risk the factors give and whether the decision follows it."""

    __personal__ = True

    id: uuid.UUID
    data_kinds: list[str]
    subject_count: int
    record_count: int
    is_sensitive: bool
    has_minors: bool
    likelihood: Level
    severity: Level
    risk: Risk
    measures: str
    decision: Decision
    reasoning: str
    assessed_by: str
    assessed_at: datetime
    follows_risk: bool


class CategoryCount(BaseModel):
    """How many subjects and records of one category the breach touched."""

    category: str
    subjects: int
    records: int
    is_sensitive: bool


class AffectedSubject(BaseModel):
    """One affected subject: for roles that may see identities only (customer id)."""

    __personal__ = True

    subject_id: uuid.UUID
    customer_id: str | None
    categories: list[str]
    is_minor: bool


class BlastRadiusRead(BaseModel):
    """Who and which categories a breach touched, measured from the data (TH-BRE-01).

    Counts for everyone allowed to see incidents; ``subjects`` only when identities were asked
    for by a role that may see them (otherwise ``None``).
    """

    incident_id: uuid.UUID
    occurred_from: datetime
    occurred_to: datetime
    categories: list[CategoryCount]
    subject_count: int
    record_count: int
    minor_count: int
    sensitive_subject_count: int
    sensitive_categories: list[str]
    by_jurisdiction: dict[str, int]
    subjects: list[AffectedSubject] | None = None


class DraftRead(BaseModel):
    """A notice draft in one language: to the regulator (or controller) or to a subject."""

    audience: Audience
    lang: Lang
    subject: str
    body: str


class DraftsRead(BaseModel):
    """Both drafts of an incident in one language; ``to_subjects`` only where the risk is high."""

    incident_id: uuid.UUID
    lang: Lang
    to_authority: DraftRead
    to_subjects: DraftRead | None


class NotifyCreate(BaseModel):
    """Record that the notice to the regulator (or controller) went out, or send to subjects."""

    model_config = ConfigDict(extra="forbid")

    audience: Literal["authority", "subjects"]
    reference: str | None = Field(None, max_length=128, description="The regulator's reference.")
    lang: Lang = "th"


class NoticeRead(BaseModel):
    """A notice recorded: which audience, which channel, when (the subject stays in the table)."""

    id: uuid.UUID
    audience: Audience
    channel: str
    lang: Lang
    delivered: bool
    reference: str | None
    sent_at: datetime


class NotifyResult(BaseModel):
    """What a notify step did: counts only, and the incident's new status."""

    incident_id: uuid.UUID
    audience: Literal["authority", "subjects"]
    status: Status
    sent: int
    without_contact: int


IncidentRead.model_rebuild()
