"""Schemas of the profiles domain.

No ``*Read`` schema carries the customer id or the birth date; identity values and trait values
leave only through functions that take a ``Permit``. ``SubjectRef`` is input, never output.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

AgeBand = Literal["under_10", "10_19", "adult", "under_16", "16_plus"]
# Thai bands (PDPA s.20: under 10, 10-19, 20 and over) and the EU's (GDPR Art. 8: 16).
AGE_BANDS: tuple[AgeBand, ...] = ("under_10", "10_19", "adult", "under_16", "16_plus")
ADULT_BAND: AgeBand = "adult"  # of full age in every jurisdiction of the policy (TH 20, EU 16)

# The age assumed when only a band is known (TH-MIN-01, EU-03): an age inside the band for which
# the strictest rule applies, so a band never grants more than the youngest in it would get
# ("under_16" may be under 10: 9; "16_plus" may be 16: a minor under Thai law, of age in the EU).
# Adults count as of full age (None, with ``is_of_age``).
BAND_AGE: dict[str, int | None] = {
    "under_10": 9,
    "10_19": 15,
    "adult": None,
    "under_16": 9,
    "16_plus": 16,
}


class SubjectRead(BaseModel):
    """A subject as other domains see it: no identifiers, no sealed values."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    age_band: AgeBand | None
    has_birth_date: bool
    is_restricted: bool
    objections: list[str]
    created_at: datetime
    updated_at: datetime


class ProfileFacts(BaseModel):
    """What the policy decision needs from a profile: age at a time, restriction, objections."""

    __personal__: ClassVar[bool] = True  # holds a person's data: returned only behind a Permit

    model_config = ConfigDict(frozen=True)

    subject_id: uuid.UUID
    age: int | None
    is_restricted: bool
    objections: frozenset[str]
    is_of_age: bool = False  # declared the "adult" band, no birth date (TH-MIN-01)


IdentityKind = Literal["email", "phone", "anonymous", "national_id"]
IDENTITY_KINDS: tuple[IdentityKind, ...] = ("email", "phone", "anonymous", "national_id")


@dataclass(frozen=True, slots=True)
class SubjectRef:
    """How a caller names a subject: the brand's customer id, else an anonymous device id."""

    customer_id: str | None
    anonymous_id: str | None


@dataclass(frozen=True, slots=True)
class ResolvedSubject:
    """A subject found (or made) for a ``SubjectRef``; ``data_key`` is None once shredded."""

    __personal__: ClassVar[bool] = True  # holds a person's data: returned only behind a Permit

    subject_id: uuid.UUID
    data_key: bytes | None = field(repr=False)
    partner_notified: bool


class IdentityRead(BaseModel):
    """One identity of a subject with its decrypted value (only through a permit, STYLE §3)."""

    __personal__: ClassVar[bool] = True  # holds a person's data: returned only behind a Permit

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    subject_id: uuid.UUID
    kind: IdentityKind
    value: str
    is_verified: bool
    created_at: datetime
    verified_at: datetime | None = Field(None, description="When the brand verified it, if known.")
    verification_method: str | None = Field(None, description="How the brand verified it.")


class IdentityLinkRead(BaseModel):
    """An identity linked to a subject, without its value."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    subject_id: uuid.UUID
    kind: IdentityKind
    is_verified: bool
    created_at: datetime
    is_new: bool


TraitDropReason = Literal["undeclared", "no_permitting_purpose"]


class TraitsResult(BaseModel):
    """Which traits were stored and which were dropped, with the reason (TH-MIN-02)."""

    model_config = ConfigDict(frozen=True)

    stored: list[str]
    dropped: dict[str, TraitDropReason]


class ProfileDataExport(BaseModel):
    """A subject's identities and traits, decrypted, for an access request (TH-DSR-01)."""

    __personal__: ClassVar[bool] = True  # holds a person's data: returned only behind a Permit

    model_config = ConfigDict(frozen=True)

    subject_id: uuid.UUID
    identities: list[IdentityRead]
    traits: dict[str, Any]


class TraitsRectified(TraitsResult):
    """A rectification's ``TraitsResult`` and the traits whose old value became a revision."""

    revisions: list[str]


