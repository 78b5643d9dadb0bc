"""Schemas of the consent domain: the change a client sends, ledger rows and per-purpose status."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from rujai.kit.inputs import INT32_MAX
from rujai.policy.rules import Role
from rujai.policy.schemas import Lang, LawfulBasis, Text
from rujai.profiles.schemas import AgeBand

ConsentAction = Literal["grant", "withdraw"]
Actor = Literal["self", "parent", "guardian", "curator", "staff"]
ConsentStatus = Literal[
    "granted",
    "withdrawn",
    "none",
    "expired",
    "notice_outdated",
    "pending_guardian",
    "guardian_required",
    "restricted",
    "objected",
    "age_required",
    "denied",
]

# Who the ledger counts a record for (TH-MIN-01): the subject (self, or staff on their behalf) or
# the person with parental authority, guardian or curator.
ROLE_OF_ACTOR: dict[str, Role] = {
    "self": "subject",
    "staff": "subject",
    "parent": "guardian",
    "guardian": "guardian",
    "curator": "guardian",
}


class ConsentCreate(BaseModel):
    """One grant or withdrawal; withdrawing needs no more than granting (TH-CON-03)."""

    model_config = ConfigDict(extra="forbid")

    purpose: str = Field(min_length=1, max_length=63, description="A purpose id of the policy.")
    action: ConsentAction
    language: Lang = Field(description="Language the notice was shown in (TH-CON-05).")
    channel: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)
    ] = Field(description="Where it happened: web, app, store, call_center, ...")
    actor: Actor = Field("self", description="Who acted; parent/guardian/curator act as guardian.")
    actor_ref: str | None = Field(
        None, max_length=64, description="Pseudonymous reference of the staff member or guardian."
    )
    notice_version: int | None = Field(
        None,
        ge=1,
        le=INT32_MAX,
        description="Notice version shown; a grant must name the current one.",
    )
    expires_at: AwareDatetime | None = Field(None, description="Optional end of a grant.")
    explicit: bool = Field(
        False, description="Explicit consent was given (required for sensitive data, TH-SEN-01)."
    )
    birth_date: date | None = Field(
        None, description="The subject's birth date, when a grant needs the age (TH-MIN-01)."
    )
    age_band: AgeBand | None = Field(
        None,
        description="Self-declared age band (under_10, 10_19, adult; EU under_16, 16_plus), "
        "when no birth date is given and a grant for profiling or marketing needs the age "
        "(TH-MIN-01, EU-03).",
    )


class ConsentSubjectCreate(ConsentCreate):
    """A change for a customer (``customer_id``) or a website visitor (``anonymous_id``): one."""

    customer_id: str | None = Field(None, min_length=1, max_length=128)
    anonymous_id: str | None = Field(None, min_length=1, max_length=255)


class ConsentRecordRead(BaseModel):
    """One ledger row. Evidence is only a keyed hash, never the raw IP or user agent."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    id: uuid.UUID
    subject_id: uuid.UUID
    purpose: str
    action: ConsentAction
    notice_version: int
    notice_hash: str
    language: Lang
    channel: str
    actor: Actor
    actor_ref: str | None
    is_explicit: bool
    evidence_ip_hash: str | None
    evidence_ua_hash: str | None
    recorded_at: datetime
    expires_at: datetime | None


class PurposeConsentRead(BaseModel):
    """The consent status of one purpose, exactly as the policy chokepoint decides it."""

    model_config = ConfigDict(frozen=True)

    purpose: str
    title: Text
    basis: LawfulBasis
    notice_version: int
    status: ConsentStatus
    allowed: bool
    reason: str
    reason_text: Text
    last_recorded_at: datetime | None


class SubjectConsentsRead(BaseModel):
    """Every consent-based purpose of the policy with its status for one subject."""

    model_config = ConfigDict(frozen=True)

    subject_id: uuid.UUID
    policy_version: str
    purposes: list[PurposeConsentRead]
    age_known: bool = Field(
        True,
        description="False while neither a birth date nor an age band is on file: a grant for "
        "profiling or marketing must then carry one (TH-MIN-01; what a banner asks).",
    )


class ConsentOverviewRead(BaseModel):
    """Current status per purpose plus the subject's whole ledger, oldest first."""

    model_config = ConfigDict(frozen=True)

    current: SubjectConsentsRead
    history: list[ConsentRecordRead]


class ConsentRateRead(BaseModel):
    """Of the subjects asked about a purpose by the end of a week, how many had said yes then.

    A count that could single someone out (below the aggregate threshold k) is None.
    """

    model_config = ConfigDict(frozen=True)

    purpose: str
    week_start: date
    asked: int | None
    granted: int | None

    @property
    def rate(self) -> float | None:
        """The share granted, or None when nobody had been asked or a count is withheld."""
        if not self.asked or self.granted is None:
            return None
        return self.granted / self.asked


class LedgerRecordRef(BaseModel):
    """A ledger row a past state rests on (TH-CON-04); ``record_id`` is also its receipt id."""

    model_config = ConfigDict(frozen=True)

    record_id: uuid.UUID
    role: Role
    action: ConsentAction
    actor: Actor
    notice_version: int
    notice_hash: str
    language: Lang
    channel: str
    recorded_at: datetime
    expires_at: datetime | None


PastState = Literal["granted", "withdrawn", "none"]


class PurposeAtRead(BaseModel):
    """One purpose at a past time: what the ledger proves, and what the door would have decided."""

    model_config = ConfigDict(frozen=True)

    purpose: str
    title: Text
    basis: LawfulBasis
    state: PastState
    by: Literal["self", "guardian"] | None
    notice_version: int | None
    language: Lang | None
    allowed: bool
    reason: str
    reason_text: Text
    records: list[LedgerRecordRef]


class ConsentsAtRead(BaseModel):
    """A subject's consents as the ledger proves them at ``at`` (TH-CON-04, GDPR Art. 7(1))."""

    model_config = ConfigDict(frozen=True)

    subject_id: uuid.UUID
    at: datetime
    action: str
    policy_version: str
    purposes: list[PurposeAtRead]
