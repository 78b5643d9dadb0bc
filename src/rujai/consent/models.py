"""Tables of the consent domain: the append-only ledger and its current projection."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from rujai.db import Base
from rujai.kit.db_types import UtcDateTime


class ConsentRecord(Base):
    """One grant or withdrawal (TH-CON-04). Rows are never updated; erasure deletes them."""

    __tablename__ = "consent_record"
    __personal__ = ("subject_id", "actor_ref", "evidence_ip_hash", "evidence_ua_hash")
    __table_args__ = (Index("ix_consent_record_subject_time", "subject_id", "recorded_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    subject_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("subject.id", ondelete="CASCADE")
    )
    purpose: Mapped[str] = mapped_column(String(63))
    action: Mapped[str] = mapped_column(String(8))  # grant | withdraw
    notice_version: Mapped[int] = mapped_column(Integer)
    notice_hash: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(2))
    channel: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(16))  # self | parent | guardian | curator | staff
    actor_ref: Mapped[str | None] = mapped_column(String(64), nullable=True)
    evidence_ip_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    evidence_ua_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    is_explicit: Mapped[bool] = mapped_column(Boolean, default=False)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class ConsentState(Base):
    """Current projection: the latest record per subject, purpose and role (subject / guardian)."""

    __tablename__ = "consent_state"
    __personal__ = ("subject_id",)

    subject_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("subject.id", ondelete="CASCADE"), primary_key=True
    )
    purpose: Mapped[str] = mapped_column(String(63), primary_key=True)
    role: Mapped[str] = mapped_column(String(8), primary_key=True)  # subject | guardian
    record_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("consent_record.id", ondelete="CASCADE"), index=True
    )
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
