"""Tables of the rights domain."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, LargeBinary, Numeric, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from rujai.db import Base
from rujai.kit.db_types import UtcDateTime


class RightsRequest(Base):
    """A data subject request and its life cycle (TH-DSR-00). Survives erasure without the link."""

    __tablename__ = "rights_request"
    __personal__ = ("subject_id", "staff_ref", "detail", "result", "refusal_note")

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    subject_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("subject.id", ondelete="SET NULL"), nullable=True, index=True
    )
    kind: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(32))
    submitted_by: Mapped[str] = mapped_column(String(16))  # subject | staff
    staff_ref: Mapped[str | None] = mapped_column(String(64), nullable=True)
    jurisdiction: Mapped[str] = mapped_column(String(2))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    extended_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    extension_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    verified_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    refusal_code: Mapped[str | None] = mapped_column(String(48), nullable=True)
    refusal_note: Mapped[str | None] = mapped_column(String(500), nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class VerificationCode(Base):
    """A one-time code sent to an identity already on file; only its hash is kept."""

    __tablename__ = "verification_code"
    __personal__ = ("subject_id", "identity_id", "code_hash")

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    request_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("rights_request.id", ondelete="CASCADE"), nullable=True, index=True
    )
    subject_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("subject.id", ondelete="CASCADE"), index=True
    )
    identity_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("identity.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(24))  # request | sign_in
    code_hash: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class OutboxMessage(Base):
    """A message the notifier sends (demo: kept here for the console and CLI to show)."""

    __tablename__ = "outbox_message"
    __personal__ = ("subject_id", "recipient_sealed", "body_sealed")

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    subject_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("subject.id", ondelete="CASCADE"), nullable=True, index=True
    )
    channel: Mapped[str] = mapped_column(String(16))  # email | sms
    template: Mapped[str] = mapped_column(String(48))
    recipient_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    body_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class LegalHold(Base):
    """A minimal record the law requires us to keep after erasure (e.g. a tax invoice, 5 years)."""

    __tablename__ = "legal_hold"
    __personal__ = (  # invoices kept under a legal obligation after erasure
        "reference",
        "amount",
        "issued_on",
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    record_kind: Mapped[str] = mapped_column(String(32))  # tax_invoice
    reference: Mapped[str] = mapped_column(String(64))  # e.g. the order id
    amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2), nullable=True)
    currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    issued_on: Mapped[date] = mapped_column(Date)
    hold_until: Mapped[date] = mapped_column(Date, index=True)
    basis: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class RetentionRun(Base):
    """One run of the retention job and what it purged (TH-RET-01)."""

    __tablename__ = "retention_run"
    __personal__ = ()

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    is_dry_run: Mapped[bool] = mapped_column(Boolean)
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
