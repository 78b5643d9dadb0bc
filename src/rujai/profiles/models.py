"""Tables of the profiles domain."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    LargeBinary,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from rujai.db import Base
from rujai.kit.db_types import UtcDateTime


class Subject(Base):
    """A customer. The brand's customer id is kept only sealed plus a blind index for lookups."""

    __tablename__ = "subject"
    __personal__ = (  # personal columns
        "id",
        "customer_ref",
        "customer_id_sealed",
        "data_key_wrapped",
        "birth_date_sealed",
        "age_band",
        "is_restricted",
        "objections",
        "merged_into_id",
        "partner_notified_at",
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    customer_ref: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    customer_id_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    data_key_wrapped: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    birth_date_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    age_band: Mapped[str | None] = mapped_column(String(16), nullable=True)
    is_restricted: Mapped[bool] = mapped_column(Boolean, default=False)
    objections: Mapped[list[str]] = mapped_column(JSON, default=list)
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("subject.id", ondelete="SET NULL"), nullable=True, index=True
    )
    partner_notified_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Moved by database triggers on any change to what decide reads (migration 9d4c1b7e3a20);
    # serving caches key a subject's state by it. Never written by the application.
    serving_version: Mapped[int] = mapped_column(BigInteger, server_default="0", default=0)


class Identity(Base):
    """Another identifier of a subject (email, phone, anonymous device id, ...), by blind index."""

    __tablename__ = "identity"
    __personal__ = ("subject_id", "blind", "value_sealed", "verification_ref")
    __table_args__ = (UniqueConstraint("kind", "blind"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    subject_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("subject.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # email | phone | anonymous | national_id
    blind: Mapped[str] = mapped_column(String(64))
    value_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    is_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Evidence of a verification the brand did itself (TH-SEC-01, TH-DSR-00): when, how, and the
    # brand's own reference (a ticket or log id, never the identifier itself).
    verified_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    verification_method: Mapped[str | None] = mapped_column(String(32), nullable=True)
    verification_ref: Mapped[str | None] = mapped_column(String(128), nullable=True)


class Trait(Base):
    """A profile attribute declared in the policy, sealed under the subject's data key."""

    __tablename__ = "trait"
    __personal__ = ("subject_id", "value_sealed")

    subject_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("subject.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    category: Mapped[str] = mapped_column(String(63))
    value_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    source: Mapped[str] = mapped_column(String(16))  # api | import | partner | subject | staff
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class SubjectMerge(Base):
    """An anonymous profile merged into a known one; ``detail`` lists moved row ids (no PII)."""

    __tablename__ = "subject_merge"
    __personal__ = ("into_subject_id", "from_subject_id", "detail")

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    into_subject_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("subject.id", ondelete="CASCADE"), index=True
    )
    from_subject_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("subject.id", ondelete="CASCADE"), index=True
    )
    actor: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    merged_at: Mapped[datetime] = mapped_column(UtcDateTime)
    undone_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class TraitRevision(Base):
    """A trait value that was replaced (rectification keeps history, TH-DSR-06), still sealed."""

    __tablename__ = "trait_revision"
    __personal__ = ("subject_id", "value_sealed")

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    subject_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("subject.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(63))
    value_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    replaced_at: Mapped[datetime] = mapped_column(UtcDateTime)
    reason: Mapped[str] = mapped_column(String(32))  # rectification | update


class Suppression(Base):
    """What is left of an erased identity: its blind index only, so a re-import is flagged."""

    __tablename__ = "suppression"
    __personal__ = ("blind",)

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    blind: Mapped[str] = mapped_column(String(64), primary_key=True)
    request_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
