"""Schemas of the rights domain: requests, their life cycle, codes, the outbox and retention.

Kinds, statuses, channels, jurisdictions and refusal codes are fixed lists here, so that the
service, the API and the CLI agree on them (TH-DSR-00).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from rujai.policy.rules import Objection
from rujai.policy.schemas import Lang, Text

RequestKind = Literal[
    "access",
    "portability",
    "rectification",
    "erasure",
    "restriction",
    "restriction_lift",
    "objection",
    "objection_lift",
    "withdrawal",
]
REQUEST_KINDS: tuple[RequestKind, ...] = (
    "access",
    "portability",
    "rectification",
    "erasure",
    "restriction",
    "restriction_lift",
    "objection",
    "objection_lift",
    "withdrawal",
)
RequestStatus = Literal["received", "verified", "in_progress", "completed", "refused"]
OPEN_STATUSES: frozenset[str] = frozenset({"received", "verified", "in_progress"})
# The life cycle (TH-DSR-00): which status may follow which.
TRANSITIONS: dict[str, frozenset[str]] = {
    "received": frozenset({"verified", "refused"}),
    "verified": frozenset({"in_progress", "refused"}),
    "in_progress": frozenset({"completed", "refused"}),
    "completed": frozenset(),
    "refused": frozenset(),
}
Channel = Literal["api", "privacy_center", "call_center", "store", "email", "post"]
SUBJECT_CHANNELS: frozenset[str] = frozenset({"api", "privacy_center"})
STAFF_CHANNELS: frozenset[str] = frozenset({"call_center", "store", "email", "post"})
Jurisdiction = Literal["TH", "EU", "SG", "ID"]
ContactKind = Literal["email", "phone"]

# Refusal reasons a controller may give, with the provision that allows each (TH-DSR-00: every
# refusal is recorded with its reason for the record of processing, s.39(7)).
REFUSAL_CODES: dict[str, tuple[str, Text]] = {
    "identity_not_verified": (
        "PDPA s.37(1) (no disclosure to an unverified requester); GDPR Art. 12(6)",
        Text(
            th="ไม่สามารถยืนยันตัวตนของผู้ยื่นคำขอได้",
            en="We could not verify that the request came from you.",
        ),
    ),
    "manifestly_unfounded": (
        "GDPR Art. 12(5)(b); PDPA s.30 para 2 (unverified: PDPC guidance)",
        Text(th="คำขอไม่มีมูลอย่างชัดแจ้ง", en="The request is manifestly unfounded."),
    ),
    "excessive": (
        "GDPR Art. 12(5)(b) (repetitive requests); PDPA s.30 para 2 (unverified)",
        Text(th="คำขอซ้ำซ้อนหรือเกินสมควร", en="The request is excessive or repetitive."),
    ),
    "legal_hold": (
        "PDPA s.33 para 2 (keeping the data is required to comply with a law)",
        Text(
            th="กฎหมายกำหนดให้ต้องเก็บรักษาข้อมูลนี้ไว้",
            en="A law requires us to keep this data.",
        ),
    ),
    "legal_claims": (
        "PDPA s.32 para 2(2), s.33 para 2, s.34 (legal claims)",
        Text(
            th="ข้อมูลจำเป็นเพื่อการก่อตั้งสิทธิเรียกร้อง การปฏิบัติตาม การใช้ หรือการยกขึ้นต่อสู้ตามกฎหมาย",
            en="The data is needed to establish, exercise or defend legal claims.",
        ),
    ),
    "other_law": (
        "PDPA s.30 para 2, s.31 para 3 (a law or a court order)",
        Text(th="มีกฎหมายหรือคำสั่งศาลให้ปฏิเสธ", en="A law or a court order requires refusal."),
    ),
    "rights_of_others": (
        "PDPA s.30 para 2, s.31 para 3 (it would harm the rights and freedoms of others)",
        Text(
            th="การดำเนินการจะกระทบต่อสิทธิและเสรีภาพของผู้อื่น",
            en="It would harm the rights and freedoms of others.",
        ),
    ),
    "compelling_grounds": (
        "PDPA s.32 para 2(1) (compelling legitimate grounds; never for direct marketing)",
        Text(
            th="มีเหตุอันชอบด้วยกฎหมายที่สำคัญยิ่งกว่า",
            en="There are compelling legitimate grounds for the processing.",
        ),
    ),
    "invalid_correction": (
        "PDPA ss.35-36 (TH-DSR-06: the correction is not accurate or not data we hold)",
        Text(
            th="ข้อมูลที่ขอแก้ไขไม่ถูกต้องหรือไม่ใช่ข้อมูลที่เราเก็บไว้",
            en="The correction is not valid or is not data we hold.",
        ),
    ),
}


class RequestDetail(BaseModel):
    """What a request asks for beyond its kind; which field applies depends on the kind."""

    model_config = ConfigDict(extra="forbid")

    objection: Objection | None = Field(
        None, description="objection / objection_lift: direct_marketing, legitimate_interest, ..."
    )
    purpose: str | None = Field(
        None,
        min_length=1,
        max_length=63,
        description="withdrawal: the consent-based purpose; objection to legitimate_interest: "
        "the one purpose objected to (none: every legitimate-interest purpose).",
    )
    traits: dict[str, Any] | None = Field(
        None, max_length=64, description="rectification: declared traits and their new values."
    )
    remove_interest: str | None = Field(
        None, min_length=1, max_length=64, description="rectification: an inferred interest."
    )


class RequestCreate(BaseModel):
    """A data subject request, made by the subject or by staff on their behalf (TH-DSR-00)."""

    model_config = ConfigDict(extra="forbid")

    kind: RequestKind
    channel: Channel = Field(description="api/privacy_center (subject) or a staff channel.")
    customer_id: str | None = Field(None, min_length=1, max_length=128)
    email: str | None = Field(
        None,
        min_length=3,
        max_length=254,
        description="Only finds the subject; codes go only to verified identities on file.",
    )
    staff_ref: str | None = Field(
        None, min_length=1, max_length=64, description="Pseudonymous staff reference."
    )
    jurisdiction: Jurisdiction | None = Field(None, description="Default: the policy's first.")
    language: Lang | None = Field(None, description="Language of messages (TH-CON-05).")
    detail: RequestDetail = Field(default_factory=RequestDetail)


class RefuseCreate(BaseModel):
    """A refusal; ``refusal_code`` is required and must be one of ``REFUSAL_CODES``."""

    model_config = ConfigDict(extra="forbid")

    refusal_code: str | None = Field(None, max_length=48)
    note: str | None = Field(None, max_length=500, description="Internal note; never audited.")


class GroundsCreate(BaseModel):
    """Compelling legitimate grounds staff found for one objected purpose (TH-DSR-03, s.32)."""

    model_config = ConfigDict(extra="forbid")

    purpose: str = Field(min_length=1, max_length=63, description="The objected purpose.")
    grounds: str = Field(
        min_length=1,
        max_length=1000,
        description="Why the grounds override the subject's interests; kept on the request, "
        "told to the subject, never audited.",
    )


class ExtendCreate(BaseModel):
    """An extension of a GDPR deadline by one or two months, with its reason (EU-01)."""

    model_config = ConfigDict(extra="forbid")

    months: int = Field(2, ge=1, le=2)
    reason: str = Field(max_length=200)


class VerificationCreate(BaseModel):
    """Which kind of verified identity on file receives the code."""

    model_config = ConfigDict(extra="forbid")

    identity_kind: ContactKind = "email"


class VerificationConfirm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=16)


class RequestRead(BaseModel):
    """A request as staff and the brand's backend see it: no identifiers, no sealed values."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    subject_id: uuid.UUID | None
    kind: RequestKind
    status: RequestStatus
    channel: str
    submitted_by: Literal["subject", "staff"]
    staff_ref: str | None
    jurisdiction: str
    language: Lang
    received_at: datetime
    due_at: datetime
    extended_until: datetime | None
    extension_reason: str | None
    effective_due_at: datetime
    is_overdue: bool
    verified_at: datetime | None
    completed_at: datetime | None
    refusal_code: str | None
    refusal_note: str | None
    detail: dict[str, Any]
    result: dict[str, Any]