class SubjectDataExport(BaseModel):
    """The subject row opened for an access request: customer id, birth date, facts (TH-DSR-01)."""

    __personal__: ClassVar[bool] = True  # holds a person's data: returned only behind a Permit

    model_config = ConfigDict(frozen=True)

    subject_id: uuid.UUID
    customer_id: str | None
    birth_date: date | None
    age_band: str | None
    is_restricted: bool
    objections: list[str]
    created_at: datetime
    merged_profiles: list[uuid.UUID]


ConsentMergeReason = Literal[
    "withdrawn_on_either_side",
    "grant_carried_over",
    "undo_restores_grant",
    "undo_withdraws_carried_grant",
]


class ConsentMergeChange(BaseModel):
    """One ledger record a merge (or its undo) appended to a subject's consent (TH-CON-03)."""

    model_config = ConfigDict(frozen=True)

    subject_id: uuid.UUID
    purpose: str
    action: Literal["grant", "withdraw"]
    record_id: uuid.UUID
    origin_record_id: uuid.UUID | None
    previous_record_id: uuid.UUID | None
    reason: ConsentMergeReason


class MergeRead(BaseModel):
    """An anonymous profile merged into a known one: what moved (ids and counts, no values)."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    into_subject_id: uuid.UUID
    from_subject_id: uuid.UUID
    actor: str
    merged_at: datetime
    undone_at: datetime | None
    identities_moved: int
    traits_moved: list[str]
    events_moved: int
    consent_changes: list[ConsentMergeChange]


TraitName = Annotated[str, StringConstraints(min_length=1, max_length=63)]


class IdentifyCreate(BaseModel):
    """``POST /v1/identify``: tie an anonymous visitor to a known customer and set traits."""

    model_config = ConfigDict(extra="forbid")

    customer_id: str = Field(min_length=1, max_length=128, description="The brand's customer id.")
    anonymous_id: str | None = Field(
        None, min_length=1, max_length=255, description="The device's anonymous id, if any."
    )
    traits: dict[TraitName, Any] = Field(
        default_factory=dict,
        max_length=64,
        description="Traits declared in the policy; others are dropped and reported (TH-MIN-02).",
    )
    timestamp: AwareDatetime | None = Field(
        None,
        description=(
            "When the client observed the traits (with a UTC offset). Accepted for client "
            "compatibility; rujai records its own clock, which a client cannot backdate."
        ),
    )


class IdentifyRead(BaseModel):
    """The subject's pseudonymous id, what happened to the traits, and whether profiles merged."""

    model_config = ConfigDict(frozen=True)

    subject_id: uuid.UUID
    stored: list[str]
    dropped: dict[str, TraitDropReason]
    anonymous_id_linked: bool
    merged: bool
    merge_id: uuid.UUID | None


VerificationMethod = Literal[
    "email_link", "sms_otp", "in_store_id_check", "call_center_check", "brand_import"
]
VERIFICATION_METHODS: tuple[VerificationMethod, ...] = (
    "email_link", "sms_otp", "in_store_id_check", "call_center_check", "brand_import",
)  # fmt: skip


class VerifiedIdentityCreate(BaseModel):
    """An e-mail or phone the brand verified itself, with the evidence (TH-SEC-01, TH-DSR-00)."""

    __personal__: ClassVar[bool] = True  # carries the identifier itself

    model_config = ConfigDict(extra="forbid")

    kind: Literal["email", "phone"] = Field(description="Which identifier was verified.")
    value: str = Field(min_length=3, max_length=255, description="The e-mail or phone number.")
    verified_at: AwareDatetime = Field(description="When the brand verified it (with an offset).")
    method: VerificationMethod = Field(description="How the brand verified it.")
    evidence_ref: str | None = Field(
        None, min_length=1, max_length=128,
        description="The brand's own reference for the proof (a log or ticket id), not the value.",
    )  # fmt: skip


class VerifiedIdentityRead(BaseModel):
    """A verified identity as recorded: its id and the evidence, never the value."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    subject_id: uuid.UUID
    kind: IdentityKind
    is_verified: bool
    verified_at: datetime
    method: VerificationMethod
    is_new: bool