class RefusalRead(BaseModel):
    """A refused request for the record of processing (TH-ROPA-01, s.39(7)); no subject data."""

    model_config = ConfigDict(frozen=True)

    request_id: uuid.UUID
    kind: str
    jurisdiction: str
    channel: str
    purpose: str | None
    received_at: datetime
    refused_at: datetime
    refusal_code: str
    provision: str
    reason: Text


class VerificationStarted(BaseModel):
    """Whether a code went out; it only ever goes to a verified identity on file."""

    model_config = ConfigDict(frozen=True)

    request_id: uuid.UUID
    identity_kind: ContactKind
    sent: bool
    expires_at: datetime | None


class SignInStarted(BaseModel):
    """The same answer whether or not the person is known (no account enumeration)."""

    model_config = ConfigDict(frozen=True)

    challenge_id: uuid.UUID
    expires_at: datetime


class OutboxMessageRead(BaseModel):
    """A message in the outbox, decrypted for staff (an audited read)."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    subject_id: uuid.UUID | None
    channel: str
    template: str
    recipient: str | None
    body: str | None
    is_erased: bool
    created_at: datetime
    sent_at: datetime | None


class RetentionItem(BaseModel):
    """What one retention rule removed (or would remove), with its cut-off and basis."""

    model_config = ConfigDict(frozen=True)

    what: str
    cut_off: datetime | None
    basis: str
    count: int


class RetentionReport(BaseModel):
    """One retention run (TH-RET-01): what went, how many, the cut-offs and when."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    started_at: datetime
    finished_at: datetime
    is_dry_run: bool
    policy_version: str
    items: list[RetentionItem]
    kept: list[RetentionItem]

    @property
    def total(self) -> int:
        """Rows removed (or that would be removed) in all."""
        return sum(item.count for item in self.items)
